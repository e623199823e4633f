import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalTree, hashArtifact, parseTree, pullArtifact, pushArtifact } from '../src/store/artifacts.js';
import { hashBytes, hashFile } from '../src/store/hash.js';
import { createLocalStore } from '../src/store/local.js';
import { noStatCache, openStatCache } from '../src/store/stat-cache.js';
import { objectKey } from '../src/store/types.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'mlship-store-'));

describe('hashing', () => {
  it('matches openssl on a file larger than one read chunk', async () => {
    const dir = tmp();
    const file = join(dir, 'big.bin');
    const bytes = Buffer.alloc(9 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    writeFileSync(file, bytes);
    const openssl = spawnSync('openssl', ['dgst', '-sha256', '-r', file], { encoding: 'utf8' }).stdout.split(' ')[0];
    expect(await hashFile(file)).toEqual({ digest: `sha256:${openssl}`, size: bytes.length });
  });

  it('hashes the empty file to the well-known digest', async () => {
    const file = join(tmp(), 'empty');
    writeFileSync(file, '');
    expect((await hashFile(file)).digest).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('the stat cache', () => {
  it('returns the digest for an unchanged file and forgets a changed one', async () => {
    const dir = tmp();
    const file = join(dir, 'f');
    writeFileSync(file, 'one');
    const cacheFile = join(dir, 'cache.json');
    const cache = await openStatCache(cacheFile);
    const first = await hashArtifact(file, dir, 'f', cache);
    await cache.save();
    // A digest planted in the cache is trusted as long as the stat matches: proof the file is not re-read.
    const planted = JSON.parse(readFileSync(cacheFile, 'utf8')) as { entries: Record<string, unknown[]> };
    (planted.entries[file] as unknown[])[4] = hashBytes('planted');
    writeFileSync(cacheFile, JSON.stringify(planted));
    expect((await hashArtifact(file, dir, 'f', await openStatCache(cacheFile))).digest).toBe(hashBytes('planted'));
    writeFileSync(file, 'two');
    const after = await hashArtifact(file, dir, 'f', await openStatCache(cacheFile));
    expect(after.digest).toBe(hashBytes('two'));
    expect(after.digest).not.toBe(first.digest);
  });

  it('treats a damaged cache file as empty', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'cache.json'), '{not json');
    writeFileSync(join(dir, 'f'), 'x');
    expect((await hashArtifact(join(dir, 'f'), dir, 'f', await openStatCache(join(dir, 'cache.json')))).digest).toBe(hashBytes('x'));
  });
});

describe('the local store', () => {
  it('stores by content hash, skips existing objects, never overwrites, and verifies on read', async () => {
    const dir = tmp();
    const store = createLocalStore(join(dir, 'store'));
    const file = join(dir, 'model.bin');
    writeFileSync(file, 'weights');
    const { digest, size } = await hashFile(file);
    expect(await store.putFile(digest, file, size)).toBe(true);
    expect(await store.putFile(digest, file, size)).toBe(false);
    const path = join(dir, 'store', ...objectKey(digest).split('/'));
    expect(readFileSync(path, 'utf8')).toBe('weights');
    expect(statSync(path).mode & 0o777).toBe(0o444);
    expect(store.uriOf(digest)).toBe(`file://${path}`);
    // No temporary files left beside the object.
    expect(readdirSync(join(path, '..'))).toHaveLength(1);

    await store.getFile(digest, join(dir, 'out', 'model.bin'));
    expect(readFileSync(join(dir, 'out', 'model.bin'), 'utf8')).toBe('weights');
    expect(await store.check(digest)).toBe('ok');
    expect(await store.check(hashBytes('absent'))).toBe('missing');
  });

  it('refuses to store a file whose bytes do not match the digest it was given', async () => {
    const dir = tmp();
    const store = createLocalStore(join(dir, 'store'));
    writeFileSync(join(dir, 'f'), 'changed after hashing');
    await expect(store.putFile(hashBytes('original'), join(dir, 'f'), 8)).rejects.toMatchObject({ code: 'E_DIGEST', exitCode: 4 });
    expect(existsSync(join(dir, 'store', ...objectKey(hashBytes('original')).split('/')))).toBe(false);
  });

  it('catches a corrupted object and writes nothing to the destination', async () => {
    const dir = tmp();
    const store = createLocalStore(join(dir, 'store'));
    const digest = hashBytes('good bytes');
    await store.putBytes(digest, Buffer.from('good bytes'));
    const path = join(dir, 'store', ...objectKey(digest).split('/'));
    chmodSync(path, 0o644);
    writeFileSync(path, 'evil bytes');
    await expect(store.getFile(digest, join(dir, 'out.bin'))).rejects.toMatchObject({ code: 'E_DIGEST', exitCode: 4 });
    expect(existsSync(join(dir, 'out.bin'))).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(await store.check(digest)).toBe('corrupt');
    await expect(store.getBytes(digest)).rejects.toMatchObject({ code: 'E_DIGEST' });
  });

  it('reports a missing object with exit 3', async () => {
    const store = createLocalStore(join(tmp(), 'store'));
    await expect(store.getFile(hashBytes('nothing'), join(tmp(), 'x'))).rejects.toMatchObject({ code: 'E_OBJECT_MISSING', exitCode: 3 });
  });
});

describe('directory artifacts', () => {
  const makeDir = () => {
    const root = tmp();
    mkdirSync(join(root, 'model', 'sub'), { recursive: true });
    writeFileSync(join(root, 'model', 'b.bin'), 'bee');
    writeFileSync(join(root, 'model', 'sub', 'a.txt'), 'ay');
    writeFileSync(join(root, 'model', 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(root, 'model', 'run.sh'), 0o755);
    return root;
  };

  it('hash to a canonical tree object sorted by path', async () => {
    const root = makeDir();
    const tree = await hashArtifact(join(root, 'model'), root, 'model', noStatCache);
    expect(tree.kind).toBe('tree');
    if (tree.kind !== 'tree') return;
    const { entries, bytes } = await tree.contents();
    expect(tree.files).toBe(3);
    expect(entries.map((e) => [e.path, e.mode, e.size])).toEqual([['b.bin', '644', 3], ['run.sh', '755', 10], ['sub/a.txt', '644', 2]]);
    expect(bytes.toString()).toBe(
      `{"entries":[{"path":"b.bin","digest":"${hashBytes('bee')}","size":3,"mode":"644"},{"path":"run.sh","digest":"${hashBytes('#!/bin/sh\n')}","size":10,"mode":"755"},{"path":"sub/a.txt","digest":"${hashBytes('ay')}","size":2,"mode":"644"}]}`,
    );
    expect(tree.digest).toBe(hashBytes(bytes));
    expect(canonicalTree(entries).equals(bytes)).toBe(true);
  });

  it('round-trip through the store, the tree written last', async () => {
    const root = makeDir();
    const store = createLocalStore(join(root, 'store'));
    const tree = await hashArtifact(join(root, 'model'), root, 'model', noStatCache);
    if (tree.kind !== 'tree') throw new Error('expected a tree');
    expect(await pushArtifact(store, tree)).toEqual({ uploaded: 4, skipped: 0, bytes: 15 + (await tree.contents()).bytes.length });
    expect(await pushArtifact(store, tree)).toEqual({ uploaded: 0, skipped: 4, bytes: 0 });
    const out = join(root, 'out');
    expect(await pullArtifact(store, 'tree', tree.digest, out)).toBe(3);
    expect(readFileSync(join(out, 'sub', 'a.txt'), 'utf8')).toBe('ay');
  });

  it('refuse a symlink that leaves the repository', async () => {
    const root = makeDir();
    const outside = tmp();
    writeFileSync(join(outside, 'secret'), 's');
    symlinkSync(join(outside, 'secret'), join(root, 'model', 'link'));
    await expect(hashArtifact(join(root, 'model'), root, 'model', noStatCache)).rejects.toMatchObject({ code: 'E_PATH', exitCode: 2 });
  });

  it('refuse hostile tree objects read back from a store', () => {
    const entry = (path: string) => Buffer.from(JSON.stringify({ entries: [{ path, digest: hashBytes('x'), size: 1, mode: '644' }] }));
    for (const path of ['../escape', '/abs', 'a/../../b', 'a//b', '', 'a\\b']) {
      expect(() => parseTree(entry(path), 'sha256:t')).toThrow(/unsafe path/);
    }
    expect(() => parseTree(Buffer.from('nope'), 'sha256:t')).toThrow(/not JSON/);
    expect(parseTree(entry('ok/file'), 'sha256:t')).toHaveLength(1);
  });
});
