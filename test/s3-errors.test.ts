/**
 * Failures a user can meet with an S3 store, against the real test server (or a proxy in front of
 * it): each is an MlshipError with the right code, exit 3, a hint naming the fix, and no credential
 * anywhere in what it carries.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MlshipError } from '../src/errors.js';
import { createS3Store } from '../src/store/s3.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { FAST_RETRY, freshPrefix, openTestStore, s3, s3Env, sha256 } from './helpers/s3.js';

const someDigest = sha256(Buffer.from('anything'));

/** Everything an error exposes, as one string, to search for secrets. */
function exposed(error: MlshipError): string {
  const cause = error.cause instanceof Error ? `${error.cause.name} ${error.cause.message} ${error.cause.stack ?? ''}` : String(error.cause);
  return [error.message, error.hint, error.stack, JSON.stringify(error.details), cause, JSON.stringify({ error })].join('\n');
}

async function failure(promise: Promise<unknown>): Promise<MlshipError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MlshipError);
  return error as MlshipError;
}

function expectNoSecrets(error: MlshipError, ...secrets: string[]): void {
  const text = exposed(error);
  for (const secret of [s3().accessKeyId, s3().secretAccessKey, ...secrets]) expect(text).not.toContain(secret);
}

const proxies: FaultProxy[] = [];
afterEach(async () => {
  while (proxies.length > 0) await proxies.pop()?.close();
});

