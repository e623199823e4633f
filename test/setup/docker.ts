/**
 * vitest globalSetup for the Docker tests: when an engine answers (reached like the docker CLI does,
 * through DOCKER_HOST or the current context), import the test image `mlship-test/busybox:1` from the
 * host's static busybox, and `provide` what the tests need to know. No registry is reachable on the
 * test machines, so the image is built from a root filesystem (`docker import`), never pulled.
 *
 * With CI set and no engine, the Docker tests fail (see test/helpers/docker.ts); without CI they are
 * skipped, and this prints one line saying why.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync, copyFileSync, symlinkSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { resolveEngineEndpoint } from '../../src/runners/docker-engine.js';

export const TEST_IMAGE = 'mlship-test/busybox:1';
const BUSYBOX = '/bin/busybox';
const APPLETS = [
  'sh', 'cat', 'echo', 'ls', 'ip', 'id', 'wc', 'sleep', 'touch', 'head', 'tail', 'tr', 'mkdir', 'rm',
  'grep', 'env', 'pwd', 'true', 'false', 'seq', 'printf', 'test', 'stat', 'cut', 'sed', 'kill', 'ps', 'dd',
];
const FINGERPRINT_LABEL = 'mlship.test.fingerprint';

export interface DockerTestEnv {
  /** An engine answered and the test image is there. */
  available: boolean;
  /** Why not, when not available. */
  reason: string;
  /** CI is set: a missing engine is a failure, not a skip. */
  required: boolean;
  image: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    docker: DockerTestEnv;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const required = Boolean(process.env.CI);
  const provide = (available: boolean, reason: string) => {
    project.provide('docker', { available, reason, required, image: TEST_IMAGE });
    if (!available) {
      // The one visible line of a skipped (or, with CI, failing) Docker suite.
      console.warn(`[docker] ${required ? 'CI is set and ' : ''}Docker tests ${required ? 'will FAIL' : 'skipped'}: ${reason}`);
    }
  };
  try {
    const { default: Docker } = await import('dockerode');
    const endpoint = resolveEngineEndpoint(process.env);
    const engine = new Docker({ ...endpoint.connection } as import('dockerode').DockerOptions);
    try {
      await (engine.ping as unknown as (options: { abortSignal: AbortSignal }) => Promise<unknown>).call(engine, { abortSignal: AbortSignal.timeout(5_000) });
    } catch (error) {
      provide(false, `no Docker engine answers at ${endpoint.address} (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    if (!existsSync(BUSYBOX)) {
      provide(false, `${BUSYBOX} is missing (install busybox-static) to build ${TEST_IMAGE}`);
      return;
    }
    const fingerprint = createHash('sha256').update(readFileSync(BUSYBOX)).update(APPLETS.join(',')).update('layout 2').digest('hex').slice(0, 16);
    const present = await engine
      .getImage(TEST_IMAGE)
      .inspect()
      .then((image) => image.Config.Labels?.[FINGERPRINT_LABEL], () => undefined);
    if (present !== fingerprint) await importBusyboxImage(engine, fingerprint);
    provide(true, '');
  } catch (error) {
    provide(false, `cannot prepare ${TEST_IMAGE}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A root filesystem of one static busybox plus its applet links, piped as a tar into `docker import`. */
async function importBusyboxImage(engine: import('dockerode'), fingerprint: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'mlship-busybox-'));
  try {
    // mkdtemp makes a 0700 folder: the image's / must be traversable by the non-root users tests run as.
    chmodSync(root, 0o755);
    for (const dir of ['bin', 'etc', 'repo', 'outputs', 'proc', 'sys', 'dev']) mkdirSync(join(root, dir), { mode: 0o755 });
    mkdirSync(join(root, 'tmp'));
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
    const tar = spawn('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const tarDone = new Promise<void>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}: ${stderr}`))));
    });
    const [repo, tag] = TEST_IMAGE.split(':') as [string, string];
    const progress = await engine.importImage(tar.stdout, { repo, tag, changes: [`LABEL ${FINGERPRINT_LABEL}=${fingerprint}`, 'ENV PATH=/bin'] });
    const output = await new Promise<string>((resolve, reject) => {
      let text = '';
      progress.on('data', (chunk: Buffer) => (text += chunk.toString()));
      progress.on('end', () => resolve(text));
      progress.on('error', reject);
    });
    await tarDone;
    if (output.includes('"error"')) throw new Error(`docker import failed: ${output.trim()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
