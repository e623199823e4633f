/**
 * A lock file around registry appends within one working copy. Created with O_EXCL; it records the
 * owner's pid and host. A lock whose process is gone (same host) is stale and taken over, with a warning.
 */
import { hostname } from 'node:os';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { environmentError } from '../errors.js';

export interface LockOptions {
  /** How long to wait for a live holder before giving up. */
  timeoutMs?: number;
  onWarning?: (message: string) => void;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Take the lock at `file`; returns the release function. */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  await mkdir(dirname(file), { recursive: true });
  const me = { pid: process.pid, host: hostname(), at: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      return async () => {
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw environmentError('E_LOCK', `cannot create the registry lock ${file}: ${(error as Error).message}`, { hint: 'make .mlship/cache writable' });
      }
    }
    let holder: { pid?: number; host?: string } = {};
    try {
      holder = JSON.parse(await readFile(file, 'utf8')) as typeof holder;
    } catch {
      // Being written right now, or damaged: a damaged lock older than a moment is treated as stale below.
    }
    const stale = holder.host === me.host && typeof holder.pid === 'number' && !alive(holder.pid);
    const damaged = holder.pid === undefined && attempt >= 10;
    if (stale || damaged) {
      options.onWarning?.(`taking over a stale registry lock ${file} (${stale ? `process ${holder.pid} is gone` : 'unreadable'})`);
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw environmentError('E_LOCKED', `the registry is locked by process ${holder.pid ?? '?'} on ${holder.host ?? '?'} (${file})`, {
        hint: 'another mlship command is writing the registry; wait for it, or delete the lock file if that process is gone',
      });
    }
    await sleep(50 + Math.random() * 100);
  }
}
