/**
 * Helpers for tests against the S3-protocol server from test/setup/s3.ts: stores under a fresh
 * prefix, a plain SDK client that goes around mlship (to plant corrupt objects and to inspect what
 * is really stored), and random files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { createS3Store, type S3Store } from '../../src/store/s3.js';
import type { S3Tuning } from '../../src/store/s3-config.js';

export const s3 = () => inject('s3');

/** Credentials and region for the test server, as environment variables. */
export const s3Env = (): Record<string, string> => {
  const server = s3();
  return { AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey, AWS_REGION: server.region };
};

/** A prefix no other test (or run) uses. */
export const freshPrefix = (label: string): string => `mlship-tests/${label}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

/** Quick retries for tests; a fault-free run never waits. */
export const FAST_RETRY: Partial<S3Tuning> = { baseDelayMs: 5, maxDelayMs: 50, requestTimeoutMs: 15_000, connectionTimeoutMs: 5_000 };

export async function openTestStore(
  prefix: string,
  options: { endpoint?: string; tuning?: Partial<S3Tuning>; env?: Record<string, string | undefined>; warnings?: string[] } = {},
): Promise<S3Store> {
  const server = s3();
  return createS3Store(
    { url: `s3://${server.bucket}/${prefix}`, endpoint: options.endpoint ?? server.endpoint, forcePathStyle: true, region: server.region },
    { env: options.env ?? s3Env(), tuning: { ...FAST_RETRY, ...options.tuning }, onWarning: (message) => options.warnings?.push(message) },
  );
}

/** An SDK client straight to the server (no mlship, no proxy). */
export function rawClient(): S3Client {
  const server = s3();
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `mlship-${label}-`));
}

/** A file of `size` random bytes: its path, digest and bytes. */
export async function randomFile(dir: string, name: string, size: number): Promise<{ path: string; digest: string; size: number; bytes: Buffer }> {
  const bytes = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, digest: sha256(bytes), size, bytes };
}

/** Every key under `prefix` (paginated). */
export async function listKeys(client: S3Client, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3().bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

export async function readObject(client: S3Client, key: string): Promise<Buffer> {
  const response = await client.send(new GetObjectCommand({ Bucket: s3().bucket, Key: key }));
  return Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** Put bytes under a key behind mlship's back (to corrupt an object). */
export async function plantObject(client: S3Client, key: string, bytes: Uint8Array): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: key, Body: bytes }));
}

/** `…/objects/sha256/ab/cdef…` -> `sha256:abcdef…`, or undefined for keys outside the layout. */
export function digestOfKey(key: string): string | undefined {
  const match = /objects\/sha256\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(key);
  return match === null ? undefined : `sha256:${match[1]}${match[2]}`;
}

/** Every object under `prefix` whose bytes do not hash to its key (should always be empty). */
export async function wrongObjects(client: S3Client, prefix: string): Promise<string[]> {
  const wrong: string[] = [];
  for (const key of await listKeys(client, prefix)) {
    const digest = digestOfKey(key);
    if (digest === undefined || sha256(await readObject(client, key)) !== digest) wrong.push(key);
  }
  return wrong;
}
