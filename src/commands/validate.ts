/**
 * `mlship validate [--staged] [--no-data]`: the config, every artifact path, the registry chains,
 * and the data checks — fast and offline, every problem reported at once.
 * Exit: 4 when the registry is damaged, else 2 for config/path problems, else 1 for failed checks.
 */
import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { ExitCode, isMlshipError } from '../errors.js';
import type { CheckResult } from '../checks/types.js';
import { renderCheckSummary } from '../output/render.js';
import { checksFor, runNamedChecks } from '../pipeline/checks.js';
import { parseLog } from '../registry/chain.js';
import { loadModel, parseSegmentName } from '../registry/log.js';
import { firstDivergence } from '../registry/verify.js';
import type { Project } from '../project.js';
import type { Handler } from './types.js';

interface Problem {
  code: string;
  exitCode: number;
  message: string;
}

async function stagedRegistryProblems(p: Project): Promise<Problem[]> {
  const git = await p.git();
  const problems: Problem[] = [];
  const dir = relative(git.root, p.registry.dir).split('\\').join('/');
  for (const path of await git.stagedPaths()) {
    if (!path.startsWith(`${dir}/`)) continue;
    const staged = await git.staged(path);
    const committed = (await git.show('HEAD', path)) ?? '';
    if (staged === undefined) {
      problems.push({ code: 'E_HISTORY', exitCode: ExitCode.integrity, message: `${path}: deleting a registry file is not allowed (it is append-only)` });
      continue;
    }
    const line = firstDivergence(committed, staged);
    if (line !== undefined) problems.push({ code: 'E_HISTORY', exitCode: ExitCode.integrity, message: `${path}:${line}: the staged change rewrites line ${line}; registry files only accept appended lines` });
    const segment = parseSegmentName(path.slice(dir.length + 1));
    if (segment === undefined) continue;
    // A later segment's chain starts where the previous file ended: take its first line's word for that.
    let start = { seq: 1, prev: null as string | null };
    if (segment.index > 1) {
      try {
        const first = JSON.parse(staged.split('\n')[0] ?? '') as { seq?: number; prev?: string | null };
        start = { seq: first.seq ?? 1, prev: first.prev ?? null };
      } catch {
        // parseLog reports the broken line
      }
    }
    for (const pr of parseLog(staged, segment.model, start).problems) problems.push({ code: pr.code, exitCode: ExitCode.integrity, message: `${path}:${pr.line}: ${pr.message}` });
  }
  return problems;
}

export const handle: Handler = async ({ options }, { project, ctx, output }) => {
  const p = await project();
  const problems: Problem[] = [];
  const collect = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      if (!isMlshipError(error)) throw error;
      problems.push({ code: error.code, exitCode: error.exitCode, message: error.message });
    }
  };
  const models = Object.entries(p.loaded.config.models);
  for (const [name, model] of models) {
    for (const [artifact, path] of Object.entries(model.artifacts)) {
      const where = p.loaded.where(['models', name, 'artifacts', artifact]);
      await collect(async () => {
        const full = p.path(path, where);
        try {
          await stat(full);
        } catch {
          problems.push({ code: 'E_ARTIFACT_MISSING', exitCode: ExitCode.usage, message: `${where}: ${path} does not exist` });
        }
      });
    }
    await collect(() => loadModel(p.registry, name, ctx.cwd));
  }
  if (options['staged'] === true) await collect(async () => problems.push(...(await stagedRegistryProblems(p))));

  let checks: CheckResult[] = [];
  const checkNames = models.length === 0 ? Object.keys(p.loaded.config.checks) : [...new Set(models.flatMap(([name]) => checksFor(p, name)))];
  if (options['data'] !== false && checkNames.length > 0) {
    await collect(async () => {
      checks = await runNamedChecks(p, checkNames);
    });
  }

  const failedChecks = checks.filter((c) => !c.passed);
  const exitCode = problems.some((x) => x.exitCode === ExitCode.integrity)
    ? ExitCode.integrity
    : problems.some((x) => x.exitCode !== ExitCode.verdict)
      ? Math.max(...problems.filter((x) => x.exitCode !== ExitCode.verdict).map((x) => x.exitCode))
      : problems.length > 0 || failedChecks.length > 0
        ? ExitCode.verdict
        : ExitCode.ok;
  const c = output.color;
  const shown = relative(ctx.cwd, p.loaded.file) || p.loaded.file;
  const lines = [
    `${exitCode === 0 ? c.green('✓') : c.red('✗')} ${shown}: ${models.length} model(s), ${Object.keys(p.loaded.config.checks).length} check(s)`,
    ...problems.map((x) => `  ${c.red('✗')} ${x.message}`),
    ...(checks.length > 0 ? renderCheckSummary(c, checks) : []),
  ];
  // Scripts read `error` on every exit >= 2; the full list stays in `problems`.
  const error = exitCode >= 2 ? { error: { code: problems.find((x) => x.exitCode === exitCode)?.code ?? 'E_VALIDATE', message: problems.map((x) => x.message).join('\n'), hint: 'fix the problems listed, then run mlship validate again' } } : {};
  return { json: { ok: exitCode === 0, config: shown, problems, checks, ...error }, human: lines.join('\n'), exitCode };
};
