/** Human renderings shared by several commands. Plain text; colour comes from the Output's colours. */
import type { Colors } from './index.js';
import type { CheckResult } from '../checks/types.js';
import type { GateResult } from '../gates/index.js';

export const mark = (c: Colors, passed: boolean): string => (passed ? c.green('✓') : c.red('✗'));

export function renderGates(c: Colors, gates: readonly GateResult[]): string[] {
  if (gates.length === 0) return ['  (no gates)'];
  return gates.map((g) => `  ${mark(c, g.passed)} ${g.reason}`);
}

export function renderCheckSummary(c: Colors, checks: readonly CheckResult[]): string[] {
  return checks.flatMap((check) => [
    `  ${mark(c, check.passed)} ${check.name}${check.passed ? '' : ` (${check.failures.length} failure${check.failures.length === 1 ? '' : 's'})`}`,
    ...check.failures.slice(0, 10).map((f) => `      ${f.message}`),
  ]);
}

export const shortDigest = (digest: string): string => digest.slice(0, 'sha256:'.length + 12);

/** Left-aligned columns. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length))).join('  ').trimEnd());
}
