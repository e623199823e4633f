/**
 * End-to-end helpers: temporary git repositories (with a bare remote when asked) and a runner for
 * the built `bin/mlship`, with NO_COLOR and a clean environment.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'mlship');
export const EXAMPLE = join(ROOT, 'examples', 'churn');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws when it is not exactly one document). */
  json<T = Record<string, unknown>>(): T;
}

/** A clean environment: no CI identity, no colour, git identity set. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT']) if (process.env[key] !== undefined) env[key] = process.env[key] as string;
  Object.assign(env, { NO_COLOR: '1', GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com' });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function mlship(args: string[], options: { cwd: string; env?: Record<string, string | undefined>; input?: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: baseEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.stdin.end(options.input ?? '');
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json<T>() {
          return JSON.parse(stdout) as T;
        },
      }),
    );
  });
}

export function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd, env: baseEnv(), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export interface TempRepo {
  dir: string;
  write(path: string, content: string | Uint8Array): void;
  read(path: string): string;
  commitAll(message?: string): void;
  run(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>;
}

/** The TempRepo handle of an existing repository folder. */
export function repoAt(dir: string): TempRepo {
  return {
    dir,
    write(path, content) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    },
    read: (path) => readFileSync(join(dir, path), 'utf8'),
    commitAll(message = 'update') {
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '--allow-empty', '-m', message);
    },
    run: (args, env) => mlship(args, { cwd: dir, env }),
  };
}

/** A fresh git repository; `from` copies a folder into it first (the example by default: none). */
export function tempRepo(options: { from?: string; files?: Record<string, string>; commit?: boolean } = {}): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), 'mlship-e2e-'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'commit.gpgsign', 'false');
  if (options.from !== undefined) cpSync(options.from, dir, { recursive: true, filter: (src) => !src.includes('__pycache__') && !src.includes(`${join('.mlship', 'store')}`) && !src.includes(`${join('.mlship', 'cache')}`) });
  const repo = repoAt(dir);
  for (const [path, content] of Object.entries(options.files ?? {})) repo.write(path, content);
  if (options.commit !== false) repo.commitAll('initial');
  return repo;
}

/** A bare repository as the remote `origin` of `repo`, with main pushed. */
export function addBareRemote(repo: TempRepo): string {
  const bare = mkdtempSync(join(tmpdir(), 'mlship-remote-'));
  git(bare, 'init', '-q', '--bare', '-b', 'main');
  git(repo.dir, 'remote', 'add', 'origin', bare);
  git(repo.dir, 'push', '-q', '-u', 'origin', 'main');
  return bare;
}

/** The model of `nodeProject`: model.bin, evaluated by `node eval.mjs`, one gate, two environments. */
export const NODE_MODEL_YAML = `models:
  m:
    artifacts: { model: model.bin }
    evaluate:
      command: [node, eval.mjs, '\${outputs}']
    gates:
      - { metric: accuracy, min: 0.5 }
    environments: [staging, production]
`;

/** A minimal project whose evaluation is a Node one-liner writing the given metrics. */
export function nodeProject(metrics: Record<string, unknown> | string, extraYaml = ''): Record<string, string> {
  const body = typeof metrics === 'string' ? metrics : JSON.stringify(metrics);
  return {
    '.gitignore': '.mlship/store/\n.mlship/cache/\n',
    'model.bin': 'weights v1\n',
    'eval.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2] + '/metrics.json', ${JSON.stringify(body)});\n`,
    'mlship.yaml': `version: 1\n${NODE_MODEL_YAML}${extraYaml}`,
  };
}
