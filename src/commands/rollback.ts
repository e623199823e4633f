/** `mlship rollback MODEL --env ENV [--to REF] --reason TEXT [--push]`: git only, no store, no Docker. */
import { usageError } from '../errors.js';
import { rollback } from '../registry/operations.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project }) => {
  const env = optionString(options, 'env');
  if (env === undefined) throw usageError('E_USAGE', 'rollback needs --env ENV', { hint: 'e.g. mlship rollback churn --env production --reason "p95 latency regression"' });
  const to = optionString(options, 'to');
  const reason = optionString(options, 'reason');
  const result = await rollback(await project(), args[0] as string, env, { push: options['push'] === true, ...(to === undefined ? {} : { to }), ...(reason === undefined ? {} : { reason }) });
  return { json: result, human: `${result.model} in ${result.env}: v${result.from} -> v${result.version} (rolled back: ${result.event.reason})`, exitCode: 0 };
};
