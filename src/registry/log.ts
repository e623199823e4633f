/**
 * Reading and appending a model's registry log.
 *
 * Layout: `<registry>/<model>.jsonl` holds the first SEGMENT_LINES events; later events go to
 * `<model>~2.jsonl`, `<model>~3.jsonl`, … (the chain and `seq` run on across files). Only the last
 * file ever changes, so a commit costs the same whatever the size of the registry.
 *
 * Reading: the fold of the full (sealed) segments is kept in `.mlship/cache/registry/<model>.json`,
 * trusted while each sealed file keeps its size, mtime and inode; only the last segment is parsed
 * and chain-checked on every command. `mlship verify` always reads everything.
 *
 * Appends are serialised by a lock, written with one fsynced write, and committed to git; when the
 * commit fails the line is removed again, so a failed command leaves the registry as it found it.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { integrityError, usageError } from '../errors.js';
import type { Git } from '../git/index.js';
import { firstDivergence, parseLog, type ChainStart } from './chain.js';
import { commitMessage, serializeEvent, type NewEvent, type RegisterEvent, type RegistryEvent } from './events.js';
import { acquireLock } from './lock.js';
import { applyEvent, emptyState, foldEvents, LazyVersions, type EnvironmentState, type ModelState, type VersionState } from './state.js';

export interface RegistryLocation {
  /** Absolute registry folder. */
  dir: string;
  /** Absolute `.mlship/cache` folder (locks, snapshots). */
  cacheDir: string;
  /** Events per registry file before a new one is started (default SEGMENT_LINES). */
  segmentLines?: number;
}

/** Events per registry file. Small enough that a commit stays cheap, large enough to be rare. */
export const SEGMENT_LINES = 2000;

/** `churn.jsonl` is segment 1, `churn~2.jsonl` segment 2, … */
export const segmentName = (model: string, index: number): string => (index === 1 ? `${model}.jsonl` : `${model}~${index}.jsonl`);

/** The model and segment index of a registry file name, or undefined for other files. */
export function parseSegmentName(name: string): { model: string; index: number } | undefined {
  const match = /^(.+?)(?:~(\d+))?\.jsonl$/.exec(name);
  if (match === null) return undefined;
  const index = match[2] === undefined ? 1 : Number(match[2]);
  return index >= 2 || match[2] === undefined ? { model: match[1] as string, index } : undefined;
}

/** A model's registry files, in order (absolute paths). */
export async function segmentFiles(dir: string, model: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const indexes = names.map(parseSegmentName).filter((s): s is { model: string; index: number } => s !== undefined && s.model === model).map((s) => s.index).sort((a, b) => a - b);
  return indexes.map((i) => join(dir, segmentName(model, i)));
}

export interface LoadedModel {
  state: ModelState;
  /** Number of events. */
  count: number;
  /** The next event's `prev`. */
  lastDigest: string | null;
  /** The file the next event goes to, and how many lines it has now. */
  active: { file: string; lines: number };
}

/**
 * A registry file's bytes. Synchronous on purpose: fs/promises reads a file in 512 KB steps, each a
 * trip through the thread pool, and a cold fold of 50 files spent ~0.25 s waiting on those trips.
 */
async function readBytes(file: string): Promise<Buffer> {
  try {
    return readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  }
}

async function readText(file: string): Promise<string> {
  return (await readBytes(file)).toString('utf8');
}

interface Problem {
  file: string;
  line: number;
  message: string;
}

const damaged = (problems: Problem[], shownRoot: string, dir: string) => {
  const shown = (file: string) => relative(shownRoot, join(dir, file));
  return integrityError('E_CHAIN', problems.slice(0, 5).map((p) => `${shown(p.file)}:${p.line}: ${p.message}`).join('\n'), {
    hint: `the registry was damaged or edited by hand; run 'mlship verify' for the full report and restore it from git (git checkout -- ${shown(problems[0]?.file ?? '')})`,
    details: { problems: problems.map((p) => ({ ...p, file: shown(p.file) })) },
  });
};

/* ---------- the snapshot cache of sealed segments ---------- */

interface SealedFile {
  name: string;
  size: number;
  mtimeMs: number;
  ino: number;
  lines: number;
}

