/**
 * Markdown reports (`--report FILE.md`, GitHub job summaries, `diff --md`). Pure: results in, text out.
 * Every piece of text that comes from data (reasons, messages, names) goes through `escapeCell`, so a
 * column called `a|b` or a value with `<script>` cannot break the table or inject HTML into a PR comment.
 */
import type { CheckResult } from '../checks/types.js';
import { flattenMetrics, formatNumber, type GateResult, type Metrics } from '../gates/index.js';
import type { Omission } from '../metrics/builtin.js';
import type { DiffResult } from '../registry/operations.js';

/** What is live in one environment, for the "metrics against each environment" table. */
export interface EnvironmentMetrics {
  env: string;
  /** The live version, or null when nothing is live there yet. */
  version: number | null;
  metrics: Metrics | null;
}

export interface ReportInput {
  command: 'eval' | 'run' | 'check';
  /** Absent for `check`, which is about the project's data, not one model. */
  model?: string;
  passed: boolean;
  /** `run`: the version registered (null when nothing was). */
  version?: number | null;
  digest?: string;
  checks: readonly CheckResult[];
  gates: readonly GateResult[];
  metrics: Metrics;
  environments: readonly EnvironmentMetrics[];
  /** Builtin metrics that could not be computed. */
  omitted?: readonly Omission[];
}

/** Escape text for a GitHub-flavoured Markdown table cell (also safe outside tables). */
export function escapeCell(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#~])/g, '\\$1');
}

const code = (text: string): string => `<code>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '&#124;').replace(/\r?\n/g, ' ')}</code>`;

const icon = (passed: boolean): string => (passed ? '✅' : '❌');

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

const signed = (n: number): string => `${n >= 0 ? '+' : ''}${formatNumber(n)}`;
const percent = (n: number): string => `${n >= 0 ? '+' : ''}${(n * 100).toFixed(2)}%`;

function gatesSection(gates: readonly GateResult[]): string[] {
  if (gates.length === 0) return ['### Gates', '', 'No gates are configured.'];
  const rows = gates.map((g) => [icon(g.passed), code(g.metric), g.value === null ? '–' : formatNumber(g.value), escapeCell(g.reason)]);
  return ['### Gates', '', ...table(['', 'metric', 'value', 'reason'], rows)];
}

const MAX_FAILURES = 10;

function checksSection(checks: readonly CheckResult[]): string[] {
  if (checks.length === 0) return [];
  const rows = checks.map((c) => {
    const stats = c.stats ?? {};
    const data = String(c.kind === 'drift' ? `${String(stats.reference ?? '')} → ${String(stats.current ?? '')}` : (stats.dataset ?? ''));
    const detail = c.passed ? (typeof stats.rows === 'number' ? `${stats.rows} rows` : '') : `${c.failures.length} failure${c.failures.length === 1 ? '' : 's'}`;
    return [icon(c.passed), code(c.name), c.kind, escapeCell(data), escapeCell(detail)];
  });
  const lines = ['### Checks', '', ...table(['', 'check', 'kind', 'data', 'result'], rows)];
  for (const c of checks.filter((x) => !x.passed)) {
    lines.push('', `**${escapeCell(c.name)}**`, '');
    for (const f of c.failures.slice(0, MAX_FAILURES)) lines.push(`- ${escapeCell(f.message)}${f.rows.length > 0 ? ` (row${f.rows.length > 1 ? 's' : ''} ${f.rows.join(', ')})` : ''}`);
    if (c.failures.length > MAX_FAILURES) lines.push(`- … and ${c.failures.length - MAX_FAILURES} more`);
  }
  return lines;
}

interface DriftColumn {
  method?: string;
  score?: number;
  max?: number;
}

function driftSection(checks: readonly CheckResult[]): string[] {
  const rows: string[][] = [];
  for (const c of checks.filter((x) => x.kind === 'drift')) {
    const columns = ((c.stats ?? {}).columns ?? {}) as Record<string, DriftColumn>;
    for (const [column, d] of Object.entries(columns)) {
      const failed = c.failures.some((f) => f.column === column);
      rows.push([icon(!failed), code(c.name), code(column), escapeCell(d.method ?? ''), typeof d.score === 'number' ? formatNumber(d.score) : '–', typeof d.max === 'number' ? formatNumber(d.max) : '–']);
    }
  }
  return rows.length === 0 ? [] : ['### Drift', '', ...table(['', 'check', 'column', 'method', 'score', 'max'], rows)];
}

const isGroupMetric = (name: string): boolean => name.startsWith('builtin.groups.');

