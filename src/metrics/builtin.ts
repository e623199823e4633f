/**
 * Assemble the `builtin.*` metrics from a predictions table: the overall classification metrics,
 * each group column's per-group metrics and its fairness metrics. Pure.
 */
import type { GateResult, Metrics } from '../gates/index.js';
import { classificationMetrics, fairness, groupRates, type Outcome, type Scored } from './classification.js';

/** The predictions, validated: one entry per row, in file order. */
export interface PredictionTable extends Scored {
  /** Group column → each row's group value (null when the cell is empty). */
  groups: Record<string, readonly (string | null)[]>;
}

/** A metric that could not be computed, and why. */
export interface Omission {
  /** Full dotted name as the gates would see it, e.g. `builtin.groups.plan.team.roc_auc`. */
  metric: string;
  reason: string;
}

export interface BuiltinMetrics {
  /** The document merged under `builtin` (nested: `calibration.ece` is `{calibration: {ece}}`). */
  metrics: Metrics;
  omitted: Omission[];
}

/** Key under which rows with an empty group value are counted. */
export const MISSING_GROUP = '(missing)';

/** A group value as a metrics key: a dot would split the dotted metric path, so it becomes `_`. */
export const groupKey = (value: string | null): string => (value === null || value === '' ? MISSING_GROUP : value.replaceAll('.', '_'));

/** An own property even for keys such as `__proto__` (group values come from data). */
const define = (node: Metrics, key: string, value: number | Metrics): void => {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
};

function put(target: Metrics, dotted: string, value: number): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (next === undefined || typeof next === 'number') {
      const child: Metrics = {};
      define(node, key, child);
      node = child;
    } else node = next;
  }
  define(node, keys[keys.length - 1] as string, value);
}

function collect(target: Metrics, prefix: string, outcomes: Record<string, Outcome>, omitted: Omission[]): void {
  for (const [name, outcome] of Object.entries(outcomes)) {
    if ('value' in outcome) put(target, `${prefix}${name}`, outcome.value);
    else omitted.push({ metric: `builtin.${prefix}${name}`, reason: outcome.undefined });
  }
}

const pick = <T>(values: readonly T[], rows: readonly number[]): T[] => rows.map((i) => values[i] as T);

/**
 * Compute every builtin metric. `bins` is the number of equal-width calibration bins.
 * Rows of each group column are split by value; group values that collide after `groupKey` are merged
 * (`v1.2` and `v1_2` count as one group) — a reason to keep dots out of group values.
 */
export function builtinMetrics(table: PredictionTable, bins: number): BuiltinMetrics {
  const metrics: Metrics = {};
  const omitted: Omission[] = [];
  const n = table.labels.length;
  let positives = 0;
  for (const y of table.labels) positives += y;
  put(metrics, 'rows', n);
  put(metrics, 'positive_rate', n === 0 ? 0 : positives / n);
  collect(metrics, '', classificationMetrics(table, bins), omitted);

  for (const [column, values] of Object.entries(table.groups)) {
    const members = new Map<string, number[]>();
    values.forEach((value, i) => {
      const key = groupKey(value);
      const list = members.get(key);
      if (list === undefined) members.set(key, [i]);
      else list.push(i);
    });
    const rates = [];
    for (const key of [...members.keys()].sort()) {
      const rows = members.get(key) as number[];
      const labels = pick(table.labels, rows);
      const predictions = pick(table.predictions, rows);
      const prefix = `groups.${column}.${key}.`;
      const r = groupRates(key, labels, predictions);
      rates.push(r);
      put(metrics, `${prefix}count`, r.count);
      put(metrics, `${prefix}selection_rate`, r.selectionRate);
      collect(metrics, prefix, classificationMetrics({ labels, scores: pick(table.scores, rows), predictions }, bins), omitted);
    }
    collect(metrics, `fairness.${column}.`, fairness(rates), omitted);
  }
  return { metrics, omitted };
}

/** A gate on a metric that could not be computed says why, after the standard "missing" reason. */
export function explainOmitted(gates: GateResult[], omitted: readonly Omission[]): GateResult[] {
  const why = new Map(omitted.map((o) => [o.metric, o.reason]));
  return gates.map((g) => {
    const reason = g.value === null ? why.get(g.metric) : undefined;
    return reason === undefined ? g : { ...g, reason: `${g.reason}; not computed: ${reason}` };
  });
}
