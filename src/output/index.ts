/**
 * The one output module. Human text or exactly one JSON document on stdout; diagnostics on stderr;
 * colour decided here only (TTY, NO_COLOR, --no-color, --json); spinners only on an interactive
 * stderr outside CI. The core never touches any of it: it gets a `Context` built from this.
 */
import type { ProgressHandle } from '../project.js';

/** The colours mlship uses. Plain strings when colour is off: chalk is only loaded for a terminal. */
export interface Colors {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
}

const plain = (text: string): string => text;
const NO_COLORS: Colors = { red: plain, green: plain, yellow: plain, dim: plain };

async function colors(enabled: boolean): Promise<Colors> {
  if (!enabled) return NO_COLORS;
  const { Chalk } = await import('chalk');
  const chalk = new Chalk({ level: 1 });
  return { red: (t) => chalk.red(t), green: (t) => chalk.green(t), yellow: (t) => chalk.yellow(t), dim: (t) => chalk.dim(t) };
}

export interface OutputSettings {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  /** --no-color */
  noColor: boolean;
  env: Record<string, string | undefined>;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export interface Output {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly color: Colors;
  /** Human text to stdout (suppressed with --json). */
  print(text: string): void;
  /** The single JSON document (only with --json). */
  document(value: unknown): void;
  /** A diagnostic line to stderr (suppressed with -q). */
  info(text: string): void;
  warn(text: string): void;
  debug(text: string): void;
  /** An error to stderr (human) — with --json the CLI prints the error document instead. */
  error(text: string): void;
  progress(label: string): ProgressHandle;
  /** The stream evaluation output is copied to, or undefined. */
  log: NodeJS.WritableStream | undefined;
}

const isCI = (env: Record<string, string | undefined>) => env['CI'] !== undefined && env['CI'] !== '' && env['CI'] !== 'false' && env['CI'] !== '0';

const formatBytes = (n: number): string => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
};

export async function createOutput(settings: OutputSettings): Promise<Output> {
  const noColorEnv = settings.env['NO_COLOR'] !== undefined && settings.env['NO_COLOR'] !== '';
  const useColor = !settings.json && !settings.noColor && !noColorEnv && settings.stdout.isTTY === true;
  const color = await colors(useColor);
  const errColor = await colors(!settings.noColor && !noColorEnv && settings.stderr.isTTY === true);
  const interactive = settings.stderr.isTTY === true && !isCI(settings.env) && !settings.json && !settings.quiet && settings.env['TERM'] !== 'dumb';
  const line = (stream: NodeJS.WriteStream, text: string) => stream.write(text.endsWith('\n') ? text : `${text}\n`);

  return {
    json: settings.json,
    verbose: settings.verbose,
    color,
    print(text) {
      if (!settings.json) line(settings.stdout, text);
    },
    document(value) {
      settings.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    info(text) {
      if (!settings.quiet) line(settings.stderr, text);
    },
    warn(text) {
      line(settings.stderr, `${errColor.yellow('warning:')} ${text}`);
    },
    debug(text) {
      if (settings.verbose) line(settings.stderr, errColor.dim(`debug: ${text}`));
    },
    error(text) {
      line(settings.stderr, text);
    },
    log: settings.quiet && settings.json ? undefined : settings.stderr,
    progress(label) {
      if (!interactive) return { add() {}, setTotal() {}, done() {} };
      return createSpinner(label, settings.stderr);
    },
  };
}

/** An ora spinner showing bytes, total and rate; ora is loaded only when a spinner is shown. */
function createSpinner(label: string, stream: NodeJS.WriteStream): ProgressHandle {
  let bytes = 0;
  let total = 0;
  const started = Date.now();
  let spinner: { text: string; stop(): void } | undefined;
  let stopped = false;
  const text = () => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = bytes / seconds;
    return `${label} ${formatBytes(bytes)}${total > 0 ? ` / ${formatBytes(total)}` : ''} (${formatBytes(rate)}/s)`;
  };
  // Only start a spinner for work that lasts: short commands stay quiet.
  const timer = setTimeout(() => {
    void import('ora').then(({ default: ora }) => {
      if (stopped) return;
      spinner = ora({ text: text(), stream }).start();
    });
  }, 300);
  const refresh = setInterval(() => {
    if (spinner !== undefined) spinner.text = text();
  }, 200);
  timer.unref();
  refresh.unref();
  return {
    add(n) {
      bytes += n;
    },
    setTotal(n) {
      total = n;
    },
    done() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(refresh);
      spinner?.stop();
    },
  };
}
