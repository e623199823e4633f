/**
 * Binary classification, calibration and fairness metrics. Pure: arrays in, numbers out, no I/O.
 * A metric that is undefined for the data (ROC AUC with one class, precision with no positive
 * prediction…) is not invented: it is reported as omitted, with the reason, and left out of the
 * metrics so a gate on it fails with the gate engine's standard "missing" reason.
 */

/** One scored example: the true label (1 = positive), the positive-class probability, the predicted label. */
export interface Scored {
  labels: readonly (0 | 1)[];
  scores: readonly number[];
  predictions: readonly (0 | 1)[];
}

/** A metric value, or the reason it is undefined for these rows. */
export type Outcome = { value: number } | { undefined: string };

/** Probabilities are clipped to [EPS, 1 - EPS] before the logarithm of log loss (a score of exactly 0 or 1 is finite). */
export const LOG_LOSS_EPS = 1e-15;

const ok = (value: number): Outcome => ({ value });
const none = (reason: string): Outcome => ({ undefined: reason });

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function confusion(labels: readonly (0 | 1)[], predictions: readonly (0 | 1)[]): Confusion {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const p = predictions[i];
    if (p === 1) {
      if (y === 1) c.tp++;
      else c.fp++;
    } else if (y === 1) c.fn++;
    else c.tn++;
  }
  return c;
}

/** (TP + TN) / N */
export const accuracy = (c: Confusion): Outcome => {
  const n = c.tp + c.fp + c.tn + c.fn;
  return n === 0 ? none('no rows') : ok((c.tp + c.tn) / n);
};

/** TP / (TP + FP); undefined when nothing is predicted positive. */
export const precision = (c: Confusion): Outcome => (c.tp + c.fp === 0 ? none('no row is predicted positive') : ok(c.tp / (c.tp + c.fp)));

/** TP / (TP + FN), the true positive rate; undefined when no label is positive. */
export const recall = (c: Confusion): Outcome => (c.tp + c.fn === 0 ? none('no row has a positive label') : ok(c.tp / (c.tp + c.fn)));

/** 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall (0 when either is 0). */
export const f1 = (c: Confusion): Outcome => {
  const d = 2 * c.tp + c.fp + c.fn;
  return d === 0 ? none('no row is positive, neither by label nor by prediction') : ok((2 * c.tp) / d);
};

/**
 * Area under the ROC curve, by the Mann–Whitney U statistic: the probability that a random positive
 * scores above a random negative, ties counting one half (equal to the trapezoidal area of the ROC curve).
 */
export function rocAuc(labels: readonly (0 | 1)[], scores: readonly number[]): Outcome {
  const n = labels.length;
  let positives = 0;
  for (const y of labels) positives += y;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    return none(`only one class is present (${n} row${n === 1 ? '' : 's'}, all ${positives === 0 ? 'negative' : 'positive'}): ROC AUC needs both`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    // Tied scores share the average of ranks i+1 … j+1.
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k] as number] === 1) rankSum += rank;
    i = j + 1;
  }
  return ok((rankSum - (positives * (positives + 1)) / 2) / (positives * negatives));
}

/** −mean(y·ln p + (1 − y)·ln(1 − p)), p clipped to [LOG_LOSS_EPS, 1 − LOG_LOSS_EPS]. */
export function logLoss(labels: readonly (0 | 1)[], scores: readonly number[]): Outcome {
  if (labels.length === 0) return none('no rows');
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(scores[i] as number, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    sum += labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return ok(-sum / labels.length);
}

/** mean((p − y)²) */
export function brier(labels: readonly (0 | 1)[], scores: readonly number[]): Outcome {
  if (labels.length === 0) return none('no rows');
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += ((scores[i] as number) - (labels[i] as number)) ** 2;
  return ok(sum / labels.length);
}

/**
 * The bin of a score among `bins` equal-width bins of [0, 1]: bin k holds (k/bins, (k+1)/bins], and
 * bin 0 also holds 0 (the convention of scikit-learn's calibration_curve and of Guo et al. 2017).
 */
export function binOf(score: number, bins: number): number {
  let b = Math.min(bins - 1, Math.max(0, Math.ceil(score * bins) - 1));
  // score * bins rounds (0.7 * 10 is 7.000000000000001): settle against the edges k / bins themselves.
  if (b > 0 && score <= b / bins) b--;
  else if (b < bins - 1 && score > (b + 1) / bins) b++;
  return b;
}

export interface CalibrationBin {
  /** Lower and upper edge of the bin. */
  lo: number;
  hi: number;
  count: number;
  /** Mean score and fraction of positive labels in the bin (null when empty). */
  meanScore: number | null;
  positiveRate: number | null;
}

/** The reliability table: equal-width bins of the positive-class score. */
export function calibrationBins(labels: readonly (0 | 1)[], scores: readonly number[], bins: number): CalibrationBin[] {
  const count = new Array<number>(bins).fill(0);
  const scoreSum = new Array<number>(bins).fill(0);
  const labelSum = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const s = scores[i] as number;
    const b = binOf(s, bins);
    count[b] = (count[b] as number) + 1;
    scoreSum[b] = (scoreSum[b] as number) + s;
    labelSum[b] = (labelSum[b] as number) + (labels[i] as number);
  }
  return count.map((n, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: n,
    meanScore: n === 0 ? null : (scoreSum[b] as number) / n,
    positiveRate: n === 0 ? null : (labelSum[b] as number) / n,
  }));
}

