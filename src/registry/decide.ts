/**
 * Plan, then apply: whether a promotion or rollback may happen, decided purely from the state and
 * the config. Every unmet condition is reported at once. The registry appends what these return.
 */
import { usageError, verdictError } from '../errors.js';
import { closest } from '../config/suggest.js';
import type { ModelConfig } from '../config/schema.js';
import { evaluateGates, type GateResult, type Metrics } from '../gates/index.js';
import type { CanaryEvent, NewEvent, PromoteEvent, RegistryEvent, RollbackEvent } from './events.js';
import { baselinesOf, previousLive, type ModelState } from './state.js';

type Draft<T> = Omit<T, 'seq' | 'prev'>;

export function assertEnvironment(config: ModelConfig, model: string, env: string): void {
  if (config.environments.includes(env)) return;
  const suggestion = closest(env, config.environments);
  throw usageError('E_UNKNOWN_ENV', `'${env}' is not an environment of ${model} (${config.environments.join(', ')})`, {
    hint: suggestion !== undefined ? `did you mean '${suggestion}'?` : `add it to models.${model}.environments in mlship.yaml`,
  });
}

/** Glob match for approver patterns: `*` any run of characters, `?` one. */
export const matchesPattern = (value: string, pattern: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(value);

export interface PromotionInput {
  model: string;
  config: ModelConfig;
  version: number;
  env: string;
  actor: string;
  at: string;
  branch: string | null;
  force: boolean;
  reason: string | undefined;
  /** `--canary PERCENT`: start (or re-weight) a canary next to the stable version instead. */
  canary?: number | undefined;
}

export type PromotionPlan =
  | { kind: 'unchanged'; version: number }
  | { kind: 'append'; event: Draft<PromoteEvent> | Draft<CanaryEvent>; gates: GateResult[]; overridden: string[] };

/** Decide a promotion: refuse with every reason at once, or return the event to append. */
export function planPromotion(state: ModelState, input: PromotionInput): PromotionPlan {
  const { model, config, version, env } = input;
  assertEnvironment(config, model, env);
  const target = state.versions.get(version);
  if (target === undefined) throw usageError('E_UNKNOWN_VERSION', `${model} has no version ${version}`);
  if (target.deprecated) throw verdictError('E_DEPRECATED', `${model} v${version} is deprecated and cannot be promoted`, { hint: 'promote a later version' });
  const envNow = state.environments.get(env);
  const live = envNow?.current ?? null;
  if (input.canary !== undefined) {
    if (!(input.canary > 0 && input.canary < 100)) {
      throw usageError('E_CANARY', `--canary takes a percentage above 0 and below 100, got ${input.canary}`, { hint: 'to send all traffic to the version, promote it without --canary' });
    }
    if (live === null) throw verdictError('E_NOTHING_LIVE', `nothing of ${model} is live in ${env}: a canary runs next to a stable version`, { hint: `promote a version first: mlship promote ${model}@${version} --to ${env}` });
    if (live === version) throw verdictError('E_ALREADY_LIVE', `${model} v${version} is already the stable version in ${env}`);
    if (envNow?.canary?.version === version && envNow.canary.weight === input.canary) return { kind: 'unchanged', version };
  } else if (live === version && envNow?.canary == null) {
    return { kind: 'unchanged', version };
  }

  // Gates again, against what is live now (a `vs: production` gate judges the production of today).
  const gates = evaluateGates(config.gates, target.register.metrics, baselinesOf(state));
  const forcible: string[] = gates.filter((g) => !g.passed).map((g) => `gate ${g.metric}: ${g.reason}`);
  const hard: string[] = [];

  const policy = config.policy[env];
  if (policy !== undefined) {
    if (policy.requires !== undefined && !target.promotedTo.has(policy.requires)) {
      forcible.push(`policy: v${version} must be promoted to ${policy.requires} before ${env}`);
    }
    if (policy.approvals !== undefined && policy.approvals > 0) {
      const approvers = new Set(target.approvals.get(env) ?? []);
      if (approvers.size < policy.approvals) {
        forcible.push(`policy: ${env} needs ${policy.approvals} approval(s), v${version} has ${approvers.size}${approvers.size > 0 ? ` (${[...approvers].join(', ')})` : ''}: mlship approve ${model}@${version} --for ${env}`);
      }
    }
    if (policy.branches !== undefined && (input.branch === null || !policy.branches.some((b) => matchesPattern(input.branch as string, b)))) {
      hard.push(`policy: promotions to ${env} only from ${policy.branches.join(', ')} (this is ${input.branch ?? 'a detached HEAD'})`);
    }
  }

  if (forcible.length > 0 && input.force) {
    if (input.reason === undefined || input.reason.trim() === '') throw usageError('E_REASON', '--force needs --reason TEXT: the event records why the rules were overridden');
    if (policy !== undefined && !policy.allow_force) hard.push(`policy: ${env} does not allow --force (allow_force: false)`);
  }
  const refused = input.force ? hard : [...hard, ...forcible];
  if (refused.length > 0) {
    throw verdictError('E_REFUSED', `promotion of ${model} v${version} to ${env} refused:\n  - ${refused.join('\n  - ')}`, {
      hint: forcible.length > 0 && hard.length === 0 ? 'fix the conditions above, or override with --force --reason TEXT' : 'fix the conditions above',
      details: { reasons: refused },
    });
  }
  const forced = input.force && forcible.length > 0;
  const common = {
    ...(input.reason !== undefined && input.reason.trim() !== '' ? { reason: input.reason.trim() } : {}),
    ...(forced ? { forced: true, overridden: forcible } : {}),
  };
  if (input.canary !== undefined) {
    return {
      kind: 'append',
      gates,
      overridden: forced ? forcible : [],
      event: { type: 'canary', model, version, at: input.at, actor: input.actor, env, weight: input.canary, stable: live as number, ...common },
    };
  }
  return {
    kind: 'append',
    gates,
    overridden: forced ? forcible : [],
    event: {
      type: 'promote',
      model,
      version,
      at: input.at,
      actor: input.actor,
      env,
      from: live,
      ...(input.reason !== undefined && input.reason.trim() !== '' ? { reason: input.reason.trim() } : {}),
      ...(forced ? { forced: true, overridden: forcible } : {}),
    },
  };
}

export interface RollbackInput {
  model: string;
  config: ModelConfig;
  env: string;
  /** An explicit target version (`--to`), else the previously live version. */
  to: number | undefined;
  reason: string | undefined;
  actor: string;
  at: string;
}

export function planRollback(state: ModelState, input: RollbackInput): Draft<RollbackEvent> {
  const { model, env } = input;
  assertEnvironment(input.config, model, env);
  if (input.reason === undefined || input.reason.trim() === '') {
    throw usageError('E_REASON', 'rollback needs --reason TEXT: the registry records why', { hint: `e.g. mlship rollback ${model} --env ${env} --reason "p95 latency regression"` });
  }
  const current = state.environments.get(env)?.current ?? null;
  if (current === null) throw verdictError('E_NOTHING_LIVE', `nothing of ${model} is live in ${env}: there is nothing to roll back`);
  const target = input.to ?? previousLive(state, env);
  if (target === undefined) {
    throw verdictError('E_NO_PREVIOUS', `no earlier version of ${model} was live in ${env} before v${current}`, {
      hint: `name one explicitly: mlship rollback ${model} --env ${env} --to VERSION --reason …`,
    });
  }
  if (target === current) throw verdictError('E_ALREADY_LIVE', `${model} v${target} is already live in ${env}`);
  return { type: 'rollback', model, version: target, at: input.at, actor: input.actor, env, from: current, reason: input.reason.trim() };
}

/**
 * Rebuild an event appended in this clone on top of another writer's state (see publish.ts).
 * Returns the event to append, null when it is already in effect there, or throws when it no
 * longer applies. Promotions go through the whole policy again: nothing is forced in that was not
 * forced by its author.
 */
export function replayEvent(event: RegistryEvent, state: ModelState, config: ModelConfig, branch: string | null): NewEvent | null {
  const { seq: _seq, prev: _prev, ...rest } = event;
  const draft = rest as NewEvent;
  switch (draft.type) {
    case 'register': {
      const version = (state.latest ?? 0) + 1;
      const gates = evaluateGates(config.gates, draft.metrics, baselinesOf(state));
      const failed = gates.filter((g) => !g.passed);
      if (failed.length > 0) {
        throw verdictError('E_GATE', `${draft.model} no longer passes its gates against the registry another writer pushed: ${failed.map((g) => g.reason).join('; ')}`, {
          hint: `evaluate again: mlship run ${draft.model}`,
        });
      }
      return { ...draft, version, gates };
    }
    case 'promote':
    case 'canary': {
      const plan = planPromotion(state, {
        model: draft.model,
        config,
        version: draft.version,
        env: draft.env,
        actor: draft.actor,
        at: draft.at,
        branch,
        force: draft.forced === true,
        reason: draft.reason,
        canary: draft.type === 'canary' ? draft.weight : undefined,
      });
      return plan.kind === 'unchanged' ? null : plan.event;
    }
    case 'rollback': {
      const current = state.environments.get(draft.env)?.current ?? null;
      if (draft.canary === true) {
        const canary = state.environments.get(draft.env)?.canary ?? null;
        if (canary === null) return null;
        if (canary.version !== draft.from || current !== draft.version) {
          throw verdictError('E_STALE', `the canary abort of ${draft.model} v${draft.from} in ${draft.env} no longer applies: another writer changed ${draft.env}`, {
            hint: `look at 'mlship status ${draft.model}'`,
          });
        }
        return draft;
      }
      if (current === draft.version) return null;
      if (current !== draft.from) {
        throw verdictError('E_STALE', `the rollback of ${draft.model} in ${draft.env} from v${draft.from} no longer applies: another writer made v${current ?? 'none'} live there`, {
          hint: `look at 'mlship status ${draft.model}' and roll back again if needed`,
        });
      }
      return draft;
    }
    case 'approve': {
      const approvals = state.versions.get(draft.version)?.approvals.get(draft.env) ?? [];
      return approvals.includes(draft.actor) ? null : draft;
    }
    case 'deprecate':
      return state.versions.get(draft.version)?.deprecated === true ? null : draft;
    default:
      return null;
  }
}

export interface CanaryMetrics {
  stable: Metrics;
  canary: Metrics;
}

export interface CanaryVerdict {
  env: string;
  stable: number;
  canary: number;
  weight: number;
  passed: boolean;
  gates: GateResult[];
  /** With --auto: the full promotion (passed) or the canary abort (failed). */
  event: Draft<PromoteEvent> | Draft<RollbackEvent> | null;
}

/**
 * Judge a running canary by its live metrics against the stable version's, with the model's
 * `canary_gates` (the same gate engine: `vs: ENV` compares with the stable version there).
 */
export function planCanaryVerdict(
  state: ModelState,
  input: { model: string; config: ModelConfig; env: string; live: CanaryMetrics; auto: boolean; actor: string; at: string; reason: string | undefined },
): CanaryVerdict {
  const { model, config, env } = input;
  assertEnvironment(config, model, env);
  const e = state.environments.get(env);
  if (e?.canary == null || e.current === null) {
    throw verdictError('E_NO_CANARY', `no canary of ${model} is running in ${env}`, { hint: `start one: mlship promote ${model}@VERSION --to ${env} --canary 10` });
  }
  if (config.canary_gates.length === 0) {
    throw usageError('E_NO_CANARY_GATES', `models.${model}.canary_gates is empty: there is nothing to verify the canary against`, {
      hint: 'add e.g. - { metric: error_rate, vs: ' + env + ', max_drop: 0.005, higher_is_better: false }',
    });
  }
  const stable = e.current;
  const canary = e.canary.version;
  const gates = evaluateGates(config.canary_gates, input.live.canary, { [env]: { version: stable, metrics: input.live.stable } });
  const passed = gates.every((g) => g.passed);
  let event: CanaryVerdict['event'] = null;
  if (input.auto) {
    const failed = gates.filter((g) => !g.passed).map((g) => g.reason);
    event = passed
      ? { type: 'promote', model, version: canary, at: input.at, actor: input.actor, env, from: stable, reason: input.reason ?? `canary verified at ${e.canary.weight}%` }
      : { type: 'rollback', model, version: stable, at: input.at, actor: input.actor, env, from: canary, reason: input.reason ?? `canary failed: ${failed.join('; ')}`, canary: true };
  }
  return { env, stable, canary, weight: e.canary.weight, passed, gates, event };
}
