/**
 * Concurrent writers (issue 6): 8 processes in 8 clones of one bare repository register and promote
 * at once with --push. Afterwards the remote holds every event exactly once, the chains verify, and
 * versions are numbered without gaps or duplicates.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addBareRemote, git, mlship, nodeProject, tempRepo } from './helpers/cli.js';
import { parseLog } from '../src/registry/chain.js';

describe('concurrent writers in separate clones', () => {
  it('8 clones registering and promoting at once all land, in one unbroken chain', async () => {
    const origin = tempRepo({ files: nodeProject({ accuracy: 0.9 }) });
    const bare = addBareRemote(origin);
    // v1, live in staging, so half of the clones can promote it while the others register.
    expect((await origin.run(['run', '--push'])).code).toBe(0);
    expect((await origin.run(['promote', 'm@1', '--to', 'staging', '--push'])).code).toBe(0);

    const clones = Array.from({ length: 8 }, (_, i) => {
      const dir = mkdtempSync(join(tmpdir(), `mlship-clone${i}-`));
      git(dir, 'clone', '-q', bare, '.');
      git(dir, 'config', 'user.email', `writer${i}@example.com`);
      return dir;
    });
    const results = await Promise.all(
      clones.map((dir, i) =>
        mlship(i % 2 === 0 ? ['run', '--push', '--json'] : ['approve', 'm@1', '--for', 'production', '--push', '--json'], {
          cwd: dir,
          env: { GIT_AUTHOR_EMAIL: `writer${i}@example.com`, GIT_COMMITTER_EMAIL: `writer${i}@example.com` },
        }),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    const check = mkdtempSync(join(tmpdir(), 'mlship-check-'));
    git(check, 'clone', '-q', bare, '.');
    const log = parseLog(git(check, 'show', 'HEAD:.mlship/registry/m.jsonl'), 'm');
    expect(log.problems).toEqual([]);
    const registers = log.events.filter((e) => e.type === 'register').map((e) => e.version);
    expect(registers).toEqual([1, 2, 3, 4, 5]);
    const approvals = log.events.filter((e) => e.type === 'approve').map((e) => e.actor).sort();
    expect(approvals).toEqual(['writer1@example.com', 'writer3@example.com', 'writer5@example.com', 'writer7@example.com']);
    expect(log.events).toHaveLength(2 + 4 + 4);
    // Each process reported the version it finally landed as.
    const landed = results.filter((_, i) => i % 2 === 0).map((r) => r.json<{ version: number }>().version).sort();
    expect(landed).toEqual([2, 3, 4, 5]);
    const verify = await mlship(['verify', '--json'], { cwd: check });
    expect(verify.json()).toMatchObject({ ok: true });
  }, 120_000);

  it('an unreachable remote leaves the event committed locally (exit 3), and push-registry sends it later', async () => {
    const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }) });
    const bare = mkdtempSync(join(tmpdir(), 'mlship-bare-'));
    git(bare, 'init', '-q', '--bare', '-b', 'main');
    git(repo.dir, 'remote', 'add', 'origin', `${bare}-moved`);
    const run = await repo.run(['run', '--push']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('mlship push-registry');
    expect(git(repo.dir, 'log', '-1', '--format=%s')).toBe('mlship: register m v1\n');
    git(repo.dir, 'remote', 'set-url', 'origin', bare);
    const pushed = await repo.run(['push-registry', '--json']);
    expect(pushed.code).toBe(0);
    expect(git(bare, 'log', '-1', '--format=%s', 'main')).toBe('mlship: register m v1\n');
  });

  it('a promotion that no longer passes its policy on the new tip is refused, not forced in', async () => {
    const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }, '    policy:\n      production: { requires: staging }\n') });
    const bare = addBareRemote(repo);
    expect((await repo.run(['run', '--push'])).code).toBe(0);
    expect((await repo.run(['promote', 'm@1', '--to', 'staging', '--push'])).code).toBe(0);
    const other = mkdtempSync(join(tmpdir(), 'mlship-other-'));
    git(other, 'clone', '-q', bare, '.');
    // The other clone deprecates v1 and pushes first; our promotion of v1 to production then no longer applies.
    expect((await mlship(['deprecate', 'm@1', '--reason', 'data leak', '--push'], { cwd: other })).code).toBe(0);
    const promote = await repo.run(['promote', 'm@1', '--to', 'production', '--push']);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain('deprecated');
    const log = parseLog(git(bare, 'show', 'main:.mlship/registry/m.jsonl'), 'm');
    expect(log.events.map((e) => e.type)).toEqual(['register', 'promote', 'deprecate']);
  });
});
