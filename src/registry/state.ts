/**
 * The state of a model — what is registered, what is live where — is a fold of its events.
 * Nothing else is stored. Semantic problems (a promotion of a version never registered…) are
 * collected, not thrown, so `verify` can report them with their line numbers.
 */
import type { Baseline } from '../gates/index.js';
import type { RegisterEvent, RegistryEvent } from './events.js';

export interface VersionState {
  version: number;
  /** The version digest (from its register event). */
  digest: string;
  /**
   * The register event. Versions restored from the snapshot cache load it from its registry file
   * on first use, so commands that never look at old versions never parse them.
   */
  readonly register: RegisterEvent;
  /** Where the register event is: registry file name, 1-based line, and byte offset of the line. */
  source: EventSource | undefined;
  deprecated: boolean;
  /** Environments this version has ever been live in. */
  promotedTo: Set<string>;
  /** Approvals by environment: the actors that approved. */
  approvals: Map<string, string[]>;
}

export interface EventSource {
  file: string;
  line: number;
  offset?: number;
}

export interface EnvironmentState {
  /** The live version, or null when nothing is live (never promoted). */
  current: number | null;
  /** Live versions in promotion order; rollback pops back through it. */
  stack: number[];
  /** seq and time of the event that made `current` live. */
  since: number | null;
  sinceAt: string | null;
  /** A canary next to `current`, taking `weight` percent of the traffic. */
  canary: { version: number; weight: number; since: number; sinceAt: string } | null;
}

export interface ModelState {
  model: string;
  latest: number | null;
  versions: Map<number, VersionState>;
  /** Deprecated versions (also flagged on each VersionState). */
  deprecated: Set<number>;
  environments: Map<string, EnvironmentState>;
  /** The last event, for `status`. */
  last: RegistryEvent | null;
}

export interface FoldProblem {
  line: number;
  message: string;
}

export const emptyState = (model: string): ModelState => ({ model, latest: null, versions: new Map(), deprecated: new Set(), environments: new Map(), last: null });

/**
 * A version table that builds each VersionState only when it is asked for: a registry of 100,000
 * events has 25,000 versions, and `status` looks at two of them. Versions 1..`count` exist from the
 * start (a snapshot has every version up to its last); later ones are set as the fold goes on.
 */
export class LazyVersions extends Map<number, VersionState> {
  constructor(
    private readonly count: number,
    private readonly build: (version: number) => VersionState,
  ) {
    super();
  }

  private pending(version: number): boolean {
    return Number.isInteger(version) && version >= 1 && version <= this.count && !super.has(version);
  }

  override get(version: number): VersionState | undefined {
    if (this.pending(version)) super.set(version, this.build(version));
    return super.get(version);
  }

  override has(version: number): boolean {
    return this.pending(version) || super.has(version);
  }

  override get size(): number {
    let built = 0;
    for (const version of super.keys()) if (version >= 1 && version <= this.count) built++;
    return this.count - built + super.size;
  }

  private materialized = false;

  /** Build every version, leaving them in ascending order (as a fold from scratch would). */
  private materialize(): void {
    if (this.materialized) return;
    this.materialized = true;
    for (let version = 1; version <= this.count; version++) this.get(version);
    const sorted = [...super.entries()].sort(([a], [b]) => a - b);
    super.clear();
    for (const [version, value] of sorted) super.set(version, value);
  }

  override entries(): MapIterator<[number, VersionState]> {
    this.materialize();
    return super.entries();
  }

  override values(): MapIterator<VersionState> {
    this.materialize();
    return super.values();
  }

  override keys(): MapIterator<number> {
    this.materialize();
    return super.keys();
  }

  override [Symbol.iterator](): MapIterator<[number, VersionState]> {
    return this.entries();
  }

  override forEach(fn: (value: VersionState, key: number, map: Map<number, VersionState>) => void): void {
    this.materialize();
    super.forEach(fn);
  }
}

export function envState(state: ModelState, env: string): EnvironmentState {
  let e = state.environments.get(env);
  if (e === undefined) {
    e = { current: null, stack: [], since: null, sinceAt: null, canary: null };
    state.environments.set(env, e);
  }
  return e;
}

