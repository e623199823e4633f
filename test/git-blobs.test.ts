/**
 * The git adapter's blob reader (one `git cat-file --batch` for many reads, used by `verify`):
 * against a real repository, it must answer exactly what `show` answers, in order, whatever the
 * size or bytes of the content.
 */
import { describe, expect, it } from 'vitest';
import { openGit } from '../src/git/index.js';
import { git, tempRepo } from './helpers/cli.js';

describe('reading many committed files through one git process', () => {
  it('answers as show does: old and new versions, missing files, folders, large and non-ASCII content', async () => {
    const large = 'x'.repeat(200_000) + '\n' + 'é–😀\n'.repeat(10_000);
    const repo = tempRepo({ files: { 'reg/a.jsonl': 'one\n', 'reg/b.jsonl': large } });
    repo.write('reg/a.jsonl', 'one\ntwo\n');
    repo.commitAll('second');
    const [first, second] = git(repo.dir, 'log', '--reverse', '--format=%H').trim().split('\n') as [string, string];
    const g = await openGit(repo.dir);
    const reader = g.openBlobReader();
    try {
      const asks: [string, string][] = [
        [first, 'reg/a.jsonl'],
        [second, 'reg/a.jsonl'],
        [second, 'reg/b.jsonl'],
        [first, 'reg/missing.jsonl'],
        [second, 'reg'],
        ['no-such-revision', 'reg/a.jsonl'],
        [second, 'reg/with\nnewline'],
        ['HEAD', 'reg/b.jsonl'],
      ];
      // All asked at once: the answers must still match their questions.
      const answers = await Promise.all(asks.map(([rev, path]) => reader.read(rev, path)));
      expect(answers[0]).toBe('one\n');
      expect(answers[1]).toBe('one\ntwo\n');
      expect(answers[2]).toBe(large);
      expect(answers.slice(3, 7)).toEqual([undefined, undefined, undefined, undefined]);
      expect(answers[7]).toBe(large);
      for (const [i, [rev, path]] of asks.entries()) {
        if (path !== 'reg') expect(answers[i]).toBe(await g.show(rev, path));
      }
    } finally {
      await reader.close();
    }
    await expect(reader.read('HEAD', 'reg/a.jsonl')).rejects.toBeDefined();
  });
});
