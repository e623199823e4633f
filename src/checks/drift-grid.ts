/**
 * Drift grids: how a numeric value becomes a bin key. Drift compares the reference and the current data
 * through the number of values at each key, so the key must be cheap to compute for every row (one
 * hash-aggregation group per key, no search over bin edges) and the same SQL on both sides.
 *
 * - `values` (a reference of whole numbers, or of numbers with at most MAX_DECIMALS decimals, spanning
 *   at most VALUES_RANGE steps): the key is the value in steps of 10^−decimals, y = x · 10^decimals,
 *   rounded when within STEP_TOLERANCE of a whole step, and floor(y) + 0.5 otherwise, a key between two
 *   steps where the reference has no values. Every comparison is exact (to a millionth of a step).
 * - `linear`: the key is the index of a cell of width 1/scale, ceil((x − origin) · scale), where the
 *   GRID_CELLS cells span the reference's 0.1 %–99.9 % quantiles (values beyond get cells beyond).
 * - `log` (a strictly positive reference whose quantiles a log scale separates better, e.g. incomes):
 *   the same on ln x; values ≤ 0 all get the lowest key.
 *
 * A key holds the values (previous key's values, this key's values]: cell k of a linear grid is
 * (origin + (k − 1)/scale, origin + k/scale], up to floating-point rounding at the boundary, which is
 * the same for both datasets because both are keyed by the same SQL.
 */

/** How numeric values become keys; stored in the reference sketch. */
export type Grid = { kind: 'values'; decimals: number } | { kind: 'linear' | 'log'; origin: number; scale: number };

/** Cells between the reference's 0.1 % and 99.9 % quantiles on a linear or log grid. */
export const GRID_CELLS = 8_192;
/** A reference on a grid of steps (10^−decimals) spanning at most this many steps is keyed by value (exact). */
export const VALUES_RANGE = 65_536;
/** Decimals tried for a values grid (0: whole numbers … 4). */
export const MAX_DECIMALS = 4;
/** A value within this fraction of a step from a whole step counts as that step (floating-point decimals: 0.1 · 10 is not exactly 1). */
export const STEP_TOLERANCE = 1e-6;
/** Keys standing for "below / above every other key" (−∞, +∞ and NaN, values ≤ 0 on a log grid). */
export const KEY_MIN = -Number.MAX_VALUE;
export const KEY_MAX = Number.MAX_VALUE;

/** What the first reference scan knows about a numeric column. */
export interface ValueSummary {
  /** Smallest and largest value (undefined when not finite: the quantiles stand in). */
  min: number | undefined;
  max: number | undefined;
  /** The fewest decimals (0 … MAX_DECIMALS) that the values have (decimalsOf the sample); undefined when more. */
  decimals: number | undefined;
  /** Sample quantiles at SAMPLE_LEVELS (sorted; undefined entries when the column has no numbers). */
  quantiles: (number | undefined)[];
}

/** Quantile levels sampled to choose a grid: 0.1 %, 1 %, 2 %, …, 99 %, 99.9 %. */
export const SAMPLE_LEVELS: readonly number[] = [0.001, ...Array.from({ length: 99 }, (_, i) => (i + 1) / 100), 0.999];

/** The fewest decimals (0 … MAX_DECIMALS) that every finite value has, to STEP_TOLERANCE; undefined when none fits. */
export function decimalsOf(values: readonly (number | undefined)[]): number | undefined {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  for (let decimals = 0; decimals <= MAX_DECIMALS; decimals++) {
    const m = 10 ** decimals;
    if (finite.every((v) => Math.abs(v * m - Math.round(v * m)) <= STEP_TOLERANCE)) return decimals;
  }
  return undefined;
}

/** The key of `x` on `grid`, in JS (to choose a grid and to name cell boundaries; the counts come from SQL). */
export function keyOf(grid: Grid, x: number): number {
  if (grid.kind === 'values') {
    const y = x * 10 ** grid.decimals;
    return Math.abs(y - Math.round(y)) <= STEP_TOLERANCE ? Math.round(y) : Math.floor(y) + 0.5;
  }
  if (grid.kind === 'log' && !(x > 0)) return KEY_MIN;
  return Math.ceil(((grid.kind === 'log' ? Math.log(x) : x) - grid.origin) * grid.scale);
}

/** The largest value with key `k` (the upper end of its cell; the value itself on a values grid). */
export function upperOf(grid: Grid, k: number): number {
  if (grid.kind === 'values') return k / 10 ** grid.decimals;
  const t = grid.origin + k / grid.scale;
  return grid.kind === 'log' ? Math.exp(t) : t;
}

const cellsOver = (lo: number, hi: number, kind: 'linear' | 'log'): Grid | undefined => {
  const a = kind === 'log' ? Math.log(lo) : lo;
  const b = kind === 'log' ? Math.log(hi) : hi;
  const scale = GRID_CELLS / (b - a);
  return Number.isFinite(a) && Number.isFinite(scale) && scale > 0 ? { kind, origin: a, scale } : undefined;
};

/**
 * The grid for a reference column: values when it holds whole numbers (or few decimals) in a small
 * range; otherwise a linear or a log grid over its central quantiles, whichever puts the sample
 * quantiles in more distinct cells (the KS error bound is the largest share of values in one cell).
 */
export function chooseGrid(summary: ValueSummary): Grid {
  const q = summary.quantiles.filter((v): v is number => v !== undefined && Number.isFinite(v));
  const min = summary.min ?? q[0];
  const max = summary.max ?? q[q.length - 1];
  const { decimals } = summary;
  if (min === undefined || max === undefined) return { kind: 'values', decimals: 0 };
  if (decimals !== undefined && (max - min) * 10 ** decimals <= VALUES_RANGE) return { kind: 'values', decimals };
  let lo = summary.quantiles[0] ?? min;
  let hi = summary.quantiles[summary.quantiles.length - 1] ?? max;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) [lo, hi] = [min, max];
  if (!(hi > lo)) return { kind: 'linear', origin: min, scale: 1 };
  const candidates = [cellsOver(lo, hi, 'linear'), min > 0 ? cellsOver(lo, hi, 'log') : undefined].filter((g): g is Grid => g !== undefined);
  let best: Grid = candidates[0] ?? { kind: 'linear', origin: min, scale: 1 };
  let spread = -1;
  for (const grid of candidates) {
    const cells = new Set(q.map((v) => keyOf(grid, v))).size;
    if (cells > spread) [best, spread] = [grid, cells];
  }
  return best;
}
