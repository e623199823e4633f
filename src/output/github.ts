/**
 * GitHub Actions workflow commands for failures (`::error title=…::message`). Pure: results in, lines
 * out. Escaping follows @actions/core (toCommandValue / escapeData / escapeProperty): `%`, CR and LF
 * in the message; additionally `:` and `,` in properties.
 */
import type { CheckResult } from '../checks/types.js';
import type { GateResult } from '../gates/index.js';

export interface Location {
  file: string;
  line?: number;
  col?: number;
}

export const escapeData = (text: string): string => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
export const escapeProperty = (text: string): string => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function errorCommand(message: string, properties: { title: string } & Partial<Location>): string {
  const props = [
    properties.file !== undefined ? `file=${escapeProperty(properties.file)}` : '',
    properties.line !== undefined ? `line=${properties.line}` : '',
    properties.col !== undefined ? `col=${properties.col}` : '',
    `title=${escapeProperty(properties.title)}`,
  ].filter((p) => p !== '');
  return `::error ${props.join(',')}::${escapeData(message)}`;
}

/** Parse `mlship.yaml:12:5 models.m.gates[0]` (what the config loader's `where` returns) into a location. */
export function parseWhere(where: string): Location | undefined {
  const match = /^(.+?):(\d+):(\d+)(?:\s|$)/.exec(where);
  return match === null ? undefined : { file: match[1] as string, line: Number(match[2]), col: Number(match[3]) };
}

export interface AnnotationInput {
  model?: string;
  checks: readonly CheckResult[];
  gates: readonly GateResult[];
  /** Where gate i is declared (for the annotation's file and line), when known. */
  gateLocation?: (index: number) => Location | undefined;
}

/** The file line of a 1-based data row: CSV has a header line, JSON Lines none, Parquet no lines at all. */
function lineOf(dataset: string, row: number | undefined): number | undefined {
  if (row === undefined) return undefined;
  if (/\.(csv|tsv)$/i.test(dataset)) return row + 1;
  if (/\.(jsonl|ndjson)$/i.test(dataset)) return row;
  return undefined;
}

/** One `::error` per failed check finding (at most 10 per check) and per failed gate. */
export function failureAnnotations(input: AnnotationInput): string[] {
  const lines: string[] = [];
  for (const check of input.checks.filter((c) => !c.passed)) {
    for (const f of check.failures.slice(0, 10)) {
      const line = lineOf(f.dataset, f.rows[0]);
      lines.push(errorCommand(`${f.message}${f.rows.length > 0 ? ` (rows ${f.rows.join(', ')})` : ''}`, { title: `mlship check ${check.name}`, file: f.dataset, ...(line !== undefined ? { line } : {}) }));
    }
    if (check.failures.length > 10) lines.push(errorCommand(`… and ${check.failures.length - 10} more failures`, { title: `mlship check ${check.name}` }));
  }
  input.gates.forEach((g, i) => {
    if (g.passed) return;
    lines.push(errorCommand(g.reason, { title: `mlship gate ${input.model !== undefined ? `${input.model} ` : ''}${g.metric}`, ...(input.gateLocation?.(i) ?? {}) }));
  });
  return lines;
}
