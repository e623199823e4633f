/**
 * vitest globalSetup: one S3-protocol server for the whole run.
 *
 * By default it starts s3rver on 127.0.0.1 (ephemeral port, temporary data folder) with one bucket.
 * With MLSHIP_TEST_S3_ENDPOINT set it starts nothing and hands that endpoint to the tests instead
 * (for example a MinIO server), so the suite is not tied to one fake:
 *
 *   MLSHIP_TEST_S3_ENDPOINT=http://127.0.0.1:9000 MLSHIP_TEST_S3_BUCKET=mlship-test \
 *   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_REGION=us-east-1 npm test
 *
 * Tests read it with `inject('s3')` and write under their own random prefix, so runs never collide.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** 's3rver' when this setup started one, 'external' for MLSHIP_TEST_S3_ENDPOINT. */
  kind: 's3rver' | 'external';
  /** s3rver's data folder (objects live at <dataDir>/<bucket>/<key>._S3rver_object); null when external. */
  dataDir: string | null;
}

declare module 'vitest' {
  interface ProvidedContext {
    s3: S3TestServer;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.MLSHIP_TEST_S3_ENDPOINT;
  if (external !== undefined && external !== '') {
    const missing = ['MLSHIP_TEST_S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((name) => !process.env[name]);
    if (missing.length > 0) throw new Error(`MLSHIP_TEST_S3_ENDPOINT is set but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not`);
    project.provide('s3', {
      endpoint: external.replace(/\/+$/, ''),
      bucket: process.env.MLSHIP_TEST_S3_BUCKET as string,
      region: process.env.AWS_REGION || 'us-east-1',
      accessKeyId: process.env.AWS_ACCESS_KEY_ID as string,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY as string,
      kind: 'external',
      dataDir: null,
    });
    return async () => {};
  }

  const { default: S3rver } = await import('s3rver');
  const dataDir = await mkdtemp(join(tmpdir(), 'mlship-s3rver-'));
  const bucket = 'mlship-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dataDir, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  // Fresh, distinctive credentials for every run (rather than s3rver's built-in S3RVER/S3RVER), so
  // that the tests asserting "no secret in any output" search for strings that occur nowhere else.
  const accessKeyId = `AKIAMLSHIP${randomBytes(5).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64url');
  const { DUMMY_ACCOUNT } = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
  };
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  project.provide('s3', {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    kind: 's3rver',
    dataDir,
  });
  return async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  };
}