function metricsSection(input: ReportInput): string[] {
  const candidate = flattenMetrics(input.metrics);
  const names = Object.keys(candidate);
  if (names.length === 0) return [];
  const envs = input.environments.map((e) => ({ ...e, flat: e.metrics === null ? null : flattenMetrics(e.metrics) }));
  const header = ['metric', 'candidate', ...envs.flatMap((e) => [escapeCell(e.version === null ? `${e.env} (nothing live)` : `${e.env} v${e.version}`), 'Δ'])];
  const row = (name: string): string[] => {
    const v = candidate[name] as number;
    const cells = [code(name), formatNumber(v)];
    for (const e of envs) {
      const base = e.flat?.[name];
      cells.push(base === undefined ? '–' : formatNumber(base), base === undefined ? '–' : `${signed(v - base)}${base !== 0 ? ` (${percent((v - base) / Math.abs(base))})` : ''}`);
    }
    return cells;
  };
  const gated = new Set(input.gates.map((g) => g.metric));
  // Gated metrics first, then the rest in document order; per-group metrics fold away (there can be hundreds).
  const main = [...names.filter((n) => gated.has(n)), ...names.filter((n) => !gated.has(n) && !isGroupMetric(n))];
  const groups = names.filter((n) => !gated.has(n) && isGroupMetric(n));
  const lines = ['### Metrics', '', ...table(header, main.map(row))];
  if (groups.length > 0) lines.push('', `<details><summary>Per-group metrics (${groups.length})</summary>`, '', ...table(header, groups.map(row)), '', '</details>');
  const omitted = input.omitted ?? [];
  if (omitted.length > 0) {
    lines.push('', `<details><summary>Not computed (${omitted.length})</summary>`, '', ...omitted.map((o) => `- ${code(o.metric)}: ${escapeCell(o.reason)}`), '', '</details>');
  }
  return lines;
}

function headline(input: ReportInput): string {
  const subject = input.model !== undefined ? ` ${escapeCell(input.model)}` : '';
  const verdict = input.passed ? 'passed' : input.checks.some((c) => !c.passed) ? 'a check failed' : 'a gate failed';
  const registered = input.command === 'run' ? (input.version !== undefined && input.version !== null ? `, registered v${input.version}` : ', nothing registered') : '';
  return `## ${icon(input.passed)} mlship ${input.command}${subject}: ${verdict}${registered}`;
}

/** The Markdown report of `eval`, `run` or `check`. */
export function renderReport(input: ReportInput): string {
  const failedGates = input.gates.filter((g) => !g.passed).length;
  const failedChecks = input.checks.filter((c) => !c.passed).length;
  const counts = [
    input.checks.length > 0 ? `${input.checks.length - failedChecks}/${input.checks.length} checks passed` : '',
    input.command !== 'check' ? `${input.gates.length - failedGates}/${input.gates.length} gates passed` : '',
    input.digest !== undefined ? `digest ${code(input.digest.slice(0, 19))}` : '',
  ].filter((x) => x !== '');
  const sections = [
    [headline(input), '', counts.join(' · ')],
    checksSection(input.checks),
    driftSection(input.checks),
    input.command !== 'check' ? gatesSection(input.gates) : [],
    metricsSection(input),
  ].filter((s) => s.length > 0);
  return `${sections.map((s) => s.join('\n').trimEnd()).join('\n\n')}\n`;
}

const num = (n: number | null): string => (n === null ? '–' : formatNumber(n));
const pass = (p: boolean | null): string => (p === null ? '–' : p ? 'pass' : 'fail');

/** `mlship diff --md` and `diff --report`. */
export function renderDiffReport(diff: DiffResult): string {
  const a = `v${diff.a.version}`;
  const b = `v${diff.b.version}`;
  const lines = [`## mlship diff ${escapeCell(diff.model)} ${a} → ${b}`, ''];
  const main = diff.metrics.filter((m) => !isGroupMetric(m.metric));
  const groups = diff.metrics.filter((m) => isGroupMetric(m.metric));
  const row = (m: DiffResult['metrics'][number]) => [code(m.metric), num(m.a), num(m.b), m.delta === null ? '–' : signed(m.delta), m.relative === null ? '–' : percent(m.relative)];
  const header = ['metric', a, b, 'Δ', 'relative'];
  lines.push('### Metrics', '', ...(main.length === 0 ? ['No metrics.'] : table(header, main.map(row))));
  if (groups.length > 0) lines.push('', `<details><summary>Per-group metrics (${groups.length})</summary>`, '', ...table(header, groups.map(row)), '', '</details>');
  const changed = diff.artifacts.filter((x) => x.changed);
  lines.push('', '### Artifacts', '');
  if (changed.length === 0) lines.push('Unchanged.');
  else lines.push(...table(['artifact', a, b], changed.map((x) => [code(x.name), x.a === null ? '–' : code(x.a.slice(0, 19)), x.b === null ? '–' : code(x.b.slice(0, 19))])));
  const gates = diff.gates.filter((g) => g.a !== g.b);
  if (gates.length > 0) lines.push('', '### Gates that changed', '', ...table(['gate', a, b], gates.map((g) => [code(g.metric), pass(g.a), pass(g.b)])));
  const checks = diff.checks.filter((c) => c.changed);
  if (checks.length > 0) lines.push('', '### Checks that changed', '', ...table(['check', a, b], checks.map((c) => [code(c.name), pass(c.a), pass(c.b)])));
  return `${lines.join('\n')}\n`;
}
