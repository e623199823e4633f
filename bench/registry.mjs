#!/usr/bin/env node
/**
 * Registry benchmark (issue 8): registries of 1,000, 10,000 and 100,000 events written with the real
 * code (serializeEvent, lineDigest, segmentName, SEGMENT_LINES from dist/registry) and committed in
 * temporary git repositories with a minimal mlship.yaml; then, each against a baseline of the same run:
 *   - `status` on 100,000 events, cold (no snapshot cache) and warm, vs `node -e 0`;
 *   - `history` and `verify` on 100,000 events;
 *   - the cost of an append (`mlship deprecate`, lock + read + append + git commit) at 1,000 vs 100,000;
 *   - `rollback` end to end on 10,000 events vs `git commit` of a one-line change in the same repository.
 *
 *   npx tsc -p tsconfig.json && node bench/registry.mjs [--runs 7]
 *
 * The event stream repeats register vN, promote vN to staging, approve vN for production, promote vN
 * to production. Repositories live under bench/.data/registry-<N>/ and are rebuilt when missing.
 * Results: bench/results/registry.json.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assertBuilt, DATA, fmtS, interleave, load, machine, MLSHIP, NODE, printRows, root, row, writeResult } from './lib.mjs';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '7' }, large: { type: 'string', default: '100000' } } });
assertBuilt('registry');
const RUNS = Number(args.runs);
const LARGE = Number(args.large);
const { serializeEvent } = await import(join(root, 'dist', 'registry', 'events.js'));
const { lineDigest } = await import(join(root, 'dist', 'registry', 'chain.js'));
const { segmentName, SEGMENT_LINES } = await import(join(root, 'dist', 'registry', 'log.js'));

const MODEL = 'm';
const git = (cwd, ...argv) => {
  const r = spawnSync('git', argv, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const hex = (n, salt) => lineDigest(`${salt}:${n}`).slice(7);

/** The n-th event (1-based) of the stream, before seq/prev. */
function eventAt(n) {
  const version = Math.floor((n - 1) / 4) + 1;
  const at = new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString();
  const base = { type: 'register', model: MODEL, version, at, actor: 'bench@example.com' };
  switch ((n - 1) % 4) {
    case 0:
      return {
        ...base,
        digest: `sha256:${hex(version, 'version')}`,
        commit: hex(version, 'commit').slice(0, 40),
        dirty: false,
        branch: 'main',
        artifacts: { model: { path: 'model.bin', kind: 'file', digest: `sha256:${hex(version, 'model')}`, size: 1234567, uri: `file://.mlship/store/objects/sha256/${hex(version, 'model').slice(0, 2)}/${hex(version, 'model').slice(2)}` } },
        metrics: { accuracy: 0.85 + (version % 100) / 1000, auc: 0.9, log_loss: 0.31 },
        gates: [{ metric: 'accuracy', passed: true, value: 0.85, reason: 'accuracy 0.85 >= min 0.8' }],
        checks: [],
        runner: { kind: 'local' },
        store: 'file://.mlship/store',
      };
    case 1:
      return { ...base, type: 'promote', env: 'staging', from: version > 1 ? version - 1 : null };
    case 2:
      return { ...base, type: 'approve', env: 'production' };
    default:
      return { ...base, type: 'promote', env: 'production', from: version > 1 ? version - 1 : null };
  }
}

