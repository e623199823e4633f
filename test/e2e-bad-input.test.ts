/**
 * Every bad input of issue 2 ("Bad input"), end to end: the built bin/mlship in real temporary git
 * repositories. Each case asserts the exit code, a message that says what and where, that no stack
 * trace reaches the user, and that nothing was written (no registry line, no commit, nothing staged,
 * and no store object where the command should have stopped before hashing).
 */
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { NODE_MODEL_YAML, mlship, nodeProject, tempRepo, type TempRepo } from './helpers/cli.js';
import { allOutput, expectCleanFailure, expectJsonError, expectNothingWritten, listFiles, snapshot } from './helpers/tamper.js';

/** A project whose mlship.yaml is exactly `yaml` (plus the model and a working evaluation). */
function configRepo(yaml: string, extra: Record<string, string> = {}): TempRepo {
  const files = nodeProject({ accuracy: 0.9 });
  return tempRepo({ files: { ...files, 'mlship.yaml': yaml, ...extra } });
}

/** A project with one model whose evaluation script is `evalScript` (an ES module run by node). */
function evalRepo(evalScript: string, evaluateExtra = '', gates = '      - { metric: accuracy, min: 0.5 }\n'): TempRepo {
  return tempRepo({
    files: {
      'model.bin': 'weights v1\n',
      'eval.mjs': evalScript,
      'mlship.yaml': `version: 1
models:
  m:
    artifacts: { model: model.bin }
    evaluate:
      command: [node, eval.mjs, '\${outputs}']
${evaluateExtra}    gates:
${gates}    environments: [staging, production]
`,
    },
  });
}

const writeMetrics = (body: string) => `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2] + '/metrics.json', ${JSON.stringify(body)});\n`;

/** Runs `args` and asserts a clean refusal that wrote nothing at all (config and path errors stop before hashing). */
async function refuse(repo: TempRepo, args: string[], code: number, options: { store?: boolean } = { store: true }) {
  const before = snapshot(repo.dir);
  const result = await repo.run(args);
  expectCleanFailure(result, code);
  expectNothingWritten(repo.dir, before, options);
  return result;
}

const MODEL = `version: 1\n${NODE_MODEL_YAML}`;

