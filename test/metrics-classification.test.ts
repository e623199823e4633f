/**
 * The builtin metrics against independently computed values.
 *
 * FIXTURE's expected numbers were computed once with scikit-learn 1.2.1 (Debian python3-sklearn),
 * /usr/bin/python3, and pasted here as literals; the test does not need Python. The script:
 *
 *   y, s, g = FIXTURE columns; p = (s >= 0.5)
 *   accuracy_score(y, p), precision_score(y, p), recall_score(y, p), f1_score(y, p),
 *   roc_auc_score(y, s), log_loss(y, s, labels=[0, 1]), brier_score_loss(y, s)
 *   ece/mce: pt, pp = calibration_curve(y, s, n_bins=B, strategy='uniform');
 *            counts = non-zero bincount(searchsorted(linspace(0, 1, B + 1)[1:-1], s));
 *            ece = sum(counts / len(y) * |pt - pp|), mce = max |pt - pp|
 *   per group G: the same on the rows of G; selection_rate = mean(p[G]); tpr = recall_score(y[G], p[G])
 *   fairness: dp = max(sel) - min(sel), eo = max(tpr) - min(tpr), di = min(sel) / max(sel)
 */
import { describe, expect, it } from 'vitest';
import { builtinMetrics, explainOmitted, groupKey } from '../src/metrics/builtin.js';
import { binOf, brier, calibrationErrors, classificationMetrics, confusion, fairness, groupRates, logLoss, rocAuc, type Outcome } from '../src/metrics/classification.js';
import type { Metrics } from '../src/gates/index.js';
import { metricAt } from '../src/gates/index.js';

