/**
 * Reading and appending a model's registry log (`<registry>/<model>.jsonl`).
 * Appends are serialised by a lock, written with one fsynced write, and committed to git; when the
 * commit fails the file is truncated back, so a failed command leaves the registry as it found it.
 */
import { mkdir, open, readFile, truncate } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { integrityError, usageError } from '../errors.js';
import type { Git } from '../git/index.js';
import { lineDigest, parseLog, type ParsedLog } from './chain.js';
import { commitMessage, serializeEvent, type NewEvent, type RegistryEvent } from './events.js';
import { acquireLock } from './lock.js';
import { foldEvents, type ModelState } from './state.js';

export interface RegistryLocation {
  /** Absolute registry folder. */
  dir: string;
  /** Absolute `.mlship/cache` folder (locks). */
  cacheDir: string;
}

export interface LoadedModel {
  state: ModelState;
  log: ParsedLog;
  /** Absolute path of the log file. */
  file: string;
}

export const logFile = (dir: string, model: string) => join(dir, `${model}.jsonl`);

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/**
 * Read, chain-check and fold a model's log. A broken chain or a senseless event is an integrity
 * violation (exit 4): nothing is written on top of a damaged registry.
 */
export async function loadModel(location: RegistryLocation, model: string, shownRoot: string): Promise<LoadedModel> {
  const file = logFile(location.dir, model);
  const log = parseLog(await readText(file), model);
  const { state, problems } = foldEvents(model, log.events);
  const all = [...log.problems.map((p) => ({ line: p.line, message: p.message })), ...problems];
  if (all.length > 0) {
    const shown = relative(shownRoot, file);
    throw integrityError('E_CHAIN', all.slice(0, 5).map((p) => `${shown}:${p.line}: ${p.message}`).join('\n'), {
      hint: "the registry was damaged or edited by hand; run 'mlship verify' for the full report and restore the file from git (git checkout -- " + shown + ')',
      details: { problems: all.map((p) => ({ file: shown, ...p })) },
    });
  }
  return { state, log, file };
}

export interface AppendOptions {
  git: Git;
  /** Builds the event from the freshly read state (inside the lock), or throws to refuse. */
  build: (state: ModelState) => NewEvent;
  shownRoot: string;
  onWarning?: (message: string) => void;
  /**
   * Push after committing. When another writer pushed first, the local registry commits are
   * re-appended on the new tip (each rebuilt by `replay` against the state there) and pushed again.
   */
  push?: PublishSettings;
}

export interface PublishSettings {
  /**
   * Rebuilds a local event on top of the remote's state: the event to append, null when it is
   * already there in effect (the same approval, the same promotion), or a throw when it no longer applies.
   */
  replay: (event: RegistryEvent, state: ModelState) => NewEvent | null;
  attempts?: number;
}

export interface AppendResult {
  event: RegistryEvent;
  commit: string;
  state: ModelState;
  pushed: boolean;
}

const lockFile = (location: RegistryLocation) => join(location.cacheDir, 'locks', 'registry.lock');

/** Run `fn` holding the registry lock of this working copy. */
export async function withRegistryLock<T>(location: RegistryLocation, onWarning: ((m: string) => void) | undefined, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(lockFile(location), { onWarning });
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Read, build, append, commit — the caller holds the lock. */
export async function appendLocked(location: RegistryLocation, model: string, options: Omit<AppendOptions, 'push'>): Promise<Omit<AppendResult, 'pushed'>> {
  const loaded = await loadModel(location, model, options.shownRoot);
  const draft = options.build(loaded.state);
  if (draft.model !== model) throw usageError('E_MODEL', `event for ${draft.model} appended to ${model}`);
  const last = loaded.log.lines[loaded.log.lines.length - 1];
  const event = { ...draft, seq: loaded.log.lines.length + 1, prev: last === undefined ? null : lineDigest(last) } as RegistryEvent;
  const line = `${serializeEvent(event)}\n`;

  await mkdir(location.dir, { recursive: true });
  const handle = await open(loaded.file, 'a');
  const before = (await handle.stat()).size;
  try {
    await handle.write(line);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const path = relative(options.git.root, loaded.file);
  let commit: string;
  try {
    commit = await options.git.commitPaths([path], commitMessage(event));
  } catch (error) {
    await truncate(loaded.file, before);
    await options.git.unstage([path]);
    throw error;
  }
  const { state } = foldEvents(model, [...loaded.log.events, event]);
  return { event, commit, state };
}

/** Lock, read, build, append, commit, and with `push` publish. Returns the event as it finally landed. */
export async function appendEvent(location: RegistryLocation, model: string, options: AppendOptions): Promise<AppendResult> {
  return withRegistryLock(location, options.onWarning, async () => {
    const appended = await appendLocked(location, model, options);
    if (options.push === undefined) return { ...appended, pushed: false };
    const { publishRegistry } = await import('./publish.js');
    const replayed = await publishRegistry(location, { git: options.git, shownRoot: options.shownRoot, replay: options.push.replay, onWarning: options.onWarning, attempts: options.push.attempts });
    const last = replayed[replayed.length - 1];
    if (last === undefined || last.model !== model) return { ...appended, pushed: true };
    const { state } = await loadModel(location, model, options.shownRoot);
    return { event: last, commit: await options.git.head() ?? appended.commit, state, pushed: true };
  });
}
