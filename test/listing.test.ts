import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prefetch } from '../src/main.js';
import { hashArtifact, hashOptions } from '../src/store/artifacts.js';
import { FIND_MIN_FILES, findSetting, runFind, takePrefetched } from '../src/store/find.js';
import { findListing, findListingOf, listFiles, walkListing } from '../src/store/listing.js';
import { noStatCache, openStatCache } from '../src/store/stat-cache.js';
import { mlship, tempRepo } from './helpers/cli.js';

const gnuFind = process.platform === 'linux' && spawnSync('find', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU') === true;
const tmp = () => mkdtempSync(join(tmpdir(), 'mlship-listing-'));

/** A folder of `count` small files over a few nested folders, names with spaces and unicode included. */
function makeFolder(count: number): string {
  const dir = tmp();
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `part ${i % 5}`, i % 2 === 0 ? 'even' : 'ödd');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f ${i}.bin`), `file ${i} `.repeat(1 + (i % 7)));
  }
  writeFileSync(join(dir, 'top.txt'), 'top');
  writeFileSync(join(dir, 'empty'), '');
  return dir;
}

describe.skipIf(!gnuFind)('listing a folder with GNU find', () => {
  it('counts the same files and bytes as the walk, and its fingerprint is a different kind of key', async () => {
    const dir = makeFolder(40);
    const viaFind = await findListing(dir);
    const viaWalk = walkListing(dir, dir, 't');
    expect(viaFind).toBeDefined();
    expect({ size: viaFind?.size, files: viaFind?.files }).toEqual({ size: viaWalk.size, files: viaWalk.files });
    expect(viaFind?.fingerprint.startsWith('find:')).toBe(true);
    expect(viaWalk.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("reads find's times exactly as Node's numbers, so what Node collected is recognised", async () => {
    const dir = makeFolder(40);
    // Nanosecond timestamps that a float of milliseconds rounds: the conversion must match Node's.
    utimesSync(join(dir, 'top.txt'), new Date(1_700_000_000_123), new Date(1_700_000_000_987));
    const files = listFiles(dir, dir, 't');
    const of = findListingOf(dir, files);
    expect(of).toBeDefined();
    expect(of?.fingerprint).toBe((await findListing(dir))?.fingerprint);
    expect(of?.files).toBe(files.length);
  });

  it('refuses to vouch for files that are not exactly what find sees', () => {
    const dir = makeFolder(20);
    const files = listFiles(dir, dir, 't');
    writeFileSync(join(dir, 'top.txt'), 'top, edited');
    expect(findListingOf(dir, files)).toBeUndefined();
    expect(findListingOf(dir, listFiles(dir, dir, 't').slice(1))).toBeUndefined();
  });

  it('changes its fingerprint for every kind of change the stat cache must see', async () => {
    const dir = makeFolder(30);
    const target = join(dir, 'part 1', 'ödd', 'f 1.bin');
    const seen = new Set<string>();
    const take = async () => {
      const listing = await findListing(dir);
      expect(listing).toBeDefined();
      const fingerprint = listing?.fingerprint as string;
      expect(seen.has(fingerprint)).toBe(false);
      seen.add(fingerprint);
    };
    await take();
    // Same size, mtime put back: only ctime tells.
    const before = statSync(target);
    writeFileSync(target, Buffer.from(readFileSync(target).toString().toUpperCase()));
    utimesSync(target, before.atime, before.mtime);
    await take();
    chmodSync(target, 0o755);
    await take();
    renameSync(target, `${target}.moved`);
    await take();
    writeFileSync(join(dir, 'new'), '');
    await take();
    rmSync(join(dir, 'empty'));
    await take();
    // The same bytes as a new file (another inode).
    const copy = readFileSync(join(dir, 'top.txt'));
    rmSync(join(dir, 'top.txt'));
    writeFileSync(join(dir, 'top.txt'), copy);
    await take();
  });

  it('leaves a folder with a symbolic link, or a find that fails, to the walk', async () => {
    const dir = makeFolder(10);
    symlinkSync(join(dir, 'top.txt'), join(dir, 'part 2', 'link'));
    expect(await findListing(dir)).toBeUndefined();
    expect(findListingOf(dir, listFiles(dir, dir, 't'))).toBeUndefined();
    const plain = makeFolder(10);
    expect(await findListing(plain, { command: join(plain, 'no-such-find') })).toBeUndefined();
    expect(await findListing(plain, { command: 'false' })).toBeUndefined();
    // A program that answers with something else than find's records.
    expect(await findListing(plain, { command: 'echo' })).toBeUndefined();
    expect(await findListing(join(plain, 'missing'))).toBeUndefined();
  });
});

describe('a large folder through the tree cache', () => {
  it.skipIf(!gnuFind)('is recognised by find on the next run, and any edit is still seen', async () => {
    const dir = makeFolder(FIND_MIN_FILES + 5);
    const cacheFile = join(tmp(), 'stat-cache.json');
    const trees = () => JSON.parse(readFileSync(join(cacheFile, '..', 'trees.json'), 'utf8')) as { trees: Record<string, [string, string, number, number]> };
    const cache = await openStatCache(cacheFile);
    const first = await hashArtifact(dir, dir, 't', cache);
    await cache.save();
    // Hashed by Node's walk, remembered under find's fingerprint (find saw exactly those files).
    expect(trees().trees[dir]?.[0]).toMatch(/^find:/);

    const read: number[] = [];
    const hit = await hashArtifact(dir, dir, 't', await openStatCache(cacheFile), { onBytes: (n) => read.push(n) });
    expect(hit.digest).toBe(first.digest);
    expect(read).toEqual([]);

    // An edit that keeps size and mtime: find's ctime sees it, the file is hashed again.
    const target = join(dir, 'part 3', 'ödd', 'f 3.bin');
    const before = statSync(target);
    writeFileSync(target, Buffer.from(readFileSync(target).toString().toUpperCase()));
    utimesSync(target, before.atime, before.mtime);
    const edited = await hashArtifact(dir, dir, 't', await openStatCache(cacheFile), { onBytes: (n) => read.push(n) });
    expect(edited.digest).not.toBe(first.digest);
    expect(edited.digest).toBe((await hashArtifact(dir, dir, 't', noStatCache)).digest);
    expect(read.reduce((a, b) => a + b, 0)).toBe(before.size);
  });

  it('still refuses a link out of the repository in a folder the cache knows to be large', async () => {
    const root = tmp();
    const dir = join(root, 'model');
    mkdirSync(dir);
    for (let i = 0; i < FIND_MIN_FILES; i++) writeFileSync(join(dir, `f${i}`), String(i));
    const cacheFile = join(root, 'cache', 'stat-cache.json');
    const cache = await openStatCache(cacheFile);
    await hashArtifact(dir, root, 'model', cache);
    await cache.save();
    symlinkSync('/etc/hostname', join(dir, 'escape'));
    await expect(hashArtifact(dir, root, 'model', await openStatCache(cacheFile))).rejects.toMatchObject({ code: 'E_PATH', exitCode: 2 });
  });

  it('gives the same digests with find turned off (MLSHIP_FIND=0)', async () => {
    const dir = makeFolder(FIND_MIN_FILES + 1);
    const cacheFile = join(tmp(), 'stat-cache.json');
    expect(findSetting({ MLSHIP_FIND: '0' })).toBe(false);
    expect(findSetting({ MLSHIP_FIND: 'off' })).toBe(false);
    expect(findSetting({})).toBe(true);
    const options = hashOptions({ MLSHIP_FIND: '0' });
    expect(options.find).toBe(false);
    const cache = await openStatCache(cacheFile);
    const off = await hashArtifact(dir, dir, 't', cache, options);
    await cache.save();
    const trees = JSON.parse(readFileSync(join(cacheFile, '..', 'trees.json'), 'utf8')) as { trees: Record<string, [string]> };
    expect(trees.trees[dir]?.[0]).toMatch(/^[0-9a-f]{64}$/);
    const on = await hashArtifact(dir, dir, 't', await openStatCache(cacheFile));
    expect(on.digest).toBe(off.digest);
  });
});

describe.skipIf(!gnuFind)('find started before the CLI loads (src/main.ts)', () => {
  /** A project whose tree cache knows `tree/` with FIND_MIN_FILES files. */
  async function project(): Promise<{ root: string; tree: string }> {
    const root = tmp();
    writeFileSync(join(root, 'mlship.yaml'), 'version: 1\nmodels:\n  m:\n    artifacts:\n      tree: tree\n');
    const tree = join(root, 'tree');
    mkdirSync(tree);
    for (let i = 0; i < FIND_MIN_FILES; i++) writeFileSync(join(tree, `f${i}`), String(i));
    const cache = await openStatCache(join(root, '.mlship', 'cache', 'stat-cache.json'));
    await hashArtifact(tree, root, 'tree', cache);
    await cache.save();
    return { root, tree };
  }

  it('lists the large directories of the project for a command that hashes, once', async () => {
    const { root, tree } = await project();
    const sub = join(root, 'sub');
    mkdirSync(sub);
    expect(await prefetch(['node', 'mlship', 'push', 'm'], sub, {})).toEqual([tree]);
    const taken = takePrefetched(tree);
    expect(taken).toBeDefined();
    expect((await taken)?.equals(runFind(tree) ?? Buffer.alloc(0))).toBe(true);
    expect(takePrefetched(tree)).toBeUndefined();
  });

  it('starts nothing for other commands, with -C/-c anywhere, with MLSHIP_FIND=0, or outside a project', async () => {
    const { root } = await project();
    for (const argv of [['status'], ['hash', 'tree'], ['-C', root, 'push'], ['push', '-C', root], ['push', '--cwd=x'], ['push', '-qc', 'x.yaml'], ['push', '--config', 'x'], []]) {
      expect(await prefetch(['node', 'mlship', ...argv], root, {})).toEqual([]);
    }
    expect(await prefetch(['node', 'mlship', 'push'], root, { MLSHIP_FIND: '0' })).toEqual([]);
    expect(await prefetch(['node', 'mlship', 'push'], tmp(), {})).toEqual([]);
  });

  it('end to end: the bin pushes an unchanged folder as already stored, and an edit that keeps size and mtime as new', async () => {
    const repo = tempRepo({ files: { 'mlship.yaml': 'version: 1\nmodels:\n  m:\n    artifacts:\n      tree: tree\n', '.gitignore': 'tree/\n.mlship/store/\n.mlship/cache/\n' } });
    const tree = join(repo.dir, 'tree');
    mkdirSync(tree);
    for (let i = 0; i < FIND_MIN_FILES + 2; i++) writeFileSync(join(tree, `f${i}`), `content ${i}`);
    const first = await mlship(['push', 'm', '--json'], { cwd: repo.dir });
    expect(first.code).toBe(0);
    const again = await mlship(['push', 'm', '--json'], { cwd: repo.dir });
    expect(again.code).toBe(0);
    type Pushed = { digest: string; summary: { uploaded: number } };
    expect(again.json<Pushed>().summary.uploaded).toBe(0);
    expect(again.json<Pushed>().digest).toBe(first.json<Pushed>().digest);
    const target = join(tree, 'f7');
    const before = statSync(target);
    writeFileSync(target, 'CONTENT 7');
    utimesSync(target, before.atime, before.mtime);
    const edited = await mlship(['push', 'm', '--json'], { cwd: repo.dir });
    expect(edited.code).toBe(0);
    expect(edited.json<Pushed>().summary.uploaded).toBe(2);
    expect(edited.json<Pushed>().digest).not.toBe(first.json<Pushed>().digest);
  });
});
