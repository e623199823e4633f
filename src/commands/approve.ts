/** `mlship approve MODEL@REF --for ENV`. */
import { usageError } from '../errors.js';
import { approve } from '../registry/operations.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project }) => {
  const env = optionString(options, 'for');
  if (env === undefined) throw usageError('E_USAGE', 'approve needs --for ENV', { hint: 'e.g. mlship approve churn@3 --for production' });
  const comment = optionString(options, 'comment');
  const result = await approve(await project(), args[0] as string, env, { push: options['push'] === true, ...(comment === undefined ? {} : { comment }) });
  return { json: result, human: `${result.model} v${result.version} approved for ${result.env} by ${result.event.actor}`, exitCode: 0 };
};
