/**
 * The parser: `parseConfig` is pure and reports every problem at once as
 * `mlship.yaml:LINE:COL key.path: message`, with a "did you mean" for unknown keys. A valid config
 * comes with the position of every node, so later errors can point into the file without the
 * document (and a cached config needs neither yaml nor zod: cache.ts).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { MlshipError, usageError } from '../errors.js';
import { formatKeyPath, pathKey, whereFrom, type KeyPath, type Positions } from './file.js';
import { Config } from './schema.js';
import { closest } from './suggest.js';

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

/** Limit that keeps a hostile file from exhausting memory (alias bombs). */
const MAX_ALIASES = 1000;

export const formatProblem = (p: ConfigProblem): string =>
  `${p.file}:${p.line}:${p.col}${p.path === '' ? '' : ` ${p.path}`}: ${p.message}`;

export const configError = (problems: ConfigProblem[]): MlshipError =>
  usageError('E_CONFIG', problems.map(formatProblem).join('\n'), {
    hint: problems.length > 1 ? `${problems.length} problems; fix them and run 'mlship validate'` : "fix it and run 'mlship validate'",
    details: { problems },
  });

type ParseResult =
  | { ok: true; config: Config; positions: Positions; where: (path: KeyPath) => string }
  | { ok: false; problems: ConfigProblem[] };

/** Pure: YAML text -> validated config, or every problem with its position. */
export function parseConfig(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // logLevel 'error': the yaml package would otherwise print a Node warning to stderr for a complex
  // key (`? [a, b]`); the schema reports such a key as a problem anyway.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true, logLevel: 'error' });
  const at = (offset: number) => lineCounter.linePos(Math.max(0, Math.min(offset, source.length)));
  const problem = (offset: number, path: KeyPath, message: string): ConfigProblem => {
    const { line, col } = at(offset);
    return { file, line, col, path: formatKeyPath(path), message };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => problem(e.pos[0], [], yamlMessage(e.code, e.message))),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    return { ok: false, problems: [problem(0, [], `cannot be expanded: ${(error as Error).message}`)] };
  }
  if (data === null || data === undefined) {
    return { ok: false, problems: [problem(0, [], "the file is empty; it needs at least 'version: 1' and 'models:'")] };
  }

  const parsed = Config.safeParse(data);
  if (parsed.success) {
    const placeholderProblems = checkPlaceholders(parsed.data, (path, message) => problem(offsetOf(doc, path), path, message));
    if (placeholderProblems.length > 0) return { ok: false, problems: placeholderProblems };
    const positions = positionsOf(doc, at);
    return { ok: true, config: parsed.data, positions, where: whereFrom(file, positions) };
  }
  const problems: ConfigProblem[] = [];
  for (const issue of flattenIssues(parsed.error.issues, [])) {
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(Config, issue.path, data);
      for (const key of issue.keys) {
        const suggestion = closest(key, known);
        const hint = suggestion !== undefined ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (expected one of: ${known.join(', ')})` : '';
        problems.push(problem(keyOffsetOf(doc, [...issue.path, key]), [...issue.path, key], `unknown key${hint}`));
      }
      continue;
    }
    const value = valueAt(data, issue.path);
    // A problem about a whole mapping points at its key; any other at the value itself.
    const offset = value !== null && typeof value === 'object' && !Array.isArray(value) && issue.path.length > 0 ? keyOffsetOf(doc, issue.path) : offsetOf(doc, issue.path);
    problems.push(problem(offset, issue.path, describeIssue(issue, value)));
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return { ok: false, problems: dedupe(problems) };
}

const dedupe = (problems: ConfigProblem[]) => {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0] ?? message;
  if (code === 'DUPLICATE_KEY') return `duplicate key: ${first.replace(/ at line.*$/, '')}`;
  return `invalid YAML: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

type Issue = z.core.$ZodIssue;
type FlatIssue = Issue & { path: (string | number)[] };

/** Unions report one issue list per branch: keep the branch that got furthest into the value. */
function flattenIssues(issues: readonly Issue[], prefix: (string | number)[]): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((branch) => flattenIssues(branch, path));
      const score = (branch: FlatIssue[]) =>
        Math.min(...branch.map((i) => (i.code === 'invalid_type' && i.path.length === path.length ? 0 : i.path.length + 1)));
      const best = branches.reduce((a, b) => (score(b) > score(a) ? b : a));
      if (score(best) === 0) {
        out.push({ ...issue, path, message: describeUnion(issue) } as FlatIssue);
      } else {
        out.push(...best);
      }
      continue;
    }
    out.push({ ...issue, path } as FlatIssue);
  }
  return out;
}

