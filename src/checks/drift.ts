/**
 * Drift checks: the reference is summarised into a cached sketch (see sketch.ts), the current dataset
 * is counted in one scan on the sketch's grids (drift-scan.ts), and each column gets a PSI or KS score
 * compared with its `max`.
 *
 * PSI: numeric columns are binned on the reference quantiles (`bins` bins, fewer when quantiles tie),
 * as keys of the column's grid; categorical columns by category; categories absent from the reference
 * are pooled into one "other" bin; nulls (and values that are not numbers in a numeric column) form a
 * "missing" bin whenever either side has any. Empty bins use PSI_EPSILON (drift-math.ts).
 * KS: the two-sample statistic D between the two ECDFs, known exactly at every grid key: exact on a
 * values grid, otherwise the largest gap at the keys, with `upper` bounding D (drift-math.ts ksBounds);
 * nulls are left out.
 */
import type { DriftCheckConfig } from '../config/schema.js';
import type { Engine } from './duckdb.js';
import { upperOf } from './drift-grid.js';
import { countsByEdges, ksBounds, ksPValue, psi } from './drift-math.js';
import { scanCounts, type CategoryCounts, type NumericCounts, type ScanColumn } from './drift-scan.js';
import { openDataset, queryDataset } from './source.js';
import { buildSketch, readSketch, sketchFile, writeSketch, type CategoricalSketch, type ColumnSketch, type NumericSketch, type SketchRequest } from './sketch.js';
import { resolveInside } from '../paths.js';
import { stat } from 'node:fs/promises';
import { hashFile } from '../store/hash.js';
import { openStatCache, statCacheFile } from '../store/stat-cache.js';
import { environmentError, MlshipError } from '../errors.js';
import type { CheckContext, CheckFailure, CheckResult } from './types.js';
import { columnMissing } from './failures.js';

const OTHER = '(other)';
const MISSING = '(missing)';

