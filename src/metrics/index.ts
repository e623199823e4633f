/**
 * Metrics from a predictions file (issue 7): resolve `evaluate.predictions.path`, read and validate
 * the file, compute the `builtin.*` metrics and merge them into what the gates see.
 * Imported by the evaluation only when `evaluate.predictions` is configured.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { PredictionsConfig } from '../config/schema.js';
import { usageError } from '../errors.js';
import type { Metrics } from '../gates/index.js';
import { isInside, resolveInside } from '../paths.js';
import type { Project } from '../project.js';
import { substitute } from '../runners/plan.js';
import { builtinMetrics, type Omission } from './builtin.js';
import { readPredictions } from './read.js';
import { toPredictionTable } from './validate.js';

export type { Omission } from './builtin.js';
export { explainOmitted } from './builtin.js';

/** The key the computed metrics are merged under. */
export const BUILTIN = 'builtin';

export interface PredictionsMetrics {
  /** The `builtin` document. */
  metrics: Metrics;
  /** Metrics that are undefined for this data (one class present…), with the reason. */
  omitted: Omission[];
  /** Repository-relative path of the file read. */
  file: string;
  rows: number;
}

export interface PredictionsRun {
  /** The evaluation's outputs folder (absolute). */
  outputsDir: string;
  /** The version being evaluated (`${version}`). */
  version: number;
  /** Artifact name → absolute path on the host (`${artifacts.NAME}`). */
  artifacts: Record<string, string>;
}

/** What the evaluation result records about the builtin metrics. */
export interface BuiltinSummary {
  file: string;
  rows: number;
  omitted: Omission[];
}

/**
 * Where the predictions file is: `${outputs}/…` stays inside the evaluation's outputs folder; any
 * other path is resolved inside the repository (symlinks included), like every path of mlship.yaml.
 */
export function resolvePredictionsPath(project: Project, model: string, path: string, run: PredictionsRun): string {
  const what = project.loaded.where(['models', model, 'evaluate', 'predictions', 'path']);
  const values: Record<string, string> = { outputs: run.outputsDir, root: project.root, model, version: String(run.version) };
  for (const [name, full] of Object.entries(run.artifacts)) values[`artifacts.${name}`] = full;
  const substituted = substitute(path, values);
  if (/^\$\{\s*outputs\s*\}/.test(path)) {
    const full = resolve(substituted);
    if (!isInside(run.outputsDir, full) || full === run.outputsDir) {
      throw usageError('E_PATH', `${what}: '${path}' is not a file inside the outputs folder`, { hint: 'e.g. ${outputs}/predictions.csv' });
    }
    return resolveInside(project.root, relative(project.root, full), what);
  }
  if (isAbsolute(substituted)) {
    if (!isInside(project.root, substituted)) throw usageError('E_PATH', `${what}: '${path}' is outside the repository`, { hint: 'use ${outputs}/FILE or a path inside the repository' });
    return resolveInside(project.root, relative(project.root, substituted), what);
  }
  return resolveInside(project.root, substituted, what);
}

/** Read the predictions file and compute every builtin metric. */
export async function predictionsMetrics(project: Project, model: string, config: PredictionsConfig, run: PredictionsRun): Promise<PredictionsMetrics> {
  const full = resolvePredictionsPath(project, model, config.path, run);
  const repoPath = relative(project.root, full);
  const shown = relative(project.ctx.cwd, full) || full;
  const where = project.loaded.where(['models', model, 'evaluate', 'predictions']);
  const raw = await readPredictions({ root: project.root, repoPath, full, shown, where }, config, project.cacheDir);
  const table = toPredictionTable(raw, config, shown);
  const { metrics, omitted } = builtinMetrics(table, config.bins);
  return { metrics, omitted, file: repoPath.split('\\').join('/'), rows: table.labels.length };
}

/** The evaluation's metrics with `builtin` added; the name is mlship's, so a metrics file may not use it. */
export function mergeBuiltin(metrics: Metrics, builtin: Metrics, shown: string): Metrics {
  const taken = Object.keys(metrics).find((k) => k === BUILTIN || k.startsWith(`${BUILTIN}.`));
  if (taken !== undefined) {
    throw usageError('E_METRICS', `${shown}: metric '${taken}' uses the name '${BUILTIN}', which mlship keeps for the metrics it computes from evaluate.predictions`, {
      hint: `rename the metric in the evaluation script, or drop evaluate.predictions`,
    });
  }
  return { ...metrics, [BUILTIN]: builtin };
}

/**
 * The evaluation's metrics with the builtin ones merged under `builtin`. Metrics that are undefined
 * for the data are left out; a warning names the overall ones (per-group ones are in `omitted`).
 */
export async function withBuiltinMetrics(project: Project, model: string, config: PredictionsConfig, metrics: Metrics, run: PredictionsRun & { metricsShown: string }): Promise<{ metrics: Metrics; builtin: BuiltinSummary }> {
  const computed = await predictionsMetrics(project, model, config, run);
  for (const o of computed.omitted) if (!o.metric.startsWith(`${BUILTIN}.groups.`) && !o.metric.startsWith(`${BUILTIN}.fairness.`)) project.ctx.warn(`${o.metric} is not computed: ${o.reason}`);
  project.ctx.debug(`builtin metrics from ${computed.file}: ${computed.rows} rows, ${computed.omitted.length} undefined`);
  return { metrics: mergeBuiltin(metrics, computed.metrics, run.metricsShown), builtin: { file: computed.file, rows: computed.rows, omitted: computed.omitted } };
}