function describeUnion(issue: Issue & { code: 'invalid_union' }): string {
  const expected = issue.errors
    .map((branch) => branch.find((i) => i.code === 'invalid_type' && i.path.length === 0))
    .filter((i): i is Issue & { code: 'invalid_type' } => i !== undefined && i.code === 'invalid_type')
    .map((i) => i.expected);
  return expected.length > 0 ? `expected ${[...new Set(expected)].join(' or ')}` : issue.message;
}

const typeName = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;

function describeIssue(issue: FlatIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = issue.expected === 'object' || issue.expected === 'record' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`;
      return value === undefined ? `required (${expected})` : `expected ${expected}, got ${typeName(value)}`;
    }
    case 'invalid_value':
      if (value === undefined) return `required (${issue.values.map((v) => JSON.stringify(v)).join(' or ')})`;
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}, got ${JSON.stringify(value)}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}${suggestValue(value, issue.values)}`;
    case 'invalid_union':
      return describeUnion(issue);
    case 'too_small':
      return issue.origin === 'array' ? `needs at least ${String(issue.minimum)} item(s)` : issue.origin === 'string' ? 'must not be empty' : `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}, got ${JSON.stringify(value)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}, got ${JSON.stringify(value)}`;
    case 'invalid_key': {
      // A record key that fails its pattern (a model, artifact, check or environment variable name):
      // zod's own message is "Invalid key in record"; the pattern's message says what a name may be.
      const inner = issue.issues.map((i) => i.message).filter((m) => m !== '');
      return inner.length > 0 ? `${JSON.stringify(issue.path[issue.path.length - 1] ?? '')} is not a valid name: ${[...new Set(inner)].join('; ')}` : issue.message;
    }
    case 'invalid_format':
    case 'custom':
    default:
      return issue.message;
  }
}

