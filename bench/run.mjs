#!/usr/bin/env node
/**
 * The benchmark suite (issue 8): `npm run bench` runs every part in sequence, each in its own process,
 * then merges bench/results/*.json into bench/results.json and prints one summary table
 * (figure, baseline measured in the same run, ratio, target, met?).
 *
 *   npm run bench                              # every part
 *   npm run bench -- --only hash,startup       # some parts
 *   npm run bench -- --list                    # the parts and their prerequisites
 *   npm run bench -- --summary                 # only merge the existing results and print the table
 *
 * dist/ is rebuilt first when any source is newer than its compiled file. A part whose prerequisite
 * is missing (no Docker engine, no AWS CLI, no strace…) is skipped with the reason, not failed.
 * Each part has its own flags (documented in the header of bench/<part>.mjs): run it alone to use them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { here, root } from './lib.mjs';

const { values: args } = parseArgs({ options: { only: { type: 'string' }, list: { type: 'boolean', default: false }, summary: { type: 'boolean', default: false } } });

const socketAnswers = (path) =>
  new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
const hasPython = (module) => spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
const enoughDisk = (bytes) => {
  const r = spawnSync('df', ['-B1', '--output=avail', here], { encoding: 'utf8' });
  return Number(r.stdout.trim().split('\n').pop()) >= bytes;
};

/**
 * Every part, in the order they run. `requires` resolves to undefined when the part can run, or to
 * the reason it cannot; `argv` are the part's own flags.
 */
const PARTS = [
  { name: 'startup', requires: async () => undefined },
  { name: 'registry', requires: async () => (spawnSync('git', ['--version'], { stdio: 'ignore' }).status === 0 ? undefined : 'git is not installed') },
  { name: 'hash', requires: async () => (spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0 ? 'openssl is not installed (the baseline)' : enoughDisk(2 << 30) ? undefined : 'less than 2 GiB free for generated data') },
  { name: 'push-local', requires: async () => (enoughDisk(1 << 30) ? undefined : 'less than 1 GiB free for generated data') },
  {
    name: 's3',
    requires: async () => {
      const aws = process.env.MLSHIP_BENCH_AWS ?? '/usr/bin/aws';
      if (!existsSync(aws)) return `no AWS CLI at ${aws} (apt-get install -y awscli, or set MLSHIP_BENCH_AWS)`;
      return existsSync(join(root, 'node_modules', 's3rver')) ? undefined : 's3rver is not installed (npm install)';
    },
  },
  {
    name: 'checks',
    requires: async () => undefined,
    argv: () => (hasPython('pandas') ? [] : ['--skip-pandas']),
    note: () => (hasPython('pandas') ? undefined : 'pandas not installed: measured without the pandas baseline (apt-get install -y python3-pandas)'),
  },
  {
    name: 'docker',
    requires: async () => {
      const host = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
      if (!host.startsWith('unix://')) return undefined; // a TCP engine: let the part find out
      return (await socketAnswers(host.slice('unix://'.length))) ? undefined : `no Docker engine answers at ${host}`;
    },
  },
];

/** Rebuild dist/ when a source file is newer than its compiled file (or has none). */
function buildIfStale() {
  const stale = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const out = join(root, 'dist', relative(join(root, 'src'), path).replace(/\.ts$/, '.js'));
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(path).mtimeMs) stale.push(relative(root, path));
      }
    }
  };
  walk(join(root, 'src'));
  if (stale.length === 0) return;
  console.log(`[bench] dist/ is stale (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): npx tsc -p tsconfig.json`);
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('[bench] the build failed; fix it first');
    process.exit(2);
  }
}

/**
 * Freeze the build: other work on this checkout may rebuild dist/ while a part runs (a half-written
 * dist/ fails with "does not provide an export named …"). The parts run a copy under bench/.data/app
 * (bin/, dist/, package.json, templates/, and node_modules as a link) through MLSHIP_BENCH_BIN.
 */
