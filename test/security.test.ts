/**
 * Security (issue 9), end to end with the built CLI in real temporary git repositories:
 * (a) shell injection: hostile config values and argv are passed literally, never through a shell;
 * (b) path traversal and symlinks: refused for artifacts, datasets, the metrics file, and `pull`
 *     targets — a hostile tree object or register event in the store/registry cannot write outside;
 * (c) secrets: AWS keys, session tokens and DOCKER_HOST credentials never reach stdout, stderr,
 *     --json documents, registry files or git history, also when commands fail and with --verbose.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it, type ExpectStatic } from 'vitest';
import { lineDigest } from '../src/registry/chain.js';
import { serializeEvent, type RegisterEvent } from '../src/registry/events.js';
import { git, tempRepo, type CliResult, type TempRepo } from './helpers/cli.js';

const tag = randomBytes(6).toString('hex');
/** Marker files a successful injection would create. */
const MARK = join(tmpdir(), `mlship-pwned-${tag}`);
const marks = () => [MARK, `${MARK}-b`, `${MARK}-c`, `${MARK}-d`, `${MARK}-e`, `${MARK}-f`];

const outside = mkdtempSync(join(tmpdir(), 'mlship-sec-outside-'));
const cleanup: string[] = [outside];
afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
  for (const m of marks()) rmSync(m, { force: true });
});

const repoOf = (files: Record<string, string>, commit = true): TempRepo => {
  const repo = tempRepo({ files: { '.gitignore': '.mlship/store/\n.mlship/cache/\n', 'model.bin': 'weights v1\n', ...files }, commit });
  cleanup.push(repo.dir);
  return repo;
};

const output = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 4000)}\n--- stderr\n${r.stderr.slice(0, 4000)}`;

/** Never 70, no internal error, and no stack trace unless asked for with --verbose (DESIGN.md "Output"). */
function expectClean(expect: ExpectStatic, r: CliResult, args: string[] = []): void {
  expect(r.code, output(r)).not.toBe(70);
  expect(`${r.stdout}${r.stderr}`, output(r)).not.toMatch(/internal error|E_INTERNAL/);
  if (!args.includes('--verbose') && !args.includes('-v')) expect(`${r.stdout}${r.stderr}`, output(r)).not.toMatch(/^ {4}at /m);
}

/** Map with at most `limit` promises at once (each item here is a CLI process). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
    }),
  );
  return out;
}

/** These tests spawn many CLI processes; the suite's 60 s default is too short on a loaded machine. */
const SLOW = 300_000;

const ECHO_EVAL = `import { writeFileSync } from 'node:fs';
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('INJ_')));
writeFileSync('echo.json', JSON.stringify({ argv: process.argv.slice(3), env }));
writeFileSync(process.argv[2] + '/metrics.json', JSON.stringify({ accuracy: 0.9 }));
`;

/** Values that would do something if any shell ever saw them. */
const PAYLOADS = [
  `$(touch ${MARK})`,
  `; touch ${MARK}-b`,
  `\`touch ${MARK}-c\``,
  `| touch ${MARK}-d`,
  `&& touch ${MARK}-e #`,
  `'; touch ${MARK}-f; echo '`,
  `"$(touch ${MARK})"`,
  `x\ntouch ${MARK}-b`,
  '$HOME',
  '*',
  'a  b\tc',
  '%s%n%x',
  '$((1+1))',
];

