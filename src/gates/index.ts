/**
 * Evaluation gates (DESIGN.md "Gates"). Pure: metrics and baselines in, verdicts with reasons out.
 * Every verdict carries one line with the numbers, e.g.
 * "auc 0.812 < 0.820 = production v3 0.830 - max_drop 0.01".
 */
import type { GateConfig } from '../config/schema.js';

/** A metrics document: numbers, possibly nested (`a.b.c` addresses a leaf). */
export type Metrics = { [key: string]: number | Metrics };

/** What is live in an environment, for `vs:` gates. */
export interface Baseline {
  version: number;
  metrics: Metrics;
}

export interface GateResult {
  metric: string;
  passed: boolean;
  /** The candidate's value, or null when missing or not a number. */
  value: number | null;
  reason: string;
  vs?: string;
  baseline?: { version: number; value: number | null } | null;
}

/** Read a dotted path (`calibration.ece`); a literal key containing dots wins over nesting. */
export function metricAt(metrics: Metrics, path: string): unknown {
  if (Object.hasOwn(metrics, path)) return metrics[path];
  let current: unknown = metrics;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Dotted names of every numeric leaf, for messages and diffs. */
export function flattenMetrics(metrics: Metrics, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof value === 'number') out[name] = value;
    else Object.assign(out, flattenMetrics(value, name));
  }
  return out;
}

/** Up to 6 significant digits, no exponent noise for ordinary metric values. */
export const formatNumber = (n: number): string => String(Number(n.toPrecision(6)));

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function missingReason(metric: string, value: unknown, metrics: Metrics): string {
  if (value === undefined) {
    const names = Object.keys(flattenMetrics(metrics));
    return `metric ${metric} is missing from the candidate's metrics (have: ${names.length > 0 ? names.slice(0, 12).join(', ') : 'none'})`;
  }
  return `metric ${metric} is not a number (got ${JSON.stringify(value)})`;
}

interface Check {
  passed: boolean;
  reason: string;
}

function absolute(gate: GateConfig, value: number): Check[] {
  const checks: Check[] = [];
  const v = formatNumber(value);
  if (gate.min !== undefined) {
    checks.push(value >= gate.min ? { passed: true, reason: `${gate.metric} ${v} >= min ${formatNumber(gate.min)}` } : { passed: false, reason: `${gate.metric} ${v} < min ${formatNumber(gate.min)}` });
  }
  if (gate.max !== undefined) {
    checks.push(value <= gate.max ? { passed: true, reason: `${gate.metric} ${v} <= max ${formatNumber(gate.max)}` } : { passed: false, reason: `${gate.metric} ${v} > max ${formatNumber(gate.max)}` });
  }
  return checks;
}

function relative(gate: GateConfig, value: number, env: string, baseline: Baseline, base: number): Check[] {
  const checks: Check[] = [];
  const up = gate.higher_is_better;
  const v = formatNumber(value);
  const b = `${env} v${baseline.version} ${formatNumber(base)}`;
  // "Better" is up when higher_is_better, down otherwise; sign flips every bound.
  const dir = up ? 1 : -1;
  const compare = (threshold: number, formula: string): Check => {
    const passed = dir * (value - threshold) >= 0;
    const op = passed ? (up ? '>=' : '<=') : up ? '<' : '>';
    return { passed, reason: `${gate.metric} ${v} ${op} ${formatNumber(threshold)} = ${b} ${formula}` };
  };
  const strictlyBetter = (bound: string): Check => {
    const passed = dir * (value - base) > 0;
    return { passed, reason: `${gate.metric} ${v} ${passed ? 'is' : 'is not'} strictly ${up ? 'above' : 'below'} ${b} (baseline 0 with ${bound}: the candidate must be strictly better)` };
  };
  if (gate.max_drop !== undefined) checks.push(compare(base - dir * gate.max_drop, `${up ? '-' : '+'} max_drop ${formatNumber(gate.max_drop)}`));
  if (gate.min_gain !== undefined) checks.push(compare(base + dir * gate.min_gain, `${up ? '+' : '-'} min_gain ${formatNumber(gate.min_gain)}`));
  if (gate.max_drop_pct !== undefined) {
    checks.push(base === 0 ? strictlyBetter('max_drop_pct') : compare(base - dir * Math.abs(base) * (gate.max_drop_pct / 100), `${up ? '-' : '+'} max_drop_pct ${formatNumber(gate.max_drop_pct)}%`));
  }
  if (gate.min_gain_pct !== undefined) {
    checks.push(base === 0 ? strictlyBetter('min_gain_pct') : compare(base + dir * Math.abs(base) * (gate.min_gain_pct / 100), `${up ? '+' : '-'} min_gain_pct ${formatNumber(gate.min_gain_pct)}%`));
  }
  return checks;
}

/** Evaluate one gate. `baselines` maps an environment to what is live there (undefined: nothing yet). */
export function evaluateGate(gate: GateConfig, metrics: Metrics, baselines: Record<string, Baseline | undefined>): GateResult {
  const raw = metricAt(metrics, gate.metric);
  const value = isNumber(raw) ? raw : null;
  const result = (passed: boolean, reason: string, extra: Partial<GateResult> = {}): GateResult => ({ metric: gate.metric, passed, value, reason, ...extra });
  if (value === null) return result(false, missingReason(gate.metric, raw, metrics), gate.vs === undefined ? {} : { vs: gate.vs });

  const checks = absolute(gate, value);
  let extra: Partial<GateResult> = {};
  if (gate.vs !== undefined) {
    const env = gate.vs;
    const baseline = baselines[env];
    const baseRaw = baseline === undefined ? undefined : metricAt(baseline.metrics, gate.metric);
    extra = { vs: env, baseline: baseline === undefined ? null : { version: baseline.version, value: isNumber(baseRaw) ? baseRaw : null } };
    const onMissing = gate.on_missing_baseline;
    if (baseline === undefined) {
      checks.push({ passed: onMissing === 'pass', reason: `no baseline: nothing is live in ${env} yet${onMissing === 'fail' ? ' (on_missing_baseline: fail)' : ''}` });
    } else if (!isNumber(baseRaw)) {
      checks.push({ passed: onMissing === 'pass', reason: `no baseline: ${env} v${baseline.version} has no numeric ${gate.metric}${onMissing === 'fail' ? ' (on_missing_baseline: fail)' : ''}` });
    } else {
      checks.push(...relative(gate, value, env, baseline, baseRaw));
    }
  }
  const failed = checks.filter((c) => !c.passed);
  const shown = failed.length > 0 ? failed : checks;
  return result(failed.length === 0, shown.map((c) => c.reason).join('; '), extra);
}

export function evaluateGates(gates: readonly GateConfig[], metrics: Metrics, baselines: Record<string, Baseline | undefined>): GateResult[] {
  return gates.map((gate) => evaluateGate(gate, metrics, baselines));
}
