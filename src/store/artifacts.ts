/**
 * Artifacts: a declared path (a file or a directory) hashed into a digest and moved to and from a store.
 * A directory is a tree object: canonical JSON `{"entries":[{path,digest,size,mode}…]}` sorted by path;
 * its digest is the tree object's digest (DESIGN.md "The artifact store").
 */
import { mkdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { environmentError, integrityError, usageError } from '../errors.js';
import { isInside } from '../paths.js';
import { hashBytes } from './hash.js';
import { hashFiles, hashOnMainThread, workersSetting } from './hash-workers.js';
import { FIND_MIN_FILES, findSetting } from './find.js';
import { filesFingerprint, findListing, findListingOf, listFiles, walkListing, type ListedFile, type Listing } from './listing.js';
import { mapPool, putFiles } from './pool.js';
import type { StatCache } from './stat-cache.js';
import { DIGEST_RE, type ArtifactStore, type ProgressSink } from './types.js';

export interface TreeEntry {
  path: string;
  digest: string;
  size: number;
  mode: '644' | '755';
}

export interface HashedFile {
  kind: 'file';
  digest: string;
  size: number;
  /** Absolute path on disk. */
  source: string;
}

export interface TreeContents {
  entries: TreeEntry[];
  /** The canonical tree object. */
  bytes: Buffer;
}

export interface HashedTree {
  kind: 'tree';
  digest: string;
  /** Total bytes of the files. */
  size: number;
  /** Number of files. */
  files: number;
  source: string;
  /**
   * The entries and the tree object: already computed, or (when the tree cache recognised the
   * directory) read back from it, or hashed again from the stat cache if that copy is gone.
   */
  contents(): Promise<TreeContents>;
}

export type HashedArtifact = HashedFile | HashedTree;

/** Files hashed at once: enough to keep the disk busy, few enough to bound open handles. */
const PARALLEL = 8;

async function hashCached(path: string, stats: Stats, cache: StatCache, root: string, what: string, onBytes?: ProgressSink): Promise<string> {
  const known = cache.lookup(path, stats);
  if (known !== undefined) return known;
  const digest = await hashOnMainThread(path, { root, what, onBytes });
  cache.remember(path, stats, digest);
  return digest;
}

export const canonicalTree = (entries: TreeEntry[]): Buffer =>
  Buffer.from(JSON.stringify({ entries: entries.map((e) => ({ path: e.path, digest: e.digest, size: e.size, mode: e.mode })) }));

export interface HashOptions {
  /** Bytes read so far, for progress. */
  onBytes?: ProgressSink;
  /** Hash workers for many files (default: chosen from the work; 0 keeps the main thread). */
  workers?: number;
  /** Let GNU find list a directory the tree cache knows to be large (default true; listing.ts). */
  find?: boolean;
}

/** The options the environment sets: `MLSHIP_HASH_WORKERS`, `MLSHIP_FIND`. */
export function hashOptions(env: Record<string, string | undefined>, onBytes?: ProgressSink): HashOptions {
  const workers = workersSetting(env);
  return { find: findSetting(env), ...(workers === undefined ? {} : { workers }), ...(onBytes === undefined ? {} : { onBytes }) };
}

/**
 * Hash one artifact (file or directory). `path` is absolute and already checked to be inside `root`.
 */
export async function hashArtifact(path: string, root: string, what: string, cache: StatCache, options: HashOptions = {}): Promise<HashedArtifact> {
  const { onBytes, workers } = options;
  let stats: Stats;
  try {
    stats = await stat(path);
  } catch {
    throw usageError('E_ARTIFACT_MISSING', `${what}: ${path} does not exist`, { hint: 'check the path (for a declared artifact: create it, or fix its path in mlship.yaml)' });
  }
  if (stats.isFile()) {
    return { kind: 'file', digest: await hashCached(path, stats, cache, root, what, onBytes), size: stats.size, source: path };
  }
  if (!stats.isDirectory()) throw usageError('E_ARTIFACT_KIND', `${what}: ${path} is neither a file nor a directory`);
  const hashing = { root, what, ...(onBytes === undefined ? {} : { onBytes }), ...(workers === undefined ? {} : { workers }) };
  // First the listing alone: when the tree cache knows it, nothing per file is looked up or kept.
  const known = cache.knownTree(path);
  const useFind = options.find !== false;
  const listing: Listing = (useFind && known !== undefined && known.files >= FIND_MIN_FILES ? await findListing(path) : undefined) ?? walkListing(path, root, what);
  if (known !== undefined && known.fingerprint === listing.fingerprint && known.size === listing.size && known.files === listing.files) {
    let contents: Promise<TreeContents> | undefined;
    const fromCache = async (): Promise<TreeContents> => {
      const bytes = cache.treeBytes(known.digest);
      if (bytes !== undefined) return { entries: parseTree(bytes, known.digest), bytes };
      const computed = await treeContents(listFiles(path, root, what), cache, hashing);
      if (hashBytes(computed.bytes) !== known.digest) {
        throw environmentError('E_CHANGED', `${what}: ${path} changed while mlship was working on it`, { hint: 'run the command again once nothing writes to the folder' });
      }
      return computed;
    };
    return { kind: 'tree', digest: known.digest, size: listing.size, files: listing.files, source: path, contents: () => (contents ??= fromCache()) };
  }
  // Changed or never seen: walk again keeping the files (what is hashed is what this walk found).
  const files = listFiles(path, root, what);
  const size = files.reduce((n, f) => n + f.stats.size, 0);
  const computed = await treeContents(files, cache, hashing);
  const digest = hashBytes(computed.bytes);
  // Remembered under the fingerprint the next run will compute: find's when the folder is large
  // and find saw exactly the files hashed here, else Node's.
  const next = useFind && files.length >= FIND_MIN_FILES ? findListingOf(path, files) : undefined;
  cache.rememberTree(path, next?.fingerprint ?? filesFingerprint(files), { digest, size, files: files.length }, computed.bytes);
  return { kind: 'tree', digest, size, files: files.length, source: path, contents: async () => computed };
}

async function treeContents(files: ListedFile[], cache: StatCache, options: Parameters<typeof hashFiles>[2]): Promise<TreeContents> {
  // Many files: hashed on worker threads when there is enough uncached work (hash-workers.ts).
  const digests = await hashFiles(files, cache, options);
  const entries = files.map((file, i): TreeEntry => ({
    path: file.rel,
    digest: digests[i] as string,
    size: file.stats.size,
    mode: (file.stats.mode & 0o111) !== 0 ? '755' : '644',
  }));
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, bytes: canonicalTree(entries) };
}

