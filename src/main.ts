/**
 * The executable's entry (bin/mlship). Before the CLI's modules load — ~80 ms of one core, most of
 * it commander and Node's own child_process — a command that hashes artifacts starts GNU find on
 * the large directories the tree cache knows (src/store/find.ts), so that their listing comes from
 * the other core meanwhile. Only the plain form `mlship COMMAND …` is looked at: with -C or -c
 * anywhere, nothing is started, and the listing is taken when it is needed, as always.
 */

/** The commands that hash a model's artifacts. */
const HASHING = new Set(['push', 'run', 'register', 'eval']);
/** At most this many finds at once: a project with many large directories lists the rest itself. */
const MAX_PREFETCH = 4;

/**
 * Start the listings `argv` will need; returns the directories (for tests). What it needs is only
 * loaded for a command that hashes: every other command starts as before.
 */
export async function prefetch(argv: readonly string[], cwd: string, env: Record<string, string | undefined>): Promise<string[]> {
  const command = argv[2];
  if (command === undefined || !HASHING.has(command)) return [];
  const [{ FIND_MIN_FILES, findSetting, prefetchFind }, { largeTrees, statCacheFile }, { cacheDirOf, findConfig }] = await Promise.all([import('./store/find.js'), import('./store/stat-cache.js'), import('./config/file.js')]);
  if (!findSetting(env)) return [];
  const rest = argv.slice(3);
  if (rest.some((a) => a === '--' || a.startsWith('--cwd') || a.startsWith('--config') || /^-[^-]*[Cc]/.test(a))) return [];
  let config: string;
  try {
    config = findConfig(cwd, undefined);
  } catch {
    return [];
  }
  const dirs = largeTrees(statCacheFile(cacheDirOf(config)), FIND_MIN_FILES).slice(0, MAX_PREFETCH);
  for (const dir of dirs) prefetchFind(dir);
  return dirs;
}

export async function main(argv: string[]): Promise<number> {
  await prefetch(argv, process.cwd(), process.env);
  const { run } = await import('./cli.js');
  return run(argv);
}
