/**
 * Opening a dataset for checks: path validation, format by extension, the CSV header, the DuckDB table
 * expression that scans it, and the translation of DuckDB's read errors into mlship errors that name
 * the file and line.
 */
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { environmentError, MlshipError, messageOf, usageError } from '../errors.js';
import { resolveInside } from '../paths.js';
import type { Engine } from './duckdb.js';
import { ident, str } from './sql.js';

export type DataFormat = 'csv' | 'tsv' | 'parquet' | 'jsonl';

export interface DataColumn {
  name: string;
  /** DuckDB type name (every CSV column is VARCHAR: types are checked value by value). */
  type: string;
}

export interface Dataset {
  /** The path as configured (repository-relative), used in every message. */
  path: string;
  full: string;
  format: DataFormat;
  columns: DataColumn[];
  /** Table expression scanning the file. */
  scan: string;
  /** Table expression scanning the file with a 1-based data row number in column `rowColumn`. */
  numbered: string;
  rowColumn: string;
}

const FORMATS: Record<string, DataFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
};

/** How much of a CSV file is read to find its header record. */
const HEADER_LIMIT = 1024 * 1024;

/** Resolve, stat and describe a dataset. `what` names it in errors ("dataset of check 'train'"). */
export async function openDataset(engine: Engine, repoRoot: string, path: string, what: string): Promise<Dataset> {
  const full = resolveInside(repoRoot, path, what);
  const format = FORMATS[extname(path).toLowerCase()];
  if (format === undefined) {
    throw usageError('E_DATA_FORMAT', `${what}: '${path}' has an unsupported extension`, {
      hint: 'use .csv, .tsv, .parquet, .jsonl or .ndjson',
    });
  }
  let size: number;
  try {
    const info = await stat(full);
    if (!info.isFile()) throw environmentError('E_DATA_READ', `${path}: not a regular file`, { hint: `${what} must name a file` });
    size = info.size;
  } catch (error) {
    if (error instanceof MlshipError) throw error;
    throw environmentError('E_DATA_MISSING', `${path}: no such file (${what})`, {
      hint: 'create the file, fetch it (mlship pull / dvc pull), or fix the path in the config',
      cause: error,
    });
  }
  if (size === 0) {
    throw environmentError('E_DATA_EMPTY', `${path}: the file is empty (0 bytes)`, {
      hint: format === 'csv' || format === 'tsv' ? 'a CSV dataset needs at least a header line' : 'write the dataset before checking it',
    });
  }
  if (format === 'csv' || format === 'tsv') return openCsv(path, full, format);
  const scan = format === 'parquet' ? `read_parquet(${str(full)})` : jsonScan(full, false);
  const columns = await describe(engine, scan, path, format);
  return withScan({ path, full, format, columns, scan });
}

const jsonScan = (full: string, fullSample: boolean): string =>
  `read_json(${str(full)}, format = 'newline_delimited'${fullSample ? ', sample_size = -1' : ''})`;

async function describe(engine: Engine, scan: string, path: string, format: DataFormat): Promise<DataColumn[]> {
  try {
    const rows = await engine.query(`DESCRIBE SELECT * FROM ${scan}`);
    return rows.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  } catch (error) {
    throw readError(error, path, format);
  }
}

/**
 * Add the numbered scan. Columns of DuckDB type JSON (a JSON Lines key holding values of several
 * types, e.g. 1 and "x") are read as their text ("x", not "\"x\"") so they are checked like CSV text.
 */
function withScan(base: Omit<Dataset, 'numbered' | 'rowColumn'>): Dataset {
  const names = new Set(base.columns.map((c) => c.name));
  let rowColumn = '__mlship_row';
  while (names.has(rowColumn)) rowColumn = `_${rowColumn}`;
  const aliases = [...base.columns.map((c) => ident(c.name)), ident(rowColumn)].join(', ');
  const mixed = base.columns.filter((c) => c.type === 'JSON');
  if (mixed.length === 0) return { ...base, rowColumn, numbered: `${base.scan} WITH ORDINALITY AS mlship_src(${aliases})` };
  const replace = `* REPLACE (${mixed.map((c) => `json_extract_string(${ident(c.name)}, '$') AS ${ident(c.name)}`).join(', ')})`;
  return {
    ...base,
    columns: base.columns.map((c) => (c.type === 'JSON' ? { ...c, type: 'VARCHAR' } : c)),
    rowColumn,
    scan: `(SELECT ${replace} FROM ${base.scan}) AS mlship_scan`,
    numbered: `(SELECT ${replace} FROM ${base.scan} WITH ORDINALITY AS mlship_src(${aliases})) AS mlship_numbered`,
  };
}