/**
 * Expected calibration error Σ_b (n_b / N)·|positive rate_b − mean score_b| and maximum calibration
 * error max_b |positive rate_b − mean score_b| over the non-empty bins.
 */
export function calibrationErrors(labels: readonly (0 | 1)[], scores: readonly number[], bins: number): { ece: Outcome; mce: Outcome } {
  if (labels.length === 0) return { ece: none('no rows'), mce: none('no rows') };
  let ece = 0;
  let mce = 0;
  for (const bin of calibrationBins(labels, scores, bins)) {
    if (bin.count === 0) continue;
    const gap = Math.abs((bin.positiveRate as number) - (bin.meanScore as number));
    ece += (bin.count / labels.length) * gap;
    mce = Math.max(mce, gap);
  }
  return { ece: ok(ece), mce: ok(mce) };
}

/** The metrics of one set of rows, by dotted name (`calibration.ece`). */
export function classificationMetrics(rows: Scored, bins: number): Record<string, Outcome> {
  const c = confusion(rows.labels, rows.predictions);
  const { ece, mce } = calibrationErrors(rows.labels, rows.scores, bins);
  return {
    accuracy: accuracy(c),
    precision: precision(c),
    recall: recall(c),
    f1: f1(c),
    roc_auc: rocAuc(rows.labels, rows.scores),
    log_loss: logLoss(rows.labels, rows.scores),
    brier: brier(rows.labels, rows.scores),
    'calibration.ece': ece,
    'calibration.mce': mce,
  };
}

/** Per-group rates the fairness metrics compare. */
export interface GroupRates {
  group: string;
  count: number;
  /** Fraction predicted positive. */
  selectionRate: number;
  /** True positive rate, null when the group has no positive label. */
  truePositiveRate: number | null;
}

export function groupRates(group: string, labels: readonly (0 | 1)[], predictions: readonly (0 | 1)[]): GroupRates {
  const c = confusion(labels, predictions);
  const n = labels.length;
  return { group, count: n, selectionRate: n === 0 ? 0 : (c.tp + c.fp) / n, truePositiveRate: c.tp + c.fn === 0 ? null : c.tp / (c.tp + c.fn) };
}

/**
 * Fairness across the groups of one column (the definitions of fairlearn):
 * - demographic_parity_diff: max − min selection rate over the groups;
 * - equal_opportunity_diff: max − min true positive rate over the groups that have a positive label;
 * - disparate_impact_ratio: min / max selection rate (1 is parity; the "four-fifths rule" asks ≥ 0.8).
 * Groups without rows do not exist here: a group is a value that occurs in the column.
 */
export function fairness(groups: readonly GroupRates[]): Record<string, Outcome> {
  if (groups.length === 0) {
    const reason = 'no groups';
    return { demographic_parity_diff: none(reason), equal_opportunity_diff: none(reason), disparate_impact_ratio: none(reason) };
  }
  const selection = groups.map((g) => g.selectionRate);
  const maxSel = Math.max(...selection);
  const minSel = Math.min(...selection);
  const withPositives = groups.filter((g) => g.truePositiveRate !== null);
  const tpr = withPositives.map((g) => g.truePositiveRate as number);
  return {
    demographic_parity_diff: ok(maxSel - minSel),
    equal_opportunity_diff: tpr.length === 0 ? none('no group has a positive label') : ok(Math.max(...tpr) - Math.min(...tpr)),
    disparate_impact_ratio: maxSel === 0 ? none('no row of any group is predicted positive') : ok(minSel / maxSel),
  };
}