describe.concurrent('config: mlship.yaml problems (exit 2, file:line:col, nothing written)', () => {
  it('malformed YAML names the file, line and column', async ({ expect }) => {
    const repo = configRepo(`version: 1
models:
  m:
    artifacts: { model: model.bin
    evaluate:
      command: [node, eval.mjs]
`);
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toMatch(/mlship\.yaml:\d+:\d+/);
      expect(allOutput(r)).toMatch(/YAML/i);
    }
    expect(existsSync(join(repo.dir, '.mlship')), 'no .mlship folder created').toBe(false);
  });

  it('an unknown key is refused with a "did you mean"', async ({ expect }) => {
    const repo = configRepo(MODEL.replace('      command:', '      comand:'));
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toContain('mlship.yaml:6:7 models.m.evaluate.comand');
      expect(allOutput(r)).toMatch(/unknown key/);
      expect(allOutput(r)).toMatch(/did you mean 'command'/);
    }
  });

  it('an unknown top-level key is refused with a "did you mean"', async ({ expect }) => {
    const repo = configRepo(MODEL.replace('version: 1\n', 'version: 1\nregsitry: .mlship/registry\n'));
    const r = await refuse(repo, ['run'], 2);
    expect(allOutput(r)).toContain('mlship.yaml:2:1 regsitry');
    expect(allOutput(r)).toMatch(/did you mean 'registry'/);
  });

  it('a wrong type names the key path and the expected type', async ({ expect }) => {
    const repo = configRepo(MODEL.replace('min: 0.5', 'min: high'));
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toContain('mlship.yaml:8:34 models.m.gates[0].min');
      expect(allOutput(r)).toMatch(/expected a number/);
      expect(allOutput(r)).toContain('high');
    }
  });

  it('a missing required key (version, artifacts) is named', async ({ expect }) => {
    const repo = configRepo(`models:
  m:
    evaluate:
      command: [node, eval.mjs]
`);
    const r = await refuse(repo, ['run'], 2);
    expect(allOutput(r)).toMatch(/mlship\.yaml:\d+:\d+ version/);
    expect(allOutput(r)).toMatch(/mlship\.yaml:\d+:\d+ models\.m\.artifacts: required/);
  });

  it('several problems are reported at once', async ({ expect }) => {
    const repo = configRepo(`version: 1
models:
  m:
    artifacts: { model: model.bin }
    evaluate:
      command: [node, eval.mjs]
      timout: 10s
    gates:
      - { metric: accuracy, min: high }
    environments: staging
`);
    const r = await refuse(repo, ['validate'], 2);
    const out = allOutput(r);
    expect(out).toContain('mlship.yaml:7:7 models.m.evaluate.timout');
    expect(out).toMatch(/did you mean 'timeout'/);
    expect(out).toContain('mlship.yaml:9:34 models.m.gates[0].min');
    expect(out).toMatch(/mlship\.yaml:10:\d+ models\.m\.environments/);
    expect(out).toMatch(/3 problems/);
  });

  it('a duplicate key is refused with its position', async ({ expect }) => {
    const repo = configRepo(`version: 1\n${MODEL}`);
    const r = await refuse(repo, ['run'], 2);
    expect(allOutput(r)).toContain('mlship.yaml:2:1');
    expect(allOutput(r)).toMatch(/duplicate key/i);
  });

  it('an empty file is refused', async ({ expect }) => {
    const repo = configRepo('');
    const r = await refuse(repo, ['run'], 2);
    expect(allOutput(r)).toContain('mlship.yaml:1:1');
    expect(allOutput(r)).toMatch(/empty/);
  });

  it('a file with only comments is refused like an empty one', async ({ expect }) => {
    const repo = configRepo('# nothing here yet\n');
    const r = await refuse(repo, ['run'], 2);
    expect(allOutput(r)).toMatch(/mlship\.yaml:\d+:\d+/);
  });

  it('an unknown ${artifacts.nope} placeholder is refused before anything runs', async ({ expect }) => {
    const repo = configRepo(MODEL.replace(`'\${outputs}'`, `'\${artifacts.nope}'`), { 'eval.mjs': "import { writeFileSync } from 'node:fs';\nwriteFileSync('ran.txt', 'x');\n" });
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toContain('mlship.yaml:6:33 models.m.evaluate.command[2]');
      expect(allOutput(r)).toContain('${artifacts.nope}');
      expect(allOutput(r)).toMatch(/did you mean \$\{artifacts\.model\}/);
    }
    expect(existsSync(join(repo.dir, 'ran.txt')), 'the evaluation never ran').toBe(false);
  });

  it('-c pointing to a missing file is a usage error naming it', async ({ expect }) => {
    const repo = configRepo(MODEL);
    const r = await refuse(repo, ['-c', 'nope.yaml', 'run'], 2);
    expect(allOutput(r)).toContain('nope.yaml');
    expect(allOutput(r)).toMatch(/not found|does not exist|no such/i);
  });

  it('no mlship.yaml at all is a usage error', async ({ expect }) => {
    const repo = tempRepo({ files: { 'README.md': 'x\n' } });
    const r = await refuse(repo, ['run'], 2);
    expect(allOutput(r)).toMatch(/no mlship\.yaml/);
  });

  it('--json on a config error prints exactly one error document', async ({ expect }) => {
    const repo = configRepo(MODEL.replace('      command:', '      comand:'));
    const r = await refuse(repo, ['--json', 'run'], 2);
    const error = expectJsonError(r);
    expect(error.message).toContain('models.m.evaluate.comand');
  });
});

