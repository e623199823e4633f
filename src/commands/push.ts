/** `mlship push [MODEL]`: hash and store the model's artifacts. */
import { pushModel } from '../pipeline/push.js';
import { shortDigest, table } from '../output/render.js';
import type { Handler } from './types.js';

export const handle: Handler = async ({ args }, { project }) => {
  const p = await project();
  const [model] = p.model(args[0] as string | undefined);
  const result = await pushModel(p, model);
  const rows = Object.entries(result.artifacts).map(([name, a]) => [name, a.path, shortDigest(a.digest), `${a.size} B`, a.uploaded ? 'stored' : 'already stored']);
  return {
    json: { model, digest: result.digest, artifacts: result.artifacts, summary: result.summary },
    human: [...table(rows), `${model}: ${result.summary.uploaded} object(s) stored, ${result.summary.skipped} already there (${result.summary.bytes} bytes) in ${(await p.store()).url}`].join('\n'),
    exitCode: 0,
  };
};
