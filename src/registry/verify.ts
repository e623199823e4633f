/**
 * `mlship verify`: every chain, every event, and the git history of every registry file, which must
 * be a sequence of appends (a line rewritten in an earlier commit, even with every later `prev`
 * recomputed, shows up as a version of the file that does not extend the one before it).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Git } from '../git/index.js';
import { firstDivergence, parseLog, type ChainStart } from './chain.js';

export { firstDivergence };
import type { RegistryEvent } from './events.js';
import { parseSegmentName, SEGMENT_LINES, segmentFiles, segmentName, type RegistryLocation } from './log.js';
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

export interface VerifyOptions {
  location: RegistryLocation;
  /** Paths in messages are shown relative to this folder. */
  shownRoot: string;
  git: Git;
  /** Check that each file extends its version at this revision (e.g. origin/main). */
  since?: string;
  /** Walk the whole git history of each file (default true). */
  history?: boolean;
}

export async function verifyRegistry(options: VerifyOptions): Promise<VerifyReport> {
  const { location, git } = options;
  const dir = location.dir;
  const problems: VerifyProblem[] = [];
  const models: VerifiedModel[] = [];
  let commits = 0;
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const gitPathOf = (file: string) => relative(git.root, file).split('\\').join('/');
  const shownOf = (name: string) => relative(options.shownRoot, join(dir, name));
  const sinceCommit = options.since === undefined ? undefined : await git.resolve(options.since);
  if (options.since !== undefined && sinceCommit === undefined) {
    problems.push({ code: 'E_REV', file: '', line: null, message: `unknown revision ${options.since}` });
  }
  const limit = location.segmentLines ?? SEGMENT_LINES;

  // Files git has seen but the working copy lacks were deleted: the record cannot lose a file.
  const everTracked = options.history === false ? [] : await git.pathsEverIn(gitPathOf(dir));
  for (const path of everTracked) {
    const name = path.slice(gitPathOf(dir).length + 1);
    if (name.includes('/') || parseSegmentName(name) === undefined || names.includes(name)) continue;
    const inHead = await git.show('HEAD', path);
    problems.push({
      code: 'E_HISTORY',
      file: shownOf(name),
      line: null,
      message: inHead === undefined ? 'deleted in a commit: registry files are append-only' : 'deleted from the working copy (it is in HEAD): restore it with git checkout',
    });
  }
  const modelNames = [...new Set(names.map((n) => parseSegmentName(n)?.model).filter((m): m is string => m !== undefined))];
  // Every committed version of every file is read through one git process.
  const blobs = options.history === false ? undefined : git.openBlobReader();
  try {
    for (const model of modelNames) {
      const files = await segmentFiles(dir, model);
      // The files' histories at once (git log per file; simple-git runs a few in parallel).
      const histories = options.history === false ? [] : await Promise.all(files.map((file) => git.history(gitPathOf(file))));
      const events: RegistryEvent[] = [];
      let start: ChainStart = { seq: 1, prev: null };
      for (const [i, file] of files.entries()) {
        const name = relative(dir, file);
        const expected = segmentName(model, i + 1);
        if (name !== expected) problems.push({ code: 'E_SEGMENT', file: shownOf(name), line: null, message: `registry file ${expected} is missing before ${name}` });
        const bytes = await readFile(file);
        const log = parseLog(bytes, model, start);
        const text = bytes.toString('utf8');
        for (const p of log.problems) problems.push({ code: p.code, file: shownOf(name), line: p.line, message: p.message });
        if (i < files.length - 1 && log.count !== limit) {
          problems.push({ code: 'E_SEGMENT', file: shownOf(name), line: log.count, message: `has ${log.count} events but is followed by another file (a full file holds ${limit})` });
        }
        log.events.forEach((event) => events.push(event));
        start = { seq: start.seq + log.count, prev: log.lastDigest };

        const gitPath = gitPathOf(file);
        if (blobs !== undefined) {
          const history = histories[i] ?? [];
          commits += history.length;
          let previous = '';
          let previousRev = '(empty)';
          for (const rev of history) {
            const content = await blobs.read(rev, gitPath);
            if (content === undefined) {
              problems.push({ code: 'E_HISTORY', file: shownOf(name), line: null, message: `deleted in commit ${rev.slice(0, 12)}: registry files are append-only` });
              previous = '';
              previousRev = rev;
              continue;
            }
            const line = firstDivergence(previous, content);
            if (line !== undefined) {
              problems.push({ code: 'E_HISTORY', file: shownOf(name), line, message: `commit ${rev.slice(0, 12)} rewrites line ${line} as it was in ${previousRev.slice(0, 12)}: the history is not append-only` });
            }
            previous = content;
            previousRev = rev;
          }
          const line = firstDivergence(previous, text);
          if (history.length > 0 && line !== undefined) {
            problems.push({ code: 'E_HISTORY', file: shownOf(name), line, message: `the working copy rewrites line ${line} of the last committed version (${previousRev.slice(0, 12)})` });
          }
        }
        if (sinceCommit !== undefined) {
          const base = await git.show(sinceCommit, gitPath);
          const line = base === undefined ? undefined : firstDivergence(base, text);
          if (line !== undefined) {
            problems.push({ code: 'E_HISTORY', file: shownOf(name), line, message: `line ${line} differs from ${options.since}: the registry must only grow from there` });
          }
        }
      }
      const { state, problems: foldProblems } = foldEvents(model, events);
      for (const p of foldProblems) {
        const at = locate(files.map((f) => relative(dir, f)), limit, p.line);
        problems.push({ code: 'E_STATE', file: shownOf(at.file), line: at.line, message: p.message });
      }
      models.push({ model, file: shownOf(segmentName(model, 1)), events: events.length, state });
    }
  } finally {
    await blobs?.close();
  }
  if (sinceCommit !== undefined) {
    // A file that existed at the base revision and is gone now was deleted.
    const listed = await git.show(sinceCommit, gitPathOf(dir));
    for (const entry of (listed ?? '').split('\n')) {
      if (entry.endsWith('.jsonl') && !names.includes(entry)) {
        problems.push({ code: 'E_HISTORY', file: shownOf(entry), line: null, message: `deleted since ${options.since}` });
      }
    }
  }
  return { ok: problems.length === 0, problems, models, commits };
}

/** File and line of event number `seq` across full segments of `limit` lines. */
function locate(files: string[], limit: number, seq: number): { file: string; line: number } {
  const index = Math.min(files.length - 1, Math.floor((seq - 1) / limit));
  return { file: files[index] ?? files[0] ?? '', line: seq - index * limit };
}
