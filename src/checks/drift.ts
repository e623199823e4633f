/**
 * Drift checks: the reference is summarised into a cached sketch (see sketch.ts), the current dataset
 * is scanned once, and each column gets a PSI or KS score compared with its `max`.
 *
 * PSI: numeric columns are binned on the reference quantiles (`bins` bins, fewer when quantiles tie),
 * categorical columns by category; categories absent from the reference are pooled into one "other"
 * bin; nulls (and, in the current data, values that are not numbers in a numeric column) form a
 * "missing" bin whenever either side has any. Empty bins use PSI_EPSILON (drift-math.ts).
 * KS: the two-sample statistic D, exact when the reference has at most 2,000 distinct values, otherwise
 * against the reference ECDF at 1,001 quantiles (error about one reference step, 0.001); nulls are left out.
 */
import type { DriftCheckConfig } from '../config/schema.js';
import type { Engine, Plain } from './duckdb.js';
import { binCounts, ksPValue, ksStatistic, psi } from './drift-math.js';
import { openDataset, queryDataset } from './source.js';
import { buildSketch, categoryOf, numberOf, readSketch, sketchFile, writeSketch, type ColumnSketch, type SketchRequest } from './sketch.js';
import { ident, num, numList, strList } from './sql.js';
import { resolveInside } from '../paths.js';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../store/hash.js';
import { openStatCache } from '../store/stat-cache.js';
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
  const types = new Map(current.columns.map((c) => [c.name, c.type]));
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
    const select: string[] = ['count(*) AS n'];
    compared.forEach((p, i) => {
      const s = sketch?.columns[p.name] as ColumnSketch;
      const col = ident(p.name);
      const type = types.get(p.name) ?? 'VARCHAR';
      if (s.kind === 'numeric') {
        const x = numberOf(col, type);
        select.push(`count(${x}) AS nc${i}`);
        if (p.method === 'psi' && s.edges.length > 0) select.push(`histogram(${x}, ${numList(s.edges)}) AS h${i}`);
        if (p.method === 'ks' && s.ks && s.ks.points.length > 0) {
          select.push(`histogram(${x}, ${numList(s.ks.points)}) AS kle${i}`);
          // Exact mode needs the count at each point (to know F_cur just before it); quantile mode only the
          // count below the first point (histogram_exact over 1,001 points costs as much as the scan).
          select.push(s.ks.exact ? `histogram_exact(${x}, ${numList(s.ks.points)}) AS keq${i}` : `count(*) FILTER (WHERE ${x} < ${num(s.ks.points[0] as number)}) AS kbelow${i}`);
        }
      } else {
        const c = categoryOf(col, type);
        const known = strList(Object.keys(s.categories));
        select.push(`count(${col}) AS nn${i}`, `histogram(${c}) FILTER (WHERE list_contains(${known}, ${c})) AS c${i}`, `count(*) FILTER (WHERE ${col} IS NOT NULL AND NOT list_contains(${known}, ${c})) AS o${i}`);
      }
    });
    const { result } = await queryDataset(engine, current, (d) => engine.query(`SELECT ${select.join(', ')} FROM ${d.scan}`));
    const row = result[0] ?? {};
    const rows = Number(row.n ?? 0);
    compared.forEach((p, i) => {
      const s = sketch?.columns[p.name] as ColumnSketch;
      const score = s.kind === 'numeric' ? scoreNumeric(p, s, row, i, rows) : scoreCategorical(s, row, i, rows);
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
    const cache = await openStatCache(join(ctx.cacheDir, 'stat-cache.json'));
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


const entries = (value: Plain | undefined): { key: Plain; value: Plain }[] =>
  Array.isArray(value) ? value.filter((e): e is { key: Plain; value: Plain } => e !== null && typeof e === 'object' && !Array.isArray(e)) : [];

function scoreNumeric(p: ColumnPlan, s: Extract<ColumnSketch, { kind: 'numeric' }>, row: Record<string, Plain>, i: number, rows: number): { value: number; stats: Record<string, unknown> } {
  const nc = Number(row[`nc${i}`] ?? 0);
  if (p.method === 'ks') {
    const points = s.ks?.points ?? [];
    const refCdf = s.ks?.cdf ?? [];
    const perLe = binCounts(entries(row[`kle${i}`]), points);
    const eq = new Map(entries(row[`keq${i}`]).filter((e) => e.key !== null).map((e) => [Number(e.key), Number(e.value)]));
    let cum = 0;
    const le = points.map((_, j) => (cum += perLe[j] ?? 0));
    // Quantile mode: F_cur just before a point is bounded below by F_cur at the previous point; the
    // difference is current mass strictly between two reference quantiles, so D moves by at most one
    // reference step (about 1/1000).
    const lt = s.ks?.exact ? points.map((pt, j) => (le[j] ?? 0) - (eq.get(pt) ?? 0)) : points.map((_, j) => (j === 0 ? Number(row[`kbelow${i}`] ?? 0) : (le[j - 1] ?? 0)));
    const d = ksStatistic(points, refCdf, le, lt, nc);
    const n = s.rows - s.missing;
    return { value: d, stats: { pValue: round(ksPValue(d, n, nc)), exact: s.ks?.exact ?? false, referenceRows: n, currentRows: nc } };
  }
  const cur = s.edges.length > 0 ? binCounts(entries(row[`h${i}`]), s.edges) : [nc];
  const ref = [...s.counts];
  const curMissing = rows - nc;
  if (s.missing > 0 || curMissing > 0) {
    ref.push(s.missing);
    cur.push(curMissing);
  }
  return { value: psi(ref, cur), stats: { bins: ref.length, edges: s.edges, reference: ref, current: cur } };
}

function scoreCategorical(s: Extract<ColumnSketch, { kind: 'categorical' }>, row: Record<string, Plain>, i: number, rows: number): { value: number; stats: Record<string, unknown> } {
  const keys = Object.keys(s.categories).sort();
  const seen = new Map(entries(row[`c${i}`]).map((e) => [String(e.key), Number(e.value)]));
  const ref = keys.map((k) => s.categories[k] ?? 0);
  const cur = keys.map((k) => seen.get(k) ?? 0);
  const labels = [...keys];
  const other = Number(row[`o${i}`] ?? 0);
  if (other > 0) {
    ref.push(0);
    cur.push(other);
    labels.push(OTHER);
  }
  const curMissing = rows - Number(row[`nn${i}`] ?? 0);
  if (s.missing > 0 || curMissing > 0) {
    ref.push(s.missing);
    cur.push(curMissing);
    labels.push(MISSING);
  }
  return { value: psi(ref, cur), stats: { bins: labels.length, categories: labels, reference: ref, current: cur } };
}
