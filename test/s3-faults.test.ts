/**
 * The S3 store behind a fault-injecting proxy (test/helpers/fault-proxy.ts) in front of the real
 * test server: retries, resumed downloads, bounded failure, no partial objects, conditional writes
 * and the checksums on the wire.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MlshipError } from '../src/errors.js';
import { putFiles } from '../src/store/pool.js';
import { objectKey } from '../src/store/types.js';
import { ALL_FAULTS, FAILING_FAULTS, startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { freshPrefix, listKeys, openTestStore, plantObject, randomFile, rawClient, readObject, s3, tempDir, wrongObjects } from './helpers/s3.js';

const MiB = 1024 * 1024;
const MULTIPART = { multipartThreshold: 6 * MiB, partSize: 5 * MiB, partConcurrency: 4 };
/** At 30% faults a request fails 12 times in a row with probability 0.3^12 ≈ 5e-7. */
const PATIENT = { ...MULTIPART, maxAttempts: 12, baseDelayMs: 2, maxDelayMs: 40 };
/** At 100% faults: give up after a few quick attempts. */
const IMPATIENT = { ...MULTIPART, maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 20 };

const raw = rawClient();
const proxies: FaultProxy[] = [];
afterEach(async () => {
  while (proxies.length > 0) await proxies.pop()?.close();
});

async function proxy(options: Omit<Parameters<typeof startFaultProxy>[0], 'target'>): Promise<FaultProxy> {
  const started = await startFaultProxy({ target: s3().endpoint, ...options });
  proxies.push(started);
  return started;
}

async function smallFiles(dir: string, count: number) {
  const files = [];
  for (let i = 0; i < count; i++) files.push(await randomFile(dir, `s${i}.bin`, 100 + ((i * 7919) % 3000)));
  return files;
}

describe('S3 store: faults at 30%', () => {
  it('pushes a large file and 500 small files through 500s, 503s, resets, delays and truncated answers, then pulls them back', async () => {
    const faulty = await proxy({ rate: 0.3, faults: ALL_FAULTS, delayMs: 30 });
    const prefix = freshPrefix('faults30');
    const store = await openTestStore(prefix, { endpoint: faulty.url, tuning: PATIENT });
    const dir = await tempDir('s3-faults30');
    const large = await randomFile(dir, 'large.bin', 21 * MiB + 7);
    const files = await smallFiles(dir, 500);

    expect(await store.putFile(large.digest, large.path, large.size)).toBe(true);
    const summary = await putFiles(store, files, { concurrency: 16 });
    expect(summary.uploaded).toBe(500);

    // Every kind of fault really happened, many times.
    for (const kind of ALL_FAULTS) expect(faulty.stats.faults[kind], kind).toBeGreaterThan(5);
    expect((await listKeys(raw, prefix)).length).toBe(501);
    expect(await wrongObjects(raw, prefix)).toEqual([]);

    // Downloads through the same faults: truncated bodies are resumed, the result is verified.
    const dest = join(dir, 'large.out');
    await store.getFile(large.digest, dest);
    expect((await readFile(dest)).equals(large.bytes)).toBe(true);
    for (const file of files.slice(0, 40)) expect(await store.check(file.digest)).toBe('ok');
    // A rerun through the faults finds everything in place.
    expect(await putFiles(store, [...files, large], { concurrency: 16 })).toMatchObject({ uploaded: 0, skipped: 501 });
    await store.close();
  });
});

describe('S3 store: faults at 100%', () => {
  it('a download that keeps failing is exit 3 and writes nothing', async () => {
    const faulty = await proxy({ rate: 0, faults: ['truncate', 'reset', '500'] });
    const prefix = freshPrefix('faults100get');
    const store = await openTestStore(prefix, { endpoint: faulty.url, tuning: IMPATIENT });
    const dir = await tempDir('s3-faults100get');
    const file = await randomFile(dir, 'model.bin', 300_000);
    await store.putFile(file.digest, file.path, file.size);
    faulty.setRate(1);
    const out = await tempDir('s3-faults100get-out');
    const error = await store.getFile(file.digest, join(out, 'model.bin')).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MlshipError);
    expect((error as MlshipError).exitCode).toBe(3);
    expect(await import('node:fs/promises').then((fs) => fs.readdir(out))).toEqual([]);
    await store.close();
  });
});

