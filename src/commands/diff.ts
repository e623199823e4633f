/** `mlship diff MODEL@A MODEL@B`: metrics with deltas, changed artifacts, checks that changed status. */
import { usageError } from '../errors.js';
import { diff } from '../registry/operations.js';
import { formatNumber } from '../gates/index.js';
import { shortDigest, table } from '../output/render.js';
import { renderDiffReport } from '../output/report.js';
import { reportTargets, writeReports } from './reports.js';
import type { Handler } from './types.js';

const num = (n: number | null) => (n === null ? '-' : formatNumber(n));

export const handle: Handler = async ({ args, options }, { project, output, ctx }) => {
  const md = options['md'] === true;
  if (md && output.json) throw usageError('E_USAGE', '--md and --json cannot be combined', { hint: 'use --md for Markdown on stdout, --json for a JSON document, --report FILE for a Markdown file' });
  const targets = reportTargets(options, ctx.cwd, ctx.env, { junit: false });
  const result = await diff(await project(), args[0] as string, args[1] as string);
  // A diff has no verdict: no annotations, but the Markdown goes to --report and the job summary.
  await writeReports(targets, { markdown: () => renderDiffReport(result) });
  if (md) return { json: result, human: renderDiffReport(result).trimEnd(), exitCode: 0 };
  const lines = [`${result.model} v${result.a.version} -> v${result.b.version}`, ''];
  lines.push(
    ...table([
      ['METRIC', `v${result.a.version}`, `v${result.b.version}`, 'DELTA', 'REL'],
      ...result.metrics.map((m) => [m.metric, num(m.a), num(m.b), m.delta === null ? '-' : `${m.delta >= 0 ? '+' : ''}${formatNumber(m.delta)}`, m.relative === null ? '-' : `${m.relative >= 0 ? '+' : ''}${(m.relative * 100).toFixed(2)}%`]),
    ]),
  );
  const changed = result.artifacts.filter((a) => a.changed);
  lines.push('', changed.length === 0 ? 'artifacts: unchanged' : 'artifacts changed:', ...changed.map((a) => `  ${a.name}: ${a.a === null ? '-' : shortDigest(a.a)} -> ${a.b === null ? '-' : shortDigest(a.b)}`));
  const checks = result.checks.filter((c) => c.changed);
  if (checks.length > 0) lines.push('checks changed:', ...checks.map((c) => `  ${c.name}: ${c.a === null ? '-' : c.a ? 'pass' : 'fail'} -> ${c.b === null ? '-' : c.b ? 'pass' : 'fail'}`));
  return { json: result, human: lines.join('\n'), exitCode: 0 };
};
