/**
 * `mlship init [--template NAME] [--ci github|gitlab] [--force]`: write mlship.yaml from a template
 * (with the editor schema line), the JSON Schema beside the registry, and git-ignore the local store
 * and cache. `--ci` also writes a CI pipeline; in a project that already has mlship.yaml it writes only
 * the pipeline (and `--force` then applies to the pipeline file alone).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../errors.js';
import { closest } from '../config/suggest.js';
import { CONFIG_FILE } from '../config/file.js';
import { optionString, type Handler } from './types.js';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));
const SCHEMA_LINE = '# yaml-language-server: $schema=.mlship/mlship.schema.json';
const IGNORED = ['.mlship/store/', '.mlship/cache/'];

/** CI pipelines: the file under templates/ci/ and where it goes in the project. */
export const CI_FILES: Record<string, { template: string; target: string }> = {
  github: { template: 'github.yml', target: '.github/workflows/mlship.yml' },
  gitlab: { template: 'gitlab-ci.yml', target: '.gitlab-ci.yml' },
};

async function writeCi(dir: string, provider: string): Promise<string> {
  const { template, target } = CI_FILES[provider] as { template: string; target: string };
  await mkdir(dirname(join(dir, target)), { recursive: true });
  await writeFile(join(dir, target), await readFile(join(TEMPLATES, 'ci', template), 'utf8'));
  return target;
}

export const handle: Handler = async ({ options }, { ctx }) => {
  const dir = resolve(ctx.cwd);
  const name = optionString(options, 'template') ?? 'basic';
  // A config template is a folder holding an mlship.yaml (templates/ci/ holds CI pipelines instead).
  const available = (await readdir(TEMPLATES, { withFileTypes: true })).filter((d) => d.isDirectory() && existsSync(join(TEMPLATES, d.name, CONFIG_FILE))).map((d) => d.name);
  if (!available.includes(name)) {
    const suggestion = closest(name, available);
    throw usageError('E_TEMPLATE', `unknown template '${name}'`, { hint: suggestion !== undefined ? `did you mean '${suggestion}'?` : `templates: ${available.join(', ')}` });
  }
  const ci = optionString(options, 'ci');
  const force = options['force'] === true;
  const target = join(dir, CONFIG_FILE);
  const configExists = existsSync(target);
  if (ci !== undefined) {
    const ciTarget = (CI_FILES[ci] as { target: string }).target;
    if (existsSync(join(dir, ciTarget)) && !force) throw usageError('E_EXISTS', `${ciTarget} already exists in ${dir}`, { hint: 'use --force to overwrite it' });
    if (configExists) {
      const written = await writeCi(dir, ci);
      return { json: { template: null, ci, written: [written] }, human: `created ${written} (${ci})\nnext: commit it; pull requests then get mlship's report as a job summary`, exitCode: 0 };
    }
  } else if (configExists && !force) {
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
  if (ci !== undefined) written.push(await writeCi(dir, ci));
  return { json: { template: name, ...(ci !== undefined ? { ci } : {}), written }, human: `created ${written.join(', ')} from template '${name}'\nnext: edit ${CONFIG_FILE}, then run 'mlship validate'`, exitCode: 0 };
};
