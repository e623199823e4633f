/**
 * Plan, then apply: the evaluation plan is computed here without I/O, and a runner executes it.
 */
import { relative } from 'node:path';
import { usageError } from '../errors.js';
import type { EvaluateConfig } from '../config/schema.js';
import type { EvaluationPlan } from './types.js';

export const CONTAINER_REPO = '/repo';
export const CONTAINER_OUTPUTS = '/outputs';

export interface PlanInput {
  model: string;
  evaluate: EvaluateConfig;
  /** Absolute project root. */
  root: string;
  /** Absolute artifact paths by name. */
  artifacts: Record<string, string>;
  outputsDir: string;
  /** The version this evaluation would register. */
  version: number;
  /** The invoking user's ids (the default container user). */
  uid: number;
  gid: number;
}

/** `10m`, `30s`, `500ms`, `2h`, `3d` or a number of seconds -> milliseconds. */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim());
  if (match === null) throw usageError('E_DURATION', `invalid duration '${value}'`, { hint: "use e.g. '30s', '10m', '2h'" });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** `512m`, `2g`, `1.5GiB`, a number of bytes -> bytes (binary units, as docker does). */
export function sizeBytes(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (match === null) throw usageError('E_SIZE', `invalid size '${value}'`, { hint: "use e.g. '512m' or '2g'" });
  const power = ['', 'k', 'm', 'g', 't'].indexOf((match[2] ?? '').toLowerCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

const PLACEHOLDER = /\$\{\s*([^}]*?)\s*\}/g;

/** Substitute `${...}` in one string; each argv element stays one argument whatever it contains. */
export function substitute(value: string, values: Record<string, string>): string {
  return value.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
}

export function planEvaluation(input: PlanInput): EvaluationPlan {
  const { evaluate } = input;
  const docker = evaluate.runner === 'docker';
  const inRunner = (hostPath: string) => (docker ? `${CONTAINER_REPO}/${relative(input.root, hostPath).split('\\').join('/')}` : hostPath);
  const values: Record<string, string> = {
    outputs: docker ? CONTAINER_OUTPUTS : input.outputsDir,
    model: input.model,
    version: String(input.version),
    root: docker ? CONTAINER_REPO : input.root,
  };
  for (const [name, path] of Object.entries(input.artifacts)) values[`artifacts.${name}`] = inRunner(path);
  const env = Object.fromEntries(Object.entries(evaluate.env).map(([k, v]) => [k, substitute(v, values)]));
  env['MLSHIP_MODEL'] = input.model;
  env['MLSHIP_VERSION'] = String(input.version);
  env['MLSHIP_OUTPUTS'] = values['outputs'] as string;
  return {
    runner: evaluate.runner,
    argv: evaluate.command.map((arg) => substitute(arg, values)),
    repoRoot: input.root,
    outputsDir: input.outputsDir,
    artifacts: input.artifacts,
    env,
    timeoutMs: evaluate.timeout === undefined ? undefined : durationMs(evaluate.timeout),
    ...(docker
      ? {
          docker: {
            image: evaluate.image as string,
            pull: evaluate.pull,
            network: evaluate.network,
            memoryBytes: evaluate.resources?.memory === undefined ? undefined : sizeBytes(evaluate.resources.memory),
            nanoCpus: evaluate.resources?.cpus === undefined ? undefined : Math.round(evaluate.resources.cpus * 1e9),
            pidsLimit: evaluate.resources?.pids,
            user: evaluate.user ?? `${input.uid}:${input.gid}`,
            containerOutputs: CONTAINER_OUTPUTS,
            containerRepo: CONTAINER_REPO,
            labels: { 'mlship.model': input.model, 'mlship.version': String(input.version) },
          },
        }
      : {}),
  };
}
