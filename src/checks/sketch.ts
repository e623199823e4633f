/**
 * Reference sketches: what drift needs to know about a reference dataset (bin edges and counts, the
 * ECDF at sorted points, category counts), computed in two scans and cached as an immutable JSON
 * object under `<cacheDir>/sketches/<sha256 of the reference>/<sha256 of the parameters>.json`.
 * A second run against the same reference bytes reads the object and does not scan the reference.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { usageError } from '../errors.js';
import type { Engine, Plain } from './duckdb.js';
import { familyOf, isNumericFamily } from './column-types.js';
import { binCounts } from './drift-math.js';
import { queryDataset, type Dataset } from './source.js';
import { ident, numList } from './sql.js';

export const SKETCH_VERSION = 1;
/** Quantiles are exact up to this many reference values, and computed on a uniform sample of this size above. */
export const QUANTILE_SAMPLE = 100_000;
/** A numeric column with at most this many distinct values keeps them all: its KS is exact. */
export const EXACT_KS_DISTINCT = 2_000;
/** Reference quantile levels used as KS points otherwise (plus min and max). */
export const KS_LEVELS = 1_000;
/** Categorical columns with more categories than this are not sketched (drift on them is not meaningful). */
export const MAX_CATEGORIES = 1_000;

export interface NumericSketch {
  kind: 'numeric';
  /** Rows, and rows with no number (null or not numeric). */
  rows: number;
  missing: number;
  /** PSI bin edges (sorted, distinct): bin j holds (edges[j-1], edges[j]]. */
  edges: number[];
  counts: number[];
  /** KS: sorted points and the share of reference numbers ≤ each; `exact` when the points are every distinct value. */
  ks?: { points: number[]; cdf: number[]; exact: boolean };
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
  /** Columns that need KS points. */
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

const levels = (k: number, withEnds: boolean): number[] => {
  const out: number[] = [];
  for (let i = withEnds ? 0 : 1; i <= (withEnds ? k : k - 1); i++) out.push(i / k);
  return out;
};

const distinctSorted = (values: Plain): number[] =>
  Array.isArray(values) ? [...new Set(values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)))].sort((a, b) => a - b) : [];

const entries = (value: Plain): { key: Plain; value: Plain }[] =>
  Array.isArray(value) ? value.filter((e): e is { key: Plain; value: Plain } => e !== null && typeof e === 'object' && !Array.isArray(e)) : [];

/** SQL for a column read as a number (NULL when it is not one). */
export const numberOf = (col: string, type: string): string => (familyOf(type) === 'text' ? `TRY_CAST(${col} AS DOUBLE)` : `${col}::DOUBLE`);
/** SQL for a column read as a category. */
export const categoryOf = (col: string, type: string): string => (familyOf(type) === 'text' ? col : `CAST(${col} AS VARCHAR)`);

/** Build a sketch of `ds` in two scans: counts, distinct estimates and quantiles; then exact bin and category counts. */
export async function buildSketch(engine: Engine, ds: Dataset, digest: string, request: SketchRequest, where: string): Promise<ReferenceSketch> {
  const { result } = await queryDataset(engine, ds, async (d) => {
    const types = new Map(d.columns.map((c) => [c.name, c.type]));
    const cols = request.columns.map((name) => ({ name, col: ident(name), type: types.get(name) ?? 'VARCHAR' }));
    const first = ['count(*) AS n'];
    cols.forEach(({ col, type }, i) => {
      const x = numberOf(col, type);
      first.push(`count(${col}) AS nn${i}`, `count(${x}) AS nc${i}`, `approx_count_distinct(${col}) AS d${i}`);
      if (familyOf(type) === 'text' || isNumericFamily(familyOf(type))) {
        first.push(`reservoir_quantile(${x}, ${numList(levels(request.bins, false))}, ${QUANTILE_SAMPLE}) AS q${i}`);
        if (request.ks.includes(cols[i]?.name ?? '')) first.push(`reservoir_quantile(${x}, ${numList(levels(KS_LEVELS, true))}, ${QUANTILE_SAMPLE}) AS k${i}`);
      }
    });
    const [one] = await engine.query(`SELECT ${first.join(', ')} FROM ${d.scan}`);
    const r1 = one ?? {};
    const rows = Number(r1.n ?? 0);
    const plan = cols.map(({ name, col, type }, i) => {
      const nn = Number(r1[`nn${i}`] ?? 0);
      const nc = Number(r1[`nc${i}`] ?? 0);
      const family = familyOf(type);
      const numeric = nn > 0 && nc === nn && (family === 'text' || isNumericFamily(family));
      return { name, col, type, i, nn, nc, numeric, distinct: Number(r1[`d${i}`] ?? 0), edges: distinctSorted(r1[`q${i}`] ?? null), kpoints: distinctSorted(r1[`k${i}`] ?? null) };
    });
    const skipped: Record<string, string> = {};
    const second: string[] = [];
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
    for (const p of kept) {
      const x = numberOf(p.col, p.type);
      if (p.numeric) {
        if (p.edges.length > 0) second.push(`histogram(${x}, ${numList(p.edges)}) AS h${p.i}`);
        if (request.ks.includes(p.name)) {
          second.push(p.distinct <= EXACT_KS_DISTINCT ? `histogram(${x}) AS x${p.i}` : `histogram(${x}, ${numList(p.kpoints)}) AS kh${p.i}`);
        }
      } else {
        second.push(`histogram(${categoryOf(p.col, p.type)}) AS c${p.i}`);
      }
    }
    const r2 = second.length > 0 ? ((await engine.query(`SELECT ${second.join(', ')} FROM ${d.scan}`))[0] ?? {}) : {};
    const columns: Record<string, ColumnSketch> = {};
    for (const p of kept) {
      if (!p.numeric) {
        const categories: Record<string, number> = {};
        for (const e of entries(r2[`c${p.i}`] ?? null)) categories[String(e.key)] = Number(e.value);
        columns[p.name] = { kind: 'categorical', rows, missing: rows - p.nn, categories };
        continue;
      }
      const counts = p.edges.length > 0 ? binCounts(entries(r2[`h${p.i}`] ?? null), p.edges) : [p.nc];
      const sketch: NumericSketch = { kind: 'numeric', rows, missing: rows - p.nc, edges: p.edges, counts };
      if (request.ks.includes(p.name)) {
        const exact = r2[`x${p.i}`];
        if (exact !== undefined) {
          const pairs = entries(exact).map((e) => [Number(e.key), Number(e.value)] as const).sort((a, b) => a[0] - b[0]);
          let cum = 0;
          sketch.ks = { points: pairs.map(([v]) => v), cdf: pairs.map(([, c]) => (cum += c) / p.nc), exact: true };
        } else {
          const per = binCounts(entries(r2[`kh${p.i}`] ?? null), p.kpoints);
          let cum = 0;
          sketch.ks = { points: p.kpoints, cdf: p.kpoints.map((_, j) => (cum += per[j] ?? 0) / p.nc), exact: false };
        }
      }
      columns[p.name] = sketch;
    }
    return { version: SKETCH_VERSION, digest, bins: request.bins, columns, skipped } satisfies ReferenceSketch;
  });
  return result;
}
