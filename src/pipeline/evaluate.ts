/**
 * `mlship eval`: run a model's evaluation (local or Docker runner), read its metrics and apply the
 * gates against what is live in each environment. The result is kept in `.mlship/cache/evals/` so a
 * later `mlship register` records exactly what was evaluated.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { usageError } from '../errors.js';
import { evaluateGates, type GateResult, type Metrics } from '../gates/index.js';
import { isInside, resolveInside } from '../paths.js';
import type { Project } from '../project.js';
import { loadModel } from '../registry/log.js';
import { baselinesOf } from '../registry/state.js';
import { createRunner } from '../runners/index.js';
import { planEvaluation } from '../runners/plan.js';
import type { RunnerInfo } from '../runners/types.js';
import { artifactPaths, hashModelArtifacts } from './artifacts.js';
import { readMetrics } from './metrics.js';
import { explainOmitted } from '../metrics/builtin.js';
import type { BuiltinSummary } from '../metrics/index.js';

export interface EvalResult {
  model: string;
  passed: boolean;
  /** The version this evaluation would register. */
  version: number;
  /** The version digest of the artifacts that were evaluated. */
  digest: string;
  artifacts: Record<string, string>;
  metrics: Metrics;
  gates: GateResult[];
  runner: RunnerInfo;
  /** Project-relative outputs folder of the run. */
  outputs: string;
  at: string;
  /** With evaluate.predictions: the file the `builtin.*` metrics were computed from, and those left out. */
  builtin?: BuiltinSummary;
}

const RUNS_KEPT = 5;

async function freshOutputs(project: Project, model: string, now: Date): Promise<string> {
  const runs = join(project.cacheDir, 'runs', model);
  await mkdir(runs, { recursive: true });
  const old = (await readdir(runs)).sort();
  for (const name of old.slice(0, Math.max(0, old.length - (RUNS_KEPT - 1)))) await rm(join(runs, name), { recursive: true, force: true });
  const dir = join(runs, `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

export interface EvaluateOptions {
  runner?: 'local' | 'docker';
}

export async function evaluateModel(project: Project, model: string, options: EvaluateOptions = {}): Promise<EvalResult> {
  const [, config] = project.model(model);
  if (config.evaluate === undefined) {
    throw usageError('E_NO_EVALUATE', `model ${model} has no 'evaluate' section`, { hint: `add models.${model}.evaluate with a command that writes metrics` });
  }
  const evaluate = { ...config.evaluate, ...(options.runner !== undefined ? { runner: options.runner } : {}) };
  if (evaluate.runner === 'docker' && evaluate.image === undefined) {
    throw usageError('E_CONFIG', `--runner docker needs models.${model}.evaluate.image`, { hint: 'name the image the evaluation runs in' });
  }
  const { state } = await loadModel(project.registry, model, project.root);
  assertMetricsPath(project, model, evaluate.metrics);
  const hashed = await hashModelArtifacts(project, model);
  const now = project.ctx.clock();
  const outputsDir = await freshOutputs(project, model, now);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const gid = typeof process.getgid === 'function' ? process.getgid() : 0;
  const version = (state.latest ?? 0) + 1;
  const plan = planEvaluation({ model, evaluate, root: project.root, artifacts: artifactPaths(project, model), outputsDir, version, uid, gid });
  project.ctx.debug(`evaluation plan: ${JSON.stringify(plan)}`);

  // Loaded (with DuckDB, later) only when predictions are configured; a path that escapes is refused before the run.
  const predictions = evaluate.predictions === undefined ? undefined : { config: evaluate.predictions, module: await import('../metrics/index.js') };
  predictions?.module.resolvePredictionsPath(project, model, predictions.config.path, { outputsDir, version, artifacts: plan.artifacts });

  const runner = await createRunner(evaluate.runner);
  const info = await runner.run(plan, { log: project.ctx.log, signal: project.ctx.signal, processEnv: project.ctx.env });

  // resolveInside follows links: a metrics file that is a symlink out of the outputs folder (the
  // evaluation pointing at a host file) is refused before it is read.
  const metricsFile = resolveInside(outputsDir, evaluate.metrics, project.loaded.where(['models', model, 'evaluate', 'metrics']));
  let metrics = await readMetrics(metricsFile, relative(project.ctx.cwd, metricsFile));
  let builtin: BuiltinSummary | undefined;
  if (predictions !== undefined) {
    ({ metrics, builtin } = await predictions.module.withBuiltinMetrics(project, model, predictions.config, metrics, { outputsDir, version, artifacts: plan.artifacts, metricsShown: relative(project.ctx.cwd, metricsFile) }));
  }
  const gates = explainOmitted(evaluateGates(config.gates, metrics, baselinesOf(state)), builtin?.omitted ?? []);
  const result: EvalResult = {
    model,
    passed: gates.every((g) => g.passed),
    version,
    digest: hashed.digest,
    artifacts: Object.fromEntries(hashed.artifacts.map((a) => [a.name, a.hashed.digest])),
    metrics,
    gates,
    runner: info,
    outputs: relative(project.root, outputsDir),
    at: now.toISOString(),
    ...(builtin !== undefined ? { builtin } : {}),
  };
  await saveEvaluation(project, result);
  return result;
}

/** The metrics file is named relative to the outputs folder and must stay inside it. */
export function assertMetricsPath(project: Project, model: string, metrics: string): void {
  const probe = join('/outputs', metrics);
  if (isAbsolute(metrics) || !isInside('/outputs', probe) || probe === '/outputs') {
    throw usageError('E_PATH', `${project.loaded.where(['models', model, 'evaluate', 'metrics'])}: '${metrics}' is not a file inside the outputs folder`, {
      hint: 'name the metrics file relative to ${outputs}, e.g. metrics.json',
    });
  }
}

const evalFile = (project: Project, model: string) => join(project.cacheDir, 'evals', `${model}.json`);

async function saveEvaluation(project: Project, result: EvalResult): Promise<void> {
  const file = evalFile(project, result.model);
  await mkdir(join(project.cacheDir, 'evals'), { recursive: true });
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(result));
  await rename(temp, file);
}

/** The last evaluation of a model, or undefined. */
export async function lastEvaluation(project: Project, model: string): Promise<EvalResult | undefined> {
  try {
    return JSON.parse(await readFile(evalFile(project, model), 'utf8')) as EvalResult;
  } catch {
    return undefined;
  }
}
