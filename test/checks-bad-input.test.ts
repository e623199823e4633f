/** Every bad input of issue 5: a clear message naming the file (and line where known), the right exit code, no crash. */
import { describe, expect, it } from 'vitest';
import { runChecks } from '../src/checks/index.js';
import type { CheckConfig } from '../src/config/schema.js';
import { checkRepo } from './helpers/checks-repo.js';

const run = (check: CheckConfig, repo = checkRepo()) => runChecks({ c: check }, undefined, repo.ctx);
const cols = { id: { type: 'integer' as const }, name: { type: 'string' as const } };

describe('unreadable datasets: exit 3 (environment)', () => {
  const cases: [string, string, string, string][] = [
    // fixture, code, message, hint fragment
    ['empty.csv', 'E_DATA_EMPTY', 'data/empty.csv: the file is empty (0 bytes)', 'header line'],
    ['ragged.csv', 'E_DATA_CSV', 'data/ragged.csv:3: Expected Number of Columns: 3 Found: 2 (line: "2,0.7")', 'as many fields as the header'],
    ['semicolon.csv', 'E_DATA_DELIMITER', "data/semicolon.csv:1: the header is one column 'id;score;label': the file looks ';'-separated, not comma-separated", 'convert the file to commas'],
    ['latin1.csv', 'E_DATA_ENCODING', 'data/latin1.csv:2: Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded. (line: "1,Jos?")', 'iconv'],
    ['broken.jsonl', 'E_DATA_JSON', 'data/broken.jsonl:2: malformed JSON: unexpected end of data', 'one complete JSON object'],
    ['corrupt.parquet', 'E_DATA_PARQUET', "data/corrupt.parquet: not a readable Parquet file (Footer length error in file 'corrupt.parquet')", 'truncated or corrupted'],
  ];
  for (const [fixture, code, message, hint] of cases) {
    it(`${fixture}: ${code}`, async () => {
      const repo = checkRepo();
      const error = await run({ data: repo.fixture(fixture), columns: cols }, repo).catch((e: unknown) => e);
      expect(error).toMatchObject({ code, exitCode: 3, message });
      expect((error as { hint: string }).hint).toContain(hint);
    });
  }

  it('a missing file', async () => {
    const error = await run({ data: 'data/nope.csv', columns: cols }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_DATA_MISSING', exitCode: 3, message: "data/nope.csv: no such file (dataset of check 'c')" });
  });

  it('a missing drift reference', async () => {
    const repo = checkRepo();
    const current = repo.fixture('header-ok.csv');
    const error = await run({ drift: { reference: 'data/ref.csv', current, method: 'psi', max: 0.2, bins: 10 } }, repo).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_DATA_MISSING', exitCode: 3, message: 'data/ref.csv: cannot read the drift reference (ENOENT)' });
  });

  it('non-UTF-8 bytes in the header', async () => {
    const repo = checkRepo();
    const data = repo.write('data/h.csv', Buffer.from([0x69, 0x64, 0x2c, 0x6e, 0xe9, 0x0a, 0x31, 0x2c, 0x32, 0x0a]));
    await expect(run({ data, columns: {} }, repo)).rejects.toMatchObject({ code: 'E_DATA_ENCODING', exitCode: 3, message: 'data/h.csv:1: the header is not valid UTF-8' });
  });

  it('an unterminated quoted field', async () => {
    const repo = checkRepo();
    const data = repo.write('data/u.csv', 'a,b\n1,"open\n2,3\n');
    await expect(run({ data, columns: { a: {} } }, repo)).rejects.toMatchObject({ code: 'E_DATA_CSV', exitCode: 3, message: 'data/u.csv:2: unterminated quoted field (line: "1,\\"open\\n2,3")' });
  });
});

describe('configuration problems found against the data: exit 2 (usage)', () => {
  it('an invalid regular expression names the config key and the reason', async () => {
    const repo = checkRepo();
    const error = await run({ data: repo.fixture('header-ok.csv'), columns: { id: { pattern: '[0-9' } } }, repo).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_CHECK_PATTERN', exitCode: 2, message: 'mlship.yaml: checks.c.columns.id.pattern: invalid regular expression "[0-9": missing ]: [0-9' });
  });

  it('a JavaScript-only regex feature (lookahead) is refused with the RE2 hint', async () => {
    const repo = checkRepo();
    const error = await run({ data: repo.fixture('header-ok.csv'), columns: { id: { pattern: '^(?=1)' } } }, repo).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_CHECK_PATTERN', exitCode: 2 });
    expect((error as { hint: string }).hint).toContain('RE2');
  });

  it('a bound that cannot be cast to the column type', async () => {
    const repo = checkRepo();
    const error = await run({ data: repo.fixture('header-ok.csv'), columns: { score: { type: 'date', min: 'yesterday' } } }, repo).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_CHECK_VALUE', exitCode: 2, message: 'mlship.yaml: checks.c.columns.score.min: "yesterday" is not a valid date' });
  });

  it('a set member of the wrong type', async () => {
    const repo = checkRepo();
    await expect(run({ data: repo.fixture('header-ok.csv'), columns: { id: { type: 'integer', in: [1, 'two'] } } }, repo)).rejects.toMatchObject({
      code: 'E_CHECK_VALUE', exitCode: 2, message: 'mlship.yaml: checks.c.columns.id.in[1]: "two" is not a number',
    });
  });

  it('a path outside the repository', async () => {
    await expect(run({ data: '../outside.csv', columns: {} })).rejects.toMatchObject({ code: 'E_PATH', exitCode: 2 });
  });

  it('an unsupported extension', async () => {
    const repo = checkRepo();
    const data = repo.write('data/x.xlsx', 'a');
    await expect(run({ data, columns: {} }, repo)).rejects.toMatchObject({ code: 'E_DATA_FORMAT', exitCode: 2 });
  });
});

describe('data that is readable but wrong: a verdict (exit 1), not an error', () => {
  it('values that cannot be cast to the type are type failures with examples', async () => {
    const repo = checkRepo();
    const data = repo.write('data/t.csv', 'n,d\n1,2024-01-01\nx,2024-02-30\n2.5,yesterday\n');
    const [result] = await run({ data, columns: { n: { type: 'integer' }, d: { type: 'date' } } }, repo);
    expect(result?.failures.map((f) => [f.column, f.rule, f.failing, f.examples, f.rows])).toEqual([
      ['n', 'type', 2, ['x', '2.5'], [2, 3]],
      ['d', 'type', 2, ['2024-02-30', 'yesterday'], [2, 3]],
    ]);
  });
});