/**
 * How far back `rollback` (without --to) can go: the last STACK_LIMIT live versions of an
 * environment are remembered. Bounded so the state of a long-lived registry stays small.
 */
export const STACK_LIMIT = 50;

function pushLive(env: EnvironmentState, version: number): void {
  env.stack.push(version);
  if (env.stack.length > STACK_LIMIT) env.stack.splice(0, env.stack.length - STACK_LIMIT);
}

/** Apply one event. Returns a problem when the event does not make sense in this state. */
export function applyEvent(state: ModelState, event: RegistryEvent, source?: EventSource): string | undefined {
  state.last = event;
  if (event.type === 'register') {
    const expected = (state.latest ?? 0) + 1;
    if (event.version !== expected) return `register of v${event.version}, expected v${expected}`;
    state.versions.set(event.version, { version: event.version, digest: event.digest, register: event, source, deprecated: false, promotedTo: new Set(), approvals: new Map() });
    state.latest = event.version;
    return undefined;
  }
  const version = state.versions.get(event.version);
  if (version === undefined) return `${event.type} of v${event.version}, which is not registered`;
  switch (event.type) {
    case 'promote': {
      const env = envState(state, event.env);
      env.canary = null;
      pushLive(env, event.version);
      env.current = event.version;
      env.since = event.seq;
      env.sinceAt = event.at;
      version.promotedTo.add(event.env);
      return undefined;
    }
    case 'rollback': {
      const env = envState(state, event.env);
      if (event.canary === true) {
        if (env.canary?.version !== event.from) return `canary abort in ${event.env} of v${event.from}, but the canary there is v${env.canary?.version ?? 'none'}`;
        if (env.current !== event.version) return `canary abort in ${event.env} back to v${event.version}, but v${env.current ?? 'none'} is the stable version`;
        env.canary = null;
        return undefined;
      }
      env.canary = null;
      if (env.current !== event.from) return `rollback in ${event.env} from v${event.from}, but v${env.current ?? 'none'} was live`;
      // Pop back to the target when it is on the stack; an explicit older target is pushed.
      const at = env.stack.lastIndexOf(event.version, env.stack.length - 2);
      if (at >= 0) env.stack.length = at + 1;
      else pushLive(env, event.version);
      env.current = event.version;
      env.since = event.seq;
      env.sinceAt = event.at;
      version.promotedTo.add(event.env);
      return undefined;
    }
    case 'approve': {
      const list = version.approvals.get(event.env) ?? [];
      list.push(event.actor);
      version.approvals.set(event.env, list);
      return undefined;
    }
    case 'canary': {
      const env = envState(state, event.env);
      if (env.current !== event.stable) return `canary in ${event.env} next to stable v${event.stable}, but v${env.current ?? 'none'} is live`;
      if (event.version === event.stable) return `canary of v${event.version} is the stable version itself`;
      env.canary = { version: event.version, weight: event.weight, since: event.seq, sinceAt: event.at };
      return undefined;
    }
    case 'deprecate':
      version.deprecated = true;
      state.deprecated.add(event.version);
      return undefined;
    default:
      return undefined;
  }
}

export function foldEvents(model: string, events: readonly RegistryEvent[]): { state: ModelState; problems: FoldProblem[] } {
  const state = emptyState(model);
  const problems: FoldProblem[] = [];
  for (const event of events) {
    const problem = applyEvent(state, event);
    if (problem !== undefined) problems.push({ line: event.seq, message: problem });
  }
  return { state, problems };
}

/** The version a rollback of `env` returns to by default: the previous live version that is not deprecated. */
export function previousLive(state: ModelState, env: string): number | undefined {
  const e = state.environments.get(env);
  if (e === undefined) return undefined;
  for (let i = e.stack.length - 2; i >= 0; i--) {
    const v = e.stack[i] as number;
    if (v !== e.current && state.versions.get(v)?.deprecated !== true) return v;
  }
  return undefined;
}

/** What is live in each environment, for `vs:` gates. */
export function baselinesOf(state: ModelState): Record<string, Baseline | undefined> {
  const out: Record<string, Baseline | undefined> = {};
  for (const [env, e] of state.environments) {
    if (e.current === null) continue;
    const version = state.versions.get(e.current);
    if (version !== undefined) out[env] = { version: e.current, metrics: version.register.metrics };
  }
  return out;
}
