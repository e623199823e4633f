#!/usr/bin/env node
/**
 * Hashing benchmark (issue 8): `mlship hash` end to end against `openssl dgst -sha256` in the same
 * run, on a 1 GiB file with a warm page cache; then a directory of 10,000 files (~2 GiB) hashed on
 * the main thread, with 1 worker thread and with one per CPU, beside openssl over the same files.
 *
 *   npx tsc -p tsconfig.json && node bench/hash.mjs
 *   node bench/hash.mjs --runs 3 --dir-gib 0.5     # quicker
 *
 * Data is generated once under bench/.data/ (git-ignored). `--no-cache` keeps the stat cache out of
 * it: every byte is read and hashed. Runs are interleaved (openssl, mlship, openssl, …) so that the
 * load of a shared machine falls on both alike; medians are reported, with CPU time (user+system).
 * Results: bench/results/hash.json.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assertBuilt, DATA, ensureFile, ensureTree, fmtMBps, fmtS, freeBytes, interleave, load, machine, MLSHIP, NODE, printRows, round, row, timeRun, treeBytes, writeResult } from './lib.mjs';
import { availableParallelism } from 'node:os';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'file-gib': { type: 'string', default: '1' }, 'dir-gib': { type: 'string', default: '2' }, files: { type: 'string', default: '10000' } } });
assertBuilt('hash');
const RUNS = Number(args.runs);
const FILE = join(DATA, 'file-1g.bin');
const FILE_BYTES = Math.round(Number(args['file-gib']) * 2 ** 30);
const TREE = join(DATA, 'push-project', 'tree');
const FILES = Number(args.files);
let dirBytes = Math.round(Number(args['dir-gib']) * 2 ** 30);
const notes = [];
// The push-local part copies the tree into a store as well: keep room for data + store + slack.
const free = freeBytes(DATA.replace(/\/\.data$/, ''));
if (free < FILE_BYTES + 2.5 * dirBytes) {
  dirBytes = Math.max(64 << 20, Math.floor((free - FILE_BYTES) / 3));
  notes.push(`disk short (${(free / 2 ** 30).toFixed(1)} GiB free): directory scaled down to ${(dirBytes / 2 ** 30).toFixed(2)} GiB`);
}
await ensureFile(FILE, FILE_BYTES);
await ensureTree(TREE, FILES, dirBytes);
const tree = treeBytes(TREE);
const loadBefore = load();

// Warm the page cache (the target is for a warm cache), then interleave.
timeRun('sh', ['-c', `cat ${FILE} > /dev/null; find ${TREE} -type f -print0 | xargs -0 cat > /dev/null`]);
const file = interleave({
  openssl: { cmd: 'openssl', argv: ['dgst', '-sha256', FILE] },
  mlship: { cmd: NODE, argv: [MLSHIP, 'hash', '--no-cache', FILE] },
}, { runs: RUNS, warmup: 1 });
const mb = FILE_BYTES / 1e6;
const fileRatio = file.median.openssl / file.median.mlship; // throughput ratio = inverse time ratio

// A directory: openssl over all files (one process per 1000 files, as many in parallel as CPUs) vs mlship.
const cpus = availableParallelism();
const opensslDir = `find ${TREE} -type f -print0 | xargs -0 -n 1000 -P ${cpus} openssl dgst -sha256 > /dev/null`;
const dir = interleave({
  'openssl-parallel': { cmd: 'sh', argv: ['-c', opensslDir] },
  'mlship-main-thread': { cmd: NODE, argv: [MLSHIP, 'hash', '--no-cache', TREE], env: { MLSHIP_HASH_WORKERS: '0' } },
  'mlship-1-worker': { cmd: NODE, argv: [MLSHIP, 'hash', '--no-cache', TREE], env: { MLSHIP_HASH_WORKERS: '1' } },
  [`mlship-${cpus}-workers`]: { cmd: NODE, argv: [MLSHIP, 'hash', '--no-cache', TREE], env: { MLSHIP_HASH_WORKERS: String(cpus) } },
  'mlship-auto': { cmd: NODE, argv: [MLSHIP, 'hash', '--no-cache', TREE] },
}, { runs: Math.max(3, RUNS - 2), warmup: 1 });
const dmb = tree.bytes / 1e6;
const nWorkers = dir.median[`mlship-${cpus}-workers`];
const loadAfter = load();

const rows = [
  row(`hash 1 GiB file (throughput)`, fmtMBps(mb / file.median.mlship), `openssl ${fmtMBps(mb / file.median.openssl)}`, fileRatio, '≥ 0.9× openssl', fileRatio >= 0.9),
  row(`hash 1 GiB file (CPU s, user+sys)`, file.cpu.mlship?.toFixed(2) ?? '–', `openssl ${file.cpu.openssl?.toFixed(2) ?? '–'}`, file.cpu.openssl / file.cpu.mlship, 'informative', '–'),
  row(`hash dir ${tree.files} files: ${cpus} workers vs 1`, fmtS(nWorkers), `1 worker ${fmtS(dir.median['mlship-1-worker'])}`, dir.median['mlship-1-worker'] / nWorkers, `> 1 (uses ${cpus} cores)`, dir.median['mlship-1-worker'] / nWorkers > 1.2),
  row(`hash dir: ${cpus} workers vs main thread`, fmtS(nWorkers), `main ${fmtS(dir.median['mlship-main-thread'])}`, dir.median['mlship-main-thread'] / nWorkers, 'informative', '–'),
  row(`hash dir: mlship (auto) vs openssl ×${cpus}`, fmtMBps(dmb / dir.median['mlship-auto']), `openssl ${fmtMBps(dmb / dir.median['openssl-parallel'])}`, dir.median['openssl-parallel'] / dir.median['mlship-auto'], 'informative', '–'),
];
await writeResult('hash', {
  machine: { ...machine(), loadavgBefore: loadBefore, loadavgAfter: loadAfter },
  notes,
  file: { bytes: FILE_BYTES, medianSeconds: file.median, cpuSeconds: file.cpu, samples: file.samples, MBps: { mlship: round(mb / file.median.mlship, 1), openssl: round(mb / file.median.openssl, 1) }, throughputRatio: round(fileRatio, 3) },
  directory: { files: tree.files, bytes: tree.bytes, medianSeconds: dir.median, cpuSeconds: dir.cpu, samples: dir.samples, workers: cpus, speedupNvs1: round(dir.median['mlship-1-worker'] / nWorkers, 3), speedupNvsMain: round(dir.median['mlship-main-thread'] / nWorkers, 3) },
  rows,
  commands: { file: `node bin/mlship hash --no-cache ${FILE}  vs  openssl dgst -sha256 ${FILE}`, directory: `MLSHIP_HASH_WORKERS=0|1|${cpus} node bin/mlship hash --no-cache ${TREE}` },
});
printRows('hash', rows, loadBefore, loadAfter);
for (const n of notes) console.log(`  note: ${n}`);
console.log('  results: bench/results/hash.json');
