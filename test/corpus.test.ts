/**
 * The bad-input corpus (issue 9): every folder below test/corpus/ is one case. Its files (all but
 * case.json) are laid over a minimal working project in a fresh git repository, the built CLI runs
 * `args`, and the case's expectations are checked: the exit code, a message fragment in the named
 * stream, and — for every case — no stack trace, no "internal error" and never exit 70.
 *
 * case.json:
 *   { "args": [...], "exit": N, "message": "fragment", "stream": "stderr" | "stdout" | "json",
 *     "description"?: "...", "setup"?: CaseSetup }
 * Adding a case is adding a folder. CORPUS_ONLY=fragment runs the cases whose folder name contains it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, NODE_MODEL_YAML, ROOT, baseEnv, git, mlship, tempRepo, type CliResult } from './helpers/cli.js';

const CORPUS = join(ROOT, 'test', 'corpus');

/** What a case needs beyond its files. */
interface CaseSetup {
  /** 'node' (default): the minimal project (model.bin, eval.mjs, mlship.yaml) under the case's files; 'empty': only the case's files. */
  base?: 'node' | 'empty';
  /** Commit the files (default true). */
  commit?: boolean;
  /** Not a git repository at all. */
  noGit?: boolean;
  /** Files too large or too odd to keep in the repository: prefix + repeat × times + suffix. */
  generate?: { path: string; prefix?: string; repeat: string; times: number; suffix?: string }[];
  /** Symbolic links; a target starting with `$OUTSIDE` points at (or into) a folder outside the repository. */
  symlinks?: { path: string; target: string }[];
  /** mlship commands run first; each must exit 0. */
  before?: string[][];
  env?: Record<string, string>;
}

interface CorpusCase {
  name: string;
  description?: string;
  args: string[];
  exit: number;
  message: string;
  stream: 'stderr' | 'stdout' | 'json';
  setup?: CaseSetup;
}

/**
 * The base project: one model, an evaluation that copies every file of `eval-inputs/` into the
 * outputs folder (so a case supplies a metrics or predictions file by placing it there), and writes
 * `{"accuracy":0.9}` as metrics.json when the case gave none.
 */
const BASE: Record<string, string> = {
  '.gitignore': '.mlship/store/\n.mlship/cache/\n',
  'model.bin': 'weights v1\n',
  'eval.mjs': `import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const out = process.argv[2];
if (existsSync('eval-inputs')) for (const name of readdirSync('eval-inputs')) copyFileSync(join('eval-inputs', name), join(out, name));
if (!existsSync(join(out, 'metrics.json'))) writeFileSync(join(out, 'metrics.json'), JSON.stringify({ accuracy: 0.9 }));
`,
  'mlship.yaml': `version: 1\n${NODE_MODEL_YAML}`,
};

function loadCases(): CorpusCase[] {
  return readdirSync(CORPUS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(CORPUS, d.name, 'case.json')))
    .map((d) => ({ name: d.name, ...(JSON.parse(readFileSync(join(CORPUS, d.name, 'case.json'), 'utf8')) as Omit<CorpusCase, 'name'>) }))
    .filter((c) => process.env['CORPUS_ONLY'] === undefined || c.name.includes(process.env['CORPUS_ONLY']))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const outside = mkdtempSync(join(tmpdir(), 'mlship-corpus-outside-'));
writeFileSync(join(outside, 'secret.txt'), 'outside the repository\n');
writeFileSync(join(outside, 'data.csv'), 'id,age\n1,30\n');
afterAll(() => rmSync(outside, { recursive: true, force: true }));

/** Copy the case's files (not case.json) into `dir`. */
function copyCaseFiles(from: string, dir: string): void {
  for (const entry of readdirSync(from)) {
    if (entry === 'case.json') continue;
    cpSync(join(from, entry), join(dir, entry), { recursive: true, verbatimSymlinks: true });
  }
}

/** A git repository holding the base project, copied for each case (cheaper than git init each time). */
let template: string | undefined;
const templateRepo = (): string => (template ??= tempRepo({ files: BASE, commit: false }).dir);
afterAll(() => {
  if (template !== undefined) rmSync(template, { recursive: true, force: true });
});

