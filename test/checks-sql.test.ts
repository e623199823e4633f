import { describe, expect, it } from 'vitest';
import { ident, literal, numList, str, strList } from '../src/checks/sql.js';
import { durationMs } from '../src/checks/dataset.js';

describe('SQL quoting', () => {
  it('quotes identifiers and doubles embedded double quotes', () => {
    expect(ident('age')).toBe('"age"');
    expect(ident('a"b')).toBe('"a""b"');
    expect(ident('x"; DROP TABLE t; --')).toBe('"x""; DROP TABLE t; --"');
  });
  it('quotes string literals and doubles embedded single quotes (DuckDB has no backslash escapes outside E-strings)', () => {
    expect(str("o'brien")).toBe("'o''brien'");
    expect(str("x'); DROP TABLE t; --")).toBe("'x''); DROP TABLE t; --'");
    expect(str('back\\slash')).toBe("'back\\slash'");
    expect(strList(['a', "b'"])).toBe("['a', 'b''']");
    expect(strList([])).toBe('[]::VARCHAR[]');
  });
  it('writes numbers as DOUBLE and refuses what has no literal', () => {
    expect(literal(0.1)).toBe('0.1::DOUBLE');
    expect(literal(true)).toBe('TRUE');
    expect(numList([1, 2.5])).toBe('[1::DOUBLE, 2.5::DOUBLE]::DOUBLE[]');
    expect(() => literal(Number.NaN)).toThrow(/not a finite number/);
    expect(() => str('a\0b')).toThrow(/NUL/);
  });
  it('reads max_age durations', () => {
    expect([durationMs(90), durationMs('500ms'), durationMs('30s'), durationMs('10m'), durationMs('2h'), durationMs('3d')]).toEqual([90_000, 500, 30_000, 600_000, 7_200_000, 259_200_000]);
  });
});
