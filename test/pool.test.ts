/**
 * Bounded concurrency helpers (src/store/pool.ts): order, limits, failure, weights.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { mapPool, putFiles, Semaphore } from '../src/store/pool.js';
import type { ArtifactStore } from '../src/store/types.js';

describe('mapPool', () => {
  it('keeps input order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapPool([5, 1, 4, 2, 3, 0, 6, 2], 3, async (value) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(value);
      inFlight--;
      return value * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0, 60, 20]);
    expect(peak).toBe(3);
  });

  it('on the first failure starts nothing new, waits for the jobs in flight, and throws that failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const error = await mapPool([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 2, async (value) => {
      started.push(value);
      await sleep(value === 1 ? 1 : 5);
      if (value === 1) throw new Error('boom 1');
      finished.push(value);
      return value;
    }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('boom 1');
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([0]);
  });

  it('handles an empty list', async () => {
    expect(await mapPool([], 4, async () => 1)).toEqual([]);
  });
});

describe('Semaphore', () => {
  it('admits by weight, in order, and lets an oversized request through alone', async () => {
    const semaphore = new Semaphore(10);
    const order: string[] = [];
    const a = await semaphore.acquire(6);
    const waitingB = semaphore.acquire(6).then((release) => {
      order.push('b');
      return release;
    });
    const waitingC = semaphore.acquire(1).then((release) => {
      order.push('c');
      return release;
    });
    await sleep(5);
    // c would fit, but b was first: no overtaking.
    expect(order).toEqual([]);
    a();
    const b = await waitingB;
    const c = await waitingC;
    expect(order).toEqual(['b', 'c']);
    b();
    c();
    const huge = await semaphore.acquire(100);
    huge();
    huge();
    expect(await semaphore.with(10, async () => 'ran')).toBe('ran');
  });
});

describe('putFiles', () => {
  it('stores each digest once, counts uploads, skips and bytes, and uses bulk presence when offered', async () => {
    const stored = new Map<string, number>([['sha256:' + 'a'.repeat(64), 3]]);
    const calls: string[] = [];
    let presenceCalls = 0;
    const store = {
      putFile: async (digest: string, _path: string, size: number) => {
        calls.push(digest);
        if (stored.has(digest)) return false;
        stored.set(digest, size);
        return true;
      },
      presentAmong: async (digests: readonly string[]) => {
        presenceCalls++;
        return new Map(digests.filter((digest) => stored.has(digest)).map((digest) => [digest, stored.get(digest) ?? 0]));
      },
    } as unknown as ArtifactStore; // only the two methods putFiles uses
    const d = (c: string) => `sha256:${c.repeat(64)}`;
    const summary = await putFiles(store, [
      { digest: d('a'), path: 'a', size: 3 },
      { digest: d('b'), path: 'b', size: 5 },
      { digest: d('b'), path: 'b2', size: 5 },
      { digest: d('c'), path: 'c', size: 7 },
    ]);
    expect(summary).toEqual({ uploaded: 2, skipped: 2, bytes: 12, written: [false, true, false, true] });
    expect(presenceCalls).toBe(1);
    // 'a' was known present with the right size: no putFile at all.
    expect(calls.sort()).toEqual([d('b'), d('c')]);
  });
});
