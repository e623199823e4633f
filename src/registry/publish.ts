/**
 * Publishing registry commits when several writers race (CI jobs in different clones).
 * Push; when the remote moved, fetch it, take the events this clone appended since the common
 * ancestor, move the branch onto the remote tip, and append them again — each rebuilt against the
 * state there (a promotion that no longer passes its policy is refused, never forced in) with the
 * new `prev` — then push again, with jittered exponential backoff, a bounded number of times.
 */
import { relative } from 'node:path';
import { environmentError } from '../errors.js';
import type { Git, PushTarget } from '../git/index.js';
import { parseLog } from './chain.js';
import type { NewEvent, RegistryEvent } from './events.js';
import { appendLocked, parseSegmentName, type RegistryLocation } from './log.js';
import type { ModelState } from './state.js';

export interface PublishOptions {
  git: Git;
  shownRoot: string;
  replay: (event: RegistryEvent, state: ModelState) => NewEvent | null;
  onWarning?: (message: string) => void;
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_ATTEMPTS = 12;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Full jitter: a random wait up to an exponentially growing cap. */
export const backoffMs = (attempt: number, random = Math.random): number => Math.floor(random() * Math.min(2000, 50 * 2 ** attempt));

/** Thrown from a build to leave without appending. */
class SkipEvent extends Error {}

interface LocalEvent {
  model: string;
  event: RegistryEvent;
}

/** The events appended by `commits` (oldest first), in order; refuses commits that touch anything else. */
async function localEvents(git: Git, location: RegistryLocation, base: string | undefined, commits: string[]): Promise<LocalEvent[]> {
  const dir = relative(git.root, location.dir).split('\\').join('/');
  const out: LocalEvent[] = [];
  let previous = base;
  for (const commit of commits) {
    const paths = await git.changedPaths(commit);
    const foreign = paths.filter((p) => !(p.startsWith(`${dir}/`) && p.endsWith('.jsonl')));
    if (foreign.length > 0) {
      throw environmentError('E_INTEGRATE', `the remote moved, and commit ${commit.slice(0, 12)} changes more than the registry (${foreign.slice(0, 3).join(', ')})`, {
        hint: "integrate your own commits first (git pull --rebase), then run 'mlship push-registry'",
      });
    }
    for (const path of paths) {
      const model = parseSegmentName(path.slice(dir.length + 1))?.model ?? '';
      const before = previous === undefined ? '' : ((await git.show(previous, path)) ?? '');
      const after = (await git.show(commit, path)) ?? '';
      const beforeLines = parseLog(before, model).count;
      for (const event of parseLog(after, model).events.slice(beforeLines)) out.push({ model, event });
    }
    previous = commit;
  }
  return out;
}

/**
 * Push the branch; on rejection rebuild the local registry commits on the remote tip and retry.
 * The caller holds the registry lock. Returns the events that were re-appended (empty when the
 * first push went through).
 */
export async function publishRegistry(location: RegistryLocation, options: PublishOptions): Promise<RegistryEvent[]> {
  const { git } = options;
  const sleep = options.sleep ?? defaultSleep;
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const target: PushTarget = await git.pushTarget();
  let replayed: RegistryEvent[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      await git.push(target);
      return replayed;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'E_PUSH_REJECTED') throw error;
      if (attempt >= attempts) {
        throw environmentError('E_PUSH_RACE', `the registry push was rejected ${attempts} times: other writers keep pushing first`, {
          hint: "the events are committed locally; run 'mlship push-registry' to try again",
          cause: error,
        });
      }
    }
    const remoteTip = await git.fetch(target);
    const head = (await git.head()) as string;
    const base = remoteTip === undefined ? undefined : await git.mergeBase(head, remoteTip);
    const events = await localEvents(git, location, base, await git.commitsBetween(base, head));
    if (remoteTip !== undefined) await git.resetKeep(remoteTip);
    replayed = [];
    // A version registered here may get another number there; later local events follow it.
    const renumbered = new Map<string, Map<number, number>>();
    for (const { model, event } of events) {
      const map = renumbered.get(model) ?? new Map<number, number>();
      renumbered.set(model, map);
      const moved = { ...event, version: map.get(event.version) ?? event.version } as RegistryEvent;
      if (moved.type === 'rollback') moved.from = map.get(moved.from) ?? moved.from;
      if (moved.type === 'promote' && moved.from !== null) moved.from = map.get(moved.from) ?? moved.from;
      let skipped = false;
      const appended = await appendLocked(location, model, {
        git,
        shownRoot: options.shownRoot,
        build: (state) => {
          const draft = options.replay(moved, state);
          if (draft === null) {
            skipped = true;
            throw new SkipEvent();
          }
          return draft;
        },
      }).catch((error: unknown) => {
        if (skipped && error instanceof SkipEvent) return undefined;
        throw error;
      });
      if (appended === undefined) continue;
      if (event.type === 'register') map.set(event.version, appended.event.version);
      replayed.push(appended.event);
    }
    options.onWarning?.(`another writer pushed first; re-appended ${events.length} event(s) on the new tip (attempt ${attempt + 1} of ${attempts})`);
    await sleep(backoffMs(attempt));
  }
}
