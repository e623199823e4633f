/**
 * The S3 store against a real S3-protocol server (test/setup/s3.ts): s3rver by default, or the
 * endpoint named by MLSHIP_TEST_S3_ENDPOINT. No SDK mocks: objects are inspected and corrupted with a
 * plain SDK client that goes around mlship.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlshipError } from '../src/errors.js';
import { objectKey } from '../src/store/types.js';
import { putFiles } from '../src/store/pool.js';
import type { S3Store } from '../src/store/s3.js';
import { freshPrefix, listKeys, openTestStore, plantObject, randomFile, rawClient, readObject, s3, sha256, tempDir, wrongObjects } from './helpers/s3.js';

const MiB = 1024 * 1024;
/** Small enough for a quick suite, big enough for five parts of S3's minimum part size. */
const MULTIPART = { multipartThreshold: 6 * MiB, partSize: 5 * MiB, partConcurrency: 4 };

const raw = rawClient();

async function expectError(promise: Promise<unknown>, code: string, exitCode: number): Promise<MlshipError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MlshipError);
  const mlship = error as MlshipError;
  expect({ code: mlship.code, exitCode: mlship.exitCode }).toEqual({ code, exitCode });
  expect(mlship.hint).toBeTruthy();
  return mlship;
}

describe('S3 store: layout, put, get, has, check', () => {
  let prefix: string;
  let store: S3Store;
  let dir: string;

  beforeAll(async () => {
    prefix = freshPrefix('basic');
    store = await openTestStore(prefix, { tuning: MULTIPART });
    dir = await tempDir('s3-basic');
  });
  afterAll(async () => {
    await store.close();
  });

  it('stores a file under <prefix>/objects/sha256/ab/cd… and reports its s3:// URI', async () => {
    const file = await randomFile(dir, 'model.bin', 10_000);
    const moved: number[] = [];
    expect(await store.has(file.digest)).toBe(false);
    expect(await store.putFile(file.digest, file.path, file.size, (bytes) => moved.push(bytes))).toBe(true);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(file.size);
    expect(await store.has(file.digest)).toBe(true);

    const key = `${prefix}/${objectKey(file.digest)}`;
    expect(key).toMatch(/\/objects\/sha256\/[0-9a-f]{2}\/[0-9a-f]{62}$/);
    expect(store.uriOf(file.digest)).toBe(`s3://${s3().bucket}/${key}`);
    expect(store.url).toBe(`s3://${s3().bucket}/${prefix}`);
    expect(store.kind).toBe('s3');
    expect((await readObject(raw, key)).equals(file.bytes)).toBe(true);
  });

  it('gets a file back, verified, into a new folder, leaving no temporary file', async () => {
    const file = await randomFile(dir, 'weights.bin', 300_000);
    await store.putFile(file.digest, file.path, file.size);
    const out = await tempDir('s3-get');
    const dest = join(out, 'nested', 'deeper', 'weights.bin');
    const moved: number[] = [];
    await store.getFile(file.digest, dest, (bytes) => moved.push(bytes));
    expect((await readFile(dest)).equals(file.bytes)).toBe(true);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(file.size);
    expect(await readdir(join(out, 'nested', 'deeper'))).toEqual(['weights.bin']);
    expect(await store.check(file.digest)).toBe('ok');
  });

  it('stores and reads small in-memory objects (tree objects)', async () => {
    const bytes = Buffer.from(JSON.stringify({ entries: [{ path: 'a.bin', digest: `sha256:${'0'.repeat(64)}`, size: 1, mode: '644' }] }));
    const digest = sha256(bytes);
    expect(await store.putBytes(digest, bytes)).toBe(true);
    expect(await store.putBytes(digest, bytes)).toBe(false);
    expect((await store.getBytes(digest)).equals(bytes)).toBe(true);
  });

  it('refuses to store bytes under a digest they do not have', async () => {
    const bytes = Buffer.from('not what the key says');
    const other = sha256(Buffer.from('something else'));
    await expectError(store.putBytes(other, bytes), 'E_DIGEST', 4);
    expect(await store.has(other)).toBe(false);
  });

  it('stores an empty file', async () => {
    const file = await randomFile(dir, 'empty.bin', 0);
    expect(await store.putFile(file.digest, file.path, 0)).toBe(true);
    const dest = join(dir, 'empty.out');
    await store.getFile(file.digest, dest);
    expect((await readFile(dest)).length).toBe(0);
    expect(await store.check(file.digest)).toBe('ok');
  });

  it('skips an object that is already there (HEAD), and says so', async () => {
    const file = await randomFile(dir, 'twice.bin', 5_000);
    expect(await store.putFile(file.digest, file.path, file.size)).toBe(true);
    const moved: number[] = [];
    expect(await store.putFile(file.digest, file.path, file.size, (bytes) => moved.push(bytes))).toBe(false);
    expect(moved).toEqual([]);
  });

  it('never overwrites an existing key, even one holding wrong bytes of the right size', async () => {
    const file = await randomFile(dir, 'victim.bin', 4_096);
    const key = `${prefix}/${objectKey(file.digest)}`;
    const impostor = Buffer.alloc(file.size, 7);
    await plantObject(raw, key, impostor);
    expect(await store.putFile(file.digest, file.path, file.size)).toBe(false);
    expect((await readObject(raw, key)).equals(impostor)).toBe(true);
  });

  it('stops with E_DIGEST (exit 4) when an object of another size sits under the key', async () => {
    const file = await randomFile(dir, 'short.bin', 4_096);
    const key = `${prefix}/${objectKey(file.digest)}`;
    await plantObject(raw, key, file.bytes.subarray(0, 100));
    const error = await expectError(store.putFile(file.digest, file.path, file.size), 'E_DIGEST', 4);
    expect(error.message).toContain('100 bytes');
    expect((await readObject(raw, key)).length).toBe(100);
  });

  it('reports a missing object: has false, check missing, getFile E_OBJECT_MISSING (exit 3) writing nothing', async () => {
    const digest = sha256(Buffer.from(`never stored ${Math.random()}`));
    expect(await store.has(digest)).toBe(false);
    expect(await store.check(digest)).toBe('missing');
    const out = await tempDir('s3-missing');
    await expectError(store.getFile(digest, join(out, 'x.bin')), 'E_OBJECT_MISSING', 3);
    await expectError(store.getBytes(digest), 'E_OBJECT_MISSING', 3);
    expect(await readdir(out)).toEqual([]);
  });

  it('a destination that cannot be written is E_WRITE (exit 3)', async () => {
    const file = await randomFile(dir, 'dest-blocked.bin', 100);
    await store.putFile(file.digest, file.path, file.size);
    // The parent "folder" is a regular file.
    await expectError(store.getFile(file.digest, join(file.path, 'child.bin')), 'E_WRITE', 3);
  });

  it('rejects malformed digests as usage errors', async () => {
    await expectError(store.has('sha256:XYZ'), 'E_DIGEST_FORM', 2);
    expect(() => store.uriOf('md5:abc')).toThrow(MlshipError);
  });
});

