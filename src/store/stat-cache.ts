/**
 * The stat cache: (path, size, mtime, ctime, inode) -> digest, so unchanged files are not read again.
 * One JSON file under `.mlship/cache/`, loaded once per command and written back atomically only when
 * it changed. A file whose stat differs in any field is hashed again (DVC does the same).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';

/** [size, mtimeNs, ctimeNs, inode, digest] */
type Entry = [number, string, string, number, string];

export interface StatCache {
  lookup(path: string, stats: Stats): string | undefined;
  remember(path: string, stats: Stats, digest: string): void;
  save(): Promise<void>;
}

const FORMAT = 1;
const fingerprint = (stats: Stats) => [String(stats.mtimeMs), String(stats.ctimeMs)] as const;

/** Load the cache at `file`; a missing or unreadable cache is simply empty (it is only a cache). */
export async function openStatCache(file: string): Promise<StatCache> {
  let entries: Record<string, Entry> = {};
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { format?: number; entries?: Record<string, Entry> };
    if (parsed.format === FORMAT && parsed.entries !== undefined && typeof parsed.entries === 'object') entries = parsed.entries;
  } catch {
    // absent or damaged: start empty
  }
  let dirty = false;
  return {
    lookup(path, stats) {
      const entry = entries[path];
      if (entry === undefined) return undefined;
      const [mtime, ctime] = fingerprint(stats);
      return entry[0] === stats.size && entry[1] === mtime && entry[2] === ctime && entry[3] === stats.ino ? entry[4] : undefined;
    },
    remember(path, stats, digest) {
      const [mtime, ctime] = fingerprint(stats);
      entries[path] = [stats.size, mtime, ctime, stats.ino, digest];
      dirty = true;
    },
    async save() {
      if (!dirty) return;
      try {
        await mkdir(dirname(file), { recursive: true });
        const temp = join(dirname(file), `.stat-cache-${process.pid}-${randomBytes(4).toString('hex')}`);
        await writeFile(temp, JSON.stringify({ format: FORMAT, entries }));
        await rename(temp, file);
        dirty = false;
      } catch {
        // A cache that cannot be written costs time on the next run, never correctness.
      }
    },
  };
}

/** A cache that remembers nothing (for `mlship hash --no-cache` and tests). */
export const noStatCache: StatCache = { lookup: () => undefined, remember: () => {}, save: async () => {} };