/**
 * CSV files are read with a pinned RFC 4180 dialect (comma, or tab for .tsv; `"` quotes, `""` escapes;
 * first line is the header) and every column as text. DuckDB's dialect sniffer is not used: on a
 * file with a ragged row it silently falls back to a single column or skips lines, where a precise
 * "line 3: expected 3 fields, found 2" is what a user needs.
 */
async function openCsv(path: string, full: string, format: 'csv' | 'tsv'): Promise<Dataset> {
  const delimiter = format === 'tsv' ? '\t' : ',';
  const header = await readHeader(path, full, delimiter);
  if (header.length === 1) {
    const only = header[0] ?? '';
    const other = [';', '\t', '|'].find((d) => d !== delimiter && only.includes(d));
    if (other !== undefined) {
      const shown = other === '\t' ? 'tab' : `'${other}'`;
      throw environmentError('E_DATA_DELIMITER', `${path}:1: the header is one column '${only}': the file looks ${shown}-separated, not ${format === 'tsv' ? 'tab' : 'comma'}-separated`, {
        hint: other === '\t' ? 'name tab-separated files .tsv' : `convert the file to commas (mlship reads ${format === 'tsv' ? '.tsv as tab' : '.csv as comma'}-separated)`,
      });
    }
  }
  const seen = new Set<string>();
  header.forEach((name, i) => {
    if (name === '') throw environmentError('E_DATA_HEADER', `${path}:1: column ${i + 1} of the header has no name`, { hint: 'name every column in the header line' });
    if (seen.has(name)) throw environmentError('E_DATA_HEADER', `${path}:1: the header names column '${name}' twice`, { hint: 'give every column a distinct name' });
    seen.add(name);
  });
  const columns = header.map((name) => ({ name, type: 'VARCHAR' }));
  const spec = columns.map((c) => `${str(c.name)}: 'VARCHAR'`).join(', ');
  const scan = `read_csv(${str(full)}, auto_detect = false, header = true, delim = ${str(delimiter)}, quote = '"', escape = '"', strict_mode = true, columns = {${spec}})`;
  return withScan({ path, full, format, columns, scan });
}

/** Parse the first CSV record (the header) from the start of the file. */
async function readHeader(path: string, full: string, delimiter: string): Promise<string[]> {
  const handle = await open(full, 'r');
  let bytes: Buffer;
  try {
    const buffer = Buffer.alloc(HEADER_LIMIT);
    const { bytesRead } = await handle.read(buffer, 0, HEADER_LIMIT, 0);
    bytes = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  let text: string;
  try {
    // Only the header has to be valid here; DuckDB validates the rest line by line.
    const end = bytes.indexOf(0x0a);
    text = new TextDecoder('utf-8', { fatal: true }).decode(end === -1 ? bytes : bytes.subarray(0, end + 1));
  } catch (error) {
    throw environmentError('E_DATA_ENCODING', `${path}:1: the header is not valid UTF-8`, { hint: 'convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8', cause: error });
  }
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === delimiter) {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') break;
    else field += ch;
  }
  if (quoted) {
    throw environmentError('E_DATA_CSV', `${path}:1: the header has an unterminated quoted field`, { hint: 'close the quote in the header line' });
  }
  if (text.trim() === '') {
    throw environmentError('E_DATA_EMPTY', `${path}:1: the header line is empty`, { hint: 'a CSV dataset needs a header line naming its columns' });
  }
  fields.push(field);
  return fields;
}

/**
 * Run a query over a dataset, translating read errors. JSON Lines types are inferred from the first
 * 20,480 lines; when a later line does not fit the inferred type, the scan is repeated once with
 * types inferred from the whole file (the value then shows up as a type failure, not a crash).
 */
