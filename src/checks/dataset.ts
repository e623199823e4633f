/**
 * Dataset checks: every rule of a dataset compiled into ONE aggregate query (one scan of the file),
 * then, only for the rules that failed, one more scan that fetches the first 5 failing values with
 * their 1-based data row numbers (and one windowed query per failed uniqueness rule).
 *
 * Null semantics: nulls are judged by `nullable` alone and never count against min, max, in or pattern.
 * `nullable` defaults to false when the column has a value rule (min, max, in, pattern): a value rule
 * does not silently pass nulls; write `nullable: true` to allow them. Without value rules it defaults
 * to true. In CSV files an empty unquoted field is null; `""` is an empty string.
 */
import type { CheckConfig, ColumnRuleConfig } from '../config/schema.js';
import { usageError, messageOf } from '../errors.js';
import type { Engine, Plain, Row } from './duckdb.js';
import { familyOf, isNumericFamily, sqlTypeOf, typedColumn, type ColumnType, type TypedColumn } from './column-types.js';
import { openDataset, queryDataset, type DataColumn, type Dataset } from './source.js';
import { ident, literal, num, str } from './sql.js';
import type { CheckContext, CheckFailure, CheckResult } from './types.js';
import { columnMissing } from './failures.js';

/** How many failing examples a failure carries. */
export const MAX_EXAMPLES = 5;

interface RuleSpec {
  column: string | null;
  rule: string;
  expected: unknown;
  /** `rows`: failing = rows matching `fail`; `unique`: failing = rows repeating an earlier key. */
  kind: 'rows' | 'unique';
  fail: string;
  /** For `unique`: the SQL key. */
  key: string;
  /** SQL for the example value of a failing row. */
  example: string;
  /** Optional aggregate shown as `observed`. */
  observed?: string;
  /** The fraction of rows that must pass (the column's `mostly`). */
  mostly?: number;
  /** Builds the one-line message from the numbers. */
  say: (failing: number, observed: Plain, examples: string) => string;
}

interface Compiled {
  rules: RuleSpec[];
  /** Typed values computed once per row in a projection under the scan, as [expression, alias]. */
  derived: [string, string][];
  /** Failures known without reading rows: missing columns, extra columns. */
  static: CheckFailure[];
  freshness?: { column: string; expr: string; maxAgeMs: number; maxAge: string | number };
}

/** Where in the config a rule lives, for usage errors: "mlship.yaml: checks.train.columns.age.min". */
const at = (ctx: CheckContext, name: string, ...keys: string[]) => `${ctx.configFile}: checks.${name}${keys.map((k) => (/^[A-Za-z_][\w-]*(\[\d+\])?$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('')}`;