describe.concurrent('paths: artifacts outside the repository (exit 2, nothing hashed or stored)', () => {
  const withArtifact = (path: string) => MODEL.replace('{ model: model.bin }', `{ model: ${path} }`);

  it('a missing artifact path names the file, line and column', async ({ expect }) => {
    const repo = configRepo(withArtifact('models/missing.bin'));
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toContain('mlship.yaml:4:25 models.m.artifacts.model');
      expect(allOutput(r)).toContain('missing.bin');
      expect(allOutput(r)).toMatch(/does not exist/);
    }
  });

  it('a ../outside artifact path is refused with file:line:col', async ({ expect }) => {
    const repo = configRepo(withArtifact('../outside.bin'));
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toContain('models.m.artifacts.model');
      expect(allOutput(r)).toMatch(/outside the repository/);
      expect(allOutput(r), 'file:line:col of the offending key').toContain('mlship.yaml:4:25');
    }
  });

  it('an absolute artifact path is refused with file:line:col', async ({ expect }) => {
    const outside = join(mkdtempSync(join(tmpdir(), 'mlship-outside-')), 'model.bin');
    writeFileSync(outside, 'secret weights\n');
    const repo = configRepo(withArtifact(outside));
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toContain('models.m.artifacts.model');
      expect(allOutput(r)).toMatch(/absolute/);
      expect(allOutput(r), 'file:line:col of the offending key').toContain('mlship.yaml:4:25');
    }
  });

  it('a symlink inside the repository pointing outside is refused', async ({ expect }) => {
    const outsideDir = mkdtempSync(join(tmpdir(), 'mlship-outside-'));
    writeFileSync(join(outsideDir, 'model.bin'), 'secret weights\n');
    const repo = configRepo(withArtifact('link.bin'), {});
    symlinkSync(join(outsideDir, 'model.bin'), join(repo.dir, 'link.bin'));
    repo.commitAll('add link');
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toContain('models.m.artifacts.model');
      expect(allOutput(r)).toMatch(/link\.bin/);
      expect(allOutput(r)).toMatch(/outside the repository/);
      expect(allOutput(r), 'file:line:col of the offending key').toContain('mlship.yaml:4:25');
    }
    expect(allOutput(run)).not.toContain('secret weights');
  });

  it('a symlink inside a directory artifact pointing outside is refused', async ({ expect }) => {
    const outsideDir = mkdtempSync(join(tmpdir(), 'mlship-outside-'));
    writeFileSync(join(outsideDir, 'secret.txt'), 'secret\n');
    const repo = configRepo(withArtifact('modeldir'), { 'modeldir/weights.bin': 'w\n' });
    symlinkSync(join(outsideDir, 'secret.txt'), join(repo.dir, 'modeldir', 'leak.txt'));
    repo.commitAll('add link');
    const r = await refuse(repo, ['run'], 2);
    expect(allOutput(r)).toContain('models.m.artifacts.model');
    expect(allOutput(r)).toMatch(/symbolic link/);
    expect(allOutput(r)).toMatch(/outside the repository/);
  });

  it('a metrics path escaping the outputs folder is refused with file:line:col, before the evaluation runs', async ({ expect }) => {
    const repo = configRepo(MODEL.replace("'\${outputs}']\n", "'\${outputs}']\n      metrics: ../../../../../etc/hostname\n"), {
      'eval.mjs': "import { writeFileSync } from 'node:fs';\nwriteFileSync('ran.txt', 'x');\nwriteFileSync(process.argv[2] + '/metrics.json', '{\"accuracy\":0.9}');\n",
    });
    const r = await refuse(repo, ['run'], 2, { store: false });
    expect(allOutput(r)).toContain('models.m.evaluate.metrics');
    expect(allOutput(r)).toMatch(/outside|not a file inside the outputs folder/);
    expect(allOutput(r), 'file:line:col of the offending key').toContain('mlship.yaml:7:');
    expect(existsSync(join(repo.dir, 'ran.txt')), 'refused before running the evaluation').toBe(false);
  });

  it('a registry folder outside the repository is refused with file:line:col', async ({ expect }) => {
    const repo = configRepo(MODEL.replace('version: 1\n', 'version: 1\nregistry: ../elsewhere\n'));
    const [validate, run] = await Promise.all([refuse(repo, ['validate'], 2), refuse(repo, ['run'], 2)]);
    for (const r of [validate, run]) {
      expect(allOutput(r)).toMatch(/registry/);
      expect(allOutput(r)).toMatch(/outside the repository/);
      expect(allOutput(r), 'file:line:col of the offending key').toContain('mlship.yaml:2:11');
    }
  });
});