describe('S3 store: what goes on the wire', () => {
  it('many files: one listing replaces a HEAD per object (presentAmong), few files: HEADs', async () => {
    const methods: string[] = [];
    const watching = await proxy({ rate: 0, onRequest: ({ method, url }) => methods.push(`${method} ${url.includes('list-type=2') ? 'LIST' : 'OBJECT'}`) });
    const prefix = freshPrefix('presence');
    const store = await openTestStore(prefix, { endpoint: watching.url });
    const dir = await tempDir('s3-presence');
    const files = await smallFiles(dir, 100);
    await putFiles(store, files.slice(0, 30), { concurrency: 8 });

    methods.length = 0;
    const present = await store.presentAmong(files.map((file) => file.digest));
    expect([...present.keys()].sort()).toEqual(files.slice(0, 30).map((file) => file.digest).sort());
    for (const file of files.slice(0, 30)) expect(present.get(file.digest)).toBe(file.size);
    expect(methods.filter((m) => m === 'HEAD OBJECT')).toEqual([]);
    expect(methods.filter((m) => m === 'GET LIST').length).toBeGreaterThanOrEqual(1);

    // The 70 absent ones are uploaded without a HEAD each.
    methods.length = 0;
    expect(await putFiles(store, files, { concurrency: 8 })).toMatchObject({ uploaded: 70, skipped: 30 });
    expect(methods.filter((m) => m === 'PUT OBJECT').length).toBe(70);
    expect(methods.filter((m) => m === 'HEAD OBJECT')).toEqual([]);

    // Below 64 digests, HEADs.
    methods.length = 0;
    expect((await store.presentAmong(files.slice(0, 10).map((file) => file.digest))).size).toBe(10);
    expect(methods.filter((m) => m === 'HEAD OBJECT').length).toBe(10);
    expect(methods.filter((m) => m === 'GET LIST')).toEqual([]);
    await store.close();
  });

  it('a bucket filled by another client: a push lists the store instead of a HEAD per file, PUTs only the missing keys, rewrites nothing', async () => {
    const puts: string[] = [];
    const methods: string[] = [];
    const watching = await proxy({
      rate: 0,
      onRequest: ({ method, url }) => {
        methods.push(`${method} ${url.includes('list-type=2') ? 'LIST' : 'OBJECT'}`);
        if (method === 'PUT') puts.push(url.split('?')[0] ?? url);
      },
    });
    const prefix = freshPrefix('prefilled');
    const dir = await tempDir('s3-prefilled');
    // 400 unrelated objects under the store prefix, in every shard, written around mlship.
    await Promise.all(
      Array.from({ length: 400 }, async (_, index) => {
        const bytes = Buffer.from(`unrelated object ${index} ${Math.random()}`);
        await plantObject(raw, `${prefix}/${objectKey(`sha256:${createHash('sha256').update(bytes).digest('hex')}`)}`, bytes);
      }),
    );
    const files = await smallFiles(dir, 300);
    // 100 of the files to push are there already; one of them holds wrong bytes of the right size,
    // which a skip must leave alone (a reader catches it by its hash; an overwrite is never allowed).
    const present = files.slice(0, 100);
    await Promise.all(present.slice(1).map(async (file) => plantObject(raw, `${prefix}/${objectKey(file.digest)}`, await readFile(file.path))));
    const impostor = Buffer.alloc(present[0]?.size ?? 0, 9);
    await plantObject(raw, `${prefix}/${objectKey(present[0]?.digest ?? '')}`, impostor);
    // The same files under another prefix do not count as present in this store.
    await plantObject(raw, `${prefix}-other/${objectKey(files[150]?.digest ?? '')}`, await readFile(files[150]?.path ?? ''));

    const store = await openTestStore(prefix, { endpoint: watching.url });
    expect(await putFiles(store, files, { concurrency: 16 })).toMatchObject({ uploaded: 200, skipped: 100 });
    expect(methods.filter((m) => m === 'HEAD OBJECT')).toEqual([]);
    expect(methods.filter((m) => m === 'GET LIST').length).toBeLessThanOrEqual(3);
    expect(puts.length).toBe(200);
    const presentKeys = new Set(present.map((file) => `/${s3().bucket}/${prefix}/${objectKey(file.digest)}`));
    expect(puts.filter((url) => presentKeys.has(url))).toEqual([]);
    expect((await readObject(raw, `${prefix}/${objectKey(present[0]?.digest ?? '')}`)).equals(impostor)).toBe(true);
    expect((await listKeys(raw, prefix)).length).toBe(700);
    await store.close();
  });

  it('past one page of listing (1,100 objects) presence still needs no HEADs, even where pagination fails (s3rver)', async () => {
    const methods: string[] = [];
    const watching = await proxy({ rate: 0, onRequest: ({ method, url }) => methods.push(`${method} ${url.includes('list-type=2') ? 'LIST' : 'OBJECT'}`) });
    const prefix = freshPrefix('presence-many');
    const store = await openTestStore(prefix, { endpoint: watching.url });
    const dir = await tempDir('s3-presence-many');
    const files = [];
    for (let i = 0; i < 1100; i++) files.push(await randomFile(dir, `t${i}.bin`, 16));
    expect(await putFiles(store, files, { concurrency: 32 })).toMatchObject({ uploaded: 1100 });
    methods.length = 0;
    const present = await store.presentAmong(files.map((file) => file.digest));
    expect(present.size).toBe(1100);
    expect(methods.filter((m) => m === 'HEAD OBJECT')).toEqual([]);
    await store.close();
  });
});

