/** Runners by kind; the Docker runner (and dockerode) is loaded only when a config asks for it. */
import { createLocalRunner } from './local.js';
import type { EvaluationRunner } from './types.js';

export async function createRunner(kind: 'local' | 'docker'): Promise<EvaluationRunner> {
  if (kind === 'docker') {
    const { createDockerRunner } = await import('./docker.js');
    return createDockerRunner();
  }
  return createLocalRunner();
}
