/**
 * Shared helpers of the benchmark parts written for issue 8 (hash, push-local, startup, registry):
 * timing child processes, medians, the load average, /proc I/O counters, the results file.
 * Nothing here asserts a speed; the parts print figures beside baselines measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..');
export const DATA = join(here, '.data');
/** The CLI under test: bench/run.mjs points this at a frozen copy of the build (see there). */
export const MLSHIP = process.env.MLSHIP_BENCH_BIN ?? join(root, 'bin', 'mlship');
export const NODE = process.execPath;
const HAS_GNU_TIME = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%U', 'true'], { stdio: 'ignore' }).status === 0;
export const IO_PROBE = join(here, 'io-probe.mjs');

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const round = (x, digits = 3) => (x === undefined || x === null || Number.isNaN(x) ? x : Math.round(x * 10 ** digits) / 10 ** digits);
export const load = () => os.loadavg().map((x) => round(x, 2));
export const machine = () => ({ cpus: os.availableParallelism(), node: process.version, loadavg: load() });

/** Run a command once; returns wall seconds, throws with its stderr when it fails (unless `allowFail`). */
export function timeRun(cmd, argv, options = {}) {
  // CPU time (user + system) through GNU time when there is one: less noisy than wall time on a loaded machine.
  const cpuFile = HAS_GNU_TIME ? join(DATA, `cpu-${process.pid}.txt`) : undefined;
  if (cpuFile !== undefined) [cmd, argv] = ['/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, cmd, ...argv]];
  const started = performance.now();
  const r = spawnSync(cmd, argv, { cwd: options.cwd ?? root, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', options.keepStdout ? 'pipe' : 'ignore', 'pipe'], maxBuffer: 1 << 30, encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (r.error) throw r.error;
  if (r.status !== 0 && !options.allowFail) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  let cpu;
  if (cpuFile !== undefined) {
    const last = readFileSync(cpuFile, 'utf8').trim().split('\n').pop() ?? '';
    const [u, sys] = last.split(' ').map(Number);
    if (Number.isFinite(u) && Number.isFinite(sys)) cpu = u + sys;
  }
  return { seconds, cpu, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Time several commands interleaved (a, b, a, b, …) so that the load of a shared machine falls on
 * both alike; `warmup` untimed rounds first. Returns median seconds per name and every sample.
 */
export function interleave(commands, { runs = 10, warmup = 2, before } = {}) {
  const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  const cpus = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = 0; i < warmup + runs; i++) {
    for (const [name, c] of Object.entries(commands)) {
      before?.(name, i);
      c.before?.(i);
      const { seconds, cpu } = timeRun(c.cmd, c.argv, c);
      if (i >= warmup) {
        samples[name].push(round(seconds, 4));
        if (cpu !== undefined) cpus[name].push(cpu);
      }
    }
  }
  const med = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v.length > 0).map(([k, v]) => [k, median(v)]));
  return { median: med(samples), cpu: med(cpus), samples };
}

/** Run `node --import io-probe.mjs …`: returns the child's /proc/self/io counters at exit. */
export function ioOf(argv, options = {}) {
  const out = join(DATA, `io-${process.pid}.txt`);
  timeRun(NODE, ['--import', IO_PROBE, ...argv], { ...options, env: { ...options.env, MLSHIP_BENCH_IO: out } });
  const fields = Object.fromEntries(readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(':').map((s) => s.trim())).map(([k, v]) => [k, Number(v)]));
  return fields;
}

export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Free bytes on the filesystem holding `path`. */
export function freeBytes(path) {
  const r = spawnSync('df', ['-B1', '--output=avail', path], { encoding: 'utf8' });
  return Number(r.stdout.trim().split('\n').pop());
}

/** Bytes of every regular file below `dir`. */
export function treeBytes(dir) {
  let n = 0;
  let count = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        n += statSync(p).size;
        count++;
      }
    }
  };
  walk(dir);
  return { bytes: n, files: count };
}

