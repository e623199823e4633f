/** `mlship status [MODEL]`: what is live where. */
import { status } from '../registry/operations.js';
import { shortDigest, table } from '../output/render.js';
import type { Handler } from './types.js';

export const handle: Handler = async ({ args }, { project }) => {
  const result = await status(await project(), args[0] as string | undefined);
  const rows: string[][] = [['MODEL', 'LATEST', 'ENV', 'LIVE', 'DIGEST', 'SINCE']];
  for (const m of result.models) {
    const envs = Object.entries(m.environments);
    if (envs.length === 0) rows.push([m.name, m.latest === null ? '-' : `v${m.latest}`, '', '', '', '']);
    envs.forEach(([env, live], i) => {
      rows.push([i === 0 ? m.name : '', i === 0 ? (m.latest === null ? '-' : `v${m.latest}`) : '', env, live === null ? '-' : `v${live.version}${live.canary !== null ? ` + canary v${live.canary.version} at ${live.canary.weight}%` : ''}`, live === null ? '' : shortDigest(live.digest), live?.since ?? '']);
    });
  }
  return { json: result, human: table(rows).join('\n'), exitCode: 0 };
};
