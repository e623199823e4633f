/**
 * End to end: the built `bin/mlship eval` with `evaluate.runner: docker`, in a temporary git repository.
 * Needs `npm run build` first (npm test does it) and a Docker engine with the test image.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { containersLabelled, describeDocker, dockerEnv } from './helpers/docker.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'mlship');

interface Exec {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function git(cwd: string, ...args: string[]): Promise<Exec> {
  return run('git', args, cwd);
}

function run(program: string, args: string[], cwd: string, onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, env: { ...process.env, NO_COLOR: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function makeRepo(dir: string, command: string[]): Promise<void> {
  writeFileSync(join(dir, 'model.json'), '{"weights": [0.1, 0.2]}\n');
  const config = {
    version: 1,
    models: {
      churn: {
        artifacts: { model: 'model.json' },
        evaluate: { runner: 'docker', image: dockerEnv.image, pull: 'never', command, timeout: '2m' },
        gates: [{ metric: 'accuracy', min: 0.8 }],
      },
    },
  };
  writeFileSync(join(dir, 'mlship.yaml'), stringify(config));
  writeFileSync(join(dir, '.gitignore'), '.mlship/store/\n.mlship/cache/\n');
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'add', '.');
  await git(dir, 'commit', '-q', '-m', 'init');
}

describeDocker('mlship eval with the Docker runner (built CLI)', () => {
  let repo: string;
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` before these tests');
  });
  beforeEach(() => {
    repo = realpathSync(mkdtempSync(join(tmpdir(), 'mlship-docker-cli-')));
  });
  afterEach(async () => {
    expect(await containersLabelled({ mlship: '1', 'mlship.repo': repo })).toEqual([]);
    rmSync(repo, { recursive: true, force: true });
  });

  it('evaluates in a container and reports the image digest in --json', async () => {
    // ${artifacts.model} and ${outputs} become container paths; the metrics come back through /outputs.
    await makeRepo(repo, ['sh', '-c', 'test -r "$1" && echo \'{"accuracy": 0.9}\' > "$2/metrics.json"', 'sh', '${artifacts.model}', '${outputs}']);
    const result = await run(process.execPath, [bin, 'eval', '--json'], repo);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { model: string; passed: boolean; metrics: Record<string, number>; runner: Record<string, string> };
    expect(json).toMatchObject({ model: 'churn', passed: true, metrics: { accuracy: 0.9 }, runner: { kind: 'docker', image: dockerEnv.image } });
    expect(json.runner.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('leaves no container behind when interrupted with SIGINT', async () => {
    await makeRepo(repo, ['sh', '-c', 'echo evaluation-started; sleep 60']);
    let sent = false;
    let liveBeforeSignal: number | undefined;
    const result = await run(process.execPath, [bin, 'eval'], repo, (stderr, child) => {
      if (!sent && stderr.includes('evaluation-started')) {
        sent = true;
        // The container exists while the evaluation runs; then mlship gets SIGINT.
        void containersLabelled({ mlship: '1', 'mlship.repo': repo }).then((live) => {
          liveBeforeSignal = live.length;
          child.kill('SIGINT');
        });
      }
    });
    expect(sent, result.stderr).toBe(true);
    expect(liveBeforeSignal).toBe(1);
    expect(result.code, result.stderr).toBe(130);
    // afterEach: `docker ps -a --filter label=mlship --filter label=mlship.repo=<repo>` is empty
  });
});
