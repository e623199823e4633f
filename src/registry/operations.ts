/**
 * Registry operations behind the commands: promote, rollback, approve, deprecate, status, history, diff.
 * Only git and the registry files are touched: rollback works with no store and no Docker.
 */
import { usageError, verdictError } from '../errors.js';
import { flattenMetrics, type GateResult } from '../gates/index.js';
import type { Project } from '../project.js';
import { appendProjectEvent } from '../pipeline/publish.js';
import { assertEnvironment, matchesPattern, planCanaryVerdict, planPromotion, planRollback, type CanaryMetrics, type CanaryVerdict } from './decide.js';
import type { ApproveEvent, CanaryEvent, DeprecateEvent, PromoteEvent, RegisterEvent, RegistryEvent, RollbackEvent } from './events.js';
import { loadModel, readAllEvents } from './log.js';
import { parseModelRef, resolveRef } from './refs.js';
import type { ModelState } from './state.js';

export interface WriteOptions {
  push?: boolean;
}

export interface PromoteResult {
  model: string;
  version: number;
  env: string;
  event: PromoteEvent | CanaryEvent | null;
  unchanged: boolean;
  gates: GateResult[];
}

/** Resolve `MODEL@REF` against the registry as it is now. */
async function resolveModelRef(project: Project, text: string, requireRef: boolean): Promise<{ model: string; version: number; state: ModelState }> {
  // The registry is a git record: outside a repository, say that first.
  await project.git();
  const { model, ref } = parseModelRef(text);
  const [, config] = project.model(model);
  if (ref === undefined && requireRef) throw usageError('E_REF', `'${text}' names no version`, { hint: `write ${model}@VERSION, ${model}@latest or ${model}@ENV` });
  const { state } = await loadModel(project.registry, model, project.ctx.cwd);
  return { model, version: resolveRef(state, ref ?? 'latest', config.environments), state };
}

export async function promote(project: Project, refText: string, env: string, options: WriteOptions & { force?: boolean; reason?: string; canary?: number }): Promise<PromoteResult> {
  const { model, version } = await resolveModelRef(project, refText, true);
  const [, config] = project.model(model);
  assertEnvironment(config, model, env);
  const git = await project.git();
  const [actor, branch] = await Promise.all([project.actor(), git.branch()]);
  let outcome: PromoteResult = { model, version, env, event: null, unchanged: true, gates: [] };
  try {
    const appended = await appendProjectEvent(project, model, (state) => {
      const plan = planPromotion(state, { model, config, version, env, actor, at: project.ctx.clock().toISOString(), branch, force: options.force === true, reason: options.reason, canary: options.canary });
      if (plan.kind === 'unchanged') throw new Unchanged();
      outcome = { ...outcome, gates: plan.gates };
      for (const o of plan.overridden) project.ctx.warn(`forced past: ${o}`);
      return plan.event;
    }, options.push);
    outcome = { ...outcome, version: appended.event.version, event: appended.event as PromoteEvent | CanaryEvent, unchanged: false };
  } catch (error) {
    if (!(error instanceof Unchanged)) throw error;
  }
  return outcome;
}

/** Thrown inside the lock to leave without appending. */
class Unchanged extends Error {}

export interface RollbackResult {
  model: string;
  env: string;
  version: number;
  from: number;
  event: RollbackEvent;
}

export async function rollback(project: Project, model: string, env: string, options: WriteOptions & { to?: string; reason?: string }): Promise<RollbackResult> {
  const [, config] = project.model(model);
  assertEnvironment(config, model, env);
  if (options.reason === undefined || options.reason.trim() === '') {
    throw usageError('E_REASON', 'rollback needs --reason TEXT: the registry records why', { hint: `e.g. mlship rollback ${model} --env ${env} --reason "p95 latency regression"` });
  }
  const actor = await project.actor();
  const appended = await appendProjectEvent(project, model, (state) =>
    planRollback(state, {
      model,
      config,
      env,
      to: options.to === undefined ? undefined : resolveRef(state, options.to, config.environments),
      reason: options.reason,
      actor,
      at: project.ctx.clock().toISOString(),
    }), options.push);
  const event = appended.event as RollbackEvent;
  return { model, env, version: event.version, from: event.from, event };
}

