/**
 * Data, schema and drift checks (issue 5), run on DuckDB. DuckDB is loaded only when at least one
 * selected check runs; each check's failures are verdicts (exit 1), a configuration problem found in
 * the data is a usage error (exit 2), and an unreadable dataset an environment error (exit 3).
 */
import { join } from 'node:path';
import type { CheckConfig } from '../config/schema.js';
import { usageError } from '../errors.js';
import type { CheckContext, CheckResult } from './types.js';

export type { CheckContext, CheckFailure, CheckResult } from './types.js';
export { renderChecks } from './render.js';
export { PSI_EPSILON } from './drift-math.js';

/** DuckDB memory limit unless the context says otherwise: keeps a 1 GB dataset's checks under 1 GB of memory. */
export const DEFAULT_MEMORY_LIMIT = '1GB';

/**
 * Run the named checks (all when `names` is undefined), in configuration order.
 * An unknown name is a usage error listing the known ones.
 */
export async function runChecks(checks: Record<string, CheckConfig>, names: string[] | undefined, ctx: CheckContext): Promise<CheckResult[]> {
  const known = Object.keys(checks);
  const unknown = (names ?? []).filter((n) => !(n in checks));
  if (unknown.length > 0) {
    throw usageError('E_CHECK_UNKNOWN', `unknown check${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}`, {
      hint: known.length > 0 ? `checks in ${ctx.configFile}: ${known.join(', ')}` : `${ctx.configFile} defines no checks`,
    });
  }
  const selected = names === undefined ? known : known.filter((n) => names.includes(n));
  if (selected.length === 0) return [];
  const [{ openEngine }, { runDatasetCheck }, { runDriftCheck }] = await Promise.all([import('./duckdb.js'), import('./dataset.js'), import('./drift.js')]);
  const engine = await openEngine({
    tempDir: join(ctx.cacheDir, 'duckdb-tmp'),
    memoryLimit: ctx.engine?.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
    ...(ctx.engine?.threads !== undefined ? { threads: ctx.engine.threads } : {}),
  });
  try {
    const now = ctx.now ?? new Date();
    const results: CheckResult[] = [];
    for (const name of selected) {
      const check = checks[name] as CheckConfig;
      const started = performance.now();
      const result = check.drift ? await runDriftCheck(engine, name, check.drift, ctx) : await runDatasetCheck(engine, name, check, ctx, now);
      result.stats = { ...result.stats, ms: Math.round(performance.now() - started) };
      results.push(result);
    }
    return results;
  } finally {
    engine.close();
  }
}