interface ColumnPlan {
  name: string;
  method: 'psi' | 'ks';
  max: number;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export async function runDriftCheck(engine: Engine, name: string, drift: DriftCheckConfig, ctx: CheckContext): Promise<CheckResult> {
  const where = `${ctx.configFile}: checks.${name}.drift`;
  const refFull = resolveInside(ctx.repoRoot, drift.reference, `drift reference of check '${name}'`);
  const digest = await digestOf(refFull, drift.reference, ctx);
  const current = await openDataset(engine, ctx.repoRoot, drift.current, `drift current of check '${name}'`);

  const listed = drift.columns === undefined ? undefined : Array.isArray(drift.columns) ? drift.columns : Object.keys(drift.columns);
  const plans = (names: string[]): ColumnPlan[] =>
    names.map((column) => {
      const own = drift.columns !== undefined && !Array.isArray(drift.columns) ? drift.columns[column] : undefined;
      return { name: column, method: own?.method ?? drift.method, max: own?.max ?? drift.max };
    });

  // Without a column list every column of the current data is compared; the reference decides which exist.
  const requested = listed ?? current.columns.map((c) => c.name);
  const request: SketchRequest = { columns: requested, explicit: listed !== undefined, bins: drift.bins, ks: plans(requested).filter((p) => p.method === 'ks').map((p) => p.name) };

  const failures: CheckFailure[] = [];
  const file = sketchFile(ctx.cacheDir, digest, request);
  let sketch = await readSketch(file, digest);
  const cached = sketch !== undefined;
  if (!sketch) {
    const reference = await openDataset(engine, ctx.repoRoot, drift.reference, `drift reference of check '${name}'`);
    const present = new Set(reference.columns.map((c) => c.name));
    const absent = request.columns.filter((c) => !present.has(c));
    if (absent.length > 0 && request.explicit) {
      for (const column of absent) failures.push(columnMissing(drift.reference, column, reference.columns.map((c) => c.name)));
    }
    sketch = await buildSketch(engine, reference, digest, { ...request, columns: request.columns.filter((c) => present.has(c)) }, where);
    for (const column of absent) if (!request.explicit) sketch.skipped[column] = 'not in the reference';
    // A sketch with missing columns is not cached: the failure must be reported on every run.
    if (absent.length === 0 || !request.explicit) await writeSketch(file, sketch);
  }

  const currentNames = new Set(current.columns.map((c) => c.name));
  const compared = plans(requested).filter((p) => {
    if (!sketch?.columns[p.name]) return false;
    if (!currentNames.has(p.name)) {
      failures.push(columnMissing(drift.current, p.name, current.columns.map((c) => c.name)));
      return false;
    }
    return true;
  });

  const scores: Record<string, unknown> = {};
  if (compared.length > 0) {
    const sketchOf = (p: ColumnPlan) => sketch?.columns[p.name] as ColumnSketch;
    const { result: counted } = await queryDataset(engine, current, (d) => {
      // Types from the dataset the query runs on: a JSON Lines retry may have widened them.
      const types = new Map(d.columns.map((c) => [c.name, c.type]));
      const columns = compared.map((p): ScanColumn => {
        const s = sketchOf(p);
        const type = types.get(p.name) ?? 'VARCHAR';
        if (s.kind === 'categorical') return { kind: 'categorical', name: p.name, type, known: Object.keys(s.categories) };
        // Current keys beyond the reference's are folded one step outside it: the statistics only need to
        // know they are below (or above) every reference value.
        return { kind: 'numeric', name: p.name, type, grid: s.grid, low: (s.keys[0] ?? 0) - 1, high: (s.keys[s.keys.length - 1] ?? 0) + 1 };
      });
      return scanCounts(engine, d.scan, columns);
    });
    compared.forEach((p, i) => {
      const s = sketchOf(p);
      const h = counted.columns[i] as NumericCounts | CategoryCounts;
      const score = s.kind === 'numeric' ? scoreNumeric(p, s, h as NumericCounts) : scoreCategorical(s, h as CategoryCounts);
      scores[p.name] = { method: p.method, kind: s.kind, max: p.max, ...score.stats, score: round(score.value) };
      if (score.value > p.max) {
        failures.push({
          dataset: drift.current,
          column: p.name,
          rule: p.method,
          expected: p.max,
          observed: round(score.value),
          failing: 0,
          examples: [],
          rows: [],
          message: `${p.name}: ${p.method} ${score.value.toFixed(4)} > max ${p.max}`,
        });
      }
    });
  }
  return {
    name,
    kind: 'drift',
    passed: failures.length === 0,
    failures,
    stats: { reference: drift.reference, current: drift.current, referenceDigest: digest, sketch: cached ? 'cached' : 'built', columns: scores, ...(Object.keys(sketch.skipped).length > 0 ? { skipped: sketch.skipped } : {}) },
  };
}

/**
 * The reference's sha256, through the stat cache the store uses (`<cacheDir>/stat-cache.json`, keyed by
 * absolute path, size, mtime, ctime and inode): a cached drift run does not even re-read the reference.
 */
async function digestOf(full: string, path: string, ctx: CheckContext): Promise<string> {
  try {
    if (ctx.digestFile) return await ctx.digestFile(full);
    const cache = await openStatCache(statCacheFile(ctx.cacheDir));
    const stats = await stat(full);
    const known = cache.lookup(full, stats);
    if (known !== undefined) return known;
    const { digest } = await hashFile(full);
    cache.remember(full, stats, digest);
    await cache.save();
    return digest;
  } catch (error) {
    if (error instanceof MlshipError) throw error;
    throw environmentError('E_DATA_MISSING', `${path}: cannot read the drift reference (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'create the file, fetch it, or fix the path in the config',
      cause: error,
    });
  }
}

function scoreNumeric(p: ColumnPlan, s: NumericSketch, h: NumericCounts): { value: number; stats: Record<string, unknown> } {
  const reference = { keys: s.keys, counts: s.counts };
  const nRef = s.rows - s.missing;
  const nCur = h.counts.reduce((a, b) => a + b, 0);
  if (p.method === 'ks') {
    const exact = s.grid.kind === 'values';
    const { d, upper } = ksBounds(reference, h, exact);
    return { value: d, stats: { pValue: round(ksPValue(d, nRef, nCur)), exact, upper: round(upper), grid: s.grid.kind, referenceRows: nRef, currentRows: nCur } };
  }
  const ref = countsByEdges(reference, s.edges);
  const cur = countsByEdges(h, s.edges);
  if (s.missing > 0 || h.missing > 0) {
    ref.push(s.missing);
    cur.push(h.missing);
  }
  // A cell's end is only defined up to floating-point rounding: 12 significant digits are shown.
  const edges = s.edges.map((k) => (s.grid.kind === 'values' ? upperOf(s.grid, k) : Number(upperOf(s.grid, k).toPrecision(12))));
  return { value: psi(ref, cur), stats: { bins: ref.length, grid: s.grid.kind, edges, reference: ref, current: cur } };
}

function scoreCategorical(s: CategoricalSketch, h: CategoryCounts): { value: number; stats: Record<string, unknown> } {
  const keys = Object.keys(s.categories).sort();
  const ref = keys.map((k) => s.categories[k] ?? 0);
  const cur = keys.map((k) => h.categories[k] ?? 0);
  const labels = [...keys];
  if (h.other > 0) {
    ref.push(0);
    cur.push(h.other);
    labels.push(OTHER);
  }
  if (s.missing > 0 || h.missing > 0) {
    ref.push(s.missing);
    cur.push(h.missing);
    labels.push(MISSING);
  }
  return { value: psi(ref, cur), stats: { bins: labels.length, categories: labels, reference: ref, current: cur } };
}
