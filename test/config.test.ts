import { describe, expect, it } from 'vitest';
import { formatProblem, parseConfig } from '../src/config/load.js';
import { closest } from '../src/config/suggest.js';
import { configJsonSchema } from '../src/config/json-schema.js';
import { readFileSync } from 'node:fs';

const problems = (text: string) => {
  const result = parseConfig(text, 'mlship.yaml');
  if (result.ok) throw new Error('expected problems');
  return result.problems.map(formatProblem);
};

const MODEL = `
models:
  churn:
    artifacts: { model: m.json }
    evaluate:
      command: [python3, eval.py, '\${artifacts.model}', '\${outputs}']
`;

describe('parseConfig', () => {
  it('accepts the minimal file and fills the defaults', () => {
    const result = parseConfig(`version: 1\n${MODEL}`, 'mlship.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.store).toBe('file://.mlship/store');
    expect(result.config.registry).toBe('.mlship/registry');
    const churn = result.config.models['churn'];
    expect(churn?.environments).toEqual(['staging', 'production']);
    expect(churn?.evaluate?.runner).toBe('local');
    expect(churn?.evaluate?.metrics).toBe('metrics.json');
    expect(result.where(['models', 'churn', 'artifacts', 'model'])).toBe('mlship.yaml:5:25 models.churn.artifacts.model');
  });

  it('reports every problem at once with line, column and key path', () => {
    const text = `version: 1
stroe: file://x
models:
  churn:
    artifacts: { model: m.json }
    evaluate:
      runner: lokal
      command: [python3]
    gates:
      - { metric: accuracy, min: high }
      - { metric: auc }
`;
    expect(problems(text)).toEqual([
      "mlship.yaml:2:1 stroe: unknown key (did you mean 'store'?)",
      'mlship.yaml:7:15 models.churn.evaluate.runner: expected one of "local", "docker", got "lokal" (did you mean \'local\'?)',
      'mlship.yaml:10:34 models.churn.gates[0].min: expected a number, got string "high"',
      'mlship.yaml:11:9 models.churn.gates[1]: a gate needs a bound: min, max, or vs with max_drop/min_gain/max_drop_pct/min_gain_pct',
    ]);
  });

  it('names a missing required key at its parent', () => {
    expect(problems(`models: {}\n`)).toEqual(['mlship.yaml:1:1 version: required (1)']);
    expect(problems(`version: 1\nmodels:\n  m:\n    environments: [a]\n`)).toEqual(['mlship.yaml:4:5 models.m.artifacts: required (a mapping)']);
  });

  it('refuses malformed YAML, duplicate keys and empty files', () => {
    expect(problems('version: 1\nmodels: [\n')[0]).toMatch(/^mlship\.yaml:\d+:\d+: invalid YAML/);
    expect(problems('version: 1\nversion: 1\n')[0]).toMatch(/^mlship\.yaml:2:1: duplicate key/);
    expect(problems('')[0]).toBe("mlship.yaml:1:1: the file is empty; it needs at least 'version: 1' and 'models:'");
  });

  it('refuses unknown placeholders with a suggestion', () => {
    const text = `version: 1\nmodels:\n  m:\n    artifacts: { model: m.json }\n    evaluate:\n      command: [run, '\${artifacts.modle}']\n`;
    expect(problems(text)).toEqual(['mlship.yaml:6:22 models.m.evaluate.command[1]: unknown placeholder ${artifacts.modle} (did you mean ${artifacts.model}?)']);
  });

  it('checks cross references: vs environments, policy environments, model checks', () => {
    const text = `version: 1
models:
  m:
    artifacts: { model: m.json }
    gates: [{ metric: auc, vs: prod, max_drop: 0.1 }]
    checks: [nope]
    policy: { live: { approvals: 1 } }
`;
    expect(problems(text)).toEqual([
      "mlship.yaml:5:32 models.m.gates[0].vs: unknown environment 'prod' (environments: staging, production)",
      "mlship.yaml:6:14 models.m.checks[0]: unknown check 'nope'",
      "mlship.yaml:7:15 models.m.policy.live: unknown environment 'live' (environments: staging, production)",
    ]);
  });

  it('expands YAML aliases but refuses alias bombs', () => {
    const bomb = ['version: 1', 'a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(problems(bomb)[0]).toMatch(/cannot be expanded|alias/i);
  });

  it('accepts a BOM and the S3 object form of the store', () => {
    const result = parseConfig(`\uFEFFversion: 1\nstore: { url: s3://b/p, region: eu-west-1, sse: aws:kms, kmsKeyId: alias/x }\n${MODEL}`, 'mlship.yaml');
    expect(result.ok).toBe(true);
    expect(problems(`version: 1\nstore: { url: s3://b/p, regoin: x }\n${MODEL}`)).toEqual(["mlship.yaml:2:25 store.regoin: unknown key (did you mean 'region'?)"]);
  });
});

describe('closest', () => {
  it.each([
    ['stroe', ['store', 'registry'], 'store'],
    ['modles', ['models', 'version'], 'models'],
    ['xyz', ['models', 'version'], undefined],
  ])('%s -> %s', (input, candidates, expected) => {
    expect(closest(input, candidates)).toBe(expected);
  });
});

describe('JSON Schema', () => {
  it('is generated from the zod schema and the shipped copy is current', () => {
    const shipped = JSON.parse(readFileSync(new URL('../templates/mlship.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(shipped).toEqual(configJsonSchema());
  });
});
