/**
 * The hash chain: each line's `prev` is the sha256 of the previous line's exact bytes.
 * `parseLog` reads a registry file's text into events and reports every problem with its line.
 */
import { hashBytes } from '../store/hash.js';
import { eventProblem, type RegistryEvent } from './events.js';

export interface ChainProblem {
  code: 'E_CHAIN' | 'E_EVENT' | 'E_SEQ' | 'E_MODEL' | 'E_TRUNCATED';
  line: number;
  message: string;
}

export interface ParsedLog {
  events: RegistryEvent[];
  /** Exact text of each line, without its newline. */
  lines: string[];
  problems: ChainProblem[];
}

export const lineDigest = (line: string): string => hashBytes(line);

/** Parse and chain-check the text of `<model>.jsonl`. Never throws; problems are returned. */
export function parseLog(text: string, model: string): ParsedLog {
  const problems: ChainProblem[] = [];
  const events: RegistryEvent[] = [];
  if (text === '') return { events, lines: [], problems };
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else {
    problems.push({ code: 'E_TRUNCATED', line: lines.length, message: 'the last line has no newline: an interrupted write or a truncated file' });
  }
  let prevLine: string | undefined;
  lines.forEach((line, i) => {
    const n = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push({ code: 'E_EVENT', line: n, message: 'not valid JSON' });
      prevLine = line;
      return;
    }
    const problem = eventProblem(value);
    if (problem !== undefined) {
      problems.push({ code: 'E_EVENT', line: n, message: problem });
      prevLine = line;
      return;
    }
    const event = value as RegistryEvent;
    const expectedPrev = prevLine === undefined ? null : lineDigest(prevLine);
    if (event.prev !== expectedPrev) {
      problems.push({
        code: 'E_CHAIN',
        line: n,
        message: expectedPrev === null ? `the first event must have prev null, has ${event.prev}` : `prev ${event.prev ?? 'null'} does not match the previous line (${expectedPrev}): a line before it was edited, deleted, inserted or reordered`,
      });
    }
    if (event.seq !== n) problems.push({ code: 'E_SEQ', line: n, message: `seq is ${event.seq}, expected ${n}` });
    if (event.model !== model) problems.push({ code: 'E_MODEL', line: n, message: `event for model '${event.model}' in the file of '${model}'` });
    events.push(event);
    prevLine = line;
  });
  return { events, lines, problems };
}
