/**
 * Version references: `churn@3`, `churn@latest`, `churn@production`, `churn@sha256:ab12…`.
 */
import { usageError, verdictError } from '../errors.js';
import { closest } from '../config/suggest.js';
import type { ModelState } from './state.js';

export interface ModelRef {
  model: string;
  /** The part after @, or undefined when absent. */
  ref: string | undefined;
}

export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf('@');
  const model = at < 0 ? text : text.slice(0, at);
  const ref = at < 0 ? undefined : text.slice(at + 1);
  if (model === '' || (ref !== undefined && ref === '')) {
    throw usageError('E_REF', `'${text}' is not a model reference`, { hint: 'write MODEL@VERSION, MODEL@latest, MODEL@ENV or MODEL@sha256:PREFIX (e.g. churn@3)' });
  }
  return { model, ref };
}

/** Resolve a ref against the state; `environments` are the model's configured environment names. */
export function resolveRef(state: ModelState, ref: string, environments: readonly string[]): number {
  const model = state.model;
  if (/^v?\d+$/.test(ref)) {
    const version = Number(ref.replace(/^v/, ''));
    if (!Number.isSafeInteger(version) || !state.versions.has(version)) {
      throw usageError('E_UNKNOWN_VERSION', `${model} has no version ${ref.replace(/^v/, '')}${state.latest === null ? ' (nothing is registered yet)' : ` (versions 1 to ${state.latest})`}`, {
        hint: state.latest === null ? "register one with 'mlship run'" : `see 'mlship history ${model}'`,
      });
    }
    return version;
  }
  if (ref === 'latest') {
    if (state.latest === null) throw usageError('E_UNKNOWN_VERSION', `${model} has no versions yet`, { hint: "register one with 'mlship run'" });
    return state.latest;
  }
  if (ref.startsWith('sha256:')) {
    const prefix = ref.toLowerCase();
    if (!/^sha256:[0-9a-f]{4,64}$/.test(prefix)) throw usageError('E_REF', `'${ref}' is not a digest prefix`, { hint: 'give at least 4 hex digits: sha256:ab12' });
    const matches = [...state.versions.values()].filter(
      (v) => v.digest.startsWith(prefix) || Object.values(v.register.artifacts).some((a) => a.digest.startsWith(prefix)),
    );
    if (matches.length === 0) throw usageError('E_UNKNOWN_VERSION', `no version of ${model} has a digest starting with ${prefix}`);
    if (matches.length > 1) throw usageError('E_AMBIGUOUS_REF', `${prefix} matches versions ${matches.map((m) => m.version).join(', ')} of ${model}`, { hint: 'give more hex digits' });
    return (matches[0] as { version: number }).version;
  }
  if (environments.includes(ref)) {
    const current = state.environments.get(ref)?.current ?? null;
    if (current === null) throw verdictError('E_NOTHING_LIVE', `nothing of ${model} is live in ${ref}`, { hint: `promote a version first: mlship promote ${model}@VERSION --to ${ref}` });
    return current;
  }
  const suggestion = closest(ref, ['latest', ...environments]);
  throw usageError('E_REF', `'${ref}' is neither a version, 'latest', a digest nor an environment of ${model} (${environments.join(', ')})`, {
    hint: suggestion !== undefined ? `did you mean ${model}@${suggestion}?` : `e.g. ${model}@3, ${model}@latest, ${model}@${environments[0] ?? 'production'}`,
  });
}
