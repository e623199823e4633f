import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MlshipError } from '../src/errors.js';
import { hashArtifact, pullArtifact, pushArtifact, type HashedTree } from '../src/store/artifacts.js';
import { createLocalStore } from '../src/store/local.js';
import { hashFile } from '../src/store/hash.js';
import { chooseWorkers, workersSetting, hashFiles, MIN_FILES_FOR_WORKERS } from '../src/store/hash-workers.js';
import { noStatCache, openStatCache } from '../src/store/stat-cache.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'mlship-hashw-'));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** A tree of many small files, some empty, a few larger than one read chunk (4 MiB), nested. */
function makeTree(): string {
  const dir = tmp();
  for (let i = 0; i < 300; i++) {
    const sub = join(dir, `d${i % 7}`, `e${i % 3}`);
    mkdirSync(sub, { recursive: true });
    const size = i % 10 === 0 ? 0 : (i * 7919) % 20_000;
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = (i + j * 31) & 0xff;
    writeFileSync(join(sub, `f${i}.bin`), bytes);
  }
  const large = Buffer.alloc(9 * 1024 * 1024 + 5);
  for (let j = 0; j < large.length; j++) large[j] = (j * 13) & 0xff;
  writeFileSync(join(dir, 'large-a.bin'), large);
  writeFileSync(join(dir, 'large-b.bin'), large.subarray(0, 4 * 1024 * 1024));
  writeFileSync(join(dir, 'empty'), '');
  return dir;
}

async function treeWith(workers: string, dir: string): Promise<HashedTree> {
  const tree = await hashArtifact(dir, dir, 'test', noStatCache, { workers: Number(workers) });
  if (tree.kind !== 'tree') throw new Error('expected a tree');
  return tree;
}

/** OS threads of this process (each worker thread is one; a terminated worker's thread is joined). */
const threads = () => readdirSync('/proc/self/task').length;

