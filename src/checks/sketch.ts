/**
 * Reference sketches: what drift needs to know about a reference dataset, computed in two scans and
 * cached as an immutable JSON object under
 * `<cacheDir>/sketches/<sha256 of the reference>/<sha256 of the parameters>.json`. A numeric column is
 * kept as its histogram on a grid (drift-grid.ts) with the PSI bin edges on that grid; a categorical
 * column as its category counts. A second run against the same reference bytes reads the object and
 * does not scan the reference.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { usageError } from '../errors.js';
import type { Engine, Plain } from './duckdb.js';
import { familyOf, isNumericFamily } from './column-types.js';
import { chooseGrid, decimalsOf, GRID_CELLS, SAMPLE_LEVELS, type Grid } from './drift-grid.js';
import { quantileKeys } from './drift-math.js';
import { numberOf, scanCounts, type ScanColumn } from './drift-scan.js';
import { queryDataset, type Dataset } from './source.js';
import { ident, numList } from './sql.js';

/** Bumped whenever what a sketch holds or how keys are computed changes (drift-grid.ts): older sketches are rebuilt. */
export const SKETCH_VERSION = 2;
/** The grid of a numeric column is chosen from quantiles of a uniform sample of this many reference values. */
export const QUANTILE_SAMPLE = 100_000;
/** Categorical columns with more categories than this are not sketched (drift on them is not meaningful). */
export const MAX_CATEGORIES = 1_000;

export interface NumericSketch {
  kind: 'numeric';
  /** Rows, and rows with no number (null or not numeric). */
  rows: number;
  missing: number;
  /** How values become keys (the same for the current data). */
  grid: Grid;
  /** The reference's histogram on the grid: sorted distinct keys and the number of values at each. */
  keys: number[];
  counts: number[];
  /** PSI bin edges, as keys (sorted, distinct): bin j holds the keys in (edges[j-1], edges[j]]. */
  edges: number[];
}

export interface CategoricalSketch {
  kind: 'categorical';
  rows: number;
  missing: number;
  categories: Record<string, number>;
}

export type ColumnSketch = NumericSketch | CategoricalSketch;

export interface ReferenceSketch {
  version: number;
  digest: string;
  bins: number;
  columns: Record<string, ColumnSketch>;
  /** Columns left out, with the reason (only when columns were not listed explicitly). */
  skipped: Record<string, string>;
}

export interface SketchRequest {
  /** Columns to sketch; `explicit` when the config named them (then a bad column is an error, not a skip). */
  columns: string[];
  explicit: boolean;
  bins: number;
  /** Columns compared with KS (they must be numeric). */
  ks: string[];
}

export const sketchFile = (cacheDir: string, digest: string, request: SketchRequest): string => {
  const params = createHash('sha256')
    .update(JSON.stringify({ v: SKETCH_VERSION, bins: request.bins, columns: [...request.columns].sort(), ks: [...request.ks].sort(), explicit: request.explicit }))
    .digest('hex');
  const hex = digest.replace(/^sha256:/, '');
  return join(cacheDir, 'sketches', hex, `${params}.json`);
};

/** Read a cached sketch; undefined when absent or unreadable (a corrupt cache entry is rebuilt, not trusted). */
export async function readSketch(file: string, digest: string): Promise<ReferenceSketch | undefined> {
  try {
    const sketch = JSON.parse(await readFile(file, 'utf8')) as ReferenceSketch;
    return sketch.version === SKETCH_VERSION && sketch.digest === digest ? sketch : undefined;
  } catch {
    return undefined;
  }
}

export async function writeSketch(file: string, sketch: ReferenceSketch): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, JSON.stringify(sketch));
  await rename(temp, file);
}

const finite = (value: Plain | undefined): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/**
 * Build a sketch of `ds` in two scans: counts, distinct estimates, ranges and sample quantiles (to
 * tell numeric from categorical columns and choose each numeric column's grid); then every column's
 * histogram, by the same query that counts the current data (drift-scan.ts). A values grid is chosen
 * from the sample; when the histogram shows a reference value between two steps, those columns get
 * a cell grid and a third scan.
 */
