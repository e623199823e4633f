/**
 * Property-based tests (issue 9, fast-check): the parsers that read what users and other writers
 * hand us never throw, whatever the input. `parseConfig` returns a config or problems that each carry
 * file:line:col and a message; `parseLog` and `foldEvents` return events and problems with line
 * numbers; and the CLI, driven in-process through `runCli` with random argv from a grammar of real
 * commands and junk, always exits 0–4 (never 70) and, with --json, prints one well-formed document.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { lineDigest, parseLog } from '../src/registry/chain.js';
import { serializeEvent, type RegistryEvent } from '../src/registry/events.js';
import { foldEvents } from '../src/registry/state.js';
import { runCli } from '../src/cli.js';
import { NODE_MODEL_YAML, baseEnv, tempRepo, type TempRepo } from './helpers/cli.js';

const VALID = {
  version: 1,
  models: {
    churn: {
      artifacts: { model: 'model.bin' },
      evaluate: { command: ['node', 'eval.mjs', '${outputs}'], metrics: 'metrics.json', timeout: '10m', env: { SEED: '7' } },
      gates: [{ metric: 'accuracy', min: 0.8 }, { metric: 'auc', vs: 'production', max_drop: 0.01 }],
      environments: ['staging', 'production'],
      policy: { production: { requires: 'staging', approvals: 1 } },
    },
  },
  checks: { train: { data: 'data/train.csv', rows: { min: 1 }, columns: { age: { type: 'integer', min: 0 } } } },
};

/** Checks one parseConfig result: ok, or a non-empty list of well-formed problems. */
function expectWellFormed(result: ReturnType<typeof parseConfig>, lines: number): void {
  if (result.ok) {
    expect(result.config.version).toBe(1);
    return;
  }
  expect(result.problems.length).toBeGreaterThan(0);
  for (const p of result.problems) {
    expect(p.file).toBe('mlship.yaml');
    expect(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines + 1, `line ${p.line} of ${lines}`).toBe(true);
    expect(Number.isInteger(p.col) && p.col >= 1, `col ${p.col}`).toBe(true);
    expect(typeof p.message === 'string' && p.message.length > 0).toBe(true);
    expect(typeof p.path).toBe('string');
  }
}

const parse = (text: string) => {
  const result = parseConfig(text, 'mlship.yaml');
  expectWellFormed(result, text.split('\n').length);
  return result;
};

/** Set `value` at `path` in a deep copy of `base` (creating mappings on the way). */
function setIn(base: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  path.forEach((key, i) => {
    if (i === path.length - 1) node[key] = value;
    else {
      const next = node[key];
      if (next === null || typeof next !== 'object') node[key] = {};
      node = node[key] as Record<string | number, unknown>;
    }
  });
  return copy;
}

const PATHS: (string | number)[][] = [
  ['version'], ['store'], ['registry'], ['models'], ['models', 'churn'], ['models', 'churn', 'artifacts'], ['models', 'churn', 'artifacts', 'model'],
  ['models', 'churn', 'evaluate'], ['models', 'churn', 'evaluate', 'command'], ['models', 'churn', 'evaluate', 'command', 1], ['models', 'churn', 'evaluate', 'env'],
  ['models', 'churn', 'evaluate', 'timeout'], ['models', 'churn', 'evaluate', 'runner'], ['models', 'churn', 'evaluate', 'predictions'], ['models', 'churn', 'gates'],
  ['models', 'churn', 'gates', 0], ['models', 'churn', 'gates', 0, 'min'], ['models', 'churn', 'gates', 1, 'vs'], ['models', 'churn', 'environments'],
  ['models', 'churn', 'policy'], ['models', 'churn', 'policy', 'production', 'approvals'], ['checks'], ['checks', 'train'], ['checks', 'train', 'columns', 'age'],
  ['checks', 'train', 'drift'], ['models', 'churn', 'evaluate', 'command', 2], ['models', '__proto__'], ['constructor'], ['models', 'churn', 'artifacts', 'a b'],
];