describe('hashing a directory on worker threads', () => {
  it('gives the same digests as the main thread, with 1 and with 3 workers', async () => {
    const dir = makeTree();
    const main = await treeWith('0', dir);
    const one = await treeWith('1', dir);
    const three = await treeWith('3', dir);
    const [mainContents, oneContents, threeContents] = await Promise.all([main.contents(), one.contents(), three.contents()]);
    expect(mainContents.entries).toHaveLength(303);
    expect(oneContents.entries).toEqual(mainContents.entries);
    expect(threeContents.entries).toEqual(mainContents.entries);
    expect(three.digest).toBe(main.digest);
    for (const name of ['large-a.bin', 'empty', 'd3/e1/f10.bin']) {
      const entry = mainContents.entries.find((e) => e.path === name);
      expect(entry?.digest).toBe((await hashFile(join(dir, name))).digest);
    }
    expect(mainContents.entries.find((e) => e.path === 'empty')?.digest).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('looks up the stat cache before dispatching and fills it after', async () => {
    const dir = makeTree();
    const cacheFile = join(dir, '..', `${dir.split('/').pop()}-cache.json`);
    const cache = await openStatCache(cacheFile);
    const bytes: number[] = [];
    const first = await hashArtifact(dir, dir, 'test', cache, { onBytes: (n) => bytes.push(n), workers: 2 });
    const total = bytes.reduce((a, b) => a + b, 0);
    expect(total).toBe(first.size);
    await cache.save();
    // A second run reads nothing: every file is answered by the cache (no bytes reported).
    const again = await openStatCache(cacheFile);
    const read: number[] = [];
    const second = await hashArtifact(dir, dir, 'test', again, { onBytes: (n) => read.push(n) });
    expect(second.digest).toBe(first.digest);
    expect(read).toEqual([]);
    // One changed file: only its bytes are read again.
    writeFileSync(join(dir, 'd1', 'e1', 'f1.bin'), 'changed');
    const third = await hashArtifact(dir, dir, 'test', again, { onBytes: (n) => read.push(n) });
    expect(read.reduce((a, b) => a + b, 0)).toBe(7);
    expect(third.digest).not.toBe(first.digest);
  });

  it.skipIf(isRoot)('reports an unreadable file as the same MlshipError on the main thread and in workers', async () => {
    const dir = makeTree();
    const locked = join(dir, 'd2', 'e2', 'f2.bin');
    chmodSync(locked, 0o000);
    try {
      const errors: unknown[] = [];
      for (const workers of ['0', '1', '2']) {
        errors.push(await treeWith(workers, dir).then(() => undefined, (error: unknown) => error));
      }
      for (const error of errors) {
        expect(error).toBeInstanceOf(MlshipError);
        const e = error as MlshipError;
        expect({ code: e.code, exitCode: e.exitCode, message: e.message, hint: e.hint }).toEqual({
          code: 'E_READ',
          exitCode: 3,
          message: "test: cannot read 'd2/e2/f2.bin' (EACCES: permission denied)",
          hint: "make it readable (chmod u+r 'd2/e2/f2.bin') and run the command again",
        });
      }
    } finally {
      chmodSync(locked, 0o644);
    }
  });

  it('reports a read failure (EISDIR, seen even by root) as the same MlshipError on the main thread and in workers', async () => {
    const dir = makeTree();
    const files = [{ full: join(dir, 'empty'), stats: statSync(join(dir, 'empty')) }, { full: join(dir, 'd4'), stats: statSync(join(dir, 'empty')) }];
    const errors = await Promise.all([0, 1, 2].map((workers) => hashFiles(files, noStatCache, { root: dir, what: 'test', workers }).catch((e: unknown) => e)));
    for (const error of errors) {
      expect(error).toBeInstanceOf(MlshipError);
      const e = error as MlshipError;
      expect({ code: e.code, exitCode: e.exitCode, message: e.message }).toEqual({ code: 'E_READ', exitCode: 3, message: "test: cannot read 'd4' (EISDIR: it is a directory)" });
    }
  });

  it('reports a file that vanished between listing and hashing as E_READ from a worker', async () => {
    const dir = makeTree();
    const gone = { full: join(dir, 'nope'), stats: statSync(join(dir, 'empty')) };
    const error = await hashFiles([gone], noStatCache, { root: dir, what: 'test', workers: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlshipError);
    expect((error as MlshipError).message).toBe("test: cannot read 'nope' (ENOENT: it disappeared while being hashed)");
  });

  it.skipIf(!existsSync('/proc/self/task'))('leaves no worker thread running afterwards, after success and after a failure', async () => {
    const dir = makeTree();
    await treeWith('0', dir);
    const before = threads();
    await treeWith('2', dir);
    await hashFiles([{ full: join(dir, 'nope'), stats: statSync(join(dir, 'empty')) }], noStatCache, { root: dir, what: 't', workers: 2 }).catch(() => undefined);
    expect(threads()).toBe(before);
  });

  it('keeps small work and single files on the main thread', () => {
    expect(chooseWorkers(1, 10 * 1024 ** 3)).toBe(0);
    expect(chooseWorkers(MIN_FILES_FOR_WORKERS - 1, 1024)).toBe(0);
    expect(chooseWorkers(10_000, 2 * 1024 ** 3)).toBeGreaterThanOrEqual(0);
    expect(chooseWorkers(10, 100, 4)).toBe(4);
    expect(chooseWorkers(3, 100, 4)).toBe(3);
    expect(chooseWorkers(10_000, 2 * 1024 ** 3, workersSetting({ MLSHIP_HASH_WORKERS: '0' }))).toBe(0);
    expect(workersSetting({ MLSHIP_HASH_WORKERS: '3' })).toBe(3);
    expect(workersSetting({ MLSHIP_HASH_WORKERS: 'many' })).toBeUndefined();
    expect(workersSetting({})).toBeUndefined();
  });
});

describe('the tree cache', () => {
  const cacheOf = (dir: string) => join(dir, '..', `${dir.split('/').pop()}-cache`, 'stat-cache.json');
  /** Hash `dir` with a fresh handle on its cache, save it, and say how many file bytes were read. */
  async function hashAgain(dir: string): Promise<{ tree: HashedTree; read: number }> {
    const cache = await openStatCache(cacheOf(dir));
    let read = 0;
    const tree = await hashArtifact(dir, dir, 'test', cache, { onBytes: (n) => (read += n), workers: 0 });
    await cache.save();
    if (tree.kind !== 'tree') throw new Error('expected a tree');
    return { tree, read };
  }

  it('recognises an unchanged directory without the per-file table, and any change to it', async () => {
    const dir = makeTree();
    const first = await hashAgain(dir);
    const reference = await first.tree.contents();
    expect(first.read).toBe(first.tree.size);
    expect(existsSync(join(cacheOf(dir), '..', 'trees.json'))).toBe(true);

    // Unchanged: the digest comes from the tree cache, even with the per-file table gone.
    writeFileSync(cacheOf(dir), 'not json');
    const second = await hashAgain(dir);
    expect(second.tree.digest).toBe(first.tree.digest);
    expect(second.tree.files).toBe(303);
    expect(second.read).toBe(0);
    expect(await second.tree.contents()).toEqual(reference);

    // Each kind of change misses, and gives what hashing from scratch gives.
    const changes: [string, () => void][] = [
      ['same size, new bytes', () => writeFileSync(join(dir, 'd1', 'e1', 'f1.bin'), Buffer.alloc(statSync(join(dir, 'd1', 'e1', 'f1.bin')).size, 7))],
      ['executable bit', () => chmodSync(join(dir, 'empty'), 0o755)],
      ['a new file', () => writeFileSync(join(dir, 'd0', 'new.txt'), 'new')],
      ['a renamed file', () => renameSync(join(dir, 'd0', 'new.txt'), join(dir, 'd0', 'renamed.txt'))],
      ['a removed file', () => rmSync(join(dir, 'd0', 'renamed.txt'))],
    ];
    let previous = second.tree.digest;
    for (const [what, change] of changes) {
      change();
      const after = await hashAgain(dir);
      const scratch = await treeWith('0', dir);
      expect(after.tree.digest, what).toBe(scratch.digest);
      expect(after.tree.digest, what).not.toBe(previous);
      expect(await after.tree.contents(), what).toEqual(await scratch.contents());
      previous = after.tree.digest;
    }
  });

  it('a recognised directory pushes whole to a store that lacks it, and pulls back byte for byte', async () => {
    const dir = makeTree();
    const first = await hashAgain(dir);
    const again = await hashAgain(dir);
    expect(again.read).toBe(0);
    const fresh = createLocalStore(join(tmp(), 'store'));
    const scratch = createLocalStore(join(tmp(), 'store'));
    const pushed = await pushArtifact(fresh, again.tree);
    expect(pushed).toEqual(await pushArtifact(scratch, first.tree));
    expect(pushed.uploaded).toBeGreaterThan(250);
    const out = join(tmp(), 'out');
    expect(await pullArtifact(fresh, 'tree', again.tree.digest, out)).toBe(303);
    expect(readFileSync(join(out, 'large-a.bin')).equals(readFileSync(join(dir, 'large-a.bin')))).toBe(true);
  });

  it('hashes the files again when the remembered tree object is gone or damaged', async () => {
    const dir = makeTree();
    const first = await hashAgain(dir);
    const reference = await first.tree.contents();
    const trees = join(cacheOf(dir), '..', 'trees');
    const [object] = readdirSync(trees);
    for (const damage of [() => writeFileSync(join(trees, object as string), '{"entries":[]}'), () => rmSync(join(trees, object as string))]) {
      damage();
      const again = await hashAgain(dir);
      expect(again.tree.digest).toBe(first.tree.digest);
      expect(await again.tree.contents()).toEqual(reference);
    }
  });
});
