/**
 * Bounded concurrency: run many async jobs with at most N in flight, and share a budget (bytes held
 * in memory, sockets) between independent callers. Generic: used by the S3 store for parts and by
 * pushes of many files to any store.
 */
import type { ArtifactStore, ProgressSink } from './types.js';

/**
 * Map `items` through `fn` with at most `limit` calls in flight; results keep the input order.
 * On the first failure no new job starts; the jobs in flight are awaited (so nothing keeps running
 * behind the caller's back) and the first error is thrown.
 */
export async function mapPool<T, R>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const list = Array.from(items);
  const results = new Array<R>(list.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < list.length) {
      const index = next++;
      try {
        results[index] = await fn(list[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const width = Math.max(1, Math.min(Math.floor(limit), list.length));
  await Promise.all(Array.from({ length: width }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * A counting semaphore with weights: `acquire(n)` waits until `n` units are free. A request larger
 * than the whole capacity is admitted alone (when nothing else holds units), so it cannot deadlock.
 * Waiters are served in order, so a large request is not starved by a stream of small ones.
 */
export class Semaphore {
  private used = 0;
  private readonly waiters: { weight: number; resolve: () => void }[] = [];

  constructor(readonly capacity: number) {}

  async acquire(weight = 1): Promise<() => void> {
    if (this.waiters.length === 0 && this.fits(weight)) {
      this.used += weight;
    } else {
      await new Promise<void>((resolve) => this.waiters.push({ weight, resolve }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= weight;
      this.drain();
    };
  }

  /** Run `fn` holding `weight` units. */
  async with<R>(weight: number, fn: () => Promise<R>): Promise<R> {
    const release = await this.acquire(weight);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private fits(weight: number): boolean {
    return this.used === 0 || this.used + weight <= this.capacity;
  }

  private drain(): void {
    for (let head = this.waiters[0]; head !== undefined && this.fits(head.weight); head = this.waiters[0]) {
      this.waiters.shift();
      this.used += head.weight;
      head.resolve();
    }
  }
}

/** A store that can tell which of many objects exist with fewer requests than one per object. */
export interface BulkPresence {
  /** The digests among `digests` that are stored, with their sizes in bytes. */
  presentAmong(digests: readonly string[]): Promise<Map<string, number>>;
}

export const hasBulkPresence = (store: object): store is BulkPresence =>
  typeof (store as Partial<BulkPresence>).presentAmong === 'function';

/** One file to store: already hashed. */
export interface FileToPut {
  digest: string;
  path: string;
  size: number;
}

/** What a push of many files did, for `--json` summaries. */
export interface PutSummary {
  uploaded: number;
  skipped: number;
  /** Bytes sent (objects that were skipped do not count). */
  bytes: number;
  /** Per input file, in order: true when written, false when the object was already there. */
  written: boolean[];
}

/**
 * Store many files with bounded concurrency (objects present are skipped by the store itself).
 * Files with the same digest are stored once. Stops at the first error, after the uploads in flight
 * have settled.
 */
export async function putFiles(
  store: ArtifactStore,
  files: readonly FileToPut[],
  options: { concurrency?: number; progress?: ProgressSink } = {},
): Promise<PutSummary> {
  const first = new Map<string, number>();
  files.forEach((file, index) => {
    if (!first.has(file.digest)) first.set(file.digest, index);
  });
  const unique = [...first.values()].map((index) => files[index] as FileToPut);
  // One listing instead of a HEAD per file, where the store can (S3). An object present with the
  // wrong size still goes to putFile, which reports the damage.
  const present = hasBulkPresence(store) ? await store.presentAmong(unique.map((file) => file.digest)) : new Map<string, number>();
  const outcomes = await mapPool(unique, options.concurrency ?? 16, async (file) =>
    present.get(file.digest) === file.size ? false : store.putFile(file.digest, file.path, file.size, options.progress),
  );
  const byDigest = new Map(unique.map((file, index) => [file.digest, outcomes[index] === true]));
  const written = files.map((file, index) => first.get(file.digest) === index && byDigest.get(file.digest) === true);
  let bytes = 0;
  unique.forEach((file, index) => {
    if (outcomes[index] === true) bytes += file.size;
  });
  const uploaded = outcomes.filter((outcome) => outcome).length;
  return { uploaded, skipped: files.length - uploaded, bytes, written };
}
