/**
 * From the `store` setting and the environment to a plan for the S3 client: bucket, prefix, region,
 * endpoint, addressing style, where credentials come from, tuning. Pure: no SDK, no I/O, so every
 * precedence rule is a table test.
 */
import { usageError } from '../errors.js';
import type { StoreSettingConfig } from '../config/schema.js';

type Env = Record<string, string | undefined>;

/** Sizes and limits of the transfer engine; defaults suit S3 and MinIO, tests lower them. */
export interface S3Tuning {
  /** Files larger than this go multipart (bytes). */
  multipartThreshold: number;
  /** Part size (bytes); raised automatically so that a file needs at most 10,000 parts. */
  partSize: number;
  /** Parts of one file in flight. */
  partConcurrency: number;
  /** Bytes of file data held in memory for uploads across all concurrent puts of this store. */
  memoryBudget: number;
  /** Sockets per host (keep-alive agent). */
  maxSockets: number;
  /** Attempts per request (1 = no retry). */
  maxAttempts: number;
  /** Backoff: full jitter over min(maxDelayMs, baseDelayMs * 2^attempt). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up on a TCP connect after this long (ms). */
  connectionTimeoutMs: number;
  /** Give up on a request whose socket stays silent this long (ms). */
  requestTimeoutMs: number;
  /**
   * Single-request PUTs on a path-style custom endpoint skip the SDK's middleware (s3-direct.ts);
   * false sends them through the SDK like every other request.
   */
  directPut: boolean;
}

const MiB = 1024 * 1024;

export const DEFAULT_TUNING: S3Tuning = {
  multipartThreshold: 16 * MiB,
  partSize: 16 * MiB,
  partConcurrency: 8,
  memoryBudget: 256 * MiB,
  maxSockets: 64,
  maxAttempts: 10,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
  connectionTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  directPut: true,
};

/** S3 rejects multipart uploads of more parts than this. */
export const MAX_PARTS = 10_000;
/** And parts (except the last) smaller than this. */
export const MIN_PART = 5 * MiB;