/** A committed repository holding `count` events (rebuilt only when missing). */
function ensureRepo(count) {
  const dir = join(DATA, `registry-${count}`);
  if (existsSync(join(dir, '.ok'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  const reg = join(dir, '.mlship', 'registry');
  mkdirSync(reg, { recursive: true });
  writeFileSync(join(dir, 'mlship.yaml'), `version: 1\nmodels:\n  ${MODEL}:\n    artifacts:\n      model: model.bin\n    environments: [staging, production]\n`);
  writeFileSync(join(dir, 'model.bin'), 'model\n');
  writeFileSync(join(dir, 'notes.txt'), 'notes\n');
  writeFileSync(join(dir, '.gitignore'), '.mlship/store/\n.mlship/cache/\n.bench-next-deprecate\n.ok\n');
  let prev = null;
  let lines = [];
  let segment = 1;
  const flush = () => {
    if (lines.length > 0) writeFileSync(join(reg, segmentName(MODEL, segment)), `${lines.join('\n')}\n`);
    lines = [];
    segment++;
  };
  for (let n = 1; n <= count; n++) {
    const line = serializeEvent({ ...eventAt(n), seq: n, prev });
    lines.push(line);
    prev = lineDigest(line);
    if (lines.length === SEGMENT_LINES) flush();
  }
  flush();
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'bench@example.com');
  git(dir, 'config', 'user.name', 'bench');
  git(dir, 'config', 'gc.auto', '0');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', `registry of ${count} events`);
  writeFileSync(join(dir, '.ok'), '');
  return dir;
}

const started = performance.now();
const small = ensureRepo(1000);
const medium = ensureRepo(10_000);
const large = ensureRepo(LARGE);
console.error(`[bench] registries ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
const cli = (cwd, ...argv) => ({ cmd: NODE, argv: [MLSHIP, ...argv], cwd });
const dropSnapshot = (dir) => () => rmSync(join(dir, '.mlship', 'cache', 'registry'), { recursive: true, force: true });

const loadBefore = load();
const reads = interleave({
  node: { cmd: NODE, argv: ['-e', '0'] },
  statusCold: { ...cli(large, 'status'), before: dropSnapshot(large) },
  statusWarm: cli(large, 'status'),
  history: cli(large, 'history', MODEL, '--json'),
  verify: cli(large, 'verify'),
}, { runs: RUNS, warmup: 1 });

// Appends: deprecate an old version (never live anywhere), a different one each time, in both repos.
// The next version to deprecate is kept in the repository, so that later runs go on where this one stops.
const deprecate = (dir) => {
  const counter = join(dir, '.bench-next-deprecate');
  const c = cli(dir, 'deprecate', `${MODEL}@1`, '--reason', 'bench');
  c.before = () => {
    const next = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 1;
    c.argv[2] = `${MODEL}@${next}`;
    writeFileSync(counter, String(next + 1));
  };
  return c;
};
const appends = interleave({ small: deprecate(small), large: deprecate(large) }, { runs: RUNS, warmup: 1 });

// Rollback end to end vs a git commit of a one-line change, in the same repository.
const rollback = interleave({
  gitCommit: { cmd: 'git', argv: ['commit', '-q', '-m', 'one line', 'notes.txt'], cwd: medium, before: () => appendFileSync(join(medium, 'notes.txt'), 'one more line\n') },
  rollback: {
    ...cli(medium, 'rollback', MODEL, '--env', 'production', '--reason', 'bench'),
    // Untimed: put the latest version live again first, so every run (and every later bench run) has
    // a version to roll back to; without it the rollback stack (the last 50 live versions) runs out.
    before: () => {
      const r = spawnSync(NODE, [MLSHIP, 'promote', `${MODEL}@${10_000 / 4}`, '--to', 'production'], { cwd: medium, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`re-promote before rollback: ${r.stderr}`);
    },
  },
}, { runs: RUNS, warmup: 1 });
const loadAfter = load();

const m = reads.median;
const rows = [
  row(`status, ${LARGE} events, cold (builds cache)`, fmtS(m.statusCold), `node -e 0 ${fmtS(m.node)}`, m.statusCold / m.node, '< 0.3 s', m.statusCold < 0.3),
  row(`status, ${LARGE} events, warm`, fmtS(m.statusWarm), `node -e 0 ${fmtS(m.node)}`, m.statusWarm / m.node, '< 0.3 s', m.statusWarm < 0.3),
  row(`history --json, ${LARGE} events`, fmtS(m.history), `node -e 0 ${fmtS(m.node)}`, m.history / m.node, 'informative', '–'),
  row(`verify, ${LARGE} events`, fmtS(m.verify), `node -e 0 ${fmtS(m.node)}`, m.verify / m.node, 'informative', '–'),
  row(`append (deprecate) at ${LARGE} vs 1000 events`, fmtS(appends.median.large), `1000: ${fmtS(appends.median.small)}`, appends.median.large / appends.median.small, '≈ 1× (independent of size)', appends.median.large / appends.median.small < 1.25),
  row('rollback end to end, 10000 events', fmtS(rollback.median.rollback), `git commit ${fmtS(rollback.median.gitCommit)}`, rollback.median.rollback / rollback.median.gitCommit, '< 1 s', rollback.median.rollback < 1),
];
await writeResult('registry', {
  machine: { ...machine(), loadavgBefore: loadBefore, loadavgAfter: loadAfter },
  events: { small: 1000, medium: 10_000, large: LARGE, segmentLines: SEGMENT_LINES },
  reads: { medianSeconds: reads.median, cpuSeconds: reads.cpu, samples: reads.samples },
  appends: { medianSeconds: appends.median, cpuSeconds: appends.cpu, samples: appends.samples },
  rollback: { medianSeconds: rollback.median, cpuSeconds: rollback.cpu, samples: rollback.samples },
  rows,
  commands: { repos: 'bench/.data/registry-{1000,10000,100000} (built by bench/registry.mjs)', status: 'node bin/mlship status', history: 'node bin/mlship history m --json', verify: 'node bin/mlship verify', append: 'node bin/mlship deprecate m@K --reason bench', rollback: 'node bin/mlship rollback m --env production --reason bench', baseline: 'git commit -q -m "one line" notes.txt' },
});
printRows('registry', rows, loadBefore, loadAfter);
console.log('  results: bench/results/registry.json');
