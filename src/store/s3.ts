/**
 * The S3 artifact store (issue 3): content-addressed objects under `<prefix>/objects/sha256/…` in a
 * bucket on AWS S3 or any S3-compatible server (MinIO, R2, Ceph RGW).
 *
 * Guarantees (DESIGN.md "The artifact store"):
 * - an existing object is skipped (HEAD) and never overwritten (`If-None-Match: *` on PutObject and
 *   CompleteMultipartUpload; servers that refuse the header are detected and the HEAD stays the guard);
 * - the file is re-hashed while it is read for upload, and nothing is sent (or completed) unless it
 *   still hashes to its key; the server verifies a SHA-256 checksum on every request body
 *   (`x-amz-checksum-sha256`, per part for multipart uploads);
 * - an interrupted upload leaves no object: single PUTs are atomic on S3, and a multipart upload is
 *   only completed after every part landed and the whole file matched; otherwise it is aborted;
 * - every download is hashed while it streams into a temporary file next to the destination, which
 *   is renamed into place only when the bytes match the key.
 *
 * Cost per small object (what a push of many files is made of): one PUT, after one listing per push
 * instead of a HEAD per object (presentAmong); one open, read and close of the file and one hash of
 * its bytes; no hashing by the SDK (we give it the payload hash and checksum we know). On a path-style
 * custom endpoint the PUT itself skips the SDK's middleware (s3-direct.ts), which halves the CPU of
 * each PUT; elsewhere the SDK resolves each command's middleware once (`cacheMiddleware`).
 *
 * This module is imported lazily by `openStore`, so the SDK loads only when a store is on S3.
 */
import { randomBytes, createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { integrityError, environmentError, usageError, MlshipError } from '../errors.js';
import type { StoreSettingConfig } from '../config/schema.js';
import { digestOf } from './hash.js';
import { partSizeFor, planS3, secretsOf, type S3Plan, type S3Tuning } from './s3-config.js';
import {
  corruptObjectError,
  factsOf,
  isConditionalUnsupported,
  isNotFound,
  isPreconditionFailed,
  isRetryable,
  toStoreError,
  truncatedError,
  type ErrorContext,
} from './s3-errors.js';
import { DirectPut, RedirectToSdk } from './s3-direct.js';
import { backoffDelay, withRetry } from './s3-retry.js';
import { DIGEST_RE, objectKey, type ArtifactStore, type ProgressSink } from './types.js';
import { mapPool, Semaphore, type BulkPresence } from './pool.js';

export interface S3StoreOptions {
  /** The environment (commands pass process.env); core modules never read it themselves. */
  env: Record<string, string | undefined>;
  /** Non-fatal notices, e.g. a server without conditional writes. */
  onWarning?: (message: string) => void;
  /** Transfer tuning (tests lower the multipart threshold and the backoff). */
  tuning?: Partial<S3Tuning>;
}

/** The S3 store, with a few read-only facts beyond the ArtifactStore contract. */
export interface S3Store extends ArtifactStore, BulkPresence {
  readonly kind: 's3';
  readonly bucket: string;
  readonly prefix: string;
  /** The bucket key of an object (prefix included). */
  keyOf(digest: string): string;
  /** Uploads of files this store runs well in parallel (sockets are pooled per store). */
  readonly recommendedConcurrency: number;
}

export async function createS3Store(setting: StoreSettingConfig, options: S3StoreOptions): Promise<S3Store> {
  const plan = planS3(setting, options.env, options.tuning);
  return new S3ArtifactStore(plan, secretsOf(plan, options.env), options.onWarning ?? (() => {}));
}

/** A key that no object ever has (not in the digest layout), read once to check bucket and credentials. */
const PROBE_KEY = 'objects/sha256/.mlship-probe';
/** Keys per LIST page (S3's maximum). */
const LIST_PAGE = 1000;
/** Below this many digests, HEADs beat any listing. */
const LIST_MIN_DIGESTS = 64;
/** How long a listing's "absent" stays good enough to skip a HEAD. */
const SEEN_ABSENT_TTL_MS = 5 * 60_000;

const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

function assertDigest(digest: string): void {
  if (!DIGEST_RE.test(digest)) {
    throw usageError('E_DIGEST_FORM', `'${digest}' is not a sha256 digest`, { hint: 'digests are written sha256:<64 lowercase hex digits>' });
  }
}

/** Resolves when all of `tasks` settled; rethrows the first failure. */
async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** Commands whose body is exactly what their `ChecksumSHA256` input names (a whole object, or one part). */
const PAYLOAD_HASHED = new Set(['PutObjectCommand', 'UploadPartCommand']);

/**
 * Sign with the payload hash we already know, so the SDK does not hash the body a second time (the
 * signer takes `x-amz-content-sha256` as given when present). Our `ChecksumSHA256` is the SHA-256 of
 * the very bytes sent, so the hex payload hash is that checksum re-encoded. One middleware on the
 * client, not one per command: the client caches its resolved stack per command class
 * (`cacheMiddleware`), which would ignore anything added to a single command after the first.
 */
function addPayloadHashMiddleware(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const checksum = (args.input as { ChecksumSHA256?: unknown }).ChecksumSHA256;
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if (typeof checksum === 'string' && PAYLOAD_HASHED.has(context.commandName ?? '') && request?.headers !== undefined) {
        request.headers['x-amz-content-sha256'] = Buffer.from(checksum, 'base64').toString('hex');
      }
      return next(args);
    },
    { step: 'build', name: 'mlshipPayloadHash', override: true },
  );
}