export type CredentialSource =
  | { kind: 'static'; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { kind: 'chain'; profile?: string };

export interface S3Plan {
  bucket: string;
  /** Key prefix without leading or trailing `/` ('' for the bucket root). */
  prefix: string;
  /** `s3://bucket/prefix`, normalised. */
  url: string;
  /** Undefined: let the SDK read it from the profile. */
  region: string | undefined;
  endpoint: string | undefined;
  /** Where the endpoint came from, for error hints. */
  endpointSource: 'store.endpoint' | 'AWS_ENDPOINT_URL_S3' | 'AWS_ENDPOINT_URL' | undefined;
  forcePathStyle: boolean;
  credentials: CredentialSource;
  sse: 'AES256' | 'aws:kms' | undefined;
  kmsKeyId: string | undefined;
  tuning: S3Tuning;
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/some/prefix/` -> `{bucket, prefix: 'some/prefix'}`. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url.trim());
  const bucket = match?.[1];
  if (match === null || bucket === undefined) {
    throw usageError('E_STORE_URL', `'${url}' is not an S3 URL`, { hint: 'write the store as s3://BUCKET or s3://BUCKET/PREFIX' });
  }
  if (!BUCKET_RE.test(bucket)) {
    throw usageError('E_STORE_URL', `'${bucket}' is not a valid S3 bucket name (in store '${url}')`, {
      hint: 'bucket names are 3-63 characters: lowercase letters, digits, dots and hyphens',
    });
  }
  const prefix = (match[2] ?? '').split('/').filter((segment) => segment !== '').join('/');
  if (prefix.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw usageError('E_STORE_URL', `the store prefix in '${url}' contains '.' or '..'`, { hint: 'use a plain prefix such as s3://bucket/team/mlship' });
  }
  return { bucket, prefix };
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value.trim());

function parsePositiveInt(value: string | undefined, name: string): number | undefined {
  if (nonEmpty(value) === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw usageError('E_CONFIG_ENV', `${name}='${value}' is not a positive integer`, { hint: `unset ${name} or give it a whole number such as 5` });
  }
  return parsed;
}

const SWITCH: Record<string, boolean> = { '1': true, true: true, yes: true, on: true, '0': false, false: false, no: false, off: false };

function parseSwitch(value: string | undefined, name: string): boolean | undefined {
  const given = nonEmpty(value);
  if (given === undefined) return undefined;
  const parsed = SWITCH[given.toLowerCase()];
  if (parsed === undefined) {
    throw usageError('E_CONFIG_ENV', `${name}='${value}' is neither on nor off`, { hint: `unset ${name}, or set it to 0 (off) or 1 (on)` });
  }
  return parsed;
}

function checkEndpoint(endpoint: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw usageError('E_STORE_ENDPOINT', `${source} '${endpoint}' is not a URL`, { hint: 'write the endpoint as http(s)://HOST[:PORT], for example http://127.0.0.1:9000' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError('E_STORE_ENDPOINT', `${source} '${endpoint}' must use http or https`, { hint: 'write the endpoint as http(s)://HOST[:PORT]' });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Credentials in a URL would end up in error messages and logs.
    throw usageError('E_STORE_ENDPOINT', `${source} must not contain credentials`, { hint: 'put credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile, not in the URL' });
  }
  return endpoint.replace(/\/+$/, '');
}

/**
 * Precedence: the store setting, then the standard AWS variables, then defaults.
 * - endpoint: `store.endpoint` > `AWS_ENDPOINT_URL_S3` > `AWS_ENDPOINT_URL` > AWS itself;
 * - region: `store.region` > `AWS_REGION` > `AWS_DEFAULT_REGION` > the profile's region (read by the
 *   SDK) > `us-east-1` when a custom endpoint is set (MinIO and friends ignore it);
 * - path-style addressing: `store.forcePathStyle`, else on for custom endpoints, off for AWS;
 * - credentials: keys in the environment (unless `store.profile` names a profile), else the SDK's
 *   default chain with `store.profile` or `AWS_PROFILE` (shared files, SSO, process, web identity,
 *   container and instance roles);
 * - attempts: `AWS_MAX_ATTEMPTS` > the default;
 * - direct PUTs (s3-direct.ts): `MLSHIP_S3_DIRECT_PUT` (0 or 1) > the tuning given > on.
 */
export function planS3(setting: StoreSettingConfig, env: Env, tuning: Partial<S3Tuning> = {}): S3Plan {
  const object = typeof setting === 'string' ? { url: setting } : setting;
  const { bucket, prefix } = parseS3Url(object.url);

  let endpoint: string | undefined;
  let endpointSource: S3Plan['endpointSource'];
  const candidates = [
    ['store.endpoint', object.endpoint],
    ['AWS_ENDPOINT_URL_S3', env.AWS_ENDPOINT_URL_S3],
    ['AWS_ENDPOINT_URL', env.AWS_ENDPOINT_URL],
  ] as const;
  for (const [source, value] of candidates) {
    const given = nonEmpty(value);
    if (given !== undefined) {
      endpoint = checkEndpoint(given, source);
      endpointSource = source;
      break;
    }
  }

  const region =
    nonEmpty(object.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (endpoint !== undefined ? 'us-east-1' : undefined);

  const profile = nonEmpty(object.profile) ?? nonEmpty(env.AWS_PROFILE);
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  let credentials: CredentialSource;
  if (nonEmpty(object.profile) === undefined && accessKeyId !== undefined && secretAccessKey !== undefined) {
    const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
    credentials = { kind: 'static', accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
  } else {
    credentials = { kind: 'chain', ...(profile === undefined ? {} : { profile }) };
  }

  if (object.kmsKeyId !== undefined && object.sse !== 'aws:kms') {
    throw usageError('E_STORE_SSE', "store.kmsKeyId is set but store.sse is not 'aws:kms'", { hint: "add 'sse: aws:kms' to the store setting, or remove kmsKeyId" });
  }

  const attempts = parsePositiveInt(env.AWS_MAX_ATTEMPTS, 'AWS_MAX_ATTEMPTS');
  const directPut = parseSwitch(env.MLSHIP_S3_DIRECT_PUT, 'MLSHIP_S3_DIRECT_PUT');
  const merged: S3Tuning = {
    ...DEFAULT_TUNING,
    ...tuning,
    ...(attempts === undefined ? {} : { maxAttempts: attempts }),
    ...(directPut === undefined ? {} : { directPut }),
  };
  if (merged.partSize < MIN_PART) merged.partSize = MIN_PART;

  return {
    bucket,
    prefix,
    url: `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`,
    region,
    endpoint,
    endpointSource,
    forcePathStyle: object.forcePathStyle ?? endpoint !== undefined,
    credentials,
    sse: object.sse,
    kmsKeyId: object.kmsKeyId,
    tuning: merged,
  };
}

/** Part size for a file: the configured one, raised (to whole MiB) so the file fits in MAX_PARTS parts. */
export function partSizeFor(size: number, configured: number): number {
  const needed = Math.ceil(size / MAX_PARTS);
  return Math.max(configured, Math.ceil(needed / MiB) * MiB, MIN_PART);
}

/** The values that must never appear in output: every credential string we know of. */
export function secretsOf(plan: S3Plan, env: Env): string[] {
  const values = [env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN];
  if (plan.credentials.kind === 'static') values.push(plan.credentials.accessKeyId, plan.credentials.secretAccessKey, plan.credentials.sessionToken);
  return [...new Set(values.map(nonEmpty).filter((value): value is string => value !== undefined && value.length >= 4))];
}
