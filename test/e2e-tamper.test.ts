/**
 * Tampering with the record, end to end: registry lines edited (in the working copy and in a commit),
 * deleted, reordered, inserted, truncated, and a whole file re-chained after an edit (which only the
 * git history check can catch); and a corrupted object in the local store. `verify` must exit 4 naming
 * the file and line, and write commands must refuse (exit 4) without appending anything.
 *
 * One history is built once (v1 and v2 registered, promotions in between) and each case works on its
 * own copy of that repository, so the cases run concurrently.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { git, nodeProject, tempRepo, type CliResult, type TempRepo } from './helpers/cli.js';
import { allOutput, copyRepo, expectCleanFailure, expectJsonError, expectNothingWritten, listFiles, prevOf, rechain, registryLines, snapshot } from './helpers/tamper.js';

const REGISTRY = '.mlship/registry/m.jsonl';

const metricsScript = (accuracy: number) =>
  `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2] + '/metrics.json', ${JSON.stringify(JSON.stringify({ accuracy }))});\n`;

async function ok(repo: TempRepo, args: string[]): Promise<CliResult> {
  const r = await repo.run(args);
  if (r.code !== 0) throw new Error(`mlship ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/**
 * Lines of the base history:
 *   1 register v1   2 promote v1 staging   3 promote v1 production
 *   4 register v2   5 promote v2 staging   6 promote v2 production
 */
let base: TempRepo;
let baseLines: string[];

beforeAll(async () => {
  base = tempRepo({ files: { ...nodeProject({ accuracy: 0.8 }), 'eval.mjs': metricsScript(0.8) } });
  await ok(base, ['run']);
  await ok(base, ['promote', 'm@1', '--to', 'staging']);
  await ok(base, ['promote', 'm@1', '--to', 'production']);
  base.write('model.bin', 'weights v2\n');
  base.write('eval.mjs', metricsScript(0.85));
  base.commitAll('model v2');
  await ok(base, ['run']);
  await ok(base, ['promote', 'm@2', '--to', 'staging']);
  await ok(base, ['promote', 'm@2', '--to', 'production']);
  baseLines = registryLines(base.read(REGISTRY));
  if (baseLines.length !== 6) throw new Error(`expected 6 registry lines, got ${baseLines.length}`);
  const verify = await base.run(['verify', '--store']);
  if (verify.code !== 0) throw new Error(`the untouched history does not verify: ${verify.stdout}${verify.stderr}`);
});

const writeLines = (repo: TempRepo, lines: string[], newline = true) => repo.write(REGISTRY, lines.join('\n') + (newline ? '\n' : ''));

/** Line `n` (1-based) of the base history with a field changed, keeping everything else byte-identical. */
function editLine(n: number, from: string, to: string): string[] {
  const lines = [...baseLines];
  const line = lines[n - 1] as string;
  if (!line.includes(from)) throw new Error(`line ${n} does not contain ${from}: ${line}`);
  lines[n - 1] = line.replace(from, to);
  return lines;
}

interface VerifyJson {
  ok: boolean;
  problems: { code: string; file: string; line: number | null; message: string }[];
}

/**
 * `verify` must exit 4 with a problem at `file:line`, and write nothing itself. With `json`, the
 * `--json` document is checked too (a second process, so only where it adds something).
 */
async function expectVerifyFails(repo: TempRepo, line: number, code?: string, options: { args?: string[]; json?: boolean } = {}): Promise<VerifyJson | undefined> {
  const args = options.args ?? [];
  const before = snapshot(repo.dir);
  const [human, json] = await Promise.all([repo.run(['verify', ...args]), options.json === true ? repo.run(['--json', 'verify', ...args]) : undefined]);
  expectCleanFailure(human, 4);
  const out = allOutput(human);
  expect_(out.includes(`${REGISTRY}:${line}`), `verify names ${REGISTRY}:${line}\n${out}`);
  if (code !== undefined) expect_(new RegExp(`${REGISTRY}:${line}: ${code}`).test(out), `verify reports ${code} at line ${line}\n${out}`);
  expectNothingWritten(repo.dir, before, { store: true });
  if (json === undefined) return undefined;
  expectCleanFailure(json, 4);
  const doc = json.json<VerifyJson>();
  expect_(doc.ok === false, 'ok is false');
  expect_(doc.problems.some((p) => p.file === REGISTRY && p.line === line && (code === undefined || p.code === code)), `a problem at ${REGISTRY}:${line}${code ? ` ${code}` : ''} in ${JSON.stringify(doc.problems)}`);
  return doc;
}