export async function queryDataset<T>(engine: Engine, dataset: Dataset, run: (dataset: Dataset) => Promise<T>): Promise<{ result: T; dataset: Dataset }> {
  try {
    return { result: await run(dataset), dataset };
  } catch (error) {
    if (dataset.format === 'jsonl' && /JSON transform error/.test(messageOf(error)) && !dataset.scan.includes('sample_size')) {
      const scan = jsonScan(dataset.full, true);
      const columns = await describe(engine, scan, dataset.path, dataset.format);
      const wider = withScan({ path: dataset.path, full: dataset.full, format: dataset.format, scan, columns });
      try {
        return { result: await run(wider), dataset: wider };
      } catch (retryError) {
        throw readError(retryError, dataset.path, dataset.format);
      }
    }
    throw readError(error, dataset.path, dataset.format);
  }
}

/** An MlshipError for a DuckDB failure while reading `path`: file:line when DuckDB reports it. */
export function readError(error: unknown, path: string, format: DataFormat): MlshipError {
  if (error instanceof MlshipError) return error;
  const raw = messageOf(error);
  // DuckDB appends the SQL text ("LINE 1: SELECT …") and generic fixes after a blank line.
  const head = raw.split(/\n\s*\n/)[0] ?? raw;
  const lines = head.split('\n').map((l) => l.trim()).filter(Boolean);
  const strip = (s: string) => s.replace(/^[A-Za-z ]+Error: /, '');
  const csv = /CSV Error on Line: (\d+)/.exec(head);
  if (csv) {
    // "Original Line:" may span several lines (a quoted field left open); the reason, when DuckDB gives
    // one, is a sentence such as "Expected Number of Columns: 3 Found: 2".
    const rawLines = head.split('\n');
    const start = rawLines.findIndex((l) => l.startsWith('Original Line:'));
    const isReason = (l: string) => /^(Expected|Invalid|Value|Maximum|Line|Could|Error)/.test(l.trim());
    let end = start + 1;
    while (start >= 0 && end < rawLines.length && !isReason(rawLines[end] ?? '') && !(rawLines[end] ?? '').startsWith('Possible')) end++;
    const original = start >= 0 ? [(rawLines[start] ?? '').slice('Original Line:'.length).trimStart(), ...rawLines.slice(start + 1, end)].join('\n') : undefined;
    const reason = rawLines.slice(Math.max(end, 1)).find(isReason)?.trim();
    const why = reason ?? 'unterminated quoted field';
    const encoding = /unicode|utf-8/i.test(why);
    return environmentError(encoding ? 'E_DATA_ENCODING' : 'E_DATA_CSV', `${path}:${csv[1]}: ${why}${original ? ` (line: ${JSON.stringify(original.slice(0, 80))})` : ''}`, {
      hint: encoding
        ? 'convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8 in.csv > out.csv'
        : 'every row needs as many fields as the header; quote fields that contain commas, quotes or newlines',
      cause: error,
    });
  }
  const json = /(Malformed JSON|JSON transform error) in file "[^"]*", (?:at byte \d+ )?in line (\d+): (.*)/.exec(head);
  if (json) {
    // Workaround: DuckDB 1.5.6 reports a malformed record one line after the line it starts on
    // ('{"a":x}' on line 3 is reported "in line 4"); transform errors carry the right line.
    const line = Number(json[2]) - (json[1] === 'Malformed JSON' ? 1 : 0);
    return environmentError('E_DATA_JSON', `${path}:${Math.max(1, line)}: ${json[1] === 'Malformed JSON' ? 'malformed JSON' : 'value does not fit the column type'}: ${json[3]?.trim().replace(/\.$/, '') ?? ''}`, {
      hint: 'every line of a JSON Lines file must be one complete JSON object',
      cause: error,
    });
  }
  if (format === 'parquet' && /magic bytes|footer|parquet|thrift|corrupt/i.test(head)) {
    return environmentError('E_DATA_PARQUET', `${path}: not a readable Parquet file (${strip(lines[0] ?? head).replaceAll(/'[^']*\/([^/']+)'/g, "'$1'")})`, {
      hint: 'the file is truncated or corrupted: regenerate or re-fetch it',
      cause: error,
    });
  }
  return environmentError('E_DATA_READ', `${path}: cannot read the ${format === 'jsonl' ? 'JSON Lines' : format.toUpperCase()} file: ${strip(lines[0] ?? head)}`, {
    hint: 'check that the file is complete and in the format its extension says',
    cause: error,
  });
}