export async function approve(project: Project, refText: string, env: string, options: WriteOptions & { comment?: string }): Promise<{ model: string; version: number; env: string; event: ApproveEvent }> {
  const { model, version } = await resolveModelRef(project, refText, true);
  const [, config] = project.model(model);
  assertEnvironment(config, model, env);
  const actor = await project.actor();
  const policy = config.policy[env];
  const appended = await appendProjectEvent(project, model, (state) => {
    const target = state.versions.get(version);
    if (target === undefined) throw usageError('E_UNKNOWN_VERSION', `${model} has no version ${version}`);
    const reasons: string[] = [];
    if (policy?.approvers !== undefined && !policy.approvers.some((p) => matchesPattern(actor, p))) reasons.push(`${actor} is not an approver for ${env} (${policy.approvers.join(', ')})`);
    if ((target.approvals.get(env) ?? []).includes(actor)) reasons.push(`${actor} already approved v${version} for ${env}`);
    if (target.deprecated) reasons.push(`v${version} is deprecated`);
    if (state.environments.get(env)?.current === version) reasons.push(`v${version} is already live in ${env}`);
    if (reasons.length > 0) throw verdictError('E_APPROVAL_REFUSED', `approval refused: ${reasons.join('; ')}`);
    return { type: 'approve', model, version, at: project.ctx.clock().toISOString(), actor, env, ...(options.comment !== undefined ? { comment: options.comment } : {}) };
  }, options.push);
  return { model, version, env, event: appended.event as ApproveEvent };
}

export async function deprecate(project: Project, refText: string, options: WriteOptions & { reason?: string }): Promise<{ model: string; version: number; event: DeprecateEvent }> {
  const { model, version } = await resolveModelRef(project, refText, true);
  if (options.reason === undefined || options.reason.trim() === '') throw usageError('E_REASON', 'deprecate needs --reason TEXT');
  const actor = await project.actor();
  const appended = await appendProjectEvent(project, model, (state) => {
    if (state.versions.get(version)?.deprecated === true) throw verdictError('E_DEPRECATED', `${model} v${version} is already deprecated`);
    const liveIn = [...state.environments].filter(([, e]) => e.current === version).map(([env]) => env);
    if (liveIn.length > 0) project.ctx.warn(`${model} v${version} is still live in ${liveIn.join(', ')}: roll it back there`);
    return { type: 'deprecate', model, version, at: project.ctx.clock().toISOString(), actor, reason: (options.reason as string).trim() };
  }, options.push);
  return { model, version, event: appended.event as DeprecateEvent };
}

export interface LiveCanary {
  version: number;
  digest: string;
  weight: number;
  since: string;
}

export interface StatusModel {
  name: string;
  latest: number | null;
  environments: Record<string, { version: number; digest: string; since: string | null; canary: LiveCanary | null } | null>;
  deprecated: number[];
}

export async function status(project: Project, only: string | undefined): Promise<{ models: StatusModel[] }> {
  const names = only !== undefined ? [project.model(only)[0]] : Object.keys(project.loaded.config.models);
  const models: StatusModel[] = [];
  for (const name of names) {
    const [, config] = project.model(name);
    const { state } = await loadModel(project.registry, name, project.ctx.cwd);
    const environments: StatusModel['environments'] = {};
    for (const env of config.environments) {
      const e = state.environments.get(env);
      const v = e?.current == null ? undefined : state.versions.get(e.current);
      const c = e?.canary == null ? undefined : state.versions.get(e.canary.version);
      const canary = c === undefined || e?.canary == null ? null : { version: c.version, digest: c.digest, weight: e.canary.weight, since: e.canary.sinceAt };
      environments[env] = v === undefined ? null : { version: v.version, digest: v.digest, since: e?.sinceAt ?? null, canary };
    }
    models.push({ name, latest: state.latest, environments, deprecated: [...state.deprecated].sort((a, b) => a - b) });
  }
  return { models };
}

export async function history(project: Project, model: string, env: string | undefined): Promise<{ model: string; events: RegistryEvent[] }> {
  const [name, config] = project.model(model);
  if (env !== undefined) assertEnvironment(config, name, env);
  const all = await readAllEvents(project.registry, name, project.ctx.cwd);
  const events = env === undefined ? all : all.filter((e) => 'env' in e && e.env === env);
  return { model: name, events };
}

