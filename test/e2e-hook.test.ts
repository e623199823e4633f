/** The pre-commit hook (issue 6): real commits through a real hook. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, git, nodeProject, tempRepo } from './helpers/cli.js';
import { hookScript } from '../src/commands/hook.js';

const commit = (dir: string, message: string) => spawnSync('git', ['commit', '-q', '-m', message], { cwd: dir, env: baseEnv(), encoding: 'utf8' });

describe('mlship hook', () => {
  it('writes a script that chains an existing hook and finds mlship', () => {
    const script = hookScript('ml/project', "/opt/it's/bin/mlship");
    expect(script).toContain('-C \'ml/project\' validate --staged');
    expect(script).toContain("node '/opt/it'\\''s/bin/mlship'");
    expect(script).toContain('pre-commit.mlship-chained');
  });

  it('refuses a commit that rewrites the registry, lets appends through, and chains/restores an existing hook', async () => {
    const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }) });
    const hooks = join(repo.dir, '.git', 'hooks');
    writeFileSync(join(hooks, 'pre-commit'), '#!/bin/sh\necho previous-hook-ran >> "$(git rev-parse --show-toplevel)/.hook-log"\n');
    chmodSync(join(hooks, 'pre-commit'), 0o755);

    const install = await repo.run(['hook', 'install']);
    expect(install.code).toBe(0);
    expect(install.stdout).toContain('your existing hook runs first');
    expect((await repo.run(['run'])).code).toBe(0);
    expect((await repo.run(['promote', 'm@1', '--to', 'staging'])).code).toBe(0);

    // An edit of an old line is refused by the hook, naming the file and the line.
    const file = join(repo.dir, '.mlship', 'registry', 'm.jsonl');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('"accuracy":0.9', '"accuracy":0.99'));
    git(repo.dir, 'add', '.mlship/registry/m.jsonl');
    const refused = commit(repo.dir, 'tamper');
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('.mlship/registry/m.jsonl:1: the staged change rewrites line 1');
    expect(readFileSync(join(repo.dir, '.hook-log'), 'utf8')).toContain('previous-hook-ran');

    // An ordinary code change goes through (the hook validates and passes).
    writeFileSync(file, original);
    git(repo.dir, 'add', '.mlship/registry/m.jsonl');
    repo.write('README.txt', 'notes\n');
    git(repo.dir, 'add', 'README.txt');
    const ok = commit(repo.dir, 'docs');
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain('✓ mlship.yaml');

    const uninstall = await repo.run(['hook', 'uninstall']);
    expect(uninstall.stdout).toContain('restored');
    expect(readFileSync(join(hooks, 'pre-commit'), 'utf8')).toContain('previous-hook-ran');
    expect(existsSync(join(hooks, 'pre-commit.mlship-chained'))).toBe(false);
  });
});