export async function runDatasetCheck(engine: Engine, name: string, check: CheckConfig, ctx: CheckContext, now: Date): Promise<CheckResult> {
  const path = check.data as string;
  const opened = await openDataset(engine, ctx.repoRoot, path, `dataset of check '${name}'`);
  await validatePatterns(engine, name, check, ctx);
  const { result, dataset } = await queryDataset(engine, opened, async (ds) => {
    const compiled = await compile(engine, ds, name, check, ctx);
    // Every CSV column (and every configured column of other formats) is read, so that bytes that are
    // not UTF-8 are reported wherever they are, and the non-null counts land in the stats.
    const counted = ds.columns.filter((c) => ds.format === 'csv' || ds.format === 'tsv' || c.name in (check.columns ?? {}));
    const aggregates = [
      'count(*) AS n',
      ...counted.map((c, i) => `count(${ident(c.name)}) AS c${i}`),
      ...compiled.rules.map((r, i) =>
        r.kind === 'rows' ? `count(*) FILTER (WHERE ${r.fail}) AS f${i}` : `count(${r.key}) - count(DISTINCT ${r.key}) AS f${i}`,
      ),
      ...compiled.rules.flatMap((r, i) => (r.observed ? [`${r.observed} AS o${i}`] : [])),
      ...(compiled.freshness ? [`epoch_ms(max(${compiled.freshness.expr})) AS fresh`] : []),
    ];
    const [row] = await engine.query(`SELECT ${aggregates.join(', ')} FROM ${withDerived(ds.scan, compiled.derived)}`);
    const nonNull: Record<string, number> = {};
    counted.forEach((c, i) => {
      nonNull[c.name] = Number(row?.[`c${i}`] ?? 0);
    });
    return { compiled, row: row ?? {}, nonNull };
  });
  const { compiled, row, nonNull } = result;
  const n = Number(row.n ?? 0);
  const failures: CheckFailure[] = [...compiled.static];
  const base = { dataset: path };

  if (check.rows?.min !== undefined && n < check.rows.min) {
    failures.push({ ...base, column: null, rule: 'rows.min', expected: check.rows.min, observed: n, failing: 0, examples: [], rows: [], message: `${n} rows, fewer than rows.min ${check.rows.min}` });
  }
  if (check.rows?.max !== undefined && n > check.rows.max) {
    failures.push({ ...base, column: null, rule: 'rows.max', expected: check.rows.max, observed: n, failing: 0, examples: [], rows: [], message: `${n} rows, more than rows.max ${check.rows.max}` });
  }

  const failed: { spec: RuleSpec; index: number; failing: number; observed: Plain; satisfied?: number }[] = [];
  compiled.rules.forEach((spec, index) => {
    const failing = Number(row[`f${index}`] ?? 0);
    if (failing === 0) return;
    const satisfied = n === 0 ? 1 : (n - failing) / n;
    if (spec.mostly !== undefined && satisfied >= spec.mostly) return;
    failed.push({ spec, index, failing, observed: spec.observed ? (row[`o${index}`] ?? null) : failing, ...(spec.mostly !== undefined ? { satisfied } : {}) });
  });

  const examples = failed.length > 0 ? await fetchExamples(engine, dataset, failed.map((f) => f.spec), compiled.derived) : [];
  failed.forEach((f, i) => {
    const found = examples[i] ?? [];
    const values = found.map((e) => e.v);
    const shown = values.length > 0 ? ` (${values.map(show).join(', ')}${f.failing > values.length ? ', …' : ''})` : '';
    const mostly = f.satisfied !== undefined && f.spec.mostly !== undefined ? `; ${pct(f.satisfied)} of rows pass, mostly requires ${pct(f.spec.mostly)}` : '';
    failures.push({
      ...base,
      column: f.spec.column,
      rule: f.spec.rule,
      expected: f.spec.expected,
      observed: f.observed,
      failing: f.failing,
      examples: values,
      rows: found.map((e) => e.r),
      message: `${f.spec.say(f.failing, f.observed, shown)}${mostly}`,
      ...(f.satisfied !== undefined ? { satisfied: f.satisfied } : {}),
    });
  });

  if (compiled.freshness) {
    const fresh = row.fresh;
    const latest = typeof fresh === 'number' ? new Date(fresh) : null;
    const limit = new Date(now.getTime() - compiled.freshness.maxAgeMs);
    if (latest === null || latest < limit) {
      failures.push({
        ...base,
        column: compiled.freshness.column,
        rule: 'freshness',
        expected: compiled.freshness.maxAge,
        observed: latest?.toISOString() ?? null,
        failing: 0,
        examples: [],
        rows: [],
        message: latest
          ? `${compiled.freshness.column}: latest ${latest.toISOString()} is older than max_age ${compiled.freshness.maxAge} (before ${limit.toISOString()})`
          : `${compiled.freshness.column}: no timestamp in the column`,
      });
    }
  }
  return {
    name,
    kind: 'dataset',
    passed: failures.length === 0,
    failures,
    stats: { dataset: path, format: dataset.format, rows: n, columns: dataset.columns.length, rules: compiled.rules.length, nonNull },
  };
}

const pct = (x: number) => `${(Math.floor(x * 1000) / 10).toFixed(1)}%`;

