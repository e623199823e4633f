/**
 * Turning the raw cells of a predictions file into a validated table. Pure: every bad cell is a usage
 * error (exit 2) naming the file, the column, the first offending row and how many rows are affected.
 */
import type { PredictionsConfig } from '../config/schema.js';
import { usageError } from '../errors.js';
import type { PredictionTable } from './builtin.js';

/** Cells as they come out of the file: CSV gives text, Parquet and JSON Lines typed values. */
export interface RawPredictions {
  /** 1-based data row numbers (the CSV header is not a row). */
  rows: readonly number[];
  label: readonly unknown[];
  score: readonly unknown[];
  prediction?: readonly unknown[];
  groups: Record<string, readonly unknown[]>;
}

type Columns = Pick<PredictionsConfig, 'label' | 'score' | 'prediction' | 'threshold' | 'positive'>;

const TRUE_TEXT = new Set(['1', '1.0', 'true']);
const FALSE_TEXT = new Set(['0', '0.0', 'false']);

const shownValue = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

const isEmpty = (value: unknown): boolean => value === null || value === undefined || (typeof value === 'string' && value.trim() === '');

/** Collects the rows that fail one rule, so the error can say how many there are. */
class Failures {
  private first: { row: number; text: string } | undefined;
  private count = 0;
  constructor(
    private readonly shown: string,
    private readonly hint: string,
  ) {}
  add(row: number, text: string): void {
    this.count++;
    this.first ??= { row, text };
  }
  throwIfAny(): void {
    if (this.first === undefined) return;
    const more = this.count > 1 ? ` (${this.count} rows in all)` : '';
    throw usageError('E_PREDICTIONS', `${this.shown}: row ${this.first.row}: ${this.first.text}${more}`, { hint: this.hint });
  }
}

/** A label or prediction cell as 0/1: the configured positive class, or the usual spellings of 1/0 and true/false. */
function classOf(value: unknown, positive: PredictionsConfig['positive']): 0 | 1 | undefined {
  if (positive !== undefined) {
    return String(value).trim() === String(positive) ? 1 : 0;
  }
  if (value === true) return 1;
  if (value === false) return 0;
  if (typeof value === 'number') return value === 1 ? 1 : value === 0 ? 0 : undefined;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (TRUE_TEXT.has(text)) return 1;
    if (FALSE_TEXT.has(text)) return 0;
  }
  return undefined;
}

function classes(kind: 'label' | 'prediction', column: string, values: readonly unknown[], rows: readonly number[], config: Columns, shown: string): (0 | 1)[] {
  const hint =
    config.positive === undefined
      ? `labels must be 0/1 or true/false; for other classes set predictions.positive to the positive one`
      : `every ${kind} must be a class; empty cells are not allowed`;
  const empty = new Failures(shown, `fill in every ${kind}: a row without one cannot be scored`);
  const unknown = new Failures(shown, hint);
  const out: (0 | 1)[] = new Array<0 | 1>(values.length);
  const distinct = new Set<string>();
  values.forEach((value, i) => {
    const row = rows[i] as number;
    if (isEmpty(value) || (typeof value === 'number' && Number.isNaN(value))) {
      empty.add(row, `${kind} column '${column}' is ${isEmpty(value) ? 'empty' : 'NaN'}`);
      return;
    }
    if (distinct.size <= 2) distinct.add(String(value).trim());
    const c = classOf(value, config.positive);
    if (c === undefined) unknown.add(row, `${kind} ${shownValue(value)} in column '${column}' is not 0/1 or true/false`);
    else out[i] = c;
  });
  empty.throwIfAny();
  unknown.throwIfAny();
  if (config.positive !== undefined && distinct.size > 2) {
    throw usageError('E_PREDICTIONS', `${shown}: ${kind} column '${column}' has more than two classes (${[...distinct].map(shownValue).join(', ')}, …): the builtin metrics are for binary classification`, {
      hint: 'write one row per example with the binary label of the positive class',
    });
  }
  return out;
}

function scores(column: string, values: readonly unknown[], rows: readonly number[], shown: string): number[] {
  const empty = new Failures(shown, 'every row needs a score: the probability of the positive class');
  const bad = new Failures(shown, 'scores are probabilities of the positive class, between 0 and 1 (apply a sigmoid or softmax to raw margins)');
  const out = new Array<number>(values.length);
  values.forEach((value, i) => {
    const row = rows[i] as number;
    if (isEmpty(value)) return empty.add(row, `score column '${column}' is empty`);
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
    if (typeof value === 'string' && /^\s*nan\s*$/i.test(value)) return empty.add(row, `score column '${column}' is NaN`);
    if (Number.isNaN(n)) return bad.add(row, typeof value === 'number' ? `score column '${column}' is NaN` : `score ${shownValue(value)} in column '${column}' is not a number`);
    if (n < 0 || n > 1) return bad.add(row, `score ${shownValue(value)} in column '${column}' is outside [0, 1]`);
    out[i] = n;
  });
  empty.throwIfAny();
  bad.throwIfAny();
  return out;
}

/** Validate raw cells; `shown` is the file as messages name it. */
export function toPredictionTable(raw: RawPredictions, config: Columns, shown: string): PredictionTable {
  if (raw.rows.length === 0) {
    throw usageError('E_PREDICTIONS_EMPTY', `${shown}: the predictions file has no rows`, { hint: 'the evaluation must write one row per scored example' });
  }
  const labels = classes('label', config.label, raw.label, raw.rows, config, shown);
  const s = scores(config.score, raw.score, raw.rows, shown);
  const predictions = raw.prediction !== undefined ? classes('prediction', config.prediction as string, raw.prediction, raw.rows, config, shown) : s.map((x): 0 | 1 => (x >= config.threshold ? 1 : 0));
  const groups: Record<string, (string | null)[]> = {};
  for (const [column, values] of Object.entries(raw.groups)) groups[column] = values.map((v) => (isEmpty(v) ? null : String(v)));
  return { labels, scores: s, predictions, groups };
}
