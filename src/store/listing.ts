/**
 * Listing a directory artifact: its regular files, in sorted order, each with the numbers the caches
 * trust (size, mtime, ctime, inode, mode), and a fingerprint of the whole listing for the tree cache.
 *
 * Two ways to fingerprint: Node's own walk (everywhere), and, for a directory the tree cache already
 * knows to hold many files, one run of GNU find on Linux. Node pays ~10 µs per `lstat` (a `Stats`
 * object with four `Date`s each, on one thread); find does the same calls relative to each folder
 * and prints what it found, in about half the time for 10,000 files (bench/push-local.mjs). Any
 * doubt — no GNU find, a failure, a symbolic link anywhere below — falls back to Node's walk, which
 * also refuses links that leave the repository. A fingerprint is only a cache key: when the two
 * ways disagree, the cost is a miss (files looked up in the stat cache again), never a wrong digest.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { usageError } from '../errors.js';
import { isInside } from '../paths.js';
import { runFind, takePrefetched, type FindOptions } from './find.js';
import type { FileIdentity } from './stat-cache.js';

/** A file found by the walk: only the numbers the caches need are kept (a `Stats` is far larger). */
export interface ListedFile {
  /** `/`-separated, relative to the listed directory. */
  rel: string;
  full: string;
  stats: FileIdentity;
}

export interface Listing {
  /** A cache key for exactly this set of files and their stat numbers. */
  fingerprint: string;
  /** Total bytes of the files. */
  size: number;
  files: number;
}

/**
 * Visit every regular file below `dir` in sorted order, as `/`-separated relative paths, refusing
 * links that leave `root`. Synchronous on purpose: for 10,000 files, one awaited lstat after another
 * costs several times more than the same calls made directly (measured in bench/push-local.mjs).
 */
function walkFiles(dir: string, root: string, what: string, visit: (rel: string, full: string, stats: Stats) => void): void {
  const realRoot = realpathSync(root);
  const walk = (current: string, prefix: string): void => {
    // `current` is absolute and normalised: plain concatenation is join() without its cost.
    const base = current.endsWith('/') ? current : `${current}/`;
    for (const name of readdirSync(current).sort()) {
      const full = base + name;
      const rel = prefix === '' ? name : `${prefix}/${name}`;
      let stats = lstatSync(full);
      if (stats.isSymbolicLink()) {
        let target: string | undefined;
        try {
          target = realpathSync(full);
        } catch {
          target = undefined;
        }
        if (target === undefined || !isInside(realRoot, target)) {
          throw usageError('E_PATH', `${what}: '${rel}' is a symbolic link that leads outside the repository`, { hint: 'replace the link with the file itself' });
        }
        stats = statSync(full);
      }
      if (stats.isDirectory()) walk(full, rel);
      else if (stats.isFile()) visit(rel, full, stats);
    }
  };
  walk(dir, '');
}

/** The files of a directory, each with the numbers the caches need. */
export function listFiles(dir: string, root: string, what: string): ListedFile[] {
  const out: ListedFile[] = [];
  walkFiles(dir, root, what, (rel, full, stats) => out.push({ rel, full, stats: { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino, mode: stats.mode } }));
  return out;
}

const listingLine = (rel: string, stats: FileIdentity): string => `${rel}\0${stats.size}\0${stats.mtimeMs}\0${stats.ctimeMs}\0${stats.ino}\0${(stats.mode & 0o111) !== 0 ? 1 : 0}\n`;

/**
 * Node's fingerprint: sha256 of each file's path, size, mtime, ctime, inode and executable bit —
 * what the stat cache trusts for one file, for all of them at once. Nothing is kept per file, so an
 * unchanged directory costs its walk and little garbage.
 */
export function walkListing(dir: string, root: string, what: string): Listing {
  const hash = createHash('sha256');
  let pending = '';
  let size = 0;
  let files = 0;
  walkFiles(dir, root, what, (rel, _full, stats) => {
    pending += listingLine(rel, stats);
    if (pending.length >= 1 << 16) {
      hash.update(pending);
      pending = '';
    }
    size += stats.size;
    files++;
  });
  hash.update(pending);
  return { fingerprint: hash.digest('hex'), size, files };
}

/** Node's fingerprint of files already collected (the same as `walkListing` gives for them). */
export function filesFingerprint(files: readonly ListedFile[]): string {
  const hash = createHash('sha256');
  for (const { rel, stats } of files) hash.update(listingLine(rel, stats));
  return hash.digest('hex');
}

/** Marks a fingerprint made from find's output, so it never compares equal to Node's. */
const FIND_PREFIX = 'find:';
const findFingerprint = (out: Buffer): string => FIND_PREFIX + createHash('sha256').update(out).digest('hex');

/**
 * The fingerprint from one run of GNU find: sha256 of its output as printed (no parsing but each
 * record's leading size), or undefined when only Node's walk will do.
 */
export async function findListing(dir: string, options: FindOptions = {}): Promise<Listing | undefined> {
  // A find that bin/mlship started while the CLI loaded (src/main.ts) is taken first, once.
  const prefetched = options.command === undefined ? takePrefetched(dir) : undefined;
  const out = prefetched === undefined ? runFind(dir, options) : await prefetched;
  if (out === undefined) return undefined;
  let size = 0;
  let files = 0;
  for (let at = 0; at < out.length; ) {
    let n = 0;
    let digits = 0;
    for (let c = out[at] as number; c >= 0x30 && c <= 0x39; c = out[++at] as number, digits++) n = n * 10 + (c - 0x30);
    if (digits === 0 || out[at] !== 0x20) return undefined;
    size += n;
    files++;
    const end = out.indexOf(0, at);
    if (end < 0) return undefined;
    at = end + 1;
  }
  return { fingerprint: findFingerprint(out), size, files };
}

/** find's `seconds.fraction` as Node's `…Ms` number (Node computes sec * 1e3 + nsec / 1e6). */
function msOf(text: string): number | undefined {
  const match = /^(\d+)\.(\d{9})\d*$/.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * 1e3 + Number(match[2]) / 1e6;
}

/**
 * find's fingerprint for `dir`, but only when its listing describes exactly `files` (as Node's walk
 * collected them: same paths, sizes, times, inodes and executable bits). Used after hashing a
 * changed directory, so that the next run's find recognises what was hashed — and nothing else.
 */
export function findListingOf(dir: string, files: readonly ListedFile[], options: FindOptions = {}): Listing | undefined {
  const out = runFind(dir, options);
  if (out === undefined) return undefined;
  const lines = new Map<string, string>();
  for (const record of out.toString('utf8').split('\0')) {
    if (record === '') continue;
    const fields = record.split(' ');
    if (fields.length < 6) return undefined;
    const [size, mtime, ctime, ino, mode] = fields as [string, string, string, string, string];
    const rel = fields.slice(5).join(' ');
    const mtimeMs = msOf(mtime);
    const ctimeMs = msOf(ctime);
    if (mtimeMs === undefined || ctimeMs === undefined) return undefined;
    lines.set(rel, listingLine(rel, { size: Number(size), mtimeMs, ctimeMs, ino: Number(ino), mode: Number.parseInt(mode, 8) }));
  }
  if (lines.size !== files.length) return undefined;
  for (const file of files) if (lines.get(file.rel) !== listingLine(file.rel, file.stats)) return undefined;
  const size = files.reduce((n, f) => n + f.stats.size, 0);
  return { fingerprint: findFingerprint(out), size, files: files.length };
}
