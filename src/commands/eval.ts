/** `mlship eval [MODEL]`: run the evaluation and apply the gates (exit 1 when a gate fails). */
import { evaluateModel } from '../pipeline/evaluate.js';
import { renderGates } from '../output/render.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project, output }) => {
  const p = project();
  const [model] = p.model(args[0] as string | undefined);
  const runner = optionString(options, 'runner') as 'local' | 'docker' | undefined;
  const result = await evaluateModel(p, model, runner === undefined ? {} : { runner });
  const c = output.color;
  return {
    json: { model, passed: result.passed, metrics: result.metrics, gates: result.gates, runner: result.runner, digest: result.digest, outputs: result.outputs },
    human: [`${model}: gates`, ...renderGates(c, result.gates), result.passed ? c.green(`${model}: passed`) : c.red(`${model}: a gate failed`)].join('\n'),
    exitCode: result.passed ? 0 : 1,
  };
};
