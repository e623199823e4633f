/** A temporary repository for check tests: files written under it, a CheckContext pointing at it. */
import { mkdirSync, mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckContext } from '../../src/checks/types.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'data');

export interface CheckRepo {
  root: string;
  ctx: CheckContext;
  write(path: string, content: string | Uint8Array): string;
  /** Copy test/fixtures/data/<name> to data/<name>. */
  fixture(name: string): string;
}

export function checkRepo(extra: Partial<CheckContext> = {}): CheckRepo {
  const root = mkdtempSync(join(tmpdir(), 'mlship-checks-'));
  const write = (path: string, content: string | Uint8Array) => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    return path;
  };
  return {
    root,
    ctx: { repoRoot: root, cacheDir: join(root, '.mlship', 'cache'), configFile: 'mlship.yaml', ...extra },
    write,
    fixture(name: string) {
      mkdirSync(join(root, 'data'), { recursive: true });
      copyFileSync(join(FIXTURES, name), join(root, 'data', name));
      return `data/${name}`;
    },
  };
}

/** CSV text from a header and rows (values written as given; null → empty field). */
export const csv = (header: string[], rows: (string | number | boolean | null)[][]): string =>
  [header.join(','), ...rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(','))].join('\n') + '\n';
