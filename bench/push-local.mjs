#!/usr/bin/env node
/**
 * Local push benchmark (issue 8): the first `mlship push` of a model whose artifact is a directory of
 * 10,000 files (~2 GiB) into the local store, then the push again on unchanged artifacts, which the
 * stat cache must make cheap (< 0.3 s) without reading any artifact file again.
 *
 *   npx tsc -p tsconfig.json && node bench/push-local.mjs
 *   node bench/push-local.mjs --first-runs 1 --runs 5
 *
 * Proof of "no file re-read", for the second push: the child's kernel counters (/proc/self/io
 * `rchar`, every byte read through read()/pread(), taken at exit by bench/io-probe.mjs; find's
 * listing, read through a pipe, counts there too) compared with the artifact's size, and, when
 * strace is installed, the number of artifact files opened (openat without O_DIRECTORY, in mlship
 * and in find; directories are listed, not read). Results: bench/results/push-local.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assertBuilt, DATA, ensureTree, fmtS, freeBytes, has, interleave, ioOf, load, machine, MLSHIP, NODE, printRows, round, row, timeRun, treeBytes, writeResult } from './lib.mjs';

const { values: args } = parseArgs({ options: { 'first-runs': { type: 'string', default: '2' }, runs: { type: 'string', default: '7' }, 'dir-gib': { type: 'string', default: '2' }, files: { type: 'string', default: '10000' } } });
assertBuilt('push-local');
const PROJECT = join(DATA, 'push-project');
const TREE = join(PROJECT, 'tree');
const notes = [];
let dirBytes = Math.round(Number(args['dir-gib']) * 2 ** 30);
const free = freeBytes(DATA.replace(/\/\.data$/, ''));
if (free < 2.5 * dirBytes) {
  dirBytes = Math.max(64 << 20, Math.floor(free / 3));
  notes.push(`disk short (${(free / 2 ** 30).toFixed(1)} GiB free): directory scaled down to ${(dirBytes / 2 ** 30).toFixed(2)} GiB`);
}
await ensureTree(TREE, Number(args.files), dirBytes);
const tree = treeBytes(TREE);
writeFileSync(join(PROJECT, 'mlship.yaml'), 'version: 1\nmodels:\n  bench:\n    artifacts:\n      tree: tree\n');
writeFileSync(join(PROJECT, '.gitignore'), 'tree/\n.mlship/store/\n.mlship/cache/\n');
if (!existsSync(join(PROJECT, '.git'))) {
  for (const argv of [['init', '-q'], ['config', 'user.email', 'bench@example.com'], ['config', 'user.name', 'bench'], ['add', 'mlship.yaml', '.gitignore'], ['commit', '-q', '-m', 'bench project']]) {
    spawnSync('git', argv, { cwd: PROJECT, stdio: 'ignore' });
  }
}
const push = { cmd: NODE, argv: [MLSHIP, 'push', 'bench'], cwd: PROJECT };
const clean = () => rmSync(join(PROJECT, '.mlship'), { recursive: true, force: true });
const loadBefore = load();

// First push: empty store and stat cache each time (every file read, hashed, copied, fsynced).
const first = interleave({ first: { ...push, before: clean } }, { runs: Number(args['first-runs']), warmup: 0 });
// Second push: nothing changed. One warm-up (page cache of the program and the stat cache file).
const second = interleave({ second: push, node: { cmd: NODE, argv: ['-e', '0'] } }, { runs: Number(args.runs), warmup: 1 });
// The same with Node's own walk (MLSHIP_FIND=0): a block of its own, since the tree cache keys the
// directory by the fingerprint of whichever lister ran last (the warm-up run re-keys it, and one
// untimed push afterwards keys it back for the measurements below).
const noFind = interleave({ 'no-find': { ...push, env: { MLSHIP_FIND: '0' } }, node: { cmd: NODE, argv: ['-e', '0'] } }, { runs: Number(args.runs), warmup: 1 });
timeRun(NODE, push.argv, { cwd: PROJECT });
// Every Node process here reads NODE_EXTRA_CA_CERTS at start (~40 ms on this machine, before any
// code of ours runs): when it is set, the same pair again without it, to show how much of the
// figure is that.
const extraCa = process.env.NODE_EXTRA_CA_CERTS;
const unsetCa = { NODE_EXTRA_CA_CERTS: undefined }; // spawn leaves out a variable whose value is undefined
const withoutCa =
  extraCa === undefined
    ? undefined
    : interleave({ second: { ...push, env: unsetCa }, node: { cmd: NODE, argv: ['-e', '0'], env: unsetCa } }, { runs: Number(args.runs), warmup: 1 });
const io = ioOf([MLSHIP, 'push', 'bench'], { cwd: PROJECT });
const ioVersion = ioOf([MLSHIP, '--version'], { cwd: PROJECT });
const cacheFile = join(PROJECT, '.mlship', 'cache', 'stat-cache.json');
const cacheBytes = existsSync(cacheFile) ? statSync(cacheFile).size : 0;

let opened;
if (has('strace')) {
  const trace = join(DATA, 'push-strace.txt');
  timeRun('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, NODE, MLSHIP, 'push', 'bench'], { cwd: PROJECT });
  const lines = readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes(`${TREE}/`) && !l.includes('O_DIRECTORY'));
  opened = lines.length;
} else notes.push('strace not installed: files opened not counted (apt-get install -y strace)');
const loadAfter = load();

const s2 = second.median.second;
const noReread = io.rchar < tree.bytes / 100 && (opened === undefined || opened === 0);
const rows = [
  row(`push again, ${tree.files} files ${(tree.bytes / 2 ** 30).toFixed(2)} GiB`, fmtS(s2), `first push ${fmtS(first.median.first)}`, first.median.first / s2, '< 0.3 s', s2 < 0.3),
  row('push again vs node -e 0', fmtS(s2), `node ${fmtS(second.median.node)}`, s2 / second.median.node, 'informative', '–'),
  ...(withoutCa === undefined
    ? []
    : [row('push again, NODE_EXTRA_CA_CERTS unset', fmtS(withoutCa.median.second), `node ${fmtS(withoutCa.median.node)} (unset too)`, withoutCa.median.second / withoutCa.median.node, 'informative', '–')]),
  row('push again, listed by Node (MLSHIP_FIND=0)', fmtS(noFind.median['no-find']), `with find ${fmtS(s2)}`, noFind.median['no-find'] / s2, 'informative', '–'),
  row('push again: bytes read (rchar)', `${(io.rchar / 1e6).toFixed(1)} MB`, `artifact ${(tree.bytes / 1e6).toFixed(0)} MB`, io.rchar / tree.bytes, `no file re-read${opened === undefined ? '' : ` (${opened} opened)`}`, noReread),
];
await writeResult('push-local', {
  machine: { ...machine(), loadavgBefore: loadBefore, loadavgAfter: loadAfter },
  notes,
  artifact: tree,
  first: { medianSeconds: first.median.first, cpuSeconds: first.cpu.first, samples: first.samples.first },
  second: { medianSeconds: s2, cpuSeconds: second.cpu.second, samples: second.samples.second, nodeMedianSeconds: second.median.node },
  secondWithoutExtraCaCerts: withoutCa === undefined ? null : { medianSeconds: withoutCa.median.second, cpuSeconds: withoutCa.cpu.second, samples: withoutCa.samples.second, nodeMedianSeconds: withoutCa.median.node },
  secondWithoutFind: { medianSeconds: noFind.median['no-find'], cpuSeconds: noFind.cpu['no-find'], samples: noFind.samples['no-find'], nodeMedianSeconds: noFind.median.node },
  io: { second: io, version: ioVersion, statCacheBytes: cacheBytes, artifactFilesOpened: opened },
  rows,
  commands: { first: `cd ${PROJECT} && rm -rf .mlship && node ${MLSHIP} push bench`, second: `cd ${PROJECT} && node ${MLSHIP} push bench` },
});
printRows('push-local', rows, loadBefore, loadAfter);
console.log(`  rchar: push again ${(io.rchar / 1e6).toFixed(1)} MB (find's listing through a pipe included; the per-file stat cache on disk is ${(cacheBytes / 1e6).toFixed(1)} MB; an unchanged directory is recognised by the tree cache without reading it), mlship --version ${(ioVersion.rchar / 1e6).toFixed(1)} MB`);
for (const n of notes) console.log(`  note: ${n}`);
console.log('  results: bench/results/push-local.json');
void round;
