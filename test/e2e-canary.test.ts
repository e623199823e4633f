/** Canary releases (issue 7): start, ramp, status, verify by live metrics, promote fully or abort. */
import { describe, expect, it } from 'vitest';
import { git, nodeProject, tempRepo, type TempRepo } from './helpers/cli.js';

const CANARY_GATES = `    canary_gates:
      - { metric: error_rate, vs: production, max_drop: 0.005, higher_is_better: false }
      - { metric: latency.p95, vs: production, max_drop_pct: 10, higher_is_better: false }
`;

async function twoVersions(): Promise<TempRepo> {
  const repo = tempRepo({ files: nodeProject({ accuracy: 0.9 }, CANARY_GATES) });
  expect((await repo.run(['run'])).code).toBe(0);
  expect((await repo.run(['promote', 'm@1', '--to', 'production'])).code).toBe(0);
  repo.write('model.bin', 'weights v2\n');
  repo.commitAll('v2');
  expect((await repo.run(['run'])).code).toBe(0);
  return repo;
}

interface StatusDoc {
  models: { environments: Record<string, { version: number; canary: { version: number; weight: number } | null } | null> }[];
}

describe('canary releases', () => {
  it('starts and ramps a canary, shows it in status, and promotes it fully when its live metrics pass', async () => {
    const repo = await twoVersions();
    const start = await repo.run(['promote', 'm@2', '--to', 'production', '--canary', '10', '--json']);
    expect(start.code).toBe(0);
    expect(start.json()).toMatchObject({ event: { type: 'canary', version: 2, weight: 10, stable: 1, env: 'production' } });
    expect((await repo.run(['status'])).stdout).toContain('v1 + canary v2 at 10%');
    expect((await repo.run(['promote', 'm@2', '--to', 'production', '--canary', '50'])).code).toBe(0);
    const status = (await repo.run(['status', '--json'])).json<StatusDoc>();
    expect(status.models[0]?.environments['production']).toMatchObject({ version: 1, canary: { version: 2, weight: 50 } });

    repo.write('live.json', JSON.stringify({ stable: { error_rate: 0.01, latency: { p95: 120 } }, canary: { error_rate: 0.012, latency: { p95: 125 } } }));
    const dry = await repo.run(['canary', 'verify', 'm', '--env', 'production', '--metrics', 'live.json', '--json']);
    expect(dry.code).toBe(0);
    expect(dry.json()).toMatchObject({ passed: true, stable: 1, canary: 2, weight: 50, appended: null });
    const auto = await repo.run(['canary', 'verify', 'm', '--env', 'production', '--metrics', 'live.json', '--auto']);
    expect(auto.code).toBe(0);
    expect(auto.stdout).toContain('v2 promoted fully in production');
    const after = (await repo.run(['status', '--json'])).json<StatusDoc>();
    expect(after.models[0]?.environments['production']).toMatchObject({ version: 2, canary: null });
    expect(git(repo.dir, 'log', '-1', '--format=%s')).toBe('mlship: promote m v2 to production\n');
    expect((await repo.run(['verify'])).code).toBe(0);
  });

  it('aborts a canary whose live metrics fail, recording the reasons, and the stable version stays', async () => {
    const repo = await twoVersions();
    expect((await repo.run(['promote', 'm@2', '--to', 'production', '--canary', '5'])).code).toBe(0);
    repo.write('live.json', JSON.stringify({ stable: { error_rate: 0.01, latency: { p95: 120 } }, canary: { error_rate: 0.02, latency: { p95: 200 } } }));
    const auto = await repo.run(['canary', 'verify', 'm', '--env', 'production', '--metrics', 'live.json', '--auto', '--json']);
    expect(auto.code).toBe(1);
    const doc = auto.json<{ passed: boolean; gates: { reason: string }[]; appended: { type: string; canary: boolean; reason: string } }>();
    expect(doc.passed).toBe(false);
    expect(doc.gates.map((g) => g.reason)).toEqual([
      'error_rate 0.02 > 0.015 = production v1 0.01 + max_drop 0.005',
      'latency.p95 200 > 132 = production v1 120 + max_drop_pct 10%',
    ]);
    expect(doc.appended).toMatchObject({ type: 'rollback', canary: true });
    expect(doc.appended.reason).toContain('canary failed: error_rate 0.02 > 0.015');
    const status = (await repo.run(['status', '--json'])).json<StatusDoc>();
    expect(status.models[0]?.environments['production']).toMatchObject({ version: 1, canary: null });
    expect((await repo.run(['verify'])).code).toBe(0);
  });

  it('refuses bad canary requests', async () => {
    const repo = await twoVersions();
    const cases: [string[], number, string][] = [
      [['promote', 'm@2', '--to', 'production', '--canary', '100'], 2, 'above 0 and below 100'],
      [['promote', 'm@2', '--to', 'production', '--canary', 'ten'], 2, '--canary takes a percentage'],
      [['promote', 'm@2', '--to', 'staging', '--canary', '10'], 1, 'a canary runs next to a stable version'],
      [['promote', 'm@1', '--to', 'production', '--canary', '10'], 1, 'already the stable version'],
      [['canary', 'verify', 'm', '--env', 'production', '--metrics', 'live.json'], 2, 'live.json'],
    ];
    for (const [args, code, message] of cases) {
      const result = await repo.run(args);
      expect(result.stderr).toContain(message);
      expect(result.code).toBe(code);
    }
    repo.write('live.json', '{"stable": {"error_rate": 0.01}}');
    const noCanary = await repo.run(['canary', 'verify', 'm', '--env', 'production', '--metrics', 'live.json']);
    expect(noCanary.stderr).toContain("expected an object under 'canary'");
    repo.write('live.json', '{"stable": {"error_rate": 0.01}, "canary": {"error_rate": 0.01}}');
    const none = await repo.run(['canary', 'verify', 'm', '--env', 'production', '--metrics', 'live.json']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no canary of m is running in production');
  });
});
