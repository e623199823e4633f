#!/usr/bin/env node
// Benchmark (issue 4): the Docker runner's overhead for a trivial evaluation, against `docker run --rm`
// of the same image and command with the same hermetic flags, measured in the same run, interleaved.
// Target: runner median <= 1.3 x docker-run median. Needs `npm run build`, an engine, and the image
// (default mlship-test/busybox:1, imported by the test setup; override with MLSHIP_BENCH_IMAGE).
//
//   node bench/docker.mjs [--reps 15]      -> prints a table, writes bench/results/docker.json
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { createDockerRunner } = await import(join(here, '..', 'dist', 'runners', 'docker.js'));

const repsArg = process.argv.indexOf('--reps');
const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 15;
const warmup = 2;
const image = process.env.MLSHIP_BENCH_IMAGE ?? 'mlship-test/busybox:1';
const command = ['sh', '-c', 'echo \'{"accuracy": 0.9}\' > /outputs/metrics.json'];
const user = `${process.getuid()}:${process.getgid()}`;

const base = realpathSync(mkdtempSync(join(tmpdir(), 'mlship-bench-docker-')));
const repoRoot = join(base, 'repo');
mkdirSync(repoRoot);
writeFileSync(join(repoRoot, 'model.json'), '{"w": [1, 2, 3]}\n');

const runner = createDockerRunner();
const io = { log: undefined, signal: undefined, processEnv: process.env };

function freshOutputs(tag) {
  const dir = join(base, `out-${tag}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  return dir;
}

function check(outputsDir) {
  const metrics = JSON.parse(readFileSync(join(outputsDir, 'metrics.json'), 'utf8'));
  if (metrics.accuracy !== 0.9) throw new Error(`unexpected metrics ${JSON.stringify(metrics)}`);
}

async function viaRunner() {
  const outputsDir = freshOutputs('runner');
  const plan = {
    runner: 'docker', argv: command, repoRoot, outputsDir, artifacts: {}, env: {}, timeoutMs: 60_000,
    docker: { image, pull: 'never', network: 'none', memoryBytes: undefined, nanoCpus: undefined, pidsLimit: undefined, user, containerOutputs: '/outputs', containerRepo: '/repo', labels: { 'mlship.bench': '1' } },
  };
  const start = performance.now();
  await runner.run(plan, io);
  const ms = performance.now() - start;
  check(outputsDir);
  return ms;
}

const exec = promisify(execFile);
async function viaDockerRun() {
  const outputsDir = freshOutputs('cli');
  const args = [
    'run', '--rm', '--network', 'none', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '--tmpfs', '/tmp:rw,nosuid,nodev,exec,mode=1777', '--user', user, '--env', 'HOME=/tmp', '--label', 'mlship.bench=1',
    '--mount', `type=bind,source=${repoRoot},target=/repo,readonly`, '--mount', `type=bind,source=${outputsDir},target=/outputs`,
    '--workdir', '/repo', '--entrypoint', command[0], image, ...command.slice(1),
  ];
  const start = performance.now();
  await exec('docker', args);
  const ms = performance.now() - start;
  check(outputsDir);
  return ms;
}

const stats = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: sorted[0], max: sorted[sorted.length - 1] };
};

try {
  for (let i = 0; i < warmup; i++) {
    await viaRunner();
    await viaDockerRun();
  }
  const runnerTimes = [];
  const cliTimes = [];
  for (let i = 0; i < reps; i++) {
    // Interleaved, alternating who goes first, so drift in the engine's speed hits both alike.
    if (i % 2 === 0) {
      runnerTimes.push(await viaRunner());
      cliTimes.push(await viaDockerRun());
    } else {
      cliTimes.push(await viaDockerRun());
      runnerTimes.push(await viaRunner());
    }
  }
  const r = stats(runnerTimes);
  const c = stats(cliTimes);
  const ratio = r.median / c.median;
  const fmt = (n) => `${n.toFixed(1).padStart(8)} ms`;
  console.log(`Docker runner vs docker run --rm: ${image}, trivial evaluation, ${reps} repetitions (+${warmup} warm-up each)`);
  console.log(`                     median        mean         min         max`);
  console.log(`mlship runner   ${fmt(r.median)} ${fmt(r.mean)} ${fmt(r.min)} ${fmt(r.max)}`);
  console.log(`docker run --rm ${fmt(c.median)} ${fmt(c.mean)} ${fmt(c.min)} ${fmt(c.max)}`);
  console.log(`ratio (median runner / median docker run): ${ratio.toFixed(3)}x  (target <= 1.3x: ${ratio <= 1.3 ? 'met' : 'NOT met'})`);
  const results = {
    benchmark: 'docker-runner-overhead',
    at: new Date().toISOString(),
    image,
    command,
    repetitions: reps,
    warmup,
    runnerMs: { ...r, samples: runnerTimes },
    dockerRunMs: { ...c, samples: cliTimes },
    ratio,
    target: 1.3,
    met: ratio <= 1.3,
    node: process.version,
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'docker.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`written ${join('bench', 'results', 'docker.json')}`);
  process.exitCode = results.met ? 0 : 1;
} finally {
  rmSync(base, { recursive: true, force: true });
}
