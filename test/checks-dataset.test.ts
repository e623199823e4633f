import { describe, expect, it } from 'vitest';
import { runChecks } from '../src/checks/index.js';
import type { CheckConfig } from '../src/config/schema.js';
import type { CheckFailure } from '../src/checks/types.js';
import { checkRepo, csv } from './helpers/checks-repo.js';

const one = async (check: CheckConfig, repo = checkRepo()) => {
  const [result] = await runChecks({ c: check }, undefined, repo.ctx);
  if (!result) throw new Error('no result');
  return result;
};
const byRule = (failures: CheckFailure[], column: string | null, rule: string) => failures.find((f) => f.column === column && f.rule === rule);

describe('the people fixture (every column rule, failing)', () => {
  const check = (data: string): CheckConfig => ({
    data,
    rows: { min: 10, max: 100 },
    columns: {
      customer_id: { type: 'string', nullable: false, unique: true },
      age: { type: 'integer', min: 18, max: 120 },
      plan: { type: 'string', in: ['basic', 'pro', 'team'] },
      churned: { type: 'boolean' },
      email: { type: 'string', pattern: '^[^@]+@[^@]+$', nullable: true },
      signup: { type: 'date', min: '2024-01-10' },
    },
  });

  it('reports each failure with counts, the first examples and their 1-based data rows', async () => {
    const repo = checkRepo();
    const result = await one(check(repo.fixture('people.csv')), repo);
    expect(result.passed).toBe(false);
    expect(result.stats).toMatchObject({ rows: 8, format: 'csv' });
    const f = result.failures;
    // people.csv rows: 1 c1 34 | 2 c2 17 | 3 c3 45 | 4 c4 abc | 5 c2 130 | 6 c6 '' | 7 c7 61.5 | 8 c8 150
    expect(byRule(f, null, 'rows.min')).toMatchObject({ expected: 10, observed: 8 });
    expect(byRule(f, 'customer_id', 'unique')).toMatchObject({ failing: 1, examples: ['c2'], rows: [5] });
    expect(byRule(f, 'age', 'type')).toMatchObject({ failing: 2, examples: ['abc', '61.5'], rows: [4, 7], expected: 'integer' });
    // min/max make age non-nullable unless it says nullable: true; the empty field of row 6 is null.
    expect(byRule(f, 'age', 'nullable')).toMatchObject({ failing: 1, rows: [6], examples: [null] });
    expect(byRule(f, 'age', 'min')).toMatchObject({ failing: 1, examples: [17], rows: [2], observed: 17 });
    expect(byRule(f, 'age', 'max')).toMatchObject({ failing: 2, examples: [130, 150], rows: [5, 8], observed: 150 });
    expect(byRule(f, 'age', 'max')?.message).toBe('age: 2 rows above max 120 (130, 150); max is 150');
    expect(byRule(f, 'plan', 'in')).toMatchObject({ failing: 1, examples: ['gold'], rows: [4] });
    expect(byRule(f, 'plan', 'nullable')).toMatchObject({ failing: 1, rows: [7] });
    // true/false/yes/0 are booleans; 'maybe' is not.
    expect(byRule(f, 'churned', 'type')).toMatchObject({ failing: 1, examples: ['maybe'], rows: [5] });
    // nullable: true: the empty email of row 2 passes; the pattern fails only on row 4.
    expect(byRule(f, 'email', 'pattern')).toMatchObject({ failing: 1, examples: ['not-an-email'], rows: [4] });
    expect(byRule(f, 'email', 'nullable')).toBeUndefined();
    // 2024-13-01 is not a date; 2024-01-05 is before min; the empty signup (row 6) is null and signup has a min.
    expect(byRule(f, 'signup', 'type')).toMatchObject({ failing: 1, examples: ['2024-13-01'], rows: [4] });
    expect(byRule(f, 'signup', 'min')).toMatchObject({ failing: 1, examples: ['2024-01-05'], rows: [1], observed: '2024-01-05' });
    expect(byRule(f, 'signup', 'nullable')).toMatchObject({ failing: 1, rows: [6] });
    expect(f.map((x) => `${x.column}:${x.rule}`)).toEqual([
      'null:rows.min', 'customer_id:unique', 'age:type', 'age:nullable', 'age:min', 'age:max', 'plan:nullable', 'plan:in',
      'churned:type', 'email:pattern', 'signup:type', 'signup:nullable', 'signup:min',
    ]);
  });
});

