/**
 * Running GNU find to list a large directory (see listing.ts for why and when its output is
 * trusted). Two ways: `runFind`, synchronous, when the listing is needed; and `prefetchFind`, started
 * by the executable before the CLI's modules load (src/main.ts), so that find runs on the other core
 * while Node spends ~80 ms loading them, and its output is ready when hashing begins.
 *
 * find writes into an unlinked temporary file rather than a pipe: with nobody to wake per 4 KB,
 * 10,000 records cost ~15 ms less, and nothing is left behind whatever happens to either process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Below this many files (as the tree cache last saw), starting a process costs more than it saves. */
export const FIND_MIN_FILES = 1000;

/** `MLSHIP_FIND=0` (or `off`) keeps every listing in Node's own walk. */
export const findSetting = (env: Record<string, string | undefined>): boolean => !['0', 'off', 'false', 'no'].includes((env['MLSHIP_FIND'] ?? '').trim().toLowerCase());

/** What GNU find prints per regular file: size, mtime and ctime (seconds.nanoseconds), inode, mode, path. */
const FIND_FORMAT = '%s %T@ %C@ %i %m %P\\0';
const LINK_MARK = 'L'.charCodeAt(0);

export interface FindOptions {
  /** The find program (tests point it elsewhere). */
  command?: string;
}

const usable = (dir: string): boolean => process.platform === 'linux' && dir.startsWith('/');

/** -P: never follow links. A link anywhere stops the run and prints the mark: Node's walk decides. */
const findArgs = (dir: string): string[] => ['-P', dir, '(', '-type', 'l', '-printf', 'L\\0', '-quit', ')', '-o', '(', '-type', 'f', '-printf', FIND_FORMAT, ')'];

/** An unlinked temporary file, open for reading and writing. */
function scratch(): number | undefined {
  try {
    const file = join(tmpdir(), `mlship-find-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(file, 'wx+', 0o600);
    unlinkSync(file);
    return fd;
  } catch {
    return undefined;
  }
}

/** What find wrote, when it is a whole listing without a link in it. */
function outputOf(fd: number): Buffer | undefined {
  const size = fstatSync(fd).size;
  const out = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; ) {
    const n = readSync(fd, out, at, size - at, at);
    if (n === 0) return undefined;
    at += n;
  }
  if (out.length > 0 && out[out.length - 1] !== 0) return undefined;
  if (out.length >= 2 && out[out.length - 2] === LINK_MARK && (out.length === 2 || out[out.length - 3] === 0)) return undefined;
  return out;
}

/** find's output for `dir`, or undefined when find cannot be trusted to have listed it. */
export function runFind(dir: string, options: FindOptions = {}): Buffer | undefined {
  if (!usable(dir)) return undefined;
  const fd = scratch();
  if (fd === undefined) return undefined;
  try {
    const result = spawnSync(options.command ?? 'find', findArgs(dir), { stdio: ['ignore', fd, 'ignore'] });
    // Any error (an unreadable folder, a find without -printf) is a non-zero exit.
    return result.error === undefined && result.status === 0 ? outputOf(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

const started = new Map<string, { child: ChildProcess; output: Promise<Buffer | undefined> }>();

/** Start find on `dir` in the background; `takePrefetched` collects it. */
export function prefetchFind(dir: string): void {
  if (!usable(dir) || started.has(dir)) return;
  const fd = scratch();
  if (fd === undefined) return;
  let child: ChildProcess;
  try {
    child = spawn('find', findArgs(dir), { stdio: ['ignore', fd, 'ignore'] });
  } catch {
    closeSync(fd);
    return;
  }
  // A command that never asks for it (a usage error, another model) does not wait for it.
  child.unref();
  const output = new Promise<Buffer | undefined>((resolve) => {
    let settled = false;
    const settle = (read: () => Buffer | undefined) => {
      if (settled) return;
      settled = true;
      try {
        resolve(read());
      } catch {
        resolve(undefined);
      } finally {
        closeSync(fd);
      }
    };
    child.once('error', () => settle(() => undefined));
    child.once('exit', (code) => settle(() => (code === 0 ? outputOf(fd) : undefined)));
  });
  started.set(dir, { child, output });
}

/**
 * The output of the find started for `dir`, taken once (a later listing runs find again), or
 * undefined when none was started. It resolves to undefined when that find failed.
 */
export function takePrefetched(dir: string): Promise<Buffer | undefined> | undefined {
  const entry = started.get(dir);
  if (entry === undefined) return undefined;
  started.delete(dir);
  // Awaited from now on: the process must stay until it is done.
  entry.child.ref();
  return entry.output;
}