describe.concurrent('(a) shell injection: values are passed literally', () => {
  it('evaluate.command elements and evaluate.env values reach the program byte for byte, and nothing runs', async ({ expect }) => {
    const env = Object.fromEntries(PAYLOADS.map((p, i) => [`INJ_${i}`, p]));
    const repo = repoOf({
      'eval.mjs': ECHO_EVAL,
      'mlship.yaml': `version: 1
models:
  m:
    artifacts: { model: model.bin }
    evaluate:
      command: ${JSON.stringify(['node', 'eval.mjs', '${outputs}', ...PAYLOADS])}
      env: ${JSON.stringify(env)}
    gates:
      - { metric: accuracy, min: 0.5 }
`,
    });
    const r = await repo.run(['run', '--verbose']);
    expectClean(expect, r, ['--verbose']);
    expect(r.code, output(r)).toBe(0);
    const echo = JSON.parse(repo.read('echo.json')) as { argv: string[]; env: Record<string, string> };
    expect(echo.argv).toEqual(PAYLOADS);
    expect(echo.env).toEqual(env);
    for (const m of marks()) expect(existsSync(m), m).toBe(false);
  }, SLOW);

  it('model names, refs, environments and reasons in argv are data, never commands', async ({ expect }) => {
    const repo = repoOf({ 'eval.mjs': ECHO_EVAL, 'mlship.yaml': `version: 1\nmodels:\n  m:\n    artifacts: { model: model.bin }\n    evaluate:\n      command: [node, eval.mjs, '\${outputs}']\n` });
    expect((await repo.run(['run'])).code).toBe(0);
    const refused: string[][] = [];
    for (const p of PAYLOADS.slice(0, 7)) {
      refused.push(['pull', `${p}@1`], ['pull', `m@${p}`], ['history', p], ['promote', 'm@1', '--to', p], ['diff', `m@1`, `${p}@1`], ['status', p], ['hash', p], ['-C', p, 'status']);
    }
    const results = await mapLimit(refused, 6, (args) => repo.run(args));
    results.forEach((r, i) => {
      expectClean(expect, r);
      expect([2, 3], `${JSON.stringify(refused[i])}\n${output(r)}`).toContain(r.code);
    });
    // A reason is recorded literally in the event (and the commit), never evaluated.
    const reason = `$(touch ${MARK}) \`touch ${MARK}-c\`; touch ${MARK}-b`;
    const promoted = await repo.run(['--json', 'promote', 'm@1', '--to', 'staging', '--reason', reason]);
    expectClean(expect, promoted);
    expect(promoted.code, output(promoted)).toBe(0);
    const event = (promoted.json() as { event: { reason?: string } }).event;
    expect(event.reason).toBe(reason);
    const lines = repo.read('.mlship/registry/m.jsonl').trim().split('\n');
    expect((JSON.parse(lines[lines.length - 1] as string) as { reason: string }).reason).toBe(reason);
    for (const m of marks()) expect(existsSync(m), m).toBe(false);
  }, SLOW);

  it('a Docker image name with shell syntax is a name, not a command', async ({ expect }) => {
    const images = [`$(touch ${MARK})`, `busybox;touch ${MARK}-b`, `\`touch ${MARK}-c\``, `busybox | touch ${MARK}-d`];
    const results = await Promise.all(
      images.map((image) => {
        const repo = repoOf({
          'mlship.yaml': `version: 1\nmodels:\n  m:\n    artifacts: { model: model.bin }\n    evaluate:\n      runner: docker\n      image: ${JSON.stringify(image)}\n      pull: never\n      command: [sh, -c, 'echo {} > /outputs/metrics.json']\n`,
        });
        return repo.run(['eval', '--verbose']);
      }),
    );
    results.forEach((r) => {
      expectClean(expect, r, ['--verbose']);
      // Refused as a bad reference (2) or not found / no engine (3); never run.
      expect([2, 3], output(r)).toContain(r.code);
    });
    for (const m of marks()) expect(existsSync(m), m).toBe(false);
  }, SLOW);
});

// ---------------------------------------------------------------------------------------------

const sha = (bytes: string | Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Put bytes into the local store under their (correct) key, as a hostile writer with store access would. */
function plantObject(repo: TempRepo, bytes: string | Buffer): string {
  const digest = sha(bytes);
  const hex = digest.slice('sha256:'.length);
  const dir = join(repo.dir, '.mlship', 'store', 'objects', 'sha256', hex.slice(0, 2));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, hex.slice(2)), bytes);
  return digest;
}

/** Append a register event for v(N+1) with the given artifacts, chained correctly, and commit it. */
function appendRegister(repo: TempRepo, artifacts: RegisterEvent['artifacts']): void {
  const file = '.mlship/registry/m.jsonl';
  const text = repo.read(file);
  const lines = text.trim().split('\n');
  const last = JSON.parse(lines[lines.length - 1] as string) as RegisterEvent;
  const versions = lines.map((l) => JSON.parse(l) as { type: string }).filter((e) => e.type === 'register').length;
  const event: RegisterEvent = {
    ...last,
    seq: lines.length + 1,
    version: versions + 1,
    prev: lineDigest(lines[lines.length - 1] as string),
    digest: sha(JSON.stringify(artifacts)),
    artifacts,
  };
  writeFileSync(join(repo.dir, file), `${text}${serializeEvent(event)}\n`);
  git(repo.dir, 'add', file);
  git(repo.dir, 'commit', '-q', '-m', `mlship: register m v${versions + 1}`);
}

