/**
 * `mlship hook install|uninstall`: a git pre-commit hook running `mlship validate --staged`.
 * An existing hook is kept and chained (run first); `uninstall` puts it back.
 */
import { existsSync } from 'node:fs';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';
import { usageError } from '../errors.js';
import type { Handler } from './types.js';

const MARK = '# mlship pre-commit hook';
const CHAINED = 'pre-commit.mlship-chained';
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The hook script. Pure, so the text is tested without a repository. */
export function hookScript(projectDir: string, fallbackBin: string): string {
  const dir = projectDir === '' ? '.' : projectDir;
  return `#!/bin/sh
${MARK} (installed by 'mlship hook install'; 'mlship hook uninstall' restores what was here before)
hooks=$(dirname "$0")
if [ -x "$hooks/${CHAINED}" ]; then "$hooks/${CHAINED}" "$@" || exit $?; fi
if [ -x node_modules/.bin/mlship ]; then set -- node_modules/.bin/mlship
elif command -v mlship >/dev/null 2>&1; then set -- mlship
else set -- node ${shellQuote(fallbackBin)}
fi
exec "$@" -C ${shellQuote(dir)} validate --staged
`;
}

export const handle: Handler = async ({ args }, { ctx }) => {
  const action = args[0] as string;
  if (action !== 'install' && action !== 'uninstall') throw usageError('E_USAGE', `unknown hook action '${action}'`, { hint: 'use: mlship hook install | mlship hook uninstall' });
  let root: string;
  let hooksDir: string;
  try {
    const git = simpleGit({ baseDir: ctx.cwd });
    root = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
    const path = (await git.raw(['rev-parse', '--git-path', 'hooks'])).trim();
    hooksDir = isAbsolute(path) ? path : join(ctx.cwd, path);
  } catch {
    throw usageError('E_NOT_GIT', `${ctx.cwd} is not inside a git repository`, { hint: "run 'git init' first" });
  }
  const hook = join(hooksDir, 'pre-commit');
  const chained = join(hooksDir, CHAINED);
  const current = existsSync(hook) ? await readFile(hook, 'utf8') : undefined;
  const ours = current?.includes(MARK) === true;

  if (action === 'install') {
    const chainedExisting = current !== undefined && !ours;
    if (chainedExisting) {
      if (existsSync(chained)) throw usageError('E_HOOK', `${chained} already exists`, { hint: 'remove or merge it by hand, then install again' });
      await rename(hook, chained);
    }
    const bin = fileURLToPath(new URL('../../bin/mlship', import.meta.url));
    await writeFile(hook, hookScript(relative(root, ctx.cwd).split('\\').join('/'), bin));
    await chmod(hook, 0o755);
    return {
      json: { installed: hook, chained: chainedExisting || existsSync(chained) ? chained : null },
      human: `installed ${relative(ctx.cwd, hook)}${chainedExisting ? ` (your existing hook runs first, kept as ${CHAINED})` : ''}`,
      exitCode: 0,
    };
  }
  if (!ours) {
    return { json: { removed: null }, human: current === undefined ? 'no pre-commit hook is installed' : 'the pre-commit hook is not mlship\'s: left as it is', exitCode: 0 };
  }
  await rm(hook);
  const restored = existsSync(chained);
  if (restored) await rename(chained, hook);
  return { json: { removed: hook, restored: restored ? hook : null }, human: `removed mlship's pre-commit hook${restored ? ' and restored the one that was there before' : ''}`, exitCode: 0 };
};
