/**
 * The built CLI with an S3 store (issue 3), end to end: a temporary git repository whose mlship.yaml
 * points at the test S3 server, credentials only in the environment. push, run, pull and
 * verify --store; corruption caught with exit 4; a dead network with exit 3 and nothing registered;
 * credentials never printed, even with --verbose.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectKey } from '../src/store/types.js';
import { startFaultProxy, UNREACHABLE_FAULTS, type FaultProxy } from './helpers/fault-proxy.js';
import { nodeProject, tempRepo, type CliResult, type TempRepo } from './helpers/cli.js';
import { freshPrefix, plantObject, rawClient, s3, sha256, wrongObjects } from './helpers/s3.js';

const raw = rawClient();

/** Credentials and quiet SDK defaults; HOME points at an empty folder so no shared AWS config leaks in. */
function s3CliEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const home = mkdtempSync(join(tmpdir(), 'mlship-s3cli-home-'));
  return {
    HOME: home,
    AWS_ACCESS_KEY_ID: s3().accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3().secretAccessKey,
    AWS_REGION: s3().region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '4',
    ...overrides,
  };
}

function s3Project(prefix: string, endpoint: string): TempRepo {
  const files = nodeProject({ accuracy: 0.91 });
  files['mlship.yaml'] = `version: 1
store: { url: 's3://${s3().bucket}/${prefix}', endpoint: '${endpoint}', forcePathStyle: true, region: ${s3().region} }
models:
  m:
    artifacts: { model: model.bin, data: data }
    evaluate:
      command: [node, eval.mjs, '\${outputs}']
    gates:
      - { metric: accuracy, min: 0.5 }
    environments: [staging, production]
`;
  files['data/a.csv'] = 'x,y\n1,2\n';
  files['data/b/c.csv'] = 'x,y\n3,4\n';
  files['data/b/d.bin'] = 'binary-ish \u0000 bytes';
  return tempRepo({ files });
}

