/**
 * Hashing many files on every core: a small pool of worker threads, each reading and hashing whole
 * files synchronously (one sha256 stream cannot be split, but separate files can run side by side).
 *
 * On the main thread Node's crypto runs sha256 on the JavaScript thread while libuv only does the
 * reads, so a directory of many files hashes on one core. The workers each take a core; the main
 * thread only deals out batches and keeps the stat cache (looked up before dispatch, filled after).
 *
 * The pool is started for one call and terminated before the call returns (nothing keeps the
 * process alive). It is used only when there is enough uncached work to pay for starting threads
 * (about 20–40 ms each): small directories and single files stay on the main thread.
 *
 * `MLSHIP_HASH_WORKERS` overrides the choice: `0` hashes on the main thread, `N` uses N workers
 * whatever the amount of work (benchmarks compare 1 worker with N this way).
 */
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import { environmentError, isMlshipError, messageOf, type MlshipError } from '../errors.js';
import { CHUNK, hashFile } from './hash.js';
import { mapPool } from './pool.js';
import type { FileIdentity, StatCache } from './stat-cache.js';
import type { ProgressSink } from './types.js';

/** One file to hash; `stats` keys the stat cache. */
export interface FileToHash {
  full: string;
  stats: FileIdentity;
}

export interface HashFilesOptions {
  /** Folder that error messages show paths relative to. */
  root: string;
  /** What is being hashed, for error messages (e.g. `mlship.yaml:9:7 models.churn.artifacts.model`). */
  what: string;
  onBytes?: ProgressSink;
  /** Worker threads to use: 0 = main thread only; undefined = decide from the work and the env. */
  workers?: number;
}

/** Below both of these (uncached files, uncached bytes), threads cost more than they save. */
export const MIN_FILES_FOR_WORKERS = 64;
export const MIN_BYTES_FOR_WORKERS = 64 * 1024 * 1024;
/** Files hashed at once on the main thread (async reads: keeps the disk busy). */
const MAIN_THREAD_PARALLEL = 8;
/** A batch sent to a worker: few messages for many small files, short enough to balance the load. */
const BATCH_FILES = 32;
const BATCH_BYTES = 16 * 1024 * 1024;
/** Batches queued per worker, so a worker never waits for the main thread between batches. */
const IN_FLIGHT_PER_WORKER = 2;

/**
 * The error for a file that cannot be read: the same on the main thread and in a worker (built from
 * the errno code and path only, never from a thread-specific message).
 */
export function readError(full: string, options: Pick<HashFilesOptions, 'root' | 'what'>, cause: unknown): MlshipError {
  if (isMlshipError(cause)) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  const shown = relative(options.root, full) || full;
  const why =
    code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'ENOENT' ? 'it disappeared while being hashed'
    : code === 'EISDIR' ? 'it is a directory'
    : messageOf(cause);
  return environmentError('E_READ', `${options.what}: cannot read '${shown}' (${code}: ${why})`, {
    hint: code === 'EACCES' || code === 'EPERM' ? `make it readable (chmod u+r '${shown}') and run the command again` : 'check the file and run the command again',
    cause,
  });
}

/** Hash one file on the main thread, errors as `readError`. */
export async function hashOnMainThread(full: string, options: Pick<HashFilesOptions, 'root' | 'what' | 'onBytes'>): Promise<string> {
  try {
    return (await hashFile(full, options.onBytes)).digest;
  } catch (error) {
    throw readError(full, options, error);
  }
}

/** The number of workers from `MLSHIP_HASH_WORKERS` in `env`, or undefined when unset or not a number. */
export function workersSetting(env: Record<string, string | undefined>): number | undefined {
  const raw = env['MLSHIP_HASH_WORKERS'];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 64) : undefined;
}

/** How many workers to use for this much uncached work (0: the main thread). */
export function chooseWorkers(files: number, bytes: number, requested?: number): number {
  if (requested !== undefined) return Math.min(requested, files);
  if (files < 2) return 0;
  if (files < MIN_FILES_FOR_WORKERS && bytes < MIN_BYTES_FOR_WORKERS) return 0;
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, files);
}

/**
 * The digest of every file, in input order, through the stat cache: cached files are not read,
 * the rest are hashed on worker threads when there is enough of them, and remembered.
 */