async function prepare(c: CorpusCase): Promise<string> {
  const setup = c.setup ?? {};
  const dir = mkdtempSync(join(tmpdir(), 'mlship-corpus-'));
  if (setup.noGit === true) {
    for (const [path, content] of Object.entries(BASE)) writeFileSync(join(dir, path), content);
  } else if (setup.base === 'empty') {
    git(dir, 'init', '-q', '-b', 'main');
  } else {
    cpSync(templateRepo(), dir, { recursive: true });
  }
  copyCaseFiles(join(CORPUS, c.name), dir);
  for (const g of setup.generate ?? []) {
    mkdirSync(dirname(join(dir, g.path)), { recursive: true });
    writeFileSync(join(dir, g.path), `${g.prefix ?? ''}${g.repeat.repeat(g.times)}${g.suffix ?? ''}`);
  }
  for (const link of setup.symlinks ?? []) {
    mkdirSync(dirname(join(dir, link.path)), { recursive: true });
    symlinkSync(link.target.replace(/^\$OUTSIDE(?=\/|$)/, outside), join(dir, link.path));
  }
  if (setup.noGit !== true && setup.commit !== false) {
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'corpus case');
  }
  for (const args of setup.before ?? []) {
    const r = await mlship(args, { cwd: dir, env: setup.env });
    if (r.code !== 0) throw new Error(`setup command mlship ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  }
  return dir;
}

function streamOf(c: CorpusCase, r: CliResult): string {
  if (c.stream === 'stderr') return r.stderr;
  if (c.stream === 'stdout') return r.stdout;
  // One JSON document on stdout, nothing else.
  const doc = JSON.parse(r.stdout) as unknown;
  return JSON.stringify(doc);
}

const cases = loadCases();

/** Cases run this many at a time (each is a git repository and one or two node processes). */
const PARALLEL = 8;

interface Outcome {
  result?: CliResult;
  error?: unknown;
  /** The command was still running after CASE_LIMIT_MS and was killed (a hang on hostile input). */
  hung?: boolean;
}

/** Far above what any case needs on a loaded machine; a case still running then is hung. */
const CASE_LIMIT_MS = 90_000;

/** Like `mlship` from the helpers, but a command that does not finish is killed and reported. */
function runBounded(args: string[], cwd: string, env: Record<string, string> | undefined): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, CASE_LIMIT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => resolve({ error }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: CliResult = { code, signal, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
      resolve({ result, hung });
    });
  });
}

async function runCase(c: CorpusCase): Promise<Outcome> {
  let dir: string | undefined;
  try {
    dir = await prepare(c);
    return await runBounded(c.args, dir, c.setup?.env);
  } catch (error) {
    return { error };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

const outcomes = new Map<string, Outcome>();

beforeAll(async () => {
  const queue = [...cases];
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) outcomes.set(c.name, await runCase(c));
    }),
  );
}, 600_000);

describe('corpus', () => {
  it('has at least 50 cases, each with a valid case.json', () => {
    if (process.env['CORPUS_ONLY'] === undefined) expect(cases.length).toBeGreaterThanOrEqual(50);
    for (const c of cases) {
      expect(Array.isArray(c.args) && c.args.every((a) => typeof a === 'string'), `${c.name}: args`).toBe(true);
      expect([0, 1, 2, 3, 4], `${c.name}: exit`).toContain(c.exit);
      expect(['stderr', 'stdout', 'json'], `${c.name}: stream`).toContain(c.stream);
      expect(typeof c.message === 'string' && c.message !== '', `${c.name}: message`).toBe(true);
      expect(statSync(join(CORPUS, c.name)).isDirectory()).toBe(true);
    }
  });

  for (const c of cases) {
    it(`${c.name}: mlship ${c.args.join(' ')} -> exit ${c.exit}`, () => {
      const outcome = outcomes.get(c.name);
      if (outcome?.error !== undefined) throw outcome.error;
      const r = outcome?.result;
      if (r === undefined) throw new Error('the case did not run');
      expect(outcome?.hung, `finished (killed after ${CASE_LIMIT_MS} ms)\n${r.stdout.slice(0, 2000)}\n${r.stderr.slice(0, 2000)}`).toBe(false);
      const all = `${r.stdout}\n${r.stderr}`;
      const shown = `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 3000)}\n--- stderr\n${r.stderr.slice(0, 3000)}`;
      expect(r.code, `never exit 70 (a bug)\n${shown}`).not.toBe(70);
      expect(all, `no stack trace\n${shown}`).not.toMatch(/^ {4}at /m);
      expect(all, `no internal error\n${shown}`).not.toMatch(/internal error|E_INTERNAL/);
      expect(r.stderr, `no Node.js warning\n${shown}`).not.toMatch(/^\(node:\d+\) \w*Warning/m);
      // A hostile input is never echoed back whole (10 MB strings, alias bombs).
      expect(all.length, `output is bounded\n${shown}`).toBeLessThan(100_000);
      expect(r.code, shown).toBe(c.exit);
      if (c.stream === 'json') expect(() => JSON.parse(r.stdout), `exactly one JSON document on stdout\n${shown}`).not.toThrow();
      expect(streamOf(c, r), shown).toContain(c.message);
    });
  }
});
