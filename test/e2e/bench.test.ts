/**
 * `npm run bench` with tiny sizes, so that the benchmark keeps working. It asserts what
 * must hold at any size (no duplicate, nothing lost, one listing per cluster, no API
 * error), never a speed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npm run bench', () => {
  it('runs every benchmark and writes the table and the JSON', async () => {
    const out = mkdtempSync(join(tmpdir(), 'npp-bench-'));
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/run.ts',
          '--n',
          '20',
          '--rate',
          '100',
          '--speed',
          '600',
          '--clusters',
          '10',
          '--pools',
          '3',
          '--describe-rate',
          '4',
          '--requests',
          '20',
          '--ack-requests',
          '6',
          '--ack-clusters',
          '3',
          '--ack-speed',
          '600',
          '--out',
          out,
        ],
        { stdio: 'ignore' },
      );
      child.on('exit', resolve);
    });
    expect(code).toBe(0);
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(r).toMatchObject({ cores: expect.any(Number), date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    // ENS, timed to the last pool active, on the honest floor, beside the Terraform-style loop
    expect(r.B1).toMatchObject({ duplicates: 0, lost: 0, ratio: expect.any(Number), states: { active: 20 }, baseline: { calls: expect.any(Number) } });
    // (20 − 100)/100 → 0, plus boot and ramp, 600 s ÷ 600
    expect(r.B1.floorSeconds).toBe(1);
    expect(r.B1.baselineSeconds).toBeGreaterThan(0);
    // ACK: one operation per cluster at a time, handed on in order, never refused as busy
    expect(r.B1ack).toMatchObject({ duplicates: 0, lost: 0, busyRefusals: 0, floorSeconds: 2, baseline: { duplicates: 0 } });
    expect(r.B1ack.callsByAction.CreateClusterNodePool).toBe(6);
    // one hand-off per cluster, split into seeing the task done and the next create
    expect(r.B1ack.handOffMs).toMatchObject({ taskSeenDone: expect.any(Number), thenNextCreate: expect.any(Number) });
    expect(r.B1b).toMatchObject({ duplicates: 0, lost: 0 });
    // B2 on the run's store (with DATABASE_URL also on PGlite), seeded; growth over C/10, 3C/10 and C clusters
    // 10 clusters at 4 listings a second: a floor of (10 − 4)/4 s and one listing
    const b2 = {
      callsPerCluster: 1,
      ratio: expect.any(Number),
      // plus the emulator's own time for one listing, a few milliseconds at most
      floorMs: expect.toSatisfy((ms: number) => ms >= 1_500 && ms < 1_600),
      firstSweepMs: expect.any(Number),
      peakRssMB: expect.any(Number),
      idleRssMB: expect.any(Number),
      seeded: { requests: 200, firingAlerts: 2 },
    };
    expect(r.B2).toMatchObject({ ...b2, store: process.env.DATABASE_URL ? 'postgres' : 'pglite' });
    if (process.env.DATABASE_URL) expect(r['B2.pglite']).toMatchObject({ ...b2, store: 'pglite', firstInit: { rssMB: expect.any(Number) } });
    else expect(r['B2.pglite']).toBeUndefined();
    // with no more clusters than one second's listings, all go in the first burst: no limiter floor
    expect(r['B2.growth'].map((g: any) => [g.clusters, g.callsPerCluster, typeof g.ratio])).toEqual([
      [1, 1, 'object'],
      [3, 1, 'object'],
      [10, 1, 'number'],
    ]);
    expect(Object.keys(r.B3.bundles).sort()).toEqual(['api', 'provision', 'watch']);
    for (const b of Object.values(r.B3.bundles) as any[]) {
      expect(b).toMatchObject({ coldRatio: expect.any(Number), coldMs: expect.any(Number), importRatio: expect.any(Number), codeCache: 'accepted' });
    }
    expect(r.B4).toMatchObject({
      errors: 0,
      p50Ratio: expect.any(Number),
      p99Ratio: expect.any(Number),
      ioOnlyP50Ratio: expect.any(Number),
      p50RatioToIoOnly: expect.any(Number),
    });
    // a POST that nothing refuses or races is one statement, with no BEGIN or COMMIT
    expect(r.B4.roundTrips).toBe(1);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('| B2 |');
  }, 180_000);
});
