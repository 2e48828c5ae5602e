/**
 * A sweep that runs out of time stops listing and the next one resumes after the last
 * cluster it reached, so that every cluster is seen even when one sweep cannot see them all.
 */
import { describe, expect, it } from 'vitest';
import { servicesFor } from '../../src/fc/runtime.js';
import { sweep } from '../../src/watch/sweep.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const CLUSTERS = ['eck-resume01', 'eck-resume02', 'eck-resume03', 'eck-resume04', 'eck-resume05', 'eck-resume06'];

describe('a sweep that cannot finish', () => {
  const t = useSystem(backends[0]!, {
    env: { WATCH_CLUSTERS: CLUSTERS.map((c) => `ens/${c}`).join(','), SWEEP_CONCURRENCY: '1' },
    emulator: { scenario: { clusters: CLUSTERS.map((id) => ({ id, provider: 'ens' as const, pools: [{ name: 'p', desired: 1 }] })) } },
  });

  it('resumes where it stopped on the next run', async () => {
    await t.admin('POST', '/faults', { latency: [{ ms: 300, actions: ['DescribeClusterNodePools'] }] });
    const run = async () => {
      const services = servicesFor(t.sys.instance, t.sys.host.context({ name: 'w', handler: 'watch.handler', timeoutSeconds: 60, memoryMB: 512 } as never));
      const since = t.sys.emulator.callLog().at(-1)?.seq ?? 0;
      // A budget that allows about four 300 ms listings before the sweep stops starting new ones.
      const summary = await sweep(services, [], { owner: `test-${Math.random()}`, deadline: t.sys.instance.clock.now() + 1_500 });
      return { summary, listed: t.sys.emulator.callLog({ since, action: 'DescribeClusterNodePools' }).map((c) => c.clusterId!) };
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
  });
});
