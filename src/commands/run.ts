/** `mlship run [MODEL]`: checks, push, evaluation, gates, register. */
import { runModel, type RegisterResult } from '../pipeline/register.js';
import { failureAnnotations, parseWhere } from '../output/github.js';
import { renderJunit } from '../output/junit.js';
import { renderCheckSummary, renderGates, shortDigest } from '../output/render.js';
import { renderReport } from '../output/report.js';
import type { Output } from '../output/index.js';
import { environmentMetrics, gateWhere, reportTargets, withAnnotations, writeReports } from './reports.js';
import { optionString, type Handler } from './types.js';

export function renderRegistration(result: RegisterResult, output: Output): { json: unknown; human: string; exitCode: number } {
  const c = output.color;
  const lines: string[] = [];
  if (result.checks.length > 0) lines.push('checks', ...renderCheckSummary(c, result.checks));
  if (result.gates.length > 0 || result.passed) lines.push('gates', ...renderGates(c, result.gates));
  lines.push(
    result.passed
      ? c.green(`${result.model} v${result.version} registered (${shortDigest(result.digest)})`)
      : c.red(`${result.model}: ${result.checks.some((x) => !x.passed) ? 'a check failed' : 'a gate failed'}; nothing was registered`),
  );
  const { event, artifacts, ...rest } = result;
  return {
    json: { ...rest, artifacts, event },
    human: lines.join('\n'),
    exitCode: result.passed ? 0 : 1,
  };
}

export const handle: Handler = async ({ args, options }, { project, output, ctx }) => {
  const p = await project();
  const [model] = p.model(args[0] as string | undefined);
  const runner = optionString(options, 'runner') as 'local' | 'docker' | undefined;
  const targets = reportTargets(options, ctx.cwd, ctx.env);
  const result = await runModel(p, model, { push: options['push'] === true, ...(runner === undefined ? {} : { runner }) });
  const environments = targets.report !== undefined || targets.summary !== undefined ? await environmentMetrics(p, model) : [];
  const where = gateWhere(p, model);
  const annotations = await writeReports(targets, {
    markdown: () => renderReport({ command: 'run', model, passed: result.passed, version: result.version, digest: result.digest, checks: result.checks, gates: result.gates, metrics: result.metrics, environments }),
    junit: () => renderJunit({ name: `mlship run ${model}`, model, checks: result.checks, gates: result.gates }),
    annotations: () => failureAnnotations({ model, checks: result.checks, gates: result.gates, gateLocation: (i) => parseWhere(where(i)) }),
  });
  return withAnnotations(renderRegistration(result, output), annotations, output);
};
