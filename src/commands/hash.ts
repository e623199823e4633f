/** `mlship hash PATH...`: "sha256:<hex>  PATH", like sha256sum; a directory prints its tree digest. */
import { resolve } from 'node:path';
import { usageError } from '../errors.js';
import { cacheDirOf, findConfig } from '../config/file.js';
import { hashArtifact, hashOptions } from '../store/artifacts.js';
import { noStatCache, openStatCache, statCacheFile, type StatCache } from '../store/stat-cache.js';
import type { Context } from '../project.js';
import type { Handler } from './types.js';

/** Inside a project, its stat cache; elsewhere none (hashing a file must not leave folders behind). */
async function statCacheFor(ctx: Context, enabled: boolean): Promise<StatCache> {
  if (!enabled) return noStatCache;
  try {
    return await openStatCache(statCacheFile(cacheDirOf(findConfig(ctx.cwd, ctx.configFile))));
  } catch {
    return noStatCache;
  }
}

export const handle: Handler = async ({ args, options }, { ctx }) => {
  const paths = (args[0] as string[] | undefined) ?? [];
  if (paths.length === 0) throw usageError('E_USAGE', 'hash needs at least one path');
  const cache = await statCacheFor(ctx, options['cache'] !== false);
  const results: { path: string; digest: string; size: number; kind: 'file' | 'tree' }[] = [];
  for (const path of paths) {
    const full = resolve(ctx.cwd, path);
    // `hash` reads what the user names (like sha256sum); only symlinks inside directories are checked.
    const hashed = await hashArtifact(full, full, path, cache, hashOptions(ctx.env));
    results.push({ path, digest: hashed.digest, size: hashed.size, kind: hashed.kind });
  }
  await cache.save();
  return { json: { files: results }, human: results.map((r) => `${r.digest}  ${r.path}`).join('\n'), exitCode: 0 };
};
