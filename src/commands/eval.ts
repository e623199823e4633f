/** `mlship eval [MODEL]`: run the evaluation and apply the gates (exit 1 when a gate fails). */
import { evaluateModel } from '../pipeline/evaluate.js';
import { failureAnnotations, parseWhere } from '../output/github.js';
import { renderJunit } from '../output/junit.js';
import { renderGates } from '../output/render.js';
import { renderReport } from '../output/report.js';
import { environmentMetrics, gateWhere, reportTargets, withAnnotations, writeReports } from './reports.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project, output, ctx }) => {
  const p = await project();
  const [model] = p.model(args[0] as string | undefined);
  const runner = optionString(options, 'runner') as 'local' | 'docker' | undefined;
  const targets = reportTargets(options, ctx.cwd, ctx.env);
  const result = await evaluateModel(p, model, runner === undefined ? {} : { runner });
  const environments = targets.report !== undefined || targets.summary !== undefined ? await environmentMetrics(p, model) : [];
  const where = gateWhere(p, model);
  const annotations = await writeReports(targets, {
    markdown: () => renderReport({ command: 'eval', model, passed: result.passed, digest: result.digest, checks: [], gates: result.gates, metrics: result.metrics, environments, omitted: result.builtin?.omitted ?? [] }),
    junit: () => renderJunit({ name: `mlship eval ${model}`, model, checks: [], gates: result.gates }),
    annotations: () => failureAnnotations({ model, checks: [], gates: result.gates, gateLocation: (i) => parseWhere(where(i)) }),
  });
  const c = output.color;
  return withAnnotations(
    {
      json: { model, passed: result.passed, metrics: result.metrics, gates: result.gates, runner: result.runner, digest: result.digest, outputs: result.outputs, ...(result.builtin !== undefined ? { builtin: result.builtin } : {}) },
      human: [`${model}: gates`, ...renderGates(c, result.gates), result.passed ? c.green(`${model}: passed`) : c.red(`${model}: a gate failed`)].join('\n'),
      exitCode: result.passed ? 0 : 1,
    },
    annotations,
    output,
  );
};
