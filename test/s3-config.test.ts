/**
 * Pure table tests: how the store setting and the environment become an S3 plan, part sizes,
 * backoff, error classification and redaction. No server, no SDK.
 */
import { describe, expect, it } from 'vitest';
import { MlshipError } from '../src/errors.js';
import { DEFAULT_TUNING, MAX_PARTS, MIN_PART, parseS3Url, partSizeFor, planS3, secretsOf } from '../src/store/s3-config.js';
import { isConditionalUnsupported, isRetryable, redact, toStoreError } from '../src/store/s3-errors.js';
import { backoffDelay } from '../src/store/s3-retry.js';

const MiB = 1024 * 1024;

describe('parseS3Url', () => {
  it.each([
    ['s3://bucket', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/', { bucket: 'bucket', prefix: '' }],
    ['s3://my.bucket-1/a/b/', { bucket: 'my.bucket-1', prefix: 'a/b' }],
    ['s3://bucket//a//b', { bucket: 'bucket', prefix: 'a/b' }],
  ])('%s', (url, expected) => {
    expect(parseS3Url(url)).toEqual(expected);
  });

  it.each(['s3://', 'file://x', 's3://Bucket/x', 's3://ab', 's3://bucket/../x'])('refuses %s with a usage error', (url) => {
    expect(() => parseS3Url(url)).toThrow(MlshipError);
    try {
      parseS3Url(url);
    } catch (error) {
      expect((error as MlshipError).exitCode).toBe(2);
    }
  });
});

describe('planS3: precedence of setting, environment and defaults', () => {
  it('a bare URL on AWS: no endpoint, virtual-hosted style, the default chain', () => {
    const plan = planS3('s3://models/team', {});
    expect(plan).toMatchObject({
      bucket: 'models',
      prefix: 'team',
      url: 's3://models/team',
      endpoint: undefined,
      region: undefined,
      forcePathStyle: false,
      credentials: { kind: 'chain' },
    });
    expect(plan.tuning).toEqual(DEFAULT_TUNING);
  });

  it('store.endpoint beats AWS_ENDPOINT_URL_S3, which beats AWS_ENDPOINT_URL', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://s3only:9000', AWS_ENDPOINT_URL: 'http://all:9000' };
    expect(planS3({ url: 's3://b12/p', endpoint: 'http://setting:9000/' }, env)).toMatchObject({ endpoint: 'http://setting:9000', endpointSource: 'store.endpoint' });
    expect(planS3('s3://b12/p', env)).toMatchObject({ endpoint: 'http://s3only:9000', endpointSource: 'AWS_ENDPOINT_URL_S3' });
    expect(planS3('s3://b12/p', { AWS_ENDPOINT_URL: 'http://all:9000' })).toMatchObject({ endpoint: 'http://all:9000', endpointSource: 'AWS_ENDPOINT_URL' });
  });

  it('custom endpoints default to path-style and us-east-1; the setting wins', () => {
    expect(planS3({ url: 's3://b12', endpoint: 'http://minio:9000' }, {})).toMatchObject({ forcePathStyle: true, region: 'us-east-1' });
    expect(planS3({ url: 's3://b12', endpoint: 'http://minio:9000', forcePathStyle: false, region: 'eu-west-1' }, {})).toMatchObject({
      forcePathStyle: false,
      region: 'eu-west-1',
    });
  });

  it('region: store.region > AWS_REGION > AWS_DEFAULT_REGION', () => {
    expect(planS3({ url: 's3://b12', region: 'ap-south-1' }, { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' }).region).toBe('ap-south-1');
    expect(planS3('s3://b12', { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' }).region).toBe('eu-west-1');
    expect(planS3('s3://b12', { AWS_DEFAULT_REGION: 'us-west-2' }).region).toBe('us-west-2');
  });

  it('credentials: keys in the environment, unless store.profile names a profile', () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token', AWS_PROFILE: 'dev' };
    expect(planS3('s3://b12', env).credentials).toEqual({ kind: 'static', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
    expect(planS3({ url: 's3://b12', profile: 'prod' }, env).credentials).toEqual({ kind: 'chain', profile: 'prod' });
    expect(planS3('s3://b12', { AWS_PROFILE: 'dev' }).credentials).toEqual({ kind: 'chain', profile: 'dev' });
    expect(planS3('s3://b12', { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }).credentials).toEqual({ kind: 'chain' });
  });

  it('AWS_MAX_ATTEMPTS sets the attempts; nonsense is a usage error', () => {
    expect(planS3('s3://b12', { AWS_MAX_ATTEMPTS: '3' }).tuning.maxAttempts).toBe(3);
    expect(() => planS3('s3://b12', { AWS_MAX_ATTEMPTS: 'many' })).toThrow(/AWS_MAX_ATTEMPTS/);
  });

  it('MLSHIP_S3_DIRECT_PUT turns the direct PUT off or on; nonsense is a usage error', () => {
    expect(planS3('s3://b12', {}).tuning.directPut).toBe(true);
    for (const off of ['0', 'false', 'OFF', 'no']) expect(planS3('s3://b12', { MLSHIP_S3_DIRECT_PUT: off }).tuning.directPut, off).toBe(false);
    expect(planS3('s3://b12', { MLSHIP_S3_DIRECT_PUT: '1' }, { directPut: false }).tuning.directPut).toBe(true);
    expect(planS3('s3://b12', { MLSHIP_S3_DIRECT_PUT: ' ' }, { directPut: false }).tuning.directPut).toBe(false);
    expect(() => planS3('s3://b12', { MLSHIP_S3_DIRECT_PUT: 'sometimes' })).toThrow(/MLSHIP_S3_DIRECT_PUT/);
  });

  it('sse and kmsKeyId', () => {
    expect(planS3({ url: 's3://b12', sse: 'aws:kms', kmsKeyId: 'alias/ml' }, {})).toMatchObject({ sse: 'aws:kms', kmsKeyId: 'alias/ml' });
    expect(() => planS3({ url: 's3://b12', sse: 'AES256', kmsKeyId: 'alias/ml' }, {})).toThrow(/kmsKeyId/);
  });

  it('parts are never below S3 minimum', () => {
    expect(planS3('s3://b12', {}, { partSize: 1024 }).tuning.partSize).toBe(MIN_PART);
  });

  it('secretsOf lists every credential value to scrub', () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret-value', AWS_SESSION_TOKEN: 'token-value' };
    expect(secretsOf(planS3('s3://b12', env), env).sort()).toEqual(['AKIAEXAMPLE', 'secret-value', 'token-value']);
  });
});

describe('partSizeFor', () => {
  it.each([
    [0, 16 * MiB, 16 * MiB],
    [1024 * MiB, 16 * MiB, 16 * MiB],
    // 500 GiB does not fit in 10,000 parts of 16 MiB: the part grows to whole MiB.
    [500 * 1024 * MiB, 16 * MiB, 52 * MiB],
  ])('size %d, configured %d -> %d', (size, configured, expected) => {
    const part = partSizeFor(size, configured);
    expect(part).toBe(expected);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
  });
});

describe('retries', () => {
  const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 2_000 };
  it('full jitter under an exponential cap', () => {
    expect(backoffDelay(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(10, policy, () => 0.999)).toBe(1_998);
    expect(backoffDelay(4, policy, () => 0)).toBe(0);
  });

  const status = (httpStatusCode: number, name = 'Error') => Object.assign(new Error('x'), { name, $metadata: { httpStatusCode } });
  const code = (value: string, message = 'x') => Object.assign(new Error(message), { code: value });
  it.each([
    [status(500, 'InternalError'), true],
    [status(503, 'SlowDown'), true],
    [status(429), true],
    [status(409, 'ConditionalRequestConflict'), true],
    [code('ECONNRESET'), true],
    [code('EPIPE'), true],
    [Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    [status(403, 'AccessDenied'), false],
    [status(404, 'NoSuchKey'), false],
    [status(412, 'PreconditionFailed'), false],
    [code('CERT_HAS_EXPIRED'), false],
    [code('EPROTO', 'wrong version number'), false],
  ])('%s retryable: %s', (error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });

  it('recognises servers without conditional writes', () => {
    expect(isConditionalUnsupported(status(501, 'NotImplemented'))).toBe(true);
    expect(isConditionalUnsupported(Object.assign(status(400, 'InvalidArgument'), { message: 'If-None-Match not supported' }))).toBe(true);
    expect(isConditionalUnsupported(status(400, 'InvalidArgument'))).toBe(false);
    expect(isConditionalUnsupported(status(412, 'PreconditionFailed'))).toBe(false);
  });
});

describe('redaction', () => {
  it('scrubs every secret, and the mapped error carries no raw SDK error', () => {
    expect(redact('key AKIAX secret S3CR3T and AKIAX again', ['AKIAX', 'S3CR3T'])).toBe('key *** secret *** and *** again');
    const sdkError = Object.assign(new Error('The request signature we calculated does not match (AKIAEXAMPLEKEY)'), {
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403, requestId: 'r1' },
      AWSAccessKeyId: 'AKIAEXAMPLEKEY',
      StringToSign: 'AWS4-HMAC-SHA256 ... AKIAEXAMPLEKEY',
    });
    const mapped = toStoreError(sdkError, {
      operation: 'upload',
      target: 's3://b/k',
      bucket: 'b',
      endpoint: undefined,
      endpointSource: undefined,
      profile: undefined,
      secrets: ['AKIAEXAMPLEKEY'],
    });
    expect(mapped.code).toBe('E_S3_CREDENTIALS');
    expect(mapped.cause).not.toBe(sdkError);
    const all = [mapped.message, mapped.hint, JSON.stringify(mapped.details), String(mapped.cause), (mapped.cause as Error).message].join(' ');
    expect(all).not.toContain('AKIAEXAMPLEKEY');
    expect(all).not.toContain('StringToSign');
  });
});
