/**
 * The state of a model — what is registered, what is live where — is a fold of its events.
 * Nothing else is stored. Semantic problems (a promotion of a version never registered…) are
 * collected, not thrown, so `verify` can report them with their line numbers.
 */
import type { RegisterEvent, RegistryEvent } from './events.js';

export interface VersionState {
  version: number;
  register: RegisterEvent;
  deprecated: boolean;
  /** Environments this version has ever been live in. */
  promotedTo: Set<string>;
  /** Approvals by environment: the actors that approved. */
  approvals: Map<string, string[]>;
}

export interface EnvironmentState {
  /** The live version, or null when nothing is live (never promoted). */
  current: number | null;
  /** Live versions in promotion order; rollback pops back through it. */
  stack: number[];
  /** seq of the event that made `current` live. */
  since: number | null;
}

export interface ModelState {
  model: string;
  latest: number | null;
  versions: Map<number, VersionState>;
  environments: Map<string, EnvironmentState>;
  /** The last event, for `status`. */
  last: RegistryEvent | null;
}

export interface FoldProblem {
  line: number;
  message: string;
}

export const emptyState = (model: string): ModelState => ({ model, latest: null, versions: new Map(), environments: new Map(), last: null });

export function envState(state: ModelState, env: string): EnvironmentState {
  let e = state.environments.get(env);
  if (e === undefined) {
    e = { current: null, stack: [], since: null };
    state.environments.set(env, e);
  }
  return e;
}

/** Apply one event. Returns a problem when the event does not make sense in this state. */
export function applyEvent(state: ModelState, event: RegistryEvent): string | undefined {
  state.last = event;
  if (event.type === 'register') {
    const expected = (state.latest ?? 0) + 1;
    if (event.version !== expected) return `register of v${event.version}, expected v${expected}`;
    state.versions.set(event.version, { version: event.version, register: event, deprecated: false, promotedTo: new Set(), approvals: new Map() });
    state.latest = event.version;
    return undefined;
  }
  const version = state.versions.get(event.version);
  if (version === undefined) return `${event.type} of v${event.version}, which is not registered`;
  switch (event.type) {
    case 'promote': {
      const env = envState(state, event.env);
      env.stack.push(event.version);
      env.current = event.version;
      env.since = event.seq;
      version.promotedTo.add(event.env);
      return undefined;
    }
    case 'rollback': {
      const env = envState(state, event.env);
      if (env.current !== event.from) return `rollback in ${event.env} from v${event.from}, but v${env.current ?? 'none'} was live`;
      // Pop back to the target when it is on the stack; an explicit older target is pushed.
      const at = env.stack.lastIndexOf(event.version, env.stack.length - 2);
      if (at >= 0) env.stack.length = at + 1;
      else env.stack.push(event.version);
      env.current = event.version;
      env.since = event.seq;
      version.promotedTo.add(event.env);
      return undefined;
    }
    case 'approve': {
      const list = version.approvals.get(event.env) ?? [];
      list.push(event.actor);
      version.approvals.set(event.env, list);
      return undefined;
    }
    case 'deprecate':
      version.deprecated = true;
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
