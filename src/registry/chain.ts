/**
 * The hash chain: each line's `prev` is the sha256 of the previous line's exact bytes.
 * `parseLog` reads a registry file into events and reports every problem with its line.
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
  /** Number of lines (a last line without its newline counts). */
  count: number;
  /** Byte offset of each line in the file. */
  offsets: number[];
  problems: ChainProblem[];
  /** Digest of the last line (the next event's `prev`), or the starting `prev` when empty. */
  lastDigest: string | null;
}

/** Where a segment's chain starts: the seq of its first line and the `prev` it must carry. */
export interface ChainStart {
  seq: number;
  prev: string | null;
}

export const lineDigest = (line: string | Uint8Array): string => hashBytes(line);

const NEWLINE = 0x0a;

/**
 * Parse and chain-check a registry file (the whole log, or one segment starting at `start`). Never
 * throws; problems are returned with line numbers within the file.
 *
 * It works on the file's bytes: each line is decoded on its own and hashed as the bytes it is (the
 * chain's definition), so a 37 MB registry is never one string — decoding it whole cost more than
 * parsing it, most of that in fresh memory pages — and no line is encoded back to hash it.
 */
export function parseLog(content: string | Uint8Array, model: string, start: ChainStart = { seq: 1, prev: null }): ParsedLog {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const problems: ChainProblem[] = [];
  const events: RegistryEvent[] = [];
  const offsets: number[] = [];
  for (let at = 0; at < bytes.length; ) {
    offsets.push(at);
    const end = bytes.indexOf(NEWLINE, at);
    at = end < 0 ? bytes.length : end + 1;
  }
  const count = offsets.length;
  if (count > 0 && bytes[bytes.length - 1] !== NEWLINE) {
    problems.push({ code: 'E_TRUNCATED', line: count, message: 'the last line has no newline: an interrupted write or a truncated file' });
  }
  let prevDigest = start.prev;
  for (let i = 0; i < count; i++) {
    const n = i + 1;
    const from = offsets[i] as number;
    const to = i + 1 < count ? (offsets[i + 1] as number) - 1 : bytes[bytes.length - 1] === NEWLINE ? bytes.length - 1 : bytes.length;
    const raw = bytes.subarray(from, to);
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      problems.push({ code: 'E_EVENT', line: n, message: 'not valid JSON' });
      prevDigest = lineDigest(raw);
      continue;
    }
    const problem = eventProblem(value);
    if (problem !== undefined) {
      problems.push({ code: 'E_EVENT', line: n, message: problem });
      prevDigest = lineDigest(raw);
      continue;
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
    prevDigest = lineDigest(raw);
  }
  return { events, count, offsets, problems, lastDigest: prevDigest };
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

