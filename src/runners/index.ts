/** Runners by kind, each loaded only when a config asks for it (execa for local, dockerode for Docker). */
import type { EvaluationRunner } from './types.js';

export async function createRunner(kind: 'local' | 'docker'): Promise<EvaluationRunner> {
  if (kind === 'docker') {
    const { createDockerRunner } = await import('./docker.js');
    return createDockerRunner();
  }
  const { createLocalRunner } = await import('./local.js');
  return createLocalRunner();
}