/** A value as shown in a message. */
export const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Patterns are RE2 (DuckDB's regex engine): an invalid one is a configuration error, found before any scan. */
async function validatePatterns(engine: Engine, name: string, check: CheckConfig, ctx: CheckContext): Promise<void> {
  for (const [column, rule] of Object.entries(check.columns ?? {})) {
    if (rule.pattern === undefined) continue;
    try {
      await engine.query(`SELECT regexp_matches('', ${str(rule.pattern)}) AS ok`);
    } catch (error) {
      const reason = messageOf(error).split('\n')[0]?.replace(/^[A-Za-z ]+Error: /, '') ?? 'invalid';
      throw usageError('E_CHECK_PATTERN', `${at(ctx, name, 'columns', column, 'pattern')}: invalid regular expression ${JSON.stringify(rule.pattern)}: ${reason}`, {
        hint: 'patterns use RE2 syntax (no lookahead, lookbehind or backreferences); anchor with ^ and $ to match whole values',
      });
    }
  }
}

async function compile(engine: Engine, ds: Dataset, name: string, check: CheckConfig, ctx: CheckContext): Promise<Compiled> {
  const byName = new Map(ds.columns.map((c) => [c.name, c]));
  const found = ds.columns.map((c) => c.name);
  const configured = Object.keys(check.columns ?? {});

  const out: Compiled = { rules: [], static: [], derived: [] };
  const aliases = new Map<string, string>();
  const taken = new Set(found);
  /** The alias of a derived expression (a cast), so that every rule of the column reuses one evaluation. */
  const derive = (expr: string): string => {
    const known = aliases.get(expr);
    if (known) return known;
    let name = `${ds.rowColumn}_v${aliases.size}`;
    while (taken.has(name)) name = `_${name}`;
    const alias = ident(name);
    aliases.set(expr, alias);
    out.derived.push([expr, alias]);
    return alias;
  };
  const absent = new Set<string>();
  const need = (column: string) => {
    if (byName.has(column)) return true;
    if (!absent.has(column)) out.static.push(columnMissing(ds.path, column, found));
    absent.add(column);
    return false;
  };
  for (const column of configured) need(column);
  if (check.strict) {
    const extra = found.filter((c) => !configured.includes(c));
    if (extra.length > 0) {
      out.static.push({ dataset: ds.path, column: null, rule: 'strict', expected: configured, observed: extra, failing: 0, examples: [], rows: [], message: `${extra.length} column${extra.length > 1 ? 's' : ''} not in the config: ${extra.join(', ')}` });
    }
  }
  for (const [column, rule] of Object.entries(check.columns ?? {})) {
    const source = byName.get(column);
    if (source) out.rules.push(...(await compileColumn(engine, source, rule, (...keys) => at(ctx, name, 'columns', column, ...keys), derive)));
  }
  if (check.unique && check.unique.every(need)) {
    const cols = check.unique.map(ident);
    const key = cols.length === 1 ? (cols[0] as string) : `row(${cols.join(', ')})`;
    out.rules.push({
      column: null,
      rule: 'unique',
      expected: check.unique,
      kind: 'unique',
      fail: 'FALSE',
      key,
      example: `{${check.unique.map((c) => `${str(c)}: ${ident(c)}`).join(', ')}}`,
      say: (failing, _o, shown) => `(${check.unique?.join(', ')}): ${failing} row${failing > 1 ? 's repeat' : ' repeats'} an earlier key${shown}`,
    });
  }
  if (check.freshness && need(check.freshness.column)) {
    const source = byName.get(check.freshness.column) as DataColumn;
    const family = familyOf(source.type);
    const col = ident(source.name);
    const expr = family === 'text' ? `TRY_CAST(${col} AS TIMESTAMPTZ)` : family === 'date' || family === 'timestamp' ? `${col}::TIMESTAMPTZ` : undefined;
    if (expr === undefined) {
      throw usageError('E_CHECK_FRESHNESS', `${at(ctx, name, 'freshness', 'column')}: column '${source.name}' is ${source.type}, not a date or timestamp`, { hint: 'name a date or timestamp column' });
    }
    out.freshness = { column: source.name, expr, maxAgeMs: durationMs(check.freshness.max_age), maxAge: check.freshness.max_age };
  }
  return out;
}

/** Milliseconds of a schema Duration: seconds as a number, or '500ms', '30s', '10m', '2h', '3d'. */
export function durationMs(duration: number | string): number {
  if (typeof duration === 'number') return duration * 1000;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(duration.trim());
  if (!m) throw usageError('E_CHECK_DURATION', `invalid duration '${duration}'`, { hint: "use a duration such as '30s', '10m', '2h' or '3d'" });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** How a column's values compare with bounds and set members. */
interface Comparison {
  /** SQL value compared. */
  value: string;
  /** SQL predicate: the row is subject to the rule (the value is present). */
  guard: string;
  /** True when a present value that cannot be compared (NULL `value`) fails the rule. */
  strict: boolean;
  /** Literal conversion for a bound or member. */
  lit: (v: string | number | boolean, key: string) => Promise<string>;
  /** SQL for the example value. */
  example: string;
  /** SQL wrapping of aggregates for observed values (dates shown as text). */
  shown: (sql: string) => string;
}

async function compileColumn(engine: Engine, source: DataColumn, rule: ColumnRuleConfig, where: (...keys: string[]) => string, derive: (expr: string) => string): Promise<RuleSpec[]> {
  const col = ident(source.name);
  const family = familyOf(source.type);
  const text = family === 'text' ? col : `CAST(${col} AS VARCHAR)`;
  const rules: RuleSpec[] = [];
  const name = source.name;
  const common = { column: name, kind: 'rows' as const, key: '', ...(rule.mostly !== undefined ? { mostly: rule.mostly } : {}) };
  let typed: TypedColumn | undefined = rule.type ? typedColumn(col, source.type, rule.type) : undefined;
  if (typed?.compatible && typed.value !== col) {
    const alias = derive(typed.value);
    typed = { value: alias, bad: `(${col} IS NOT NULL AND ${alias} IS NULL)`, compatible: true };
  }

  if (rule.type && typed) {
    const type = rule.type;
    rules.push({
      ...common,
      rule: 'type',
      expected: type,
      fail: typed.bad,
      example: col,
      observed: str(source.type),
      say: typed.compatible
        ? (failing, _o, shown) => `${name}: ${failing} value${failing > 1 ? 's are' : ' is'} not ${article(type)}${shown}`
        : (failing) => `${name}: stored as ${source.type}, not ${type} (${failing} non-null values)`,
    });
  }

  const valueRules = rule.min !== undefined || rule.max !== undefined || rule.in !== undefined || rule.pattern !== undefined;
  const nullable = rule.nullable ?? !valueRules;
  if (!nullable) {
    const implied = rule.nullable === undefined;
    rules.push({
      ...common,
      rule: 'nullable',
      expected: false,
      fail: `${col} IS NULL`,
      example: col,
      say: (failing) =>
        `${name}: ${failing} null value${failing > 1 ? 's' : ''}${implied ? ' (not nullable: the column has value rules; add nullable: true to allow nulls)' : ''}`,
    });
  }

  const comparison = (kind: 'number' | 'string' | 'boolean'): Comparison => compare(engine, col, text, source, rule.type, typed, kind, where, derive);
  for (const bound of ['min', 'max'] as const) {
    const value = rule[bound];
    if (value === undefined) continue;
    const c = comparison(typeof value === 'number' ? 'number' : 'string');
    const lit = await c.lit(value, bound);
    const op = bound === 'min' ? '>=' : '<=';
    rules.push({
      ...common,
      rule: bound,
      expected: value,
      fail: c.strict ? `(${c.guard} AND NOT coalesce(${c.value} ${op} ${lit}, FALSE))` : `(${c.guard} AND NOT (${c.value} ${op} ${lit}))`,
      example: c.example,
      observed: c.shown(`${bound}(${c.value})`),
      say: (failing, observed, shown) =>
        `${name}: ${failing} row${failing > 1 ? 's' : ''} ${bound === 'min' ? 'below min' : 'above max'} ${show(value)}${shown}${observed !== null ? `; ${bound} is ${show(observed)}` : ''}`,
    });
  }

  if (rule.in !== undefined) {
    const members = rule.in;
    const kind = members.every((m) => typeof m === 'number') ? 'number' : members.every((m) => typeof m === 'boolean') ? 'boolean' : 'string';
    const c = comparison(kind);
    const lits = await Promise.all(members.map((m, i) => c.lit(m, `in[${i}]`)));
    const set = `(${lits.join(', ')})`;
    rules.push({
      ...common,
      rule: 'in',
      expected: members,
      fail: c.strict ? `(${c.guard} AND NOT coalesce(${c.value} IN ${set}, FALSE))` : `(${c.guard} AND NOT (${c.value} IN ${set}))`,
      example: c.example,
      say: (failing, _o, shown) => `${name}: ${failing} row${failing > 1 ? 's' : ''} not in [${members.map(show).join(', ')}]${shown}`,
    });
  }

  if (rule.pattern !== undefined) {
    const pattern = rule.pattern;
    rules.push({
      ...common,
      rule: 'pattern',
      expected: pattern,
      fail: `(${col} IS NOT NULL AND NOT regexp_matches(${text}, ${str(pattern)}))`,
      example: col,
      say: (failing, _o, shown) => `${name}: ${failing} value${failing > 1 ? 's do' : ' does'} not match /${pattern}/${shown}`,
    });
  }

  if (rule.unique) {
    const key = typed?.compatible ? typed.value : col;
    rules.push({
      ...common,
      rule: 'unique',
      expected: true,
      kind: 'unique',
      fail: 'FALSE',
      key,
      example: col,
      say: (failing, _o, shown) => `${name}: ${failing} row${failing > 1 ? 's repeat' : ' repeats'} an earlier value${shown}`,
    });
  }
  return rules;
}

const article = (type: string) => (type === 'integer' ? 'an integer' : `a ${type}`);

/**
 * How values compare with a bound or set member. With a declared type the typed value is compared
 * (values of the wrong type fail `type`, not this rule). Without one, the bound decides: a number
 * compares numerically (text that is not a number fails the rule), a string compares as text (or as
 * a date/timestamp on date and timestamp columns), booleans as booleans.
 */
function compare(engine: Engine, col: string, text: string, source: DataColumn, declared: ColumnType | undefined, typed: TypedColumn | undefined, kind: 'number' | 'string' | 'boolean', where: (key: string) => string, derive: (expr: string) => string): Comparison {
  const family = familyOf(source.type);
  const checkCast = async (lit: string, sqlType: string, raw: unknown, key: string): Promise<string> => {
    const [row] = await engine.query(`SELECT TRY_CAST(${lit} AS ${sqlType}) IS NULL AS bad`);
    if (row?.bad === true) throw usageError('E_CHECK_VALUE', `${where(key)}: ${show(raw)} is not a valid ${sqlType === 'TIMESTAMPTZ' ? 'timestamp' : sqlType.toLowerCase()}`, { hint: "write dates as 'YYYY-MM-DD' and timestamps as 'YYYY-MM-DD HH:MM:SS[+HH:MM]'" });
    return `CAST(${lit} AS ${sqlType})`;
  };
  const asNumber = (v: string | number | boolean, key: string): string => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw usageError('E_CHECK_VALUE', `${where(key)}: ${show(v)} is not a number`, { hint: 'compare numeric columns with numbers' });
    return num(n);
  };
  const asBoolean = (v: string | number | boolean, key: string): string => {
    if (typeof v === 'boolean') return literal(v);
    if (v === 'true' || v === 'false') return v.toUpperCase();
    throw usageError('E_CHECK_VALUE', `${where(key)}: ${show(v)} is not a boolean`, { hint: 'use true or false' });
  };
  if (declared && typed) {
    if (!typed.compatible) {
      // Every value already fails `type`; comparing would only repeat it.
      return { value: 'NULL', guard: 'FALSE', strict: false, lit: async () => 'NULL', example: col, shown: (s) => s };
    }
    const sqlType = sqlTypeOf(declared);
    const dated = declared === 'date' || declared === 'timestamp';
    return {
      value: typed.value,
      guard: `(${typed.value}) IS NOT NULL`,
      strict: false,
      lit: async (v, key) => {
        if (declared === 'integer' || declared === 'number') return asNumber(v, key);
        if (declared === 'boolean') return asBoolean(v, key);
        // A string column compares with the text of a number or boolean (YAML reads `in: [01, 02]` as numbers).
        if (declared === 'string') return str(String(v));
        if (typeof v !== 'string') throw usageError('E_CHECK_VALUE', `${where(key)}: ${show(v)} is not a ${declared} string`, { hint: `a ${declared} column compares with ${declared === 'date' ? "'YYYY-MM-DD'" : "'YYYY-MM-DD HH:MM:SS'"} strings` });
        return dated ? checkCast(str(v), sqlType, v, key) : str(v);
      },
      example: dated ? `CAST(${typed.value} AS VARCHAR)` : declared === 'string' ? col : typed.value,
      shown: (s) => (dated ? `CAST(${s} AS VARCHAR)` : s),
    };
  }
  const present = `${col} IS NOT NULL`;
  if (kind === 'number') {
    const value = family === 'text' ? derive(`TRY_CAST(${col} AS DOUBLE)`) : `${col}::DOUBLE`;
    const lit = async (v: string | number | boolean, key: string) => {
      if (family !== 'text' && !isNumericFamily(family)) {
        throw usageError('E_CHECK_VALUE', `${where(key)}: column '${source.name}' is ${source.type}; a number does not compare with it`, { hint: 'declare its type, or compare with a string' });
      }
      return asNumber(v, key);
    };
    return { value, guard: present, strict: true, lit, example: col, shown: (s) => s };
  }
  if (kind === 'boolean') {
    const value = family === 'boolean' ? col : `TRY_CAST(${text} AS BOOLEAN)`;
    return { value, guard: present, strict: true, lit: async (v, key) => asBoolean(v, key), example: col, shown: (s) => s };
  }
  if (family === 'date' || family === 'timestamp') {
    const sqlType = family === 'date' ? 'DATE' : 'TIMESTAMPTZ';
    const value = family === 'date' ? col : `${col}::TIMESTAMPTZ`;
    return { value, guard: present, strict: true, lit: async (v, key) => checkCast(str(String(v)), sqlType, v, key), example: `CAST(${col} AS VARCHAR)`, shown: (s) => `CAST(${s} AS VARCHAR)` };
  }
  if (isNumericFamily(family)) {
    return { value: `${col}::DOUBLE`, guard: present, strict: true, lit: async (v, key) => asNumber(v, key), example: col, shown: (s) => s };
  }
  return { value: text, guard: present, strict: true, lit: async (v) => str(String(v)), example: col, shown: (s) => s };
}

/** The first failing rows of each failed rule, in file order: one scan for all row rules, one query per uniqueness rule. */
async function fetchExamples(engine: Engine, ds: Dataset, specs: RuleSpec[], derived: [string, string][]): Promise<{ r: number; v: Plain }[][]> {
  const row = ident(ds.rowColumn);
  const out: { r: number; v: Plain }[][] = specs.map(() => []);
  const parse = (value: Plain): { r: number; v: Plain }[] =>
    Array.isArray(value) ? value.map((e) => (e !== null && typeof e === 'object' && !Array.isArray(e) ? { r: Number(e.r), v: e.v ?? null } : { r: 0, v: e })) : [];
  const rowSpecs = specs.map((s, i) => [s, i] as const).filter(([s]) => s.kind === 'rows');
  if (rowSpecs.length > 0) {
    const list = rowSpecs.map(([s, i]) => `min_by({'r': ${row}, 'v': ${s.example}}, ${row}, ${MAX_EXAMPLES}) FILTER (WHERE ${s.fail}) AS e${i}`);
    const [result] = await queryDataset(engine, ds, (d) => engine.query(`SELECT ${list.join(', ')} FROM ${withDerived(d.numbered, derived)}`)).then((r) => r.result);
    for (const [, i] of rowSpecs) out[i] = parse((result as Row | undefined)?.[`e${i}`] ?? null);
  }
  for (const [s, i] of specs.map((s, i) => [s, i] as const)) {
    if (s.kind !== 'unique') continue;
    const sql = `SELECT ${row} AS r, v FROM (SELECT ${row}, ${s.example} AS v, row_number() OVER (PARTITION BY ${s.key} ORDER BY ${row}) AS k FROM ${withDerived(ds.numbered, derived)} WHERE ${s.key} IS NOT NULL) WHERE k > 1 ORDER BY r LIMIT ${MAX_EXAMPLES}`;
    const rows = (await queryDataset(engine, ds, (d) => engine.query(sql.replace(withDerived(ds.numbered, derived), withDerived(d.numbered, derived))))).result;
    out[i] = rows.map((r) => ({ r: Number(r.r), v: r.v ?? null }));
  }
  return out;
}

/** A table expression with the derived columns added. */
const withDerived = (table: string, derived: [string, string][]): string =>
  derived.length === 0 ? table : `(SELECT *, ${derived.map(([expr, alias]) => `${expr} AS ${alias}`).join(', ')} FROM ${table}) AS mlship_derived`;