/** Single-request PUTs go without the SDK's middleware on path-style custom endpoints (s3-direct.ts), or through the SDK: both keep every guarantee. */
describe.each([
  { path: 'direct PUT', directPut: true },
  { path: 'SDK PutObject', directPut: false },
])('S3 store, both PUT paths: $path', ({ directPut }) => {
  it('fails with exit 3 after bounded retries, leaves no wrong bytes under a final key, and a rerun finishes the job', async () => {
    // Every write fails; reads pass, so the uploads themselves are what breaks.
    const faulty = await proxy({ rate: 0, faults: FAILING_FAULTS, methods: ['PUT', 'POST'] });
    const prefix = freshPrefix(`faults100-${directPut ? 'direct' : 'sdk'}`);
    const store = await openTestStore(prefix, { endpoint: faulty.url, tuning: { ...IMPATIENT, directPut } });
    const dir = await tempDir('s3-faults100');
    const large = await randomFile(dir, 'large.bin', 16 * MiB + 3);
    const files = await smallFiles(dir, 60);
    // Reach the bucket once while the network is fine, so the failures below hit the uploads.
    expect(await store.has(large.digest)).toBe(false);
    faulty.setRate(1);

    for (const attempt of [() => store.putFile(large.digest, large.path, large.size), () => putFiles(store, files, { concurrency: 8 })]) {
      const error = await attempt().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(MlshipError);
      expect((error as MlshipError).exitCode).toBe(3);
      expect((error as MlshipError).hint).toBeTruthy();
    }
    expect(faulty.stats.faults.truncate + faulty.stats.faults.reset + faulty.stats.faults['500'] + faulty.stats.faults['503']).toBeGreaterThan(10);
    // Truncated answers let some writes land; every object that exists is whole and correct.
    expect(await wrongObjects(raw, prefix)).toEqual([]);
    expect((await listKeys(raw, prefix)).length).toBeLessThan(61);

    faulty.setRate(0);
    await store.putFile(large.digest, large.path, large.size);
    const rerun = await putFiles(store, files, { concurrency: 8 });
    expect(rerun.uploaded + rerun.skipped).toBe(60);
    expect((await listKeys(raw, prefix)).length).toBe(61);
    expect(await wrongObjects(raw, prefix)).toEqual([]);
    await store.close();
  });

  it('pushes 150 small files through 30% faults (500s, 503s, resets, delays, truncated answers), every object whole', async () => {
    const faulty = await proxy({ rate: 0.3, faults: ALL_FAULTS, delayMs: 30 });
    const prefix = freshPrefix(`faults30-${directPut ? 'direct' : 'sdk'}`);
    const store = await openTestStore(prefix, { endpoint: faulty.url, tuning: { ...PATIENT, directPut } });
    const files = await smallFiles(await tempDir('s3-faults30-paths'), 150);
    expect((await putFiles(store, files, { concurrency: 16 })).uploaded).toBe(150);
    for (const kind of ALL_FAULTS) expect(faulty.stats.faults[kind], kind).toBeGreaterThan(0);
    expect((await listKeys(raw, prefix)).length).toBe(150);
    expect(await wrongObjects(raw, prefix)).toEqual([]);
    expect(await putFiles(store, files, { concurrency: 16 })).toMatchObject({ uploaded: 0, skipped: 150 });
    await store.close();
  });

  it('sends If-None-Match: * and the SHA-256 checksum (whole object, or per part) on every write', async () => {
    const writes: { method: string; url: string; checksum: string | undefined; ifNoneMatch: string | undefined; userAgent: string }[] = [];
    const watching = await proxy({
      rate: 0,
      onRequest: ({ method, url, headers }) => {
        if (method === 'PUT' || method === 'POST') {
          const checksum = headers['x-amz-checksum-sha256'];
          const ifNoneMatch = headers['if-none-match'];
          writes.push({ method, url, checksum: typeof checksum === 'string' ? checksum : undefined, ifNoneMatch: typeof ifNoneMatch === 'string' ? ifNoneMatch : undefined, userAgent: String(headers['user-agent'] ?? '') });
        }
      },
    });
    const prefix = freshPrefix('wire');
    const store = await openTestStore(prefix, { endpoint: watching.url, tuning: { ...MULTIPART, directPut } });
    const dir = await tempDir('s3-wire');
    const small = await randomFile(dir, 'small.bin', 1234);
    await store.putFile(small.digest, small.path, small.size);
    const put = writes.find((write) => write.method === 'PUT' && write.url.includes(objectKey(small.digest)));
    expect(put?.checksum).toBe(Buffer.from(small.digest.slice(7), 'hex').toString('base64'));
    expect(put?.ifNoneMatch).toBe('*');
    // Which path sent it: the SDK names itself in the user agent, the direct PUT does not.
    expect(put?.userAgent.includes('aws-sdk-js')).toBe(!directPut);

    writes.length = 0;
    const large = await randomFile(dir, 'large.bin', 11 * MiB);
    await store.putFile(large.digest, large.path, large.size);
    const parts = writes.filter((write) => write.method === 'PUT' && /[?&]partNumber=/.test(write.url));
    expect(parts.length).toBe(3);
    const expected = [0, 1, 2].map((index) =>
      createHash('sha256')
        .update(large.bytes.subarray(index * 5 * MiB, (index + 1) * 5 * MiB))
        .digest('base64'),
    );
    expect(parts.map((part) => part.checksum).sort()).toEqual(expected.sort());
    const complete = writes.find((write) => write.method === 'POST' && write.url.includes('uploadId='));
    expect(complete?.ifNoneMatch).toBe('*');
    await store.close();
  });

  it('signs every body with its own payload hash, taken from the checksum: the SDK hashes nothing again (middleware cached per command class)', async () => {
    const sent: { url: string; payloadHash: string | undefined; checksum: string | undefined }[] = [];
    const watching = await proxy({
      rate: 0,
      onRequest: ({ method, url, headers }) => {
        if (method !== 'PUT') return;
        const payloadHash = headers['x-amz-content-sha256'];
        const checksum = headers['x-amz-checksum-sha256'];
        sent.push({ url, payloadHash: typeof payloadHash === 'string' ? payloadHash : undefined, checksum: typeof checksum === 'string' ? checksum : undefined });
      },
    });
    const prefix = freshPrefix('payload-hash');
    const store = await openTestStore(prefix, { endpoint: watching.url, tuning: { ...MULTIPART, directPut } });
    const dir = await tempDir('s3-payload-hash');
    // Several commands of each class through one client: a stack resolved once must still sign each
    // request with its own body's hash, not the first one's.
    const files = await smallFiles(dir, 12);
    expect(await putFiles(store, files, { concurrency: 4 })).toMatchObject({ uploaded: 12 });
    const large = await randomFile(dir, 'large.bin', 11 * MiB);
    expect(await store.putFile(large.digest, large.path, large.size)).toBe(true);
    const bytes = Buffer.from('a tree object');
    const tree = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    expect(await store.putBytes(tree, bytes)).toBe(true);

    for (const file of [...files, { digest: tree }]) {
      const put = sent.find((request) => request.url.includes(objectKey(file.digest)) && !request.url.includes('partNumber='));
      expect(put?.payloadHash, file.digest).toBe(file.digest.slice('sha256:'.length));
    }
    const parts = sent.filter((request) => /[?&]partNumber=/.test(request.url));
    expect(parts.length).toBe(3);
    for (const part of parts) expect(part.payloadHash).toBe(Buffer.from(part.checksum ?? '', 'base64').toString('hex'));
    expect(new Set(parts.map((part) => part.payloadHash)).size).toBe(3);
    // Every object is whole and correct (s3rver does not check payload hashes; the bytes are checked here).
    expect(await wrongObjects(raw, prefix)).toEqual([]);
    await store.close();
  });

  it('falls back cleanly when the server does not implement conditional writes, and says so once', async () => {
    const strict = await proxy({ rate: 0, rejectConditionalWrites: true });
    const prefix = freshPrefix('noconditional');
    const warnings: string[] = [];
    const store = await openTestStore(prefix, { endpoint: strict.url, tuning: { ...MULTIPART, directPut }, warnings });
    const dir = await tempDir('s3-noconditional');
    const files = await smallFiles(dir, 5);
    const large = await randomFile(dir, 'large.bin', 7 * MiB);
    expect(await putFiles(store, files, { concurrency: 1 })).toMatchObject({ uploaded: 5 });
    expect(await store.putFile(large.digest, large.path, large.size)).toBe(true);
    expect(strict.stats.conditionalRejected).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/conditional writes/);
    expect(await wrongObjects(raw, prefix)).toEqual([]);
    expect((await listKeys(raw, prefix)).length).toBe(6);
    await store.close();
  });
});
