/**
 * Helpers for the bad-input and tamper end-to-end tests: a snapshot of everything mlship may write
 * (registry files, git commits and index, store objects), so a test can assert that a refused command
 * wrote nothing; and the tools an attacker would use on a registry file (edit a line, re-chain the rest).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { baseEnv, git, mlship, repoAt, type CliResult, type TempRepo } from './cli.js';

/** Every file below `dir` (relative paths, sorted); [] when `dir` does not exist. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

function gitOut(cwd: string, ...args: string[]): string | undefined {
  const r = spawnSync('git', args, { cwd, env: baseEnv(), encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export interface Snapshot {
  /** `git rev-list --count HEAD`, or undefined outside a repository. */
  commits: string | undefined;
  head: string | undefined;
  /** Staged changes (a refused command must not leave anything staged). */
  staged: string | undefined;
  /** path -> content of every file under .mlship/registry. */
  registry: Record<string, string>;
  /** Files under .mlship/store/objects. */
  objects: string[];
}

export function snapshot(dir: string): Snapshot {
  const registryDir = join(dir, '.mlship', 'registry');
  return {
    commits: gitOut(dir, 'rev-list', '--count', 'HEAD'),
    head: gitOut(dir, 'rev-parse', 'HEAD'),
    staged: gitOut(dir, 'diff', '--cached', '--name-only'),
    registry: Object.fromEntries(listFiles(registryDir).map((f) => [f, readFileSync(join(registryDir, f), 'utf8')])),
    objects: listFiles(join(dir, '.mlship', 'store', 'objects')),
  };
}

/**
 * Asserts that nothing was recorded: same commits, nothing staged, registry files byte-identical.
 * With `store: true`, also that no object was added to the local store.
 */
export function expectNothingWritten(dir: string, before: Snapshot, options: { store?: boolean } = {}): void {
  const after = snapshot(dir);
  expect(after.commits, 'no new git commit').toBe(before.commits);
  expect(after.head, 'HEAD unchanged').toBe(before.head);
  expect(after.staged, 'nothing staged').toBe(before.staged);
  expect(after.registry, 'registry files unchanged').toEqual(before.registry);
  if (options.store === true) expect(after.objects, 'no object added to the store').toEqual(before.objects);
}

/** No stack trace, never the "bug" exit code, and the expected exit code. */
export function expectCleanFailure(result: CliResult, code: number): void {
  const context = `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
  expect(result.code, context).not.toBe(70);
  expect(result.code, context).toBe(code);
  expect(result.stderr, 'no stack trace').not.toMatch(/^\s{4}at /m);
  expect(result.stdout, 'no stack trace').not.toMatch(/^\s{4}at /m);
  expect(`${result.stdout}${result.stderr}`).not.toContain('internal error');
}

/** stdout + stderr, for "the message says …" assertions that should not care which stream. */
export const allOutput = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;

/** `--json` error document: exactly one JSON document with error.code/message/hint. */
export function expectJsonError(result: CliResult): { code: string; message: string; hint?: string } {
  let doc: { error?: { code?: unknown; message?: unknown; hint?: unknown } };
  try {
    doc = JSON.parse(result.stdout) as typeof doc;
  } catch (error) {
    throw new Error(`stdout is not exactly one JSON document: ${(error as Error).message}\n${result.stdout}`);
  }
  expect(doc.error, result.stdout).toBeDefined();
  expect(typeof doc.error?.code).toBe('string');
  expect(typeof doc.error?.message).toBe('string');
  expect(doc.error?.hint === undefined || typeof doc.error.hint === 'string').toBe(true);
  return doc.error as { code: string; message: string; hint?: string };
}

export const sha256Hex = (bytes: string | Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** `prev` of the line that follows `line`. */
export const prevOf = (line: string): string => `sha256:${sha256Hex(line)}`;

/** Lines of a registry file, without the trailing newline. */
export const registryLines = (text: string): string[] => text.replace(/\n$/, '').split('\n');

/**
 * Re-chain after an edit: recompute `prev` of every line after `fromLine` (1-based) from the exact
 * bytes of the line before it; nothing else is touched (same key order, same seq).
 */
export function rechain(lines: string[], fromLine: number): string[] {
  const out = [...lines];
  for (let i = fromLine; i < out.length; i++) {
    const line = out[i] as string;
    const replaced = line.replace(/"prev":(null|"sha256:[0-9a-f]{64}")/, () => `"prev":${JSON.stringify(prevOf(out[i - 1] as string))}`);
    if (replaced === line && !line.includes(prevOf(out[i - 1] as string))) throw new Error(`line ${i + 1} has no prev field to rewrite`);
    out[i] = replaced;
  }
  return out;
}

/** Copy a whole repository folder (with .git and the local store) to a fresh temporary folder. */
export function copyRepo(from: string): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), 'mlship-tamper-'));
  cpSync(from, dir, { recursive: true, verbatimSymlinks: true });
  return repoAt(dir);
}
