/** Markdown reports, JUnit XML and GitHub annotations: pure renderings, escaping included. */
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../src/checks/types.js';
import type { GateResult } from '../src/gates/index.js';
import { errorCommand, failureAnnotations, parseWhere } from '../src/output/github.js';
import { escapeXml, renderJunit } from '../src/output/junit.js';
import { escapeCell, renderDiffReport, renderReport } from '../src/output/report.js';

const gates: GateResult[] = [
  { metric: 'accuracy', passed: true, value: 0.91, reason: 'accuracy 0.91 >= min 0.8' },
  { metric: 'auc', passed: false, value: 0.812, reason: 'auc 0.812 < 0.82 = production v3 0.83 - max_drop 0.01', vs: 'production', baseline: { version: 3, value: 0.83 } },
];

const checks: CheckResult[] = [
  {
    name: 'train|schema',
    kind: 'dataset',
    passed: false,
    failures: [{ dataset: 'data/train.csv', column: 'age', rule: 'max', expected: 120, observed: 150, failing: 2, examples: [130, 150], rows: [4, 9], message: 'age: 2 rows above max 120 <b>(130, 150)</b>' }],
    stats: { dataset: 'data/train.csv', rows: 1000, ms: 12 },
  },
  {
    name: 'recent-drift',
    kind: 'drift',
    passed: true,
    failures: [],
    stats: { reference: 'data/train.csv', current: 'data/recent.csv', columns: { age: { method: 'psi', score: 0.0123, max: 0.2 } } },
  },
];

describe('Markdown report', () => {
  it('escapes what would break a table or inject HTML', () => {
    expect(escapeCell('a|b <script>x</script> *y* `z`\nnext')).toBe('a\\|b &lt;script&gt;x&lt;/script&gt; \\*y\\* \\`z\\` next');
  });

  it('eval/run: headline, checks with failures, drift, gates with reasons, metrics against each environment', () => {
    const md = renderReport({
      command: 'run',
      model: 'churn',
      passed: false,
      version: null,
      digest: 'sha256:86c74cb30332aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      checks,
      gates,
      metrics: { accuracy: 0.91, auc: 0.812, builtin: { groups: { plan: { pro: { count: 3 } } } } },
      environments: [
        { env: 'staging', version: null, metrics: null },
        { env: 'production', version: 3, metrics: { accuracy: 0.9, auc: 0.83 } },
      ],
      omitted: [{ metric: 'builtin.roc_auc', reason: 'only one class is present' }],
    });
    expect(md).toContain('## ❌ mlship run churn: a check failed, nothing registered');
    expect(md).toContain('1/2 checks passed · 1/2 gates passed · digest <code>sha256:86c74cb30332</code>');
    expect(md).toContain('| ❌ | <code>train&#124;schema</code> | dataset | data/train.csv | 1 failure |');
    expect(md).toContain('- age: 2 rows above max 120 &lt;b&gt;(130, 150)&lt;/b&gt; (rows 4, 9)');
    expect(md).toContain('| ✅ | <code>recent-drift</code> | <code>age</code> | psi | 0.0123 | 0.2 |');
    expect(md).toContain('| ❌ | <code>auc</code> | 0.812 | auc 0.812 &lt; 0.82 = production v3 0.83 - max\\_drop 0.01 |');
    expect(md).toContain('| metric | candidate | staging (nothing live) | Δ | production v3 | Δ |');
    // Gated metrics first; the delta against production with its relative change.
    expect(md).toContain('| <code>accuracy</code> | 0.91 | – | – | 0.9 | +0.01 (+1.11%) |');
    expect(md).toContain('| <code>auc</code> | 0.812 | – | – | 0.83 | -0.018 (-2.17%) |');
    expect(md).toContain('<details><summary>Per-group metrics (1)</summary>');
    expect(md).toContain('- <code>builtin.roc_auc</code>: only one class is present');
  });

  it('check: no gates section, no metrics', () => {
    const md = renderReport({ command: 'check', passed: true, checks: [checks[1] as CheckResult], gates: [], metrics: {}, environments: [] });
    expect(md).toBe(
      [
        '## ✅ mlship check: passed',
        '',
        '1/1 checks passed',
        '',
        '### Checks',
        '',
        '|  | check | kind | data | result |',
        '| --- | --- | --- | --- | --- |',
        '| ✅ | <code>recent-drift</code> | drift | data/train.csv → data/recent.csv |  |',
        '',
        '### Drift',
        '',
        '|  | check | column | method | score | max |',
        '| --- | --- | --- | --- | --- | --- |',
        '| ✅ | <code>recent-drift</code> | <code>age</code> | psi | 0.0123 | 0.2 |',
        '',
      ].join('\n'),
    );
  });

  it('diff: metrics with deltas, changed artifacts, gates and checks that changed', () => {
    const md = renderDiffReport({
      model: 'churn',
      a: { version: 1, digest: 'sha256:aa', commit: null },
      b: { version: 2, digest: 'sha256:bb', commit: null },
      metrics: [
        { metric: 'accuracy', a: 0.846667, b: 0.843333, delta: -0.003334, relative: -0.003938 },
        { metric: 'new', a: null, b: 1, delta: null, relative: null },
      ],
      artifacts: [
        { name: 'model', a: 'sha256:ec487a947e70ffff', b: 'sha256:926c4b6ab8f9ffff', changed: true },
        { name: 'train', a: 'sha256:11', b: 'sha256:11', changed: false },
      ],
      gates: [{ metric: 'accuracy', a: true, b: false }],
      checks: [{ name: 'schema', a: true, b: true, changed: false }],
    });
    expect(md).toContain('## mlship diff churn v1 → v2');
    expect(md).toContain('| <code>accuracy</code> | 0.846667 | 0.843333 | -0.003334 | -0.39% |');
    expect(md).toContain('| <code>new</code> | – | 1 | – | – |');
    expect(md).toContain('| <code>model</code> | <code>sha256:ec487a947e70</code> | <code>sha256:926c4b6ab8f9</code> |');
    expect(md).not.toContain('train');
    expect(md).toContain('### Gates that changed');
    expect(md).not.toContain('### Checks that changed');
  });
});

