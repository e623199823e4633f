/** `mlship history MODEL [--env ENV]`: the model's events, oldest first. */
import { history } from '../registry/operations.js';
import type { RegistryEvent } from '../registry/events.js';
import { shortDigest, table } from '../output/render.js';
import { optionString, type Handler } from './types.js';

const describe = (e: RegistryEvent): string => {
  switch (e.type) {
    case 'register':
      return `v${e.version} ${shortDigest(e.digest)}${e.commit !== null ? ` commit ${e.commit.slice(0, 10)}` : ''}`;
    case 'promote':
      return `v${e.version} -> ${e.env}${e.from !== null ? ` (was v${e.from})` : ''}${e.forced === true ? ' FORCED' : ''}${e.reason !== undefined ? `: ${e.reason}` : ''}`;
    case 'rollback':
      return e.canary === true ? `${e.env}: canary v${e.from} aborted, v${e.version} alone: ${e.reason}` : `${e.env}: v${e.from} -> v${e.version}: ${e.reason}`;
    case 'canary':
      return `v${e.version} canary in ${e.env} at ${e.weight}% next to v${e.stable}`;
    case 'approve':
      return `v${e.version} for ${e.env}`;
    case 'deprecate':
      return `v${e.version}: ${e.reason}`;
    default:
      return '';
  }
};

export const handle: Handler = async ({ args, options }, { project }) => {
  const result = await history(await project(), args[0] as string, optionString(options, 'env'));
  const rows = result.events.map((e) => [String(e.seq), e.at, e.type, e.actor, describe(e)]);
  return { json: result, human: rows.length === 0 ? `${result.model}: no events yet` : table(rows).join('\n'), exitCode: 0 };
};
