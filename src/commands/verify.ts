/**
 * `mlship verify [--store] [--since REV]`: chains, events, append-only git history, and with
 * --store every referenced object re-hashed. Exit 4 on any integrity problem.
 */
import { ExitCode } from '../errors.js';
import type { RegisterEvent } from '../registry/events.js';
import { verifyRegistry, type VerifyProblem } from '../registry/verify.js';
import { parseTree } from '../store/artifacts.js';
import { mapPool } from '../store/pool.js';
import type { ArtifactStore } from '../store/types.js';
import { optionString, type Handler } from './types.js';

async function verifyObjects(store: ArtifactStore, events: { file: string; event: RegisterEvent }[]): Promise<{ problems: VerifyProblem[]; objects: number }> {
  const problems: VerifyProblem[] = [];
  const seen = new Set<string>();
  const jobs: { digest: string; file: string; line: number; what: string }[] = [];
  for (const { file, event } of events) {
    for (const [name, a] of Object.entries(event.artifacts)) {
      const what = `${event.model} v${event.version} artifact '${name}'`;
      if (a.kind === 'tree') {
        const state = await store.check(a.digest);
        seen.add(a.digest);
        if (state !== 'ok') {
          problems.push({ code: state === 'missing' ? 'E_OBJECT_MISSING' : 'E_DIGEST', file, line: event.seq, message: `${what}: tree object ${a.digest} is ${state}` });
          continue;
        }
        for (const entry of parseTree(await store.getBytes(a.digest), a.digest)) jobs.push({ digest: entry.digest, file, line: event.seq, what: `${what} file ${entry.path}` });
      } else {
        jobs.push({ digest: a.digest, file, line: event.seq, what });
      }
    }
  }
  const unique = jobs.filter((j) => (seen.has(j.digest) ? false : (seen.add(j.digest), true)));
  const states = await mapPool(unique, 4, (j) => store.check(j.digest));
  unique.forEach((j, i) => {
    const state = states[i];
    if (state !== 'ok') problems.push({ code: state === 'missing' ? 'E_OBJECT_MISSING' : 'E_DIGEST', file: j.file, line: j.line, message: `${j.what}: object ${j.digest} is ${state}` });
  });
  return { problems, objects: seen.size };
}

export const handle: Handler = async ({ options }, { project, ctx }) => {
  const p = await project();
  const git = await p.git();
  const since = optionString(options, 'since');
  const report = await verifyRegistry({ location: p.registry, shownRoot: ctx.cwd, git, ...(since === undefined ? {} : { since }) });
  let objects = 0;
  if (options['store'] === true) {
    const store = await p.store();
    const registers = report.models.flatMap((m) => [...m.state.versions.values()].map((v) => ({ file: m.file, event: v.register })));
    const checked = await verifyObjects(store, registers);
    report.problems.push(...checked.problems);
    objects = checked.objects;
  }
  const ok = report.problems.length === 0;
  const events = report.models.reduce((n, m) => n + m.events, 0);
  const lines = ok
    ? [`ok: ${report.models.length} registry file(s), ${events} event(s), ${report.commits} commit(s) of history${options['store'] === true ? `, ${objects} object(s) re-hashed` : ''}`]
    : report.problems.map((pr) => `${pr.file}${pr.line !== null ? `:${pr.line}` : ''}: ${pr.code}: ${pr.message}`);
  return {
    json: {
      ok,
      ...(ok ? {} : { error: { code: report.problems[0]?.code ?? 'E_VERIFY', message: lines.join('\n'), hint: 'restore the registry from git (or the store from a good copy); see problems' } }),
      problems: report.problems,
      models: report.models.map((m) => ({ model: m.model, file: m.file, events: m.events })),
      commits: report.commits,
      ...(options['store'] === true ? { objects } : {}),
    },
    human: lines.join('\n'),
    exitCode: ok ? 0 : report.problems.some((pr) => pr.code === 'E_REV') && report.problems.length === 1 ? ExitCode.usage : ExitCode.integrity,
  };
};
