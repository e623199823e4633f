/**
 * One result format for every data, schema and drift check (DESIGN.md `check` JSON shape).
 */
export interface CheckFailure {
  /** Repository-relative path of the dataset the failure is about. */
  dataset: string;
  /** The column, or null for dataset-level rules (rows, strict, unique across columns, freshness). */
  column: string | null;
  /** The rule that failed: rows.min, type, nullable, min, max, in, pattern, unique, mostly, strict, freshness, psi, ks, … */
  rule: string;
  expected: unknown;
  observed: unknown;
  /** Number of failing rows (0 for dataset-level rules that are not about rows). */
  failing: number;
  /** Up to 5 example failing values. */
  examples: unknown[];
  /** Their 1-based data row numbers (header excluded), where known. */
  rows: number[];
  /** With `mostly`: the fraction of rows that satisfy the rule (0..1). */
  satisfied?: number;
  /** One line, with the numbers: "age: 3 rows above max 120 (130, 141, 150)". */
  message: string;
}

export interface CheckResult {
  name: string;
  kind: 'dataset' | 'drift';
  passed: boolean;
  failures: CheckFailure[];
  /** Rows scanned per dataset, drift scores per column, timings… (free-form, stable keys). */
  stats?: Record<string, unknown>;
}

export interface CheckContext {
  /** Absolute repository root; every dataset path must resolve inside it. */
  repoRoot: string;
  /** Absolute `.mlship/cache` folder (reference sketches are cached under it). */
  cacheDir: string;
  /** The config file name shown in messages (e.g. mlship.yaml). */
  configFile: string;
  /** The clock for `freshness` (default: the current time). */
  now?: Date;
  /**
   * Digest of a file, used to key reference sketches (default: hashFile, a full sha256 read).
   * The core may pass its stat-cached hasher so that an unchanged reference is not re-read.
   */
  digestFile?: (absolutePath: string) => Promise<string>;
  /** DuckDB settings; defaults: all cores, memory_limit 1GB. */
  engine?: { threads?: number; memoryLimit?: string };
}
