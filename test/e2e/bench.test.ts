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
          '--clusters',
          '10',
          '--pools',
          '3',
          '--describe-rate',
          '500',
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
    expect(r.B1).toMatchObject({ duplicates: 0, lost: 0, ratio: expect.any(Number) });
    // ACK: one operation per cluster at a time, handed on in order, never refused as busy
    expect(r.B1ack).toMatchObject({ duplicates: 0, lost: 0, busyRefusals: 0, floorSeconds: 2, baseline: { duplicates: 0 } });
    expect(r.B1ack.callsByAction.CreateClusterNodePool).toBe(6);
    expect(r.B1b).toMatchObject({ duplicates: 0, lost: 0 });
    expect(r.B2).toMatchObject({ callsPerCluster: 1, ratio: expect.any(Number), peakRssMB: expect.any(Number) });
    expect(Object.keys(r.B3.bundles).sort()).toEqual(['api', 'provision', 'watch']);
    expect(r.B4).toMatchObject({ errors: 0, p50Ratio: expect.any(Number), p99Ratio: expect.any(Number) });
    // a POST is a transaction: at least its BEGIN, one statement and its COMMIT
    expect(r.B4.roundTrips).toBeGreaterThanOrEqual(3);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('| B2 |');
  }, 180_000);
});
