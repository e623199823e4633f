/**
 * The validated-config cache (.mlship/cache/config): a hit must give exactly what a parse gives,
 * any change to the file must miss, and a damaged, foreign or unwritable cache must cost time only.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configCacheDir, loadConfig } from '../src/config/cache.js';
import { parseConfig } from '../src/config/load.js';
import { mlship } from './helpers/cli.js';

const CONFIG = `version: 1
models:
  churn:
    artifacts:
      model: m.json
    evaluate:
      command: [python3, eval.py, '\${artifacts.model}', '\${outputs}']
    gates:
      - { metric: auc, min: 0.8 }
      - metric: f1
        min: 0.5
checks:
  rows:
    data: data.csv
    columns:
      id: { type: integer, unique: true }
`;

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlship-config-cache-'));
  file = join(dir, 'mlship.yaml');
  writeFileSync(file, CONFIG);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entries = () => (existsSync(configCacheDir(dir)) ? readdirSync(configCacheDir(dir)).filter((n) => n.endsWith('.json')) : []);
const PATHS = [[], ['models'], ['models', 'churn', 'artifacts', 'model'], ['models', 'churn', 'gates', 1, 'min'], ['models', 'churn', 'gates', 0], ['checks', 'rows', 'columns', 'id', 'unique'], ['models', 'churn', 'missing', 'deeper'], ['registry']] as const;

describe('config cache', () => {
  it('gives on a hit exactly the config and positions a parse gives', async () => {
    const parsed = parseConfig(CONFIG, 'mlship.yaml');
    if (!parsed.ok) throw new Error('fixture must be valid');
    const miss = await loadConfig(file, dir);
    expect(entries()).toHaveLength(1);
    const hit = await loadConfig(file, dir);
    expect(hit.config).toEqual(parsed.config);
    expect(miss.config).toEqual(parsed.config);
    for (const path of PATHS) {
      expect(hit.where(path)).toBe(parsed.where(path));
      expect(miss.where(path)).toBe(parsed.where(path));
    }
    expect(hit.where(['models', 'churn', 'gates', 1, 'min'])).toBe('mlship.yaml:11:14 models.churn.gates[1].min');
  });

  it('misses after any edit, and never caches an invalid file', async () => {
    await loadConfig(file, dir);
    writeFileSync(file, CONFIG.replace('min: 0.5', 'min: 0.75'));
    const edited = await loadConfig(file, dir);
    expect(edited.config.models['churn']?.gates[1]).toMatchObject({ metric: 'f1', min: 0.75 });
    expect(entries()).toHaveLength(2);

    writeFileSync(file, CONFIG.replace('min: 0.5', 'min: high'));
    for (let i = 0; i < 2; i++) await expect(loadConfig(file, dir)).rejects.toMatchObject({ code: 'E_CONFIG', exitCode: 2, message: expect.stringContaining('mlship.yaml:11:14 models.churn.gates[1].min: expected a number') });
    expect(entries()).toHaveLength(2);
  });

  it('parses again when an entry is damaged or belongs to another key, and repairs it', async () => {
    await loadConfig(file, dir);
    const [name] = entries();
    const entryFile = join(configCacheDir(dir), name as string);
    const good = readFileSync(entryFile, 'utf8');
    for (const bad of ['', '{"format":1', 'null', JSON.stringify({ ...JSON.parse(good), key: 'f'.repeat(64), config: { models: {} } }), JSON.stringify({ ...JSON.parse(good), positions: null })]) {
      writeFileSync(entryFile, bad);
      const loaded = await loadConfig(file, dir);
      expect(Object.keys(loaded.config.models)).toEqual(['churn']);
      expect(loaded.where(['models', 'churn'])).toBe('mlship.yaml:4:5 models.churn');
      expect(readFileSync(entryFile, 'utf8')).toBe(good);
    }
  });

  it('works when the cache folder cannot be written', async () => {
    mkdirSync(join(dir, '.mlship', 'cache'), { recursive: true });
    writeFileSync(configCacheDir(dir), 'a file where the folder should be');
    expect((await loadConfig(file, dir)).config.models['churn']).toBeDefined();
    expect((await loadConfig(file, dir)).config.models['churn']).toBeDefined();
  });

  it('keeps the 8 most recent entries', async () => {
    const base = Date.now() / 1000 - 100;
    const created: string[] = [];
    for (let i = 0; i < 11; i++) {
      const before = new Set(entries());
      writeFileSync(file, `${CONFIG}# edit ${i}\n`);
      await loadConfig(file, dir);
      const added = entries().filter((n) => !before.has(n));
      expect(added).toHaveLength(1);
      // explicit mtimes, so the order does not depend on the clock's resolution
      for (const n of added) utimesSync(join(configCacheDir(dir), n), base + i, base + i);
      created.push(...added);
    }
    expect(entries().sort()).toEqual(created.slice(3).sort());
  });

  it('is not used with { cache: false }', async () => {
    await loadConfig(file, dir, { cache: false });
    expect(entries()).toHaveLength(0);
  });
});

describe('config cache through the CLI', () => {
  it('validate answers the same from the cache, sees an edit at once, and MLSHIP_CONFIG_CACHE=off writes nothing', async () => {
    writeFileSync(file, CONFIG.replace(/checks:[\s\S]*$/, ''));
    writeFileSync(join(dir, 'm.json'), '{}');
    const off = await mlship(['validate', '--no-data'], { cwd: dir, env: { MLSHIP_CONFIG_CACHE: 'off' } });
    expect(off.code).toBe(0);
    expect(entries()).toHaveLength(0);
    const first = await mlship(['validate', '--no-data', '--json'], { cwd: dir });
    const second = await mlship(['validate', '--no-data', '--json'], { cwd: dir });
    expect(first.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(entries()).toHaveLength(1);

    writeFileSync(file, CONFIG.replace(/checks:[\s\S]*$/, '').replace('m.json', 'gone.json'));
    const edited = await mlship(['validate', '--no-data'], { cwd: dir });
    expect(edited.code).toBe(2);
    expect(edited.stderr + edited.stdout).toContain('mlship.yaml:5:14 models.churn.artifacts.model: gone.json does not exist');
  });
});