describe('JUnit XML', () => {
  it('escapes the five XML specials and replaces characters XML cannot carry', () => {
    expect(escapeXml(`a<b>&"c'\u0001\uD800`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;\uFFFD\uFFFD');
  });

  it('checks and gates as test cases, failures with message and body', () => {
    const xml = renderJunit({ name: 'mlship run churn', model: 'churn', checks, gates });
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="mlship run churn" tests="4" failures="2" errors="0">',
        '  <testsuite name="checks" tests="2" failures="1" errors="0" skipped="0" time="0.012">',
        '    <testcase classname="mlship.checks" name="train|schema" time="0.012">',
        '      <failure message="age: 2 rows above max 120 &lt;b&gt;(130, 150)&lt;/b&gt;" type="check">age: 2 rows above max 120 &lt;b&gt;(130, 150)&lt;/b&gt;</failure>',
        '    </testcase>',
        '    <testcase classname="mlship.checks" name="recent-drift"/>',
        '  </testsuite>',
        '  <testsuite name="gates churn" tests="2" failures="1" errors="0" skipped="0" time="0.000">',
        '    <testcase classname="mlship.gates.churn" name="1: accuracy"/>',
        '    <testcase classname="mlship.gates.churn" name="2: auc vs production">',
        '      <failure message="auc 0.812 &lt; 0.82 = production v3 0.83 - max_drop 0.01" type="gate">auc 0.812 &lt; 0.82 = production v3 0.83 - max_drop 0.01</failure>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });

  it('check without checks is one empty suite', () => {
    expect(renderJunit({ name: 'mlship check', checks: [], gates: [] })).toContain('<testsuite name="checks" tests="0" failures="0"');
  });
});

describe('GitHub annotations', () => {
  it('escapes data and properties like @actions/core', () => {
    expect(errorCommand('50% done\r\nnext', { title: 'a:b,c', file: 'x.csv', line: 3 })).toBe('::error file=x.csv,line=3,title=a%3Ab%2Cc::50%25 done%0D%0Anext');
  });

  it('parses the config loader position of a gate', () => {
    expect(parseWhere('mlship.yaml:20:9 models.churn.gates[1]')).toEqual({ file: 'mlship.yaml', line: 20, col: 9 });
    expect(parseWhere('no position')).toBeUndefined();
  });

  it('one ::error per failed check finding (at its data line) and per failed gate (at its config line)', () => {
    expect(failureAnnotations({ model: 'churn', checks, gates, gateLocation: (i) => ({ file: 'mlship.yaml', line: 20 + i, col: 9 }) })).toEqual([
      '::error file=data/train.csv,line=5,title=mlship check train|schema::age: 2 rows above max 120 <b>(130, 150)</b> (rows 4, 9)',
      '::error file=mlship.yaml,line=21,col=9,title=mlship gate churn auc::auc 0.812 < 0.82 = production v3 0.83 - max_drop 0.01',
    ]);
  });
});
