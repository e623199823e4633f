import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChecks } from '../src/checks/index.js';
import { countsByEdges, ksBounds, ksPValue, psi, PSI_EPSILON, quantileKeys } from '../src/checks/drift-math.js';
import type { CheckConfig, DriftCheckConfig } from '../src/config/schema.js';
import { hashFile } from '../src/store/hash.js';
import { checkRepo, csv } from './helpers/checks-repo.js';
import { exactKs } from './helpers/ks.js';

const drift = (d: Partial<DriftCheckConfig> & Pick<DriftCheckConfig, 'reference' | 'current'>): CheckConfig => ({ drift: { method: 'psi', max: 0.2, bins: 10, ...d } });
const col = (name: string, values: (number | string | null)[]) => csv([name], values.map((v) => [v]));
const ln = Math.log;

describe('PSI and KS arithmetic (pure)', () => {
  it('psi over shares, with the epsilon for empty bins', () => {
    // reference shares .5/.5, current .25/.75: (.25-.5)ln(.25/.5) + (.75-.5)ln(.75/.5)
    expect(psi([50, 50], [25, 75])).toBeCloseTo(-0.25 * ln(0.5) + 0.25 * ln(1.5), 12);
    // an empty reference bin counts as 0.0001
    expect(PSI_EPSILON).toBe(0.0001);
    expect(psi([10, 0], [9, 1])).toBeCloseTo((0.9 - 1) * ln(0.9 / 1) + (0.1 - 0.0001) * ln(0.1 / 0.0001), 12);
    expect(psi([1, 2, 3], [1, 2, 3])).toBe(0);
  });

  it('ks bounds from two histograms on one grid', () => {
    // keys as values (points): reference {1, 3}, current {2, 2}: F_ref .5 .5 1, F_cur 0 1 1 at keys 1 2 3 → D = .5
    expect(ksBounds({ keys: [1, 3], counts: [1, 1] }, { keys: [2], counts: [2] }, true)).toEqual({ d: 0.5, upper: 0.5 });
    // current entirely below the reference: D = 1
    expect(ksBounds({ keys: [5, 6], counts: [1, 1] }, { keys: [3], counts: [3] }, true)).toEqual({ d: 1, upper: 1 });
    // keys as cells: the same cell on both sides says nothing about the order inside it: D is 0 at the
    // cell's end, and at most 1 inside it (every reference value may sit below every current value)
    expect(ksBounds({ keys: [7], counts: [2] }, { keys: [7], counts: [5] }, false)).toEqual({ d: 0, upper: 1 });
    // cells 1, 2: reference .5 .5, current .25 .75 → gaps .25 at the end of cell 1, 0 at the end of cell 2;
    // inside cell 2 F_ref may reach 1 while F_cur is still .25: upper = .75
    expect(ksBounds({ keys: [1, 2], counts: [2, 2] }, { keys: [1, 2], counts: [1, 3] }, false)).toEqual({ d: 0.25, upper: 0.75 });
  });

  it('PSI edges are exact quantiles of the histogram; counts per bin (edge inclusive)', () => {
    // 1..10: the values at sorted positions floor(9 · .2) = 1, 3, 5, 7 → 2, 4, 6, 8
    const ten = { keys: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], counts: new Array<number>(10).fill(1) };
    expect(quantileKeys(ten, 5)).toEqual([2, 4, 6, 8]);
    // a key holding 90 % of the values: every decile is that key, one edge
    expect(quantileKeys({ keys: [0, 1], counts: [9, 1] }, 10)).toEqual([0]);
    expect(countsByEdges(ten, [2, 4, 6, 8])).toEqual([2, 2, 2, 2, 2]);
    expect(countsByEdges({ keys: [-3, 2.5, 9], counts: [1, 4, 2] }, [2, 4])).toEqual([1, 4, 2]);
  });

  it('ks p-value: asymptotic Kolmogorov distribution with Stephens’ correction', () => {
    // n = m = 5, D = .4: en = √2.5, λ = (en + .12 + .11/en)·.4, p = 2 Σ (-1)^(k-1) e^(-2k²λ²)
    const en = Math.sqrt(2.5);
    const lambda = (en + 0.12 + 0.11 / en) * 0.4;
    const expected = 2 * (Math.exp(-2 * lambda ** 2) - Math.exp(-8 * lambda ** 2) + Math.exp(-18 * lambda ** 2) - Math.exp(-32 * lambda ** 2));
    expect(ksPValue(0.4, 5, 5)).toBeCloseTo(expected, 6);
    expect(ksPValue(0.4, 5, 5)).toBeCloseTo(0.6974, 3);
  });
});

