/** `mlship push`: hash a model's artifacts and store every object that is not there yet. */
import type { Project } from '../project.js';
import { pushArtifact } from '../store/artifacts.js';
import type { ArtifactRecord } from '../registry/events.js';
import { hashModelArtifacts } from './artifacts.js';

export interface PushedArtifact extends ArtifactRecord {
  /** True when at least one object was written. */
  uploaded: boolean;
}

export interface PushResult {
  model: string;
  digest: string;
  artifacts: Record<string, PushedArtifact>;
  summary: { uploaded: number; skipped: number; bytes: number };
}

export async function pushModel(project: Project, model: string): Promise<PushResult> {
  const { artifacts, digest } = await hashModelArtifacts(project, model);
  const store = await project.store();
  const total = artifacts.reduce((n, a) => n + a.hashed.size, 0);
  const progress = project.ctx.progress(`pushing ${model} to ${store.url}`);
  progress.setTotal(total);
  const summary = { uploaded: 0, skipped: 0, bytes: 0 };
  const out: Record<string, PushedArtifact> = {};
  try {
    for (const artifact of artifacts) {
      const stats = await pushArtifact(store, artifact.hashed, (n) => progress.add(n));
      summary.uploaded += stats.uploaded;
      summary.skipped += stats.skipped;
      summary.bytes += stats.bytes;
      out[artifact.name] = {
        path: artifact.path,
        kind: artifact.hashed.kind,
        digest: artifact.hashed.digest,
        size: artifact.hashed.size,
        uri: store.uriOf(artifact.hashed.digest),
        uploaded: stats.uploaded > 0,
      };
    }
  } finally {
    progress.done();
  }
  return { model, digest, artifacts: out, summary };
}