/** Where the body of a download goes, chunk by chunk, in order. */
type ChunkSink = (chunk: Buffer) => Promise<void> | void;

class S3ArtifactStore implements S3Store {
  readonly kind = 's3' as const;
  readonly url: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly recommendedConcurrency: number;

  private readonly client: S3Client;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  /** Bytes of file data held in memory by uploads of this store, across concurrent putFile calls. */
  private readonly memory: Semaphore;
  /** Turned off when the server refuses `If-None-Match`. */
  private conditionalWrites = true;
  private bucketChecked: Promise<void> | undefined;
  /** Digests a listing just showed absent (digest -> when): putFile skips their HEAD. */
  private readonly seenAbsent = new Map<string, number>();
  /** Single PUTs without the SDK's middleware, where the endpoint allows (s3-direct.ts); else undefined. */
  private direct: DirectPut | undefined;

  constructor(
    private readonly plan: S3Plan,
    private readonly secrets: string[],
    private readonly warn: (message: string) => void,
  ) {
    this.url = plan.url;
    this.bucket = plan.bucket;
    this.prefix = plan.prefix;
    const { tuning } = plan;
    this.recommendedConcurrency = Math.max(4, Math.floor(tuning.maxSockets / 2));
    this.memory = new Semaphore(Math.max(tuning.memoryBudget, partSizeFor(0, tuning.partSize)));
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: tuning.maxSockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: tuning.maxSockets }),
    };
    const config: S3ClientConfig = {
      forcePathStyle: plan.forcePathStyle,
      // Our own retry loop (s3-retry.ts) owns retries: see there why.
      maxAttempts: 1,
      // We send SHA-256 checksums ourselves and hash every download; the SDK's CRC32 defaults would
      // only add a second pass (and aws-chunked encoding that some S3-compatible servers store verbatim).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      followRegionRedirects: true,
      // Resolve each command's middleware stack once, not on every request (0.2-0.3 ms of CPU per
      // request in bench/s3.mjs profiles). Nothing here adds middleware to a single command.
      cacheMiddleware: true,
      requestHandler: {
        httpAgent: this.agents.http,
        httpsAgent: this.agents.https,
        connectionTimeout: tuning.connectionTimeoutMs,
        requestTimeout: tuning.requestTimeoutMs,
      },
    };
    if (plan.region !== undefined) config.region = plan.region;
    if (plan.endpoint !== undefined) config.endpoint = plan.endpoint;
    if (plan.credentials.kind === 'static') {
      const { accessKeyId, secretAccessKey, sessionToken } = plan.credentials;
      config.credentials = { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
    } else if (plan.credentials.profile !== undefined) {
      config.profile = plan.credentials.profile;
    }
    this.client = new S3Client(config);
    addPayloadHashMiddleware(this.client);
    if (tuning.directPut && plan.endpoint !== undefined && plan.forcePathStyle) {
      this.direct = new DirectPut(this.client, {
        endpoint: plan.endpoint,
        bucket: plan.bucket,
        agents: this.agents,
        connectionTimeoutMs: tuning.connectionTimeoutMs,
        requestTimeoutMs: tuning.requestTimeoutMs,
      });
    }
  }

  keyOf(digest: string): string {
    return this.plan.prefix === '' ? objectKey(digest) : `${this.plan.prefix}/${objectKey(digest)}`;
  }

  uriOf(digest: string): string {
    assertDigest(digest);
    return `s3://${this.plan.bucket}/${this.keyOf(digest)}`;
  }

  async has(digest: string): Promise<boolean> {
    return (await this.head(digest, 'look up')) !== undefined;
  }

  async putFile(digest: string, path: string, size: number, progress?: ProgressSink): Promise<boolean> {
    const existing = this.takeSeenAbsent(digest) ? undefined : await this.head(digest, 'upload', true);
    if (existing !== undefined) {
      this.assertExistingSize(digest, existing, size);
      return false;
    }
    if (size > this.plan.tuning.multipartThreshold) return this.putMultipart(digest, path, size, progress);
    return this.memory.with(size, async () => {
      const body = await this.readWhole(path, size, digest);
      const wrote = await this.putObject(digest, body);
      if (wrote) progress?.(size);
      return wrote;
    });
  }

  async putBytes(digest: string, bytes: Uint8Array): Promise<boolean> {
    assertDigest(digest);
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const actual = digestOf(createHash('sha256').update(body));
    if (actual !== digest) {
      throw integrityError('E_DIGEST', `refusing to store ${body.length} bytes that hash to ${actual} under ${digest}`, {
        hint: 'this is a bug in the caller: report it with the command you ran',
      });
    }
    const existing = await this.head(digest, 'upload', true);
    if (existing !== undefined) {
      this.assertExistingSize(digest, existing, body.length);
      return false;
    }
    return this.putObject(digest, body);
  }

  async getFile(digest: string, dest: string, progress?: ProgressSink): Promise<void> {
    assertDigest(digest);
    const temp = join(dirname(dest), `.${basename(dest)}.mlship-${randomBytes(6).toString('hex')}.tmp`);
    let handle: FileHandle;
    try {
      await mkdir(dirname(dest), { recursive: true });
      handle = await open(temp, 'wx');
    } catch (error) {
      throw environmentError('E_WRITE', `cannot write ${dest}: ${(error as Error).message}`, { hint: 'check that the destination folder is writable and the disk is not full', cause: error });
    }
    let renamed = false;
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const buffers = pending;
        pending = [];
        pendingBytes = 0;
        await writeAll(handle, buffers);
      };
      const result = await this.download(digest, 'download', async (chunk) => {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= 4 * 1024 * 1024) await flush();
      }, progress);
      if (result === 'missing') throw this.missingError(digest);
      await flush();
      if (result.digest !== digest) throw corruptObjectError(this.uriOf(digest), digest, result.digest, result.size);
      await handle.sync();
      await handle.close();
      await rename(temp, dest);
      renamed = true;
    } finally {
      if (!renamed) {
        await handle.close().catch(() => {});
        await unlink(temp).catch(() => {});
      }
    }
  }

  async getBytes(digest: string): Promise<Buffer> {
    assertDigest(digest);
    const chunks: Buffer[] = [];
    const result = await this.download(digest, 'download', (chunk) => {
      chunks.push(chunk);
    });
    if (result === 'missing') throw this.missingError(digest);
    if (result.digest !== digest) throw corruptObjectError(this.uriOf(digest), digest, result.digest, result.size);
    return Buffer.concat(chunks);
  }

  async check(digest: string): Promise<'ok' | 'missing' | 'corrupt'> {
    assertDigest(digest);
    const result = await this.download(digest, 'verify', () => {});
    if (result === 'missing') return 'missing';
    return result.digest === digest ? 'ok' : 'corrupt';
  }

  /**
   * Which of `digests` are stored, with their sizes. For many digests, one listing of the store
   * replaces a HEAD per object when the store is small enough that the listing is cheaper (DVC's
   * estimate: list one of the 256 shards, multiply); otherwise, or without s3:ListBucket, HEADs.
   * The digests found absent are remembered briefly, so the putFile that follows skips its HEAD
   * (a concurrent writer is still stopped by the conditional write).
   */
  async presentAmong(digests: readonly string[]): Promise<Map<string, number>> {
    digests.forEach(assertDigest);
    const wanted = [...new Set(digests)];
    const present = new Map<string, number>();
    if (wanted.length === 0) return present;
    await this.ensureBucket();
    const listed = wanted.length >= LIST_MIN_DIGESTS ? await this.listIfCheaper(wanted) : undefined;
    if (listed === undefined) {
      const sizes = await mapPool(wanted, this.recommendedConcurrency, (digest) => this.head(digest, 'look up'));
      wanted.forEach((digest, index) => {
        const found = sizes[index];
        if (found !== undefined) present.set(digest, found.size);
      });
      return present;
    }
    const now = Date.now();
    for (const digest of wanted) {
      const size = listed.get(digest);
      if (size === undefined) this.seenAbsent.set(digest, now);
      else present.set(digest, size);
    }
    return present;
  }

  private takeSeenAbsent(digest: string): boolean {
    const at = this.seenAbsent.get(digest);
    if (at === undefined) return false;
    this.seenAbsent.delete(digest);
    return Date.now() - at < SEEN_ABSENT_TTL_MS;
  }

  /**
   * The stored objects (digest -> size) among which `wanted` can be looked up, if listing takes
   * fewer requests than a quarter of the HEADs it replaces; undefined otherwise. The size of the
   * store is estimated from one of its 256 shards (DVC's trick). Two ways to list: the whole store
   * (cheapest when it is small), else only the shards the digests fall in (one request each,
   * in parallel; also the way around servers that cannot paginate, like s3rver on OpenSSL 3).
   * The listing only saves requests, so any doubt ends it and the caller falls back to HEADs: a
   * failing LIST (no s3:ListBucket, a server error) or pagination that does not advance. A key the
   * listing missed costs one redundant upload of the same bytes, never a wrong object.
   */
  private async listIfCheaper(wanted: readonly string[]): Promise<Map<string, number> | undefined> {
    const base = this.plan.prefix === '' ? 'objects/sha256/' : `${this.plan.prefix}/objects/sha256/`;
    const budget = wanted.length / 4;
    let perShard: number;
    try {
      const probe = await this.listPage(`${base}00/`, undefined);
      perShard = probe.truncated ? Number.POSITIVE_INFINITY : probe.count;
    } catch {
      return undefined;
    }
    const wholePages = Math.max(1, Math.ceil((perShard * 256) / LIST_PAGE));
    if (wholePages <= budget) {
      const all = await this.listAll(base, wholePages);
      if (all !== undefined) return all;
    }
    const shards = [...new Set(wanted.map((digest) => digest.slice('sha256:'.length, 'sha256:'.length + 2)))];
    const shardPages = Math.max(1, Math.ceil(perShard / LIST_PAGE));
    if (shards.length * shardPages > budget) return undefined;
    const parts = await mapPool(shards, this.recommendedConcurrency, (shard) => this.listAll(`${base}${shard}/`, shardPages));
    const merged = new Map<string, number>();
    for (const part of parts) {
      if (part === undefined) return undefined;
      for (const [digest, size] of part) merged.set(digest, size);
    }
    return merged;
  }

  /** Every object under `prefix`, or undefined when the listing fails or does not advance. */
  private async listAll(prefix: string, pagesExpected: number): Promise<Map<string, number> | undefined> {
    const sizes = new Map<string, number>();
    const tokens = new Set<string>();
    let token: string | undefined;
    try {
      for (let pages = 1; ; pages++) {
        const page = await this.listPage(prefix, token);
        let fresh = 0;
        for (const [digest, size] of page.objects) {
          if (!sizes.has(digest)) fresh++;
          sizes.set(digest, size);
        }
        token = page.next;
        if (token === undefined) return sizes;
        if (fresh === 0 || tokens.has(token) || pages > 2 * pagesExpected + 2) return undefined;
        tokens.add(token);
      }
    } catch {
      return undefined;
    }
  }

  private async listPage(prefix: string, token: string | undefined): Promise<{ objects: [string, number][]; count: number; truncated: boolean; next: string | undefined }> {
    const policy = { ...this.plan.tuning, maxAttempts: Math.min(3, this.plan.tuning.maxAttempts) };
    return withRetry(async () => {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.plan.bucket, Prefix: prefix, MaxKeys: LIST_PAGE, ...(token === undefined ? {} : { ContinuationToken: token }) }),
      );
      const objects: [string, number][] = [];
      for (const entry of page.Contents ?? []) {
        const match = /objects\/sha256\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(entry.Key ?? '');
        if (match !== null) objects.push([`sha256:${match[1]}${match[2]}`, entry.Size ?? -1]);
      }
      const truncated = page.IsTruncated === true;
      return { objects, count: page.KeyCount ?? objects.length, truncated, next: truncated ? page.NextContinuationToken : undefined };
    }, policy);
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  // --- requests -------------------------------------------------------------------------------

  private context(operation: string, digest?: string): ErrorContext {
    return {
      operation,
      target: digest === undefined ? this.plan.url : this.uriOf(digest),
      bucket: this.plan.bucket,
      endpoint: this.plan.endpoint,
      endpointSource: this.plan.endpointSource,
      profile: this.plan.credentials.kind === 'chain' ? this.plan.credentials.profile : undefined,
      secrets: this.secrets,
    };
  }

  /** Retry, then translate anything left into an MlshipError. */
  private async request<T>(operation: string, digest: string | undefined, fn: (attempt: number) => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, this.plan.tuning);
    } catch (error) {
      throw toStoreError(error, this.context(operation, digest));
    }
  }

  /**
   * Once per store: are the bucket and the credentials good? HEAD answers carry no error code, so a
   * HEAD on an object says 404 alike for a missing key and a missing bucket, and 403 alike for bad
   * credentials and a missing permission. A GET of a key that never exists answers with a body:
   * NoSuchKey (all good), NoSuchBucket, InvalidAccessKeyId / SignatureDoesNotMatch (credentials),
   * or AccessDenied, which is tolerated here (identities limited to a prefix often lack
   * s3:ListBucket, and S3 then answers 403 for missing keys); real denials surface on the first use.
   */
  private ensureBucket(): Promise<void> {
    const probeKey = this.plan.prefix === '' ? PROBE_KEY : `${this.plan.prefix}/${PROBE_KEY}`;
    this.bucketChecked ??= this.request('reach bucket', undefined, async () => {
      try {
        const response = await this.client.send(new GetObjectCommand({ Bucket: this.plan.bucket, Key: probeKey, Range: 'bytes=0-0' }));
        await (response.Body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined)?.transformToByteArray?.();
      } catch (error) {
        const facts = factsOf(error);
        if (facts.name === 'NoSuchKey' || (facts.status === 403 && facts.name === 'AccessDenied')) return;
        if (facts.status === 404 && facts.name !== 'NoSuchBucket') return;
        throw error;
      }
    });
    const checked = this.bucketChecked;
    // A failed check (say, the endpoint was down) is retried by the next call rather than cached.
    checked.catch(() => {
      if (this.bucketChecked === checked) this.bucketChecked = undefined;
    });
    return checked;
  }

  /**
   * HEAD an object: its size, or undefined when absent. With `forbiddenMeansUnknown` (before a
   * write), a 403 counts as absent: identities without s3:ListBucket get 403 for every missing key,
   * and the conditional write that follows still refuses to replace an existing object.
   */
  private async head(digest: string, operation: string, forbiddenMeansUnknown = false): Promise<{ size: number } | undefined> {
    assertDigest(digest);
    await this.ensureBucket();
    return this.request(operation, digest, async () => {
      try {
        const response = await this.client.send(new HeadObjectCommand({ Bucket: this.plan.bucket, Key: this.keyOf(digest) }));
        return { size: response.ContentLength ?? -1 };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        if (forbiddenMeansUnknown && factsOf(error).status === 403 && this.conditionalWrites) return undefined;
        throw error;
      }
    });
  }

  /**
   * A key names its bytes, so an object of another size under it is damaged (for instance by a
   * server that exposes partial uploads). Overwriting it would break "never overwrite"; staying
   * silent would record a broken artifact. Stop and say how to repair.
   */
  private assertExistingSize(digest: string, existing: { size: number }, size: number): void {
    if (existing.size >= 0 && existing.size !== size) {
      const target = this.uriOf(digest);
      throw integrityError('E_DIGEST', `object ${target} already exists with ${existing.size} bytes, but the artifact has ${size}`, {
        hint: `the stored object is damaged; delete it (aws s3 rm ${target}) and push again`,
        details: { target, expectedSize: size, actualSize: existing.size },
      });
    }
  }

  private sseParams(): { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string } {
    if (this.plan.sse === undefined) return {};
    return { ServerSideEncryption: this.plan.sse, ...(this.plan.kmsKeyId === undefined ? {} : { SSEKMSKeyId: this.plan.kmsKeyId }) };
  }

  /** The same as sseParams, as the headers PutObject puts them in. */
  private sseHeaders(): Record<string, string> {
    if (this.plan.sse === undefined) return {};
    return {
      'x-amz-server-side-encryption': this.plan.sse,
      ...(this.plan.kmsKeyId === undefined ? {} : { 'x-amz-server-side-encryption-aws-kms-key-id': this.plan.kmsKeyId }),
    };
  }

  private readonly warnConditionalOnce = () => {
    if (!this.conditionalWrites) return;
    this.conditionalWrites = false;
    this.warn(
      `the S3 server at ${this.plan.endpoint ?? 'AWS'} does not support conditional writes (If-None-Match); mlship falls back to checking with HEAD before each write`,
    );
  };

  /** PutObject under the digest key. True when this call wrote it, false when it was already there. */
  private async putObject(digest: string, body: Buffer): Promise<boolean> {
    const hex = digest.slice('sha256:'.length);
    const send = async (conditional: boolean): Promise<unknown> => {
      const direct = this.direct;
      if (direct === undefined) return sendWithSdk(conditional);
      try {
        return await direct.put(this.keyOf(digest), body, {
          'content-type': 'application/octet-stream',
          'x-amz-content-sha256': hex,
          'x-amz-checksum-sha256': hexToBase64(hex),
          ...(conditional ? { 'if-none-match': '*' } : {}),
          ...this.sseHeaders(),
        });
      } catch (error) {
        if (!(error instanceof RedirectToSdk)) throw error;
        // The SDK follows region redirects; let it carry every later PUT too.
        this.direct = undefined;
        return sendWithSdk(conditional);
      }
    };
    const sendWithSdk = (conditional: boolean) =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.plan.bucket,
          Key: this.keyOf(digest),
          Body: body,
          ContentLength: body.length,
          ContentType: 'application/octet-stream',
          ChecksumSHA256: hexToBase64(hex),
          ...(conditional ? { IfNoneMatch: '*' } : {}),
          ...this.sseParams(),
        }),
      );
    return this.request('upload', digest, async (attempt) => {
      try {
        await send(this.conditionalWrites);
        return true;
      } catch (error) {
        // On a retry, the object may be there because our previous attempt landed.
        if (isPreconditionFailed(error)) return attempt > 1;
        if (this.conditionalWrites && isConditionalUnsupported(error)) {
          this.warnConditionalOnce();
          await send(false);
          return true;
        }
        throw error;
      }
    });
  }

  /** Read a whole (small) file, checking that it still is the artifact that was hashed. */
  private async readWhole(path: string, size: number, digest: string): Promise<Buffer> {
    let body: Buffer;
    try {
      // One open, one read, one close (readFile adds an fstat and chunked reads): each is a trip
      // through libuv's thread pool, and for small files the trips cost more than the bytes.
      const handle = await open(path, 'r');
      try {
        body = await readSized(handle, size);
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (error instanceof MlshipError) throw error;
      throw environmentError('E_READ', `cannot read ${path}: ${(error as Error).message}`, { hint: 'check that the file exists and is readable', cause: error });
    }
    if (body.length !== size || digestOf(createHash('sha256').update(body)) !== digest) throw changedError(path, digest);
    return body;
  }

  /**
   * Multipart upload: the file is read in order (so one running hash checks the whole file), each
   * part is hashed for its own checksum and uploaded in parallel, with at most `partConcurrency`
   * parts of this file and `memoryBudget` bytes of all files in memory. Completed only when every
   * part landed and the file still hashes to `digest`; aborted otherwise.
   */
  private async putMultipart(digest: string, path: string, size: number, progress?: ProgressSink): Promise<boolean> {
    const { tuning } = this.plan;
    const key = this.keyOf(digest);
    const partSize = partSizeFor(size, tuning.partSize);
    const count = Math.ceil(size / partSize);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw environmentError('E_READ', `cannot read ${path}: ${(error as Error).message}`, { hint: 'check that the file exists and is readable', cause: error });
    }
    let uploadId: string | undefined;
    let finished = false;
    try {
      uploadId = await this.request('start upload of', digest, async () => {
        const response = await this.client.send(
          new CreateMultipartUploadCommand({
            Bucket: this.plan.bucket,
            Key: key,
            ContentType: 'application/octet-stream',
            ChecksumAlgorithm: 'SHA256',
            ...this.sseParams(),
          }),
        );
        if (response.UploadId === undefined) throw environmentError('E_S3', `the server started no upload for ${this.uriOf(digest)}`, { hint: 'check that the endpoint is an S3-compatible server' });
        return response.UploadId;
      });
      const id = uploadId;
      const whole = createHash('sha256');
      const parts: CompletedPart[] = [];
      const tasks: Promise<void>[] = [];
      const lanes = new Semaphore(tuning.partConcurrency);
      let failed = false;
      for (let index = 0; index < count && !failed; index++) {
        const offset = index * partSize;
        const length = Math.min(partSize, size - offset);
        const releaseLane = await lanes.acquire(1);
        const releaseMemory = await this.memory.acquire(length);
        const release = () => {
          releaseMemory();
          releaseLane();
        };
        let buffer: Buffer;
        try {
          buffer = await readExactly(handle, length, offset);
        } catch (error) {
          release();
          throw environmentError('E_READ', `cannot read ${path}: ${(error as Error).message}`, { hint: 'check that the file is readable', cause: error });
        }
        if (buffer.length !== length) {
          release();
          throw changedError(path, digest);
        }
        whole.update(buffer);
        const partHex = createHash('sha256').update(buffer).digest('hex');
        const partNumber = index + 1;
        tasks.push(
          this.uploadPart(digest, id, partNumber, buffer, partHex)
            .then((etag) => {
              parts.push({ PartNumber: partNumber, ETag: etag, ChecksumSHA256: hexToBase64(partHex) });
              progress?.(length);
            })
            .catch((error: unknown) => {
              failed = true;
              throw error;
            })
            .finally(release),
        );
      }
      await settleAll(tasks);
      // The file must not have grown either.
      const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, size);
      if (bytesRead !== 0 || digestOf(whole) !== digest) throw changedError(path, digest);
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      const wrote = await this.completeMultipart(digest, id, parts, size);
      finished = wrote;
      return wrote;
    } finally {
      await handle.close();
      if (!finished && uploadId !== undefined) await this.abortQuietly(key, uploadId);
    }
  }

  private async uploadPart(digest: string, uploadId: string, partNumber: number, body: Buffer, hex: string): Promise<string> {
    return this.request('upload', digest, async () => {
      const response = await this.client.send(
        new UploadPartCommand({
          Bucket: this.plan.bucket,
          Key: this.keyOf(digest),
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
          ChecksumSHA256: hexToBase64(hex),
        }),
      );
      if (response.ETag === undefined) throw environmentError('E_S3', `the server returned no ETag for part ${partNumber} of ${this.uriOf(digest)}`, { hint: 'check that the endpoint is an S3-compatible server' });
      return response.ETag;
    });
  }

  /** True when this call created the object, false when one was there already (upload then aborted). */
  private async completeMultipart(digest: string, uploadId: string, parts: CompletedPart[], size: number): Promise<boolean> {
    const send = (conditional: boolean) =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.plan.bucket,
          Key: this.keyOf(digest),
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          ...(conditional ? { IfNoneMatch: '*' } : {}),
        }),
      );
    return this.request('complete upload of', digest, async (attempt) => {
      try {
        await send(this.conditionalWrites);
        return true;
      } catch (error) {
        if (isPreconditionFailed(error)) {
          if (attempt === 1) return false;
          return (await this.head(digest, 'complete upload of')) !== undefined;
        }
        // A retry after a completion whose answer was lost: the upload is gone and the object is there.
        // Servers answer that retry differently (404 NoSuchUpload on AWS, a 500 on s3rver), so any
        // failed retry asks whether the object exists before it counts as a failure.
        if (attempt > 1) {
          const existing = await this.head(digest, 'complete upload of');
          if (existing !== undefined && existing.size === size) return true;
        }
        if (this.conditionalWrites && isConditionalUnsupported(error)) {
          this.warnConditionalOnce();
          await send(false);
          return true;
        }
        throw error;
      }
    });
  }

  private async abortQuietly(key: string, uploadId: string): Promise<void> {
    try {
      await withRetry(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.plan.bucket, Key: key, UploadId: uploadId })), {
        ...this.plan.tuning,
        maxAttempts: Math.min(3, this.plan.tuning.maxAttempts),
      });
    } catch {
      // Best effort: an incomplete upload is invisible and holds no final key; a bucket lifecycle
      // rule (AbortIncompleteMultipartUpload) reclaims its parts.
    }
  }

  /**
   * GET an object and feed its bytes, in order, to `sink` while hashing them. A dropped connection
   * resumes with a Range request from the last byte received (the hash state carries over); attempts
   * that made progress do not count against the retry budget.
   */
  private async download(
    digest: string,
    operation: string,
    sink: ChunkSink,
    progress?: ProgressSink,
  ): Promise<{ digest: string; size: number } | 'missing'> {
    await this.ensureBucket();
    const policy = this.plan.tuning;
    const hash = createHash('sha256');
    const target = this.uriOf(digest);
    let received = 0;
    let total: number | undefined;
    for (let attempt = 1; ; attempt++) {
      const before = received;
      try {
        const response = await this.client.send(
          new GetObjectCommand({ Bucket: this.plan.bucket, Key: this.keyOf(digest), ...(received > 0 ? { Range: `bytes=${received}-` } : {}) }),
        );
        const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(response.ContentRange ?? '');
        // A server that ignores Range sends the whole object again: skip what we already have.
        let skip = range === null ? received : received - Number(range[1]);
        total ??= range === null ? response.ContentLength : Number(range[2]);
        const body = response.Body as AsyncIterable<Uint8Array> | undefined;
        if (body !== undefined) {
          for await (const piece of body) {
            let chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
            if (skip > 0) {
              const dropped = Math.min(skip, chunk.length);
              skip -= dropped;
              chunk = chunk.subarray(dropped);
              if (chunk.length === 0) continue;
            }
            hash.update(chunk);
            received += chunk.length;
            await sink(chunk);
            progress?.(chunk.length);
          }
        }
        if (total !== undefined && received < total) throw truncatedError(target, received, total);
        return { digest: digestOf(hash), size: received };
      } catch (error) {
        if (received === 0 && isNotFound(error)) return 'missing';
        if (received > before) attempt = 0;
        if (attempt >= policy.maxAttempts || !isRetryable(error)) throw toStoreError(error, this.context(operation, digest));
        await sleep(backoffDelay(Math.max(1, attempt), policy));
      }
    }
  }

  private missingError(digest: string): MlshipError {
    const target = this.uriOf(digest);
    return environmentError('E_OBJECT_MISSING', `object ${target} is not in the store`, {
      hint: 'push the artifact from a machine that has it (mlship push), or check that store points at the right bucket and prefix',
      details: { target },
    });
  }
}

const changedError = (path: string, digest: string) =>
  integrityError('E_DIGEST', `${path} changed while it was being stored: it no longer hashes to ${digest}`, {
    hint: 'wait until the file is no longer being written, then run the command again',
    details: { path, expected: digest },
  });

/**
 * Read a file expected to hold `size` bytes, asking for one byte more: a regular file answers short
 * only at its end, so a read that brings the total to exactly `size` also shows that the file did not
 * grow, without a second read. Returns what was read: `size + 1` bytes for a file that grew, fewer
 * for one that shrank.
 */
async function readSized(handle: FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size + 1);
  let filled = 0;
  while (filled <= size) {
    const wanted = size + 1 - filled;
    const { bytesRead } = await handle.read(buffer, filled, wanted, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
    if (bytesRead < wanted && filled >= size) break;
  }
  return buffer.subarray(0, filled);
}

async function readExactly(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const expected = rest.reduce((sum, buffer) => sum + buffer.length, 0);
    const { bytesWritten } = await handle.writev(rest);
    if (bytesWritten === expected) return;
    // Short write: drop what was written and go again.
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const buffer of rest) {
      if (skip >= buffer.length) {
        skip -= buffer.length;
        continue;
      }
      next.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
    rest = next;
  }
}
