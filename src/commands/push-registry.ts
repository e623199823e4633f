/**
 * `mlship push-registry`: send registry commits that are only local (after an unreachable remote,
 * or commands run without --push), rebuilding them on the remote tip when another writer got there first.
 */
import { publishSettings } from '../pipeline/publish.js';
import { withRegistryLock } from '../registry/log.js';
import { publishRegistry } from '../registry/publish.js';
import type { Handler } from './types.js';

export const handle: Handler = async (_input, { project, ctx }) => {
  const p = await project();
  const git = await p.git();
  const settings = await publishSettings(p, true);
  const target = await git.pushTarget();
  const replayed = await withRegistryLock(p.registry, ctx.warn, () =>
    publishRegistry(p.registry, { git, shownRoot: ctx.cwd, replay: (settings as NonNullable<typeof settings>).replay, onWarning: ctx.warn }),
  );
  return {
    json: { pushed: true, remote: target.remote, branch: target.branch, replayed },
    human: `registry pushed to ${target.remote} ${target.branch}${replayed.length > 0 ? ` (${replayed.length} event(s) re-appended on top of another writer's)` : ''}`,
    exitCode: 0,
  };
};
