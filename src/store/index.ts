/**
 * Stores are chosen by URL scheme (`file://`, `s3://`). The S3 store and its SDK are loaded only
 * when a config names one, so commands that never touch S3 never pay for it.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../errors.js';
import type { StoreSettingConfig } from '../config/schema.js';
import { createLocalStore } from './local.js';
import type { ArtifactStore } from './types.js';

export interface OpenStoreOptions {
  /** Project root: relative `file://` paths are resolved against it. */
  root: string;
  env: Record<string, string | undefined>;
  onWarning?: (message: string) => void;
}

export const storeUrlOf = (setting: StoreSettingConfig): string => (typeof setting === 'string' ? setting : setting.url);

/** `file://.mlship/store` (relative to the root), `file:///abs/path`, or a bare path. */
export function localStorePath(url: string, root: string): string {
  if (url.startsWith('file:///')) return fileURLToPath(url);
  const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
  return isAbsolute(path) ? path : resolve(root, path);
}

export async function openStore(setting: StoreSettingConfig, options: OpenStoreOptions): Promise<ArtifactStore> {
  const url = storeUrlOf(setting);
  if (url.startsWith('s3://')) {
    const { createS3Store } = await import('./s3.js');
    return createS3Store(typeof setting === 'string' ? { url } : setting, { env: options.env, onWarning: options.onWarning });
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'file') {
    throw usageError('E_STORE_URL', `unsupported store URL '${url}'`, { hint: 'use file://PATH (a local folder) or s3://BUCKET/PREFIX' });
  }
  return createLocalStore(localStorePath(url, options.root), url.includes('://') ? url : `file://${url}`);
}
