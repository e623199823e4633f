/**
 * The commander program: global options, command registration, and the one place where results
 * become output and errors become exit codes. `createProgram` is a factory so tests can parse argv
 * without exiting the process.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { commands, type CommandDef } from './commands/index.js';
import type { CommandResult } from './commands/types.js';
import type { Project } from './project.js';
import { ExitCode, MlshipError, isMlshipError, usageError } from './errors.js';

export interface CliIO {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

interface GlobalOptions {
  cwd?: string;
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

const version = (): string => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
};

/** Builds the program; `onResult` receives the exit code of the command that ran. */
export function createProgram(io: CliIO, onResult: (code: number) => void): Command {
  const program = new Command('mlship')
    .description('Take ML models from a git repository to production, and back.')
    .version(version(), '-V, --version')
    .option('-C, --cwd <dir>', 'run as if started in DIR')
    .option('-c, --config <file>', 'pipeline file (default: mlship.yaml in DIR or a parent)')
    .option('--json', 'print exactly one JSON document on stdout')
    .option('-q, --quiet', 'print less on stderr')
    .option('-v, --verbose', 'print more on stderr (and stack traces of bugs)')
    .option('--no-color', 'never use colour')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      // Usage errors are reported by `run` in our own format (and as JSON with --json).
      writeErr: () => {},
    });

  for (const def of commands) program.addCommand(defineCommand(def, io, onResult));
  return program;
}

function defineCommand(def: CommandDef, io: CliIO, onResult: (code: number) => void): Command {
  const command = new Command(def.name).description(def.summary).exitOverride().configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: () => {} });
  for (const arg of def.args ?? []) command.argument(arg);
  for (const o of def.options ?? []) {
    const option = new Option(o.flags, o.description);
    if (o.defaultValue !== undefined) option.default(o.defaultValue);
    if (o.choices !== undefined) option.choices(o.choices);
    command.addOption(option);
  }
  command.action(async (...params: unknown[]) => {
    const cmd = params[params.length - 1] as Command;
    const args = params.slice(0, def.args?.length ?? 0) as (string | string[] | undefined)[];
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    onResult(await execute(def, args, cmd.opts(), globals, io));
  });
  return command;
}

async function execute(def: CommandDef, args: (string | string[] | undefined)[], options: Record<string, unknown>, globals: GlobalOptions, io: CliIO): Promise<number> {
  const { createOutput } = await import('./output/index.js');
  const output = await createOutput({
    json: globals.json === true,
    quiet: globals.quiet === true,
    verbose: globals.verbose === true,
    noColor: globals.color === false,
    env: io.env,
    stdout: io.stdout,
    stderr: io.stderr,
  });
  try {
    const { openProject } = await import('./project.js');
    const cwd = resolve(io.cwd, globals.cwd ?? '.');
    // Like git -C: a folder that is not there is a usage error for every command (init included).
    const folder = statSync(cwd, { throwIfNoEntry: false });
    if (folder?.isDirectory() !== true) throw usageError('E_CWD', `${cwd} ${folder === undefined ? 'does not exist' : 'is not a folder'}`, { hint: 'check the -C/--cwd argument' });
    const ctx = {
      cwd,
      env: io.env,
      configFile: globals.config,
      clock: () => new Date(),
      log: output.log,
      signal: io.signal,
      warn: output.warn,
      debug: output.debug,
      progress: output.progress,
    };
    let project: Promise<Project> | undefined;
    const { handle } = await def.load();
    let result: CommandResult;
    try {
      result = await handle({ args, options }, { ctx, output, project: () => (project ??= openProject(ctx)) });
    } finally {
      await (await project?.catch(() => undefined))?.close();
    }
    if (output.json) output.document(result.json);
    else if (result.human !== '') output.print(result.human);
    return result.exitCode;
  } catch (error) {
    return reportError(error, output.json, globals.verbose === true, io);
  }
}

function reportError(error: unknown, json: boolean, verbose: boolean, io: CliIO): number {
  const known = isMlshipError(error) ? error : undefined;
  const code = known?.exitCode ?? ExitCode.bug;
  const message = known?.message ?? `internal error: ${error instanceof Error ? error.message : String(error)}`;
  const hint = known?.hint ?? (known === undefined ? 'this is a bug in mlship; run again with --verbose and report the output' : undefined);
  if (json) {
    io.stdout.write(`${JSON.stringify({ error: { code: known?.code ?? 'E_INTERNAL', message, ...(hint !== undefined ? { hint } : {}), ...(known?.details !== undefined ? { details: known.details } : {}) } }, null, 2)}\n`);
  } else {
    io.stderr.write(`error: ${message}\n${hint !== undefined ? `hint: ${hint}\n` : ''}`);
  }
  if (verbose && error instanceof Error && (known === undefined || known.cause !== undefined)) {
    io.stderr.write(`${(known?.cause instanceof Error ? known.cause : error).stack ?? ''}\n`);
  }
  return code;
}

/** Parse argv and run; resolves to the exit code. Never throws, never calls process.exit. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let code: number = ExitCode.ok;
  const program = createProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      if (error.code === 'commander.help') {
        // `mlship` or `mlship canary` without a subcommand: commander "shows help as an error" (exit 1)
        // through writeErr, which is silenced here. Say so, with the help, and exit as a usage error.
        if (error.exitCode === 0) return ExitCode.ok;
        const json = argv.includes('--json');
        if (!json) io.stderr.write(program.helpInformation());
        return reportError(new MlshipError('E_USAGE', ExitCode.usage, 'no command given', { hint: "see 'mlship --help' or 'mlship COMMAND --help'" }), json, false, io);
      }
      if (error.code === 'commander.executeSubCommandAsync') return ExitCode.ok;
      const json = argv.includes('--json');
      const message = error.message.replace(/^error: /, '');
      return reportError(new MlshipError('E_USAGE', ExitCode.usage, message, { hint: "see 'mlship --help' or 'mlship COMMAND --help'" }), json, false, io);
    }
    return reportError(error, argv.includes('--json'), argv.includes('--verbose') || argv.includes('-v'), io);
  }
  return code;
}

/** The executable's entry: real streams, real environment, signals turned into an abort. */
export async function run(argv: string[]): Promise<number> {
  // The AWS SDK prints a multi-line notice on every S3 command under Node 20; the versions are
  // pinned by the lock file, so it says nothing a user can act on.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(ExitCode.interrupted);
    interrupted = true;
    process.stderr.write(`\nmlship: ${signal}, stopping (press again to force)\n`);
    controller.abort(new MlshipError('E_INTERRUPTED', ExitCode.interrupted, `interrupted by ${signal}`));
    // Whatever is still running gets a moment to clean up (containers, temporary files), then we go.
    setTimeout(() => process.exit(ExitCode.interrupted), 15_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: controller.signal });
  return interrupted ? ExitCode.interrupted : code;
}
