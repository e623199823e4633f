/**
 * The one place that runs child processes for mlship's own work (the evaluation command).
 * Never through a shell: argv is an array. Failures become MlshipErrors with the output's tail attached.
 */
import { execa } from 'execa';

export interface ExecOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  timeoutMs: number | undefined;
  /** Receives stdout and stderr as they come. */
  log: NodeJS.WritableStream | undefined;
  signal: AbortSignal | undefined;
  /** Called with the argv before it runs (for --verbose). */
  onCommand?: (argv: readonly string[]) => void;
}

export interface ExecResult {
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  aborted: boolean;
  /** The program could not be started at all (ENOENT, EACCES…). */
  spawnError: NodeJS.ErrnoException | undefined;
  /** The last lines the command printed (stdout and stderr interleaved). */
  tail: string[];
}

const TAIL_LINES = 20;

export async function execCommand(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const [program, ...args] = argv;
  if (program === undefined) throw new Error('execCommand needs a program');
  options.onCommand?.(argv);
  const tail: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer | string) => {
    const text = partial + chunk.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    tail.push(...lines);
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
  };
  const child = execa(program, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    shell: false,
    reject: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    timeout: options.timeoutMs,
    forceKillAfterDelay: 5_000,
    cancelSignal: options.signal,
  });
  child.all?.on('data', (chunk: Buffer) => {
    options.log?.write(chunk);
    keep(chunk);
  });
  const result = await child;
  if (partial !== '') tail.push(partial);
  const cause = (result as { cause?: unknown }).cause as NodeJS.ErrnoException | undefined;
  const spawnError = result.failed && result.exitCode === undefined && !result.timedOut && !result.isCanceled && cause?.code !== undefined ? cause : undefined;
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    aborted: result.isCanceled,
    spawnError,
    tail: tail.slice(-TAIL_LINES),
  };
}
