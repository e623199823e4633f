/** `mlship run [MODEL]`: checks, push, evaluation, gates, register. */
import { runModel, type RegisterResult } from '../pipeline/register.js';
import { renderCheckSummary, renderGates, shortDigest } from '../output/render.js';
import type { Output } from '../output/index.js';
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

export const handle: Handler = async ({ args, options }, { project, output }) => {
  const p = project();
  const [model] = p.model(args[0] as string | undefined);
  const runner = optionString(options, 'runner') as 'local' | 'docker' | undefined;
  const result = await runModel(p, model, { push: options['push'] === true, ...(runner === undefined ? {} : { runner }) });
  return renderRegistration(result, output);
};
