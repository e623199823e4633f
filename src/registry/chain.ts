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
  /** Digest of the last line (the next event's `prev`), or the starting `prev` when empty. */
  lastDigest: string | null;
}

/** Where a segment's chain starts: the seq of its first line and the `prev` it must carry. */
export interface ChainStart {
  seq: number;
  prev: string | null;
}

export const lineDigest = (line: string): string => hashBytes(line);

/**
 * Parse and chain-check the text of a registry file (the whole log, or one segment starting at
 * `start`). Never throws; problems are returned with line numbers within the file.
 */
export function parseLog(text: string, model: string, start: ChainStart = { seq: 1, prev: null }): ParsedLog {
  const problems: ChainProblem[] = [];
  const events: RegistryEvent[] = [];
  if (text === '') return { events, lines: [], problems, lastDigest: start.prev };
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else {
    problems.push({ code: 'E_TRUNCATED', line: lines.length, message: 'the last line has no newline: an interrupted write or a truncated file' });
  }
  let prevDigest = start.prev;
  lines.forEach((line, i) => {
    const n = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push({ code: 'E_EVENT', line: n, message: 'not valid JSON' });
      prevDigest = lineDigest(line);
      return;
    }
    const problem = eventProblem(value);
    if (problem !== undefined) {
      problems.push({ code: 'E_EVENT', line: n, message: problem });
      prevDigest = lineDigest(line);
      return;
    }
    const event = value as RegistryEvent;
    const expectedPrev = prevDigest;
    if (event.prev !== expectedPrev) {
      problems.push({
        code: 'E_CHAIN',
        line: n,
        message: i === 0 && start.prev === null ? `the first event must have prev null, has ${event.prev}` : `prev ${event.prev ?? 'null'} does not match the previous line (${expectedPrev}): a line before it was edited, deleted, inserted or reordered`,
      });
    }
    const seq = start.seq + i;
    if (event.seq !== seq) problems.push({ code: 'E_SEQ', line: n, message: `seq is ${event.seq}, expected ${seq}` });
    if (event.model !== model) problems.push({ code: 'E_MODEL', line: n, message: `event for model '${event.model}' in the file of '${model}'` });
    events.push(event);
    prevDigest = lineDigest(line);
  });
  return { events, lines, problems, lastDigest: prevDigest };
}

/** The first line where `next` stops extending `prev`, or undefined when it is a pure append. */
export function firstDivergence(prev: string, next: string): number | undefined {
  if (next.startsWith(prev) && (prev === '' || prev.endsWith('\n'))) return undefined;
  const a = prev.split('\n');
  const b = next.split('\n');
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return i + 1;
  }
  return a.length;
}