describe('rules that pass', () => {
  it('passes a clean dataset with every rule', async () => {
    const repo = checkRepo();
    const data = repo.write('data/clean.csv', csv(['id', 'age', 'plan', 'ok', 'email', 'day', 'at'], [
      [1, 18, 'basic', true, 'a@b', '2024-01-01', '2024-01-01 10:00:00'],
      [2, 120, 'pro', false, null, '2024-01-02', '2024-01-02T10:00:00+02:00'],
      [3, 40.0, 'team', 'yes', 'c@d', '2024-01-03', '2024-01-03'],
    ]));
    const result = await one({
      data, rows: { min: 3, max: 3 }, strict: true, unique: ['id', 'plan'],
      columns: {
        id: { type: 'integer', unique: true, nullable: false },
        age: { type: 'number', min: 18, max: 120 },
        plan: { in: ['basic', 'pro', 'team'], pattern: '^[a-z]+$' },
        ok: { type: 'boolean' },
        email: { pattern: '@', nullable: true },
        day: { type: 'date', min: '2024-01-01', max: '2024-01-03' },
        at: { type: 'timestamp', max: '2024-01-03 00:00:00' },
      },
      freshness: { column: 'at', max_age: '1d' },
    }, { ...repo, ctx: { ...repo.ctx, now: new Date('2024-01-03T12:00:00Z') } });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(true);
  });

  it('an empty dataset (header only) passes value rules vacuously and fails rows.min', async () => {
    const repo = checkRepo();
    const result = await one({ data: repo.fixture('header-only.csv'), rows: { min: 1 }, columns: { id: { type: 'integer', nullable: false, unique: true }, score: { min: 0 } } }, repo);
    expect(result.failures.map((f) => [f.rule, f.observed])).toEqual([['rows.min', 0]]);
  });
});

describe('dataset-level rules', () => {
  it('rows.max, strict, compound unique and freshness fail with their numbers', async () => {
    const repo = checkRepo({ now: new Date('2024-03-10T00:00:00Z') });
    const data = repo.write('data/d.csv', csv(['a', 'b', 'extra', 'at'], [
      [1, 'x', 0, '2024-03-01'], [1, 'y', 0, '2024-03-02'], [1, 'x', 0, '2024-03-05T12:00:00Z'], [2, 'x', 0, null],
    ]));
    const result = await one({ data, rows: { max: 3 }, strict: true, unique: ['a', 'b'], columns: { a: {}, b: {}, at: { type: 'timestamp' } }, freshness: { column: 'at', max_age: '3d' } }, repo);
    expect(byRule(result.failures, null, 'rows.max')).toMatchObject({ expected: 3, observed: 4 });
    expect(byRule(result.failures, null, 'strict')).toMatchObject({ observed: ['extra'] });
    // (1, x) repeats on row 3.
    expect(byRule(result.failures, null, 'unique')).toMatchObject({ failing: 1, examples: [{ a: '1', b: 'x' }], rows: [3] });
    // latest 2024-03-05T12:00Z; now 2024-03-10 minus 3 days = 2024-03-07.
    expect(byRule(result.failures, 'at', 'freshness')).toMatchObject({ observed: '2024-03-05T12:00:00.000Z', expected: '3d' });
  });

  it('a configured column absent from the data is a column.missing failure, not a crash', async () => {
    const repo = checkRepo();
    const result = await one({ data: repo.fixture('header-ok.csv'), columns: { id: { type: 'integer' }, label: { type: 'string' } }, unique: ['id', 'nope'] }, repo);
    expect(result.failures.map((f) => [f.column, f.rule])).toEqual([['label', 'column.missing'], ['nope', 'column.missing']]);
    expect(result.failures[0]?.message).toBe('label: no such column in data/header-ok.csv (columns: id, score)');
  });
});

describe('mostly', () => {
  const repo = checkRepo();
  // 10 rows, 1 of them (row 7) above max: 90 % pass.
  const data = repo.write('data/m.csv', csv(['x'], [[1], [2], [3], [4], [5], [6], [70], [8], [9], [10]]));
  it('passes when the share of passing rows reaches mostly', async () => {
    expect((await one({ data, columns: { x: { type: 'integer', max: 10, mostly: 0.9 } } }, repo)).passed).toBe(true);
  });
  it('fails below it, and says by how much', async () => {
    const result = await one({ data, columns: { x: { type: 'integer', max: 10, mostly: 0.95 } } }, repo);
    expect(result.failures[0]).toMatchObject({ rule: 'max', failing: 1, rows: [7], satisfied: 0.9 });
    expect(result.failures[0]?.message).toBe('x: 1 row above max 10 (70); max is 70; 90.0% of rows pass, mostly requires 95.0%');
  });
});