describe.concurrent('evaluation failures (nothing registered, no commit)', () => {
  /** An evaluation failure may have stored the artifacts (push comes before eval), but records nothing. */
  async function refuseEval(repo: TempRepo, args: string[], code: number) {
    return refuse(repo, args, code, { store: false });
  }

  it('evaluation command not found: exit 2 naming the command', async ({ expect }) => {
    const repo = configRepo(MODEL.replace('command: [node, eval.mjs,', 'command: [no-such-evaluator-xyz, eval.mjs,'));
    const r = await refuseEval(repo, ['run'], 2);
    expect(allOutput(r)).toContain('no-such-evaluator-xyz');
    expect(allOutput(r)).toMatch(/not found/);
    expect(existsSync(join(repo.dir, '.mlship', 'registry', 'm.jsonl'))).toBe(false);
  });

  it('a non-zero exit: exit 1 with the tail of the output in the message', async ({ expect }) => {
    const repo = evalRepo("console.error('loading weights');\nconsole.error('Traceback: shape mismatch 3 != 4');\nprocess.exit(3);\n");
    const r = await refuseEval(repo, ['run'], 1);
    expect(r.stderr).toMatch(/exited with code 3/);
    const errorPart = r.stderr.slice(r.stderr.indexOf('error:'));
    expect(errorPart, 'the output tail is part of the error message').toContain('shape mismatch 3 != 4');
    const json = await refuseEval(repo, ['--json', 'run'], 1);
    const error = expectJsonError(json);
    expect(error.message).toContain('shape mismatch 3 != 4');
  });

  it('a timeout: exit 1, "timed out", and the evaluation process is really stopped', async ({ expect }) => {
    const repo = evalRepo("import { writeFileSync } from 'node:fs';\nwriteFileSync('eval.pid', String(process.pid));\nsetTimeout(() => {}, 60_000);\n", '      timeout: 4s\n');
    const started = Date.now();
    const r = await refuseEval(repo, ['run'], 1);
    expect(Date.now() - started, 'stopped by the timeout, not by the script ending').toBeLessThan(45_000);
    expect(allOutput(r)).toMatch(/timed out/);
    expect(allOutput(r)).toMatch(/4s/);
    // A loaded machine may take seconds to start node: the script writes its pid first thing.
    const pid = Number(readFileSync(join(repo.dir, 'eval.pid'), 'utf8'));
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 20 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const survived = alive();
    if (survived) process.kill(pid, 'SIGKILL');
    expect(survived, `the evaluation process ${pid} was killed`).toBe(false);
  });

  it('metrics file missing: exit 2 naming the file', async ({ expect }) => {
    const repo = evalRepo('// writes nothing\n');
    const r = await refuseEval(repo, ['run'], 2);
    expect(allOutput(r)).toContain('metrics.json');
    expect(allOutput(r)).toMatch(/did not write|missing|not found/);
  });

  it('metrics file not JSON: exit 2 naming the file', async ({ expect }) => {
    const repo = evalRepo(writeMetrics('accuracy=0.9'));
    const r = await refuseEval(repo, ['run'], 2);
    expect(allOutput(r)).toContain('metrics.json');
    expect(allOutput(r)).toMatch(/not valid JSON/);
  });

  it('metrics file with a NaN literal: exit 2 naming the file and the metric', async ({ expect }) => {
    const repo = evalRepo(writeMetrics('{"accuracy": 0.9, "auc": NaN}'));
    const r = await refuseEval(repo, ['run'], 2);
    expect(allOutput(r)).toContain('metrics.json');
    expect(allOutput(r)).toMatch(/NaN/);
    expect(allOutput(r), 'names the metric').toContain('auc');
  });

  it('metrics file with a string value: exit 2 naming the file and the metric', async ({ expect }) => {
    const repo = evalRepo(writeMetrics('{"accuracy": "0.9"}'));
    const r = await refuseEval(repo, ['run'], 2);
    expect(allOutput(r)).toContain('metrics.json');
    expect(allOutput(r)).toContain("'accuracy'");
    expect(allOutput(r)).toMatch(/not a number/);
  });

  it('metrics file that is a JSON array: exit 2', async ({ expect }) => {
    const repo = evalRepo(writeMetrics('[0.9]'));
    const r = await refuseEval(repo, ['run'], 2);
    expect(allOutput(r)).toContain('metrics.json');
    expect(allOutput(r)).toMatch(/object/);
  });

  it('a gate on a metric that does not exist: exit 1, "missing", nothing registered', async ({ expect }) => {
    const repo = evalRepo(writeMetrics('{"accuracy": 0.9}'), '', '      - { metric: accuracy, min: 0.5 }\n      - { metric: f1, min: 0.5 }\n');
    const human = await refuseEval(repo, ['run'], 1);
    expect(allOutput(human)).toMatch(/f1/);
    expect(allOutput(human)).toMatch(/missing/);
    expect(allOutput(human)).toMatch(/nothing was registered/);
    const json = await refuseEval(repo, ['--json', 'run'], 1);
    const doc = json.json<{ passed: boolean; version: number | null; gates: { metric: string; passed: boolean; reason: string }[] }>();
    expect(doc.passed).toBe(false);
    expect(doc.version).toBeNull();
    const f1 = doc.gates.find((g) => g.metric === 'f1');
    expect(f1?.passed).toBe(false);
    expect(f1?.reason).toMatch(/missing/);
    expect(existsSync(join(repo.dir, '.mlship', 'registry', 'm.jsonl'))).toBe(false);
  });

  it('register after a failed eval refuses (exit 1) and appends nothing', async ({ expect }) => {
    const repo = evalRepo(writeMetrics('{"accuracy": 0.1}'));
    await refuseEval(repo, ['eval'], 1);
    const r = await refuseEval(repo, ['register'], 1);
    expect(allOutput(r)).toMatch(/accuracy/);
  });
});

