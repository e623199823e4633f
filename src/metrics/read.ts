/**
 * Reading a predictions file (CSV, TSV, Parquet, JSON Lines) with the DuckDB loader of the checks.
 * This module is imported only when `evaluate.predictions` is configured, and DuckDB only inside it.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PredictionsConfig } from '../config/schema.js';
import { closest } from '../config/suggest.js';
import { usageError } from '../errors.js';
import type { Row } from '../checks/duckdb.js';
import type { RawPredictions } from './validate.js';

export interface PredictionsFile {
  /** Repository root and the repository-relative path (what the DuckDB loader resolves). */
  root: string;
  repoPath: string;
  /** Absolute path. */
  full: string;
  /** The file as messages name it. */
  shown: string;
  /** The config key of the predictions section, as `mlship.yaml:14:7 models.churn.evaluate.predictions`. */
  where: string;
}

/** Memory limit for the scan: the values are copied out, one number per cell. */
const MEMORY_LIMIT = '1GB';

export async function readPredictions(file: PredictionsFile, config: PredictionsConfig, cacheDir: string): Promise<RawPredictions> {
  try {
    const info = await stat(file.full);
    if (!info.isFile()) throw usageError('E_PREDICTIONS_MISSING', `${file.shown}: the predictions file is not a regular file`, { hint: `${file.where}.path must name a file` });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw usageError('E_PREDICTIONS_MISSING', `the predictions file ${file.shown} does not exist`, {
      hint: `the evaluation must write it (${file.where}.path), e.g. to \${outputs}/predictions.csv`,
    });
  }
  const [{ openEngine }, { openDataset, queryDataset }, { ident }] = await Promise.all([import('../checks/duckdb.js'), import('../checks/source.js'), import('../checks/sql.js')]);
  const engine = await openEngine({ tempDir: join(cacheDir, 'duckdb-tmp'), memoryLimit: MEMORY_LIMIT });
  try {
    const dataset = await openDataset(engine, file.root, file.repoPath, 'predictions file');
    const names = dataset.columns.map((c) => c.name);
    const wanted: [string, string][] = [
      ['label', config.label],
      ['score', config.score],
      ...(config.prediction !== undefined ? ([['prediction', config.prediction]] as [string, string][]) : []),
      ...config.groups.map((g): [string, string] => ['groups', g]),
    ];
    const missing = wanted.filter(([, column]) => !names.includes(column));
    if (missing.length > 0) {
      const described = missing.map(([key, column]) => {
        const suggestion = closest(column, names);
        return `'${column}' (${key})${suggestion !== undefined ? `, did you mean '${suggestion}'?` : ''}`;
      });
      throw usageError('E_PREDICTIONS_COLUMN', `${file.shown}: no column ${described.join('; no column ')}`, {
        hint: `the file has columns ${names.join(', ')}; name them in ${file.where}`,
      });
    }
    const select = [
      `${ident(config.label)} AS l`,
      `${ident(config.score)} AS s`,
      ...(config.prediction !== undefined ? [`${ident(config.prediction)} AS p`] : []),
      ...config.groups.map((g, i) => `CAST(${ident(g)} AS VARCHAR) AS g${i}`),
    ];
    const { result } = await queryDataset(engine, dataset, (d) => engine.query(`SELECT ${select.join(', ')}, ${ident(d.rowColumn)} AS r FROM ${d.numbered} ORDER BY r`));
    return columnsOf(result, config);
  } finally {
    engine.close();
  }
}

function columnsOf(rows: Row[], config: PredictionsConfig): RawPredictions {
  const col = (key: string) => rows.map((r) => r[key] ?? null);
  const groups: Record<string, unknown[]> = {};
  config.groups.forEach((g, i) => (groups[g] = col(`g${i}`)));
  return {
    rows: rows.map((r) => Number(r['r'])),
    label: col('l'),
    score: col('s'),
    ...(config.prediction !== undefined ? { prediction: col('p') } : {}),
    groups,
  };
}
