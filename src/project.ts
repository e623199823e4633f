/**
 * A project: the loaded mlship.yaml, its folders, and the adapters (git, store) built on demand.
 * Everything from the outside world (cwd, env, clock, streams, signal) comes in through `Context`,
 * which only the CLI builds; core modules never read process.env or print.
 */
import { hostname, userInfo } from 'node:os';
import { usageError } from './errors.js';
import { closest } from './config/suggest.js';
import { loadConfig } from './config/cache.js';
import { cacheDirOf, findConfig, type LoadedConfig } from './config/file.js';
import type { ModelConfig } from './config/schema.js';
import type { Git } from './git/index.js';
import { resolveActor } from './registry/actor.js';
import type { RegistryLocation } from './registry/log.js';
import { resolveInside } from './paths.js';
import type { ArtifactStore } from './store/types.js';

export type Env = Record<string, string | undefined>;

/** A byte-progress task shown by the output layer (a spinner on a TTY, nothing elsewhere). */
export interface ProgressHandle {
  /** Bytes moved so far; the reporter computes the rate. */
  add(bytes: number): void;
  setTotal(bytes: number): void;
  done(): void;
}

export interface Context {
  cwd: string;
  env: Env;
  /** `-c/--config`, relative to cwd. */
  configFile: string | undefined;
  clock: () => Date;
  /** Where evaluation output and progress go (mlship's stderr), or undefined to discard. */
  log: NodeJS.WritableStream | undefined;
  signal: AbortSignal | undefined;
  warn(message: string): void;
  /** With --verbose: extra diagnostics. */
  debug(message: string): void;
  progress(label: string): ProgressHandle;
}

export interface Project {
  ctx: Context;
  loaded: LoadedConfig;
  root: string;
  cacheDir: string;
  registry: RegistryLocation;
  /** The model's name and config; `name` may be omitted when the project has exactly one model. */
  model(name: string | undefined): [string, ModelConfig];
  git(): Promise<Git>;
  store(): Promise<ArtifactStore>;
  actor(): Promise<string>;
  /** Resolve a project-relative path, refusing escapes (`what` names it in errors). */
  path(path: string, what: string): string;
  close(): Promise<void>;
}

/** `MLSHIP_SEGMENT_LINES`: events per registry file (a tuning knob; every writer must use the same). */
function segmentSetting(env: Env): { segmentLines?: number } {
  const raw = env['MLSHIP_SEGMENT_LINES'];
  if (raw === undefined || raw === '') return {};
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 2) throw usageError('E_ENV', `MLSHIP_SEGMENT_LINES must be an integer >= 2, got '${raw}'`);
  return { segmentLines: n };
}

/** `MLSHIP_CONFIG_CACHE=off`: parse mlship.yaml every time (to measure, or to rule the cache out). */
const configCacheSetting = (env: Env): boolean => !['off', '0', 'false', 'no'].includes((env['MLSHIP_CONFIG_CACHE'] ?? '').toLowerCase());

export async function openProject(ctx: Context): Promise<Project> {
  const loaded = await loadConfig(findConfig(ctx.cwd, ctx.configFile), ctx.cwd, { cache: configCacheSetting(ctx.env) });
  const root = loaded.root;
  const cacheDir = cacheDirOf(loaded.file);
  const registryDir = resolveInside(root, loaded.config.registry, loaded.where(['registry']));
  let git: Promise<Git> | undefined;
  let store: Promise<ArtifactStore> | undefined;

  const project: Project = {
    ctx,
    loaded,
    root,
    cacheDir,
    registry: { dir: registryDir, cacheDir, ...segmentSetting(ctx.env) },
    model(name) {
      const models = Object.keys(loaded.config.models);
      if (name === undefined) {
        if (models.length === 1) return [models[0] as string, loaded.config.models[models[0] as string] as ModelConfig];
        throw usageError('E_MODEL_REQUIRED', models.length === 0 ? `no models are declared in ${loaded.where([]).split(':')[0]}` : `this project has several models (${models.join(', ')}): name one`, {
          hint: models.length === 0 ? "add one under 'models:'" : `e.g. mlship run ${models[0]}`,
        });
      }
      const model = loaded.config.models[name];
      if (model === undefined) {
        const suggestion = closest(name, models);
        throw usageError('E_UNKNOWN_MODEL', `unknown model '${name}'`, {
          hint: suggestion !== undefined ? `did you mean '${suggestion}'?` : models.length > 0 ? `models: ${models.join(', ')}` : "declare it under 'models:' in mlship.yaml",
        });
      }
      return [name, model];
    },
    git() {
      git ??= import('./git/index.js').then(({ openGit }) => openGit(root));
      return git;
    },
    store() {
      store ??= import('./store/index.js').then(({ openStore }) => openStore(loaded.config.store, { root, env: ctx.env, onWarning: ctx.warn }));
      return store;
    },
    async actor() {
      const email = await (await project.git()).config('user.email');
      let fallback = 'unknown';
      try {
        fallback = `${userInfo().username}@${hostname()}`;
      } catch {
        // no passwd entry (some containers): keep 'unknown'
      }
      return resolveActor(ctx.env, email, fallback);
    },
    path(path, what) {
      return resolveInside(root, path, what);
    },
    async close() {
      if (store !== undefined) await (await store.catch(() => undefined))?.close();
    },
  };
  return project;
}
