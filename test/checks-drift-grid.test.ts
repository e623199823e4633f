import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChecks } from '../src/checks/index.js';
import { runDriftCheck } from '../src/checks/drift.js';
import { openEngine, type Engine } from '../src/checks/duckdb.js';
import { chooseGrid, decimalsOf, GRID_CELLS, KEY_MAX, KEY_MIN, keyOf, SAMPLE_LEVELS, upperOf } from '../src/checks/drift-grid.js';
import { GROUPING_SETS_MAX, scanCounts, type ScanColumn } from '../src/checks/drift-scan.js';
import type { CheckConfig, DriftCheckConfig } from '../src/config/schema.js';
import { checkRepo, csv, type CheckRepo } from './helpers/checks-repo.js';
import { countByEdges, exactKs } from './helpers/ks.js';
import { seededNormal as normal, seededRandom as uniform } from './helpers/random.js';

const drift = (d: Partial<DriftCheckConfig> & Pick<DriftCheckConfig, 'reference' | 'current'>): DriftCheckConfig => ({ method: 'psi', max: 0.2, bins: 10, ...d });
const check = (d: DriftCheckConfig): CheckConfig => ({ drift: d });
const col = (name: string, values: (number | string | null)[]) => csv([name], values.map((v) => [v]));

interface KsStats {
  score: number;
  upper: number;
  exact: boolean;
  grid: string;
}
interface PsiStats {
  score: number;
  grid: string;
  edges: number[];
  reference: number[];
  current: number[];
}

/** Run a drift check of column x, reference `ref` against current `cur`; its stats and the repository. */
async function driftOf<T>(ref: (number | string)[], cur: (number | string)[], config: Partial<DriftCheckConfig> = {}): Promise<{ stats: T; repo: CheckRepo }> {
  const repo = checkRepo();
  const reference = repo.write('data/ref.csv', col('x', ref));
  const current = repo.write('data/cur.csv', col('x', cur));
  const [result] = await runChecks({ d: check(drift({ reference, current, max: 1, ...config })) }, undefined, repo.ctx);
  return { stats: (result?.stats?.columns as Record<string, T>).x as T, repo };
}

const ksOf = async (ref: (number | string)[], cur: (number | string)[]): Promise<KsStats> => (await driftOf<KsStats>(ref, cur, { method: 'ks' })).stats;
const psiOf = async (ref: (number | string)[], cur: (number | string)[]): Promise<PsiStats> => (await driftOf<PsiStats>(ref, cur)).stats;

/** The exact D lies between the score and its upper bound (1e-9: the shares are divisions). */
const expectBounded = (stats: KsStats, exact: number) => {
  expect(stats.score).toBeLessThanOrEqual(exact + 1e-9);
  expect(stats.upper).toBeGreaterThanOrEqual(exact - 1e-9);
};

