/** Failures shared by dataset and drift checks. */
import type { CheckFailure } from './types.js';

/** A column the config names is not in the data: a check failure (rule `column.missing`), not a crash. */
export const columnMissing = (dataset: string, column: string, found: string[]): CheckFailure => ({
  dataset,
  column,
  rule: 'column.missing',
  expected: 'present',
  observed: found,
  failing: 0,
  examples: [],
  rows: [],
  message: `${column}: no such column in ${dataset} (columns: ${found.join(', ')})`,
});