describe('S3 store errors', () => {
  // s3rver does not check SigV4 signatures (see the next test for the same answer through the proxy);
  // MinIO and AWS do, so this runs with MLSHIP_TEST_S3_ENDPOINT.
  it.skipIf(s3().kind === 's3rver')('a wrong secret: E_S3_CREDENTIALS, exit 3, and neither key nor secret in the error', async () => {
    const wrongSecret = `${s3().secretAccessKey}-but-wrong`;
    const store = await openTestStore(freshPrefix('badsecret'), { env: { ...s3Env(), AWS_SECRET_ACCESS_KEY: wrongSecret } });
    const error = await failure(store.has(someDigest));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_CREDENTIALS', exitCode: 3 });
    expect(error.hint).toMatch(/AWS_ACCESS_KEY_ID/);
    expectNoSecrets(error, wrongSecret);
    await store.close();
  });

  it('a signature the server rejects (its answer echoes the access key, as S3 does): E_S3_CREDENTIALS without the key', async () => {
    const rejecting = await startFaultProxy({ target: s3().endpoint, rate: 1, faults: ['signature'] });
    proxies.push(rejecting);
    const store = await openTestStore(freshPrefix('signature'), { endpoint: rejecting.url });
    const error = await failure(store.putBytes(someDigest, Buffer.from('anything')));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_CREDENTIALS', exitCode: 3 });
    expect(error.message).toContain('SignatureDoesNotMatch');
    expectNoSecrets(error);
    expect(rejecting.stats.faults.signature).toBe(1);
    await store.close();
  });

  it('an unknown access key: E_S3_CREDENTIALS', async () => {
    const unknownKey = 'AKIAUNKNOWNKEY000000';
    const store = await openTestStore(freshPrefix('badkey'), { env: { ...s3Env(), AWS_ACCESS_KEY_ID: unknownKey } });
    const error = await failure(store.has(someDigest));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_CREDENTIALS', exitCode: 3 });
    expectNoSecrets(error, unknownKey);
    await store.close();
  });

  it('no credentials anywhere: E_S3_CREDENTIALS naming the variables and the profile options', async () => {
    // The SDK's default chain reads process.env and the home folder itself: point them at nothing.
    const empty = await mkdtemp(join(tmpdir(), 'mlship-nocreds-'));
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
    Object.assign(process.env, {
      HOME: empty,
      AWS_CONFIG_FILE: join(empty, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(empty, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    try {
      const store = await openTestStore(freshPrefix('nocreds'), { env: { AWS_REGION: 'us-east-1' } });
      const error = await failure(store.has(someDigest));
      expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_CREDENTIALS', exitCode: 3 });
      expect(error.hint).toMatch(/AWS_ACCESS_KEY_ID/);
      expect(error.hint).toMatch(/AWS_PROFILE|store\.profile/);
      await store.close();

      const named = await createS3Store(
        { url: `s3://${s3().bucket}/x`, endpoint: s3().endpoint, profile: 'no-such-profile' },
        { env: { AWS_REGION: 'us-east-1' }, tuning: FAST_RETRY },
      );
      const profileError = await failure(named.has(someDigest));
      expect(profileError.code).toBe('E_S3_CREDENTIALS');
      expect(profileError.message).toContain('no-such-profile');
      await named.close();
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('a bucket that does not exist: E_S3_NO_BUCKET naming it', async () => {
    const store = await createS3Store(
      { url: 's3://mlship-no-such-bucket-here/models', endpoint: s3().endpoint, forcePathStyle: true, region: s3().region },
      { env: s3Env(), tuning: FAST_RETRY },
    );
    const error = await failure(store.putBytes(sha256(Buffer.from('x')), Buffer.from('x')));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_NO_BUCKET', exitCode: 3 });
    expect(error.message).toContain('mlship-no-such-bucket-here');
    expect(error.hint).toMatch(/create it|bucket name/);
    expectNoSecrets(error);
    await store.close();
  });

  it('an endpoint nobody listens on: E_S3_UNREACHABLE, after a bounded number of attempts', async () => {
    // A port that was free a moment ago.
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 1));
      });
    });
    const store = await openTestStore(freshPrefix('unreachable'), { endpoint: `http://127.0.0.1:${port}`, tuning: { maxAttempts: 3 } });
    const error = await failure(store.has(someDigest));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_UNREACHABLE', exitCode: 3 });
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.hint).toMatch(/AWS_ENDPOINT_URL_S3/);
    expectNoSecrets(error);
    await store.close();
  });

  it('AWS_ENDPOINT_URL_S3 from the environment is used, and named in errors', async () => {
    const store = await createS3Store({ url: `s3://${s3().bucket}/${freshPrefix('envendpoint')}` }, {
      env: { ...s3Env(), AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', AWS_ENDPOINT_URL: s3().endpoint },
      tuning: { ...FAST_RETRY, maxAttempts: 2 },
    });
    const error = await failure(store.has(someDigest));
    expect(error.code).toBe('E_S3_UNREACHABLE');
    expect(error.message).toContain('AWS_ENDPOINT_URL_S3');
    await store.close();

    // AWS_ENDPOINT_URL alone reaches the real server.
    const working = await createS3Store({ url: `s3://${s3().bucket}/${freshPrefix('envendpoint')}` }, { env: { ...s3Env(), AWS_ENDPOINT_URL: s3().endpoint }, tuning: FAST_RETRY });
    expect(await working.has(someDigest)).toBe(false);
    await working.close();
  });

  it('TLS spoken to a server without it: E_S3_TLS with a hint about the scheme and CA', async () => {
    const store = await openTestStore(freshPrefix('tls'), { endpoint: s3().endpoint.replace('http://', 'https://'), tuning: { maxAttempts: 2 } });
    const error = await failure(store.has(someDigest));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_TLS', exitCode: 3 });
    expect(error.hint).toMatch(/http:\/\/|NODE_EXTRA_CA_CERTS/);
    expectNoSecrets(error);
    await store.close();
  });

  it('access denied: E_S3_ACCESS with the permissions to grant', async () => {
    const deny = await startFaultProxy({ target: s3().endpoint, rate: 1, faults: ['403'] });
    proxies.push(deny);
    const store = await openTestStore(freshPrefix('denied'), { endpoint: deny.url });
    const error = await failure(store.has(someDigest));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_ACCESS', exitCode: 3 });
    expect(error.hint).toMatch(/s3:GetObject/);
    expect(error.hint).toMatch(/s3:PutObject/);
    expectNoSecrets(error);
    await store.close();
  });

  it('without s3:ListBucket (403 on HEAD of a missing key) a push still writes, guarded by the conditional write', async () => {
    const noList = await startFaultProxy({ target: s3().endpoint, rate: 1, faults: ['403'], methods: ['HEAD'] });
    proxies.push(noList);
    const store = await openTestStore(freshPrefix('nolist'), { endpoint: noList.url });
    const bytes = Buffer.from(`object ${Math.random()}`);
    expect(await store.putBytes(sha256(bytes), bytes)).toBe(true);
    expect((await store.getBytes(sha256(bytes))).equals(bytes)).toBe(true);
    // has() cannot tell, and says so.
    const error = await failure(store.has(sha256(bytes)));
    expect(error.code).toBe('E_S3_ACCESS');
    expect(error.hint).toMatch(/s3:ListBucket/);
    await store.close();
  });

  it('a server that keeps failing: E_S3_UNAVAILABLE after the retries', async () => {
    const failing = await startFaultProxy({ target: s3().endpoint, rate: 1, faults: ['503'] });
    proxies.push(failing);
    const store = await openTestStore(freshPrefix('unavailable'), { endpoint: failing.url, tuning: { maxAttempts: 4 } });
    const error = await failure(store.has(someDigest));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code: 'E_S3_UNAVAILABLE', exitCode: 3 });
    // One request, tried maxAttempts times (the bucket check is the first request to fail).
    expect(failing.stats.requests).toBe(4);
    await store.close();
  });

  it('AWS_MAX_ATTEMPTS bounds the attempts', async () => {
    const failing = await startFaultProxy({ target: s3().endpoint, rate: 1, faults: ['500'] });
    proxies.push(failing);
    const store = await openTestStore(freshPrefix('maxattempts'), { endpoint: failing.url, env: { ...s3Env(), AWS_MAX_ATTEMPTS: '2' } });
    await failure(store.has(someDigest));
    expect(failing.stats.requests).toBe(2);
    await store.close();
  });

  it('configuration mistakes are usage errors (exit 2)', async () => {
    const env = s3Env();
    for (const [setting, code] of [
      ['s3://', 'E_STORE_URL'],
      ['s3://UPPER_case/prefix', 'E_STORE_URL'],
      [{ url: `s3://${s3().bucket}/p`, kmsKeyId: 'alias/x' }, 'E_STORE_SSE'],
      [{ url: `s3://${s3().bucket}/p`, endpoint: 'ftp://example.com' }, 'E_STORE_ENDPOINT'],
      [{ url: `s3://${s3().bucket}/p`, endpoint: 'http://user:pass@example.com' }, 'E_STORE_ENDPOINT'],
    ] as const) {
      const error = await failure(createS3Store(setting, { env }));
      expect({ code: error.code, exitCode: error.exitCode }, JSON.stringify(setting)).toEqual({ code, exitCode: 2 });
      expect(exposed(error)).not.toContain('pass@');
    }
  });
});