describe('S3 store: corrupted objects on the server', () => {
  let prefix: string;
  let store: S3Store;
  let dir: string;

  beforeAll(async () => {
    prefix = freshPrefix('corrupt');
    store = await openTestStore(prefix, { tuning: MULTIPART });
    dir = await tempDir('s3-corrupt');
  });
  afterAll(async () => {
    await store.close();
  });

  it('catches bytes replaced behind its back: getFile E_DIGEST (exit 4), dest untouched; check says corrupt', async () => {
    const file = await randomFile(dir, 'model.bin', 50_000);
    expect(await store.putFile(file.digest, file.path, file.size)).toBe(true);
    const key = `${prefix}/${objectKey(file.digest)}`;
    const flipped = Buffer.from(file.bytes);
    flipped[12_345] = (flipped[12_345] ?? 0) ^ 0xff;
    await plantObject(raw, key, flipped);

    const out = await tempDir('s3-corrupt-out');
    const dest = join(out, 'model.bin');
    const error = await expectError(store.getFile(file.digest, dest), 'E_DIGEST', 4);
    expect(error.message).toContain(store.uriOf(file.digest));
    expect(await readdir(out)).toEqual([]);
    await expectError(store.getBytes(file.digest), 'E_DIGEST', 4);
    expect(await store.check(file.digest)).toBe('corrupt');
  });

  it('does not replace an existing destination when the object is corrupt', async () => {
    const file = await randomFile(dir, 'keep.bin', 20_000);
    await store.putFile(file.digest, file.path, file.size);
    await plantObject(raw, `${prefix}/${objectKey(file.digest)}`, Buffer.alloc(20_000, 1));
    const out = await tempDir('s3-keep');
    const dest = join(out, 'keep.bin');
    await writeFile(dest, 'previous contents');
    await expectError(store.getFile(file.digest, dest), 'E_DIGEST', 4);
    expect(await readFile(dest, 'utf8')).toBe('previous contents');
    expect(await readdir(out)).toEqual(['keep.bin']);
  });

  it('catches a truncated object (the other kind of damage)', async () => {
    const file = await randomFile(dir, 'cut.bin', 30_000);
    await store.putFile(file.digest, file.path, file.size);
    await plantObject(raw, `${prefix}/${objectKey(file.digest)}`, file.bytes.subarray(0, 29_999));
    expect(await store.check(file.digest)).toBe('corrupt');
  });
});