export interface PushStats {
  uploaded: number;
  skipped: number;
  bytes: number;
}

/** Store an artifact's objects (files first, the tree last, so a tree never names a missing object). */
export async function pushArtifact(store: ArtifactStore, artifact: HashedArtifact, progress?: ProgressSink): Promise<PushStats> {
  const stats: PushStats = { uploaded: 0, skipped: 0, bytes: 0 };
  const count = (uploaded: boolean, size: number) => {
    if (uploaded) {
      stats.uploaded++;
      stats.bytes += size;
    } else stats.skipped++;
  };
  if (artifact.kind === 'file') {
    count(await store.putFile(artifact.digest, artifact.source, artifact.size, progress), artifact.size);
    return stats;
  }
  if (await store.has(artifact.digest)) {
    // A tree is only written after all its files, so its presence means the whole directory is there.
    stats.skipped += artifact.files + 1;
    return stats;
  }
  const { entries, bytes } = await artifact.contents();
  // putFiles stores each distinct object once, and asks a store that can list (S3) in bulk what it has.
  const files = entries.map((e) => ({ digest: e.digest, path: join(artifact.source, ...e.path.split('/')), size: e.size }));
  const summary = await putFiles(store, files, { concurrency: store.recommendedConcurrency ?? PARALLEL, ...(progress === undefined ? {} : { progress }) });
  stats.uploaded += summary.uploaded;
  stats.skipped += summary.skipped;
  stats.bytes += summary.bytes;
  count(await store.putBytes(artifact.digest, bytes), bytes.length);
  return stats;
}