const y: (0 | 1)[] = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0];
const s = [0.9, 0.1, 0.8, 0.65, 0.3, 0.45, 0.7, 0.2, 0.55, 0.5, 0.05, 0.95, 0.6, 0.35, 0.4, 0.85, 0.15, 0.5, 0.7, 0.25, 0.3, 0.75, 0.5, 0.02, 0.62, 0.88, 0.12, 0.48, 0.99, 0.33];
const g = ['a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'a', 'b', 'a', 'c', 'c', 'b', 'a', 'a', 'b', 'c', 'c', 'a', 'b', 'b', 'a', 'c', 'c', 'a', 'b', 'b', 'c', 'a'];
const p = s.map((x): 0 | 1 => (x >= 0.5 ? 1 : 0));

const SKLEARN = {
  all: { accuracy: 0.7333333333333333, precision: 0.6875, recall: 0.7857142857142857, f1: 0.7333333333333334, brier: 0.14493333333333333, log_loss: 0.4379501872133913, roc_auc: 0.875, ece: 0.09999999999999998, mce: 0.22499999999999998, ece5: 0.0646666666666667, mce5: 0.10666666666666667 },
  a: { accuracy: 0.8181818181818182, precision: 0.8333333333333334, recall: 0.8333333333333334, f1: 0.8333333333333334, brier: 0.09848181818181817, log_loss: 0.3337222482057909, roc_auc: 0.9666666666666668, ece: 0.19909090909090912, mce: 0.5, selection_rate: 0.5454545454545454 },
  b: { accuracy: 0.7, precision: 0.6666666666666666, recall: 0.5, f1: 0.5714285714285715, brier: 0.16473, log_loss: 0.5025201310304783, roc_auc: 0.8125, ece: 0.205, mce: 0.35, selection_rate: 0.3 },
  c: { accuracy: 0.6666666666666666, precision: 0.5714285714285714, recall: 1.0, f1: 0.7272727272727273, brier: 0.17971111111111113, log_loss: 0.49359550842591726, roc_auc: 0.825, ece: 0.26666666666666666, mce: 0.6, selection_rate: 0.7777777777777778 },
  fair: { dp: 0.4777777777777778, eo: 0.5, di: 0.3857142857142857 },
};

const value = (o: Outcome | undefined): number => {
  if (o === undefined || !('value' in o)) throw new Error(`expected a value, got ${JSON.stringify(o)}`);
  return o.value;
};
const num = (m: Metrics, path: string): number => metricAt(m, path) as number;

describe('classification metrics against scikit-learn', () => {
  it('overall', () => {
    const m = classificationMetrics({ labels: y, scores: s, predictions: p }, 10);
    for (const key of ['accuracy', 'precision', 'recall', 'f1', 'brier', 'log_loss', 'roc_auc'] as const) expect(value(m[key])).toBeCloseTo(SKLEARN.all[key], 12);
    expect(value(m['calibration.ece'])).toBeCloseTo(SKLEARN.all.ece, 12);
    expect(value(m['calibration.mce'])).toBeCloseTo(SKLEARN.all.mce, 12);
  });

  it('calibration with 5 bins (scores on bin edges 0.2, 0.6 … fall in the lower bin, as in calibration_curve)', () => {
    const { ece, mce } = calibrationErrors(y, s, 5);
    expect(value(ece)).toBeCloseTo(SKLEARN.all.ece5, 12);
    expect(value(mce)).toBeCloseTo(SKLEARN.all.mce5, 12);
  });

  it('per group and fairness, through builtinMetrics', () => {
    const { metrics, omitted } = builtinMetrics({ labels: y, scores: s, predictions: p, groups: { region: g } }, 10);
    expect(omitted).toEqual([]);
    expect(num(metrics, 'rows')).toBe(30);
    expect(num(metrics, 'positive_rate')).toBeCloseTo(14 / 30, 12);
    expect(num(metrics, 'roc_auc')).toBeCloseTo(SKLEARN.all.roc_auc, 12);
    for (const group of ['a', 'b', 'c'] as const) {
      const expected = SKLEARN[group];
      for (const key of ['accuracy', 'precision', 'recall', 'f1', 'brier', 'log_loss', 'roc_auc', 'selection_rate'] as const) {
        expect(num(metrics, `groups.region.${group}.${key}`)).toBeCloseTo(expected[key], 12);
      }
      expect(num(metrics, `groups.region.${group}.calibration.ece`)).toBeCloseTo(expected.ece, 12);
      expect(num(metrics, `groups.region.${group}.calibration.mce`)).toBeCloseTo(expected.mce, 12);
    }
    expect(num(metrics, 'groups.region.a.count')).toBe(11);
    expect(num(metrics, 'fairness.region.demographic_parity_diff')).toBeCloseTo(SKLEARN.fair.dp, 12);
    expect(num(metrics, 'fairness.region.equal_opportunity_diff')).toBeCloseTo(SKLEARN.fair.eo, 12);
    expect(num(metrics, 'fairness.region.disparate_impact_ratio')).toBeCloseTo(SKLEARN.fair.di, 12);
  });
});

describe('hand-calculated cases', () => {
  it('ROC AUC with ties: one positive-negative pair tied counts one half', () => {
    // positives 0.8, 0.5; negatives 0.5, 0.2. Pairs: (0.8>0.5) 1, (0.8>0.2) 1, (0.5=0.5) 0.5, (0.5>0.2) 1 → 3.5 / 4.
    expect(value(rocAuc([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2]))).toBe(0.875);
  });

  it('log loss clips 0 and 1 to 1e-15 (a confident mistake is finite)', () => {
    // −(ln(1e-15) + ln(1 − 0)) / 2 with 1 − 0 clipped to 1 − 1e-15: ≈ 34.538776394910684 / 2
    expect(value(logLoss([1, 0], [0, 0]))).toBeCloseTo(-(Math.log(1e-15) + Math.log(1 - 1e-15)) / 2, 12);
    expect(value(logLoss([1, 0], [1, 0]))).toBeCloseTo(-Math.log(1 - 1e-15), 20);
  });

  it('Brier: mean squared distance to the label', () => {
    // (0.9−1)² + (0.4−0)² = 0.01 + 0.16 = 0.17, / 2
    expect(value(brier([1, 0], [0.9, 0.4]))).toBeCloseTo(0.085, 15);
  });

  it('bins are (k/B, (k+1)/B], 0 in the first, 1 in the last, whatever the float rounding of score·B', () => {
    expect([0, 0.1, 0.10000001, 0.3, 0.7, 0.70000001, 1].map((x) => binOf(x, 10))).toEqual([0, 0, 1, 2, 6, 7, 9]);
    // ECE by hand: scores 0.1, 0.15 | 0.95: bin 0 has one row (0.1, label 0): gap 0.1; bin 1 (0.15, label 1): 0.85; bin 9 (0.95, 1): 0.05.
    // ECE = (0.1 + 0.85 + 0.05) / 3 = 1/3; MCE = 0.85.
    const { ece, mce } = calibrationErrors([0, 1, 1], [0.1, 0.15, 0.95], 10);
    expect(value(ece)).toBeCloseTo(1 / 3, 15);
    expect(value(mce)).toBeCloseTo(0.85, 15);
  });

  it('confusion counts', () => {
    expect(confusion([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])).toEqual({ tp: 2, fn: 1, fp: 1, tn: 1 });
  });
});

describe('undefined metrics are left out with a reason', () => {
  it('a single class: ROC AUC, and recall when all are negative', () => {
    const m = classificationMetrics({ labels: [0, 0, 0], scores: [0.1, 0.6, 0.2], predictions: [0, 1, 0] }, 10);
    expect(m.roc_auc).toEqual({ undefined: 'only one class is present (3 rows, all negative): ROC AUC needs both' });
    expect(m.recall).toEqual({ undefined: 'no row has a positive label' });
    expect(value(m.precision)).toBe(0);
    expect(value(m.accuracy)).toBeCloseTo(2 / 3, 15);
  });

  it('no positive prediction: precision undefined; f1 0 when there are positive labels', () => {
    const m = classificationMetrics({ labels: [1, 0], scores: [0.2, 0.1], predictions: [0, 0] }, 10);
    expect(m.precision).toEqual({ undefined: 'no row is predicted positive' });
    expect(value(m.f1)).toBe(0);
  });

  it('builtinMetrics lists every omission with its full metric name, and the gate reason carries it', () => {
    // basic: labels 1, 1 (one class); pro: labels 0, 0 and predictions 0, 0 (no positive at all).
    const { metrics, omitted } = builtinMetrics({ labels: [1, 0, 0, 1], scores: [0.9, 0.3, 0.2, 0.7], predictions: [1, 0, 0, 1], groups: { plan: ['basic', 'pro', 'pro', 'basic'] } }, 10);
    expect(omitted.map((o) => o.metric)).toEqual([
      'builtin.groups.plan.basic.roc_auc',
      'builtin.groups.plan.pro.precision',
      'builtin.groups.plan.pro.recall',
      'builtin.groups.plan.pro.f1',
      'builtin.groups.plan.pro.roc_auc',
    ]);
    expect(omitted[0]?.reason).toBe('only one class is present (2 rows, all positive): ROC AUC needs both');
    expect(metricAt(metrics, 'groups.plan.pro.roc_auc')).toBeUndefined();
    expect(num(metrics, 'groups.plan.pro.accuracy')).toBe(1);
    // selection: basic 1, pro 0 → dp 1, di 0; tpr: basic 1, pro has no positive label → eo over basic alone: 0
    expect(num(metrics, 'fairness.plan.demographic_parity_diff')).toBe(1);
    expect(num(metrics, 'fairness.plan.disparate_impact_ratio')).toBe(0);
    expect(num(metrics, 'fairness.plan.equal_opportunity_diff')).toBe(0);
    const gates = explainOmitted(
      [
        { metric: 'builtin.groups.plan.pro.roc_auc', passed: false, value: null, reason: 'metric builtin.groups.plan.pro.roc_auc is missing' },
        { metric: 'builtin.accuracy', passed: true, value: 1, reason: 'builtin.accuracy 1 >= min 0.5' },
      ],
      omitted,
    );
    expect(gates.map((x) => x.reason)).toEqual([
      'metric builtin.groups.plan.pro.roc_auc is missing; not computed: only one class is present (2 rows, all negative): ROC AUC needs both',
      'builtin.accuracy 1 >= min 0.5',
    ]);
  });
});

describe('fairness edge cases', () => {
  it('a group without positive labels is left out of equal opportunity; no selection at all leaves the ratio undefined', () => {
    const rates = [groupRates('x', [1, 0], [1, 0]), groupRates('y', [0, 0], [0, 1]), groupRates('z', [1, 1], [0, 1])];
    // selection: x 1/2, y 1/2, z 1/2 → dp 0, di 1; tpr: x 1, y none, z 1/2 → eo 0.5
    const f = fairness(rates);
    expect(value(f.demographic_parity_diff)).toBe(0);
    expect(value(f.disparate_impact_ratio)).toBe(1);
    expect(value(f.equal_opportunity_diff)).toBe(0.5);
    const none = fairness([groupRates('x', [1, 0], [0, 0]), groupRates('y', [0, 0], [0, 0])]);
    expect(none.disparate_impact_ratio).toEqual({ undefined: 'no row of any group is predicted positive' });
    expect(fairness([])).toMatchObject({ demographic_parity_diff: { undefined: 'no groups' } });
  });

  it('empty group values form the group "(missing)"; dots in values become _, __proto__ stays data', () => {
    expect([groupKey(null), groupKey(''), groupKey('v1.2'), groupKey('pro')]).toEqual(['(missing)', '(missing)', 'v1_2', 'pro']);
    const { metrics } = builtinMetrics({ labels: [1, 0, 1], scores: [0.9, 0.2, 0.6], predictions: [1, 0, 1], groups: { g: [null, '__proto__', '__proto__'] } }, 10);
    expect(num(metrics, 'groups.g.(missing).count')).toBe(1);
    expect(num(metrics, 'groups.g.__proto__.count')).toBe(2);
    expect(JSON.parse(JSON.stringify(metrics)).groups.g.__proto__.count).toBe(2);
  });
});
