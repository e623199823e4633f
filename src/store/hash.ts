/**
 * Streaming sha256. Constant memory; large reads so hashing runs near OpenSSL's speed
 * (Node's crypto is OpenSSL underneath: the cost is in the number of chunks, not the hash).
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Read size for hashing and copying: big enough that per-chunk overhead vanishes. */
export const CHUNK = 4 * 1024 * 1024;

export const digestOf = (hash: Hash): string => `sha256:${hash.digest('hex')}`;

export const hashBytes = (bytes: Uint8Array | string): string => digestOf(createHash('sha256').update(bytes));

export interface FileDigest {
  digest: string;
  size: number;
}

/** Hash a file by reading it in large chunks into one reused buffer. */
export async function hashFile(path: string, onBytes?: (n: number) => void): Promise<FileDigest> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead));
      size += bytesRead;
      onBytes?.(bytesRead);
    }
    return { digest: digestOf(hash), size };
  } finally {
    await handle.close();
  }
}
