/**
 * The git adapter: what mlship asks of git, through simple-git. Loaded lazily by the commands that
 * need it. Failures become MlshipErrors: not a repository (2), remote unreachable or refusing (3).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { environmentError, messageOf, usageError } from '../errors.js';

export interface Git {
  /** Absolute top-level folder of the working tree. */
  readonly root: string;
  head(): Promise<string | null>;
  branch(): Promise<string | null>;
  isDirty(): Promise<boolean>;
  config(key: string): Promise<string | undefined>;
  /** Stage and commit exactly these paths (other staged changes stay staged, uncommitted). */
  commitPaths(paths: string[], message: string): Promise<string>;
  /** Drop staged changes of these paths from the index (after a failed commit). */
  unstage(paths: string[]): Promise<void>;
  /** The commits that touched `path`, oldest first. */
  history(path: string): Promise<string[]>;
  /** The content of `path` at `rev`, or undefined when it does not exist there. */
  show(rev: string, path: string): Promise<string | undefined>;
  /** Many `show`s through one `git cat-file --batch` process (a git process per file costs ~15 ms). */
  openBlobReader(): BlobReader;
  /** Every path below `dir` that any commit of HEAD's history touched. */
  pathsEverIn(dir: string): Promise<string[]>;
  /** Resolve a revision to a commit, or undefined. */
  resolve(rev: string): Promise<string | undefined>;
  /** The staged content of `path`, or undefined when it is not in the index. */
  staged(path: string): Promise<string | undefined>;
  /** Paths with staged changes. */
  stagedPaths(): Promise<string[]>;
  /** Where `--push` goes: the branch's upstream, else `origin` and the same branch name. */
  pushTarget(): Promise<PushTarget>;
  push(target: PushTarget): Promise<void>;
  /** Fetch the target branch; returns its tip, or undefined when the remote has no such branch yet. */
  fetch(target: PushTarget): Promise<string | undefined>;
  mergeBase(a: string, b: string): Promise<string | undefined>;
  /** Commits in (base, head], oldest first. */
  commitsBetween(base: string | undefined, head: string): Promise<string[]>;
  /** Paths a commit changed (against its first parent). */
  changedPaths(commit: string): Promise<string[]>;
  /** Move the branch to `rev`, keeping uncommitted changes (`git reset --keep`). */
  resetKeep(rev: string): Promise<void>;
}

export interface BlobReader {
  /** The content of file `path` at `rev`, or undefined when it does not exist there (as `show`). */
  read(rev: string, path: string): Promise<string | undefined>;
  /** Ends the git process (and fails reads still waiting). */
  close(): Promise<void>;
}

export interface PushTarget {
  remote: string;
  branch: string;
}

/**
 * The lock file git could not take: `.git/index.lock`, a ref's `.lock` (`refs/heads/main.lock`,
 * `HEAD.lock`), `config.lock`… Git leaves one behind when it is killed, and holds one for a moment
 * while it works.
 */
function lockOf(error: unknown): string | undefined {
  const message = messageOf(error);
  const named = /Unable to create '([^']+\.lock)': File exists/.exec(message)?.[1];
  if (named !== undefined) return named;
  return /index\.lock/.test(message) ? 'index.lock' : undefined;
}

/** The lock files a commit takes, other than `except`, that exist in `gitDir` now. */
function otherLocks(gitDir: string, except: string): string[] {
  const found: string[] = [];
  for (const name of ['index.lock', 'HEAD.lock']) {
    const path = join(gitDir, name);
    if (path !== except && existsSync(path)) found.push(path);
  }
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.lock') && path !== except) found.push(path);
    }
  };
  walk(join(gitDir, 'refs', 'heads'));
  return found;
}

/** How long ago a lock was taken, for the message ('' when it is gone or unreadable). */
function lockAge(path: string): string {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats === undefined) return '';
  const seconds = Math.max(0, Math.round((Date.now() - stats.mtimeMs) / 1000));
  return seconds < 120 ? `, taken ${seconds} s ago` : seconds < 7200 ? `, taken ${Math.round(seconds / 60)} min ago` : `, taken ${Math.round(seconds / 3600)} h ago`;
}

/**
 * Waits that ride out a short-lived git lock (an editor's `git status`, a hook, another mlship
 * committing), about 3 s in all, before the lock is reported.
 */
const LOCK_WAITS_MS = [50, 100, 200, 400, 800, 1500];

