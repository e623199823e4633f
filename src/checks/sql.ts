/**
 * SQL text building for DuckDB. User strings (column names, values, patterns, paths) reach SQL only
 * through these functions: identifiers are double-quoted with embedded quotes doubled, values become
 * single-quoted literals with embedded quotes doubled. DuckDB string literals have no backslash
 * escapes (only E'…' strings do), so doubling the quote is the complete escape.
 */
import { usageError } from '../errors.js';

const refuseNul = (text: string, what: string): void => {
  if (text.includes('\0')) throw usageError('E_CHECK_NUL', `${what} contains a NUL character`, { hint: 'remove the NUL character' });
};

/** A quoted identifier: `a"b` becomes `"a""b"`. */
export const ident = (name: string): string => {
  refuseNul(name, `column name '${name.replaceAll('\0', '\\0')}'`);
  return `"${name.replaceAll('"', '""')}"`;
};

/** A string literal: `it's` becomes `'it''s'`. */
export const str = (value: string): string => {
  refuseNul(value, 'a value');
  return `'${value.replaceAll("'", "''")}'`;
};

/** A numeric literal; refuses NaN and infinities, which have no literal form. */
export const num = (value: number): string => {
  if (!Number.isFinite(value)) throw usageError('E_CHECK_NUMBER', `${value} is not a finite number`);
  // DOUBLE keeps 0.1 from being read as DECIMAL(1,1) and compared with DECIMAL rules.
  return `${String(value)}::DOUBLE`;
};

/** A literal of any scalar from the configuration. */
export const literal = (value: string | number | boolean): string =>
  typeof value === 'string' ? str(value) : typeof value === 'number' ? num(value) : value ? 'TRUE' : 'FALSE';

/** A DOUBLE[] list literal (bin edges, quantile levels). */
export const numList = (values: readonly number[]): string => `[${values.map(num).join(', ')}]::DOUBLE[]`;

/** A VARCHAR[] list literal. */
export const strList = (values: readonly string[]): string => (values.length === 0 ? '[]::VARCHAR[]' : `[${values.map(str).join(', ')}]`);
