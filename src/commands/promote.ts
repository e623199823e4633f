/** `mlship promote MODEL@REF --to ENV [--reason TEXT] [--force] [--push]`. */
import { usageError } from '../errors.js';
import { promote } from '../registry/operations.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project }) => {
  const env = optionString(options, 'to');
  if (env === undefined) throw usageError('E_USAGE', 'promote needs --to ENV', { hint: 'e.g. mlship promote churn@3 --to production' });
  const reason = optionString(options, 'reason');
  const result = await promote(project(), args[0] as string, env, { force: options['force'] === true, push: options['push'] === true, ...(reason === undefined ? {} : { reason }) });
  return {
    json: { model: result.model, version: result.version, env: result.env, event: result.event, unchanged: result.unchanged },
    human: result.unchanged
      ? `${result.model} v${result.version} is already live in ${result.env}: nothing to do`
      : `${result.model} v${result.version} promoted to ${result.env}${result.event?.from != null ? ` (was v${result.event.from})` : ''}${result.event?.forced === true ? ' — FORCED' : ''}`,
    exitCode: 0,
  };
};
