/** The Docker runner's pure half: plan -> engine create options, and the recorded image digest. No engine needed. */
import { describe, expect, it } from 'vitest';
import { MlshipError } from '../src/errors.js';
import { imageDigestOf, toContainerCreateOptions } from '../src/runners/docker.js';
import type { EvaluationPlan } from '../src/runners/types.js';

const plan = (overrides: Partial<EvaluationPlan> = {}, docker: Partial<NonNullable<EvaluationPlan['docker']>> = {}): EvaluationPlan => ({
  runner: 'docker',
  argv: ['python3', 'eval.py', '--model', '/repo/models/churn.json', '--out', '/outputs/metrics.json'],
  repoRoot: '/home/ana/churn',
  outputsDir: '/home/ana/churn/.mlship/cache/outputs/run-1',
  artifacts: { model: '/home/ana/churn/models/churn.json' },
  env: { SEED: '42' },
  timeoutMs: 600_000,
  ...overrides,
  docker: {
    image: 'python:3.12-slim',
    pull: 'missing',
    network: 'none',
    memoryBytes: undefined,
    nanoCpus: undefined,
    pidsLimit: undefined,
    user: '1000:1000',
    containerOutputs: '/outputs',
    containerRepo: '/repo',
    ...docker,
  },
});

describe('toContainerCreateOptions', () => {
  it('turns a plan into hermetic create options', () => {
    expect(toContainerCreateOptions(plan({}, { labels: { 'mlship.model': 'churn' } }))).toEqual({
      Image: 'python:3.12-slim',
      Entrypoint: ['python3'],
      Cmd: ['eval.py', '--model', '/repo/models/churn.json', '--out', '/outputs/metrics.json'],
      WorkingDir: '/repo',
      User: '1000:1000',
      Env: ['HOME=/tmp', 'SEED=42'],
      Labels: { 'mlship.model': 'churn', mlship: '1', 'mlship.repo': '/home/ana/churn' },
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: false,
      Tty: false,
      HostConfig: {
        NetworkMode: 'none',
        Privileged: false,
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Mounts: [
          { Type: 'bind', Source: '/home/ana/churn', Target: '/repo', ReadOnly: true },
          { Type: 'bind', Source: '/home/ana/churn/.mlship/cache/outputs/run-1', Target: '/outputs', ReadOnly: false },
        ],
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,exec,mode=1777' },
        AutoRemove: false,
      },
    });
  });

  it('applies resource limits, with swap disabled under a memory limit', () => {
    const { HostConfig } = toContainerCreateOptions(plan({}, { memoryBytes: 512 * 1024 ** 2, nanoCpus: 1.5e9, pidsLimit: 256 }));
    expect(HostConfig).toMatchObject({ Memory: 536_870_912, MemorySwap: 536_870_912, NanoCpus: 1_500_000_000, PidsLimit: 256 });
  });

  it('leaves limits unset when none are configured', () => {
    const { HostConfig } = toContainerCreateOptions(plan());
    expect(HostConfig).not.toHaveProperty('Memory');
    expect(HostConfig).not.toHaveProperty('NanoCpus');
    expect(HostConfig).not.toHaveProperty('PidsLimit');
  });

  it('uses a named network when configured', () => {
    expect(toContainerCreateOptions(plan({}, { network: 'eval-net' })).HostConfig?.NetworkMode).toBe('eval-net');
  });

  it('lets the configured env override HOME, and keeps mlship labels over user labels', () => {
    const options = toContainerCreateOptions(plan({ env: { HOME: '/work' } }, { labels: { mlship: 'spoofed', team: 'ml' } }));
    expect(options.Env).toEqual(['HOME=/work']);
    expect(options.Labels).toEqual({ mlship: '1', team: 'ml', 'mlship.repo': '/home/ana/churn' });
  });

  it('creates from the resolved image ID when given, so the run uses the recorded digest', () => {
    const id = `sha256:${'a'.repeat(64)}`;
    expect(toContainerCreateOptions(plan(), { image: id }).Image).toBe(id);
  });

  it('keeps each argv element one argument, whatever it contains', () => {
    const options = toContainerCreateOptions(plan({ argv: ['sh', '-c', 'echo "$HOME" && rm -rf /; echo ${x}'] }));
    expect(options.Entrypoint).toEqual(['sh']);
    expect(options.Cmd).toEqual(['-c', 'echo "$HOME" && rm -rf /; echo ${x}']);
  });

  it.each([
    ['an empty command', plan({ argv: [] }), 'E_EVAL_COMMAND', 2],
    ['an artifact outside the repository', plan({ artifacts: { model: '/home/ana/elsewhere/model.bin' } }), 'E_DOCKER_ARTIFACT_OUTSIDE_REPO', 2],
    ['a relative repository path', plan({ repoRoot: 'churn', artifacts: {} }), 'E_DOCKER_PLAN', 70],
    ['a plan for the local runner', { ...plan(), runner: 'local' as const, docker: undefined }, 'E_DOCKER_PLAN', 70],
  ])('refuses %s', (_what, bad, code, exitCode) => {
    let caught: unknown;
    try {
      toContainerCreateOptions(bad);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MlshipError);
    expect(caught).toMatchObject({ code, exitCode });
  });
});

describe('imageDigestOf', () => {
  const id = `sha256:${'1'.repeat(64)}`;
  const d = (c: string) => `sha256:${c.repeat(64)}`;

  it.each([
    ['no repo digest (a built or imported image): the image ID', 'mlship-test/busybox:1', { Id: id, RepoDigests: [] }, id],
    ['RepoDigests absent', 'model:latest', { Id: id }, id],
    ['the repo digest of the pulled image', 'python:3.12-slim', { Id: id, RepoDigests: [`python@${d('a')}`] }, d('a')],
    ['the digest of the matching repository', 'ghcr.io/acme/eval:2', { Id: id, RepoDigests: [`docker.io/acme/eval@${d('b')}`, `ghcr.io/acme/eval@${d('c')}`] }, d('c')],
    ['a registry with a port', 'localhost:5000/eval:1', { Id: id, RepoDigests: [`other@${d('b')}`, `localhost:5000/eval@${d('e')}`] }, d('e')],
    ['the first repo digest when none matches', 'alias:1', { Id: id, RepoDigests: [`python@${d('a')}`] }, d('a')],
    ['a reference pinned by digest', `python@${d('f')}`, { Id: id, RepoDigests: [`python@${d('a')}`] }, d('f')],
  ])('%s', (_what, reference, image, expected) => {
    expect(imageDigestOf(reference, image)).toBe(expected);
  });
});