export async function hashFiles(files: readonly FileToHash[], cache: StatCache, options: HashFilesOptions): Promise<string[]> {
  const digests = new Array<string>(files.length);
  const todo: number[] = [];
  let bytes = 0;
  files.forEach((file, i) => {
    const known = cache.lookup(file.full, file.stats);
    if (known !== undefined) digests[i] = known;
    else {
      todo.push(i);
      bytes += file.stats.size;
    }
  });
  if (todo.length === 0) return digests;
  const workers = chooseWorkers(todo.length, bytes, options.workers);
  const computed = workers === 0 ? await hashHere(files, todo, options) : await hashInWorkers(files, todo, workers, options);
  todo.forEach((index, k) => {
    const file = files[index] as FileToHash;
    const digest = computed[k] as string;
    digests[index] = digest;
    cache.remember(file.full, file.stats, digest);
  });
  return digests;
}

async function hashHere(files: readonly FileToHash[], todo: number[], options: HashFilesOptions): Promise<string[]> {
  return mapPool(todo, MAIN_THREAD_PARALLEL, (index) => hashOnMainThread((files[index] as FileToHash).full, options));
}

/* ---------- the pool ---------- */

/** What a worker sends back for one file. */
type WorkerResult = { digest: string; size: number } | { error: { code: string | undefined; message: string } };

interface BatchReply {
  id: number;
  results: WorkerResult[];
}

/**
 * The worker's code. CommonJS evaluated from a string (`eval: true`) so that it runs the same from
 * dist/ and from the TypeScript sources under test, with no file of its own to locate.
 * Synchronous reads: a worker does one thing at a time, and a sync read into one reused buffer has
 * the least overhead per file.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const buffer = Buffer.allocUnsafe(${CHUNK});
function hashOne(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(n === buffer.length ? buffer : buffer.subarray(0, n));
      size += n;
    }
    return { digest: 'sha256:' + hash.digest('hex'), size };
  } catch (error) {
    return { error: { code: error && error.code, message: String(error && error.message || error) } };
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch {}
  }
}
parentPort.on('message', (batch) => {
  parentPort.postMessage({ id: batch.id, results: batch.paths.map(hashOne) });
});
`;

/** Rebuild a worker's error as the errno-style error the main thread would have seen. */
function errnoError(error: { code: string | undefined; message: string }): NodeJS.ErrnoException {
  const rebuilt: NodeJS.ErrnoException = new Error(error.message);
  if (error.code !== undefined) rebuilt.code = error.code;
  return rebuilt;
}

/** Cut the work into batches of at most BATCH_FILES files and about BATCH_BYTES bytes. */
function batchesOf(files: readonly FileToHash[], todo: number[]): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const index of todo) {
    const size = (files[index] as FileToHash).stats.size;
    if (current.length > 0 && (current.length >= BATCH_FILES || bytes + size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

async function hashInWorkers(files: readonly FileToHash[], todo: number[], count: number, options: HashFilesOptions): Promise<string[]> {
  const position = new Map(todo.map((index, k) => [index, k]));
  const out = new Array<string>(todo.length);
  const batches = batchesOf(files, todo);
  const pool = Array.from({ length: Math.max(1, Math.min(count, batches.length)) }, () => new Worker(WORKER_SOURCE, { eval: true }));
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let pending = 0;
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        reject(error);
      };
      const feed = (worker: Worker) => {
        while (!failed && next < batches.length && inFlight.get(worker)! < IN_FLIGHT_PER_WORKER) {
          const id = next++;
          const batch = batches[id] as number[];
          inFlight.set(worker, inFlight.get(worker)! + 1);
          pending++;
          worker.postMessage({ id, paths: batch.map((index) => (files[index] as FileToHash).full) });
        }
        if (!failed && pending === 0 && next >= batches.length) resolve();
      };
      const inFlight = new Map<Worker, number>(pool.map((worker) => [worker, 0]));
      for (const worker of pool) {
        worker.on('message', (reply: BatchReply) => {
          inFlight.set(worker, inFlight.get(worker)! - 1);
          pending--;
          const batch = batches[reply.id] as number[];
          reply.results.forEach((result, j) => {
            const index = batch[j] as number;
            const full = (files[index] as FileToHash).full;
            if ('error' in result) fail(readError(full, options, errnoError(result.error)));
            else {
              out[position.get(index) as number] = result.digest;
              options.onBytes?.(result.size);
            }
          });
          feed(worker);
        });
        // A worker that dies (out of memory, a bug) fails the call instead of leaving it waiting.
        worker.on('error', (error) => fail(environmentError('E_HASH_WORKER', `hashing failed in a worker thread: ${messageOf(error)}`, { cause: error })));
        worker.on('exit', (code) => {
          if (code !== 0) fail(environmentError('E_HASH_WORKER', `a hashing worker thread exited with code ${code}`));
        });
      }
      for (const worker of pool) feed(worker);
    });
  } finally {
    // Whatever happened, no thread outlives the call.
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return out;
}
