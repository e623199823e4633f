/**
 * The one error class of mlship, and the exit-code table (DESIGN.md "Exit codes").
 * Every failure a user can meet is an MlshipError with a stable code, a message that says what
 * and where, and a hint that names the way out. Anything else reaching the CLI is a bug (exit 70).
 */
export const ExitCode = {
  ok: 0,
  /** a verdict: a check or gate failed, a policy refused */
  verdict: 1,
  /** usage or configuration error */
  usage: 2,
  /** environment error: S3, Docker, git remote unreachable or refusing, unreadable data */
  environment: 3,
  /** integrity violation: hash mismatch, broken chain, rewritten history */
  integrity: 4,
  /** an unexpected bug */
  bug: 70,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface MlshipErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Structured details for --json (never secrets). */
  details?: Record<string, unknown>;
}

export class MlshipError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, exitCode: ExitCodeValue, message: string, options: MlshipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MlshipError';
    this.code = code;
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.details = options.details;
  }
}

export const usageError = (code: string, message: string, options?: MlshipErrorOptions) =>
  new MlshipError(code, ExitCode.usage, message, options);
export const verdictError = (code: string, message: string, options?: MlshipErrorOptions) =>
  new MlshipError(code, ExitCode.verdict, message, options);
export const environmentError = (code: string, message: string, options?: MlshipErrorOptions) =>
  new MlshipError(code, ExitCode.environment, message, options);
export const integrityError = (code: string, message: string, options?: MlshipErrorOptions) =>
  new MlshipError(code, ExitCode.integrity, message, options);

export const isMlshipError = (error: unknown): error is MlshipError => error instanceof MlshipError;

/** The message of any thrown value, for wrapping causes. */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
