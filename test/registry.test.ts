import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Model } from '../src/config/schema.js';
import { MlshipError } from '../src/errors.js';
import { lineDigest, parseLog } from '../src/registry/chain.js';
import { planPromotion, planRollback, matchesPattern } from '../src/registry/decide.js';
import { serializeEvent, type RegistryEvent } from '../src/registry/events.js';
import { loadModel, segmentName } from '../src/registry/log.js';
import { parseModelRef, resolveRef } from '../src/registry/refs.js';
import { foldEvents, previousLive } from '../src/registry/state.js';
import { firstDivergence } from '../src/registry/verify.js';

const AT = '2026-11-27T10:00:00.000Z';
const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** Builds a valid log from event drafts, chaining them the way the registry does. */
function buildLog(drafts: Record<string, unknown>[]): { text: string; events: RegistryEvent[] } {
  const lines: string[] = [];
  const events: RegistryEvent[] = [];
  drafts.forEach((d, i) => {
    const event = { seq: i + 1, model: 'churn', at: AT, actor: 'a@example.com', prev: i === 0 ? null : lineDigest(lines[i - 1] as string), ...d } as RegistryEvent;
    lines.push(serializeEvent(event));
    events.push(event);
  });
  return { text: lines.map((l) => `${l}\n`).join(''), events };
}

const register = (version: number, metrics: Record<string, number> = { auc: 0.8 }) => ({
  type: 'register',
  version,
  digest: digest(`v${version}`),
  commit: null,
  dirty: false,
  branch: 'main',
  artifacts: { model: { path: 'm.json', kind: 'file', digest: digest(`m${version}`), size: 3, uri: 'file:///x' } },
  metrics,
  gates: [],
  checks: [],
  runner: { kind: 'local' },
  store: 'file:///x',
});
const promote = (version: number, env: string, from: number | null) => ({ type: 'promote', version, env, from });

const config = Model.parse({ artifacts: { model: 'm.json' }, gates: [{ metric: 'auc', vs: 'production', max_drop: 0.05 }], policy: { production: { requires: 'staging', approvals: 1, approvers: ['*@example.com'], branches: ['main'] } } });

describe('the chain', () => {
  const { text } = buildLog([register(1), promote(1, 'staging', null), register(2)]);

  it('parses a valid log with no problems and keys in a fixed order', () => {
    const log = parseLog(text, 'churn');
    expect(log.problems).toEqual([]);
    expect(log.events.map((e) => e.type)).toEqual(['register', 'promote', 'register']);
    const lines = text.split('\n');
    expect(log.count).toBe(3);
    expect(Object.keys(JSON.parse(lines[1] as string) as object)).toEqual(['seq', 'type', 'model', 'version', 'at', 'actor', 'prev', 'env', 'from']);
    expect(log.events[1]?.prev).toBe(`sha256:${createHash('sha256').update(lines[0] as string).digest('hex')}`);
  });

  it('reads bytes as it reads text: the same events and problems, byte offsets, each line hashed as its exact bytes', () => {
    // A non-ASCII actor makes byte offsets differ from character offsets.
    const { text: accented } = buildLog([register(1), { ...promote(1, 'staging', null), actor: 'zoë@example.com' }, register(2)]);
    const bytes = Buffer.from(accented);
    const fromText = parseLog(accented, 'churn');
    const fromBytes = parseLog(bytes, 'churn');
    expect(fromBytes).toEqual(fromText);
    expect(fromBytes.problems).toEqual([]);
    const starts = [0];
    for (let i = bytes.indexOf(10); i >= 0 && i < bytes.length - 1; i = bytes.indexOf(10, i + 1)) starts.push(i + 1);
    expect(fromBytes.offsets).toEqual(starts);
    expect(fromBytes.lastDigest).toBe(`sha256:${createHash('sha256').update(bytes.subarray(starts[2], bytes.length - 1)).digest('hex')}`);
    // A truncated last line, and a line of bytes that are not UTF-8: counted, reported, hashed raw.
    const truncated = parseLog(bytes.subarray(0, bytes.length - 1), 'churn');
    expect(truncated.count).toBe(3);
    expect(truncated.problems).toEqual([expect.objectContaining({ code: 'E_TRUNCATED', line: 3 })]);
    const garbage = Buffer.from([0xff, 0xfe, 0x7b]);
    const withGarbage = parseLog(Buffer.concat([garbage, Buffer.from('\n')]), 'churn');
    expect(withGarbage.problems).toEqual([expect.objectContaining({ code: 'E_EVENT', line: 1 })]);
    expect(withGarbage.lastDigest).toBe(`sha256:${createHash('sha256').update(garbage).digest('hex')}`);
    expect(parseLog('', 'churn')).toEqual({ events: [], count: 0, offsets: [], problems: [], lastDigest: null });
  });

  it('detects an edited line at the line after it', () => {
    const edited = text.replace('"auc":0.8', '"auc":0.9');
    expect(parseLog(edited, 'churn').problems).toEqual([expect.objectContaining({ code: 'E_CHAIN', line: 2 })]);
  });

  it('detects deleted, swapped and inserted lines', () => {
    const lines = text.trimEnd().split('\n');
    const deleted = [lines[0], lines[2]].join('\n') + '\n';
    expect(parseLog(deleted, 'churn').problems.map((p) => [p.code, p.line])).toEqual([['E_CHAIN', 2], ['E_SEQ', 2]]);
    const swapped = [lines[1], lines[0], lines[2]].join('\n') + '\n';
    expect(parseLog(swapped, 'churn').problems.some((p) => p.code === 'E_CHAIN' && p.line === 1)).toBe(true);
    const inserted = [lines[0], lines[0], lines[1], lines[2]].join('\n') + '\n';
    expect(parseLog(inserted, 'churn').problems.some((p) => p.code === 'E_CHAIN' && p.line === 2)).toBe(true);
  });

  it('detects truncation, garbage and events of another model', () => {
    expect(parseLog(text.slice(0, -20), 'churn').problems.map((p) => p.code)).toEqual(['E_TRUNCATED', 'E_EVENT']);
    expect(parseLog('{"seq":1}\n', 'churn').problems[0]).toMatchObject({ code: 'E_EVENT', line: 1, message: "'type' must be one of register, promote, approve, rollback, deprecate, canary" });
    expect(parseLog(text, 'other').problems.filter((p) => p.code === 'E_MODEL')).toHaveLength(3);
  });
});

