/**
 * `mlship pull MODEL[@REF] [-o DIR]`: fetch a version's artifacts, verified byte for byte.
 * Without -o they are restored at their declared paths in the project (like `dvc checkout`);
 * with -o DIR, at the same relative paths below DIR. No path may leave its destination folder.
 */
import { resolve } from 'node:path';
import { integrityError } from '../errors.js';
import { isInside } from '../paths.js';
import { loadModel } from '../registry/log.js';
import { parseModelRef, resolveRef } from '../registry/refs.js';
import type { RegisterEvent } from '../registry/events.js';
import { pullArtifact } from '../store/artifacts.js';
import { optionString, type Handler } from './types.js';

export const handle: Handler = async ({ args, options }, { ctx, project }) => {
  const p = await project();
  const { model: name, ref } = parseModelRef(args[0] as string);
  const [model, config] = p.model(name);
  const { state } = await loadModel(p.registry, model, ctx.cwd);
  const version = resolveRef(state, ref ?? 'latest', config.environments);
  const event = state.versions.get(version)?.register as RegisterEvent;
  const out = optionString(options, 'output');
  const base = out === undefined ? p.root : resolve(ctx.cwd, out);
  const store = await p.store();
  const progress = ctx.progress(`pulling ${model} v${version}`);
  progress.setTotal(Object.values(event.artifacts).reduce((n, a) => n + a.size, 0));
  const written: Record<string, { path: string; digest: string; files: number }> = {};
  try {
    for (const [artifact, record] of Object.entries(event.artifacts)) {
      const dest = resolve(base, record.path);
      if (!isInside(base, dest) || dest === base) {
        throw integrityError('E_PATH', `artifact '${artifact}' of ${model} v${version} has the path ${JSON.stringify(record.path)}, which leaves ${base}`, { hint: 'the registry event is damaged or hostile; nothing was written' });
      }
      const files = await pullArtifact(store, record.kind, record.digest, dest, (n) => progress.add(n), base);
      written[artifact] = { path: dest, digest: record.digest, files };
    }
  } finally {
    progress.done();
  }
  return {
    json: { model, version, digest: event.digest, artifacts: written },
    human: [...Object.entries(written).map(([n, w]) => `  ${n}: ${w.path} (${w.files} file${w.files === 1 ? '' : 's'}, verified)`), `${model} v${version} pulled`].join('\n'),
    exitCode: 0,
  };
};