async function retryingLocks<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const wait = LOCK_WAITS_MS[attempt];
      if (wait === undefined || lockOf(error) === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** @param repo the work tree and git dir, so a lock is named as a path the user can delete. */
const gitFailure = (what: string, error: unknown, repo?: { root: string; gitDir: string }) => {
  const message = messageOf(error).trim();
  const lock = lockOf(error);
  if (lock !== undefined) {
    const full = isAbsolute(lock) ? lock : repo !== undefined ? join(repo.gitDir, lock) : lock;
    const show = (path: string) => (repo !== undefined && isAbsolute(path) ? relative(repo.root, path) : path);
    const shown = show(full);
    // A git killed in a commit can leave several (index.lock, HEAD.lock, the branch's): name them
    // all, so that one round of the hint is enough.
    const others = repo === undefined ? [] : otherLocks(repo.gitDir, full).map(show);
    const all = [shown, ...others];
    return environmentError('E_GIT_LOCKED', `git ${what} failed: another git process holds the lock ${shown}${lockAge(full)}${others.length > 0 ? ` (also there: ${others.join(', ')})` : ''}`, {
      hint: `wait for the other git command to finish; if none is running (a crashed one left ${all.length > 1 ? 'them' : 'it'} behind), delete ${all.join(' ')} and run the command again`,
      details: { lock: shown, locks: all },
      cause: error,
    });
  }
  return environmentError('E_GIT', `git ${what} failed: ${message.split('\n').slice(-3).join(' ')}`, { hint: 'see the git message above', cause: error });
};

export async function openGit(cwd: string): Promise<Git> {
  let git: SimpleGit;
  let root: string;
  let gitDir: string;
  try {
    git = simpleGit({ baseDir: cwd, maxConcurrentProcesses: 4, trimmed: false });
    // One process for both: the git dir is where in-progress operations leave their markers.
    [root, gitDir] = (await git.raw(['rev-parse', '--show-toplevel', '--absolute-git-dir'])).trim().split('\n').map((l) => l.trim()) as [string, string];
  } catch (error) {
    const message = messageOf(error);
    if (/not a git repository/i.test(message)) {
      throw usageError('E_NOT_GIT', `${cwd} is not inside a git repository`, { hint: "mlship records versions in git: run 'git init' (and commit your project) first" });
    }
    if (/ENOENT|spawn git/i.test(message)) throw environmentError('E_NO_GIT', 'git is not installed or not on PATH', { hint: 'install git' });
    throw gitFailure('rev-parse', error);
  }
  git = simpleGit({ baseDir: root, maxConcurrentProcesses: 4, trimmed: false });

  const raw = async (args: string[], what = args[0] ?? 'command') => {
    try {
      return await retryingLocks(() => git.raw(args));
    } catch (error) {
      throw gitFailure(what, error, { root, gitDir });
    }
  };
  const quiet = async (args: string[]): Promise<string | undefined> => {
    try {
      return await git.raw(args);
    } catch {
      return undefined;
    }
  };

  /**
   * A registry commit made in the middle of a rebase, merge, cherry-pick or revert becomes part of
   * that operation: `git rebase --abort` silently drops it, `--continue` moves it onto another branch.
   * Refuse instead (the caller then removes the appended line again, so nothing is recorded).
   */
  const assertNoOperationInProgress = async () => {
    const markers: [string, string, string][] = [
      ['rebase-merge', 'a rebase', 'git rebase --continue` or `git rebase --abort'],
      ['rebase-apply', 'a rebase (or git am)', 'git rebase --continue` or `git rebase --abort'],
      ['MERGE_HEAD', 'a merge', 'git commit` or `git merge --abort'],
      ['CHERRY_PICK_HEAD', 'a cherry-pick', 'git cherry-pick --continue` or `git cherry-pick --abort'],
      ['REVERT_HEAD', 'a revert', 'git revert --continue` or `git revert --abort'],
    ];
    for (const [name, what, way] of markers) {
      if (existsSync(join(gitDir, name))) {
        throw usageError('E_GIT_BUSY', `the repository is in the middle of ${what}: a registry commit now would become part of it (and be lost if it is aborted)`, {
          hint: `finish it or abort it (\`${way}\`), then run the command again; nothing was recorded`,
        });
      }
    }
  };

  return {
    root,
    async head() {
      const out = await quiet(['rev-parse', '--verify', '-q', 'HEAD']);
      return out === undefined || out.trim() === '' ? null : out.trim();
    },
    async branch() {
      const out = await quiet(['symbolic-ref', '-q', '--short', 'HEAD']);
      return out === undefined || out.trim() === '' ? null : out.trim();
    },
    async isDirty() {
      return (await raw(['status', '--porcelain', '--untracked-files=no'])).trim() !== '';
    },
    async config(key) {
      const out = await quiet(['config', '--get', key]);
      return out === undefined || out.trim() === '' ? undefined : out.trim();
    },
    async commitPaths(paths, message) {
      await assertNoOperationInProgress();
      await raw(['add', '--', ...paths], 'add');
      try {
        // --only: commit just these paths even when the user has other changes staged;
        // --no-verify: the registry was validated by mlship itself a moment ago.
        // No automatic gc or maintenance after a registry commit: an incident rollback must not wait for it.
        await retryingLocks(() => git.raw(['-c', 'gc.auto=0', '-c', 'maintenance.auto=false', 'commit', '--quiet', '--no-verify', '--only', '-m', message, '--', ...paths]));
      } catch (error) {
        const text = messageOf(error);
        if (/Please tell me who you are|user\.email|empty ident/i.test(text)) {
          throw usageError('E_GIT_IDENTITY', 'git does not know who you are, so it cannot commit the registry', {
            hint: 'run: git config user.email you@example.com && git config user.name "Your Name"',
            cause: error,
          });
        }
        throw gitFailure('commit', error, { root, gitDir });
      }
      return (await raw(['rev-parse', 'HEAD'])).trim();
    },
    async unstage(paths) {
      await quiet(['reset', '--quiet', '--', ...paths]);
    },
    async history(path) {
      const out = await raw(['log', '--reverse', '--format=%H', '--', path], 'log');
      return out.split('\n').filter((l) => l !== '');
    },
    async show(rev, path) {
      return quiet(['show', `${rev}:${path}`]);
    },
    openBlobReader() {
      return blobReader(root, gitDir, (rev, path) => quiet(['show', `${rev}:${path}`]));
    },
    async pathsEverIn(dir) {
      const out = await quiet(['log', '--format=', '--name-only', '-z', '--', dir]);
      return [...new Set((out ?? '').split(/[\0\n]/).filter((p) => p !== ''))].sort();
    },
    async resolve(rev) {
      const out = await quiet(['rev-parse', '--verify', '-q', `${rev}^{commit}`]);
      return out === undefined || out.trim() === '' ? undefined : out.trim();
    },
    async staged(path) {
      return quiet(['show', `:${path}`]);
    },
    async stagedPaths() {
      const out = await raw(['diff', '--cached', '--name-only', '-z'], 'diff');
      return out.split('\0').filter((p) => p !== '');
    },
    async pushTarget() {
      const branch = (await quiet(['symbolic-ref', '-q', '--short', 'HEAD']))?.trim() || null;
      if (branch === null) {
        throw usageError('E_DETACHED', 'HEAD is detached: there is no branch to push the registry commit to', { hint: 'check out a branch (git switch main) and run the command again' });
      }
      const upstream = await quiet(['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{u}']);
      const remotes = (await raw(['remote'], 'remote')).split('\n').map((r) => r.trim()).filter((r) => r !== '');
      if (upstream !== undefined && upstream.trim() !== '') {
        const full = upstream.trim();
        const remote = remotes.filter((r) => full.startsWith(`${r}/`)).sort((a, b) => b.length - a.length)[0];
        if (remote !== undefined) return { remote, branch: full.slice(remote.length + 1) };
      }
      if (remotes.includes('origin')) return { remote: 'origin', branch };
      throw usageError('E_NO_REMOTE', 'this repository has no remote to push the registry to', { hint: 'add one (git remote add origin URL) or leave out --push' });
    },
    async push(target) {
      try {
        await git.raw(['push', '--quiet', '--porcelain', target.remote, `HEAD:refs/heads/${target.branch}`]);
      } catch (error) {
        const text = messageOf(error);
        // `[remote rejected]` is the remote refusing the push itself (a pre-receive or update hook, branch
        // protection, permissions): no fetch and re-append can change that, so it must not be retried as a
        // race, which `[rejected] (fetch first | non-fast-forward | stale info)` is.
        // A remote that moved between its check and its ref update says `[remote rejected] (failed to
        // update ref)` / `cannot lock ref … expected …`: that is the race again, not a refusal.
        const lostRace = /cannot lock ref|failed to update ref|incorrect old value|reference already exists/i.test(text);
        const refused = !lostRace && /\[remote rejected\]|hook declined|protected branch/i.test(text);
        if (refused) {
          const said = text.split('\n').filter((l) => /^remote:/.test(l) && l.replace(/^remote:/, '').trim() !== '').map((l) => l.replace(/^remote:\s*/, '').trim());
          const reason = /\[remote rejected\]\s*\(([^)]*)\)/.exec(text)?.[1] ?? 'refused';
          throw environmentError('E_PUSH_REFUSED', `git push to ${target.remote} ${target.branch} was refused by the remote (${reason})${said.length > 0 ? `: ${said.slice(-3).join(' ')}` : ''}`, {
            hint: "the remote does not accept this push (a server-side hook, branch protection or permissions); the event is committed locally: once the remote accepts it, send it with 'mlship push-registry'",
            cause: error,
          });
        }
        const rejected = lostRace || /\[rejected\]|non-fast-forward|fetch first|\(stale info\)|updates were rejected/i.test(text);
        throw environmentError(rejected ? 'E_PUSH_REJECTED' : 'E_PUSH', `git push to ${target.remote} ${target.branch} failed: ${text.trim().split('\n').filter((l) => l.trim() !== '').slice(-2).join(' ')}`, {
          hint: rejected ? 'another writer pushed first' : "check that the remote is reachable and that you may push to it; the event is committed locally: send it later with 'mlship push-registry'",
          cause: error,
        });
      }
    },
    async fetch(target) {
      try {
        await git.raw(['fetch', '--quiet', target.remote, `refs/heads/${target.branch}`]);
      } catch (error) {
        const text = messageOf(error);
        if (/couldn't find remote ref/i.test(text)) return undefined;
        throw environmentError('E_FETCH', `git fetch from ${target.remote} failed: ${text.trim().split('\n').slice(-1).join('')}`, { hint: 'check that the remote is reachable', cause: error });
      }
      return (await raw(['rev-parse', 'FETCH_HEAD'], 'rev-parse')).trim();
    },
    async mergeBase(a, b) {
      const out = await quiet(['merge-base', a, b]);
      return out === undefined || out.trim() === '' ? undefined : out.trim();
    },
    async commitsBetween(base, head) {
      const out = await raw(['rev-list', '--reverse', '--topo-order', base === undefined ? head : `${base}..${head}`], 'rev-list');
      return out.split('\n').filter((l) => l !== '');
    },
    async changedPaths(commit) {
      const out = await raw(['diff-tree', '--no-commit-id', '--name-only', '-r', '-z', '--root', commit], 'diff-tree');
      return out.split('\0').filter((p) => p !== '');
    },
    async resetKeep(rev) {
      await raw(['reset', '--quiet', '--keep', rev], 'reset');
    },
  };
}

/**
 * `git cat-file --batch`: one request line per object, answered in order by a header line
 * (`<oid> <type> <size>`, or `<name> missing`) and, for an object, its bytes and a newline.
 */
function blobReader(root: string, gitDir: string, fallback: (rev: string, path: string) => Promise<string | undefined>): BlobReader {
  const child = spawn('git', ['cat-file', '--batch'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting: { resolve: (content: string | undefined) => void; reject: (error: unknown) => void }[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let stderr = '';
  let failure: unknown;
  let ended = false;
  const fail = (error: unknown) => {
    failure ??= gitFailure('cat-file', error, { root, gitDir });
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  const closed = new Promise<void>((resolve) => child.once('close', (code) => {
    if (waiting.length > 0) fail(new Error(stderr.trim() || `git cat-file exited with ${code}`));
    resolve();
  }));
  child.once('error', fail);
  child.stdin.on('error', fail);
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (waiting.length > 0) {
      const eol = pending.indexOf(10);
      if (eol < 0) return;
      const header = pending.subarray(0, eol).toString('utf8');
      if (/ (missing|ambiguous)$/.test(header)) {
        pending = pending.subarray(eol + 1);
        waiting.shift()?.resolve(undefined);
        continue;
      }
      const [, type, sizeText] = header.split(' ');
      const size = Number(sizeText);
      if (type === undefined || !Number.isSafeInteger(size) || size < 0) return fail(new Error(`unexpected answer from git cat-file: ${header}`));
      if (pending.length < eol + 1 + size + 1) return;
      const body = pending.subarray(eol + 1, eol + 1 + size);
      pending = pending.subarray(eol + 1 + size + 1);
      // A folder (tree) is not a file: as `show` of a file, it is "not there".
      waiting.shift()?.resolve(type === 'blob' ? body.toString('utf8') : undefined);
    }
  });
  return {
    read(rev, path) {
      if (ended) return Promise.reject(new Error('the blob reader is closed'));
      if (failure !== undefined) return Promise.reject(failure);
      // A name that cannot be one request line goes the slow way.
      if (/[\n\r]/.test(rev) || /[\n\r]/.test(path)) return fallback(rev, path);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${rev}:${path}\n`);
      });
    },
    async close() {
      ended = true;
      child.stdin.end();
      await closed;
    },
  };
}