function suggestValue(value: unknown, values: readonly unknown[]): string {
  if (typeof value !== 'string') return '';
  const suggestion = closest(value, values.filter((v): v is string => typeof v === 'string'));
  return suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`;
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** The keys a strict object at `path` accepts, read from the zod schema (for "did you mean"). */
function keysAt(schema: z.ZodType, path: KeyPath, data: unknown): string[] {
  let current: z.core.$ZodType | undefined = schema;
  const unwrap = (s: z.core.$ZodType | undefined): z.core.$ZodType | undefined => {
    let t = s;
    for (let i = 0; i < 20 && t !== undefined; i++) {
      const def = t._zod.def as unknown as Record<string, unknown> & { type: string };
      if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') t = def['innerType'] as z.core.$ZodType;
      else if (def.type === 'pipe') t = def['in'] as z.core.$ZodType;
      else break;
    }
    return t;
  };
  const objectOf = (s: z.core.$ZodType | undefined, value: unknown): z.core.$ZodType | undefined => {
    const t = unwrap(s);
    if (t === undefined) return undefined;
    const def = t._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type !== 'union') return t;
    // Prefer the object branch for mappings.
    const options = def['options'] as z.core.$ZodType[];
    const wantObject = value !== null && typeof value === 'object' && !Array.isArray(value);
    return options.map(unwrap).find((o) => o !== undefined && (o._zod.def.type === 'object') === wantObject) ?? options[0];
  };
  let value = data;
  for (const key of path) {
    current = objectOf(current, value);
    if (current === undefined) return [];
    const def = current._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'object') current = (def['shape'] as Record<string, z.core.$ZodType>)[String(key)];
    else if (def.type === 'record') current = def['valueType'] as z.core.$ZodType;
    else if (def.type === 'array') current = def['element'] as z.core.$ZodType;
    else return [];
    value = value !== null && typeof value === 'object' ? (value as Record<string | number, unknown>)[key] : undefined;
  }
  current = objectOf(current, value);
  if (current === undefined || current._zod.def.type !== 'object') return [];
  return Object.keys((current._zod.def as unknown as { shape: Record<string, unknown> }).shape).filter((k) => k !== '$schema');
}

/** Line and column of every node reachable by keys and indexes (aliases are not followed). */
function positionsOf(doc: Document, at: (offset: number) => { line: number; col: number }): Positions {
  const positions: Positions = {};
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (node === null || typeof node !== 'object' || !('range' in node)) return;
    const range = (node as Node).range;
    if (range) {
      const { line, col } = at(range[0]);
      positions[pathKey(path)] = [line, col];
    }
    if (isMap(node)) {
      for (const pair of node.items) if (isScalar(pair.key)) visit(pair.value, [...path, String(pair.key.value)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    }
  };
  visit(doc.contents, []);
  return positions;
}

/** Offset of the value at `path`, or of the deepest existing ancestor. */
function offsetOf(doc: Document, path: KeyPath): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node !== undefined && node !== null && typeof node === 'object' && 'range' in node && node.range) {
      // For a missing key, point at its parent mapping's first key rather than the whole document.
      return node.range[0];
    }
  }
  return 0;
}

/** Offset of the key itself (for unknown keys), falling back to the value. */
function keyOffsetOf(doc: Document, path: KeyPath): number {
  const parent = path.length <= 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const key = path[path.length - 1];
  if (isMap(parent)) {
    for (const pair of parent.items) {
      const k = pair.key as Node | null;
      if (k !== null && typeof k === 'object' && 'value' in k && String((k as { value: unknown }).value) === String(key) && k.range) return k.range[0];
    }
  }
  if (isSeq(parent) && typeof key === 'number') {
    const item = parent.items[key] as Node | undefined;
    if (item?.range) return item.range[0];
  }
  return offsetOf(doc, path);
}

/** `${...}` placeholders in evaluate.command and paths: only known names are allowed. */
const PLACEHOLDER = /\$\{([^}]*)\}/g;

function checkPlaceholders(config: Config, report: (path: KeyPath, message: string) => ConfigProblem): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [modelName, model] of Object.entries(config.models)) {
    const evaluate = model.evaluate;
    if (evaluate === undefined) continue;
    const artifacts = Object.keys(model.artifacts);
    const known = ['outputs', 'model', 'version', 'root', ...artifacts.map((a) => `artifacts.${a}`)];
    const check = (value: string, path: KeyPath) => {
      for (const match of value.matchAll(PLACEHOLDER)) {
        const name = (match[1] ?? '').trim();
        if (!known.includes(name)) {
          const suggestion = closest(name, known);
          problems.push(report(path, `unknown placeholder \${${name}}${suggestion !== undefined ? ` (did you mean \${${suggestion}}?)` : ` (known: ${known.map((k) => `\${${k}}`).join(', ')})`}`));
        }
      }
    };
    evaluate.command.forEach((arg, i) => check(arg, ['models', modelName, 'evaluate', 'command', i]));
    for (const [key, value] of Object.entries(evaluate.env)) check(value, ['models', modelName, 'evaluate', 'env', key]);
    if (evaluate.predictions !== undefined) check(evaluate.predictions.path, ['models', modelName, 'evaluate', 'predictions', 'path']);
  }
  return problems;
}
