#!/usr/bin/env node
/**
 * Startup benchmark (issue 8): `mlship --version` and `mlship validate --no-data` on examples/churn,
 * each against `node -e 0` measured in the same run, interleaved. Uses hyperfine when installed
 * (`--shell=none`, warm-ups, its medians); otherwise its own loop of --runs (≥ 20) rounds.
 *
 *   npx tsc -p tsconfig.json && node bench/startup.mjs [--runs 30]
 *
 * validate runs in a scratch copy of the example (a git repository, like a user's), so nothing is
 * written into the clone. Results: bench/results/startup.json.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assertBuilt, DATA, fmtS, has, interleave, load, machine, MLSHIP, NODE, printRows, root, row, writeResult } from './lib.mjs';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '30' }, 'no-hyperfine': { type: 'boolean', default: false } } });
assertBuilt('startup');
const RUNS = Math.max(20, Number(args.runs));
const EXAMPLE = join(DATA, 'startup-churn');
rmSync(EXAMPLE, { recursive: true, force: true });
cpSync(join(root, 'examples', 'churn'), EXAMPLE, { recursive: true });
for (const argv of [['init', '-q'], ['config', 'user.email', 'bench@example.com'], ['config', 'user.name', 'bench'], ['add', '-A'], ['commit', '-q', '-m', 'example']]) spawnSync('git', argv, { cwd: EXAMPLE, stdio: 'ignore' });
const check = spawnSync(NODE, [MLSHIP, 'validate', '--no-data'], { cwd: EXAMPLE, encoding: 'utf8' });
if (check.status !== 0) throw new Error(`validate --no-data fails on the example: ${check.stderr}`);

const commands = {
  node: { cmd: NODE, argv: ['-e', '0'], cwd: EXAMPLE },
  version: { cmd: NODE, argv: [MLSHIP, '--version'], cwd: EXAMPLE },
  validate: { cmd: NODE, argv: [MLSHIP, 'validate', '--no-data'], cwd: EXAMPLE },
  // The same without the config cache (.mlship/cache/config): yaml and zod loaded and run every time.
  validateParse: { cmd: NODE, argv: [MLSHIP, 'validate', '--no-data'], cwd: EXAMPLE, env: { MLSHIP_CONFIG_CACHE: 'off' } },
};
const loadBefore = load();
let median;
let cpu = {};
let tool;
if (has('hyperfine') && !args['no-hyperfine']) {
  tool = 'hyperfine';
  const out = join(DATA, 'startup-hyperfine.json');
  const argv = ['--shell=none', '--style', 'none', '--warmup', '3', '--runs', String(RUNS), '--export-json', out];
  for (const [name, c] of Object.entries(commands)) argv.push('-n', name, [...Object.entries(c.env ?? {}).map(([k, x]) => `env ${k}=${x}`), c.cmd, ...c.argv].join(' '));
  const r = spawnSync('hyperfine', argv, { cwd: EXAMPLE, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('hyperfine failed');
  const results = JSON.parse(readFileSync(out, 'utf8')).results;
  median = Object.fromEntries(results.map((x) => [x.command, x.median]));
  cpu = Object.fromEntries(results.map((x) => [x.command, x.user + x.system]));
} else {
  tool = `own loop, ${RUNS} interleaved rounds after 3 warm-ups`;
  const r = interleave(commands, { runs: RUNS, warmup: 3 });
  median = r.median;
  cpu = r.cpu;
}
const loadAfter = load();
const v = median.version / median.node;
const val = median.validate / median.node;
const parse = median.validateParse / median.node;
const rows = [
  row('mlship --version', fmtS(median.version), `node -e 0 ${fmtS(median.node)}`, v, '≤ 1.5×', v <= 1.5),
  row('mlship validate --no-data (examples/churn)', fmtS(median.validate), `node -e 0 ${fmtS(median.node)}`, val, '≤ 2.5×', val <= 2.5),
  row('  the same, MLSHIP_CONFIG_CACHE=off (parse)', fmtS(median.validateParse), `node -e 0 ${fmtS(median.node)}`, parse, '–', '(config changed since the last run)'),
];
await writeResult('startup', { machine: { ...machine(), loadavgBefore: loadBefore, loadavgAfter: loadAfter }, tool, medianSeconds: median, cpuSeconds: cpu, rows, commands: { version: 'node bin/mlship --version', validate: 'cd <copy of examples/churn> && node bin/mlship validate --no-data', validateParse: 'MLSHIP_CONFIG_CACHE=off node bin/mlship validate --no-data', baseline: 'node -e 0' } });
printRows(`startup (${tool})`, rows, loadBefore, loadAfter);
console.log('  results: bench/results/startup.json');
if (existsSync(EXAMPLE)) rmSync(EXAMPLE, { recursive: true, force: true });
