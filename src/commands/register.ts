/** `mlship register [MODEL]`: record the last evaluation as a new version. */
import { registerModel } from '../pipeline/register.js';
import { renderRegistration } from './run.js';
import type { Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { project, output }) => {
  const p = await project();
  const [model] = p.model(args[0] as string | undefined);
  return renderRegistration(await registerModel(p, model, { push: options['push'] === true }), output);
};
