import { describe, expect, it } from 'vitest';
import { Gate } from '../src/config/schema.js';
import { evaluateGate, metricAt, type Baseline } from '../src/gates/index.js';

const gate = (g: Record<string, unknown>) => Gate.parse(g);
const prod = (metrics: Record<string, number>, version = 3): Record<string, Baseline> => ({ production: { version, metrics } });

describe('absolute gates', () => {
  it.each([
    [{ metric: 'accuracy', min: 0.8 }, { accuracy: 0.91 }, true, 'accuracy 0.91 >= min 0.8'],
    [{ metric: 'accuracy', min: 0.8 }, { accuracy: 0.8 }, true, 'accuracy 0.8 >= min 0.8'],
    [{ metric: 'accuracy', min: 0.8 }, { accuracy: 0.79 }, false, 'accuracy 0.79 < min 0.8'],
    [{ metric: 'log_loss', max: 0.45 }, { log_loss: 0.5 }, false, 'log_loss 0.5 > max 0.45'],
    [{ metric: 'a.b.c', min: 1, max: 2 }, { a: { b: { c: 1.5 } } }, true, 'a.b.c 1.5 >= min 1; a.b.c 1.5 <= max 2'],
    [{ metric: 'a.b', min: 1, max: 2 }, { a: { b: 3 } }, false, 'a.b 3 > max 2'],
  ])('%j on %j', (g, metrics, passed, reason) => {
    const result = evaluateGate(gate(g), metrics, {});
    expect(result).toMatchObject({ passed, reason });
  });

  it('fails on a missing metric, naming the ones that exist', () => {
    expect(evaluateGate(gate({ metric: 'auc', min: 0.5 }), { accuracy: 0.9, nested: { f1: 0.5 } }, {})).toEqual({
      metric: 'auc',
      passed: false,
      value: null,
      reason: "metric auc is missing from the candidate's metrics (have: accuracy, nested.f1)",
    });
  });

  it('fails on a non-numeric metric', () => {
    const metrics = { auc: { x: 1 } } as unknown as Record<string, number>;
    expect(evaluateGate(gate({ metric: 'auc', min: 0.5 }), metrics, {}).reason).toBe('metric auc is not a number (got {"x":1})');
  });

  it('prefers a literal dotted key over nesting', () => {
    expect(metricAt({ 'a.b': 1, a: { b: 2 } }, 'a.b')).toBe(1);
  });
});

describe('gates against an environment', () => {
  it('explains max_drop with every number (the DESIGN.md example)', () => {
    const result = evaluateGate(gate({ metric: 'auc', vs: 'production', max_drop: 0.01 }), { auc: 0.812 }, prod({ auc: 0.83 }));
    expect(result).toMatchObject({ passed: false, value: 0.812, vs: 'production', baseline: { version: 3, value: 0.83 } });
    expect(result.reason).toBe('auc 0.812 < 0.82 = production v3 0.83 - max_drop 0.01');
  });

  it.each([
    // higher is better
    [{ max_drop: 0.01 }, 0.821, 0.83, true],
    [{ max_drop: 0.01 }, 0.819, 0.83, false],
    [{ min_gain: 0.01 }, 0.84, 0.83, true],
    [{ min_gain: 0.01 }, 0.839, 0.83, false],
    [{ max_drop_pct: 10 }, 0.9, 1, true],
    [{ max_drop_pct: 10 }, 0.89, 1, false],
    [{ min_gain_pct: 10 }, 1.1, 1, true],
    [{ min_gain_pct: 10 }, 1.09, 1, false],
    // lower is better (latency, loss): a "drop" is an increase
    [{ max_drop: 5, higher_is_better: false }, 105, 100, true],
    [{ max_drop: 5, higher_is_better: false }, 106, 100, false],
    [{ min_gain_pct: 10, higher_is_better: false }, 90, 100, true],
    [{ min_gain_pct: 10, higher_is_better: false }, 91, 100, false],
    [{ max_drop_pct: 10, higher_is_better: false }, -0.89, -1, false],
    [{ max_drop_pct: 10, higher_is_better: false }, -0.95, -1, true],
  ])('%j: candidate %d vs baseline %d -> %s', (bounds, value, base, passed) => {
    const result = evaluateGate(gate({ metric: 'm', vs: 'production', ...bounds }), { m: value }, prod({ m: base }));
    expect(result.passed).toBe(passed);
  });

  it('baseline 0 with a percentage bound: the candidate must be strictly better', () => {
    const g = gate({ metric: 'm', vs: 'production', max_drop_pct: 5 });
    expect(evaluateGate(g, { m: 0 }, prod({ m: 0 })).passed).toBe(false);
    expect(evaluateGate(g, { m: 0.001 }, prod({ m: 0 })).passed).toBe(true);
    expect(evaluateGate(g, { m: 0 }, prod({ m: 0 })).reason).toContain('baseline 0 with max_drop_pct');
    const lower = gate({ metric: 'm', vs: 'production', min_gain_pct: 5, higher_is_better: false });
    expect(evaluateGate(lower, { m: -1 }, prod({ m: 0 })).passed).toBe(true);
    expect(evaluateGate(lower, { m: 1 }, prod({ m: 0 })).passed).toBe(false);
  });

  it('no baseline: passes by default, fails with on_missing_baseline: fail', () => {
    expect(evaluateGate(gate({ metric: 'm', vs: 'production', max_drop: 0.1 }), { m: 1 }, {})).toMatchObject({ passed: true, reason: 'no baseline: nothing is live in production yet', baseline: null });
    expect(evaluateGate(gate({ metric: 'm', vs: 'production', max_drop: 0.1, on_missing_baseline: 'fail' }), { m: 1 }, {})).toMatchObject({
      passed: false,
      reason: 'no baseline: nothing is live in production yet (on_missing_baseline: fail)',
    });
    expect(evaluateGate(gate({ metric: 'm', vs: 'production', max_drop: 0.1 }), { m: 1 }, prod({ other: 1 })).reason).toBe('no baseline: production v3 has no numeric m');
  });

  it('a missing candidate metric fails even without a baseline', () => {
    expect(evaluateGate(gate({ metric: 'm', vs: 'production', max_drop: 0.1 }), {}, {}).passed).toBe(false);
  });
});

describe('gate config', () => {
  it.each([
    [{ metric: 'm' }, 'a gate needs a bound'],
    [{ metric: 'm', max_drop: 0.1 }, "add 'vs: ENV'"],
    [{ metric: 'm', vs: 'production' }, "a 'vs' gate needs one of"],
  ])('%j is refused', (g, message) => {
    const result = Gate.safeParse(g);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join(' ')).toContain(message);
  });
});
