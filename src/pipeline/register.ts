/**
 * `mlship register` and `mlship run`: record a new version when its checks and gates passed.
 * A failed check or gate registers nothing (exit 1). The gates are evaluated again inside the
 * registry lock against the state at that moment, so a `vs: production` gate judges against what
 * is live when the version is recorded, not what was live when the evaluation started.
 */
import { usageError, verdictError } from '../errors.js';
import { evaluateGates, type GateResult, type Metrics } from '../gates/index.js';
import type { Project } from '../project.js';
import type { CheckResult } from '../checks/types.js';
import type { RegisterEvent } from '../registry/events.js';
import type { RunnerInfo } from '../runners/types.js';
import { baselinesOf } from '../registry/state.js';
import { evaluateModel, lastEvaluation, type EvalResult } from './evaluate.js';
import { pushModel, type PushedArtifact, type PushResult } from './push.js';
import { appendProjectEvent } from './publish.js';
import { hashModelArtifacts } from './artifacts.js';
import { runModelChecks } from './checks.js';

export interface RegisterResult {
  model: string;
  passed: boolean;
  version: number | null;
  digest: string;
  metrics: Metrics;
  gates: GateResult[];
  checks: CheckResult[];
  runner: RunnerInfo | null;
  artifacts: Record<string, PushedArtifact>;
  event: RegisterEvent | null;
  pushed?: boolean;
}

export interface RegisterOptions {
  /** Push the registry commit (`--push`). */
  push?: boolean;
}

async function record(project: Project, evaluation: EvalResult, pushed: PushResult, checks: CheckResult[], options: RegisterOptions): Promise<RegisterResult> {
  const model = evaluation.model;
  const [, config] = project.model(model);
  const base: RegisterResult = {
    model,
    passed: false,
    version: null,
    digest: pushed.digest,
    metrics: evaluation.metrics,
    gates: evaluation.gates,
    checks,
    runner: evaluation.runner,
    artifacts: pushed.artifacts,
    event: null,
  };
  if (pushed.digest !== evaluation.digest) {
    throw verdictError('E_STALE_EVAL', `the artifacts of ${model} changed since they were evaluated (evaluated ${evaluation.digest.slice(0, 19)}…, now ${pushed.digest.slice(0, 19)}…)`, {
      hint: `evaluate again: mlship eval ${model} (or use mlship run ${model})`,
    });
  }
  if (!evaluation.passed || checks.some((c) => !c.passed)) return base;

  const git = await project.git();
  const [commit, branch, dirty, actor] = await Promise.all([git.head(), git.branch(), git.isDirty(), project.actor()]);
  const store = await project.store();
  let gates = evaluation.gates;
  const appended = await appendProjectEvent(project, model, (state) => {
    gates = evaluateGates(config.gates, evaluation.metrics, baselinesOf(state));
    if (!gates.every((g) => g.passed)) {
      throw verdictError('E_GATE', `a gate no longer passes against the current registry: ${gates.filter((g) => !g.passed).map((g) => g.reason).join('; ')}`, {
        hint: `evaluate again: mlship run ${model}`,
      });
    }
    return {
      type: 'register',
      model,
      version: (state.latest ?? 0) + 1,
      at: project.ctx.clock().toISOString(),
      actor,
      digest: pushed.digest,
      commit,
      dirty,
      branch,
      artifacts: Object.fromEntries(Object.entries(pushed.artifacts).map(([name, a]) => [name, { path: a.path, kind: a.kind, digest: a.digest, size: a.size, uri: a.uri }])),
      metrics: evaluation.metrics,
      gates,
      checks,
      runner: evaluation.runner,
      store: store.url,
    };
  }, options.push);
  return { ...base, passed: true, version: appended.event.version, gates, event: appended.event as RegisterEvent, pushed: appended.pushed };
}

/** `mlship register`: record the last evaluation (after `push` and `eval`). */
export async function registerModel(project: Project, model: string, options: RegisterOptions = {}): Promise<RegisterResult> {
  // Recording needs git: say so before any work is done.
  await project.git();
  const evaluation = await lastEvaluation(project, model);
  if (evaluation === undefined) {
    throw usageError('E_NO_EVAL', `${model} has not been evaluated in this working copy`, { hint: `run 'mlship eval ${model}' first, or 'mlship run ${model}' to do everything` });
  }
  const checks = await runModelChecks(project, model);
  const pushed = await pushModel(project, model);
  return record(project, evaluation, pushed, checks, options);
}

/** `mlship run`: checks, push, evaluation, gates, register. */
export async function runModel(project: Project, model: string, options: RegisterOptions & { runner?: 'local' | 'docker' } = {}): Promise<RegisterResult> {
  await project.git();
  const checks = await runModelChecks(project, model);
  if (checks.some((c) => !c.passed)) {
    // A failed check stops the run before anything is stored or evaluated.
    const { digest } = await hashModelArtifacts(project, model);
    return { model, passed: false, version: null, digest, metrics: {}, gates: [], checks, runner: null, artifacts: {}, event: null };
  }
  const pushed = await pushModel(project, model);
  const evaluation = await evaluateModel(project, model, options.runner === undefined ? {} : { runner: options.runner });
  return record(project, evaluation, pushed, checks, options);
}
