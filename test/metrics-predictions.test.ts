/**
 * Predictions files: validation of the cells (pure) and reading CSV, JSON Lines and Parquet through
 * the DuckDB loader of the checks (real files, real DuckDB).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEngine } from '../src/checks/duckdb.js';
import { str } from '../src/checks/sql.js';
import { Evaluate } from '../src/config/schema.js';
import { MlshipError } from '../src/errors.js';
import { readPredictions } from '../src/metrics/read.js';
import { toPredictionTable, type RawPredictions } from '../src/metrics/validate.js';

const config = (extra: Record<string, unknown> = {}) => {
  const evaluate = Evaluate.parse({ command: ['x'], predictions: { path: 'p.csv', ...extra } });
  if (evaluate.predictions === undefined) throw new Error('no predictions');
  return evaluate.predictions;
};

const raw = (label: unknown[], score: unknown[], extra: Partial<RawPredictions> = {}): RawPredictions => ({ rows: label.map((_, i) => i + 1), label, score, groups: {}, ...extra });

function failure(fn: () => unknown): MlshipError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MlshipError) return error;
    throw error;
  }
  throw new Error('expected an MlshipError');
}

describe('validating predictions', () => {
  it('reads 0/1, true/false in any spelling, and numeric text scores; prediction defaults to score >= threshold', () => {
    const t = toPredictionTable(raw(['1', 'false', true, 0, 'TRUE', '0.0'], ['0.9', '0.5', 0.49, '1', ' 0 ', '0.7']), config({ threshold: 0.5 }), 'p.csv');
    expect(t.labels).toEqual([1, 0, 1, 0, 1, 0]);
    expect(t.scores).toEqual([0.9, 0.5, 0.49, 1, 0, 0.7]);
    expect(t.predictions).toEqual([1, 1, 0, 1, 0, 1]);
  });

  it('uses the prediction column and the positive class when configured', () => {
    const t = toPredictionTable(raw(['churn', 'stay', 'churn'], [0.2, 0.3, 0.9], { prediction: ['stay', 'churn', 'churn'] }), config({ positive: 'churn', prediction: 'pred' }), 'p.csv');
    expect(t.labels).toEqual([1, 0, 1]);
    expect(t.predictions).toEqual([0, 1, 1]);
  });

  it.each([
    ['a score above 1', raw([1, 0, 1], ['0.2', '1.3', '7']), "p.csv: row 2: score \"1.3\" in column 'score' is outside [0, 1] (2 rows in all)"],
    ['a negative score', raw([1, 0], [-0.1, 0.3]), "p.csv: row 1: score -0.1 in column 'score' is outside [0, 1]"],
    ['a NaN score (Parquet)', raw([1, 0], [0.3, Number.NaN]), "p.csv: row 2: score column 'score' is NaN"],
    ['a NaN score (text)', raw([1, 0], ['0.3', 'NaN']), "p.csv: row 2: score column 'score' is NaN"],
    ['an empty score', raw([1, 0], ['0.3', '']), "p.csv: row 2: score column 'score' is empty"],
    ['a null score', raw([1, 0], [null, 0.4]), "p.csv: row 1: score column 'score' is empty"],
    ['a text score', raw([1, 0], ['0.3', 'high']), "p.csv: row 2: score \"high\" in column 'score' is not a number"],
    ['an empty label', raw(['1', ''], [0.3, 0.2]), "p.csv: row 2: label column 'label' is empty"],
    ['a null label', raw([null, 1], [0.3, 0.2]), "p.csv: row 1: label column 'label' is empty"],
    ['a NaN label', raw([Number.NaN, 1], [0.3, 0.2]), "p.csv: row 1: label column 'label' is NaN"],
    ['a label that is not a class', raw(['yes', 'no'], [0.3, 0.2]), "p.csv: row 1: label \"yes\" in column 'label' is not 0/1 or true/false (2 rows in all)"],
    ['no rows', raw([], []), 'p.csv: the predictions file has no rows'],
  ])('refuses %s (exit 2, naming the row)', (_, input, message) => {
    const error = failure(() => toPredictionTable(input, config(), 'p.csv'));
    expect(error.message).toBe(message);
    expect(error.exitCode).toBe(2);
    expect(error.hint).toBeTruthy();
  });

  it('refuses more than two classes when a positive class is named', () => {
    const error = failure(() => toPredictionTable(raw(['a', 'b', 'c'], [0.1, 0.2, 0.3]), config({ positive: 'a' }), 'p.csv'));
    expect(error.message).toBe('p.csv: label column \'label\' has more than two classes ("a", "b", "c", …): the builtin metrics are for binary classification');
    expect(error.exitCode).toBe(2);
  });

  it('keeps empty group values as null', () => {
    const t = toPredictionTable(raw([1, 0], [0.3, 0.2], { groups: { plan: ['pro', ''] } }), config({ groups: ['plan'] }), 'p.csv');
    expect(t.groups).toEqual({ plan: ['pro', null] });
  });
});

describe('reading predictions files with DuckDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlship-predictions-'));
  const cacheDir = join(dir, '.mlship', 'cache');
  const file = (name: string) => ({ root: dir, repoPath: name, full: join(dir, name), shown: name, where: 'mlship.yaml:9:7 models.m.evaluate.predictions' });

  it('CSV: typed as text, rows in file order, group columns as text', async () => {
    writeFileSync(join(dir, 'p.csv'), 'id,plan,label,score\n1,pro,1,0.9\n2,basic,0,0.25\n3,,1,0.6\n');
    const got = await readPredictions(file('p.csv'), config({ groups: ['plan'] }), cacheDir);
    expect(got).toEqual({ rows: [1, 2, 3], label: ['1', '0', '1'], score: ['0.9', '0.25', '0.6'], groups: { plan: ['pro', 'basic', null] } });
  });

  it('JSON Lines: typed values', async () => {
    writeFileSync(join(dir, 'p.jsonl'), '{"label": true, "score": 0.8, "region": 3}\n{"label": false, "score": 0.1, "region": 4}\n');
    const got = await readPredictions(file('p.jsonl'), config({ groups: ['region'] }), cacheDir);
    expect(got).toEqual({ rows: [1, 2], label: [true, false], score: [0.8, 0.1], groups: { region: ['3', '4'] } });
  });

  it('Parquet, written by DuckDB: NaN survives and is refused with its row', async () => {
    const engine = await openEngine({ tempDir: join(cacheDir, 'tmp') });
    try {
      await engine.query(`COPY (SELECT * FROM (VALUES (1, 0.7::DOUBLE, 'a'), (0, 'NaN'::DOUBLE, 'b'), (1, 0.4::DOUBLE, 'a')) t(y, p, g)) TO ${str(join(dir, 'p.parquet'))} (FORMAT parquet)`);
    } finally {
      engine.close();
    }
    const c = config({ label: 'y', score: 'p', groups: ['g'] });
    const got = await readPredictions(file('p.parquet'), c, cacheDir);
    expect(got.label).toEqual([1, 0, 1]);
    expect(got.score[0]).toBe(0.7);
    expect(Number.isNaN(got.score[1])).toBe(true);
    expect(() => toPredictionTable(got, c, 'p.parquet')).toThrow("p.parquet: row 2: score column 'p' is NaN");
  });

  it('a missing column is named with the file, a suggestion and the columns there are', async () => {
    writeFileSync(join(dir, 'q.csv'), 'label,prob,segment\n1,0.9,a\n');
    const error = await readPredictions(file('q.csv'), config({ groups: ['segmnt'] }), cacheDir).then(
      () => undefined,
      (e: unknown) => e as MlshipError,
    );
    expect(error?.message).toBe("q.csv: no column 'score' (score); no column 'segmnt' (groups), did you mean 'segment'?");
    expect(error?.hint).toBe('the file has columns label, prob, segment; name them in mlship.yaml:9:7 models.m.evaluate.predictions');
    expect(error?.exitCode).toBe(2);
  });

  it('a missing file is a usage error naming it', async () => {
    const error = await readPredictions(file('nope.csv'), config(), cacheDir).then(
      () => undefined,
      (e: unknown) => e as MlshipError,
    );
    expect(error?.message).toBe('the predictions file nope.csv does not exist');
    expect(error?.exitCode).toBe(2);
  });
});