describe('registry commands on a project with v1 live in staging', () => {
  let repo: TempRepo;
  beforeAll(async () => {
    repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }) });
    const run = await repo.run(['run']);
    if (run.code !== 0) throw new Error(`setup run failed: ${run.stderr}`);
    const promote = await repo.run(['promote', 'm@1', '--to', 'staging']);
    if (promote.code !== 0) throw new Error(`setup promote failed: ${promote.stderr}`);
  });

  it('refuses every bad registry command, each writing nothing', async ({ expect }) => {
    const before = snapshot(repo.dir);
    const cases: { args: string[]; code: number; expectOut: (out: string, r: Awaited<ReturnType<TempRepo['run']>>) => void }[] = [
      { args: ['promote', 'm@9', '--to', 'staging'], code: 2, expectOut: (o) => expect(o).toMatch(/no version 9/) },
      { args: ['promote', 'm@sha256:ffffffffffff', '--to', 'staging'], code: 2, expectOut: (o) => expect(o).toMatch(/sha256:ffffffffffff/) },
      { args: ['promote', 'm@1', '--to', 'productoin'], code: 2, expectOut: (o) => (expect(o).toMatch(/'productoin' is not an environment/), expect(o).toMatch(/did you mean 'production'/)) },
      { args: ['promote', 'nope@1', '--to', 'staging'], code: 2, expectOut: (o) => expect(o).toMatch(/unknown model 'nope'/) },
      { args: ['promote', 'm@1'], code: 2, expectOut: (o) => expect(o).toMatch(/--to/) },
      { args: ['rollback', 'm', '--env', 'staging', '--reason', 'bad'], code: 1, expectOut: (o) => expect(o).toMatch(/no earlier version/) },
      { args: ['rollback', 'm', '--env', 'staging', '--to', '9', '--reason', 'bad'], code: 2, expectOut: (o) => expect(o).toMatch(/no version 9/) },
      { args: ['rollback', 'm', '--env', 'staging'], code: 2, expectOut: (o) => expect(o).toMatch(/--reason/) },
      { args: ['rollback', 'm', '--env', 'production', '--reason', 'bad'], code: 1, expectOut: (o) => (expect(o).toMatch(/nothing/), expect(o).toMatch(/production/)) },
      { args: ['rollback', 'm', '--env', 'prodution', '--reason', 'bad'], code: 2, expectOut: (o) => expect(o).toMatch(/prodution/) },
      { args: ['--json', 'promote', 'm@9', '--to', 'staging'], code: 2, expectOut: (_o, r) => expect(expectJsonError(r).message).toMatch(/no version 9/) },
      { args: ['--json', 'promote', 'm@1', '--to', 'productoin'], code: 2, expectOut: (_o, r) => expect(expectJsonError(r).hint).toMatch(/production/) },
      { args: ['--json', 'rollback', 'm', '--env', 'staging'], code: 2, expectOut: (_o, r) => expect(expectJsonError(r).message).toMatch(/--reason/) },
      { args: ['--json', 'rollback', 'm', '--env', 'staging', '--reason', 'bad'], code: 1, expectOut: (_o, r) => expect(expectJsonError(r).message).toMatch(/no earlier version/) },
      { args: ['--json', 'promote', 'm@1'], code: 2, expectOut: (_o, r) => expect(expectJsonError(r).message).toMatch(/--to/) },
    ];
    const results = await Promise.all(cases.map((c) => repo.run(c.args)));
    results.forEach((r, i) => {
      const c = cases[i] as (typeof cases)[number];
      expectCleanFailure(r, c.code);
      c.expectOut(allOutput(r), r);
      if (c.args[0] === '--json') expect(r.stderr, `${c.args.join(' ')}: nothing but JSON on stdout`).not.toMatch(/^error:/m);
    });
    expectNothingWritten(repo.dir, before, { store: true });
  });
});