describe('the fold', () => {
  it('tracks live versions per environment and rolls back through the stack', () => {
    const { events } = buildLog([register(1), promote(1, 'production', null), register(2), promote(2, 'production', 1), register(3), promote(3, 'production', 2)]);
    const { state, problems } = foldEvents('churn', events);
    expect(problems).toEqual([]);
    expect(state.latest).toBe(3);
    expect(state.environments.get('production')?.current).toBe(3);
    expect(previousLive(state, 'production')).toBe(2);
  });

  it('reports senseless events: a gap in versions, a promotion of an unregistered version, a rollback from the wrong version', () => {
    const { events } = buildLog([register(1), register(3), promote(7, 'staging', null), { type: 'rollback', version: 1, env: 'staging', from: 2, reason: 'x' }]);
    expect(foldEvents('churn', events).problems.map((p) => p.message)).toEqual([
      'register of v3, expected v2',
      'promote of v7, which is not registered',
      'rollback in staging from v2, but vnone was live',
    ]);
  });
});

describe('refs', () => {
  const { events } = buildLog([register(1), register(2), promote(1, 'production', null)]);
  const { state } = foldEvents('churn', events);
  const envs = ['staging', 'production'];

  it.each([
    ['2', 2],
    ['v1', 1],
    ['latest', 2],
    ['production', 1],
    [digest('v2').slice(0, 13), 2],
    [digest('m1').slice(0, 15), 1],
  ])('@%s -> v%d', (ref, version) => {
    expect(resolveRef(state, ref, envs)).toBe(version);
  });

  it.each([
    ['9', 'E_UNKNOWN_VERSION', 2],
    ['staging', 'E_NOTHING_LIVE', 1],
    ['prodution', 'E_REF', 2],
    ['sha256:zz', 'E_REF', 2],
    ['sha256:ffff', 'E_UNKNOWN_VERSION', 2],
  ])('@%s is refused with %s (exit %d)', (ref, code, exitCode) => {
    try {
      resolveRef(state, ref, envs);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(MlshipError);
      expect((error as MlshipError).code).toBe(code);
      expect((error as MlshipError).exitCode).toBe(exitCode);
    }
  });

  it('parses MODEL@REF and refuses empty parts', () => {
    expect(parseModelRef('churn@3')).toEqual({ model: 'churn', ref: '3' });
    expect(parseModelRef('churn')).toEqual({ model: 'churn', ref: undefined });
    expect(() => parseModelRef('@3')).toThrow(/not a model reference/);
    expect(() => parseModelRef('churn@')).toThrow(/not a model reference/);
  });
});

