/**
 * Issue 7 end to end through the built CLI: builtin metrics from a predictions file (and every bad
 * predictions file), --report / --junit, GitHub annotations and job summary, diff --md, init --ci.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, tempRepo, type TempRepo } from './helpers/cli.js';

/** The evaluation writes fixed metrics and copies preds.csv (edited by each test) to ${outputs}/predictions.csv. */
function predictionsProject(gates: string, predictions: string, extra = ''): Record<string, string> {
  return {
    '.gitignore': '.mlship/store/\n.mlship/cache/\n',
    'model.bin': 'weights v1\n',
    'preds.csv': predictions,
    'eval.mjs': `import { copyFileSync, writeFileSync } from 'node:fs';
writeFileSync(process.argv[2] + '/metrics.json', process.env.METRICS ?? '{"accuracy": 0.9}');
copyFileSync('preds.csv', process.argv[2] + '/predictions.csv');
`,
    'mlship.yaml': `version: 1
models:
  m:
    artifacts: { model: model.bin }
    evaluate:
      command: [node, eval.mjs, '\${outputs}']
      predictions: { path: '\${outputs}/predictions.csv', label: label, score: score, groups: [plan], bins: 5${extra} }
    gates:
${gates}
    environments: [staging, production]
`,
  };
}

const GOOD = 'id,plan,label,score\n1,pro,1,0.9\n2,pro,0,0.2\n3,basic,1,0.7\n4,basic,0,0.4\n5,basic,1,0.3\n6,pro,0,0.6\n';
const GATES = `      - { metric: accuracy, min: 0.5 }
      - { metric: builtin.roc_auc, min: 0.6 }
      - { metric: builtin.fairness.plan.demographic_parity_diff, max: 0.5 }`;

const nothingEvaluated = (repo: TempRepo) => !existsSync(join(repo.dir, '.mlship', 'cache', 'evals', 'm.json'));
const registryEmpty = (repo: TempRepo) => !existsSync(join(repo.dir, '.mlship', 'registry', 'm.jsonl'));