interface Snapshot {
  format: 6;
  files: SealedFile[];
  count: number;
  /** Versions 1..versions are registered. */
  versions: number;
  lastDigest: string | null;
  latest: number | null;
  deprecated: number[];
  environments: [string, EnvironmentState][];
  last: RegistryEvent | null;
  /**
   * Per-version columns (index = version - 1) and approval columns (see `Column`): a few long
   * strings parse far faster than 100,000 JSON numbers, and `status` reads only the fields it needs.
   * - registerFile (index into `files`), registerLine (1-based), registerOffset (byte offset of the
   *   line): where each version's register event is;
   * - approvalVersion, approvalEnv, approvalActor: one row per approval, sorted by version (actors in
   *   approval order within one), environment and actor as indexes into `approvalNames`.
   */
  columns: Record<ColumnName, Column>;
  approvalNames: { envs: string[]; actors: string[] };
  /** Environment -> every version ever live there (ascending), as a column. */
  promoted: [string, Column][];
}

const COLUMNS = ['registerFile', 'registerLine', 'registerOffset', 'approvalVersion', 'approvalEnv', 'approvalActor'] as const;
type ColumnName = (typeof COLUMNS)[number];

const snapshotFile = (location: RegistryLocation, model: string) => join(location.cacheDir, 'registry', `${model}.json`);

/**
 * A column of integers >= -1 as one string of fixed-width base-36 fields (each value + 1, zero
 * padded): JSON.parse copies it in one go, and any element is read in O(1) without decoding the rest.
 */
interface Column {
  width: number;
  data: string;
}

function encodeColumn(values: readonly number[]): Column {
  let width = 1;
  for (const v of values) width = Math.max(width, (v + 1).toString(36).length);
  return { width, data: values.map((v) => (v + 1).toString(36).padStart(width, '0')).join('') };
}

const columnLength = (c: Column): number => c.data.length / c.width;
const columnAt = (c: Column, i: number): number => (i < 0 || i >= columnLength(c) ? Number.NaN : parseInt(c.data.slice(i * c.width, (i + 1) * c.width), 36) - 1);
const isColumn = (c: unknown): c is Column =>
  typeof c === 'object' && c !== null && Number.isSafeInteger((c as Column).width) && (c as Column).width >= 1 && typeof (c as Column).data === 'string' && (c as Column).data.length % (c as Column).width === 0;

/** Lines of registry files read in full for register events (when no offset is known), per process. */
const lineCache = new Map<string, string[]>();

function readLine(dir: string, file: string, line: number): string {
  const path = join(dir, file);
  let lines = lineCache.get(path);
  if (lines === undefined) {
    lines = readFileSync(path, 'utf8').split('\n');
    lineCache.set(path, lines);
  }
  return lines[line - 1] as string;
}

/** The line that starts at byte `offset` of a file, reading only as far as its newline. */
function readLineAt(path: string, offset: number): string {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    for (let position = offset, size = 16 * 1024; ; position += size, size *= 2) {
      const chunk = Buffer.allocUnsafe(size);
      const n = readSync(fd, chunk, 0, size, position);
      const newline = chunk.subarray(0, n).indexOf(10);
      if (newline >= 0 || n < size) {
        chunks.push(chunk.subarray(0, newline >= 0 ? newline : n));
        return Buffer.concat(chunks).toString('utf8');
      }
      chunks.push(chunk);
    }
  } finally {
    closeSync(fd);
  }
}