describe('choosing the grid (pure)', () => {
  const levels = (f: (p: number) => number) => SAMPLE_LEVELS.map(f);

  it('whole numbers or few decimals in a small range are keyed by value; otherwise cells over the central quantiles', () => {
    expect(chooseGrid({ min: 18, max: 99, decimals: 0, quantiles: levels((p) => Math.round(18 + 81 * p)) })).toEqual({ kind: 'values', decimals: 0 });
    // prices in cents up to 600.00: 60,000 steps of 0.01
    expect(chooseGrid({ min: 0, max: 600, decimals: 2, quantiles: levels((p) => Math.round(60_000 * p) / 100) })).toEqual({ kind: 'values', decimals: 2 });
    // whole numbers spread over more than 65,536 steps (ids; cents up to 1,000.00) get cells
    expect(chooseGrid({ min: 1, max: 1e7, decimals: 0, quantiles: levels((p) => Math.round(1 + 1e7 * p)) }).kind).toBe('linear');
    expect(chooseGrid({ min: 0, max: 1000, decimals: 2, quantiles: levels((p) => Math.round(100_000 * p) / 100) }).kind).toBe('linear');
    // uniform on [0, 1]: a linear grid whose 8,192 cells span the 0.1 %–99.9 % quantiles
    const linear = chooseGrid({ min: 0, max: 1, decimals: undefined, quantiles: levels((p) => p) });
    expect(linear).toEqual({ kind: 'linear', origin: 0.001, scale: GRID_CELLS / (0.999 - 0.001) });
    expect(keyOf(linear, 0.001)).toBe(0);
    expect(keyOf(linear, 0.999)).toBe(GRID_CELLS);
    expect(upperOf(linear, GRID_CELLS)).toBeCloseTo(0.999, 12);
    // log-normal with σ = 2 (quantiles from 0.002 to 480 times the median): the log grid separates them better
    const z = (p: number) => Math.sqrt(2) * inverseErf(2 * p - 1);
    const logNormal = chooseGrid({ min: 1e-4, max: 1e4, decimals: undefined, quantiles: levels((p) => Math.exp(2 * z(p))) });
    expect(logNormal.kind).toBe('log');
    // a constant column: cells of width 1
    expect(chooseGrid({ min: 0.5, max: 0.5, decimals: undefined, quantiles: levels(() => 0.5) })).toEqual({ kind: 'linear', origin: 0.5, scale: 1 });
    // without usable quantiles (a tiny column) the grid spans min to max
    expect(chooseGrid({ min: 2, max: 4, decimals: undefined, quantiles: [undefined] })).toEqual({ kind: 'linear', origin: 2, scale: GRID_CELLS / 2 });
    expect(chooseGrid({ min: undefined, max: undefined, decimals: 0, quantiles: [] })).toEqual({ kind: 'values', decimals: 0 });
  });

  it('the decimals of sample values, to a millionth of a step', () => {
    expect(decimalsOf([1, 2, 300, undefined, Number.POSITIVE_INFINITY])).toBe(0);
    expect(decimalsOf([0.1, 0.3, 13.95, 2])).toBe(2);
    expect(decimalsOf([0.12345])).toBeUndefined();
    expect(decimalsOf([])).toBe(0);
  });

  it('on a values grid a value between two steps gets a key between them', () => {
    const whole = { kind: 'values', decimals: 0 } as const;
    expect([keyOf(whole, 3), keyOf(whole, 3.2), keyOf(whole, -0.5), keyOf(whole, 4)]).toEqual([3, 3.5, -0.5, 4]);
    // 0.1 · 100 and 13.95 · 100 are not whole in binary floating point; within a millionth of a step they count as whole
    const cents = { kind: 'values', decimals: 2 } as const;
    expect([keyOf(cents, 0.1), keyOf(cents, 13.95), keyOf(cents, 13.955), keyOf(cents, -0.01)]).toEqual([10, 1395, 1395.5, -1]);
    expect(upperOf(cents, 1395)).toBe(13.95);
  });
});