/** Parse and validate a tree object read back from a store: it must not point outside its folder. */
export function parseTree(bytes: Buffer, digest: string): TreeEntry[] {
  const bad = (why: string) => integrityError('E_TREE', `tree object ${digest} is malformed: ${why}`, { hint: 'the store holds a damaged or hostile tree object; push the directory again from a good copy' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  const entries = (parsed as { entries?: unknown }).entries;
  if (!Array.isArray(entries)) throw bad("no 'entries' list");
  const seen = new Set<string>();
  return entries.map((raw: unknown, i) => {
    const e = raw as Partial<TreeEntry>;
    if (typeof e.path !== 'string' || typeof e.digest !== 'string' || typeof e.size !== 'number' || (e.mode !== '644' && e.mode !== '755')) throw bad(`entry ${i} has the wrong shape`);
    const parts = e.path.split('/');
    if (e.path === '' || e.path.includes('\\') || e.path.includes('\0') || e.path.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw bad(`entry ${i} has an unsafe path ${JSON.stringify(e.path)}`);
    }
    if (!DIGEST_RE.test(e.digest)) throw bad(`entry ${i} has an invalid digest`);
    if (seen.has(e.path)) throw bad(`entry ${i} repeats the path ${e.path}`);
    seen.add(e.path);
    return { path: e.path, digest: e.digest, size: e.size, mode: e.mode };
  });
}

/**
 * Fetch an artifact to `dest` (a file path, or a folder for a tree), verifying every byte.
 * @param within the folder nothing may be written outside of, also through symbolic links already
 *   there (the `-o` folder or the project root); defaults to `dest` itself.
 */
export async function pullArtifact(store: ArtifactStore, kind: 'file' | 'tree', digest: string, dest: string, progress?: ProgressSink, within?: string): Promise<number> {
  const base = resolve(dest);
  const fence = resolve(within ?? (kind === 'file' ? dirname(base) : base));
  await mkdir(fence, { recursive: true });
  const realBase = await realpath(fence);
  if (kind === 'file') {
    await assertNoLinkOut(realBase, dirname(base), fence, base);
    await store.getFile(digest, base, progress);
    return 1;
  }
  const entries = parseTree(await store.getBytes(digest), digest);
  await assertNoLinkOut(realBase, base, fence, '.');
  await mkdir(base, { recursive: true });
  await assertNoLinkOut(realBase, base, fence, '.');
  await mapPool(entries, PARALLEL, async (entry) => {
    const target = resolve(base, ...entry.path.split('/'));
    if (!isInside(base, target) || target === base) throw integrityError('E_TREE', `tree ${digest} entry ${entry.path} escapes ${dest}`);
    // A folder already below dest may be a symbolic link that leads elsewhere: refuse before
    // creating anything through it (mkdir) and again after, since getFile writes into that folder.
    await assertNoLinkOut(realBase, dirname(target), fence, entry.path);
    await mkdir(dirname(target), { recursive: true });
    await assertNoLinkOut(realBase, dirname(target), fence, entry.path);
    await store.getFile(entry.digest, target, progress);
  });
  return entries.length;
}

/** The nearest existing ancestor of `folder` (itself included) must really be inside `realBase`. */
async function assertNoLinkOut(realBase: string, folder: string, dest: string, entry: string): Promise<void> {
  for (let probe = folder; ; probe = dirname(probe)) {
    const real = await realpath(probe).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (real !== undefined) {
      if (!isInside(realBase, real)) {
        throw integrityError('E_TREE', `entry ${entry} would be written through a symbolic link that leads outside ${dest} (to ${real})`, {
          hint: 'remove the link from the destination folder, or pull into an empty folder',
        });
      }
      return;
    }
    if (dirname(probe) === probe) return;
  }
}
