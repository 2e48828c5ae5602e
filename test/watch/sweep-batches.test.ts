/**
 * A sweep holds one batch of clusters at a time: it reads the requests of the clusters in the
 * batch it works on, never every request at once, and what the rules find across batches still
 * fires, resolves (with the values at resolution) and stays firing as one sweep over all of it
 * would. Requests on clusters it does not list are read once, after the listing.
 */
import { describe, expect, it } from 'vitest';
import type { RequestStore } from '../../src/store/index.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const CLUSTERS = Array.from({ length: 24 }, (_, i) => `c${String(i).padStart(31, '0')}`);

describe.each(backends)('a sweep in batches on $name', (backend) => {
  const t = useSystem(backend, {
    env: { WATCH_CLUSTERS: CLUSTERS.map((id) => `ack/cn-beijing/${id}`).join(',') },
    emulator: {
      scenario: {
        clusters: CLUSTERS.map((id) => ({ id, provider: 'ack' as const, regionId: 'cn-beijing', pools: [{ name: `workers-${id.slice(-2)}`, desired: 2 }] })),
      },
    },
  });

  /** Every forAlerts of the next sweeps: which clusters it asked for, and how many requests came back. */
  function watchLoads(store: RequestStore) {
    const original = store.forAlerts.bind(store);
    const loads: Array<{ clusters?: number; rows: number }> = [];
    store.forAlerts = async (since, options = {}) => {
      const rows = await original(since, options);
      loads.push({ clusters: options.clusters?.length, rows: rows.length });
      return rows;
    };
    return { loads, restore: () => (store.forAlerts = original) };
  }

  it('reads the requests of one batch of clusters at a time, and fires and resolves across batches as one sweep', async () => {
    // A creation that fails at once on a cluster nobody watches: its alert comes from the requests read after the listing.
    const doomed = uniqueName('nowhere');
    const failed = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample('eck-nowhere01', doomed) });
    expect(failed.status).toBe(202);
    await t.idle();
    await t.sweep();
    const late = CLUSTERS[20]!;
    await t.admin('PATCH', `/clusters/${late}/nodepools/workers-20`, { faults: { failedNodes: 1 } });

    const { loads, restore } = watchLoads(t.sys.instance.store);
    try {
      const fired = await t.sweep();
      expect(fired).toMatchObject({ clusters: 24, alertsFired: 1 });
      // 24 clusters: batches of ⌈24 / 8⌉ = 3, each read twice (before its work, and as it is after);
      // then the one cluster with requests that nobody lists, twice as well. No read of every request.
      expect(loads.length).toBe(18);
      for (const l of loads.slice(0, 16)) expect(l.clusters).toBeLessThanOrEqual(3);
      expect(loads.slice(16)).toEqual([
        { clusters: 1, rows: 1 },
        { clusters: 1, rows: 1 },
      ]);
      const firing = (await t.api('GET', '/v1/alerts?state=firing')).json.items;
      expect(firing.map((a: any) => `${a.rule}:${a.labels.nodepoolName}`).sort()).toEqual([`creation_failed:${doomed}`, 'nodes_failed:workers-20']);

      await t.admin('PATCH', `/clusters/${late}/nodepools/workers-20`, { faults: { failedNodes: 0 } });
      const resolved = await t.sweep();
      expect(resolved).toMatchObject({ alertsFired: 0, alertsResolved: 1 });
    } finally {
      restore();
    }
    const after = (await t.api('GET', '/v1/alerts?state=resolved')).json.items.find((a: any) => a.labels.nodepoolName === 'workers-20');
    // the values at resolution, from the batch that listed the cluster
    expect(after.annotations).toMatchObject({ description: '0 of 2 nodes failed', peakDescription: '1 of 2 nodes failed', nodes: { failed: 0 } });
    // the creation alert of the cluster nobody lists stays firing
    expect((await t.api('GET', '/v1/alerts?state=firing')).json.items.map((a: any) => a.labels.nodepoolName)).toEqual([doomed]);
  });
});

const ENS_CLUSTERS = Array.from({ length: 24 }, (_, i) => `eck-walk${String(i).padStart(4, '0')}`);

describe.each(backends)('node walks across batches on $name', (backend) => {
  const t = useSystem(backend, {
    env: { WATCH_CLUSTERS: ENS_CLUSTERS.map((id) => `ens/${id}`).join(','), CLOUD_READ_TIMEOUT_MS: '1500' },
    emulator: {
      timeoutHoldMs: 3_000,
      scenario: {
        clusters: ENS_CLUSTERS.map((id) => ({
          id,
          provider: 'ens' as const,
          pools: [{ name: `edge-${id.slice(-2)}`, desired: 2, faults: { failedNodes: 1 } }],
        })),
      },
    },
  });

  it("starts a batch's walks while an earlier batch's walk hangs", async () => {
    const first = ENS_CLUSTERS[0]!;
    t.sys.emulator.faults.calls.push({ kind: 'timeout', count: 1, actions: ['DescribeClusterNodes'], clusterId: first });
    const since = t.sys.emulator.callLog().length;
    const summary = await t.sweep();
    expect(summary).toMatchObject({ clusters: 24, nodeWalks: 23 });
    const walks = t.sys.emulator
      .callLog()
      .slice(since)
      .filter((c) => c.action === 'DescribeClusterNodes');
    const hung = walks.find((c) => c.clusterId === first)!;
    expect(hung.outcome).toBe('Timeout');
    // Batches of three: the last batches' walks start long before the hung one is given up
    // (1.5 s); were each batch's walks to wait for the one before, they would start after it.
    const later = walks.filter((c) => ENS_CLUSTERS.indexOf(c.clusterId!) >= 3);
    expect(later).toHaveLength(21);
    const startedAfter = Math.max(...later.map((c) => Date.parse(c.at))) - Date.parse(hung.at);
    expect(startedAfter).toBeLessThan(1_000);
  });
});
