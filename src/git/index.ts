/**
 * The git adapter: what mlship asks of git, through simple-git. Loaded lazily by the commands that
 * need it. Failures become MlshipErrors: not a repository (2), remote unreachable or refusing (3).
 */
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
  /** Resolve a revision to a commit, or undefined. */
  resolve(rev: string): Promise<string | undefined>;
  /** The staged content of `path`, or undefined when it is not in the index. */
  staged(path: string): Promise<string | undefined>;
  /** Paths with staged changes. */
  stagedPaths(): Promise<string[]>;
  push(remote: string | undefined): Promise<void>;
  fetch(remote: string | undefined): Promise<void>;
  upstream(): Promise<{ remote: string; branch: string } | undefined>;
}

const gitFailure = (what: string, error: unknown) => {
  const message = messageOf(error).trim();
  return environmentError('E_GIT', `git ${what} failed: ${message.split('\n').slice(-3).join(' ')}`, { hint: 'see the git message above', cause: error });
};

export async function openGit(cwd: string): Promise<Git> {
  let git: SimpleGit;
  let root: string;
  try {
    git = simpleGit({ baseDir: cwd, maxConcurrentProcesses: 4, trimmed: false });
    root = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
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
      return await git.raw(args);
    } catch (error) {
      throw gitFailure(what, error);
    }
  };
  const quiet = async (args: string[]): Promise<string | undefined> => {
    try {
      return await git.raw(args);
    } catch {
      return undefined;
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
      await raw(['add', '--', ...paths], 'add');
      try {
        // --only: commit just these paths even when the user has other changes staged;
        // --no-verify: the registry was validated by mlship itself a moment ago.
        await git.raw(['commit', '--quiet', '--no-verify', '--only', '-m', message, '--', ...paths]);
      } catch (error) {
        const text = messageOf(error);
        if (/Please tell me who you are|user\.email|empty ident/i.test(text)) {
          throw usageError('E_GIT_IDENTITY', 'git does not know who you are, so it cannot commit the registry', {
            hint: 'run: git config user.email you@example.com && git config user.name "Your Name"',
            cause: error,
          });
        }
        throw gitFailure('commit', error);
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
    async push(remote) {
      try {
        await git.raw(remote === undefined ? ['push', '--quiet'] : ['push', '--quiet', remote, 'HEAD']);
      } catch (error) {
        const text = messageOf(error);
        const rejected = /rejected|non-fast-forward|fetch first/i.test(text);
        throw environmentError(rejected ? 'E_PUSH_REJECTED' : 'E_PUSH', `git push failed: ${text.trim().split('\n').slice(-2).join(' ')}`, {
          hint: rejected ? "another writer pushed first: run 'git pull --rebase' and push again" : 'check the remote is reachable and you may push to it; the event is committed locally, push it later with git push',
          cause: error,
        });
      }
    },
    async fetch(remote) {
      await raw(remote === undefined ? ['fetch', '--quiet'] : ['fetch', '--quiet', remote], 'fetch');
    },
    async upstream() {
      const out = await quiet(['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{u}']);
      if (out === undefined || !out.includes('/')) return undefined;
      const [remote, ...rest] = out.trim().split('/');
      return { remote: remote as string, branch: rest.join('/') };
    },
  };
}
