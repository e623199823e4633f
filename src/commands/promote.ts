/** `mlship promote MODEL@REF --to ENV [--reason TEXT] [--force] [--push]`. */
import { usageError } from '../errors.js';
import { promote } from '../registry/operations.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project }) => {
  const env = optionString(options, 'to');
  if (env === undefined) throw usageError('E_USAGE', 'promote needs --to ENV', { hint: 'e.g. mlship promote churn@3 --to production' });
  const reason = optionString(options, 'reason');
  const canaryText = optionString(options, 'canary');
  const canary = canaryText === undefined ? undefined : Number(canaryText.replace(/%$/, ''));
  if (canary !== undefined && !Number.isFinite(canary)) throw usageError('E_USAGE', `--canary takes a percentage, got '${canaryText}'`, { hint: 'e.g. --canary 10' });
  const result = await promote(await project(), args[0] as string, env, {
    force: options['force'] === true,
    push: options['push'] === true,
    ...(reason === undefined ? {} : { reason }),
    ...(canary === undefined ? {} : { canary }),
  });
  const event = result.event;
  return {
    json: { model: result.model, version: result.version, env: result.env, event: result.event, unchanged: result.unchanged },
    human: result.unchanged
      ? `${result.model} v${result.version} is already live in ${result.env}${canary !== undefined ? ` at ${canary}%` : ''}: nothing to do`
      : event?.type === 'canary'
        ? `${result.model} v${result.version} is a canary in ${result.env}, taking ${event.weight}% of the traffic next to v${event.stable}${event.forced === true ? ' — FORCED' : ''}`
        : `${result.model} v${result.version} promoted to ${result.env}${event?.from != null ? ` (was v${event.from})` : ''}${event?.forced === true ? ' — FORCED' : ''}`,
    exitCode: 0,
  };
};
