/**
 * `mlship verify`: every chain, every event, and the git history of every registry file, which must
 * be a sequence of appends (a line rewritten in an earlier commit, even with every later `prev`
 * recomputed, shows up as a version of the file that does not extend the one before it).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Git } from '../git/index.js';
import { parseLog } from './chain.js';
import { foldEvents, type ModelState } from './state.js';

export interface VerifyProblem {
  code: string;
  file: string;
  line: number | null;
  message: string;
}

export interface VerifiedModel {
  model: string;
  file: string;
  events: number;
  state: ModelState;
}

export interface VerifyReport {
  ok: boolean;
  problems: VerifyProblem[];
  models: VerifiedModel[];
  /** Commits walked in the history check. */
  commits: number;
}

/** The first line where `next` stops extending `prev`, or undefined when it is a pure append. */
export function firstDivergence(prev: string, next: string): number | undefined {
  if (next.startsWith(prev) && (prev === '' || prev.endsWith('\n'))) return undefined;
  const a = prev.split('\n');
  const b = next.split('\n');
  for (let i = 0; i < a.length; i++) {
    // The old file's last line may legitimately be incomplete only if the new one completes it; we do not allow that.
    if (a[i] !== b[i]) return i + 1;
  }
  return a.length;
}

export interface VerifyOptions {
  /** Absolute registry folder. */
  dir: string;
  /** Paths in messages are shown relative to this folder. */
  shownRoot: string;
  git: Git;
  /** Check that each file extends its version at this revision (e.g. origin/main). */
  since?: string;
  /** Walk the whole git history of each file (default true). */
  history?: boolean;
}

export async function verifyRegistry(options: VerifyOptions): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const models: VerifiedModel[] = [];
  let commits = 0;
  let names: string[] = [];
  try {
    names = (await readdir(options.dir)).filter((n) => n.endsWith('.jsonl')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const gitPathOf = (file: string) => relative(options.git.root, file).split('\\').join('/');
  const sinceCommit = options.since === undefined ? undefined : await options.git.resolve(options.since);
  if (options.since !== undefined && sinceCommit === undefined) {
    problems.push({ code: 'E_REV', file: '', line: null, message: `unknown revision ${options.since}` });
  }

  for (const name of names) {
    const model = name.slice(0, -'.jsonl'.length);
    const file = join(options.dir, name);
    const shown = relative(options.shownRoot, file);
    const text = await readFile(file, 'utf8');
    const log = parseLog(text, model);
    for (const p of log.problems) problems.push({ code: p.code, file: shown, line: p.line, message: p.message });
    const { state, problems: foldProblems } = foldEvents(model, log.events);
    for (const p of foldProblems) problems.push({ code: 'E_STATE', file: shown, line: p.line, message: p.message });
    models.push({ model, file: shown, events: log.events.length, state });

    const gitPath = gitPathOf(file);
    if (options.history !== false) {
      const history = await options.git.history(gitPath);
      commits += history.length;
      let previous = '';
      let previousRev = '(empty)';
      for (const rev of history) {
        const content = await options.git.show(rev, gitPath);
        if (content === undefined) {
          problems.push({ code: 'E_HISTORY', file: shown, line: null, message: `deleted in commit ${rev.slice(0, 12)}: registry files are append-only` });
          previous = '';
          previousRev = rev;
          continue;
        }
        const line = firstDivergence(previous, content);
        if (line !== undefined) {
          problems.push({ code: 'E_HISTORY', file: shown, line, message: `commit ${rev.slice(0, 12)} rewrites line ${line} as it was in ${previousRev.slice(0, 12)}: the history is not append-only` });
        }
        previous = content;
        previousRev = rev;
      }
      const line = firstDivergence(previous, text);
      if (history.length > 0 && line !== undefined) {
        problems.push({ code: 'E_HISTORY', file: shown, line, message: `the working copy rewrites line ${line} of the last committed version (${previousRev.slice(0, 12)})` });
      }
    }
    if (sinceCommit !== undefined) {
      const base = await options.git.show(sinceCommit, gitPath);
      const line = base === undefined ? undefined : firstDivergence(base, text);
      if (line !== undefined) {
        problems.push({ code: 'E_HISTORY', file: shown, line, message: `line ${line} differs from ${options.since}: the registry must only grow from there` });
      }
    }
  }
  if (sinceCommit !== undefined) {
    // A file that existed at the base revision and is gone now was deleted.
    const dirPath = gitPathOf(options.dir);
    const listed = await options.git.show(sinceCommit, dirPath);
    for (const entry of (listed ?? '').split('\n')) {
      if (entry.endsWith('.jsonl') && !names.includes(entry)) {
        problems.push({ code: 'E_HISTORY', file: relative(options.shownRoot, join(options.dir, entry)), line: null, message: `deleted since ${options.since}` });
      }
    }
  }
  return { ok: problems.length === 0, problems, models, commits };
}
