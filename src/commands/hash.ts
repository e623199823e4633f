/** `mlship hash PATH...`: "sha256:<hex>  PATH", like sha256sum; a directory prints its tree digest. */
import { join, resolve } from 'node:path';
import { usageError } from '../errors.js';
import { hashArtifact } from '../store/artifacts.js';
import { noStatCache, openStatCache } from '../store/stat-cache.js';
import type { Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { ctx }) => {
  const paths = (args[0] as string[] | undefined) ?? [];
  if (paths.length === 0) throw usageError('E_USAGE', 'hash needs at least one path');
  // The stat cache lives in the project's .mlship/cache when there is one here; otherwise none.
  const cache = options['cache'] === false ? noStatCache : await openStatCache(join(ctx.cwd, '.mlship', 'cache', 'stat-cache.json'));
  const results: { path: string; digest: string; size: number; kind: 'file' | 'tree' }[] = [];
  for (const path of paths) {
    const full = resolve(ctx.cwd, path);
    // `hash` reads what the user names (like sha256sum); only symlinks inside directories are checked.
    const hashed = await hashArtifact(full, full, path, cache);
    results.push({ path, digest: hashed.digest, size: hashed.size, kind: hashed.kind });
  }
  await cache.save();
  return { json: { files: results }, human: results.map((r) => `${r.digest}  ${r.path}`).join('\n'), exitCode: 0 };
};