/**
 * The same failures met by the write itself (reads pass), on both ways a single PUT is sent: the
 * direct PUT (s3-direct.ts, path-style custom endpoints) must read answers exactly as the SDK does.
 */
describe.each([
  { path: 'direct PUT', directPut: true },
  { path: 'SDK PutObject', directPut: false },
])('S3 store errors on the PUT itself: $path', ({ directPut }) => {
  it.each([
    ['signature', 'E_S3_CREDENTIALS', 3],
    ['403', 'E_S3_ACCESS', 3],
    ['503', 'E_S3_UNAVAILABLE', 3],
    ['reset', 'E_S3_UNREACHABLE', 3],
    ['redirect', 'E_S3_REGION', 2],
  ] as const)('%s: %s, exit %i, nothing stored, no secret', async (fault, code, exitCode) => {
    const failing = await startFaultProxy({ target: s3().endpoint, rate: 1, faults: [fault], methods: ['PUT'] });
    proxies.push(failing);
    const store = await openTestStore(freshPrefix(`put-${fault}`), { endpoint: failing.url, tuning: { directPut, maxAttempts: 3 } });
    const bytes = Buffer.from(`object ${fault} ${Math.random()}`);
    const error = await failure(store.putBytes(sha256(bytes), bytes));
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code, exitCode });
    expect(error.hint).toBeTruthy();
    expectNoSecrets(error);
    expect(await store.has(sha256(bytes))).toBe(false);
    await store.close();
  });
});

describe('S3 store: the direct PUT hands over to the SDK', () => {
  it('MLSHIP_S3_DIRECT_PUT=0 sends every PUT through the SDK; by default a path-style endpoint gets direct PUTs', async () => {
    const agents: string[] = [];
    const watching = await startFaultProxy({
      target: s3().endpoint,
      rate: 0,
      onRequest: ({ method, headers }) => {
        if (method === 'PUT') agents.push(String(headers['user-agent'] ?? ''));
      },
    });
    proxies.push(watching);
    for (const [env, viaSdk] of [[{ ...s3Env(), MLSHIP_S3_DIRECT_PUT: '0' }, true], [s3Env(), false]] as const) {
      agents.length = 0;
      const store = await openTestStore(freshPrefix('direct-switch'), { endpoint: watching.url, env });
      const bytes = Buffer.from(`switch ${Math.random()}`);
      expect(await store.putBytes(sha256(bytes), bytes)).toBe(true);
      expect(agents).toHaveLength(1);
      expect(agents[0]?.includes('aws-sdk-js')).toBe(viaSdk);
      await store.close();
    }
  });

  it('on a redirect, the SDK (which follows region redirects) sends that PUT and every later one', async () => {
    const agents: string[] = [];
    const redirecting = await startFaultProxy({
      target: s3().endpoint,
      rate: 1,
      faults: ['redirect'],
      methods: ['PUT'],
      onRequest: ({ method, headers }) => {
        if (method === 'PUT') agents.push(String(headers['user-agent'] ?? ''));
      },
    });
    proxies.push(redirecting);
    const store = await openTestStore(freshPrefix('handover'), { endpoint: redirecting.url, tuning: { maxAttempts: 1 } });
    const first = Buffer.from(`first ${Math.random()}`);
    await failure(store.putBytes(sha256(first), first));
    // The direct PUT first, then the SDK's (which also tried the region the answer named).
    expect(agents[0]).not.toContain('aws-sdk-js');
    expect(agents.slice(1).length).toBeGreaterThanOrEqual(1);
    for (const agent of agents.slice(1)) expect(agent).toContain('aws-sdk-js');

    redirecting.setRate(0);
    agents.length = 0;
    const second = Buffer.from(`second ${Math.random()}`);
    expect(await store.putBytes(sha256(second), second)).toBe(true);
    expect(agents).toHaveLength(1);
    expect(agents[0]).toContain('aws-sdk-js');
    await store.close();
  });
});
