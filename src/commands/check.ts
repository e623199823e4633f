/** `mlship check [NAME...]`: run data, schema and drift checks (exit 1 when one fails). */
import { runNamedChecks } from '../pipeline/checks.js';
import { failureAnnotations } from '../output/github.js';
import { renderJunit } from '../output/junit.js';
import { renderReport } from '../output/report.js';
import { reportTargets, withAnnotations, writeReports } from './reports.js';
import type { Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project, output, ctx }) => {
  const p = await project();
  const given = (args[0] as string[] | undefined) ?? [];
  const targets = reportTargets(options, ctx.cwd, ctx.env);
  const results = await runNamedChecks(p, given.length > 0 ? given : Object.keys(p.loaded.config.checks));
  const { renderChecks } = await import('../checks/render.js');
  const passed = results.every((r) => r.passed);
  const annotations = await writeReports(targets, {
    markdown: () => renderReport({ command: 'check', passed, checks: results, gates: [], metrics: {}, environments: [] }),
    junit: () => renderJunit({ name: 'mlship check', checks: results, gates: [] }),
    annotations: () => failureAnnotations({ checks: results, gates: [] }),
  });
  return withAnnotations({ json: { passed, checks: results }, human: results.length === 0 ? 'no checks are configured' : renderChecks(results), exitCode: passed ? 0 : 1 }, annotations, output);
};