function expect_(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** A write command on the damaged registry refuses with exit 4 and appends nothing. */
async function expectWriteRefused(repo: TempRepo, args: string[] = ['promote', 'm@1', '--to', 'production'], options: { json?: boolean } = {}): Promise<CliResult> {
  const before = snapshot(repo.dir);
  const human = await repo.run(args);
  expectCleanFailure(human, 4);
  expect_(allOutput(human).includes(REGISTRY), `the refusal names the registry file\n${allOutput(human)}`);
  if (options.json === true) {
    const json = await repo.run(['--json', ...args]);
    expectCleanFailure(json, 4);
    expectJsonError(json);
  }
  expectNothingWritten(repo.dir, before, { store: true });
  return human;
}

describe.concurrent('registry tampering is caught by verify (exit 4, file:line) and blocks writes', () => {
  it('a line edited in place, not committed', async ({ expect }) => {
    const repo = copyRepo(base.dir);
    writeLines(repo, editLine(2, '"env":"staging"', '"env":"production"'));
    const doc = await expectVerifyFails(repo, 2, 'E_HISTORY', { json: true });
    expect(doc?.problems.some((p) => p.code === 'E_CHAIN' && p.line === 3), 'the chain breaks at line 3').toBe(true);
    await expectWriteRefused(repo);
  });

  it('a line edited in place and committed', async ({ expect }) => {
    const repo = copyRepo(base.dir);
    writeLines(repo, editLine(1, '"accuracy":0.8', '"accuracy":0.99'));
    repo.commitAll('fix metrics');
    const doc = await expectVerifyFails(repo, 1, 'E_HISTORY', { json: true });
    expect(doc?.problems.some((p) => p.code === 'E_CHAIN' && p.line === 2)).toBe(true);
    await expectWriteRefused(repo);
  });

  it('the last line edited in place (the chain cannot see it; git history can), and a write on top refuses', async () => {
    const repo = copyRepo(base.dir);
    writeLines(repo, editLine(6, '"env":"production"', '"env":"staging"'));
    await expectVerifyFails(repo, 6, 'E_HISTORY');
    // Appending on top would commit the hand edit together with the new line: refuse instead.
    await expectWriteRefused(repo, ['promote', 'm@1', '--to', 'staging']);
  });

  it('a line deleted', async () => {
    const repo = copyRepo(base.dir);
    writeLines(repo, baseLines.filter((_, i) => i !== 2));
    await expectVerifyFails(repo, 3, 'E_CHAIN');
    await expectWriteRefused(repo);
  });

  it('the last line deleted and committed (caught by the history check)', async () => {
    const repo = copyRepo(base.dir);
    writeLines(repo, baseLines.slice(0, 5));
    repo.commitAll('undo');
    await expectVerifyFails(repo, 6, 'E_HISTORY');
  });

  it('two lines reordered', async () => {
    const repo = copyRepo(base.dir);
    const lines = [...baseLines];
    [lines[3], lines[4]] = [lines[4] as string, lines[3] as string];
    writeLines(repo, lines);
    await expectVerifyFails(repo, 4, 'E_CHAIN');
    await expectWriteRefused(repo);
  });

  it('a forged line inserted (with a correct prev for itself)', async () => {
    const repo = copyRepo(base.dir);
    const forged = (baseLines[2] as string).replace(/"prev":"sha256:[0-9a-f]{64}"/, `"prev":"${prevOf(baseLines[1] as string)}"`).replace('"actor":"', '"actor":"mallory-');
    const lines = [...baseLines.slice(0, 2), forged, ...baseLines.slice(2)];
    writeLines(repo, lines);
    await expectVerifyFails(repo, 4, 'E_CHAIN');
    await expectWriteRefused(repo);
  });

  it('the file truncated mid-line', async () => {
    const repo = copyRepo(base.dir);
    const text = base.read(REGISTRY);
    truncateSync(join(repo.dir, REGISTRY), Buffer.byteLength(text) - 40);
    await expectVerifyFails(repo, 6);
    await expectWriteRefused(repo);
  });

  it('a whole file re-chained after an edit and committed: caught by the git history check', async ({ expect }) => {
    const repo = copyRepo(base.dir);
    const edited = rechain(editLine(1, '"accuracy":0.8', '"accuracy":0.99'), 1);
    // Sanity: the forged file is a valid chain (only prev changed on lines 2..6, seq untouched).
    for (let i = 1; i < edited.length; i++) expect(edited[i]).toContain(`"prev":"${prevOf(edited[i - 1] as string)}"`);
    for (let i = 0; i < edited.length; i++) expect((JSON.parse(edited[i] as string) as { seq: number }).seq).toBe(i + 1);
    writeLines(repo, edited);
    repo.commitAll('re-chained');
    const doc = await expectVerifyFails(repo, 1, 'E_HISTORY', { json: true });
    expect(doc?.problems.some((p) => p.code === 'E_CHAIN'), 'the chain itself is intact').toBe(false);
  });

  it('a whole file re-chained after an edit, not committed: caught against the last commit', async ({ expect }) => {
    const repo = copyRepo(base.dir);
    writeLines(repo, rechain(editLine(4, '"accuracy":0.85', '"accuracy":0.95'), 4));
    const doc = await expectVerifyFails(repo, 4, 'E_HISTORY', { json: true });
    expect(doc?.problems.some((p) => p.code === 'E_CHAIN')).toBe(false);
  });

  it('the registry file deleted from the working copy: verify fails, and run does not start a new chain', async () => {
    const repo = copyRepo(base.dir);
    rmSync(join(repo.dir, REGISTRY));
    const before = snapshot(repo.dir);
    const r = await repo.run(['verify']);
    expectCleanFailure(r, 4);
    expect_(allOutput(r).includes(REGISTRY), `names the deleted file\n${allOutput(r)}`);
    expectNothingWritten(repo.dir, before, { store: true });
    // Registering now would commit a one-line file over the six committed lines: a rewrite of history.
    const run = await repo.run(['run']);
    expectCleanFailure(run, 4);
    expectNothingWritten(repo.dir, before, { store: false });
    expect_(!existsSync(join(repo.dir, REGISTRY)), 'no new registry file');
  });

  it('the registry file deleted in a commit', async () => {
    const repo = copyRepo(base.dir);
    git(repo.dir, 'rm', '-q', REGISTRY);
    git(repo.dir, 'commit', '-q', '-m', 'drop registry');
    const before = snapshot(repo.dir);
    const r = await repo.run(['verify']);
    expectCleanFailure(r, 4);
    expect_(allOutput(r).includes(REGISTRY), `names the deleted file\n${allOutput(r)}`);
    expectNothingWritten(repo.dir, before, { store: true });
  });
});

describe.concurrent('a corrupted object in the store', () => {
  /** Overwrite the v1 model object (read-only in the store) with other bytes; returns its path. */
  function corruptV1Model(repo: TempRepo): { path: string; bad: string } {
    const register = JSON.parse(baseLines[0] as string) as { artifacts: { model: { digest: string } } };
    const hex = register.artifacts.model.digest.replace('sha256:', '');
    const path = join(repo.dir, '.mlship', 'store', 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    if (!existsSync(path)) throw new Error(`no object at ${path}; store has ${listFiles(join(repo.dir, '.mlship', 'store')).join(', ')}`);
    chmodSync(path, 0o644);
    const bad = 'weights EVIL\n';
    writeFileSync(path, bad);
    chmodSync(path, 0o444);
    return { path, bad };
  }

  it('is caught by pull -o DIR (exit 4), which writes no file with the bad bytes', async ({ expect }) => {
    const repo = copyRepo(base.dir);
    const { bad } = corruptV1Model(repo);
    const out = mkdtempSync(join(tmpdir(), 'mlship-pull-'));
    const before = snapshot(repo.dir);
    const r = await repo.run(['pull', 'm@1', '-o', out]);
    expectCleanFailure(r, 4);
    expect(allOutput(r)).toMatch(/sha256|digest|hash/i);
    for (const file of listFiles(out)) expect(readFileSync(join(out, file), 'utf8'), `${file} has unverified bytes`).not.toBe(bad);
    expect(listFiles(out), 'no file and no temporary file left in DIR').toEqual([]);
    expectNothingWritten(repo.dir, before, { store: true });
    // v2 is intact and still pulls.
    const good = await repo.run(['pull', 'm@2', '-o', out]);
    expect(good.code, good.stderr).toBe(0);
    expect(readFileSync(join(out, 'model.bin'), 'utf8')).toBe('weights v2\n');
  });

  it('pull without -o leaves the working copy file untouched', async ({ expect }) => {
    const repo = copyRepo(base.dir);
    corruptV1Model(repo);
    const r = await repo.run(['pull', 'm@1']);
    expectCleanFailure(r, 4);
    expect(readFileSync(join(repo.dir, 'model.bin'), 'utf8')).toBe('weights v2\n');
  });

  it('is caught by verify --store (exit 4) naming the file and the line of the version', async ({ expect }) => {
    const repo = copyRepo(base.dir);
    corruptV1Model(repo);
    const doc = await expectVerifyFails(repo, 1, 'E_DIGEST', { args: ['--store'], json: true });
    expect(doc?.problems.every((p) => p.line === 1), 'only v1 is damaged').toBe(true);
    // Without --store, the registry itself is fine.
    const plain = await repo.run(['verify']);
    expect(plain.code, plain.stdout).toBe(0);
  });

  it('a missing object is caught by verify --store', async () => {
    const repo = copyRepo(base.dir);
    const { path } = corruptV1Model(repo);
    rmSync(path, { force: true });
    await expectVerifyFails(repo, 1, 'E_OBJECT_MISSING', { args: ['--store'] });
  });
});