describe('promotion decisions', () => {
  const base = { model: 'churn', config, actor: 'ci@example.com', at: AT, branch: 'main', force: false, reason: undefined };

  it('lists every unmet condition at once', () => {
    const { events } = buildLog([register(1, { auc: 0.9 }), promote(1, 'staging', null), promote(1, 'production', null), register(2, { auc: 0.7 })]);
    const { state } = foldEvents('churn', events);
    const error = (() => {
      try {
        planPromotion(state, { ...base, version: 2, env: 'production', branch: 'feature' });
      } catch (e) {
        return e as MlshipError;
      }
      return undefined;
    })();
    expect(error?.exitCode).toBe(1);
    expect(error?.details?.['reasons']).toEqual([
      'policy: promotions to production only from main (this is feature)',
      'gate auc: auc 0.7 < 0.85 = production v1 0.9 - max_drop 0.05',
      'policy: v2 must be promoted to staging before production',
      'policy: production needs 1 approval(s), v2 has 0: mlship approve churn@2 --for production',
    ]);
  });

  it('--force needs a reason, cannot override the branch rule, and is recorded', () => {
    const { events } = buildLog([register(1, { auc: 0.9 }), promote(1, 'staging', null), promote(1, 'production', null), register(2, { auc: 0.7 })]);
    const { state } = foldEvents('churn', events);
    expect(() => planPromotion(state, { ...base, version: 2, env: 'production', force: true })).toThrow(/--force needs --reason/);
    expect(() => planPromotion(state, { ...base, version: 2, env: 'production', force: true, reason: 'hotfix', branch: 'dev' })).toThrow(/only from main/);
    const plan = planPromotion(state, { ...base, version: 2, env: 'production', force: true, reason: 'hotfix' });
    expect(plan.kind === 'append' && plan.event).toMatchObject({ type: 'promote', version: 2, env: 'production', from: 1, forced: true, reason: 'hotfix' });
  });

  it('is a no-op when the version is already live, and refuses unknown environments and deprecated versions', () => {
    const { events } = buildLog([register(1), promote(1, 'staging', null), { type: 'deprecate', version: 1, reason: 'leak' }]);
    const { state } = foldEvents('churn', events);
    expect(() => planPromotion(state, { ...base, version: 1, env: 'prod' })).toThrow(/did you mean|not an environment/);
    expect(() => planPromotion(state, { ...base, version: 1, env: 'production' })).toThrow(/deprecated/);
    const live = foldEvents('churn', buildLog([register(1), promote(1, 'staging', null)]).events).state;
    expect(planPromotion(live, { ...base, version: 1, env: 'staging' })).toEqual({ kind: 'unchanged', version: 1 });
  });

  it('matches approver globs', () => {
    expect(matchesPattern('alice@example.com', '*@example.com')).toBe(true);
    expect(matchesPattern('alice@example.com.evil', '*@example.com')).toBe(false);
    expect(matchesPattern('github:alice', 'github:*')).toBe(true);
  });
});

describe('rollback decisions', () => {
  const input = { model: 'churn', config, actor: 'oncall@example.com', at: AT, to: undefined, reason: 'p95 latency' };
  const { state } = foldEvents('churn', buildLog([register(1), promote(1, 'production', null), register(2), promote(2, 'production', 1)]).events);

  it('goes back to the previously live version', () => {
    expect(planRollback(state, { ...input, env: 'production' })).toMatchObject({ type: 'rollback', version: 1, from: 2, env: 'production', reason: 'p95 latency' });
  });

  it.each([
    [{ reason: ' ' }, 'E_REASON'],
    [{ env: 'staging' }, 'E_NOTHING_LIVE'],
    [{ to: 2 }, 'E_ALREADY_LIVE'],
  ])('%j is refused with %s', (change, code) => {
    expect(() => planRollback(state, { ...input, env: 'production', ...change })).toThrow(expect.objectContaining({ code }));
  });

  it('has no earlier version after rolling all the way back', () => {
    const { state: first } = foldEvents('churn', buildLog([register(1), promote(1, 'production', null)]).events);
    expect(() => planRollback(first, { ...input, env: 'production' })).toThrow(expect.objectContaining({ code: 'E_NO_PREVIOUS', exitCode: 1 }));
  });
});