/** Fragments YAML is made of, for raw documents that look almost like YAML. */
const yamlToken = fc.constantFrom(
  'version: 1\n', 'models:\n', '  churn:\n', '    artifacts: { model: model.bin }\n', '- ', ': ', '[', ']', '{', '}', ',', '&a ', '*a', '<<: *a\n', '!!binary ', '!!str ', '? ',
  '|\n', '>-\n', '"', "'", '#', '\n', '  ', '\t', '\r\n', '\uFEFF', '---\n', '...\n', '%YAML 1.2\n', '${outputs}', '1e400', '.nan', '~', 'null', '\0', '\uD800', '@', '`',
);

describe('parseConfig never throws', () => {
  it('random values serialized as YAML (and no Node warning printed for odd keys)', () => {
    const warn = vi.spyOn(process, 'emitWarning');
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4, withNullPrototype: true, withBigInt: false, withMap: true, withSet: true, withDate: true, withSparseArray: true, withObjectString: true }), (value) => {
        let text: unknown;
        try {
          text = stringify(value);
        } catch {
          return; // the yaml package cannot write every JS value; nothing to parse then
        }
        if (typeof text === 'string') parse(text);
      }),
      { numRuns: 200 },
    );
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('a valid config with one random value at a real key path', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATHS), fc.oneof(fc.anything({ maxDepth: 3 }), fc.string({ unit: 'binary' }), fc.double(), fc.constantFrom(Infinity, -Infinity, Number.NaN, '', '../x', '/etc/passwd', '${nope}')), (path, value) => {
        const result = parse(stringify(setIn(VALID, path, value)));
        // The unchanged keys never produce problems pointing at line 0.
        if (!result.ok) expect(result.problems.every((p) => p.line >= 1)).toBe(true);
      }),
      { numRuns: 150 },
    );
    // The unmutated document is valid: the property above does mutate something real.
    expect(parse(stringify(VALID)).ok).toBe(true);
  });

  it('raw random strings and YAML-ish token soup', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.array(yamlToken, { maxLength: 60 }).map((t) => t.join(''))), (text) => {
        parse(text);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Registry lines

const AT = '2026-01-02T03:04:05.000Z';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A valid chain of `n` events (register, promote, approve, rollback, deprecate) for model m. */
function validLines(n: number): string[] {
  const lines: string[] = [];
  let prev: string | null = null;
  for (let i = 0; i < n; i++) {
    const seq = i + 1;
    const base = { seq, model: 'm', at: AT, actor: 'dev@example.com', prev };
    const kind = i % 5;
    const event: RegistryEvent =
      kind === 0 || i < 2
        ? { ...base, type: 'register', version: Math.floor(i / 5) + (i < 2 ? i + 1 : 2), digest: DIGEST, commit: null, dirty: false, branch: 'main', artifacts: { model: { path: 'model.bin', kind: 'file', digest: DIGEST, size: 3, uri: 'file://x' } }, metrics: { accuracy: 0.9 }, gates: [], checks: [], runner: null, store: 'file://.mlship/store' }
        : kind === 2
          ? { ...base, type: 'promote', version: 1, env: 'staging', from: null }
          : kind === 3
            ? { ...base, type: 'approve', version: 1, env: 'production' }
            : { ...base, type: 'deprecate', version: 2, reason: 'old' };
    const line = serializeEvent(event);
    lines.push(line);
    prev = lineDigest(line);
  }
  return lines;
}

/** One mutation of a registry file's lines, as an attacker or a broken writer would make it. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), with: fc.oneof(fc.json(), fc.string({ unit: 'binary' })) }),
  fc.record({ kind: fc.constant('field' as const), at: fc.nat(), key: fc.constantFrom('seq', 'type', 'model', 'version', 'at', 'actor', 'prev', 'env', 'from', 'artifacts', 'metrics', 'digest', 'reason', 'weight', 'stable', 'canary', '__proto__'), value: fc.jsonValue() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), offset: fc.nat(), char: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
  fc.record({ kind: fc.constant('type' as const), at: fc.nat(), type: fc.constantFrom('register', 'promote', 'approve', 'rollback', 'deprecate', 'canary') }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(lines: string[], m: Mutation): string[] {
  if (lines.length === 0) return lines;
  const out = [...lines];
  const i = m.at % out.length;
  const line = out[i] as string;
  switch (m.kind) {
    case 'replace':
      out[i] = typeof m.with === 'string' ? m.with : JSON.stringify(m.with);
      break;
    case 'field':
    case 'type': {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        break; // an earlier mutation made the line something else already
      }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) break;
      if (m.kind === 'field') (obj as Record<string, unknown>)[m.key] = m.value;
      else (obj as Record<string, unknown>)['type'] = m.type;
      out[i] = JSON.stringify(obj);
      break;
    }
    case 'delete':
      out.splice(i, 1);
      break;
    case 'swap':
      if (i + 1 < out.length) [out[i], out[i + 1]] = [out[i + 1] as string, line];
      break;
    case 'byte': {
      const at = m.offset % Math.max(1, line.length);
      out[i] = line.slice(0, at) + m.char + line.slice(at + 1);
      break;
    }
  }
  return out;
}

/** parseLog then foldEvents; asserts both never throw and that every problem has a sane line. */
function checkLog(text: string): void {
  const lineCount = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const parsed = parseLog(text, 'm');
  expect(parsed.count).toBe(lineCount);
  // Bytes or text, the same reading.
  expect(parseLog(Buffer.from(text, 'utf8'), 'm')).toEqual(parsed);
  for (const p of parsed.problems) {
    expect(Number.isInteger(p.line) && p.line >= 1 && p.line <= Math.max(1, lineCount), `line ${p.line} of ${lineCount}`).toBe(true);
    expect(p.message.length).toBeGreaterThan(0);
  }
  // Every line is either an event or an E_EVENT problem.
  const bad = new Set(parsed.problems.filter((p) => p.code === 'E_EVENT').map((p) => p.line));
  expect(parsed.events.length + bad.size).toBe(lineCount);
  const folded = foldEvents('m', parsed.events);
  for (const p of folded.problems) {
    expect(Number.isInteger(p.line) && p.line >= 1).toBe(true);
    expect(p.message.length).toBeGreaterThan(0);
  }
  expect(folded.state.model).toBe('m');
}

describe('parseLog and foldEvents never throw', () => {
  it('the valid chain has no problems (so the mutations below start from a good log)', () => {
    const text = `${validLines(12).join('\n')}\n`;
    const parsed = parseLog(text, 'm');
    expect(parsed.problems).toEqual([]);
    expect(foldEvents('m', parsed.events).problems).toEqual([]);
  });

  it('random JSON values and random strings as lines', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.json(), fc.string({ unit: 'binary' }), fc.jsonValue().map((v) => JSON.stringify(v))), { maxLength: 12 }), fc.boolean(), (lines, newline) => {
        checkLog(lines.map((l) => l.replace(/\n/g, ' ')).join('\n') + (newline && lines.length > 0 ? '\n' : ''));
      }),
      { numRuns: 300 },
    );
  });

  it('valid chains with random mutations (edits, deletions, swaps, wrong types, flipped bytes)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 15 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (n, mutations, newline) => {
        let lines = validLines(n);
        for (const m of mutations) lines = mutate(lines, m);
        const text = lines.map((l) => l.replace(/\n/g, ' ')).join('\n') + (newline && lines.length > 0 ? '\n' : '');
        checkLog(text);
      }),
      { numRuns: 250 },
    );
  });

  it('events that pass the line check but make no sense in order are fold problems, not crashes', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ type: fc.constantFrom('register', 'promote', 'approve', 'rollback', 'deprecate', 'canary'), version: fc.integer({ min: 1, max: 4 }), from: fc.integer({ min: 0, max: 4 }), stable: fc.integer({ min: 0, max: 4 }), env: fc.constantFrom('staging', 'production', '__proto__', 'constructor'), canary: fc.boolean(), weight: fc.integer({ min: 1, max: 99 }) }), { maxLength: 20 }), (specs) => {
        let prev: string | null = null;
        const lines = specs.map((s, i) => {
          const raw: Record<string, unknown> = { seq: i + 1, type: s.type, model: 'm', version: s.version, at: AT, actor: 'a', prev, digest: DIGEST, artifacts: {}, metrics: {}, env: s.env, from: s.from, reason: 'r', stable: s.stable, weight: s.weight, canary: s.canary };
          const line = JSON.stringify(raw);
          prev = lineDigest(line);
          return line;
        });
        checkLog(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI in-process

class Sink extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

let repo: TempRepo;
let outside: string;

beforeAll(async () => {
  repo = tempRepo({
    files: {
      '.gitignore': '.mlship/store/\n.mlship/cache/\n',
      'model.bin': 'weights v1\n',
      'data/d.csv': 'id,age\n1,30\n2,40\n',
      'eval.mjs': "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2] + '/metrics.json', JSON.stringify({ accuracy: 0.9 }));\n",
      'mlship.yaml': `version: 1
checks:
  d: { data: data/d.csv, columns: { age: { type: integer, min: 0 } } }
${NODE_MODEL_YAML}`,
    },
  });
  outside = mkdtempSync(join(tmpdir(), 'mlship-prop-outside-'));
  writeFileSync(join(outside, 'x.yaml'), 'version: 2\n');
  // One registered version, so refs resolve and promote/rollback get past "no versions".
  const code = await cli(['run']);
  if (code.code !== 0) throw new Error(`setup run failed: ${code.stdout}${code.stderr}`);
}, 120_000);

afterAll(() => {
  rmSync(repo.dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(['node', 'mlship', ...args], {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    env: baseEnv(),
    cwd: repo.dir,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const junk = fc.oneof(
  fc.constantFrom('', '-', '--', '---', '-x', '--no-such', '@', 'm@', 'm@-1', 'm@sha256:xyz', '@3', 'm@latest', 'm@1', 'm@production', 'm@staging', 'm@999', 'm@sha256:abcd', 'nope@1', '模型@1', 'm x', '$(touch /tmp/pwned-prop)', '`id`', ';', '|', '../..', '/etc/passwd', '%s%n', '${outputs}', '--json', '-q', '-v', 'NaN', '1e400', '-1'),
  fc.string({ maxLength: 12 }),
);
const commandWords = fc.constantFrom(
  ['validate'], ['validate', '--no-data'], ['check'], ['check', 'd'], ['status'], ['history'], ['history', 'm'], ['diff'], ['pull'], ['promote'], ['approve'], ['rollback'],
  ['deprecate'], ['verify'], ['hash'], ['hash', 'model.bin'], ['canary', 'verify'], ['hook'], ['frobnicate'], ['init'], ['push-registry'], ['register'], [],
);
const options = fc.constantFrom(
  ['--to', 'staging'], ['--to', 'nowhere'], ['--for', 'production'], ['--env', 'production'], ['--reason', 'why'], ['--reason', ''], ['--force'], ['--canary', '150'], ['--canary', 'abc'],
  ['-o', 'out'], ['-o', '/proc/self'], ['--since', 'HEAD~99'], ['--since', '--all'], ['--runner', 'shell'], ['--template', '../../etc'], ['-C', 'no/such'], ['-C', '.'], ['-c', 'nope.yaml'],
  ['--store'], ['--staged'], ['--metrics', 'nope.json'], ['--comment', 'c'], ['--push'],
);

describe('runCli with random argv', () => {
  it('always exits 0-4, never 70; with --json one well-formed document', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), commandWords, fc.array(fc.oneof(junk, options.map((o) => o.join('\u0001'))), { maxLength: 4 }), fc.boolean(), async (json, words, rest, outsideConfig) => {
        // outsideConfig: -c names a config outside the repository (version 2): a config error, not a crash.
        const tail = rest.flatMap((r) => r.split('\u0001'));
        const argv = [...(json ? ['--json'] : []), ...(outsideConfig ? ['-c', join(outside, 'x.yaml')] : []), ...words, ...tail];
        const r = await cli(argv);
        const shown = `mlship ${JSON.stringify(argv)} -> ${r.code}\n${r.stdout.slice(0, 1500)}\n${r.stderr.slice(0, 1500)}`;
        expect([0, 1, 2, 3, 4], shown).toContain(r.code);
        expect(`${r.stdout}${r.stderr}`, shown).not.toMatch(/internal error|^ {4}at /m);
        const helpOrVersion = argv.some((a) => a === '--help' || a === '-h' || a === '-V' || a === '--version');
        if (argv.includes('--json') && !helpOrVersion) {
          let doc: unknown;
          expect(() => (doc = JSON.parse(r.stdout)), `one JSON document\n${shown}`).not.toThrow();
          expect(doc !== null && typeof doc === 'object', shown).toBe(true);
          if (r.code >= 2) {
            const error = (doc as { error?: { code?: unknown; message?: unknown } }).error;
            expect(typeof error?.code === 'string' && typeof error.message === 'string' && error.message !== '', shown).toBe(true);
          }
        }
      }),
      { numRuns: 80 },
    );
  }, 300_000);
});
