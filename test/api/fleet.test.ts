/**
 * The fleet API through the local FC host: what the sweep saw, answered from the store with no
 * cloud call; pools we did not create beside ours; health and firing alerts per pool; since
 * when a pool has been in its state; clusters that stop answering; bad paths and tokens.
 */
import { describe, expect, it } from 'vitest';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const ENS = 'eck-fleet001';
const ACK = 'cfleet00000000000000000000000001';

describe.each(backends)('fleet API on $name', (backend) => {
  const t = useSystem(backend, {
    env: { WATCH_CLUSTERS: `ens/${ENS},ack/cn-beijing/${ACK}` },
    emulator: {
      scenario: {
        clusters: [
          { id: ENS, provider: 'ens', pools: [{ name: 'theirs-edge', desired: 2 }] },
          { id: ACK, provider: 'ack', regionId: 'cn-beijing', pools: ['workers-a', 'workers-b'].map((name) => ({ name, desired: 2 })) },
        ],
      },
    },
  });
  const cloudCalls = () => t.sys.emulator.callLog().length;

  it('lists the watched clusters and their pools, ours with the request that created them, from the store alone', async () => {
    const name = uniqueName('fleet');
    const posted = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(ENS, name) });
    expect(posted.status).toBe(202);
    await t.idle();
    t.advanceCloud(11 * 60_000);
    await t.sweep();

    const before = cloudCalls();
    const clusters = await t.api('GET', '/v1/clusters');
    expect(clusters.status).toBe(200);
    const ens = clusters.json.items.find((c: any) => c.clusterId === ENS);
    expect(ens).toMatchObject({ provider: 'ens', regionId: null, reachable: true, consecutiveFailures: 0, lastError: null });
    expect(ens.pools.total).toBe(2);
    expect(ens.pools.healthy).toBe(2);
    expect(ens.links.nodepools).toBe(`/v1/clusters/ens/${ENS}/nodepools`);
    expect(clusters.json.items.find((c: any) => c.clusterId === ACK)).toMatchObject({ provider: 'ack', regionId: 'cn-beijing', pools: { total: 2 } });
    expect(Date.parse(clusters.json.lastSweepAt)).toBeGreaterThan(0);

    const pools = await t.api('GET', ens.links.nodepools);
    expect(pools.status).toBe(200);
    const mine = pools.json.items.find((p: any) => p.name === name);
    expect(mine).toMatchObject({ health: 'healthy', state: 'active', desired: 3, serving: 3, initial: 0, failed: null, offline: null, alerts: [] });
    expect(mine.request).toMatchObject({ id: posted.json.id, state: 'active', links: { self: `/v1/nodepool-requests/${posted.json.id}` } });
    expect(pools.json.items.find((p: any) => p.name === 'theirs-edge')).toMatchObject({ health: 'healthy', request: null });
    // A page view reads the store only.
    expect(cloudCalls()).toBe(before);
  });

  it('forgets a cluster nobody watches any more, and keeps those still watched', async () => {
    await t.sweep();
    const listed = async () => (await t.api('GET', '/v1/clusters')).json.items.map((c: any) => c.clusterId);
    expect(await listed()).toEqual(expect.arrayContaining([ENS, ACK]));
    const config = t.sys.instance.config;
    const watched = config.watchClusters;
    config.watchClusters = watched.filter((c) => c.clusterId !== ACK);
    try {
      await t.sweep();
      expect(await listed()).toEqual([ENS]);
      const gone = await t.api('GET', `/v1/clusters/ack/cn-beijing/${ACK}/nodepools`);
      expect(gone.status).toBe(404);
    } finally {
      config.watchClusters = watched;
    }
    await t.sweep();
    expect(await listed()).toEqual(expect.arrayContaining([ENS, ACK]));
  });

  it('puts a pool with failed nodes first, with its firing alert, and keeps since when it has been in its state', async () => {
    await t.sweep();
    const first = (await t.api('GET', `/v1/clusters/ack/${ACK}/nodepools`)).json.items.find((p: any) => p.name === 'workers-a');
    await t.admin('PATCH', `/clusters/${ACK}/nodepools/workers-a`, { faults: { failedNodes: 1 } });
    t.advanceTime(60_000);
    await t.sweep();
    const pools = await t.api('GET', `/v1/clusters/ack/${ACK}/nodepools`);
    const [worst] = pools.json.items;
    expect(worst).toMatchObject({ name: 'workers-a', health: 'failed', failed: 1, state: 'active' });
    expect(worst.alerts.map((a: any) => a.rule)).toContain('nodes_failed');
    expect(worst.alerts[0]).toMatchObject({ state: 'firing', silenced: false });
    // Still active: the state has not changed since the first sweep that saw it.
    expect(worst.stateSince).toBe(first.stateSince);
    expect(Date.parse(worst.seenAt)).toBeGreaterThan(Date.parse(first.seenAt));
    expect(pools.json.items[1]).toMatchObject({ name: 'workers-b', health: 'healthy', failed: 0, offline: 0 });
    const clusters = (await t.api('GET', '/v1/clusters')).json.items;
    expect(clusters[0]).toMatchObject({ clusterId: ACK, pools: { failed: 1 } });
    expect(clusters[0].firingAlerts).toBeGreaterThan(0);
    await t.admin('PATCH', `/clusters/${ACK}/nodepools/workers-a`, { faults: { failedNodes: 0 } });
    await t.sweep();
    expect((await t.api('GET', `/v1/clusters/ack/${ACK}/nodepools`)).json.items.find((p: any) => p.name === 'workers-a')).toMatchObject({
      health: 'healthy',
      alerts: [],
    });
  });

  it('shows a cluster that stops answering as unreachable, with the error, keeping its last pools', async () => {
    await t.admin('PATCH', `/clusters/${ENS}`, { faults: { unreachable: 'error' } });
    try {
      await t.sweep();
      const ens = (await t.api('GET', '/v1/clusters')).json.items.find((c: any) => c.clusterId === ENS);
      expect(ens).toMatchObject({ reachable: false, consecutiveFailures: 1 });
      expect(ens.lastError.code).toEqual(expect.any(String));
      expect(Date.parse(ens.lastAttemptAt)).toBeGreaterThan(Date.parse(ens.lastListedAt));
      expect(ens.pools.total).toBe(2);
    } finally {
      await t.admin('PATCH', `/clusters/${ENS}`, { faults: { unreachable: null } });
    }
  });

  it('refuses bad paths and parameters by name, unknown clusters with 404, and callers without a token', async () => {
    const bad = await t.api('GET', '/v1/clusters/gke/x/nodepools?limit=5');
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: any) => e.path).sort()).toEqual(['path.provider', 'query.limit']);
    expect((await t.api('GET', '/v1/clusters/ens/eck-not-watched/nodepools')).status).toBe(404);
    expect((await t.api('GET', `/v1/clusters/ens/${ENS}`)).status).toBe(404);
    expect((await t.api('POST', '/v1/clusters', {})).status).toBe(405);
    expect((await t.api('GET', '/v1/clusters', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
  });
});