/** Every file below `dir` (relative paths), following nothing. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

const DIR_PROJECT = `version: 1
models:
  m:
    artifacts: { model: weights }
    evaluate:
      command: [node, eval.mjs, '\${outputs}']
`;
const METRICS_EVAL = "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2] + '/metrics.json', JSON.stringify({ accuracy: 0.9 }));\n";

describe.concurrent('(b) path traversal and symbolic links', () => {
  it('artifact, dataset and metrics paths that leave the repository are refused before anything is read', async ({ expect }) => {
    writeFileSync(join(outside, 'secret.csv'), 'id\n1\n');
    const cases: { files: Record<string, string>; link?: [string, string]; args: string[] }[] = [
      { files: { 'mlship.yaml': DIR_PROJECT.replace('weights', '../../etc') }, args: ['push'] },
      { files: { 'mlship.yaml': DIR_PROJECT.replace('weights', '/etc/hostname') }, args: ['push'] },
      { files: { 'mlship.yaml': DIR_PROJECT.replace('weights', 'link.bin') }, link: ['link.bin', join(outside, 'secret.csv')], args: ['push'] },
      { files: { 'mlship.yaml': DIR_PROJECT, 'weights/a.bin': 'a' }, link: ['weights/b', outside], args: ['push'] },
      { files: { 'mlship.yaml': `${DIR_PROJECT.replace('weights', 'model.bin')}checks:\n  c: { data: data.csv, rows: { min: 1 } }\n` }, link: ['data.csv', join(outside, 'secret.csv')], args: ['check'] },
      { files: { 'mlship.yaml': `${DIR_PROJECT.replace('weights', 'model.bin')}checks:\n  c: { data: ../../../../etc/passwd, rows: { min: 1 } }\n` }, args: ['check'] },
      { files: { 'mlship.yaml': `${DIR_PROJECT.replace('weights', 'model.bin')}checks:\n  c: { drift: { reference: d.csv, current: /etc/passwd } }\n`, 'd.csv': 'id\n1\n' }, args: ['check'] },
      { files: { 'mlship.yaml': DIR_PROJECT.replace('weights', 'model.bin').replace("'${outputs}']", "'${outputs}']\n      metrics: ../../../x.json") }, args: ['eval'] },
    ];
    const results = await Promise.all(
      cases.map(async (c) => {
        const repo = repoOf({ 'eval.mjs': METRICS_EVAL, ...c.files }, false);
        if (c.link !== undefined) symlinkSync(c.link[1], join(repo.dir, c.link[0]));
        repo.commitAll();
        return { repo, r: await repo.run(c.args) };
      }),
    );
    results.forEach(({ repo, r }, i) => {
      expectClean(expect, r);
      expect(r.code, `${JSON.stringify(cases[i])}\n${output(r)}`).toBe(2);
      expect(`${r.stdout}${r.stderr}`, output(r)).toMatch(/outside|absolute|symbolic link|not a file inside/);
      expect(filesBelow(join(repo.dir, '.mlship', 'store')), 'nothing stored').toEqual([]);
    });
  }, SLOW);

  it('a metrics file the evaluation makes a symbolic link to a file outside is not read (its content never shown)', async ({ expect }) => {
    const secret = join(outside, `creds-${tag}`);
    writeFileSync(secret, `[default]\naws_secret_access_key = metrics-link-canary-${tag}\n`);
    const repo = repoOf({
      'eval.mjs': `import { symlinkSync } from 'node:fs';\nsymlinkSync(${JSON.stringify(secret)}, process.argv[2] + '/metrics.json');\n`,
      'mlship.yaml': DIR_PROJECT.replace('weights', 'model.bin'),
    });
    for (const args of [['eval'], ['--json', 'eval'], ['eval', '--verbose']]) {
      const r = await repo.run(args);
      expectClean(expect, r, args);
      expect(r.code, output(r)).toBe(2);
      expect(`${r.stdout}${r.stderr}`, output(r)).not.toContain(`metrics-link-canary-${tag}`);
      expect(`${r.stdout}${r.stderr}`, output(r)).toMatch(/symbolic link|outside/);
    }
  }, SLOW);

  /** A project with one registered version of a directory artifact (weights/a.bin, weights/sub/b.bin). */
  async function registered(): Promise<TempRepo> {
    const repo = repoOf({ 'eval.mjs': METRICS_EVAL, 'mlship.yaml': DIR_PROJECT, 'weights/a.bin': 'a\n', 'weights/sub/b.bin': 'b\n' });
    const r = await repo.run(['run']);
    if (r.code !== 0) throw new Error(output(r));
    return repo;
  }

  it('a hostile tree object (../, absolute, nested ..) in the store cannot write outside -o DIR: exit 4', async ({ expect }) => {
    const repo = await registered();
    const payload = plantObject(repo, `escaped ${tag}\n`);
    const escapes = [`../../escape-${tag}`, `/tmp/mlship-abs-${tag}`, `ok/../../../escape2-${tag}`, `..\\..\\escape3-${tag}`, '.', '', `a//b`];
    for (const path of escapes) {
      const tree = JSON.stringify({ entries: [{ path: 'fine.bin', digest: payload, size: 12, mode: '644' }, { path, digest: payload, size: 12, mode: '644' }] });
      const digest = plantObject(repo, tree);
      appendRegister(repo, { model: { path: 'weights', kind: 'tree', digest, size: 24, uri: 'file://.mlship/store' } });
    }
    const base = mkdtempSync(join(tmpdir(), 'mlship-sec-pull-'));
    cleanup.push(base);
    const out = join(base, 'a', 'b', 'out');
    for (let v = 2; v < 2 + escapes.length; v++) {
      for (const json of [false, true]) {
        const r = await repo.run([...(json ? ['--json'] : []), 'pull', `m@${v}`, '-o', out]);
        expectClean(expect, r);
        expect(r.code, `v${v} ${escapes[v - 2]}\n${output(r)}`).toBe(4);
        if (json) expect((r.json() as { error: { code: string } }).error.code).toMatch(/^E_/);
      }
    }
    // Nothing anywhere above -o, and not at the absolute path.
    expect(filesBelow(base).filter((f) => !f.startsWith(join('a', 'b', 'out')))).toEqual([]);
    expect(existsSync(`/tmp/mlship-abs-${tag}`)).toBe(false);
    expect(existsSync(join(repo.dir, '..', `escape-${tag}`))).toBe(false);
  }, SLOW);

  it('a register event whose artifact path leaves -o DIR (or the project) is refused: exit 4, nothing written', async ({ expect }) => {
    const repo = await registered();
    const payload = plantObject(repo, `escaped file ${tag}\n`);
    const paths = [`../../escape-file-${tag}`, `/tmp/mlship-abs-file-${tag}`, '.', `weights/../../escape-file2-${tag}`];
    for (const path of paths) appendRegister(repo, { model: { path, kind: 'file', digest: payload, size: 19, uri: 'file://x' } });
    const base = mkdtempSync(join(tmpdir(), 'mlship-sec-pullf-'));
    cleanup.push(base);
    const out = join(base, 'x', 'y', 'out');
    for (let v = 2; v < 2 + paths.length; v++) {
      for (const args of [['pull', `m@${v}`, '-o', out], ['pull', `m@${v}`]]) {
        const r = await repo.run(args);
        expectClean(expect, r);
        expect(r.code, `${paths[v - 2]} ${args.join(' ')}\n${output(r)}`).toBe(4);
      }
    }
    expect(filesBelow(base)).toEqual([]);
    expect(existsSync(`/tmp/mlship-abs-file-${tag}`)).toBe(false);
    expect(existsSync(join(repo.dir, '..', `escape-file-${tag}`))).toBe(false);
    expect(existsSync(join(repo.dir, '..', `escape-file2-${tag}`))).toBe(false);
  }, SLOW);

  it('pull does not write through a symbolic link inside -o DIR or inside the project that leads outside', async ({ expect }) => {
    const repo = await registered();
    const target = mkdtempSync(join(tmpdir(), 'mlship-sec-linktarget-'));
    cleanup.push(target);
    // -o DIR whose subfolder `weights/sub` already is a link to a folder outside.
    const out = mkdtempSync(join(tmpdir(), 'mlship-sec-out-'));
    cleanup.push(out);
    mkdirSync(join(out, 'weights'));
    symlinkSync(target, join(out, 'weights', 'sub'));
    const r1 = await repo.run(['pull', 'm@1', '-o', out]);
    expectClean(expect, r1);
    expect(readdirSync(target), `nothing written through the link\n${output(r1)}`).toEqual([]);
    // The project itself: `weights` replaced by a link to a folder outside, then pull restores in place.
    rmSync(join(repo.dir, 'weights'), { recursive: true });
    symlinkSync(target, join(repo.dir, 'weights'));
    const r2 = await repo.run(['pull', 'm@1']);
    expectClean(expect, r2);
    expect(readdirSync(target), `nothing written through the link\n${output(r2)}`).toEqual([]);
  }, SLOW);
});

