/**
 * The drift scan: one aggregate query that reads a dataset once and returns, for every compared
 * column, its histogram on the column's key (drift-grid.ts): numeric columns by grid key, categorical
 * columns by category. Each column is one grouping set of a GROUP BY GROUPING SETS (or, for wide
 * scans, one (column, key) pair per row and column in a single GROUP BY), so a row costs one
 * hash-table update per column whatever the number of bins or KS points: no search over bin edges,
 * no per-row work in JS. The groups are then folded in SQL (keys beyond the reference's onto its
 * ends) so that what reaches JS is bounded by the reference, not by the data. The reference sketch
 * and the current data are counted by this same query.
 */
import type { Engine, Plain } from './duckdb.js';
import { familyOf } from './column-types.js';
import { KEY_MAX, KEY_MIN, STEP_TOLERANCE, type Grid } from './drift-grid.js';
import { ident, num, numList, strList } from './sql.js';

/** SQL for a column read as a number (NULL when it is not one). */
export const numberOf = (col: string, type: string): string => (familyOf(type) === 'text' ? `TRY_CAST(${col} AS DOUBLE)` : `${col}::DOUBLE`);
/** SQL for a column read as a category. */
export const categoryOf = (col: string, type: string): string => (familyOf(type) === 'text' ? col : `CAST(${col} AS VARCHAR)`);

export type ScanColumn =
  | {
      kind: 'numeric';
      name: string;
      /** The column's DuckDB type in the scanned dataset. */
      type: string;
      grid: Grid;
      /** Keys below / above these are counted at these (the reference has nothing there). */
      low?: number;
      high?: number;
    }
  | {
      kind: 'categorical';
      name: string;
      type: string;
      /** When given, every other category is counted in `other`. */
      known?: string[];
    };

export interface NumericCounts {
  kind: 'numeric';
  /** Rows that are null or not a number. */
  missing: number;
  keys: number[];
  counts: number[];
}

export interface CategoryCounts {
  kind: 'categorical';
  missing: number;
  categories: Record<string, number>;
  /** Rows in categories outside `known`. */
  other: number;
}

export interface ScanResult {
  rows: number;
  columns: (NumericCounts | CategoryCounts)[];
}

/** SQL for the key of a numeric column (see drift-grid.ts; the JS mirror is `keyOf`). */
export function keySql(col: string, type: string, grid: Grid): string {
  if (grid.kind === 'values') {
    if (grid.decimals === 0 && familyOf(type) === 'integer') return col;
    const x = numberOf(col, type);
    const y = grid.decimals === 0 ? x : `(${x} * ${num(10 ** grid.decimals)})`;
    // ±∞ and NaN fail the test (their difference is NaN) and keep their value: floor(±∞) + 0.5 = ±∞.
    return `CASE WHEN abs(${y} - round(${y})) <= ${num(STEP_TOLERANCE)} THEN round(${y}) ELSE floor(${y}) + 0.5 END`;
  }
  const x = numberOf(col, type);
  const cell = `ceil((${grid.kind === 'log' ? `ln(${x})` : x} - ${num(grid.origin)}) * ${num(grid.scale)})`;
  // NaN counts as above every number (DuckDB orders it last), so NaN > 0 is true and ln(NaN) is NaN;
  // NULL (no number) matches neither branch and stays NULL, a missing value.
  return grid.kind === 'log' ? `CASE WHEN ${x} > 0 THEN ${cell} WHEN ${x} <= 0 THEN ${num(KEY_MIN)} END` : cell;
}

/**
 * Up to this many columns are counted with GROUPING SETS (one hash table per column, the cheapest per
 * row); DuckDB pays a few milliseconds per grouping set, so wider scans unpivot every row into one
 * (column, key) pair per column and count those in a single hash table instead (still one scan).
 */
export const GROUPING_SETS_MAX = 32;

/**
 * The SQL text of the count over `scan` (a table expression): one row per column (column `i`), with
 * its keys and their counts, the rows in categories outside `known`, and the missing rows.
 */