function freezeBuild() {
  const app = join(here, '.data', 'app');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  for (const name of ['bin', 'dist', 'templates', 'package.json']) if (existsSync(join(root, name))) cpSync(join(root, name), join(app, name), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
  return join(app, 'bin', 'mlship');
}

/* ---------- the summary: one row per figure, from each part's results ---------- */

const r2 = (x) => (typeof x === 'number' ? Math.round(x * 100) / 100 : x);
const s = (x) => (typeof x !== 'number' ? '–' : x < 1 ? `${(x * 1000).toFixed(0)} ms` : `${x.toFixed(2)} s`);

/** Rows for the parts written before this suite (their JSON has its own shape). */
const adapters = {
  s3: (d) => [
    { what: `S3 push, 1 file ${Math.round(d.large.bytes / 1e6)} MB (throughput)`, figure: `${d.large.mlship.MBps} MB/s`, baseline: `aws s3 ${d.large.aws?.MBps} MB/s`, ratio: d.large.ratio, target: d.large.target, met: d.large.ratio >= 1 },
    { what: `S3 push, ${d.small.files} files (throughput)`, figure: `${d.small.mlship.MBps} MB/s`, baseline: `aws s3 sync ${d.small.aws?.MBps} MB/s`, ratio: d.small.ratio, target: d.small.target, met: d.small.ratio >= 2 },
  ],
  docker: (d) => [{ what: 'Docker runner, trivial evaluation', figure: s(d.runnerMs.median / 1000), baseline: `docker run --rm ${s(d.dockerRunMs.median / 1000)}`, ratio: r2(d.ratio), target: `≤ ${d.target}×`, met: d.met }],
  checks: (d) => [
    ...(d.ratios?.mlshipCsvVsPandas === undefined ? [] : [{ what: `checks, CSV ${d.csvMB} MB (${d.rows} rows)`, figure: s(d.mlship.csv.seconds), baseline: `pandas ${s(d.pandas.csv.seconds)}`, ratio: r2(d.ratios.mlshipCsvVsPandas), target: '≥ 4× pandas', met: d.targets['csv >= 4x pandas'] }]),
    { what: 'checks, Parquet vs CSV', figure: s(d.mlship.parquet.seconds), baseline: `CSV ${s(d.mlship.csv.seconds)}`, ratio: r2(d.ratios.parquetVsCsv), target: '≥ 2×', met: d.targets['parquet >= 2x csv'] },
    { what: 'checks, peak memory', figure: `${Math.max(d.mlship.csv.peakMB, d.mlship.parquet.peakMB)} MB`, baseline: d.pandas ? `pandas ${d.pandas.csv.peakMB} MB` : '–', ratio: undefined, target: '< 1 GB', met: d.targets['peak memory < 1 GB'] },
    { what: `drift, ${d.drift.columns.length} columns, cold`, figure: s(d.drift.cold.seconds), baseline: '–', ratio: undefined, target: '< 15 s', met: d.targets['drift cold < 15 s'] },
    { what: 'drift, cached sketch', figure: s(d.drift.cached.seconds), baseline: `cold ${s(d.drift.cold.seconds)}`, ratio: r2(d.drift.cold.seconds / d.drift.cached.seconds), target: '< 1 s', met: d.targets['drift cached < 1 s'] },
    ...(d.drift.cachedCsv ? [{ what: `drift, cached sketch, current as CSV (${d.drift.cachedCsv.csvMB} MB)`, figure: s(d.drift.cachedCsv.seconds), baseline: `Parquet ${s(d.drift.cached.seconds)}`, ratio: r2(d.drift.cachedCsv.seconds / d.drift.cached.seconds), target: '–', met: '–' }] : []),
  ],
};

function rowsOf(name, data) {
  if (Array.isArray(data.rows)) return data.rows;
  const adapt = adapters[name];
  try {
    return adapt ? adapt(data) : [];
  } catch (error) {
    return [{ what: `${name}: results not understood (${error.message})`, figure: '–', baseline: '–', target: '–', met: '–' }];
  }
}

function loadOf(data) {
  const m = data.machine ?? {};
  return m.loadavgBefore?.[0] ?? m.loadavg?.[0] ?? data.loadAverageAtEnd?.[0] ?? '?';
}

function summarize(ran) {
  const dir = join(here, 'results');
  const parts = {};
  if (existsSync(dir)) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      try {
        parts[file.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      } catch {
        // a part that crashed while writing: left out
      }
    }
  }
  const summary = [];
  for (const [name, data] of Object.entries(parts)) for (const r of rowsOf(name, data)) summary.push({ part: name, load: loadOf(data), at: data.at ?? null, ...r });
  const merged = { at: new Date().toISOString(), machine: { cpus: os.availableParallelism(), node: process.version, loadavg: os.loadavg() }, ran, summary, parts };
  writeFileSync(join(here, 'results.json'), `${JSON.stringify(merged, null, 2)}\n`);

  const cols = ['part', 'what', 'figure', 'baseline', 'ratio', 'target', 'met', 'load'];
  const cells = summary.map((r) => [r.part, r.what, String(r.figure), String(r.baseline), r.ratio === undefined || r.ratio === null ? '' : `${r2(r.ratio)}×`, r.target, r.met === true ? 'yes' : r.met === false ? 'NO' : String(r.met), String(r.load)]);
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => cell.padEnd(width[i])).join('  ');
  console.log(`\n${line(cols)}\n${width.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of cells) console.log(line(row));
  const missed = summary.filter((r) => r.met === false).length;
  console.log(`\n${summary.length} figures, ${missed} target(s) missed; load = 1-minute load average when the part started (${os.availableParallelism()} CPUs). Results: bench/results.json`);
  for (const [name, info] of Object.entries(ran)) if (info.status !== 'ok') console.log(`  ${name}: ${info.status}${info.reason ? ` — ${info.reason}` : ''}`);
}

/* ---------- main ---------- */

if (args.list) {
  for (const part of PARTS) console.log(`${part.name.padEnd(11)} ${(await part.requires()) ?? 'ready'}`);
  process.exit(0);
}
const wanted = args.only?.split(',').map((x) => x.trim()).filter(Boolean);
const unknown = wanted?.filter((name) => !PARTS.some((p) => p.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown part(s): ${unknown.join(', ')} (parts: ${PARTS.map((p) => p.name).join(', ')})`);
  process.exit(2);
}
const ran = {};
if (!args.summary) {
  buildIfStale();
  const frozen = freezeBuild();
  for (const part of PARTS.filter((p) => wanted === undefined || wanted.includes(p.name))) {
    const reason = await part.requires();
    if (reason !== undefined) {
      console.log(`\n== ${part.name}: skipped — ${reason}`);
      ran[part.name] = { status: 'skipped', reason };
      continue;
    }
    const argv = part.argv?.() ?? [];
    const note = part.note?.();
    console.log(`\n== ${part.name}: node bench/${part.name}.mjs ${argv.join(' ')} (load average ${os.loadavg()[0].toFixed(2)})${note ? `\n   ${note}` : ''}`);
    const started = performance.now();
    const r = spawnSync(process.execPath, [join(here, `${part.name}.mjs`), ...argv], { cwd: root, stdio: 'inherit', env: { ...process.env, MLSHIP_BENCH_BIN: frozen } });
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    // A part that ran to the end but whose target was missed may exit 1 (docker.mjs): its results still count.
    const wrote = existsSync(join(here, 'results', `${part.name}.json`)) && statSync(join(here, 'results', `${part.name}.json`)).mtimeMs >= Date.now() - seconds * 1000 - 1000;
    ran[part.name] = r.status === 0 || wrote ? { status: 'ok', seconds, exit: r.status } : { status: 'failed', reason: `exit ${r.status ?? r.signal}`, seconds };
  }
}
summarize(ran);
process.exitCode = Object.values(ran).some((info) => info.status === 'failed') ? 1 : 0;