export async function buildSketch(engine: Engine, ds: Dataset, digest: string, request: SketchRequest, where: string): Promise<ReferenceSketch> {
  const { result } = await queryDataset(engine, ds, async (d) => {
    const types = new Map(d.columns.map((c) => [c.name, c.type]));
    const cols = request.columns.map((name) => ({ name, col: ident(name), type: types.get(name) ?? 'VARCHAR' }));
    const first = ['count(*) AS n'];
    cols.forEach(({ col, type }, i) => {
      const x = numberOf(col, type);
      const family = familyOf(type);
      first.push(`count(${col}) AS nn${i}`, `count(${x}) AS nc${i}`);
      // A column of a numeric type is numeric: its distinct count only matters to categorical columns.
      if (!isNumericFamily(family)) first.push(`approx_count_distinct(${col}) AS d${i}`);
      if (family === 'text' || isNumericFamily(family)) {
        first.push(`min(${x}) AS lo${i}`, `max(${x}) AS hi${i}`, `reservoir_quantile(${x}, ${numList(SAMPLE_LEVELS)}, ${QUANTILE_SAMPLE}) AS q${i}`);
      }
    });
    const [one] = await engine.query(`SELECT ${first.join(', ')} FROM ${d.scan}`);
    const r1 = one ?? {};
    const plan = cols.map(({ name, type }, i) => {
      const nn = Number(r1[`nn${i}`] ?? 0);
      const nc = Number(r1[`nc${i}`] ?? 0);
      const family = familyOf(type);
      const numeric = nn > 0 && nc === nn && (family === 'text' || isNumericFamily(family));
      const quantiles = Array.isArray(r1[`q${i}`]) ? (r1[`q${i}`] as Plain[]).map((v) => (typeof v === 'number' ? v : undefined)) : [];
      const summary = { min: finite(r1[`lo${i}`]), max: finite(r1[`hi${i}`]), decimals: family === 'integer' ? 0 : decimalsOf(quantiles), quantiles };
      return { name, type, numeric, summary, grid: numeric ? chooseGrid(summary) : undefined, distinct: Number(r1[`d${i}`] ?? 0) };
    });
    const skipped: Record<string, string> = {};
    const kept = plan.filter((p) => {
      if (!p.numeric && request.ks.includes(p.name)) {
        throw usageError('E_DRIFT_KS', `${where}: ks needs a numeric column; '${p.name}' is not numeric in ${ds.path}`, { hint: "use method: psi for categorical columns" });
      }
      if (!p.numeric && p.distinct > MAX_CATEGORIES) {
        const reason = `about ${p.distinct} distinct values: not a categorical column drift can compare`;
        if (request.explicit) throw usageError('E_DRIFT_COLUMN', `${where}: column '${p.name}' of ${ds.path} has ${reason}`, { hint: 'remove it from drift.columns' });
        skipped[p.name] = reason;
        return false;
      }
      return true;
    });
    const scanned = (p: (typeof kept)[number]): ScanColumn => {
      if (!p.grid) return { kind: 'categorical', name: p.name, type: p.type };
      // Far tails (beyond one grid width on either side of the central quantiles) are counted at two
      // keys, so that a sketch stays small whatever the outliers: at most 3 × GRID_CELLS + 2 keys.
      return p.grid.kind === 'values' ? { kind: 'numeric', name: p.name, type: p.type, grid: p.grid } : { kind: 'numeric', name: p.name, type: p.type, grid: p.grid, low: -GRID_CELLS, high: 2 * GRID_CELLS };
    };
    const counted = kept.length > 0 ? (await scanCounts(engine, d.scan, kept.map(scanned))).columns : [];
    // A reference value between two steps (the sample missed it) has a half-step key: cells instead.
    const offGrid = kept.flatMap((p, i) => {
      const h = counted[i];
      return p.grid?.kind === 'values' && h?.kind === 'numeric' && h.keys.some((k) => Number.isFinite(k) && !Number.isInteger(k)) ? [i] : [];
    });
    if (offGrid.length > 0) {
      for (const i of offGrid) {
        const p = kept[i] as (typeof kept)[number];
        p.grid = chooseGrid({ ...p.summary, decimals: undefined });
      }
      const again = await scanCounts(engine, d.scan, offGrid.map((i) => scanned(kept[i] as (typeof kept)[number])));
      offGrid.forEach((i, j) => {
        counted[i] = again.columns[j] as (typeof counted)[number];
      });
    }
    const rows = Number(r1.n ?? 0);
    const columns: Record<string, ColumnSketch> = {};
    kept.forEach((p, i) => {
      const h = counted[i];
      if (h === undefined) return;
      if (h.kind === 'categorical') {
        columns[p.name] = { kind: 'categorical', rows, missing: h.missing, categories: h.categories };
      } else {
        columns[p.name] = { kind: 'numeric', rows, missing: h.missing, grid: p.grid as Grid, keys: h.keys, counts: h.counts, edges: quantileKeys(h, request.bins) };
      }
    });
    return { version: SKETCH_VERSION, digest, bins: request.bins, columns, skipped } satisfies ReferenceSketch;
  });
  return result;
}