/** Index of the first element >= v in an ascending column. */
function lowerBound(sorted: Column, v: number): number {
  let lo = 0;
  let hi = columnLength(sorted);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (columnAt(sorted, mid) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Reads version `version`'s register event from its file on first call (then remembers it). */
function registerLoader(dir: string, file: string, line: number, offset: number, version: number): () => RegisterEvent {
  let register: RegisterEvent | undefined;
  return () => {
    if (register !== undefined) return register;
    // The offset is only trusted when it leads to this version's register event.
    let atOffset: RegisterEvent | undefined;
    try {
      atOffset = offset >= 0 ? (JSON.parse(readLineAt(join(dir, file), offset)) as RegisterEvent) : undefined;
    } catch {
      atOffset = undefined; // not a line start: read the file's lines instead
    }
    register = atOffset?.type === 'register' && atOffset.version === version ? atOffset : (JSON.parse(readLine(dir, file, line)) as RegisterEvent);
    return register;
  };
}

/**
 * The same version, with its register event let go: read back from its (sealed) file when asked.
 * A cold fold of 100,000 events otherwise keeps 25,000 parsed register events alive, and the
 * garbage collector spent a third of the fold's time walking them.
 */
function withRegisterOnDisk(v: VersionState, dir: string): VersionState {
  if (v.source?.offset === undefined) return v;
  const load = registerLoader(dir, v.source.file, v.source.line, v.source.offset, v.version);
  return {
    version: v.version,
    digest: v.digest,
    get register(): RegisterEvent {
      return load();
    },
    source: v.source,
    deprecated: v.deprecated,
    promotedTo: v.promotedTo,
    approvals: v.approvals,
  };
}

/** Versions restored from a snapshot: each built on first use, its register event read on first use. */
function snapshotVersions(dir: string, snapshot: Snapshot): LazyVersions {
  const deprecated = new Set(snapshot.deprecated);
  const { columns } = snapshot;
  const promotedTo = (version: number): Set<string> => new Set(snapshot.promoted.filter(([, list]) => columnAt(list, lowerBound(list, version)) === version).map(([env]) => env));
  const approvalsOf = (version: number): Map<string, string[]> => {
    const approvals = new Map<string, string[]>();
    for (let i = lowerBound(columns.approvalVersion, version); columnAt(columns.approvalVersion, i) === version; i++) {
      const env = snapshot.approvalNames.envs[columnAt(columns.approvalEnv, i)] as string;
      const actor = snapshot.approvalNames.actors[columnAt(columns.approvalActor, i)] as string;
      const list = approvals.get(env);
      if (list === undefined) approvals.set(env, [actor]);
      else list.push(actor);
    }
    return approvals;
  };
  return new LazyVersions(snapshot.versions, (version) => {
    const i = version - 1;
    const file = snapshot.files[columnAt(columns.registerFile, i)]?.name as string;
    const line = columnAt(columns.registerLine, i);
    const offset = columnAt(columns.registerOffset, i);
    const load = registerLoader(dir, file, line, offset, version);
    let promotedSet: Set<string> | undefined;
    let approvals: Map<string, string[]> | undefined;
    return {
      version,
      get digest(): string {
        return load().digest;
      },
      get register(): RegisterEvent {
        return load();
      },
      source: { file, line, offset },
      deprecated: deprecated.has(version),
      get promotedTo(): Set<string> {
        return (promotedSet ??= promotedTo(version));
      },
      get approvals(): Map<string, string[]> {
        return (approvals ??= approvalsOf(version));
      },
    };
  });
}

/** Synchronous on purpose: one small read and a stat per sealed file, on the path of every command. */
function readSnapshot(location: RegistryLocation, model: string, files: string[]): { snapshot: Snapshot; state: ModelState } | undefined {
  let snapshot: Snapshot;
  try {
    snapshot = JSON.parse(readFileSync(snapshotFile(location, model), 'utf8')) as Snapshot;
  } catch {
    return undefined;
  }
  if (snapshot?.format !== 6 || !Array.isArray(snapshot.files) || snapshot.files.length === 0 || snapshot.files.length > files.length) return undefined;
  if (!Number.isSafeInteger(snapshot.versions) || typeof snapshot.columns !== 'object' || snapshot.columns === null || !COLUMNS.every((name) => isColumn(snapshot.columns[name]))) return undefined;
  if (!Array.isArray(snapshot.promoted) || !snapshot.promoted.every((entry) => Array.isArray(entry) && isColumn(entry[1]))) return undefined;
  for (const [i, sealed] of snapshot.files.entries()) {
    if (join(location.dir, sealed.name) !== files[i]) return undefined;
    const s = statSync(files[i] as string, { throwIfNoEntry: false });
    if (s === undefined || s.size !== sealed.size || s.mtimeMs !== sealed.mtimeMs || s.ino !== sealed.ino) return undefined;
  }
  const state: ModelState = { ...emptyState(model), latest: snapshot.latest, last: snapshot.last, versions: snapshotVersions(location.dir, snapshot) };
  for (const v of snapshot.deprecated) state.deprecated.add(v);
  for (const [env, e] of snapshot.environments) state.environments.set(env, e);
  return { snapshot, state };
}

/** The snapshot of a state, built as plain data (the state goes on changing afterwards). */
function buildSnapshot(files: SealedFile[], count: number, lastDigest: string | null, state: ModelState): Snapshot {
  const fileIndex = new Map(files.map((f, i) => [f.name, i]));
  const registerFile: number[] = [];
  const registerLine: number[] = [];
  const registerOffset: number[] = [];
  const promoted = new Map<string, number[]>();
  const envs: string[] = [];
  const actors: string[] = [];
  const indexOf = (table: string[], index: Map<string, number>, name: string): number => {
    let i = index.get(name);
    if (i === undefined) {
      i = table.push(name) - 1;
      index.set(name, i);
    }
    return i;
  };
  const envIndex = new Map<string, number>();
  const actorIndex = new Map<string, number>();
  const approvalVersion: number[] = [];
  const approvalEnv: number[] = [];
  const approvalActor: number[] = [];
  // Versions iterate in ascending order, so every column comes out sorted by version.
  for (const [version, v] of [...state.versions].sort(([a], [b]) => a - b)) {
    registerFile[version - 1] = fileIndex.get(v.source?.file ?? '') ?? -1;
    registerLine[version - 1] = v.source?.line ?? 0;
    registerOffset[version - 1] = v.source?.offset ?? -1;
    for (const env of v.promotedTo) {
      const list = promoted.get(env);
      if (list === undefined) promoted.set(env, [version]);
      else list.push(version);
    }
    for (const [env, list] of v.approvals) {
      for (const actor of list) {
        approvalVersion.push(version);
        approvalEnv.push(indexOf(envs, envIndex, env));
        approvalActor.push(indexOf(actors, actorIndex, actor));
      }
    }
  }
  return {
    format: 6,
    files,
    count,
    versions: registerLine.length,
    lastDigest,
    latest: state.latest,
    deprecated: [...state.deprecated],
    environments: [...state.environments].map(([env, e]) => [env, { ...e, stack: [...e.stack] }]),
    last: state.last,
    columns: {
      registerFile: encodeColumn(registerFile),
      registerLine: encodeColumn(registerLine),
      registerOffset: encodeColumn(registerOffset),
      approvalVersion: encodeColumn(approvalVersion),
      approvalEnv: encodeColumn(approvalEnv),
      approvalActor: encodeColumn(approvalActor),
    },
    approvalNames: { envs, actors },
    promoted: [...promoted].map(([env, list]) => [env, encodeColumn(list)]),
  };
}

async function writeSnapshot(location: RegistryLocation, model: string, snapshot: Snapshot): Promise<void> {
  try {
    const file = snapshotFile(location, model);
    await mkdir(join(location.cacheDir, 'registry'), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(snapshot));
    await rename(temp, file);
  } catch {
    // Only a cache: the next command reads the segments again.
  }
}

/**
 * Read, chain-check and fold a model's log. A broken chain or a senseless event is an integrity
 * violation (exit 4): nothing is written on top of a damaged registry.
 */
export async function loadModel(location: RegistryLocation, model: string, shownRoot: string): Promise<LoadedModel> {
  const files = await segmentFiles(location.dir, model);
  if (files.length === 0) return { state: emptyState(model), count: 0, lastDigest: null, active: { file: join(location.dir, segmentName(model, 1)), lines: 0 } };
  const cached = readSnapshot(location, model, files);
  const state = cached?.state ?? emptyState(model);
  let start: ChainStart = cached === undefined ? { seq: 1, prev: null } : { seq: cached.snapshot.count + 1, prev: cached.snapshot.lastDigest };
  const sealed: SealedFile[] = cached?.snapshot.files ?? [];
  const problems: Problem[] = [];
  const segmentLimit = location.segmentLines ?? SEGMENT_LINES;
  // When the snapshot covers every file, the last one is full: the next event opens a new file.
  let lines = sealed.length === files.length ? (sealed[sealed.length - 1]?.lines ?? 0) : 0;
  let snapshot: Snapshot | undefined;
  for (const [i, file] of files.entries()) {
    if (i < sealed.length) continue;
    const name = relative(location.dir, file);
    const log = parseLog(await readBytes(file), model, start);
    for (const p of log.problems) problems.push({ file: name, line: p.line, message: p.message });
    const sealedFile = i < files.length - 1;
    log.events.forEach((event, n) => {
      const problem = applyEvent(state, event, { file: name, line: n + 1, offset: log.offsets[n] as number });
      if (problem !== undefined) problems.push({ file: name, line: n + 1, message: problem });
      else if (sealedFile && event.type === 'register') {
        const v = state.versions.get(event.version);
        if (v !== undefined) state.versions.set(event.version, withRegisterOnDisk(v, location.dir));
      }
    });
    lines = log.count;
    start = { seq: start.seq + log.count, prev: log.lastDigest };
    const last = i === files.length - 1;
    if (!last && log.count !== segmentLimit) {
      problems.push({ file: name, line: log.count, message: `has ${log.count} events, but a registry file is only followed by the next one when it holds ${segmentLimit}` });
    }
    // A full file never changes again, even the last one: it joins the snapshot.
    if (!last || log.count === segmentLimit) {
      const s = await stat(file);
      sealed.push({ name, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, lines: log.count });
      // The snapshot is of the state after the last full file (the one before the last, or the last).
      if (i >= files.length - 2) snapshot = buildSnapshot(sealed, start.seq - 1, start.prev, state);
    }
  }
  if (problems.length > 0) throw damaged(problems, shownRoot, location.dir);
  if (snapshot !== undefined) await writeSnapshot(location, model, snapshot);
  let active = { file: files[files.length - 1] as string, lines };
  if (lines >= segmentLimit) active = { file: join(location.dir, segmentName(model, files.length + 1)), lines: 0 };
  return { state, count: start.seq - 1, lastDigest: start.prev, active };
}

/** Every event of a model, every file read and chain-checked (history, verify). */
export async function readAllEvents(location: RegistryLocation, model: string, shownRoot: string): Promise<RegistryEvent[]> {
  const events: RegistryEvent[] = [];
  const problems: Problem[] = [];
  let start: ChainStart = { seq: 1, prev: null };
  for (const file of await segmentFiles(location.dir, model)) {
    const name = relative(location.dir, file);
    const log = parseLog(await readBytes(file), model, start);
    for (const p of log.problems) problems.push({ file: name, line: p.line, message: p.message });
    events.push(...log.events);
    start = { seq: start.seq + log.count, prev: log.lastDigest };
  }
  const folded = foldEvents(model, events);
  for (const p of folded.problems) problems.push({ file: '', line: p.line, message: `event seq ${p.line}: ${p.message}` });
  if (problems.length > 0) throw damaged(problems, shownRoot, location.dir);
  return events;
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
  // The last file on disk — or, when there is none, the first one, which HEAD may still have.
  const last = (await segmentFiles(location.dir, model)).pop() ?? loaded.active.file;
  await commitPending(options.git, last, options.shownRoot, options.onWarning);
  const draft = options.build(loaded.state);
  if (draft.model !== model) throw usageError('E_MODEL', `event for ${draft.model} appended to ${model}`);
  const event = { ...draft, seq: loaded.count + 1, prev: loaded.lastDigest } as RegistryEvent;
  const line = `${serializeEvent(event)}\n`;
  const file = loaded.active.file;

  await mkdir(location.dir, { recursive: true });
  const handle = await open(file, 'a');
  const before = (await handle.stat()).size;
  try {
    await handle.write(line);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const path = relative(options.git.root, file);
  let commit: string;
  try {
    commit = await options.git.commitPaths([path], commitMessage(event));
  } catch (error) {
    if (before === 0) await rm(file, { force: true });
    else await truncate(file, before);
    await options.git.unstage([path]);
    throw error;
  }
  applyEvent(loaded.state, event, { file: relative(location.dir, file), line: loaded.active.lines + 1 });
  return { event, commit, state: loaded.state };
}

/**
 * The last registry file must extend its committed version: the chain cannot see an edit of the
 * last line, or a deleted file, but git can — and a write on top would commit it. Lines beyond HEAD
 * that extend it (an interrupted write) are committed first.
 */
async function commitPending(git: Git, file: string, shownRoot: string, onWarning: ((m: string) => void) | undefined): Promise<void> {
  const path = relative(git.root, file).split('\\').join('/');
  const committed = (await git.show('HEAD', path)) ?? '';
  const current = await readText(file);
  const line = firstDivergence(committed, current);
  const shown = relative(shownRoot, file);
  if (line !== undefined) {
    throw integrityError('E_HISTORY', current === '' ? `${shown} is in the last commit but missing from the working copy` : `${shown}:${line}: the working copy rewrites line ${line} of the last commit`, {
      hint: `registry files only grow: restore it (git checkout -- ${shown}) and run the command again`,
    });
  }
  if (current.length === committed.length) return;
  // Whole, chained lines beyond HEAD: an earlier command was stopped between its append and its
  // commit (the chain was checked by loadModel). Record them first, under a message that says so.
  const pending = current
    .slice(committed.length)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RegistryEvent);
  onWarning?.(`${shown}: committing ${pending.length} event(s) that an interrupted command appended but did not commit`);
  const subject = pending.length === 1 ? commitMessage(pending[0] as RegistryEvent) : `mlship: record ${pending.length} events (seq ${pending[0]?.seq}-${pending[pending.length - 1]?.seq})`;
  await git.commitPaths([path], `${subject}\n\nRecorded by a later mlship command: the command that appended ${pending.length === 1 ? 'it' : 'them'} was interrupted before its commit.`);
}

/** Lock, read, build, append, commit, and with `push` publish. Returns the event as it finally landed. */
export async function appendEvent(location: RegistryLocation, model: string, options: AppendOptions): Promise<AppendResult> {
  return withRegistryLock(location, options.onWarning, async () => {
    // Know where a push would go before anything is written (a detached HEAD has nowhere).
    if (options.push !== undefined) await options.git.pushTarget();
    else if ((await options.git.branch()) === null) {
      options.onWarning?.('HEAD is detached: the registry commit is on no branch; check out a branch before you push it');
    }
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
