/**
 * Load the config, remembering valid ones: `.mlship/cache/config/<key>.json`, where the key is the
 * sha256 of mlship.yaml's bytes and of everything that decides what they mean (this folder's
 * modules, zod's and yaml's versions). A hit skips loading and running yaml and zod, about two
 * thirds of a command's start-up; a miss, a damaged entry or an unwritable folder just parses.
 * Only valid configs are remembered: problems are always found afresh.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './schema.js';
import { decodeConfig, readConfigBytes, shownName, whereFrom, type LoadedConfig, type Positions } from './file.js';

const FORMAT = 1;
/** Entries kept per project (one per config file version; several with `-c`). */
const KEEP = 8;

interface Entry {
  format: number;
  key: string;
  config: Config;
  positions: Positions;
}

let codeFingerprint: string | undefined;

/** sha256 of the code that turns bytes into a config: edit the schema and every entry is stale. */
function fingerprint(): string {
  if (codeFingerprint !== undefined) return codeFingerprint;
  const hash = createHash('sha256');
  const here = dirname(fileURLToPath(import.meta.url));
  for (const name of readdirSync(here).sort()) {
    if (!/\.[cm]?[jt]s$/.test(name)) continue;
    hash.update(`${name}\0`).update(readFileSync(join(here, name)));
  }
  const require = createRequire(import.meta.url);
  for (const pkg of ['zod/package.json', 'yaml/package.json']) hash.update(`${pkg}\0`).update(readFileSync(require.resolve(pkg)));
  codeFingerprint = hash.digest('hex');
  return codeFingerprint;
}

export const configCacheDir = (root: string): string => join(root, '.mlship', 'cache', 'config');

/** Read and validate the config at `file`: one MlshipError (exit 2) listing every problem. */
export async function loadConfig(file: string, cwd: string, options: { cache?: boolean } = {}): Promise<LoadedConfig> {
  const shown = shownName(file, cwd);
  const root = dirname(file);
  const bytes = readConfigBytes(file, shown);
  const useCache = options.cache !== false;
  const key = useCache ? createHash('sha256').update(fingerprint()).update('\0').update(bytes).digest('hex') : '';
  const entryFile = join(configCacheDir(root), `${key}.json`);
  if (useCache) {
    const entry = readEntry(entryFile, key);
    if (entry !== undefined) return { config: entry.config, file, root, where: whereFrom(shown, entry.positions) };
  }
  const { configError, parseConfig } = await import('./load.js');
  const result = parseConfig(decodeConfig(bytes, shown), shown);
  if (!result.ok) throw configError(result.problems);
  if (useCache) writeEntry(entryFile, { format: FORMAT, key, config: result.config, positions: result.positions });
  return { config: result.config, file, root, where: result.where };
}

function readEntry(file: string, key: string): Entry | undefined {
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as Partial<Entry> | null;
    if (entry?.format !== FORMAT || entry.key !== key || typeof entry.config !== 'object' || entry.config === null || typeof entry.positions !== 'object' || entry.positions === null) return undefined;
    return entry as Entry;
  } catch {
    return undefined; // absent or damaged: parse instead
  }
}

function writeEntry(file: string, entry: Entry): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    writeFileSync(temp, JSON.stringify(entry));
    renameSync(temp, file);
    const entries = readdirSync(dir).filter((name) => name.endsWith('.json') || name.endsWith('.tmp'));
    if (entries.length > KEEP) {
      const byAge = entries.map((name) => ({ name, mtime: statSync(join(dir, name)).mtimeMs })).sort((a, b) => b.mtime - a.mtime);
      for (const old of byAge.slice(KEEP)) unlinkSync(join(dir, old.name));
    }
  } catch {
    // A cache that cannot be written costs time on the next run, never correctness.
  }
}
