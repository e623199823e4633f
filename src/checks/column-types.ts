/**
 * Column types: how a declared `type` is checked against a column, and the typed SQL value that the
 * other rules (min, max, in, unique) compare. Text columns (every CSV column, and VARCHAR columns of
 * Parquet and JSON Lines) are checked value by value with TRY_CAST; typed columns by their DuckDB type.
 */
import type { ColumnRuleConfig } from '../config/schema.js';

export type ColumnType = NonNullable<ColumnRuleConfig['type']>;
export type Family = 'integer' | 'float' | 'decimal' | 'text' | 'boolean' | 'date' | 'timestamp' | 'other';

/** The family of a DuckDB type name. */
export function familyOf(duckType: string): Family {
  const t = duckType.toUpperCase();
  if (/^(U?TINYINT|U?SMALLINT|U?INTEGER|U?BIGINT|U?HUGEINT|INT\d*)$/.test(t)) return 'integer';
  if (t === 'FLOAT' || t === 'DOUBLE' || t === 'REAL') return 'float';
  if (t.startsWith('DECIMAL')) return 'decimal';
  if (t === 'VARCHAR') return 'text';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  return 'other';
}

export const isNumericFamily = (family: Family): boolean => family === 'integer' || family === 'float' || family === 'decimal';

export interface TypedColumn {
  /** SQL for the value as the declared type; NULL for nulls and for values that are not of the type. */
  value: string;
  /** SQL predicate: a non-null value that is not of the declared type. */
  bad: string;
  /** False when the column's storage type can never hold the declared type (every value fails). */
  compatible: boolean;
}

/** `col` is a quoted identifier, `srcType` its DuckDB type. */
export function typedColumn(col: string, srcType: string, type: ColumnType): TypedColumn {
  const family = familyOf(srcType);
  const typed = (value: string): TypedColumn => ({ value, bad: `(${col} IS NOT NULL AND (${value}) IS NULL)`, compatible: true });
  if (family === 'text') {
    switch (type) {
      case 'string':
        return { value: col, bad: 'FALSE', compatible: true };
      case 'integer':
        // TRY_CAST('1.5' AS BIGINT) rounds to 2: a value is an integer when its DOUBLE reading is whole.
        return typed(`CASE WHEN TRY_CAST(${col} AS DOUBLE) = TRY_CAST(${col} AS BIGINT) THEN TRY_CAST(${col} AS BIGINT) END`);
      case 'number':
        return typed(`TRY_CAST(${col} AS DOUBLE)`);
      case 'boolean':
        return typed(`TRY_CAST(${col} AS BOOLEAN)`);
      case 'date':
        return typed(`TRY_CAST(${col} AS DATE)`);
      case 'timestamp':
        return typed(`TRY_CAST(${col} AS TIMESTAMPTZ)`);
    }
  }
  if (type === 'integer' && family === 'integer') return typed(col);
  if (type === 'integer' && (family === 'float' || family === 'decimal')) {
    // pandas stores an integer column with missing values as float64: whole values are integers.
    return typed(`CASE WHEN isfinite(${col}::DOUBLE) AND ${col}::DOUBLE = trunc(${col}::DOUBLE) THEN ${col}::DOUBLE END`);
  }
  if (type === 'number' && isNumericFamily(family)) return typed(`${col}::DOUBLE`);
  if (type === 'boolean' && family === 'boolean') return typed(col);
  if (type === 'date' && family === 'date') return typed(col);
  if (type === 'timestamp' && (family === 'timestamp' || family === 'date')) return typed(`${col}::TIMESTAMPTZ`);
  return { value: 'NULL', bad: `(${col} IS NOT NULL)`, compatible: false };
}

/** The SQL type a declared type compares as. */
export const sqlTypeOf = (type: ColumnType): string =>
  ({ integer: 'DOUBLE', number: 'DOUBLE', string: 'VARCHAR', boolean: 'BOOLEAN', date: 'DATE', timestamp: 'TIMESTAMPTZ' })[type];
