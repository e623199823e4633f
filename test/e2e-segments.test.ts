/**
 * Large registries (issue 8): the log is split into files of MLSHIP_SEGMENT_LINES events, the chain
 * runs on across them, sealed files are folded once into a snapshot cache, and verify reads all.
 */
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, nodeProject, tempRepo } from './helpers/cli.js';

const ENV = { MLSHIP_SEGMENT_LINES: '3' };

describe('segmented registry files', () => {
  it('rolls over to a new file, keeps one chain, and verifies across files', async () => {
    const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }) });
    const run = (args: string[]) => repo.run(args, ENV);
    expect((await run(['run'])).code).toBe(0);
    for (const [ref, env] of [['m@1', 'staging'], ['m@1', 'production']]) expect((await run(['promote', ref as string, '--to', env as string])).code).toBe(0);
    repo.write('model.bin', 'weights v2\n');
    repo.commitAll('v2');
    expect((await run(['run'])).code).toBe(0);
    expect((await run(['promote', 'm@2', '--to', 'staging'])).code).toBe(0);
    expect((await run(['promote', 'm@2', '--to', 'production'])).code).toBe(0);
    expect((await run(['rollback', 'm', '--env', 'production', '--reason', 'latency'])).code).toBe(0);

    const dir = join(repo.dir, '.mlship', 'registry');
    expect(readdirSync(dir).sort()).toEqual(['m.jsonl', 'm~2.jsonl', 'm~3.jsonl']);
    expect(readFileSync(join(dir, 'm~3.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(1);
    // The sealed files were folded into the snapshot cache.
    expect(existsSync(join(repo.dir, '.mlship', 'cache', 'registry', 'm.json'))).toBe(true);

    const status = await run(['status', '--json']);
    expect(status.json()).toMatchObject({ models: [{ latest: 2, environments: { staging: { version: 2 }, production: { version: 1 } } }] });
    const history = (await run(['history', 'm', '--json'])).json<{ events: { seq: number }[] }>();
    expect(history.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await run(['verify', '--store'])).code).toBe(0);
    // Without the cache, the same state is folded from the files.
    expect((await run(['diff', 'm@1', 'm@2', '--json'])).code).toBe(0);
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');

    // A rewrite of a sealed file is caught by verify, and by the next write (the snapshot no longer matches).
    const sealed = join(dir, 'm.jsonl');
    chmodSync(sealed, 0o644);
    writeFileSync(sealed, readFileSync(sealed, 'utf8').replace('"accuracy":0.9', '"accuracy":0.95'));
    const verify = await run(['verify', '--json']);
    expect(verify.code).toBe(4);
    expect(verify.json<{ problems: { file: string; line: number }[] }>().problems[0]).toMatchObject({ file: '.mlship/registry/m.jsonl', line: 2 });
    const promote = await run(['promote', 'm@2', '--to', 'production']);
    expect(promote.code).toBe(4);
    expect(promote.stderr).toContain('.mlship/registry/m.jsonl:2');
  });
});
