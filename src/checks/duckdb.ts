/**
 * The DuckDB engine, loaded lazily: `@duckdb/node-api` (and its native binary) is imported only when a
 * data check actually runs, so `validate` without data checks, `status` and `rollback` start fast.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { str } from './sql.js';

/** A result value after conversion: what JSON can carry (bigints become numbers, or strings when too large). */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };
export type Row = Record<string, Plain>;

export interface Engine {
  /** Run one statement and return its rows as plain objects (column name → value). */
  query(sql: string): Promise<Row[]>;
  close(): void;
}

export interface EngineOptions {
  /** Spill folder for queries larger than memory (DuckDB's default is `.tmp` in the working directory). */
  tempDir: string;
  /** DuckDB memory_limit, e.g. '1GB'. */
  memoryLimit?: string;
  threads?: number;
}

/** Convert what the DuckDB node API returns (bigint, Date, maps as entry lists…) to plain JSON values. */
export function toPlain(value: unknown): Plain {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object') {
    const out: { [key: string]: Plain } = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
    return out;
  }
  return String(value);
}

export async function openEngine(options: EngineOptions): Promise<Engine> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  mkdirSync(options.tempDir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const settings = [
    // Naive timestamps in data are read as UTC; offsets in the text are honoured by TIMESTAMPTZ casts.
    `SET TimeZone = 'UTC'`,
    `SET temp_directory = ${str(join(options.tempDir))}`,
    // Aggregates do not need input order; rows are numbered explicitly WITH ORDINALITY where it matters.
    `SET preserve_insertion_order = false`,
    ...(options.memoryLimit ? [`SET memory_limit = ${str(options.memoryLimit)}`] : []),
    ...(options.threads ? [`SET threads = ${Math.max(1, Math.floor(options.threads))}`] : []),
  ];
  for (const sql of settings) await connection.run(sql);
  return {
    async query(sql: string): Promise<Row[]> {
      const reader = await connection.runAndReadAll(sql);
      const names = reader.columnNames();
      return reader.getRowsJS().map((values) => {
        const row: Row = {};
        values.forEach((v, i) => {
          row[names[i] ?? String(i)] = toPlain(v);
        });
        return row;
      });
    },
    close(): void {
      connection.closeSync();
      instance.closeSync();
    },
  };
}
