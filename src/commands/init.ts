/**
 * `mlship init [--template NAME] [--force]`: write mlship.yaml from a template (with the editor
 * schema line), the JSON Schema beside the registry, and git-ignore the local store and cache.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../errors.js';
import { closest } from '../config/suggest.js';
import { CONFIG_FILE } from '../config/load.js';
import { optionString, type Handler } from './types.js';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));
const SCHEMA_LINE = '# yaml-language-server: $schema=.mlship/mlship.schema.json';
const IGNORED = ['.mlship/store/', '.mlship/cache/'];

export const handle: Handler = async ({ options }, { ctx }) => {
  const dir = resolve(ctx.cwd);
  const name = optionString(options, 'template') ?? 'basic';
  const available = (await readdir(TEMPLATES, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  if (!available.includes(name)) {
    const suggestion = closest(name, available);
    throw usageError('E_TEMPLATE', `unknown template '${name}'`, { hint: suggestion !== undefined ? `did you mean '${suggestion}'?` : `templates: ${available.join(', ')}` });
  }
  const target = join(dir, CONFIG_FILE);
  if (existsSync(target) && options['force'] !== true) {
    throw usageError('E_EXISTS', `${CONFIG_FILE} already exists in ${dir}`, { hint: 'use --force to overwrite it' });
  }
  const written: string[] = [];
  const template = await readFile(join(TEMPLATES, name, CONFIG_FILE), 'utf8');
  await writeFile(target, `${SCHEMA_LINE}\n${template}`);
  written.push(CONFIG_FILE);

  await mkdir(join(dir, '.mlship', 'registry'), { recursive: true });
  await copyFile(join(TEMPLATES, 'mlship.schema.json'), join(dir, '.mlship', 'mlship.schema.json'));
  written.push('.mlship/mlship.schema.json');

  const gitignore = join(dir, '.gitignore');
  const current = existsSync(gitignore) ? await readFile(gitignore, 'utf8') : '';
  const have = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = IGNORED.filter((l) => !have.has(l) && !have.has(l.replace(/\/$/, '')));
  if (missing.length > 0) {
    await writeFile(gitignore, `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}# mlship: local store and cache (the registry is committed)\n${missing.join('\n')}\n`);
    written.push('.gitignore');
  }
  return { json: { template: name, written }, human: `created ${written.join(', ')} from template '${name}'\nnext: edit ${CONFIG_FILE}, then run 'mlship validate'`, exitCode: 0 };
};
