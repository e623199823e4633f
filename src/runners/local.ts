/** The local runner: the evaluation command as a child process, argv as an array, never a shell. */
import { execCommand } from '../exec.js';
import { MlshipError, ExitCode, usageError, verdictError } from '../errors.js';
import type { EvaluationRunner } from './types.js';

const formatMs = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

export function createLocalRunner(): EvaluationRunner {
  return {
    async run(plan, io) {
      const result = await execCommand(plan.argv, {
        cwd: plan.repoRoot,
        env: { ...io.processEnv, ...plan.env },
        timeoutMs: plan.timeoutMs,
        log: io.log,
        signal: io.signal,
      });
      const program = plan.argv[0] ?? '';
      const tail = result.tail.length > 0 ? `\n--- last ${result.tail.length} lines of output ---\n${result.tail.join('\n')}` : '';
      if (result.spawnError !== undefined) {
        const code = result.spawnError.code;
        throw usageError('E_EVAL_COMMAND', code === 'ENOENT' ? `evaluation command not found: ${program}` : `cannot start the evaluation command ${program}: ${code ?? result.spawnError.message}`, {
          hint: code === 'ENOENT' ? `install ${program} or fix evaluate.command in mlship.yaml (it runs without a shell, from the project root)` : 'check the program is executable',
        });
      }
      if (result.aborted) throw new MlshipError('E_INTERRUPTED', ExitCode.interrupted, 'the evaluation was interrupted');
      if (result.timedOut) {
        throw verdictError('E_EVAL_TIMEOUT', `the evaluation timed out after ${formatMs(plan.timeoutMs ?? 0)} and was stopped${tail}`, {
          hint: 'make the evaluation faster or raise evaluate.timeout',
        });
      }
      if (result.exitCode !== 0) {
        const how = result.exitCode === undefined ? `was killed by ${result.signal ?? 'a signal'}` : `exited with code ${result.exitCode}`;
        throw verdictError('E_EVAL_FAILED', `the evaluation command ${how}${tail}`, { hint: 'fix the evaluation script; its output is above' });
      }
      return { kind: 'local' };
    },
  };
}
