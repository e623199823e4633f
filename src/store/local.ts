/**
 * The local folder store (`file://`, default `.mlship/store`).
 * Writes go to a temporary file in the object's own folder, are hashed while they are copied,
 * fsynced, then linked into place: `link` fails when the key exists, so an object is never
 * overwritten even by a racing writer, and a crash leaves only a temporary file behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { environmentError, integrityError, messageOf, type MlshipError } from '../errors.js';
import { CHUNK, digestOf } from './hash.js';
import { objectKey, type ArtifactStore, type ProgressSink } from './types.js';

const tempName = (dir: string) => join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);

const ioError = (what: string, error: unknown): MlshipError => {
  const code = (error as NodeJS.ErrnoException).code;
  const hint =
    code === 'ENOSPC' ? 'free some disk space and run the command again (nothing partial was kept)'
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'make the store folder writable, or point `store:` at another folder'
    : 'check that the store folder exists and is writable, then run the command again';
  return environmentError('E_STORE_IO', `${what}: ${messageOf(error)}`, { hint, cause: error });
};

/** Copy `from` into an open handle while hashing; returns the digest of what was copied. */
async function copyHashing(from: FileHandle, to: FileHandle, expectedSize: number, progress?: ProgressSink): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  // A buffer the size of the file (up to CHUNK): 10,000 small files must not cost 10,000 × 4 MiB.
  const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, expectedSize + 1)));
  let size = 0;
  for (;;) {
    const { bytesRead } = await from.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    hash.update(chunk);
    let written = 0;
    while (written < bytesRead) written += (await to.write(chunk, written, bytesRead - written)).bytesWritten;
    size += bytesRead;
    progress?.(bytesRead);
  }
  return { digest: digestOf(hash), size };
}

/**
 * Move a verified temporary file to `final` without ever replacing an existing object.
 * @returns false when another writer stored the same object first.
 */
async function publish(temp: string, final: string): Promise<boolean> {
  try {
    await link(temp, final);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * @param folder the store folder
 * @param url the store URL as configured (e.g. `file://.mlship/store`): recorded URIs use it, so a
 *   committed register event does not carry one machine's absolute paths. Defaults to the folder's file URL.
 */
export function createLocalStore(folder: string, url?: string): ArtifactStore {
  const root = resolve(folder);
  const base = (url ?? pathToFileURL(root).href).replace(/\/+$/, '');
  const pathOf = (digest: string) => join(root, ...objectKey(digest).split('/'));

  const exists = async (path: string) => {
    try {
      await stat(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw ioError(`cannot read the store at ${root}`, error);
    }
  };

  const missing = (digest: string) =>
    environmentError('E_OBJECT_MISSING', `object ${digest} is not in the store ${root}`, {
      hint: "push the artifacts from a machine that has them ('mlship push'), or check the store setting",
    });

  async function writeObject(digest: string, fill: (handle: FileHandle) => Promise<string>): Promise<boolean> {
    const final = pathOf(digest);
    if (await exists(final)) return false;
    const dir = dirname(final);
    const temp = tempName(dir);
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(temp, 'wx', 0o444);
      let actual: string;
      try {
        actual = await fill(handle);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (actual !== digest) {
        await rm(temp, { force: true });
        throw integrityError('E_DIGEST', `content changed while it was stored: expected ${digest}, read ${actual}`, {
          hint: 'a file was modified during the push; run the command again',
        });
      }
      return await publish(temp, final);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      if ((error as MlshipError).exitCode !== undefined) throw error;
      throw ioError(`cannot write object ${digest} to ${root}`, await causeOf(error));
    }
  }

  /**
   * Node's recursive mkdir reports ENOENT for a folder it cannot create on a read-only file system
   * (it goes looking for a missing parent): ask the store folder itself what is wrong, so the
   * message says "read-only" and the hint fits.
   */
  async function causeOf(error: unknown): Promise<unknown> {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return error;
    try {
      await access(root, constants.W_OK);
    } catch (probe) {
      const code = (probe as NodeJS.ErrnoException).code;
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return probe;
    }
    return error;
  }

  /** Hash an object file; `undefined` when it is absent. */
  async function hashObject(digest: string, sink?: (chunk: Buffer) => Promise<void>): Promise<string | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(pathOf(digest), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw ioError(`cannot read object ${digest}`, error);
    }
    try {
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, (await handle.stat()).size + 1)));
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        if (sink !== undefined) await sink(chunk);
      }
      return digestOf(hash);
    } finally {
      await handle.close();
    }
  }

  const corrupt = (digest: string, actual: string) =>
    integrityError('E_DIGEST', `object ${digest} in ${root} is corrupt: its bytes hash to ${actual}`, {
      hint: "delete the corrupt object file and push it again from a good copy; run 'mlship verify --store' to find others",
    });

  return {
    kind: 'file',
    url: base,
    uriOf: (digest) => `${base}/${objectKey(digest)}`,
    has: (digest) => exists(pathOf(digest)),

    async putFile(digest, path, size, progress) {
      if (await exists(pathOf(digest))) return false;
      let source: FileHandle;
      try {
        source = await open(path, 'r');
      } catch (error) {
        throw ioError(`cannot read ${path}`, error);
      }
      try {
        return await writeObject(digest, async (handle) => (await copyHashing(source, handle, size, progress)).digest);
      } finally {
        await source.close();
      }
    },

    putBytes(digest, bytes) {
      return writeObject(digest, async (handle) => {
        await handle.writeFile(bytes);
        return digestOf(createHash('sha256').update(bytes));
      });
    },

    async getFile(digest, dest, progress) {
      const temp = tempName(dirname(dest));
      try {
        await mkdir(dirname(dest), { recursive: true });
        const out = await open(temp, 'wx', 0o644);
        let actual: string | undefined;
        try {
          actual = await hashObject(digest, async (chunk) => {
            let written = 0;
            while (written < chunk.length) written += (await out.write(chunk, written, chunk.length - written)).bytesWritten;
            progress?.(chunk.length);
          });
          await out.sync();
        } finally {
          await out.close();
        }
        if (actual === undefined) throw missing(digest);
        if (actual !== digest) throw corrupt(digest, actual);
        await rename(temp, dest);
      } catch (error) {
        await rm(temp, { force: true });
        if ((error as MlshipError).exitCode !== undefined) throw error;
        throw ioError(`cannot write ${dest}`, error);
      }
    },

    async getBytes(digest) {
      let bytes: Buffer;
      try {
        bytes = await readFile(pathOf(digest));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing(digest);
        throw ioError(`cannot read object ${digest}`, error);
      }
      const actual = digestOf(createHash('sha256').update(bytes));
      if (actual !== digest) throw corrupt(digest, actual);
      return bytes;
    },

    async check(digest) {
      const actual = await hashObject(digest);
      return actual === undefined ? 'missing' : actual === digest ? 'ok' : 'corrupt';
    },

    async close() {},
  };
}

