/**
 * A model's declared artifacts: resolved inside the project, hashed (through the stat cache), and
 * summarised into the version digest: sha256 of the canonical JSON of `{name: digest}` sorted by name.
 */
import type { Project } from '../project.js';
import { hashArtifact, hashOptions, type HashedArtifact } from '../store/artifacts.js';
import { hashBytes } from '../store/hash.js';
import { openStatCache, statCacheFile } from '../store/stat-cache.js';
import { mapPool } from '../store/pool.js';

export interface ModelArtifact {
  name: string;
  /** As declared (project-relative). */
  path: string;
  hashed: HashedArtifact;
}

export const versionDigest = (digests: Record<string, string>): string =>
  hashBytes(JSON.stringify(Object.fromEntries(Object.keys(digests).sort().map((k) => [k, digests[k]]))));

/** Resolve every artifact path of a model (refusing escapes) without reading the files. */
export function artifactPaths(project: Project, model: string): Record<string, string> {
  const [, config] = project.model(model);
  return Object.fromEntries(Object.entries(config.artifacts).map(([name, path]) => [name, project.path(path, project.loaded.where(['models', model, 'artifacts', name]))]));
}

export async function hashModelArtifacts(project: Project, model: string): Promise<{ artifacts: ModelArtifact[]; digest: string }> {
  const [, config] = project.model(model);
  const paths = artifactPaths(project, model);
  const cache = await openStatCache(statCacheFile(project.cacheDir));
  const progress = project.ctx.progress(`hashing ${model}`);
  try {
    const artifacts = await mapPool(Object.entries(paths), 2, async ([name, full]) => ({
      name,
      path: config.artifacts[name] as string,
      hashed: await hashArtifact(full, project.root, `${project.loaded.where(['models', model, 'artifacts', name])}`, cache, hashOptions(project.ctx.env, (n) => progress.add(n))),
    }));
    await cache.save();
    return { artifacts, digest: versionDigest(Object.fromEntries(artifacts.map((a) => [a.name, a.hashed.digest]))) };
  } finally {
    progress.done();
  }
}