describe.concurrent('outside a git repository, and bad command lines', () => {
  it('mlship run in a folder that is not a git repository: exit 2 before anything is written', async ({ expect }) => {
    const dir = mkdtempSync(join(tmpdir(), 'mlship-nogit-'));
    for (const [path, content] of Object.entries(nodeProject({ accuracy: 0.9 }))) writeFileSync(join(dir, path), content);
    writeFileSync(join(dir, 'eval.mjs'), `import { writeFileSync } from 'node:fs';\nwriteFileSync('evaluated.txt', 'x');\nwriteFileSync(process.argv[2] + '/metrics.json', '{"accuracy":0.9}');\n`);
    const r = await mlship(['run'], { cwd: dir });
    expectCleanFailure(r, 2);
    expect(r.stderr).toMatch(/not inside a git repository/);
    expect(existsSync(join(dir, '.mlship', 'registry')), 'no registry written').toBe(false);
    expect(listFiles(join(dir, '.mlship', 'store')), 'no object stored').toEqual([]);
    expect(existsSync(join(dir, 'evaluated.txt')), 'the evaluation did not run for nothing').toBe(false);
  });

  it('promote outside a git repository says so (not "no version 1")', async ({ expect }) => {
    const dir = mkdtempSync(join(tmpdir(), 'mlship-nogit-'));
    for (const [path, content] of Object.entries(nodeProject({ accuracy: 0.9 }))) writeFileSync(join(dir, path), content);
    const json = await mlship(['--json', 'promote', 'm@1', '--to', 'staging'], { cwd: dir });
    expectCleanFailure(json, 2);
    expect(expectJsonError(json).message).toMatch(/not inside a git repository/);
    expect(existsSync(join(dir, '.mlship', 'registry')), 'no registry written').toBe(false);
  });

  it('an unknown command is a usage error (exit 2)', async ({ expect }) => {
    const repo = configRepo(MODEL);
    const [human, json] = await Promise.all([refuse(repo, ['frobnicate'], 2), refuse(repo, ['--json', 'frobnicate'], 2)]);
    expect(human.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(expectJsonError(json).message).toMatch(/frobnicate/);
  });

  it('an unknown option is a usage error (exit 2)', async ({ expect }) => {
    const repo = configRepo(MODEL);
    const [human, json, global] = await Promise.all([refuse(repo, ['run', '--frob'], 2), refuse(repo, ['run', '--frob', '--json'], 2), refuse(repo, ['--frob', 'status'], 2)]);
    expect(human.stderr).toMatch(/unknown option '--frob'/);
    expect(expectJsonError(json).message).toMatch(/--frob/);
    expect(global.stderr).toMatch(/--frob/);
  });

  it('a missing argument is a usage error (exit 2)', async ({ expect }) => {
    const repo = configRepo(MODEL);
    const [promote, rollback, pull] = await Promise.all([refuse(repo, ['promote'], 2), refuse(repo, ['rollback', '--env', 'staging', '--reason', 'x'], 2), refuse(repo, ['pull'], 2)]);
    for (const r of [promote, rollback, pull]) expect(r.stderr).toMatch(/missing required argument/);
  });

  it('a malformed model reference is a usage error (exit 2)', async ({ expect }) => {
    const repo = configRepo(MODEL);
    const [empty, weird] = await Promise.all([refuse(repo, ['promote', 'm@', '--to', 'staging'], 2), refuse(repo, ['pull', 'm@-1'], 2)]);
    for (const r of [empty, weird]) expect(allOutput(r)).toMatch(/m@/);
    expect(readFileSync(join(repo.dir, 'mlship.yaml'), 'utf8')).toBe(MODEL);
  });
});
