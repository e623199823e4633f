/**
 * Helpers for the crash campaign (test/crash.test.ts): start the built CLI in its own process group,
 * SIGKILL it after a delay or when a progress marker appears, wait for its orphans, and inspect what
 * a crash left behind (a local store walked and re-hashed, leftover lock files).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, baseEnv } from './cli.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Started {
  child: ChildProcess;
  startedAt: number;
  exited: Promise<Exit>;
  /** Set once the process has exited. */
  done: () => boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Start `bin/mlship` as the leader of a new process group (so git and the evaluation can be killed with it). */
export function startMlship(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): Started {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: baseEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  let finished = false;
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      finished = true;
      resolve({ code, signal, stdout, stderr, ms: Date.now() - startedAt });
    });
  });
  return { child, startedAt, exited, done: () => finished };
}

export type KillScope = 'group' | 'process';

export type Trigger =
  | { kind: 'delay'; ms: number }
  /** Poll `seen` about every millisecond; kill `extraMs` after it first returns true. */
  | { kind: 'marker'; name: string; seen: () => boolean; extraMs: number };

export interface KillOutcome {
  /** True when SIGKILL reached a running process (false: it finished first, or the marker never showed). */
  killed: boolean;
  exit: Exit;
  /** ms after start when the signal was sent. */
  at: number;
}

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * SIGKILL the command when the trigger fires: the whole group (like a CI runner or the OOM killer of
 * a container), or the mlship process alone (its git or evaluation child runs on as an orphan).
 * Then wait (bounded) until nothing of the group is left, so the rerun does not race an orphan.
 */
export async function killWhen(run: Started, trigger: Trigger, scope: KillScope): Promise<KillOutcome> {
  const pid = run.child.pid as number;
  if (trigger.kind === 'delay') {
    await Promise.race([sleep(trigger.ms), run.exited]);
  } else {
    while (!run.done() && !trigger.seen()) await sleep(1);
    if (!run.done() && trigger.extraMs > 0) await Promise.race([sleep(trigger.extraMs), run.exited]);
  }
  let killed = false;
  const at = Date.now() - run.startedAt;
  if (!run.done()) {
    try {
      if (scope === 'group') process.kill(-pid, 'SIGKILL');
      else process.kill(pid, 'SIGKILL');
      killed = true;
    } catch {
      // Already gone: it finished between the check and the signal.
    }
  }
  const exit = await run.exited;
  const deadline = Date.now() + 20_000;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(10);
  if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
  return { killed: killed && exit.signal === 'SIGKILL', exit, at };
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface StoreWalk {
  /** Objects under a final key. */
  objects: number;
  /** Final keys whose bytes do not hash to the key. */
  wrong: string[];
  /** Temporary files a killed writer left behind (never under a final key). */
  temporaries: string[];
  /** Anything else in the objects folder. */
  strays: string[];
}

/** Walk a local store's `objects/sha256/` and re-hash every object. */
export function walkLocalStore(storeDir: string): StoreWalk {
  const out: StoreWalk = { objects: 0, wrong: [], temporaries: [], strays: [] };
  const base = join(storeDir, 'objects', 'sha256');
  if (!existsSync(base)) return out;
  for (const shard of readdirSync(base)) {
    const shardDir = join(base, shard);
    if (!/^[0-9a-f]{2}$/.test(shard)) {
      out.strays.push(shard);
      continue;
    }
    for (const name of readdirSync(shardDir)) {
      const path = join(shardDir, name);
      if (name.startsWith('.tmp-')) out.temporaries.push(`${shard}/${name}`);
      else if (!/^[0-9a-f]{62}$/.test(name)) out.strays.push(`${shard}/${name}`);
      else {
        out.objects++;
        if (sha256Hex(readFileSync(path)) !== `${shard}${name}`) out.wrong.push(`${shard}/${name}`);
      }
    }
  }
  return out;
}

/** The names in a local store's shard folder for `hex` (empty when it does not exist yet). */
export function shardEntries(storeDir: string, hex: string): string[] {
  const dir = join(storeDir, 'objects', 'sha256', hex.slice(0, 2));
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Has the object for `hex`, or a temporary file not in `known`, appeared in its shard folder? */
export function shardTouched(storeDir: string, hex: string, known: ReadonlySet<string>): boolean {
  return shardEntries(storeDir, hex).some((name) => name === hex.slice(2) || (name.startsWith('.tmp-') && !known.has(name)));
}