describe('S3 store: multipart uploads', () => {
  let prefix: string;
  let store: S3Store;
  let dir: string;

  beforeAll(async () => {
    prefix = freshPrefix('multipart');
    store = await openTestStore(prefix, { tuning: MULTIPART });
    dir = await tempDir('s3-multipart');
  });
  afterAll(async () => {
    await store.close();
  });

  it('uploads a large file in parallel parts, reports progress per part, and reads it back verified', async () => {
    const file = await randomFile(dir, 'big.bin', 23 * MiB + 12_345);
    const moved: number[] = [];
    expect(await store.putFile(file.digest, file.path, file.size, (bytes) => moved.push(bytes))).toBe(true);
    // Five parts: four of 5 MiB and the rest.
    expect(moved.length).toBe(5);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(file.size);
    expect((await readObject(raw, `${prefix}/${objectKey(file.digest)}`)).equals(file.bytes)).toBe(true);
    const dest = join(dir, 'big.out');
    await store.getFile(file.digest, dest);
    expect((await readFile(dest)).equals(file.bytes)).toBe(true);
    expect(await store.check(file.digest)).toBe('ok');
    expect(await store.putFile(file.digest, file.path, file.size)).toBe(false);
  });

  it('a file that no longer matches its digest is refused (E_DIGEST, exit 4) and nothing appears under the key', async () => {
    const file = await randomFile(dir, 'changing.bin', 12 * MiB);
    const stale = sha256(Buffer.concat([file.bytes.subarray(0, 100), Buffer.from('x'), file.bytes.subarray(101)]));
    await expectError(store.putFile(stale, file.path, file.size), 'E_DIGEST', 4);
    expect(await store.has(stale)).toBe(false);
    expect(await listKeys(raw, prefix)).not.toContain(`${prefix}/${objectKey(stale)}`);
  });

  it('a small file that changed after hashing is refused too', async () => {
    const file = await randomFile(dir, 'edited.bin', 1_000);
    await writeFile(file.path, Buffer.alloc(1_000, 3));
    await expectError(store.putFile(file.digest, file.path, file.size), 'E_DIGEST', 4);
    expect(await store.has(file.digest)).toBe(false);
  });

  it('a small file that grew or shrank after hashing is refused (one read of size + 1 bytes tells)', async () => {
    const grown = await randomFile(dir, 'grown-small.bin', 2_000);
    await writeFile(grown.path, Buffer.concat([grown.bytes, Buffer.from('x')]));
    await expectError(store.putFile(grown.digest, grown.path, grown.size), 'E_DIGEST', 4);
    const shrunk = await randomFile(dir, 'shrunk-small.bin', 2_000);
    await writeFile(shrunk.path, shrunk.bytes.subarray(0, 1_999));
    await expectError(store.putFile(shrunk.digest, shrunk.path, shrunk.size), 'E_DIGEST', 4);
    const emptied = await randomFile(dir, 'emptied.bin', 10);
    await writeFile(emptied.path, '');
    await expectError(store.putFile(emptied.digest, emptied.path, emptied.size), 'E_DIGEST', 4);
    for (const digest of [grown.digest, shrunk.digest, emptied.digest]) expect(await store.has(digest)).toBe(false);
  });

  it('a file that grew after hashing is refused', async () => {
    const file = await randomFile(dir, 'grown.bin', 7 * MiB);
    await writeFile(file.path, Buffer.concat([file.bytes, Buffer.from('appended')]));
    await expectError(store.putFile(file.digest, file.path, file.size), 'E_DIGEST', 4);
    expect(await store.has(file.digest)).toBe(false);
  });
});

describe('S3 store: many small files', () => {
  it('pushes 500 small files with bounded concurrency, then skips them all on a rerun', async () => {
    const prefix = freshPrefix('many');
    const store = await openTestStore(prefix);
    const dir = await tempDir('s3-many');
    const files = [];
    for (let i = 0; i < 500; i++) files.push(await randomFile(dir, `f${i}.bin`, 200 + (i % 37) * 50));
    // Two paths with the same bytes are stored once.
    await writeFile(join(dir, 'dup.bin'), files[0]?.bytes ?? '');
    const all = [...files, { path: join(dir, 'dup.bin'), digest: files[0]?.digest ?? '', size: files[0]?.size ?? 0 }];

    let inFlight = 0;
    let peak = 0;
    // The real store, with putFile counting how many calls are in flight.
    const counting: S3Store = Object.assign(Object.create(store) as S3Store, {
      putFile: async (digest: string, path: string, size: number) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          return await store.putFile(digest, path, size);
        } finally {
          inFlight--;
        }
      },
    });
    const first = await putFiles(counting, all, { concurrency: 16 });
    expect(first).toMatchObject({ uploaded: 500, skipped: 1, bytes: files.reduce((sum, file) => sum + file.size, 0) });
    expect(peak).toBeLessThanOrEqual(16);
    expect(peak).toBeGreaterThan(1);
    expect((await listKeys(raw, prefix)).length).toBe(500);

    const second = await putFiles(store, all, { concurrency: 16 });
    expect(second).toMatchObject({ uploaded: 0, skipped: 501, bytes: 0 });
    expect(await wrongObjects(raw, prefix)).toEqual([]);
    await store.close();
  });
});