describe('append-only history', () => {
  it.each([
    ['', 'a\n', undefined],
    ['a\n', 'a\nb\n', undefined],
    ['a\nb\n', 'a\nc\n', 2],
    ['a\nb\n', 'a\n', 2],
    ['a\n', 'x\na\n', 1],
  ])('%j -> %j diverges at %s', (prev, next, line) => {
    expect(firstDivergence(prev, next)).toBe(line);
  });
});

describe('the snapshot cache of sealed registry files', () => {
  /** Versions as plain data (source aside: a fold from scratch has no file names). */
  const plain = (state: ReturnType<typeof foldEvents>['state']) => ({
    latest: state.latest,
    last: state.last,
    deprecated: [...state.deprecated].sort(),
    environments: [...state.environments].sort(([a], [b]) => a.localeCompare(b)),
    versions: [...state.versions].map(([n, v]) => ({ n, version: v.version, digest: v.digest, register: v.register, deprecated: v.deprecated, promotedTo: [...v.promotedTo].sort(), approvals: [...v.approvals].sort(([a], [b]) => a.localeCompare(b)) })),
  });

  it('restores exactly the state a fold from scratch gives, approval order included', async () => {
    const approve = (version: number, env: string, actor: string) => ({ type: 'approve', version, env, actor });
    const { text, events } = buildLog([
      register(1), promote(1, 'staging', null), approve(1, 'production', 'zoe@example.com'), approve(1, 'production', 'adam@example.com'),
      promote(1, 'production', null), register(2), approve(2, 'staging', 'adam@example.com'), promote(2, 'staging', 1),
      register(3), { type: 'deprecate', version: 2, reason: 'leak' }, approve(3, 'production', 'bob@example.com'), approve(3, 'staging', 'zoe@example.com'),
      promote(3, 'staging', 2), approve(1, 'canary', 'adam@example.com'), promote(3, 'production', 1), { type: 'rollback', version: 1, env: 'production', from: 3, reason: 'latency' },
      register(4),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'mlship-snapshot-'));
    try {
      const lines = text.trimEnd().split('\n');
      const location = { dir: join(dir, 'registry'), cacheDir: join(dir, 'cache'), segmentLines: 4 };
      mkdirSync(location.dir);
      for (let i = 0; i * 4 < lines.length; i++) writeFileSync(join(location.dir, segmentName('churn', i + 1)), `${lines.slice(i * 4, i * 4 + 4).join('\n')}\n`);
      const expected = plain(foldEvents('churn', events).state);
      const first = await loadModel(location, 'churn', dir);
      expect(existsSync(join(location.cacheDir, 'registry', 'churn.json'))).toBe(true);
      const second = await loadModel(location, 'churn', dir);
      expect(plain(first.state)).toEqual(expected);
      expect(plain(second.state)).toEqual(expected);
      expect(second.state.versions.get(1)?.approvals.get('production')).toEqual(['zoe@example.com', 'adam@example.com']);
      expect(second.state.versions.get(3)?.source).toEqual({ file: 'churn~3.jsonl', line: 1, offset: 0 });
      expect(second.state.versions.get(2)?.source).toEqual({ file: 'churn~2.jsonl', line: 2, offset: Buffer.byteLength(lines[4] as string) + 1 });
      expect(second.state.versions.size).toBe(4);
      expect(second.state.versions.has(5)).toBe(false);
      expect(second.state.versions.get(0)).toBeUndefined();
      expect(second.count).toBe(17);
      // Asked for out of order, versions still iterate in ascending order.
      const third = await loadModel(location, 'churn', dir);
      third.state.versions.get(3);
      expect([...third.state.versions.keys()]).toEqual([1, 2, 3, 4]);
      // A wrong byte offset (a doctored cache) still finds each register event through its line number.
      const file = join(location.cacheDir, 'registry', 'churn.json');
      const good = JSON.parse(readFileSync(file, 'utf8')) as { columns: Record<string, string> };
      writeFileSync(file, JSON.stringify({ ...good, columns: { ...good.columns, registerOffset: '7,3,100000' } }));
      expect(plain((await loadModel(location, 'churn', dir)).state)).toEqual(expected);
      // The snapshot really is what the later loads read (a doctored one shows through).
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), deprecated: [1, 2] }));
      expect([...(await loadModel(location, 'churn', dir)).state.deprecated].sort()).toEqual([1, 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
