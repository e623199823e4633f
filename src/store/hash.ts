/**
 * Streaming sha256. Constant memory; large reads so hashing runs near OpenSSL's speed
 * (Node's crypto is OpenSSL underneath: the cost is in the number of chunks, not the hash).
 */
import * as crypto from 'node:crypto';
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Read size for hashing and copying: big enough that per-chunk overhead vanishes. */
export const CHUNK = 4 * 1024 * 1024;

export const digestOf = (hash: Hash): string => `sha256:${hash.digest('hex')}`;

/** One-shot `crypto.hash` (Node 20.12+) costs half of a `createHash` object for a short input. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array | string, encoding: 'hex') => string }).hash;

export const hashBytes = (bytes: Uint8Array | string): string =>
  oneShot === undefined ? digestOf(createHash('sha256').update(bytes)) : `sha256:${oneShot('sha256', bytes, 'hex')}`;

export interface FileDigest {
  digest: string;
  size: number;
}

/** Smallest read buffer: a small file is read in one call without allocating a full CHUNK. */
const MIN_BUFFER = 64 * 1024;

/**
 * Hash a file by reading it in large chunks into two alternating buffers: the next read (on libuv's
 * thread pool) runs while the current chunk is hashed on this thread, so reading costs almost no
 * wall time on a warm page cache and hashing runs at OpenSSL's speed.
 *
 * Buffers are sized from the file's size: allocating two fresh CHUNK buffers for every small file
 * made a directory of 10,000 files of ~200 KB cost ~10× the CPU of hashing it (page faults and
 * external-memory GC, found with `node --cpu-prof` in bench/hash.mjs).
 */
export async function hashFile(path: string, onBytes?: (n: number) => void): Promise<FileDigest> {
  const handle = await open(path, 'r');
  try {
    const expected = (await handle.stat()).size;
    // +1 so that a file read whole in one call ends on a short read, not on a full buffer.
    const length = Math.min(CHUNK, Math.max(MIN_BUFFER, expected + 1));
    const hash = createHash('sha256');
    const buffers: Buffer[] = expected >= length ? [Buffer.allocUnsafe(length), Buffer.allocUnsafe(length)] : [Buffer.allocUnsafe(length)];
    let size = 0;
    let turn = 0;
    let pending = handle.read(buffers[0] as Buffer, 0, length, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const current = buffers[turn] as Buffer;
      turn = (turn + 1) % buffers.length;
      if (buffers.length === 1) {
        // One buffer: hash before the next read overwrites it.
        hash.update(bytesRead === length ? current : current.subarray(0, bytesRead));
        pending = handle.read(current, 0, length, null);
      } else {
        // Reads without a position go on from the file offset, in the order they are issued.
        pending = handle.read(buffers[turn] as Buffer, 0, length, null);
        hash.update(bytesRead === length ? current : current.subarray(0, bytesRead));
      }
      size += bytesRead;
      onBytes?.(bytesRead);
    }
    return { digest: digestOf(hash), size };
  } finally {
    await handle.close();
  }
}
