import { describe, expect, it } from 'vitest';
import { renderChecks } from '../src/checks/render.js';
import type { CheckResult } from '../src/checks/types.js';

describe('renderChecks', () => {
  it('prints one line per check and one aligned line per failure, without colours', () => {
    const results: CheckResult[] = [
      {
        name: 'train-schema', kind: 'dataset', passed: false, stats: { dataset: 'data/train.csv', rows: 1000 },
        failures: [
          { dataset: 'data/train.csv', column: 'age', rule: 'max', expected: 120, observed: 150, failing: 3, examples: [130, 141, 150], rows: [4, 9, 17], message: 'age: 3 rows above max 120 (130, 141, 150); max is 150' },
          { dataset: 'data/train.csv', column: null, rule: 'rows.min', expected: 2000, observed: 1000, failing: 0, examples: [], rows: [], message: '1000 rows, fewer than rows.min 2000' },
        ],
      },
      { name: 'drift', kind: 'drift', passed: true, failures: [], stats: { current: 'data/recent.csv', sketch: 'cached', columns: { age: { method: 'psi', score: 0.0123 } } } },
    ];
    expect(renderChecks(results)).toBe([
      'FAIL  train-schema  data/train.csv  1000 rows',
      '      age  max       3 rows  age: 3 rows above max 120 (130, 141, 150); max is 150 · rows 4, 9, 17',
      '      -    rows.min          1000 rows, fewer than rows.min 2000',
      'PASS  drift         data/recent.csv  psi age 0.0123 (cached reference sketch)',
      '1 of 2 checks failed',
    ].join('\n'));
    expect(renderChecks([])).toBe('no checks');
  });
});