describe('drift on grids, against statistics computed from the raw values', () => {
  it('log-normal data gets a log grid; the exact KS lies within [score, upper], less than 0.003 apart', async () => {
    const z = normal(7);
    const ref = Array.from({ length: 20_000 }, () => Math.exp(2 * z()));
    const cur = Array.from({ length: 15_000 }, () => Math.exp(0.1 + 2.2 * z()));
    const stats = await ksOf(ref, cur);
    expect(stats.grid).toBe('log');
    expectBounded(stats, exactKs(ref, cur));
    expect(stats.upper - stats.score).toBeLessThan(0.003);
  });

  it('outliers in both datasets do not spoil the grid; the sketch stays small', async () => {
    const u = uniform(11);
    const ref = Array.from({ length: 20_000 }, (_, i) => (i % 1000 === 0 ? (i % 2000 === 0 ? 1e12 : -1e12) : u() * 100));
    const cur = Array.from({ length: 20_000 }, (_, i) => (i % 500 === 0 ? 5e11 * u() : 3 + u() * 100));
    const { stats, repo } = await driftOf<KsStats>(ref, cur, { method: 'ks' });
    expect(stats.grid).toBe('linear');
    expectBounded(stats, exactKs(ref, cur));
    expect(stats.upper - stats.score).toBeLessThan(0.003);
    const dir = join(repo.ctx.cacheDir, 'sketches');
    const [digest] = readdirSync(dir);
    const [file] = readdirSync(join(dir, digest as string));
    const sketch = JSON.parse(readFileSync(join(dir, digest as string, file as string), 'utf8')) as { columns: { x: { keys: number[] } } };
    expect(sketch.columns.x.keys.length).toBeLessThanOrEqual(3 * GRID_CELLS + 2);
  });

  it('an integer reference against a current with fractions, nulls and text: KS exact', async () => {
    const u = uniform(3);
    const ref = Array.from({ length: 5_000 }, () => Math.floor(u() * 50));
    const numbers = Array.from({ length: 4_000 }, (_, i) => (i % 3 === 0 ? Math.floor(u() * 60) - 5 + 0.5 * Math.floor(u() * 2) : Math.floor(u() * 55)));
    const stats = await ksOf(ref, [...numbers, '', 'n/a']);
    expect(stats).toMatchObject({ grid: 'values', exact: true });
    expect(stats.score).toBeCloseTo(exactKs(ref, numbers), 9);
    expect(stats.upper).toBe(stats.score);
  });

  it('prices with two decimals: a values grid in cents; PSI edges are the exact deciles and KS is exact', async () => {
    const u = uniform(13);
    const cents = (x: number) => Math.round(x * 100) / 100;
    const ref = Array.from({ length: 8_000 }, () => cents(5 + 95 * u() ** 2));
    const cur = Array.from({ length: 6_000 }, () => cents(8 + 95 * u() ** 1.8));
    const psi = await psiOf(ref, cur);
    const sorted = [...ref].sort((a, b) => a - b);
    expect(psi.grid).toBe('values');
    expect(psi.edges).toEqual([...new Set(Array.from({ length: 9 }, (_, j) => sorted[Math.floor((7_999 * (j + 1)) / 10)] as number))]);
    expect(psi.reference).toEqual(countByEdges(ref, psi.edges));
    expect(psi.current).toEqual(countByEdges(cur, psi.edges));
    const stats = await ksOf(ref, cur);
    expect(stats).toMatchObject({ grid: 'values', exact: true });
    expect(stats.score).toBeCloseTo(exactKs(ref, cur), 9);
  });

  it('a reference of whole numbers but for a few fractions the sample misses: cells after all, KS bounded', async () => {
    const u = uniform(17);
    const ref = Array.from({ length: 20_000 }, (_, i) => (i % 7_000 === 3 ? 40.25 : Math.floor(u() * 80)));
    const cur = Array.from({ length: 10_000 }, () => Math.floor(u() * 85));
    const stats = await ksOf(ref, cur);
    expect(stats).toMatchObject({ grid: 'linear', exact: false });
    expectBounded(stats, exactKs(ref, cur));
  });

  it('PSI on a linear grid: both sides counted on the reported edges, as JS counts the raw values', async () => {
    const z = normal(5);
    // centred on 0, so that no log grid is possible
    const ref = Array.from({ length: 12_000 }, () => 10 * z());
    const cur = Array.from({ length: 9_000 }, () => 3 + 12 * z());
    const stats = await psiOf(ref, cur);
    expect(stats.grid).toBe('linear');
    expect(stats.edges).toHaveLength(9);
    expect(stats.reference).toEqual(countByEdges(ref, stats.edges));
    expect(stats.current).toEqual(countByEdges(cur, stats.edges));
    // the edges are the reference deciles, moved up to the end of their cell: less than one cell apart
    const sorted = [...ref].sort((a, b) => a - b);
    const width = (sorted[Math.floor(0.999 * 11_999)]! - sorted[Math.floor(0.001 * 11_999)]!) / GRID_CELLS;
    stats.edges.forEach((edge, j) => {
      const decile = sorted[Math.floor((11_999 * (j + 1)) / 10)] as number;
      expect(edge).toBeGreaterThanOrEqual(decile - 1e-9);
      expect(edge - decile).toBeLessThan(1.1 * width);
    });
  });

  it('zero, negative and non-finite current values on a log grid are counted, not refused', async () => {
    const z = normal(9);
    const ref = Array.from({ length: 5_000 }, () => Math.exp(2 * z()));
    const cur = [...ref.slice(0, 4_000), 0, -3, '-inf', 'inf', 'nan', 'abc'];
    const stats = await psiOf(ref, cur);
    expect(stats.grid).toBe('log');
    const numbers = ref.slice(0, 4_000);
    const expected = countByEdges(numbers, stats.edges);
    // 0, -3 and -inf below every reference value; inf and NaN above; 'abc' is missing
    expected[0] = (expected[0] ?? 0) + 3;
    expected[expected.length - 1] = (expected[expected.length - 1] ?? 0) + 2;
    expect(stats.current).toEqual([...expected, 1]);
    expect(stats.reference.at(-1)).toBe(0);
  });
});