/** Fail early with a clear message when dist/ is missing (run.mjs rebuilds it when stale). */
export function assertBuilt(part) {
  if (!existsSync(join(root, 'dist', 'cli.js'))) {
    console.error(`bench/${part}.mjs runs the built CLI: run \`npx tsc -p tsconfig.json\` first`);
    process.exit(2);
  }
}

/** Write bench/results/<part>.json. */
export async function writeResult(part, result) {
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', `${part}.json`), `${JSON.stringify({ part, at: new Date().toISOString(), ...result }, null, 2)}\n`);
}

/** One row of the summary table: figure, baseline, ratio, target, met. */
export const row = (what, figure, baseline, ratio, target, met, note) => ({ what, figure, baseline, ratio: round(ratio, 2), target, met, ...(note ? { note } : {}) });

export const fmtS = (s) => (s === undefined ? '–' : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
export const fmtMBps = (x) => `${x.toFixed(0)} MB/s`;

export function printRows(title, rows, loadBefore, loadAfter) {
  console.log(`${title}  (load average ${loadBefore[0]} → ${loadAfter[0]}, ${os.availableParallelism()} CPUs)`);
  for (const r of rows) console.log(`  ${r.what.padEnd(48)} ${String(r.figure).padStart(12)}  vs ${String(r.baseline).padEnd(26)} ${r.ratio === undefined ? '' : `${r.ratio}×`.padStart(7)}  target ${r.target}: ${r.met === true ? 'met' : r.met === false ? 'MISSED' : r.met}`);
}

/* ---------- generated data (bench/.data/, git-ignored) ---------- */

/** A pool of random bytes that generated files are cut from (a unique header keeps every file distinct). */
function randomPool(bytes) {
  const pool = Buffer.allocUnsafe(bytes);
  const { randomFillSync } = globalThis.crypto ? { randomFillSync: (b) => { for (let o = 0; o < b.length; o += 65536) globalThis.crypto.getRandomValues(b.subarray(o, Math.min(o + 65536, b.length))); return b; } } : {};
  return randomFillSync(pool);
}

/** A file of `size` random bytes at `path` (kept when it already has that size). */
export async function ensureFile(path, size) {
  const { open } = await import('node:fs/promises');
  if (existsSync(path) && statSync(path).size === size) return false;
  await mkdir(dirname(path), { recursive: true });
  const block = randomPool(8 << 20);
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(block.length, size - written);
      block.writeUInt32LE(written >>> 0, 0);
      await handle.write(block, 0, n, written);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * A directory of `count` files totalling about `total` bytes: sizes spread from 0.1× to 1.9× the mean
 * (a few empty files), in 100 subfolders. Kept when its manifest matches; a marker file records it.
 */
export async function ensureTree(dir, count, total) {
  const { open, rm } = await import('node:fs/promises');
  const marker = join(dirname(dir), `.${dir.split('/').pop()}-${count}-${total}`);
  if (existsSync(marker) && existsSync(dir)) return false;
  await rm(dir, { recursive: true, force: true });
  const mean = total / count;
  const pool = randomPool(32 << 20);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const size = i % 500 === 0 ? 0 : Math.round(mean * (0.1 + 1.8 * (((i * 7919) % 1000) / 999)));
    const sub = join(dir, `part-${String(i % 100).padStart(3, '0')}`);
    if (i < 100) await mkdir(sub, { recursive: true });
    const handle = await open(join(sub, `shard-${String(i).padStart(5, '0')}.bin`), 'w');
    try {
      for (let written = 0; written < size; ) {
        const n = Math.min(size - written, pool.length - offset);
        pool.writeUInt32LE(i, offset);
        await handle.write(pool, offset, n);
        written += n;
        offset = (offset + n + 4093) % (pool.length - 8);
      }
    } finally {
      await handle.close();
    }
  }
  await writeFile(marker, '');
  return true;
}