// ---------------------------------------------------------------------------------------------

const CANARY = {
  AWS_ACCESS_KEY_ID: `AKIACANARY${tag.toUpperCase()}`,
  AWS_SECRET_ACCESS_KEY: `canarySecretKey/${tag}+ZZZZ`,
  AWS_SESSION_TOKEN: `canarySessionToken${tag}`,
  DOCKER_HOST: `tcp://user:canarypass${tag}@127.0.0.1:1`,
};
const SECRETS = [CANARY.AWS_ACCESS_KEY_ID, CANARY.AWS_SECRET_ACCESS_KEY, CANARY.AWS_SESSION_TOKEN, `canarypass${tag}`, tag.toUpperCase()];

/** Everything a secret could leak into: output, registry files, git history (messages and diffs). */
function leaks(repo: TempRepo, results: CliResult[]): string[] {
  const registry = join(repo.dir, '.mlship', 'registry');
  const haystacks = [
    ...results.map((r) => r.stdout + r.stderr),
    ...filesBelow(registry).map((f) => readFileSync(join(registry, f), 'utf8')),
    git(repo.dir, 'log', '--all', '-p', '--format=%H %an %ae %s%n%b'),
  ];
  return SECRETS.filter((s) => haystacks.some((h) => h.includes(s)));
}