describe('the drift scan', () => {
  it('counts keys per column in one query; keys beyond [low, high] (±∞ and NaN too) are counted at low and high; wide scans the same', async () => {
    const engine = await openEngine({ tempDir: join(checkRepo().ctx.cacheDir, 'duckdb-tmp') });
    try {
      const values = "('-inf'), ('-100'), ('-2.5'), ('0.2'), ('1'), ('4.5'), ('7'), ('inf'), ('nan'), ('x'), (NULL)";
      const scan = `(SELECT v, CASE WHEN v = 'x' THEN 'b' WHEN v IS NOT NULL THEN 'a' END AS c FROM (VALUES ${values}) t(v))`;
      const columns: ScanColumn[] = [
        { kind: 'numeric', name: 'v', type: 'VARCHAR', grid: { kind: 'linear', origin: 0, scale: 1 }, low: -2, high: 5 },
        { kind: 'numeric', name: 'v', type: 'VARCHAR', grid: { kind: 'linear', origin: 0, scale: 1 } },
        { kind: 'categorical', name: 'c', type: 'VARCHAR', known: ['a'] },
      ];
      const result = await scanCounts(engine, scan, columns);
      expect(result.rows).toBe(11);
      // cells ceil(x): -inf, -100, -2.5 → -2 (low); 0.2 → 1; 1 → 1; 4.5 → 5; 7, inf, nan → 5 (high); 'x' and NULL missing
      expect(result.columns[0]).toEqual({ kind: 'numeric', missing: 2, keys: [-2, 1, 5], counts: [3, 2, 4] });
      // without bounds only the non-finite keys move, to the ends of the doubles
      expect(result.columns[1]).toEqual({ kind: 'numeric', missing: 2, keys: [KEY_MIN, -100, -2, 1, 5, 7, KEY_MAX], counts: [1, 1, 1, 2, 1, 1, 2] });
      expect(result.columns[2]).toEqual({ kind: 'categorical', missing: 1, categories: { a: 9 }, other: 1 });
      // a wide scan (more columns than GROUPING_SETS_MAX) is counted as (column, key) pairs: same counts
      const wide = await scanCounts(engine, scan, Array.from({ length: GROUPING_SETS_MAX + 1 }, (_, i) => columns[i % 3] as ScanColumn));
      expect(wide.rows).toBe(11);
      wide.columns.forEach((counts, i) => expect(counts).toEqual(result.columns[i % 3]));
    } finally {
      engine.close();
    }
  });
});

describe('the cached path', () => {
  it('reads the current data in one query and the reference not at all', async () => {
    const repo = checkRepo();
    const u = uniform(1);
    const rows = Array.from({ length: 3_000 }, (_, i) => [Math.floor(u() * 90), u() * 1000, ['a', 'b', 'c'][i % 3] as string]);
    const reference = repo.write('data/ref.csv', csv(['age', 'amount', 'plan'], rows));
    const current = repo.write('data/cur.csv', csv(['age', 'amount', 'plan'], rows.map(([a, m, p]) => [Number(a) + 1, Number(m) * 1.1, p as string])));
    const config = drift({ reference, current, columns: { age: {}, amount: { method: 'ks' }, plan: {} } });
    const real = await openEngine({ tempDir: join(repo.ctx.cacheDir, 'duckdb-tmp') });
    const queries: string[] = [];
    const observed: Engine = { query: (sql) => (queries.push(sql), real.query(sql)), close: () => real.close() };
    try {
      const built = await runDriftCheck(observed, 'd', config, repo.ctx);
      expect(built.stats?.sketch).toBe('built');
      queries.length = 0;
      const cached = await runDriftCheck(observed, 'd', config, repo.ctx);
      expect(cached.stats?.sketch).toBe('cached');
      expect(queries.filter((q) => q.includes('cur.csv'))).toHaveLength(1);
      expect(queries.filter((q) => q.includes('ref.csv'))).toHaveLength(0);
      expect(cached.stats?.columns).toEqual(built.stats?.columns);
    } finally {
      observed.close();
    }
  });
});

/** Inverse error function (Giles' single-precision approximation, ample for test quantiles). */
function inverseErf(x: number): number {
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w;
  }
  return p * x;
}
