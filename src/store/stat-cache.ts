/**
 * The stat cache: (path, size, mtime, ctime, inode) -> digest, so unchanged files are not read again.
 * One JSON file under `.mlship/cache/`, read on first lookup and written back atomically only when it
 * changed. A file whose stat differs in any field is hashed again (DVC does the same).
 *
 * Beside it, the tree cache: for a directory artifact, the fingerprint of its listing (every file's
 * path, size, mtime, ctime, inode and mode) -> the tree digest, with the canonical tree object kept in
 * `trees/<hex>.json`. An unchanged directory of 10,000 files is then one walk and one comparison: the
 * per-file table is not even read.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hashBytes } from './hash.js';

/** What the cache trusts about a file (a `Stats` has it all). */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  mode: number;
}

/** [size, mtimeNs, ctimeNs, inode, digest] */
type Entry = [number, string, string, number, string];

/** What a directory's listing hashed to last time. */
export interface TreeRecord {
  digest: string;
  /** Total bytes of the files. */
  size: number;
  files: number;
}

export interface StatCache {
  lookup(path: string, stats: FileIdentity): string | undefined;
  remember(path: string, stats: FileIdentity, digest: string): void;
  /** The tree last computed for directory `path`, with the fingerprint its listing had then. */
  knownTree(path: string): (TreeRecord & { fingerprint: string }) | undefined;
  rememberTree(path: string, fingerprint: string, record: TreeRecord, bytes: Buffer): void;
  /** The canonical tree object remembered for `digest`, when it is still there and intact. */
  treeBytes(digest: string): Buffer | undefined;
  save(): Promise<void>;
}

const FORMAT = 1;
const fingerprint = (stats: FileIdentity) => [String(stats.mtimeMs), String(stats.ctimeMs)] as const;

/** [fingerprint, digest, size, files] by directory. */
type TreeEntry = [string, string, number, number];

/** Read a cache file; absent, damaged or of another format is simply empty (it is only a cache). */
function readTable<T>(file: string, key: 'entries' | 'trees'): Record<string, T> {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { format?: number } & Record<string, unknown>;
    const table = parsed[key];
    if (parsed.format === FORMAT && table !== null && typeof table === 'object' && !Array.isArray(table)) return table as Record<string, T>;
  } catch {
    // absent or damaged: start empty
  }
  return {};
}

function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = join(dirname(file), `.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, file);
}

/** The stat cache's file in a project's cache folder (the tree cache lives beside it). */
export const statCacheFile = (cacheDir: string): string => join(cacheDir, 'stat-cache.json');

/** The directories the tree cache beside the stat cache `file` last saw with at least `min` files. */
export function largeTrees(file: string, min: number): string[] {
  return Object.entries(readTable<TreeEntry>(join(dirname(file), 'trees.json'), 'trees'))
    .filter(([, entry]) => Array.isArray(entry) && typeof entry[3] === 'number' && entry[3] >= min)
    .map(([path]) => path);
}

/** Open the cache at `file` (and the tree cache beside it); nothing is read until it is needed. */
export async function openStatCache(file: string): Promise<StatCache> {
  const treesFile = join(dirname(file), 'trees.json');
  const treeDir = join(dirname(file), 'trees');
  let entries: Record<string, Entry> | undefined;
  let trees: Record<string, TreeEntry> | undefined;
  const newTrees = new Map<string, Buffer>();
  let dirty = false;
  let treesDirty = false;
  const table = () => (entries ??= readTable<Entry>(file, 'entries'));
  const treeTable = () => (trees ??= readTable<TreeEntry>(treesFile, 'trees'));
  return {
    lookup(path, stats) {
      const entry = table()[path];
      if (entry === undefined) return undefined;
      const [mtime, ctime] = fingerprint(stats);
      return entry[0] === stats.size && entry[1] === mtime && entry[2] === ctime && entry[3] === stats.ino ? entry[4] : undefined;
    },
    remember(path, stats, digest) {
      const [mtime, ctime] = fingerprint(stats);
      table()[path] = [stats.size, mtime, ctime, stats.ino, digest];
      dirty = true;
    },
    knownTree(path) {
      const entry = treeTable()[path];
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string' || typeof entry[2] !== 'number' || typeof entry[3] !== 'number') return undefined;
      return { fingerprint: entry[0], digest: entry[1], size: entry[2], files: entry[3] };
    },
    rememberTree(path, listing, record, bytes) {
      treeTable()[path] = [listing, record.digest, record.size, record.files];
      newTrees.set(record.digest, bytes);
      treesDirty = true;
    },
    treeBytes(digest) {
      const bytes = newTrees.get(digest) ?? readOptional(join(treeDir, `${digest.slice('sha256:'.length)}.json`));
      return bytes !== undefined && hashBytes(bytes) === digest ? bytes : undefined;
    },
    async save() {
      // A cache that cannot be written costs time on the next run, never correctness.
      try {
        if (dirty) writeAtomic(file, JSON.stringify({ format: FORMAT, entries }));
        dirty = false;
      } catch {
        // see above
      }
      if (!treesDirty) return;
      try {
        for (const [digest, bytes] of newTrees) writeAtomic(join(treeDir, `${digest.slice('sha256:'.length)}.json`), bytes.toString('utf8'));
        writeAtomic(treesFile, JSON.stringify({ format: FORMAT, trees }));
        // Keep only the tree objects some directory still points at.
        const live = new Set(Object.values(treeTable()).map((t) => `${String(t[1]).slice('sha256:'.length)}.json`));
        for (const name of readdirSync(treeDir)) if (!live.has(name)) rmSync(join(treeDir, name), { force: true });
        treesDirty = false;
        newTrees.clear();
      } catch {
        // see above
      }
    },
  };
}

function readOptional(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** A cache that remembers nothing (for `mlship hash --no-cache` and tests). */
export const noStatCache: StatCache = {
  lookup: () => undefined,
  remember: () => {},
  knownTree: () => undefined,
  rememberTree: () => {},
  treeBytes: () => undefined,
  save: async () => {},
};