describe('builtin metrics from a predictions file', () => {
  it('computes them, merges them under builtin, and gates on them', async () => {
    const repo = tempRepo({ files: predictionsProject(GATES, GOOD) });
    const result = await repo.run(['eval', '--json']);
    expect(result.code).toBe(0);
    const doc = result.json<{ metrics: { builtin: Record<string, unknown> }; gates: { metric: string; passed: boolean; reason: string }[]; builtin: { file: string; rows: number } }>();
    // Hand calculation: positives score 0.9, 0.7, 0.3; negatives 0.2, 0.4, 0.6. Pairs won: 0.9 beats 3,
    // 0.7 beats 3, 0.3 beats 1 (0.2): 7 of 9.
    expect(doc.metrics.builtin['roc_auc']).toBeCloseTo(7 / 9, 12);
    // threshold 0.5: predictions 1,0,1,0,0,1 → 4 of 6 right.
    expect(doc.metrics.builtin['accuracy']).toBeCloseTo(4 / 6, 12);
    // selection rate: pro 2/3 (0.9, 0.6), basic 1/3 (0.7) → dp 1/3, di 1/2
    expect(doc.metrics.builtin['fairness']).toEqual({ plan: { demographic_parity_diff: expect.closeTo(1 / 3, 12), equal_opportunity_diff: expect.closeTo(0.5, 12), disparate_impact_ratio: expect.closeTo(0.5, 12) } });
    expect(doc.gates.map((g) => g.passed)).toEqual([true, true, true]);
    expect(doc.builtin).toMatchObject({ rows: 6, file: expect.stringMatching(/^\.mlship\/cache\/runs\/m\/.+\/predictions\.csv$/) });
  });

  it('a single class: ROC AUC is left out, the gate on it fails with the reason (exit 1), nothing is registered', async () => {
    const repo = tempRepo({ files: predictionsProject(GATES, 'id,plan,label,score\n1,pro,0,0.9\n2,basic,0,0.2\n') });
    const result = await repo.run(['run']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("✗ metric builtin.roc_auc is missing from the candidate's metrics");
    expect(result.stdout).toContain('not computed: only one class is present (2 rows, all negative): ROC AUC needs both');
    expect(result.stderr).toContain('warning: builtin.roc_auc is not computed: only one class is present');
    expect(registryEmpty(repo)).toBe(true);
  });

  it.each([
    ['a score outside [0, 1]', 'id,plan,label,score\n1,pro,1,0.9\n2,pro,0,1.5\n', /\.mlship\/cache\/runs\/m\/[^/]+\/predictions\.csv: row 2: score "1\.5" in column 'score' is outside \[0, 1\]/],
    ['a NaN score', 'id,plan,label,score\n1,pro,1,NaN\n2,pro,0,0.5\n', /predictions\.csv: row 1: score column 'score' is NaN/],
    ['an empty label', 'id,plan,label,score\n1,pro,1,0.9\n2,pro,,0.5\n', /predictions\.csv: row 2: label column 'label' is empty/],
    ['a missing column', 'id,plan,label,scores\n1,pro,1,0.9\n', /predictions\.csv: no column 'score' \(score\), did you mean 'scores'\?/],
    ['no rows', 'id,plan,label,score\n', /predictions\.csv: the predictions file has no rows/],
  ])('refuses %s: exit 2 naming the file and row, nothing evaluated or written', async (_, predictions, message) => {
    const repo = tempRepo({ files: predictionsProject(GATES, predictions) });
    const result = await repo.run(['eval', '--report', 'report.md', '--junit', 'junit.xml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(nothingEvaluated(repo)).toBe(true);
    expect(existsSync(join(repo.dir, 'report.md'))).toBe(false);
    expect(existsSync(join(repo.dir, 'junit.xml'))).toBe(false);
    const json = await repo.run(['run', '--json']);
    expect(json.code).toBe(2);
    expect(json.json<{ error: { code: string } }>().error.code).toMatch(/^E_PREDICTIONS/);
    expect(registryEmpty(repo)).toBe(true);
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');
  });

  it('a predictions path outside the outputs folder or the repository is refused (exit 2) before anything runs', async () => {
    for (const path of ['${outputs}/../../escape.csv', '../elsewhere.csv', '/etc/passwd']) {
      const files = predictionsProject(GATES, GOOD);
      files['mlship.yaml'] = (files['mlship.yaml'] as string).replace("'${outputs}/predictions.csv'", `'${path}'`);
      const repo = tempRepo({ files });
      const result = await repo.run(['eval']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/mlship\.yaml:\d+:\d+ models\.m\.evaluate\.predictions\.path: .*(outside the repository|not a file inside the outputs folder)/);
      // The evaluation never ran: no run folder holds the metrics it writes.
      const runs = join(repo.dir, '.mlship', 'cache', 'runs', 'm');
      expect((existsSync(runs) ? readdirSync(runs) : []).filter((r) => existsSync(join(runs, r, 'metrics.json')))).toEqual([]);
      expect(nothingEvaluated(repo)).toBe(true);
    }
  });

  it('a repository path works too (scored once, committed)', async () => {
    const files = predictionsProject(GATES, GOOD);
    files['mlship.yaml'] = (files['mlship.yaml'] as string).replace("'${outputs}/predictions.csv'", "'preds.csv'");
    const repo = tempRepo({ files });
    const result = await repo.run(['eval', '--json']);
    expect(result.code).toBe(0);
    expect(result.json<{ builtin: { file: string } }>().builtin.file).toBe('preds.csv');
  });

  it("refuses a metrics file that already uses the name 'builtin'", async () => {
    const repo = tempRepo({ files: predictionsProject(GATES, GOOD) });
    const result = await repo.run(['eval'], { METRICS: '{"accuracy": 0.9, "builtin": {"x": 1}}' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/metrics\.json: metric 'builtin' uses the name 'builtin', which mlship keeps/);
    expect(nothingEvaluated(repo)).toBe(true);
  });
});

describe('reports', () => {
  const FAILING = `${GATES}\n      - { metric: builtin.calibration.ece, max: 0.01 }`;

  it('--report and --junit on eval, with a failing gate (exit 1)', async () => {
    const repo = tempRepo({ files: predictionsProject(FAILING, GOOD) });
    const result = await repo.run(['eval', '--report', 'report.md', '--junit', 'junit.xml']);
    expect(result.code).toBe(1);
    const md = repo.read('report.md');
    expect(md).toContain('## ❌ mlship eval m: a gate failed');
    expect(md).toContain('3/4 gates passed');
    expect(md).toMatch(/\| ❌ \| <code>builtin.calibration.ece<\/code> \| [\d.]+ \| builtin.calibration.ece [\d.]+ &gt; max 0.01 \|/);
    expect(md).toContain('| metric | candidate | staging (nothing live) | Δ | production (nothing live) | Δ |');
    const xml = repo.read('junit.xml');
    expect(xml).toContain('<testsuites name="mlship eval m" tests="4" failures="1" errors="0">');
    expect(xml).toMatch(/<failure message="builtin.calibration.ece [\d.]+ &gt; max 0.01" type="gate">/);
    // No GitHub environment: no annotations.
    expect(result.stdout).not.toContain('::error');
  });

  it('a --report or --junit path whose folder does not exist is refused before the evaluation (exit 2)', async () => {
    const repo = tempRepo({ files: predictionsProject(GATES, GOOD) });
    for (const args of [['--report', 'missing/r.md'], ['--junit', 'missing/j.xml'], ['--report', '.'], ['--report', 'x.md', '--junit', 'x.md']]) {
      const result = await repo.run(['run', ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/error: (--report|--junit)/);
      expect(nothingEvaluated(repo)).toBe(true);
      expect(registryEmpty(repo)).toBe(true);
    }
    expect(readdirSync(repo.dir).filter((f) => f.endsWith('.md') || f.endsWith('.xml'))).toEqual([]);
  });

  it('under GitHub Actions: ::error annotations on stdout (stderr with --json) and the Markdown appended to the job summary', async () => {
    const repo = tempRepo({ files: predictionsProject(FAILING, GOOD) });
    const summary = join(repo.dir, '..', `summary-${Date.now()}.md`);
    writeFileSync(summary, '# earlier step\n');
    const env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
    const human = await repo.run(['run'], env);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^::error file=mlship.yaml,line=12,col=9,title=mlship gate m builtin.calibration.ece::builtin.calibration.ece [\d.]+ > max 0.01$/m);
    const json = await repo.run(['run', '--json'], env);
    expect(json.code).toBe(1);
    expect(json.json<{ passed: boolean }>().passed).toBe(false);
    expect(json.stderr).toContain('::error file=mlship.yaml,line=12');
    const text = readFileSync(summary, 'utf8');
    expect(text.startsWith('# earlier step\n')).toBe(true);
    expect(text.match(/## ❌ mlship run m: a gate failed, nothing registered/g)).toHaveLength(2);
    // A summary file in a folder that does not exist: exit 2 before any work.
    const bad = await repo.run(['run'], { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: join(repo.dir, 'no', 'such', 'file') });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('GITHUB_STEP_SUMMARY: the folder');
  });

  it('check --report/--junit, and diff --md / --report between two registered versions', async () => {
    const files = predictionsProject(GATES, GOOD);
    files['mlship.yaml'] = `${files['mlship.yaml'] as string}checks:\n  preds:\n    data: preds.csv\n    columns:\n      score: { type: number, min: 0, max: 1 }\n`;
    const repo = tempRepo({ files });
    const check = await repo.run(['check', '--report', 'check.md', '--junit', 'check.xml']);
    expect(check.code).toBe(0);
    expect(repo.read('check.md')).toContain('## ✅ mlship check: passed');
    expect(repo.read('check.xml')).toContain('<testcase classname="mlship.checks" name="preds"');

    expect((await repo.run(['run'])).code).toBe(0);
    repo.write('model.bin', 'weights v2\n');
    repo.write('preds.csv', GOOD.replace('1,pro,1,0.9', '1,pro,1,0.95'));
    repo.commitAll('v2');
    expect((await repo.run(['run'])).code).toBe(0);
    const md = await repo.run(['diff', 'm@1', 'm@2', '--md', '--report', 'diff.md']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('## mlship diff m v1 → v2');
    expect(md.stdout).toMatch(/\| <code>builtin.brier<\/code> \| [\d.]+ \| [\d.]+ \| -[\d.]+ \| -[\d.]+% \|/);
    expect(md.stdout).toContain('| <code>model</code> |');
    expect(repo.read('diff.md')).toBe(md.stdout);
    const both = await repo.run(['diff', 'm@1', 'm@2', '--md', '--json']);
    expect(both.code).toBe(2);
    expect(both.json<{ error: { message: string } }>().error.message).toBe('--md and --json cannot be combined');
  });
});

describe('init --ci', () => {
  it('writes the GitHub workflow or the GitLab pipeline, and refuses to overwrite without --force', async () => {
    const repo = tempRepo();
    const first = await repo.run(['init', '--ci', 'github', '--json']);
    expect(first.code).toBe(0);
    expect(first.json()).toMatchObject({ template: 'basic', ci: 'github', written: ['mlship.yaml', '.mlship/mlship.schema.json', '.gitignore', '.github/workflows/mlship.yml'] });
    const workflow = repo.read('.github/workflows/mlship.yml');
    expect(workflow).toContain('workflow_dispatch:');
    expect(workflow).toContain('mlship eval --report');
    // In a project that has mlship.yaml, --ci writes only the pipeline.
    const config = repo.read('mlship.yaml');
    const gitlab = await repo.run(['init', '--ci', 'gitlab']);
    expect(gitlab.code).toBe(0);
    expect(gitlab.stdout).toContain('created .gitlab-ci.yml (gitlab)');
    expect(repo.read('.gitlab-ci.yml')).toContain('junit:');
    expect(repo.read('mlship.yaml')).toBe(config);

    writeFileSync(join(repo.dir, '.github', 'workflows', 'mlship.yml'), 'mine\n');
    const refused = await repo.run(['init', '--ci', 'github']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('.github/workflows/mlship.yml already exists');
    expect(repo.read('.github/workflows/mlship.yml')).toBe('mine\n');
    const forced = await repo.run(['init', '--ci', 'github', '--force']);
    expect(forced.code).toBe(0);
    expect(repo.read('.github/workflows/mlship.yml')).toContain('name: mlship');
    expect(repo.read('mlship.yaml')).toBe(config);

    const unknown = await repo.run(['init', '--ci', 'jenkins']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("'jenkins' is invalid");
    // The CI folder is not a config template.
    const ci = await repo.run(['init', '--force', '--template', 'ci']);
    expect(ci.code).toBe(2);
    expect(ci.stderr).toContain("unknown template 'ci'");
  });
});
