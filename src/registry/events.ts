/**
 * Registry events (DESIGN.md "The registry"). One JSON object per line, keys in a fixed order, so the
 * bytes of a line (and therefore the chain) are reproducible. Validation is hand-written rather than
 * zod-based: `rollback` reads the registry and must start fast.
 */
import type { GateResult, Metrics } from '../gates/index.js';
import type { CheckResult } from '../checks/types.js';
import type { RunnerInfo } from '../runners/types.js';

export const EVENT_TYPES = ['register', 'promote', 'approve', 'rollback', 'deprecate', 'canary'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

interface BaseEvent {
  seq: number;
  type: EventType;
  model: string;
  version: number;
  /** UTC ISO-8601 */
  at: string;
  actor: string;
  /** `sha256:` + hex sha256 of the previous line's exact bytes; null on the first line. */
  prev: string | null;
}

export interface ArtifactRecord {
  /** Repository-relative path as declared. */
  path: string;
  kind: 'file' | 'tree';
  digest: string;
  size: number;
  uri: string;
}

export interface RegisterEvent extends BaseEvent {
  type: 'register';
  /** The version's digest: sha256 of the canonical JSON of its artifact digests by name. */
  digest: string;
  /** The git commit of the code, and whether the working tree had other changes. */
  commit: string | null;
  dirty: boolean;
  branch: string | null;
  artifacts: Record<string, ArtifactRecord>;
  metrics: Metrics;
  gates: GateResult[];
  checks: CheckResult[];
  runner: RunnerInfo | null;
  store: string;
}

export interface PromoteEvent extends BaseEvent {
  type: 'promote';
  env: string;
  /** The version live in env before this promotion, or null. */
  from: number | null;
  reason?: string;
  /** Set when --force overrode failed gates or policy conditions, which `overridden` lists. */
  forced?: boolean;
  overridden?: string[];
}

export interface ApproveEvent extends BaseEvent {
  type: 'approve';
  env: string;
  comment?: string;
}

export interface RollbackEvent extends BaseEvent {
  type: 'rollback';
  env: string;
  from: number;
  reason: string;
  /** A canary abort: `from` was the canary; the stable version (`version`) stays live alone. */
  canary?: boolean;
}

/** A canary: `version` takes `weight` percent of the traffic of `env`; `stable` keeps the rest. */
export interface CanaryEvent extends BaseEvent {
  type: 'canary';
  env: string;
  weight: number;
  stable: number;
  reason?: string;
  forced?: boolean;
  overridden?: string[];
}

export interface DeprecateEvent extends BaseEvent {
  type: 'deprecate';
  reason: string;
}

export type RegistryEvent = RegisterEvent | PromoteEvent | ApproveEvent | RollbackEvent | DeprecateEvent | CanaryEvent;

/** An event before the registry gives it its place in the chain. */
export type NewEvent =
  | Omit<RegisterEvent, 'seq' | 'prev'>
  | Omit<PromoteEvent, 'seq' | 'prev'>
  | Omit<ApproveEvent, 'seq' | 'prev'>
  | Omit<RollbackEvent, 'seq' | 'prev'>
  | Omit<DeprecateEvent, 'seq' | 'prev'>
  | Omit<CanaryEvent, 'seq' | 'prev'>;

const BASE_KEYS = ['seq', 'type', 'model', 'version', 'at', 'actor', 'prev'] as const;

/** The line for an event: base keys first in a fixed order, then the type's own fields as given. */
export function serializeEvent(event: RegistryEvent): string {
  const ordered: Record<string, unknown> = {};
  for (const key of BASE_KEYS) ordered[key] = event[key];
  for (const [key, value] of Object.entries(event)) if (!(key in ordered) && value !== undefined) ordered[key] = value;
  return JSON.stringify(ordered);
}

const HEX_DIGEST = /^sha256:[0-9a-f]{64}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Why a parsed line is not a valid event, or undefined when it is. */
export function eventProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  const isStr = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (!isInt(e['seq']) || (e['seq'] as number) < 1) return "'seq' must be a positive integer";
  if (!EVENT_TYPES.includes(e['type'] as EventType)) return `'type' must be one of ${EVENT_TYPES.join(', ')}`;
  if (!isStr(e['model'])) return "'model' must be a non-empty string";
  if (!isInt(e['version']) || (e['version'] as number) < 1) return "'version' must be a positive integer";
  if (typeof e['at'] !== 'string' || !ISO.test(e['at'])) return "'at' must be a UTC ISO-8601 time";
  if (!isStr(e['actor'])) return "'actor' must be a non-empty string";
  if (e['prev'] !== null && (typeof e['prev'] !== 'string' || !HEX_DIGEST.test(e['prev']))) return "'prev' must be null or sha256:<64 hex>";
  switch (e['type']) {
    case 'register':
      if (typeof e['digest'] !== 'string' || !HEX_DIGEST.test(e['digest'])) return "register: 'digest' must be sha256:<64 hex>";
      if (e['artifacts'] === null || typeof e['artifacts'] !== 'object') return "register: 'artifacts' must be an object";
      for (const [name, a] of Object.entries(e['artifacts'] as Record<string, unknown>)) {
        const r = a as Partial<ArtifactRecord> | null;
        if (r === null || typeof r !== 'object' || typeof r.digest !== 'string' || !HEX_DIGEST.test(r.digest) || (r.kind !== 'file' && r.kind !== 'tree') || typeof r.size !== 'number') {
          return `register: artifact '${name}' needs digest, kind and size`;
        }
      }
      if (e['metrics'] === null || typeof e['metrics'] !== 'object') return "register: 'metrics' must be an object";
      return undefined;
    case 'promote':
      if (!isStr(e['env'])) return "promote: 'env' must be a non-empty string";
      return undefined;
    case 'approve':
      if (!isStr(e['env'])) return "approve: 'env' must be a non-empty string";
      return undefined;
    case 'rollback':
      if (!isStr(e['env'])) return "rollback: 'env' must be a non-empty string";
      if (!isInt(e['from'])) return "rollback: 'from' must be a version number";
      if (!isStr(e['reason'])) return "rollback: 'reason' must be a non-empty string";
      return undefined;
    case 'deprecate':
      if (!isStr(e['reason'])) return "deprecate: 'reason' must be a non-empty string";
      return undefined;
    case 'canary':
      if (!isStr(e['env'])) return "canary: 'env' must be a non-empty string";
      if (typeof e['weight'] !== 'number' || !(e['weight'] > 0 && e['weight'] < 100)) return "canary: 'weight' must be a percentage above 0 and below 100";
      if (!isInt(e['stable'])) return "canary: 'stable' must be a version number";
      return undefined;
    default:
      return undefined;
  }
}

/** The git commit message for an event: `mlship: promote churn v3 to production`. */
export function commitMessage(event: RegistryEvent | NewEvent): string {
  const { model, version } = event;
  switch (event.type) {
    case 'register':
      return `mlship: register ${model} v${version}`;
    case 'promote':
      return `mlship: promote ${model} v${version} to ${event.env}${event.forced === true ? ' (forced)' : ''}`;
    case 'rollback':
      return event.canary === true ? `mlship: abort canary ${model} v${event.from} in ${event.env}` : `mlship: rollback ${model} in ${event.env} from v${event.from} to v${version}`;
    case 'canary':
      return `mlship: canary ${model} v${version} in ${event.env} at ${event.weight}%`;
    case 'approve':
      return `mlship: approve ${model} v${version} for ${event.env}`;
    case 'deprecate':
      return `mlship: deprecate ${model} v${version}`;
    default:
      return `mlship: ${model} v${version}`;
  }
}
