/**
 * A sweep that runs out of time stops listing and the next one resumes after the last
 * cluster it reached, so that every cluster is seen even when one sweep cannot see them all.
 */
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { servicesFor } from '../../src/fc/runtime.js';
import { sweep } from '../../src/watch/sweep.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const CLUSTERS = ['eck-resume01', 'eck-resume02', 'eck-resume03', 'eck-resume04', 'eck-resume05', 'eck-resume06'];

describe('a sweep that cannot finish', () => {
  // The system's time only moves when the listings move it: no real time counts.
  const clock = new ManualClock(Date.now());
  const t = useSystem(backends[0]!, {
    instance: { clock },
    env: { WATCH_CLUSTERS: CLUSTERS.map((c) => `ens/${c}`).join(','), SWEEP_CONCURRENCY: '1' },
    emulator: { scenario: { clusters: CLUSTERS.map((id) => ({ id, provider: 'ens' as const, pools: [{ name: 'p', desired: 1 }] })) } },
  });

  it('resumes where it stopped on the next run', async () => {
    // Each listing takes 300 ms of the system's own clock (injected time, not real latency).
    const run = async () => {
      const services = servicesFor(t.sys.instance, t.sys.host.context({ name: 'w', handler: 'watch.handler', timeoutSeconds: 60, memoryMB: 512 } as never));
      const list = services.cloud.listNodePools.bind(services.cloud);
      const slow = vi.spyOn(services.cloud, 'listNodePools').mockImplementation(async (...args) => {
        await clock.advance(300);
        return list(...args);
      });
      const since = t.sys.emulator.callLog().at(-1)?.seq ?? 0;
      try {
        // 1.5 s of budget: no new listing starts after 80% of it, so four 300 ms listings fit.
        const summary = await sweep(services, [], { owner: `test-${Math.random()}`, deadline: clock.now() + 1_500 });
        return { summary, listed: t.sys.emulator.callLog({ since, action: 'DescribeClusterNodePools' }).map((c) => c.clusterId!) };
      } finally {
        slow.mockRestore();
      }
    };
    const runs: string[][] = [];
    while (runs.flat().length < CLUSTERS.length && runs.length < 6) {
      const { summary, listed } = await run();
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.length).toBeLessThan(CLUSTERS.length);
      expect(summary.clustersLeft).toBe(CLUSTERS.length - listed.length);
      // A cluster the sweep had no time for is neither listed nor counted as failing.
      expect(summary.clusterErrors).toBe(0);
      runs.push(listed);
    }
    // Each run starts after the last cluster the previous one reached: together they list each once, in order.
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.flat().slice(0, CLUSTERS.length)).toEqual(CLUSTERS);
    expect(runs).toEqual([CLUSTERS.slice(0, 4), [...CLUSTERS.slice(4), ...CLUSTERS.slice(0, 2)]]);
  });
});
