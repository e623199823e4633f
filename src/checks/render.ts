/**
 * The human form of check results: one line per check, then one line per failure, aligned.
 *
 *   FAIL  train-schema   data/train.csv  1000 rows
 *         age        max        3 rows  age: 3 rows above max 120 (130, 141, 150) · rows 4, 9, 17
 *   PASS  recent-drift   data/recent.csv  psi age 0.0123, plan 0.0040
 */
import type { CheckResult } from './types.js';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

function summary(result: CheckResult): string {
  const stats = result.stats ?? {};
  if (result.kind === 'drift') {
    const columns = (stats.columns ?? {}) as Record<string, { method?: string; score?: number }>;
    const scores = Object.entries(columns).map(([c, s]) => `${s.method ?? ''} ${c} ${typeof s.score === 'number' ? s.score.toFixed(4) : '?'}`);
    const sketch = stats.sketch === 'cached' ? ' (cached reference sketch)' : '';
    return `${String(stats.current ?? '')}  ${scores.join(', ')}${sketch}`.trim();
  }
  return `${String(stats.dataset ?? '')}  ${typeof stats.rows === 'number' ? `${stats.rows} rows` : ''}`.trim();
}

/** A compact table, without colours (the output layer may colour PASS and FAIL). */
export function renderChecks(results: CheckResult[]): string {
  if (results.length === 0) return 'no checks';
  const nameWidth = Math.max(...results.map((r) => r.name.length));
  const failures = results.flatMap((r) => r.failures);
  const colWidth = Math.max(0, ...failures.map((f) => (f.column ?? '-').length));
  const ruleWidth = Math.max(0, ...failures.map((f) => f.rule.length));
  const countWidth = Math.max(0, ...failures.map((f) => (f.failing > 0 ? `${f.failing} row${f.failing > 1 ? 's' : ''}` : '').length));
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${result.passed ? 'PASS' : 'FAIL'}  ${pad(result.name, nameWidth)}  ${summary(result)}`.trimEnd());
    for (const f of result.failures) {
      const count = f.failing > 0 ? `${f.failing} row${f.failing > 1 ? 's' : ''}` : '';
      const rows = f.rows.length > 0 ? ` · row${f.rows.length > 1 ? 's' : ''} ${f.rows.join(', ')}` : '';
      lines.push(`      ${pad(f.column ?? '-', colWidth)}  ${pad(f.rule, ruleWidth)}  ${pad(count, countWidth)}  ${f.message}${rows}`.trimEnd());
    }
  }
  const failed = results.filter((r) => !r.passed).length;
  lines.push(failed === 0 ? `${results.length} check${results.length > 1 ? 's' : ''} passed` : `${failed} of ${results.length} check${results.length > 1 ? 's' : ''} failed`);
  return lines.join('\n');
}
