/** The contract between the CLI layer and one command's handler. */
import type { Output } from '../output/index.js';
import type { Context, Project } from '../project.js';

export interface CommandInput {
  /** Positional arguments, as commander parsed them. */
  args: (string | string[] | undefined)[];
  /** The command's own options (camelCase). */
  options: Record<string, unknown>;
}

export interface CommandEnv {
  ctx: Context;
  /** Opens the project (reads mlship.yaml) on first call. */
  project(): Promise<Project>;
  output: Output;
}

export interface CommandResult {
  /** The --json document. */
  json: unknown;
  /** Human text for stdout (may be empty). */
  human: string;
  exitCode: number;
}

export type Handler = (input: CommandInput, env: CommandEnv) => Promise<CommandResult>;

export const optionString = (options: Record<string, unknown>, key: string): string | undefined => {
  const value = options[key];
  return typeof value === 'string' ? value : undefined;
};
