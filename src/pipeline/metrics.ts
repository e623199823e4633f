/**
 * Reading the metrics file an evaluation writes: a JSON object of numbers (nested objects allowed).
 * Anything else is refused with the file and the offending key named.
 */
import { readFile } from 'node:fs/promises';
import { usageError } from '../errors.js';
import type { Metrics } from '../gates/index.js';

const MAX_METRICS_BYTES = 16 * 1024 * 1024;
/** Nesting deeper than this is not a metrics document (and would exhaust the stack later). */
const MAX_DEPTH = 32;

/** Text shown in a message, cut short (a hostile file may hold megabytes). */
const short = (text: string): string => (text.length > 80 ? `${text.slice(0, 77)}...` : text);
/** A value shown in a message: JSON, cut short. */
const preview = (value: unknown): string => short(JSON.stringify(value) ?? String(value));

/** Pure: validate parsed JSON as a metrics document; returns the problem or the metrics. */
export function validateMetrics(value: unknown, shown: string): Metrics {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw usageError('E_METRICS', `${shown}: expected a JSON object of metrics, got ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}`, {
      hint: 'write e.g. {"accuracy": 0.91, "auc": 0.95}',
    });
  }
  const walk = (object: Record<string, unknown>, prefix: string, depth: number): void => {
    if (depth > MAX_DEPTH) {
      throw usageError('E_METRICS', `${shown}: metrics nested more than ${MAX_DEPTH} levels deep (at '${short(prefix)}')`, { hint: 'metric names are dotted paths: keep the nesting shallow' });
    }
    for (const [key, v] of Object.entries(object)) {
      const name = prefix === '' ? key : `${prefix}.${key}`;
      if (typeof v === 'number') {
        if (Number.isFinite(v)) continue;
        throw usageError('E_METRICS', `${shown}: metric '${short(name)}' is not finite (it overflows a 64-bit number)`, {
          hint: 'every metric must be a finite number; leave out a metric that cannot be computed',
        });
      }
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        walk(v as Record<string, unknown>, name, depth + 1);
        continue;
      }
      throw usageError('E_METRICS', `${shown}: metric '${short(name)}' is ${preview(v)}, not a number`, {
        hint: 'every metric must be a finite number (nested objects are allowed); fix the evaluation script',
      });
    }
  };
  walk(value as Record<string, unknown>, '', 1);
  return value as Metrics;
}

export const readMetrics = (file: string, shown: string): Promise<Metrics> => readMetricsDocument(file, shown);

/** Read and validate a metrics JSON document (also used for canary live metrics). */
export async function readMetricsDocument(file: string, shown: string): Promise<Metrics> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_METRICS_BYTES) throw usageError('E_METRICS', `${shown}: ${bytes.length} bytes is too large for a metrics file`);
    text = bytes.toString('utf8');
    // Editors on Windows write a byte-order mark; JSON.parse does not accept one.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw usageError('E_METRICS_MISSING', `the evaluation did not write its metrics file ${shown}`, {
        hint: "write it to ${outputs}/<evaluate.metrics> (the path evaluate.metrics names inside the outputs folder)",
      });
    }
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (error instanceof RangeError) {
      throw usageError('E_METRICS', `${shown}: nested too deeply to read`, { hint: 'metric names are dotted paths: keep the nesting shallow' });
    }
    const named = /"((?:[^"\\]|\\.)*)"\s*:\s*(NaN|-?Infinity)\b/.exec(text);
    const nonFinite = named === null ? /\b(NaN|-?Infinity)\b/.exec(text) : null;
    const message =
      named !== null ? `${shown}: metric '${short(named[1] ?? '')}' is ${named[2]}, which is not a number JSON allows`
      : nonFinite !== null ? `${shown}: contains ${nonFinite[1]}, which is not a number JSON allows`
      : `${shown}: not valid JSON (${short((error as Error).message)})`;
    throw usageError('E_METRICS', message, {
      hint: named !== null || nonFinite !== null ? 'a metric that cannot be computed should be left out (a gate on it then fails with a clear reason)' : 'the metrics file must be one JSON object',
    });
  }
  return validateMetrics(value, shown);
}
