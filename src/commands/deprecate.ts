/** `mlship deprecate MODEL@REF --reason TEXT`. */
import { deprecate } from '../registry/operations.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project }) => {
  const reason = optionString(options, 'reason');
  const result = await deprecate(await project(), args[0] as string, { push: options['push'] === true, ...(reason === undefined ? {} : { reason }) });
  return { json: result, human: `${result.model} v${result.version} deprecated`, exitCode: 0 };
};
