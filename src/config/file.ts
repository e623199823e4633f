/**
 * The config file without its parser: where it is, its bytes, and where a key sits in it.
 * Nothing here loads yaml or zod, so commands that only need a path (hash) or a cached config
 * (cache.ts) start without them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { usageError } from '../errors.js';
import type { Config } from './schema.js';

export const CONFIG_FILE = 'mlship.yaml';

/** The local, git-ignored cache folder of the project whose mlship.yaml is `configFile`. */
export const cacheDirOf = (configFile: string): string => join(dirname(configFile), '.mlship', 'cache');

/** A key path into the YAML document: object keys and array indexes. */
export type KeyPath = readonly (string | number)[];

/** Line and column (1-based) of every node of a valid config, keyed by `pathKey` of its key path. */
export type Positions = Record<string, readonly [line: number, col: number]>;

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the config file. */
  file: string;
  /** Absolute project root: the folder holding the config file. Every path is resolved inside it. */
  root: string;
  /** `mlship.yaml:12:5 models.churn.gates[1].min` for a key path, to point later errors at the config. */
  where(path: KeyPath): string;
}

/** Limit that keeps a hostile file from exhausting memory. */
const MAX_BYTES = 4 * 1024 * 1024;

export const formatKeyPath = (path: KeyPath): string =>
  path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out === '' ? String(key) : `${out}.${String(key)}`), '');

export const pathKey = (path: KeyPath): string => path.map(String).join('\u0000');

/** `where` over a positions table: the node at `path`, or its deepest existing ancestor. */
export const whereFrom =
  (file: string, positions: Positions) =>
  (path: KeyPath): string => {
    for (let n = path.length; n >= 0; n--) {
      const at = positions[pathKey(path.slice(0, n))];
      if (at !== undefined) return `${file}:${at[0]}:${at[1]} ${formatKeyPath(path)}`;
    }
    return `${file}:1:1 ${formatKeyPath(path)}`;
  };

/** Find the config: `-c FILE` relative to cwd, else mlship.yaml in cwd or the nearest parent. */
export function findConfig(cwd: string, explicit: string | undefined): string {
  if (!existsSync(cwd)) throw usageError('E_CWD', `the folder ${cwd} does not exist`, { hint: 'check the -C/--cwd argument' });
  if (explicit !== undefined) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw usageError('E_CONFIG_MISSING', `config file ${explicit} not found`, { hint: 'check the -c/--config path' });
    return file;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = resolve(dir, CONFIG_FILE);
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) break;
  }
  throw usageError('E_CONFIG_MISSING', `no ${CONFIG_FILE} in ${cwd} or any parent folder`, {
    hint: "run 'mlship init' to create one, or pass -C DIR / -c FILE",
  });
}

/** The file name as the user should see it in messages: relative to cwd. */
export const shownName = (file: string, cwd: string): string => relative(cwd, file) || basename(file);

/** The config's bytes, refusing what cannot be a pipeline file (exit 2). */
export function readConfigBytes(file: string, shown: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw usageError('E_CONFIG_READ', `cannot read ${shown}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (bytes.length > MAX_BYTES) throw usageError('E_CONFIG', `${shown}: ${bytes.length} bytes is too large for a pipeline file (limit ${MAX_BYTES})`);
  return bytes;
}

/** UTF-8 text of the config; invalid bytes are an error with their line. */
export function decodeConfig(bytes: Buffer, shown: string): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const bad = text.indexOf('\uFFFD');
  if (bad >= 0) {
    const line = text.slice(0, bad).split('\n').length;
    throw usageError('E_CONFIG', `${shown}:${line}: not valid UTF-8`, { hint: 'save the file as UTF-8' });
  }
  return text;
}
