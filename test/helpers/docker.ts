/**
 * Helpers for tests that run real containers: the suite gate (run, skip, or fail under CI), plans
 * built directly (independent of the config-to-plan builder), and a look at what the engine holds.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { describe, inject, it } from 'vitest';
import { resolveEngineEndpoint } from '../../src/runners/docker-engine.js';
import type { DockerPlan, EvaluationPlan } from '../../src/runners/types.js';
import type {} from '../setup/docker.js'; // ProvidedContext['docker']

export const dockerEnv = inject('docker');

/** describe() when an engine answers; a failing test under CI without one; a skip otherwise. */
export function describeDocker(name: string, body: () => void): void {
  if (dockerEnv.available) {
    describe(name, body);
  } else if (dockerEnv.required) {
    describe(name, () => {
      it('needs a Docker engine because CI is set', () => {
        throw new Error(`Docker tests cannot run: ${dockerEnv.reason}`);
      });
    });
  } else {
    describe.skip(name, body);
  }
}

export function engine(): Docker {
  return new Docker({ ...resolveEngineEndpoint(process.env).connection } as Docker.DockerOptions);
}

/** Containers carrying every given label (`docker ps -a --filter label=…`). */
export async function containersLabelled(labels: Record<string, string>): Promise<Docker.ContainerInfo[]> {
  const filters = { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
  return engine().listContainers({ all: true, filters });
}

export interface Workspace {
  repoRoot: string;
  outputsDir: string;
  /** A label unique to this workspace, put on its containers so concurrent tests do not see each other's. */
  label: Record<string, string>;
  cleanup(): void;
}

export function makeWorkspace(): Workspace {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'mlship-docker-')));
  const repoRoot = join(base, 'repo');
  const outputsDir = join(base, 'outputs');
  mkdirSync(repoRoot);
  mkdirSync(outputsDir);
  return { repoRoot, outputsDir, label: { 'mlship.test': randomUUID() }, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export function makePlan(ws: Workspace, argv: string[], overrides: { docker?: Partial<DockerPlan>; env?: Record<string, string>; timeoutMs?: number; artifacts?: Record<string, string> } = {}): EvaluationPlan {
  return {
    runner: 'docker',
    argv,
    repoRoot: ws.repoRoot,
    outputsDir: ws.outputsDir,
    artifacts: overrides.artifacts ?? {},
    env: overrides.env ?? {},
    timeoutMs: overrides.timeoutMs,
    docker: {
      image: dockerEnv.image,
      pull: 'never',
      network: 'none',
      memoryBytes: undefined,
      nanoCpus: undefined,
      pidsLimit: undefined,
      user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      containerOutputs: '/outputs',
      containerRepo: '/repo',
      labels: ws.label,
      ...overrides.docker,
    },
  };
}

/** A writable that keeps what it receives and can call back when a text appears. */
export class LogCapture {
  text = '';
  private waiters: Array<{ needle: string; resolve: () => void }> = [];
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _encoding, callback) => {
      this.text += chunk.toString();
      this.waiters = this.waiters.filter((waiter) => {
        if (!this.text.includes(waiter.needle)) return true;
        waiter.resolve();
        return false;
      });
      callback();
    },
  });

  /** Resolves once `needle` has been written. */
  waitFor(needle: string): Promise<void> {
    if (this.text.includes(needle)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ needle, resolve }));
  }
}