describe('drift checks on data', () => {
  it('numeric PSI on reference quantile bins, hand-computed', async () => {
    const repo = checkRepo();
    // reference 1..10, 5 bins: quantile edges 2, 4, 6, 8 → bins ≤2, (2,4], (4,6], (6,8], >8 hold 2 values each (.2)
    const reference = repo.write('data/ref.csv', col('x', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    // current: ≤2: 1,1,1,1 (.4); (2,4]: 3 (.1); (4,6]: 5 (.1); (6,8]: 7 (.1); >8: 9,9,9 (.3)
    const current = repo.write('data/cur.csv', col('x', [1, 1, 1, 1, 3, 5, 7, 9, 9, 9]));
    const [result] = await runChecks({ d: drift({ reference, current, bins: 5 }) }, undefined, repo.ctx);
    const expected = (0.4 - 0.2) * ln(2) + 3 * (0.1 - 0.2) * ln(0.5) + (0.3 - 0.2) * ln(1.5); // = 0.387120
    expect(expected).toBeCloseTo(0.38712, 5);
    const stats = (result?.stats?.columns as Record<string, { score: number; edges: number[]; reference: number[]; current: number[] }>).x;
    expect(stats?.edges).toEqual([2, 4, 6, 8]);
    expect(stats?.reference).toEqual([2, 2, 2, 2, 2]);
    expect(stats?.current).toEqual([4, 1, 1, 1, 3]);
    expect(stats?.score).toBeCloseTo(expected, 6);
    expect(result?.failures).toMatchObject([{ column: 'x', rule: 'psi', expected: 0.2, dataset: 'data/cur.csv', message: 'x: psi 0.3871 > max 0.2' }]);
  });

  it('categorical PSI: unknown categories pooled in (other), nulls in (missing), epsilon for empty bins', async () => {
    const repo = checkRepo();
    const reference = repo.write('data/ref.csv', col('plan', ['basic', 'basic', 'basic', 'basic', 'basic', 'pro', 'pro', 'pro', 'team', 'team']));
    const current = repo.write('data/cur.csv', col('plan', ['basic', 'basic', 'basic', 'basic', 'pro', 'pro', 'gold', 'free', 'gold', null]));
    const [result] = await runChecks({ d: drift({ reference, current, columns: { plan: { max: 5 } } }) }, undefined, repo.ctx);
    const e = PSI_EPSILON;
    // bins basic, pro, team, (other), (missing); reference .5 .3 .2 0 0; current .4 .2 0 .3 .1
    const expected = (0.4 - 0.5) * ln(0.4 / 0.5) + (0.2 - 0.3) * ln(0.2 / 0.3) + (e - 0.2) * ln(e / 0.2) + (0.3 - e) * ln(0.3 / e) + (0.1 - e) * ln(0.1 / e);
    const stats = (result?.stats?.columns as Record<string, { score: number; categories: string[]; current: number[] }>).plan;
    expect(stats?.categories).toEqual(['basic', 'pro', 'team', '(other)', '(missing)']);
    expect(stats?.current).toEqual([4, 2, 0, 3, 1]);
    expect(stats?.score).toBeCloseTo(expected, 6);
    // 0.022314 + 0.040547 + 0.1999·7.600902 (=1.519420) + 0.2999·8.006368 (=2.401110) + 0.0999·6.907755 (=0.690085)
    expect(expected).toBeCloseTo(4.673476, 5);
    expect(result?.passed).toBe(true); // per-column max 5
  });

  it('KS exact on few distinct values, hand-computed', async () => {
    const repo = checkRepo();
    // F_ref: 1→.2 2→.4 3→.6 4→.8 5→1; F_cur: 3→.2 4→.4 5→.6 6→.8 7→1; largest gap .4 (e.g. at 2: .4 − 0)
    const reference = repo.write('data/ref.csv', col('x', [1, 2, 3, 4, 5]));
    const current = repo.write('data/cur.csv', col('x', [3, 4, 5, 6, 7]));
    const [result] = await runChecks({ d: drift({ reference, current, method: 'ks', max: 0.3 }) }, undefined, repo.ctx);
    const stats = (result?.stats?.columns as Record<string, { score: number; exact: boolean; pValue: number }>).x;
    expect(stats).toMatchObject({ score: 0.4, exact: true });
    expect(stats?.pValue).toBeCloseTo(ksPValue(0.4, 5, 5), 6);
    expect(result?.failures[0]).toMatchObject({ column: 'x', rule: 'ks', observed: 0.4, expected: 0.3 });
  });

  it('KS on many distinct values (a linear grid): the exact statistic lies within [score, upper], less than 0.002 apart', async () => {
    const repo = checkRepo();
    // 20,000 reference values and 20,000 current values shifted by 0.05: exact D computed here in JS.
    const ref = Array.from({ length: 20_000 }, (_, i) => ((i * 7919) % 20_000) / 20_000);
    const cur = ref.map((v) => v * 0.9 + 0.05);
    const reference = repo.write('data/ref.csv', col('x', ref));
    const current = repo.write('data/cur.csv', col('x', cur));
    const [result] = await runChecks({ d: drift({ reference, current, method: 'ks', max: 1 }) }, undefined, repo.ctx);
    const exact = exactKs(ref, cur);
    const stats = (result?.stats?.columns as Record<string, { score: number; upper: number; exact: boolean; grid: string }>).x;
    expect(stats).toMatchObject({ exact: false, grid: 'linear' });
    expect(stats?.score).toBeLessThanOrEqual(exact + 1e-6);
    expect(stats?.upper).toBeGreaterThanOrEqual(exact - 1e-6);
    expect((stats?.upper ?? 1) - (stats?.score ?? 0)).toBeLessThan(0.002);
  });

  it('a JSON Lines current whose numbers turn to text after the type sample: that text is missing, not a read error', async () => {
    const repo = checkRepo();
    const reference = repo.write('data/ref.csv', col('x', Array.from({ length: 500 }, (_, i) => i)));
    // types are inferred from the first 20,480 lines, then the scan is retried with the whole file
    const lines = Array.from({ length: 25_000 }, (_, i) => JSON.stringify({ x: i < 21_000 ? i % 500 : 'n/a' }));
    const current = repo.write('data/cur.jsonl', lines.join('\n') + '\n');
    const [result] = await runChecks({ d: drift({ reference, current, max: 5 }) }, undefined, repo.ctx);
    const stats = (result?.stats?.columns as Record<string, { current: number[]; reference: number[] }>).x;
    expect(stats?.current.at(-1)).toBe(4_000);
    expect(stats?.current.reduce((a, b) => a + b, 0)).toBe(25_000);
    expect(stats?.reference.at(-1)).toBe(0);
  });

  it('ks on a categorical column is a configuration error; absent columns are failures', async () => {
    const repo = checkRepo();
    const reference = repo.write('data/ref.csv', csv(['plan', 'x'], [['a', 1], ['b', 2]]));
    const current = repo.write('data/cur.csv', csv(['x'], [[1], [2]]));
    await expect(runChecks({ d: drift({ reference, current, columns: ['plan'], method: 'ks' }) }, undefined, repo.ctx)).rejects.toMatchObject({ code: 'E_DRIFT_KS', exitCode: 2 });
    const [result] = await runChecks({ d: drift({ reference, current, columns: ['plan', 'x', 'y'] }) }, undefined, repo.ctx);
    expect(result?.failures.map((f) => [f.dataset, f.column, f.rule])).toEqual([
      ['data/ref.csv', 'y', 'column.missing'],
      ['data/cur.csv', 'plan', 'column.missing'],
    ]);
  });
});

describe('the reference sketch cache', () => {
  const setup = () => {
    const repo = checkRepo();
    const reference = repo.write('data/ref.csv', csv(['x', 'plan'], Array.from({ length: 200 }, (_, i) => [i, ['a', 'b', 'c'][i % 3] as string])));
    const current = repo.write('data/cur.csv', csv(['x', 'plan'], Array.from({ length: 100 }, (_, i) => [i * 3, ['a', 'b', 'b'][i % 3] as string])));
    const checks = { d: drift({ reference, current, columns: { x: { method: 'ks' }, plan: {} } }) };
    return { repo, checks, reference };
  };
  const sketches = (cacheDir: string) => readdirSync(join(cacheDir, 'sketches')).sort();

  it('is stored under the reference digest and reused: same result, file untouched', async () => {
    const { repo, checks, reference } = setup();
    const [first] = await runChecks(checks, undefined, repo.ctx);
    expect(first?.stats?.sketch).toBe('built');
    const digest = (await hashFile(join(repo.root, reference))).digest;
    expect(first?.stats?.referenceDigest).toBe(digest);
    expect(sketches(repo.ctx.cacheDir)).toEqual([digest.slice('sha256:'.length)]);
    const dir = join(repo.ctx.cacheDir, 'sketches', digest.slice('sha256:'.length));
    const [file] = readdirSync(dir);
    const mtime = statSync(join(dir, file as string)).mtimeMs;
    const [second] = await runChecks(checks, undefined, repo.ctx);
    expect(second?.stats?.sketch).toBe('cached');
    expect(statSync(join(dir, file as string)).mtimeMs).toBe(mtime);
    const strip = (r: typeof first) => ({ ...r, stats: { ...r?.stats, sketch: undefined, ms: undefined } });
    expect(strip(second)).toEqual(strip(first));
  });

  it('does not read the reference when the sketch is cached (fault injected: reference bytes destroyed, digest kept)', async () => {
    const { repo, checks, reference } = setup();
    const [first] = await runChecks(checks, undefined, repo.ctx);
    const digest = first?.stats?.referenceDigest as string;
    writeFileSync(join(repo.root, reference), 'not,a\n"valid csv');
    const [second] = await runChecks(checks, undefined, { ...repo.ctx, digestFile: async () => digest });
    expect(second?.stats?.sketch).toBe('cached');
    expect(second?.stats?.columns).toEqual(first?.stats?.columns);
  });

  it('a changed reference gets a new sketch; a corrupt cache entry is rebuilt', async () => {
    const { repo, checks, reference } = setup();
    await runChecks(checks, undefined, repo.ctx);
    writeFileSync(join(repo.root, reference), csv(['x', 'plan'], Array.from({ length: 200 }, (_, i) => [i * 2, 'a'])));
    const [changed] = await runChecks(checks, undefined, repo.ctx);
    expect(changed?.stats?.sketch).toBe('built');
    expect(sketches(repo.ctx.cacheDir)).toHaveLength(2);
    const dir = join(repo.ctx.cacheDir, 'sketches', (changed?.stats?.referenceDigest as string).slice('sha256:'.length));
    writeFileSync(join(dir, readdirSync(dir)[0] as string), '{"truncated');
    const [rebuilt] = await runChecks(checks, undefined, repo.ctx);
    expect(rebuilt?.stats?.sketch).toBe('built');
    expect(rebuilt?.stats?.columns).toEqual(changed?.stats?.columns);
  });
});
