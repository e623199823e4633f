/**
 * The core flow of issue 2, end to end through the built CLI, on a copy of examples/churn in a
 * fresh git repository with a bare remote.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { addBareRemote, EXAMPLE, git, tempRepo, type TempRepo } from './helpers/cli.js';

interface Status {
  models: { name: string; latest: number; environments: Record<string, { version: number; digest: string } | null> }[];
}

describe('the churn example, from validate to rollback', () => {
  let repo: TempRepo;
  let remote: string;

  beforeAll(() => {
    repo = tempRepo({ from: EXAMPLE });
    remote = addBareRemote(repo);
  });

  it('validates', async () => {
    const result = await repo.run(['validate']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('mlship.yaml: 1 model(s)');
  });

  it('runs: hashes and stores the artifacts, evaluates, gates and registers v1', async () => {
    const result = await repo.run(['run', '--json']);
    expect(result.code).toBe(0);
    const doc = result.json<{ model: string; passed: boolean; version: number; digest: string; metrics: Record<string, number>; gates: { metric: string; passed: boolean; reason: string }[]; checks: unknown[] }>();
    expect(doc).toMatchObject({ model: 'churn', passed: true, version: 1 });
    expect(doc.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(doc.metrics['accuracy']).toBeGreaterThan(0.8);
    expect(doc.gates.map((g) => g.reason)).toContain('no baseline: nothing is live in production yet');
    // The evaluation's own output went to stderr, never into the JSON document.
    expect(result.stderr).toContain('accuracy=');
    expect(git(repo.dir, 'log', '-1', '--format=%s')).toBe('mlship: register churn v1\n');
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');
  });

  it('enforces the promotion order of the policy, then promotes', async () => {
    const refused = await repo.run(['promote', 'churn@1', '--to', 'production']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('v1 must be promoted to staging before production');
    expect((await repo.run(['promote', 'churn@1', '--to', 'staging'])).code).toBe(0);
    const promoted = await repo.run(['promote', 'churn@staging', '--to', 'production', '--json', '--push']);
    expect(promoted.code).toBe(0);
    expect(promoted.json()).toMatchObject({ model: 'churn', version: 1, env: 'production', event: { type: 'promote', seq: 3, env: 'production', from: null } });
    expect(git(remote, 'log', '-1', '--format=%s', 'main')).toBe('mlship: promote churn v1 to production\n');
  });

  it('registers v2 after the model changes, and promotes it', async () => {
    const modelPath = join(repo.dir, 'models', 'churn.json');
    const model = JSON.parse(readFileSync(modelPath, 'utf8')) as { intercept: number };
    model.intercept += 0.05;
    writeFileSync(modelPath, `${JSON.stringify(model, null, 2)}\n`);
    repo.commitAll('retrain');
    const run = await repo.run(['run', '--json']);
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ version: 2, passed: true });
    // The vs-production gate now has a baseline.
    expect(JSON.stringify(run.json())).toContain('production v1');
    expect((await repo.run(['promote', 'churn@2', '--to', 'staging'])).code).toBe(0);
    expect((await repo.run(['promote', 'churn@latest', '--to', 'production'])).code).toBe(0);
    const again = await repo.run(['promote', 'churn@2', '--to', 'production', '--json']);
    expect(again.json()).toMatchObject({ unchanged: true, event: null });
  });

  it('rolls back production to v1 with a reason, and the state says so', async () => {
    const result = await repo.run(['rollback', 'churn', '--env', 'production', '--reason', 'p95 latency regression', '--json']);
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ model: 'churn', env: 'production', version: 1, from: 2, event: { type: 'rollback', reason: 'p95 latency regression', actor: 'test@example.com' } });
    const status = (await repo.run(['status', '--json'])).json<Status>();
    expect(status.models[0]).toMatchObject({ name: 'churn', latest: 2, environments: { staging: { version: 2 }, production: { version: 1 } } });
    expect(status.models[0]?.environments['production']?.digest).toMatch(/^sha256:/);
    expect(git(repo.dir, 'log', '-1', '--format=%s')).toBe('mlship: rollback churn in production from v2 to v1\n');
  });

  it('shows history, diffs versions, and verifies the registry and the store', async () => {
    const history = (await repo.run(['history', 'churn', '--env', 'production', '--json'])).json<{ events: { type: string; version: number }[] }>();
    expect(history.events.map((e) => `${e.type}:${e.version}`)).toEqual(['promote:1', 'promote:2', 'rollback:1']);
    const human = await repo.run(['history', 'churn']);
    expect(human.stdout.split('\n').filter((l) => l !== '')).toHaveLength(7);

    const diff = (await repo.run(['diff', 'churn@1', 'churn@2', '--json'])).json<{ metrics: { metric: string; delta: number | null }[]; artifacts: { name: string; changed: boolean }[] }>();
    expect(diff.artifacts.filter((a) => a.changed).map((a) => a.name)).toEqual(['model']);
    // The example's own metrics, then the builtin ones mlship computes from its predictions file.
    const names = diff.metrics.map((m) => m.metric);
    expect(names.filter((m) => !m.startsWith('builtin.'))).toEqual(['accuracy', 'auc', 'log_loss', 'rows']);
    expect(names).toEqual(expect.arrayContaining(['builtin.roc_auc', 'builtin.calibration.ece', 'builtin.fairness.plan.demographic_parity_diff']));

    const verify = await repo.run(['verify', '--store', '--json']);
    expect(verify.code).toBe(0);
    expect(verify.json()).toMatchObject({ ok: true, problems: [], commits: 7 });
  });

  it('pulls a version into a folder, verified', async () => {
    const out = join(repo.dir, '..', `pulled-${Date.now()}`);
    const result = await repo.run(['pull', 'churn@1', '-o', out, '--json']);
    expect(result.code).toBe(0);
    const pulled = JSON.parse(readFileSync(join(out, 'models', 'churn.json'), 'utf8')) as { intercept: number };
    const current = JSON.parse(repo.read('models/churn.json')) as { intercept: number };
    expect(pulled.intercept).toBeCloseTo(current.intercept - 0.05, 6);
  });
});

describe('the command line', () => {
  it('prints its version and help fast and without a project', async () => {
    const repo = tempRepo();
    const version = await repo.run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await repo.run(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['init', 'validate', 'check', 'hash', 'push', 'pull', 'eval', 'register', 'run', 'promote', 'approve', 'rollback', 'status', 'history', 'diff', 'verify']) {
      expect(help.stdout).toContain(command);
    }
  });

  it('init writes the config with the schema line, the schema, and the ignores; refuses to overwrite', async () => {
    const repo = tempRepo();
    const first = await repo.run(['init']);
    expect(first.code).toBe(0);
    expect(repo.read('mlship.yaml').split('\n')[0]).toBe('# yaml-language-server: $schema=.mlship/mlship.schema.json');
    expect(JSON.parse(repo.read('.mlship/mlship.schema.json'))).toHaveProperty('properties.models');
    expect(repo.read('.gitignore')).toContain('.mlship/store/');
    const before = repo.read('mlship.yaml');
    const second = await repo.run(['init']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('already exists');
    expect(repo.read('mlship.yaml')).toBe(before);
    expect((await repo.run(['init', '--force', '--template', 'basci'])).stderr).toContain("did you mean 'basic'?");
    // The template itself is a valid config (its artifact does not exist yet: exit 2 naming it).
    const validate = await repo.run(['validate', '--no-data']);
    expect(validate.stdout).toContain('models/model.json does not exist');
  });

  it('hash prints sha256sum-style lines', async () => {
    const repo = tempRepo({ files: { 'a.txt': 'hello\n' } });
    const result = await repo.run(['hash', 'a.txt']);
    expect(result.stdout).toBe('sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  a.txt\n');
  });
});
