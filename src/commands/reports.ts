/**
 * Report files shared by eval, run, check and diff: `--report FILE.md`, `--junit FILE.xml`, and under
 * GitHub Actions (`GITHUB_ACTIONS=true`) `::error` annotations plus the Markdown appended to the file
 * `GITHUB_STEP_SUMMARY` names. Targets are checked before the command does any work, so a typo in a
 * path costs nothing (exit 2, nothing evaluated, stored or registered). Rendering is in src/output/.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, rename, rm, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { usageError } from '../errors.js';
import type { Metrics } from '../gates/index.js';
import type { Output } from '../output/index.js';
import type { EnvironmentMetrics } from '../output/report.js';
import type { Env, Project } from '../project.js';
import type { CommandResult } from './types.js';
import { optionString } from './types.js';

export interface ReportTargets {
  /** Absolute paths. */
  report?: string;
  junit?: string;
  /** The GitHub step summary file, when running under GitHub Actions. */
  summary?: string;
  github: boolean;
}

function assertWritable(path: string, what: string): void {
  let parent;
  try {
    parent = statSync(dirname(path));
  } catch {
    throw usageError('E_REPORT_PATH', `${what}: the folder ${dirname(path)} does not exist`, { hint: 'create the folder first, or write the file somewhere that exists' });
  }
  if (!parent.isDirectory()) throw usageError('E_REPORT_PATH', `${what}: ${dirname(path)} is not a folder`);
  try {
    if (statSync(path).isDirectory()) throw usageError('E_REPORT_PATH', `${what}: ${path} is a folder`, { hint: 'name a file, e.g. mlship-report.md' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export const isGitHubActions = (env: Env): boolean => env['GITHUB_ACTIONS'] === 'true';

/** Read and check `--report`, `--junit` and the GitHub environment. */
export function reportTargets(options: Record<string, unknown>, cwd: string, env: Env, flags: { junit: boolean } = { junit: true }): ReportTargets {
  const targets: ReportTargets = { github: isGitHubActions(env) };
  const report = optionString(options, 'report');
  if (report !== undefined) {
    targets.report = resolve(cwd, report);
    assertWritable(targets.report, '--report');
  }
  const junit = flags.junit ? optionString(options, 'junit') : undefined;
  if (junit !== undefined) {
    targets.junit = resolve(cwd, junit);
    assertWritable(targets.junit, '--junit');
    if (targets.junit === targets.report) throw usageError('E_REPORT_PATH', '--report and --junit name the same file', { hint: 'e.g. --report mlship.md --junit mlship.xml' });
  }
  const summary = env['GITHUB_STEP_SUMMARY'];
  if (targets.github && summary !== undefined && summary !== '') {
    targets.summary = resolve(cwd, summary);
    assertWritable(targets.summary, 'GITHUB_STEP_SUMMARY');
  }
  return targets;
}

/** Write a whole file atomically: a temporary file beside it, then a rename. */
async function writeWhole(path: string, text: string): Promise<void> {
  const temp = resolve(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export interface Rendered {
  markdown: () => string;
  junit?: () => string;
  annotations?: () => string[];
}

/** Write what the targets ask for; returns the annotation lines to print (empty outside GitHub Actions). */
export async function writeReports(targets: ReportTargets, rendered: Rendered): Promise<string[]> {
  const markdown = targets.report !== undefined || targets.summary !== undefined ? rendered.markdown() : '';
  if (targets.report !== undefined) await writeWhole(targets.report, markdown);
  if (targets.junit !== undefined && rendered.junit !== undefined) await writeWhole(targets.junit, rendered.junit());
  // GitHub's job summary is one file per step that every command of the step appends to.
  if (targets.summary !== undefined) await appendFile(targets.summary, `${markdown}\n`);
  return targets.github && rendered.annotations !== undefined ? rendered.annotations() : [];
}

/**
 * Put annotation lines where GitHub reads them without breaking the output contract: on stdout before
 * the human text; with --json on stderr (the runner reads workflow commands from both streams, and
 * stdout must stay exactly one JSON document).
 */
export function withAnnotations(result: CommandResult, annotations: string[], output: Output): CommandResult {
  if (annotations.length === 0) return result;
  if (output.json) {
    output.error(annotations.join('\n'));
    return result;
  }
  return { ...result, human: [...annotations, result.human].filter((x) => x !== '').join('\n') };
}

/** What is live in each of the model's environments (in promotion order), for the report. */
export async function environmentMetrics(project: Project, model: string): Promise<EnvironmentMetrics[]> {
  const [{ loadModel }, { baselinesOf }] = await Promise.all([import('../registry/log.js'), import('../registry/state.js')]);
  const [, config] = project.model(model);
  const { state } = await loadModel(project.registry, model, project.root);
  const live = baselinesOf(state);
  return config.environments.map((env): EnvironmentMetrics => {
    const b = live[env];
    return { env, version: b?.version ?? null, metrics: (b?.metrics ?? null) as Metrics | null };
  });
}

/** Where gate i of a model is declared, as the config loader reports it. */
export const gateWhere = (project: Project, model: string) => (index: number): string => project.loaded.where(['models', model, 'gates', index]);