describe('CSV parsing edge cases', () => {
  it('a quoted field with an embedded newline: row numbers count data rows, not lines', async () => {
    const repo = checkRepo();
    const result = await one({ data: repo.fixture('multiline.csv'), columns: { score: { type: 'number', min: 0, max: 1 }, note: { pattern: '^[a-z ]+$' } } }, repo);
    expect(byRule(result.failures, 'score', 'max')).toMatchObject({ examples: [1.5], rows: [2] });
    expect(byRule(result.failures, 'score', 'min')).toMatchObject({ examples: [-2], rows: [3] });
    expect(byRule(result.failures, 'note', 'pattern')).toMatchObject({ failing: 2, examples: ['first line\nsecond line', 'say "hi"'], rows: [1, 2] });
  });

  it('column names with quotes and SQL in them are identifiers, never SQL', async () => {
    const repo = checkRepo();
    const result = await one({ data: repo.fixture('evil-names.csv'), columns: { 'a"b': { unique: true }, 'x; DROP TABLE t; --': { type: 'integer', max: 3 }, ok: { in: ["it's", '3'] } } }, repo);
    expect(result.failures.map((f) => [f.column, f.rule, f.rows])).toEqual([
      ['a"b', 'unique', [2]],
      ['x; DROP TABLE t; --', 'max', [2]],
      ['ok', 'in', [2]],
    ]);
  });

  it('values with quotes in set members and patterns are escaped literals', async () => {
    const repo = checkRepo();
    const data = repo.write('data/q.csv', csv(['name'], [["o'brien"], ["x'); DROP TABLE t; --"]]));
    const result = await one({ data, columns: { name: { in: ["o'brien"], pattern: "^o'" } } }, repo);
    expect(result.failures.map((f) => [f.rule, f.examples])).toEqual([['in', ["x'); DROP TABLE t; --"]], ['pattern', ["x'); DROP TABLE t; --"]]]);
  });

  it('a string column compares with the text of numbers in `in` (YAML reads 07 as a number)', async () => {
    const repo = checkRepo();
    const data = repo.write('data/z.csv', csv(['zip'], [['7'], ['8'], ['07']]));
    const result = await one({ data, columns: { zip: { type: 'string', in: [7, 8] } } }, repo);
    expect(result.failures.map((f) => [f.rule, f.examples, f.rows])).toEqual([['in', ['07'], [3]]]);
  });

  it('reads .tsv as tab-separated', async () => {
    const repo = checkRepo();
    const data = repo.write('data/t.tsv', 'a\tb\n1\tx,y\n');
    expect((await one({ data, columns: { a: { type: 'integer' }, b: { in: ['x,y'] } } }, repo)).passed).toBe(true);
  });
});

describe('typed sources: Parquet and JSON Lines', () => {
  it('checks Parquet columns by their stored types (written with DuckDB COPY)', async () => {
    const repo = checkRepo();
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const path = `${repo.root}/data/p.parquet`;
    repo.write('data/.keep', '');
    await con.run(`COPY (SELECT i AS id, CASE WHEN i = 3 THEN NULL ELSE i * 1.0 END AS score_f, 'p' || (i % 3) AS plan, i % 2 = 0 AS flag, DATE '2024-01-01' + i::INTEGER AS day FROM range(1, 7) t(i)) TO '${path}' (FORMAT parquet)`);
    con.closeSync();
    db.closeSync();
    const result = await one({
      data: 'data/p.parquet',
      columns: {
        id: { type: 'integer', max: 5 },
        score_f: { type: 'integer', nullable: false }, // float64 holding whole numbers is an integer column
        plan: { type: 'string', in: ['p0', 'p1'] },
        flag: { type: 'integer' }, // stored as BOOLEAN: every value fails
        day: { type: 'date', max: '2024-01-06' },
      },
    }, repo);
    expect(result.failures.map((f) => [f.column, f.rule, f.failing, f.examples, f.rows])).toEqual([
      ['id', 'max', 1, [6], [6]],
      ['score_f', 'nullable', 1, [null], [3]],
      ['plan', 'in', 2, ['p2', 'p2'], [2, 5]],
      ['flag', 'type', 6, [false, true, false, true, false], [1, 2, 3, 4, 5]],
      ['day', 'max', 1, ['2024-01-07'], [6]],
    ]);
    expect(byRule(result.failures, 'flag', 'type')).toMatchObject({ observed: 'BOOLEAN', message: 'flag: stored as BOOLEAN, not integer (6 non-null values)' });
  });

  it('checks JSON Lines, re-inferring types when a late line does not fit the sample', async () => {
    const repo = checkRepo();
    const lines = Array.from({ length: 25_000 }, (_, i) => JSON.stringify({ id: i + 1, tag: 'a' }));
    lines.push(JSON.stringify({ id: 'oops', tag: 'b' }));
    const data = repo.write('data/late.jsonl', lines.join('\n') + '\n');
    const result = await one({ data, columns: { id: { type: 'integer' }, tag: { in: ['a'] } } }, repo);
    expect(result.failures.map((f) => [f.column, f.rule, f.failing, f.rows])).toEqual([
      ['id', 'type', 1, [25_001]],
      ['tag', 'in', 1, [25_001]],
    ]);
  });
});

describe('selection', () => {
  it('runs the named checks only, and refuses unknown names listing the known ones', async () => {
    const repo = checkRepo();
    const data = repo.fixture('header-ok.csv');
    const checks = { a: { data, columns: {} }, b: { data, rows: { min: 5 } } } as Record<string, CheckConfig>;
    expect((await runChecks(checks, ['b'], repo.ctx)).map((r) => [r.name, r.passed])).toEqual([['b', false]]);
    await expect(runChecks(checks, ['z'], repo.ctx)).rejects.toMatchObject({ code: 'E_CHECK_UNKNOWN', exitCode: 2, hint: 'checks in mlship.yaml: a, b' });
    expect(await runChecks({}, undefined, repo.ctx)).toEqual([]);
  });
});