function expectNoSecrets(result: CliResult, ...more: string[]): void {
  for (const secret of [s3().accessKeyId, s3().secretAccessKey, ...more]) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

interface PushDoc {
  model: string;
  artifacts: Record<string, { digest: string; size: number; uri: string; uploaded: boolean }>;
}

describe('mlship with an S3 store', () => {
  const prefix = freshPrefix('cli');
  let repo: TempRepo;

  beforeAll(() => {
    repo = s3Project(prefix, s3().endpoint);
  });

  it('push --json stores every artifact under the store prefix and reports s3:// URIs; a second push skips', async () => {
    const first = await repo.run(['push', '--json'], s3CliEnv());
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const doc = first.json<PushDoc>();
    expect(Object.keys(doc.artifacts).sort()).toEqual(['data', 'model']);
    for (const artifact of Object.values(doc.artifacts)) {
      expect(artifact.uploaded).toBe(true);
      expect(artifact.uri).toBe(`s3://${s3().bucket}/${prefix}/${objectKey(artifact.digest)}`);
    }
    expect(doc.artifacts.model?.digest).toBe(sha256(Buffer.from('weights v1\n')));
    // model + three files + the tree object, all whole and correct.
    expect(await wrongObjects(raw, prefix)).toEqual([]);

    const second = await repo.run(['push', '--json'], s3CliEnv());
    expect(second.code).toBe(0);
    for (const artifact of Object.values(second.json<PushDoc>().artifacts)) expect(artifact.uploaded).toBe(false);
  });

  it('run registers v1, and the register event records the s3:// URI of each artifact', async () => {
    const result = await repo.run(['run', '--json'], s3CliEnv());
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ model: 'm', passed: true, version: 1 });
    const registry = readFileSync(join(repo.dir, '.mlship', 'registry', 'm.jsonl'), 'utf8').trim().split('\n');
    const register = JSON.parse(registry[registry.length - 1] ?? '{}') as { type: string; artifacts: Record<string, { uri: string; digest: string }> };
    expect(register.type).toBe('register');
    for (const artifact of Object.values(register.artifacts)) {
      expect(artifact.uri).toBe(`s3://${s3().bucket}/${prefix}/${objectKey(artifact.digest)}`);
    }
  });

  it('pull fetches a version into another folder, verified', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mlship-s3cli-pull-'));
    const result = await repo.run(['pull', 'm@1', '-o', out, '--json'], s3CliEnv());
    expect(result.code).toBe(0);
    expect(readFileSync(join(out, 'model.bin'), 'utf8')).toBe('weights v1\n');
    expect(readFileSync(join(out, 'data', 'b', 'c.csv'), 'utf8')).toBe('x,y\n3,4\n');
    expect(readFileSync(join(out, 'data', 'b', 'd.bin'), 'utf8')).toBe('binary-ish \u0000 bytes');
  });

  it('verify --store re-hashes every referenced object in S3', async () => {
    const result = await repo.run(['verify', '--store', '--json'], s3CliEnv());
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ ok: true, problems: [] });
  });

  it('--verbose shows neither the access key nor the secret, on success or on failure', async () => {
    const pushed = await repo.run(['push', '--verbose'], s3CliEnv());
    expect(pushed.code).toBe(0);
    expectNoSecrets(pushed);
    const verified = await repo.run(['verify', '--store', '--verbose'], s3CliEnv());
    expect(verified.code).toBe(0);
    expectNoSecrets(verified);

    // A key the server does not know: the failure path, with the cause's stack on stderr.
    const bogusKey = 'AKIAMLSHIPBOGUS12345';
    const bogusSecret = 'bogus/secret+value/that-must-not-leak';
    const refused = await repo.run(['push', '--verbose'], s3CliEnv({ AWS_ACCESS_KEY_ID: bogusKey, AWS_SECRET_ACCESS_KEY: bogusSecret }));
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/credentials were rejected/);
    expect(refused.stderr).toMatch(/hint: .*AWS_ACCESS_KEY_ID/);
    expectNoSecrets(refused, bogusKey, bogusSecret);
    const refusedJson = await repo.run(['push', '--json', '--verbose'], s3CliEnv({ AWS_ACCESS_KEY_ID: bogusKey, AWS_SECRET_ACCESS_KEY: bogusSecret }));
    expect(refusedJson.json()).toMatchObject({ error: { code: 'E_S3_CREDENTIALS' } });
    expectNoSecrets(refusedJson, bogusKey, bogusSecret);
  });

  it('without credentials: exit 3, and the hint names the variables and profiles', async () => {
    const result = await repo.run(['push', '--json'], s3CliEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }));
    expect(result.code).toBe(3);
    const error = result.json<{ error: { code: string; hint: string } }>().error;
    expect(error.code).toBe('E_S3_CREDENTIALS');
    expect(error.hint).toMatch(/AWS_ACCESS_KEY_ID/);
    expect(error.hint).toMatch(/AWS_PROFILE/);
  });

  it('a corrupted object: pull exits 4 and writes nothing; verify --store exits 4 and names it', async () => {
    const model = sha256(Buffer.from('weights v1\n'));
    await plantObject(raw, `${prefix}/${objectKey(model)}`, Buffer.from('weights v2\n'));

    const out = mkdtempSync(join(tmpdir(), 'mlship-s3cli-corrupt-'));
    const pulled = await repo.run(['pull', 'm@1', '-o', out, '--json'], s3CliEnv());
    expect(pulled.code).toBe(4);
    expect(pulled.json()).toMatchObject({ error: { code: 'E_DIGEST' } });
    expect(existsSync(join(out, 'model.bin'))).toBe(false);
    expect(readdirSync(out).filter((name) => name.includes('.tmp'))).toEqual([]);

    const verified = await repo.run(['verify', '--store', '--json'], s3CliEnv());
    expect(verified.code).toBe(4);
    const doc = verified.json<{ ok: boolean; problems: { code: string; message: string }[] }>();
    expect(doc.ok).toBe(false);
    expect(doc.problems.map((problem) => problem.message).join('\n')).toContain(model.slice('sha256:'.length, 'sha256:'.length + 12));

    // Put the right bytes back (the key names them), and all is well again.
    await plantObject(raw, `${prefix}/${objectKey(model)}`, Buffer.from('weights v1\n'));
    expect((await repo.run(['verify', '--store'], s3CliEnv())).code).toBe(0);
  });
});

describe('mlship with an S3 store behind a dead network', () => {
  let proxy: FaultProxy;
  afterAll(async () => {
    await proxy.close();
  });

  it('run exits 3 after bounded retries, registers nothing, and leaves no wrong bytes under a final key', async () => {
    // Faults that never reach the server: with 'truncate' (the server stores the object, the answer is
    // lost) a push of a handful of objects can land whole, and the run rightly succeeds.
    proxy = await startFaultProxy({ target: s3().endpoint, rate: 1, faults: UNREACHABLE_FAULTS, methods: ['PUT', 'POST'] });
    const prefix = freshPrefix('cli-dead');
    const repo = s3Project(prefix, proxy.url);
    const result = await repo.run(['run', '--json'], s3CliEnv({ AWS_MAX_ATTEMPTS: '3' }));
    expect(result.code).toBe(3);
    expect(result.json<{ error: { code: string; hint: string } }>().error.code).toMatch(/^E_S3_/);
    expect(proxy.stats.requests).toBeGreaterThan(0);
    expect(existsSync(join(repo.dir, '.mlship', 'registry', 'm.jsonl')) ? readFileSync(join(repo.dir, '.mlship', 'registry', 'm.jsonl'), 'utf8').trim() : '').toBe('');
    expect(await wrongObjects(raw, prefix)).toEqual([]);

    // The network comes back: the same run finishes the job.
    proxy.setRate(0);
    const rerun = await repo.run(['run', '--json'], s3CliEnv());
    expect(rerun.code).toBe(0);
    expect(rerun.json()).toMatchObject({ passed: true, version: 1 });
    expect(await wrongObjects(raw, prefix)).toEqual([]);
  });
});