export function scanSql(scan: string, columns: readonly ScanColumn[]): string {
  const k = (i: number) => `k${i}`;
  // Every column's key in one of two shapes: x, a DOUBLE (numeric) or t, a VARCHAR (categorical).
  const x = (c: ScanColumn) => (c.kind === 'numeric' ? `(${keySql(ident(c.name), c.type, c.grid)})::DOUBLE` : 'NULL::DOUBLE');
  const t = (c: ScanColumn) => (c.kind === 'categorical' ? categoryOf(ident(c.name), c.type) : 'NULL::VARCHAR');
  const counted =
    columns.length <= GROUPING_SETS_MAX
      ? [
          // Keys keep their own type here (an INTEGER column is grouped as is) and become x or t on the groups.
          `keyed AS (SELECT ${columns.map((c, i) => `${c.kind === 'numeric' ? keySql(ident(c.name), c.type, c.grid) : t(c)} AS ${k(i)}`).join(', ')} FROM ${scan})`,
          `grouped AS MATERIALIZED (SELECT ${columns.map((_, i) => `GROUPING(${k(i)}) AS s${i}`).join(', ')}, ${columns.map((_, i) => k(i)).join(', ')}, count(*) AS n FROM keyed GROUP BY GROUPING SETS (${columns.map((_, i) => `(${k(i)})`).join(', ')}))`,
          `counted AS (${columns.map((c, i) => `SELECT ${i} AS i, ${c.kind === 'numeric' ? `${k(i)}::DOUBLE AS x, NULL::VARCHAR AS t` : `NULL::DOUBLE AS x, ${k(i)} AS t`}, n FROM grouped WHERE s${i} = 0`).join('\nUNION ALL ')})`,
        ]
      : [
          `counted AS (SELECT i, x, t, count(*) AS n FROM (SELECT unnest(range(${columns.length})) AS i, unnest([${columns.map(x).join(', ')}]) AS x, unnest([${columns.map(t).join(', ')}]) AS t FROM ${scan}) GROUP BY ALL)`,
        ];
  // ±∞ and NaN become finite keys at the ends; keys outside [low, high] are folded onto them
  // (greatest() skips a NULL argument: a missing value must not become `low`).
  const lows = numList(columns.map((c) => (c.kind === 'numeric' ? (c.low ?? KEY_MIN) : 0)));
  const highs = numList(columns.map((c) => (c.kind === 'numeric' ? (c.high ?? KEY_MAX) : 0)));
  const knowns = `[${columns.map((c) => (c.kind === 'categorical' && c.known !== undefined ? strList(c.known) : 'NULL')).join(', ')}]::VARCHAR[][]`;
  return [
    `WITH ${counted.join(',\n')},`,
    `folded AS (SELECT i, CASE WHEN x IS NOT NULL THEN least(greatest(x, (${lows})[i + 1]), (${highs})[i + 1]) END AS x, t, coalesce(list_contains((${knowns})[i + 1], t), TRUE) AS known, sum(n) AS n FROM counted GROUP BY ALL)`,
    `SELECT i, sum(n) AS rows,`,
    `  list(x ORDER BY x) FILTER (WHERE x IS NOT NULL) AS xs, list(n ORDER BY x) FILTER (WHERE x IS NOT NULL) AS xn,`,
    `  list(t ORDER BY t) FILTER (WHERE t IS NOT NULL AND known) AS ts, list(n ORDER BY t) FILTER (WHERE t IS NOT NULL AND known) AS tn,`,
    `  coalesce(sum(n) FILTER (WHERE t IS NOT NULL AND NOT known), 0) AS other, coalesce(sum(n) FILTER (WHERE x IS NULL AND t IS NULL), 0) AS missing`,
    `FROM folded GROUP BY i`,
  ].join('\n');
}

const numbers = (value: Plain | undefined): number[] => (Array.isArray(value) ? value.map((v) => Number(v)) : []);

/** Count every column's keys in one scan of `scan`. `columns` must not be empty. */
export async function scanCounts(engine: Engine, scan: string, columns: readonly ScanColumn[]): Promise<ScanResult> {
  const rows = new Map((await engine.query(scanSql(scan, columns))).map((row) => [Number(row.i), row]));
  return {
    // Every column's grouping set holds every row once (no rows: no groups at all).
    rows: Number(rows.get(0)?.rows ?? 0),
    columns: columns.map((c, i) => {
      const row = rows.get(i) ?? {};
      const missing = Number(row.missing ?? 0);
      if (c.kind === 'numeric') return { kind: 'numeric', missing, keys: numbers(row.xs), counts: numbers(row.xn) };
      const names = Array.isArray(row.ts) ? row.ts.map(String) : [];
      const counts = numbers(row.tn);
      const categories: Record<string, number> = {};
      names.forEach((name, j) => {
        categories[name] = counts[j] ?? 0;
      });
      return { kind: 'categorical', missing, categories, other: Number(row.other ?? 0) };
    }),
  };
}