describe.concurrent('(c) secrets never appear in output, --json, registry files or git history', () => {
  it('a successful run, promote and status with canary credentials in the environment', async ({ expect }) => {
    const repo = repoOf({ 'eval.mjs': METRICS_EVAL, 'mlship.yaml': DIR_PROJECT.replace('weights', 'model.bin') });
    const results: CliResult[] = [];
    for (const args of [['run', '--verbose'], ['--json', 'promote', 'm@1', '--to', 'staging', '--verbose'], ['status', '--verbose'], ['--json', 'history', 'm'], ['verify', '--store', '--verbose']]) {
      const r = await repo.run(args, CANARY);
      expectClean(expect, r, args);
      expect(r.code, output(r)).toBe(0);
      results.push(r);
    }
    expect(leaks(repo, results)).toEqual([]);
  }, SLOW);

  it('an S3 store at a dead endpoint fails with exit 3 and prints no credential', async ({ expect }) => {
    const repo = repoOf({
      'eval.mjs': METRICS_EVAL,
      'mlship.yaml': DIR_PROJECT.replace('weights', 'model.bin').replace('models:', 'store: { url: s3://canary-bucket/p, endpoint: "http://127.0.0.1:1", region: us-east-1 }\nmodels:'),
    });
    const runs = [['push', '--verbose'], ['--json', 'push', '--verbose'], ['run', '--verbose'], ['--json', 'run'], ['verify', '--store', '--verbose']];
    const results = await Promise.all(runs.map((args) => repo.run(args, { ...CANARY, AWS_MAX_ATTEMPTS: '1' })));
    results.forEach((r, i) => {
      expectClean(expect, r, runs[i]);
      // verify --store has nothing registered to look at; the others must reach the store and fail.
      expect(runs[i]?.[0] === 'verify' ? [0, 3] : [3], `${runs[i]?.join(' ')}\n${output(r)}`).toContain(r.code);
    });
    expect(leaks(repo, results)).toEqual([]);
  }, SLOW);

  it('an unreachable Docker engine with credentials in DOCKER_HOST fails with exit 3 and prints no password', async ({ expect }) => {
    const repo = repoOf({
      'mlship.yaml': DIR_PROJECT.replace('weights', 'model.bin').replace("command: [node, eval.mjs, '${outputs}']", "runner: docker\n      image: mlship-test/busybox:1\n      command: [sh, -c, 'echo {} > /outputs/metrics.json']"),
    });
    const hosts = [CANARY.DOCKER_HOST, `tcp://user:canarypass${tag}/x@127.0.0.1:1`, `ssh://user:canarypass${tag}@127.0.0.1:1`, `http://user:canarypass${tag}@[::1`];
    const results: CliResult[] = [];
    for (const host of hosts) {
      for (const args of [['eval', '--verbose'], ['--json', 'eval', '--verbose'], ['run', '--runner', 'docker', '-v']]) {
        const r = await repo.run(args, { ...CANARY, DOCKER_HOST: host });
        expectClean(expect, r, args);
        expect([2, 3], `${host} ${args.join(' ')}\n${output(r)}`).toContain(r.code);
        results.push(r);
      }
    }
    expect(leaks(repo, results)).toEqual([]);
  }, SLOW);
});
