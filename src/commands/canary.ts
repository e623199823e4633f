/**
 * `mlship canary verify MODEL --env ENV --metrics FILE [--auto]`: compare the canary's live metrics
 * with the stable version's (FILE: {"stable": {...}, "canary": {...}}) using the model's
 * `canary_gates`; with --auto, promote the canary fully or abort it. Exit 1 when a gate fails.
 */
import { relative, resolve } from 'node:path';
import { usageError } from '../errors.js';
import { renderGates } from '../output/render.js';
import { readMetricsDocument } from '../pipeline/metrics.js';
import { verifyCanary } from '../registry/operations.js';
import type { Metrics } from '../gates/index.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project, ctx, output }) => {
  if (args[0] !== 'verify') throw usageError('E_USAGE', `unknown canary action '${String(args[0])}'`, { hint: 'mlship canary verify MODEL --env ENV --metrics FILE [--auto]' });
  const env = optionString(options, 'env');
  const file = optionString(options, 'metrics');
  if (env === undefined || file === undefined) throw usageError('E_USAGE', 'canary verify needs --env ENV and --metrics FILE', { hint: 'FILE holds {"stable": {...}, "canary": {...}} live metrics' });
  const full = resolve(ctx.cwd, file);
  const shown = relative(ctx.cwd, full) || file;
  const doc = await readMetricsDocument(full, shown);
  for (const key of ['stable', 'canary'] as const) {
    const part = doc[key];
    if (part === undefined || typeof part === 'number') {
      throw usageError('E_METRICS', `${shown}: expected an object under '${key}'`, { hint: 'write {"stable": {"error_rate": 0.01}, "canary": {"error_rate": 0.012}}' });
    }
  }
  const p = await project();
  const [model] = p.model(args[1] as string | undefined);
  const reason = optionString(options, 'reason');
  const verdict = await verifyCanary(p, model, env, { stable: doc['stable'] as Metrics, canary: doc['canary'] as Metrics }, {
    auto: options['auto'] === true,
    push: options['push'] === true,
    ...(reason === undefined ? {} : { reason }),
  });
  const c = output.color;
  const outcome = verdict.appended === null ? '' : verdict.passed ? `\n${model} v${verdict.canary} promoted fully in ${env}` : `\ncanary aborted: ${env} is back to v${verdict.stable} alone`;
  return {
    json: verdict,
    human: `${model} canary v${verdict.canary} (${verdict.weight}%) vs stable v${verdict.stable} in ${env}\n${renderGates(c, verdict.gates).join('\n')}\n${verdict.passed ? c.green('canary passed') : c.red('canary failed')}${outcome}`,
    exitCode: verdict.passed ? 0 : 1,
  };
};
