/**
 * Every path a user gives (artifacts, datasets, outputs, -o targets, tree entries) is resolved
 * inside a root folder: `..`, absolute paths and symlinks that lead out of it are refused.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { usageError } from './errors.js';

/** True when `child` is `root` or below it (both absolute, normalised). */
export const isInside = (root: string, child: string): boolean => {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
};

/**
 * Resolve a repository-relative path and refuse anything that escapes `root`, lexically or through
 * a symlink. A path that does not exist yet is checked lexically plus through its nearest existing parent.
 * @param what names the path in the error ("artifact 'model'", "dataset of check 'train'").
 */
export function resolveInside(root: string, path: string, what: string): string {
  if (path.includes('\0')) throw usageError('E_PATH', `${what}: path contains a NUL byte`);
  if (isAbsolute(path)) {
    throw usageError('E_PATH', `${what}: '${path}' is an absolute path`, { hint: 'use a path relative to the repository root' });
  }
  const full = resolve(root, path);
  if (!isInside(root, full)) {
    throw usageError('E_PATH', `${what}: '${path}' is outside the repository`, { hint: 'keep artifacts and datasets inside the repository' });
  }
  const realRoot = realpathSync(root);
  let probe = full;
  for (;;) {
    let real: string | undefined;
    try {
      real = realpathSync(probe);
    } catch {
      real = undefined;
    }
    if (real !== undefined) {
      if (!isInside(realRoot, real)) {
        throw usageError('E_PATH', `${what}: '${path}' leads outside the repository through a symbolic link (to ${real})`, {
          hint: 'copy the file into the repository instead of linking to it',
        });
      }
      return full;
    }
    const parent = resolve(probe, '..');
    if (parent === probe) return full;
    probe = parent;
  }
}

/** Repository-relative, `/`-separated form of an absolute path (for messages and records). */
export const toRepoPath = (root: string, full: string): string => relative(root, full).split(sep).join('/');
