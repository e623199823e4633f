/** `mlship check [NAME...]`: run data, schema and drift checks (exit 1 when one fails). */
import { runNamedChecks } from '../pipeline/checks.js';
import type { Handler } from './types.js';

export const handle: Handler = async ({ args }, { project }) => {
  const p = project();
  const given = (args[0] as string[] | undefined) ?? [];
  const results = await runNamedChecks(p, given.length > 0 ? given : Object.keys(p.loaded.config.checks));
  const { renderChecks } = await import('../checks/render.js');
  const passed = results.every((r) => r.passed);
  return { json: { passed, checks: results }, human: results.length === 0 ? 'no checks are configured' : renderChecks(results), exitCode: passed ? 0 : 1 };
};
