/** Which checks apply to a model, and running them (DuckDB is loaded only when there is a check to run). */
import type { CheckResult } from '../checks/types.js';
import type { Project } from '../project.js';

/** The checks that apply to a model: its own list, or every check of the project. */
export const checksFor = (project: Project, model: string): string[] => {
  const [, config] = project.model(model);
  return config.checks ?? Object.keys(project.loaded.config.checks);
};

export const runModelChecks = (project: Project, model: string): Promise<CheckResult[]> => runNamedChecks(project, checksFor(project, model));

/** Run checks by name; DuckDB is loaded only when there is at least one. */
export async function runNamedChecks(project: Project, names: string[]): Promise<CheckResult[]> {
  if (names.length === 0) return [];
  const { runChecks } = await import('../checks/index.js');
  return runChecks(project.loaded.config.checks, names, { repoRoot: project.root, cacheDir: project.cacheDir, configFile: project.loaded.where([]).split(':')[0] ?? 'mlship.yaml' });
}
