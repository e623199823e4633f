/**
 * The Docker runner against a real engine and real containers (test image: busybox imported by
 * test/setup/docker.ts). Each test uses its own workspace and container label, so files run in parallel.
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MlshipError } from '../src/errors.js';
import { createDockerRunner } from '../src/runners/docker.js';
import type { RunIO } from '../src/runners/types.js';
import { containersLabelled, describeDocker, dockerEnv, engine, LogCapture, makePlan, makeWorkspace, type Workspace } from './helpers/docker.js';

const runner = createDockerRunner();

const io = (log = new LogCapture(), signal?: AbortSignal): RunIO => ({ log: log.stream, signal, processEnv: { ...process.env, MLSHIP_TEST_SECRET: 'must-not-leak' } });

async function runError(promise: Promise<unknown>): Promise<MlshipError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MlshipError);
  return error as MlshipError;
}

describeDocker('docker runner (real engine)', () => {
  let ws: Workspace;
  beforeEach(() => {
    ws = makeWorkspace();
  });
  afterEach(async () => {
    // Whatever happened, no container of this test may be left on the engine.
    expect(await containersLabelled(ws.label)).toEqual([]);
    ws.cleanup();
  });

  it('runs the command, and the metrics it writes to ${outputs} are read back on the host', async () => {
    const plan = makePlan(ws, ['sh', '-c', 'echo \'{"accuracy": 0.9, "nested": {"auc": 0.8}}\' > /outputs/metrics.json']);
    const info = await runner.run(plan, io());

    const metrics: unknown = JSON.parse(readFileSync(join(ws.outputsDir, 'metrics.json'), 'utf8'));
    expect(metrics).toEqual({ accuracy: 0.9, nested: { auc: 0.8 } });
    // The outputs belong to the invoking user (the container runs as uid:gid).
    expect(statSync(join(ws.outputsDir, 'metrics.json')).uid).toBe(process.getuid?.());

    const image = await engine().getImage(dockerEnv.image).inspect();
    expect(info).toEqual({ kind: 'docker', image: dockerEnv.image, imageDigest: image.Id });
    expect(info.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('streams stdout and stderr, demultiplexed, to io.log', async () => {
    const log = new LogCapture();
    await runner.run(makePlan(ws, ['sh', '-c', 'echo to-stdout; echo to-stderr >&2']), io(log));
    expect(log.text).toContain('to-stdout\n');
    expect(log.text).toContain('to-stderr\n');
    expect(log.text).not.toMatch(/[\x00-\x02]\x00\x00\x00/); // no multiplexing headers leak through
  });

  it('sees no network interface but loopback', async () => {
    await runner.run(makePlan(ws, ['sh', '-c', 'ls /sys/class/net > /outputs/ifaces; ip -o link > /outputs/links']), io());
    expect(readFileSync(join(ws.outputsDir, 'ifaces'), 'utf8').trim().split(/\s+/)).toEqual(['lo']);
    expect(readFileSync(join(ws.outputsDir, 'links'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('cannot write to the root filesystem', async () => {
    const error = await runError(runner.run(makePlan(ws, ['touch', '/written-by-eval']), io()));
    expect(error.code).toBe('E_EVAL_FAILED');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/Read-only file system/);
  });

  it('mounts the repository read-only as the working directory', async () => {
    writeFileSync(join(ws.repoRoot, 'model.txt'), 'weights\n');
    await runner.run(makePlan(ws, ['sh', '-c', 'pwd > /outputs/pwd; cat model.txt > /outputs/model']), io());
    expect(readFileSync(join(ws.outputsDir, 'pwd'), 'utf8')).toBe('/repo\n');
    expect(readFileSync(join(ws.outputsDir, 'model'), 'utf8')).toBe('weights\n');

    const error = await runError(runner.run(makePlan(ws, ['sh', '-c', 'echo tampered > /repo/model.txt']), io()));
    expect(error.message).toMatch(/Read-only file system/);
    expect(readFileSync(join(ws.repoRoot, 'model.txt'), 'utf8')).toBe('weights\n');
  });

  it('gives a writable tmpfs /tmp, HOME=/tmp, and only the configured environment', async () => {
    const plan = makePlan(ws, ['sh', '-c', 'echo ok > /tmp/scratch && cat /tmp/scratch > /outputs/tmp; env > /outputs/env'], { env: { SEED: '42' } });
    await runner.run(plan, io());
    expect(readFileSync(join(ws.outputsDir, 'tmp'), 'utf8')).toBe('ok\n');
    const env = readFileSync(join(ws.outputsDir, 'env'), 'utf8');
    expect(env).toContain('SEED=42');
    expect(env).toContain('HOME=/tmp');
    expect(env).not.toContain('MLSHIP_TEST_SECRET');
  });

  it('runs with no capabilities and no new privileges', async () => {
    await runner.run(makePlan(ws, ['sh', '-c', 'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status > /outputs/status']), io());
    const status = readFileSync(join(ws.outputsDir, 'status'), 'utf8');
    expect(status).toMatch(/CapEff:\s+0000000000000000/);
    expect(status).toMatch(/CapBnd:\s+0000000000000000/);
    expect(status).toMatch(/NoNewPrivs:\s+1/);
  });

  it('runs as the configured user, so outputs belong to it', async () => {
    chmodSync(ws.outputsDir, 0o777);
    await runner.run(makePlan(ws, ['sh', '-c', 'id -u > /outputs/uid'], { docker: { user: '4321:4321' } }), io());
    expect(readFileSync(join(ws.outputsDir, 'uid'), 'utf8')).toBe('4321\n');
    expect(statSync(join(ws.outputsDir, 'uid')).uid).toBe(4321);
  });

  it('fails a non-zero exit with the last 20 lines of output', async () => {
    // Everything on stdout: Docker keeps stdout and stderr in separate pipes, so their interleaving is
    // not guaranteed, and the test would otherwise depend on scheduling.
    const script = 'i=1; while [ $i -le 30 ]; do echo "line $i"; i=$((i+1)); done; echo boom; exit 3';
    const error = await runError(runner.run(makePlan(ws, ['sh', '-c', script]), io()));
    expect(error.code).toBe('E_EVAL_FAILED');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('exited with code 3');
    expect(error.message).toContain('--- last 20 lines of output ---');
    expect(error.message).toContain('--- last 20 lines of output ---\nline 12\n');
    expect(error.message).toMatch(/line 30\nboom$/);
    expect(error.message).not.toContain('line 11\n');
    expect(error.details).toMatchObject({ exitCode: 3 });
  });

  it('kills the container at the timeout and reports it', async () => {
    const error = await runError(runner.run(makePlan(ws, ['sh', '-c', 'echo waiting; sleep 60'], { timeoutMs: 300 }), io()));
    expect(error.code).toBe('E_EVAL_TIMEOUT');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('timed out after 300ms');
    // afterEach checks the container is gone
  });

  it('reports an out-of-memory kill as such', async () => {
    // The shell grows one variable to 64 MiB inside a 16 MiB container.
    const plan = makePlan(ws, ['sh', '-c', 'x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo ${#x}'], { docker: { memoryBytes: 16 * 1024 * 1024 } });
    const error = await runError(runner.run(plan, io()));
    expect(error.code).toBe('E_EVAL_OOM');
    expect(error.message).toContain('out of memory');
    expect(error.message).toContain('16 MiB');
    expect(error.hint).toContain('resources.memory');
  });

  it('stops and removes the container when the signal aborts mid-run', async () => {
    const log = new LogCapture();
    const controller = new AbortController();
    const running = runner.run(makePlan(ws, ['sh', '-c', 'echo started; sleep 60']), io(log, controller.signal));
    await log.waitFor('started');
    // While it runs, the container is labelled as mlship's, with the repository it evaluates.
    const live = await containersLabelled({ ...ws.label, mlship: '1' });
    expect(live).toHaveLength(1);
    expect(live[0]?.Labels['mlship.repo']).toBe(ws.repoRoot);
    controller.abort();
    const error = await runError(running);
    expect(error.code).toBe('E_INTERRUPTED');
    expect(error.exitCode).toBe(130);
    expect(await containersLabelled({ ...ws.label, mlship: '1' })).toEqual([]);
  });

  it('creates nothing when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await runError(runner.run(makePlan(ws, ['true']), io(undefined, controller.signal)));
    expect(error.exitCode).toBe(130);
  });

  it('refuses a missing image with pull: never (exit 3)', async () => {
    const plan = makePlan(ws, ['true'], { docker: { image: 'mlship-test/absent:1', pull: 'never' } });
    const error = await runError(runner.run(plan, io()));
    expect(error.code).toBe('E_DOCKER_IMAGE_MISSING');
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('mlship-test/absent:1');
    expect(error.hint).toContain('pull');
  });

  it('fails clearly, exit 3, when a missing image cannot be pulled', async () => {
    const log = new LogCapture();
    const plan = makePlan(ws, ['true'], { docker: { image: 'mlship-test/absent:1', pull: 'missing' } });
    const error = await runError(runner.run(plan, io(log)));
    expect(error.code).toBe('E_DOCKER_PULL');
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('cannot pull image mlship-test/absent:1');
    expect(error.message).not.toContain('HTTP code');
    expect(log.text).toContain('pulling mlship-test/absent:1');
  });

  it('reports a program missing from the image as a command error (exit 2)', async () => {
    const error = await runError(runner.run(makePlan(ws, ['python3', 'eval.py']), io()));
    expect(error.code).toBe('E_EVAL_COMMAND');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('python3');
  });
});

describe('docker runner without an engine', () => {
  const ws = makeWorkspace();
  const plan = makePlan(ws, ['true']);
  afterAll(() => ws.cleanup());

  it.each([
    ['a unix socket that does not exist', 'unix:///nonexistent/mlship/docker.sock'],
    ['a tcp port nobody listens on', 'tcp://127.0.0.1:1'],
  ])('fails with exit 3 and a DOCKER_HOST hint for %s', async (_what, host) => {
    const error = await runError(runner.run(plan, { log: undefined, signal: undefined, processEnv: { DOCKER_HOST: host, HOME: '/nonexistent' } }));
    expect(error.code).toBe('E_DOCKER_UNREACHABLE');
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain(host);
    expect(error.hint).toContain('DOCKER_HOST');
    expect(error.hint).toMatch(/Start an engine/);
  });

  it('rejects a malformed DOCKER_HOST with exit 3', async () => {
    const error = await runError(runner.run(plan, { log: undefined, signal: undefined, processEnv: { DOCKER_HOST: 'ftp://engine.example' } }));
    expect(error.code).toBe('E_DOCKER_HOST');
    expect(error.exitCode).toBe(3);
  });
});
