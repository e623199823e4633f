/** Policy, approvals, forced promotions and verify --since (issue 6), through the CLI. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addBareRemote, git, mlship, nodeProject, tempRepo } from './helpers/cli.js';
import { lineDigest } from '../src/registry/chain.js';

const POLICY = `    policy:
      production: { requires: staging, approvals: 2, approvers: ['*@example.com'], branches: [main] }
`;

describe('promotion policy and approvals', () => {
  it('explains every unmet condition, counts distinct approvers, and records a forced promotion', async () => {
    const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }, POLICY) });
    expect((await repo.run(['run'])).code).toBe(0);

    const refused = await repo.run(['promote', 'm@1', '--to', 'production', '--json']);
    expect(refused.code).toBe(1);
    const error = refused.json<{ error: { code: string; details: { reasons: string[] } } }>().error;
    expect(error.code).toBe('E_REFUSED');
    expect(error.details.reasons).toEqual([
      'policy: v1 must be promoted to staging before production',
      'policy: production needs 2 approval(s), v1 has 0: mlship approve m@1 --for production',
    ]);

    expect((await repo.run(['approve', 'm@1', '--for', 'production'], { MLSHIP_ACTOR: 'alice@example.com' })).code).toBe(0);
    const twice = await repo.run(['approve', 'm@1', '--for', 'production'], { MLSHIP_ACTOR: 'alice@example.com' });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('alice@example.com already approved v1 for production');
    const outsider = await repo.run(['approve', 'm@1', '--for', 'production'], { MLSHIP_ACTOR: 'mallory@evil.test' });
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toContain('mallory@evil.test is not an approver for production (*@example.com)');
    // CI identity: GitHub Actions' actor.
    const ci = await repo.run(['approve', 'm@1', '--for', 'production', '--json'], { GITHUB_ACTIONS: 'true', GITHUB_ACTOR: 'bob' });
    expect(ci.code).toBe(1);
    expect(ci.json<{ error: { message: string } }>().error.message).toContain('github:bob is not an approver');
    expect((await repo.run(['approve', 'm@1', '--for', 'production'], { MLSHIP_ACTOR: 'bob@example.com' })).code).toBe(0);

    const stillRefused = await repo.run(['promote', 'm@1', '--to', 'production']);
    expect(stillRefused.stderr).toContain('must be promoted to staging');
    expect(stillRefused.stderr).not.toContain('approval');

    const noReason = await repo.run(['promote', 'm@1', '--to', 'production', '--force']);
    expect(noReason.code).toBe(2);
    const forced = await repo.run(['promote', 'm@1', '--to', 'production', '--force', '--reason', 'incident 42 hotfix', '--json']);
    expect(forced.code).toBe(0);
    expect(forced.json()).toMatchObject({ event: { forced: true, reason: 'incident 42 hotfix', overridden: ['policy: v1 must be promoted to staging before production'] } });
    expect(git(repo.dir, 'log', '-1', '--format=%s')).toBe('mlship: promote m v1 to production (forced)\n');
  });

  it('refuses promotions from a branch the policy does not allow, even with --force', async () => {
    const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }, POLICY) });
    expect((await repo.run(['run'])).code).toBe(0);
    git(repo.dir, 'switch', '-q', '-c', 'feature');
    const result = await repo.run(['promote', 'm@1', '--to', 'production', '--force', '--reason', 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('promotions to production only from main (this is feature)');
  });

  it('refuses a version whose gate fails against what is live now, unless forced', async () => {
    const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }) });
    // Add a vs-production gate.
    repo.write('mlship.yaml', repo.read('mlship.yaml').replace('      - { metric: accuracy, min: 0.5 }', '      - { metric: accuracy, min: 0.5 }\n      - { metric: accuracy, vs: production, max_drop: 0.05 }'));
    repo.commitAll('gate');
    expect((await repo.run(['run'])).code).toBe(0);
    repo.write('eval.mjs', repo.read('eval.mjs').replace('0.9', '0.8'));
    repo.write('model.bin', 'weights v2\n');
    repo.commitAll('v2');
    // Nothing live in production yet: v2 passes "no baseline" and registers.
    expect((await repo.run(['run'])).code).toBe(0);
    expect((await repo.run(['promote', 'm@1', '--to', 'production'])).code).toBe(0);
    const refused = await repo.run(['promote', 'm@2', '--to', 'production']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('gate accuracy: accuracy 0.8 < 0.85 = production v1 0.9 - max_drop 0.05');
  });
});

describe('verify --since', () => {
  it('catches a force-pushed rewrite of the registry against the previous remote state', async () => {
    const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }) });
    const bare = addBareRemote(repo);
    expect((await repo.run(['run', '--push'])).code).toBe(0);
    expect((await repo.run(['promote', 'm@1', '--to', 'staging', '--push'])).code).toBe(0);
    const before = git(repo.dir, 'rev-parse', 'origin/main').trim();

    // Someone rewrites history: edit line 1, re-chain line 2, squash everything into new commits, force-push.
    const other = mkdtempSync(join(tmpdir(), 'mlship-other-'));
    git(other, 'clone', '-q', bare, '.');
    const file = join(other, '.mlship', 'registry', 'm.jsonl');
    const [first, second] = readFileSync(file, 'utf8').trimEnd().split('\n') as [string, string];
    const forged = first.replace('"accuracy":0.9', '"accuracy":0.99');
    const rechained = second.replace(/"prev":"sha256:[0-9a-f]{64}"/, `"prev":"${lineDigest(forged)}"`);
    git(other, 'reset', '-q', '--soft', git(other, 'rev-list', '--max-parents=0', 'HEAD').trim());
    writeFileSync(file, `${forged}\n${rechained}\n`);
    git(other, 'add', '-A');
    git(other, 'commit', '-q', '-m', 'squash');
    git(other, 'push', '-q', '--force', 'origin', 'main');

    // The forged history is internally consistent: a fresh clone's verify (without --since) passes.
    const fresh = mkdtempSync(join(tmpdir(), 'mlship-fresh-'));
    git(fresh, 'clone', '-q', bare, '.');
    expect((await mlship(['verify'], { cwd: fresh })).code).toBe(0);
    // Against the previous remote state it is caught.
    git(fresh, 'fetch', '-q', repo.dir, `${before}:refs/previous`);
    const since = await mlship(['verify', '--since', 'refs/previous', '--json'], { cwd: fresh });
    expect(since.code).toBe(4);
    expect(since.json()).toMatchObject({ ok: false, problems: [{ code: 'E_HISTORY', file: '.mlship/registry/m.jsonl', line: 1 }] });
  });
});