export interface MetricDiff {
  metric: string;
  a: number | null;
  b: number | null;
  delta: number | null;
  relative: number | null;
}

export interface DiffResult {
  model: string;
  a: { version: number; digest: string; commit: string | null };
  b: { version: number; digest: string; commit: string | null };
  metrics: MetricDiff[];
  artifacts: { name: string; a: string | null; b: string | null; changed: boolean }[];
  gates: { metric: string; a: boolean | null; b: boolean | null }[];
  checks: { name: string; a: boolean | null; b: boolean | null; changed: boolean }[];
}

export async function diff(project: Project, refA: string, refB: string): Promise<DiffResult> {
  const a = await resolveModelRef(project, refA, true);
  const b = await resolveModelRef(project, refB, true);
  if (a.model !== b.model) throw usageError('E_REF', `cannot diff versions of two models (${a.model}, ${b.model})`);
  const ra = a.state.versions.get(a.version)?.register as RegisterEvent;
  const rb = b.state.versions.get(b.version)?.register as RegisterEvent;
  const ma = flattenMetrics(ra.metrics);
  const mb = flattenMetrics(rb.metrics);
  const metrics = [...new Set([...Object.keys(ma), ...Object.keys(mb)])].sort().map((metric): MetricDiff => {
    const va = ma[metric] ?? null;
    const vb = mb[metric] ?? null;
    const delta = va !== null && vb !== null ? vb - va : null;
    return { metric, a: va, b: vb, delta, relative: delta !== null && va !== null && va !== 0 ? delta / Math.abs(va) : null };
  });
  const artifacts = [...new Set([...Object.keys(ra.artifacts), ...Object.keys(rb.artifacts)])].sort().map((name) => {
    const da = ra.artifacts[name]?.digest ?? null;
    const db = rb.artifacts[name]?.digest ?? null;
    return { name, a: da, b: db, changed: da !== db };
  });
  const gateNames = [...new Set([...ra.gates.map((g) => g.metric), ...rb.gates.map((g) => g.metric)])];
  const gates = gateNames.map((metric) => ({ metric, a: ra.gates.find((g) => g.metric === metric)?.passed ?? null, b: rb.gates.find((g) => g.metric === metric)?.passed ?? null }));
  const checkNames = [...new Set([...ra.checks.map((c) => c.name), ...rb.checks.map((c) => c.name)])].sort();
  const checks = checkNames.map((name) => {
    const ca = ra.checks.find((c) => c.name === name)?.passed ?? null;
    const cb = rb.checks.find((c) => c.name === name)?.passed ?? null;
    return { name, a: ca, b: cb, changed: ca !== cb };
  });
  return {
    model: a.model,
    a: { version: a.version, digest: ra.digest, commit: ra.commit },
    b: { version: b.version, digest: rb.digest, commit: rb.commit },
    metrics,
    artifacts,
    gates,
    checks,
  };
}

/** `mlship canary verify`: judge the running canary by live metrics; with `auto`, promote it fully or abort it. */
export async function verifyCanary(
  project: Project,
  model: string,
  env: string,
  live: CanaryMetrics,
  options: WriteOptions & { auto?: boolean; reason?: string },
): Promise<{ model: string } & CanaryVerdict & { appended: RegistryEvent | null }> {
  const [, config] = project.model(model);
  const actor = await project.actor();
  const plan = (state: ModelState) => planCanaryVerdict(state, { model, config, env, live, auto: options.auto === true, actor, at: project.ctx.clock().toISOString(), reason: options.reason });
  if (options.auto !== true) {
    const { state } = await loadModel(project.registry, model, project.ctx.cwd);
    return { model, ...plan(state), appended: null };
  }
  let verdict: CanaryVerdict | undefined;
  const appended = await appendProjectEvent(project, model, (state) => {
    verdict = plan(state);
    return verdict.event as NonNullable<CanaryVerdict['event']>;
  }, options.push);
  return { model, ...(verdict as CanaryVerdict), appended: appended.event };
}
