/**
 * JUnit XML (`--junit FILE.xml`): each check and each gate is a test case, so CI systems (GitHub,
 * GitLab, Jenkins) list them in their test tabs. Pure: results in, text out. No timestamps, so the
 * same results give the same bytes.
 */
import type { CheckResult } from '../checks/types.js';
import type { GateResult } from '../gates/index.js';

export interface JunitInput {
  /** e.g. `mlship run churn`. */
  name: string;
  /** The model the gates belong to (absent for `check`). */
  model?: string;
  checks: readonly CheckResult[];
  gates: readonly GateResult[];
}

/**
 * Escape text for XML attributes and character data. Characters XML 1.0 cannot carry at all (most C0
 * controls, lone surrogates, U+FFFE/U+FFFF) are replaced with U+FFFD rather than written raw.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

interface Case {
  classname: string;
  name: string;
  /** Seconds, when known. */
  time?: number;
  failure?: { message: string; type: string; body: string };
}

function suite(name: string, cases: Case[]): string[] {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const time = cases.reduce((sum, c) => sum + (c.time ?? 0), 0);
  const lines = [`  <testsuite name="${escapeXml(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="${time.toFixed(3)}">`];
  for (const c of cases) {
    const open = `    <testcase classname="${escapeXml(c.classname)}" name="${escapeXml(c.name)}"${c.time !== undefined ? ` time="${c.time.toFixed(3)}"` : ''}`;
    if (c.failure === undefined) lines.push(`${open}/>`);
    else {
      lines.push(`${open}>`, `      <failure message="${escapeXml(c.failure.message)}" type="${escapeXml(c.failure.type)}">${escapeXml(c.failure.body)}</failure>`, '    </testcase>');
    }
  }
  lines.push('  </testsuite>');
  return lines;
}

function checkCase(check: CheckResult): Case {
  const ms = check.stats?.ms;
  const time = typeof ms === 'number' ? ms / 1000 : undefined;
  const base: Case = { classname: 'mlship.checks', name: check.name, ...(time !== undefined ? { time } : {}) };
  if (check.passed) return base;
  const messages = check.failures.map((f) => f.message);
  return { ...base, failure: { type: check.kind === 'drift' ? 'drift' : 'check', message: messages[0] ?? 'failed', body: messages.join('\n') } };
}

function gateCase(model: string | undefined, gate: GateResult, index: number): Case {
  const base: Case = { classname: `mlship.gates${model !== undefined ? `.${model}` : ''}`, name: `${index + 1}: ${gate.metric}${gate.vs !== undefined ? ` vs ${gate.vs}` : ''}` };
  return gate.passed ? base : { ...base, failure: { type: 'gate', message: gate.reason, body: gate.reason } };
}

export function renderJunit(input: JunitInput): string {
  const checks = input.checks.map(checkCase);
  const gates = input.gates.map((g, i) => gateCase(input.model, g, i));
  const all = [...checks, ...gates];
  const failures = all.filter((c) => c.failure !== undefined).length;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${escapeXml(input.name)}" tests="${all.length}" failures="${failures}" errors="0">`];
  if (checks.length > 0 || input.model === undefined) lines.push(...suite('checks', checks));
  if (input.model !== undefined) lines.push(...suite(`gates ${input.model}`, gates));
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
