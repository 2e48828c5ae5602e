/**
 * ENS failures from node states, against the emulator: ENS listings carry no failed count
 * (the official SDK models), so a node that stays `initial` past ENS_NODE_INIT_MINUTES has
 * failed. A failed creation ends `failed` naming the instances; a healthy fleet costs one
 * listing per cluster and no node walk.
 */
import { describe, expect, it } from 'vitest';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const NEW = 'eck-nodes001';
const HEALTHY = 'eck-nodes002';

describe.each(backends)('ENS node states on $name', (backend) => {
  const t = useSystem(backend, {
    env: { ENS_NODE_INIT_MINUTES: '1', WATCH_CLUSTERS: `ens/${HEALTHY}` },
    emulator: {
      scenario: {
        clusters: [
          { id: NEW, provider: 'ens' },
          { id: HEALTHY, provider: 'ens', pools: ['edge-a', 'edge-b', 'edge-c'].map((name) => ({ name, desired: 2 })) },
        ],
      },
    },
  });

  it('fails a creation whose node never comes up, naming the instance, within two sweeps of the failure', async () => {
    // Prepare: a new pool, one of whose three nodes will never come up
    const name = uniqueName('edge');
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(NEW, name) });
    await t.idle();
    await t.admin('PATCH', `/clusters/${NEW}/nodepools/${name}`, { faults: { failedNodes: 1 } });
    // Act: the sweeps see its nodes initial; the two good ones come up; the third stays initial past the minute
    const first = await t.sweep();
    t.advanceCloud(11_000);
    t.advanceTime(61_000);
    await t.sweep();
    // Assess
    const r = (await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json;
    const state = (await t.admin('GET', '/state')) as any;
    const pool = state.clusters.find((c: any) => c.id === NEW).pools.find((p: any) => p.name === name);
    const nodes = t.sys.emulator.callLog({ action: 'DescribeClusterNodes', clusterId: NEW });
    expect(first.nodeWalks).toBe(1);
    expect(nodes.length).toBeGreaterThanOrEqual(2);
    expect(r).toMatchObject({ state: 'failed', lastError: { code: 'NodesFailed' } });
    expect(r.lastError.message).toMatch(/^1 of 3 nodes failed to come up: i-[0-9a-f]{22}$/);
    expect(r.deadlineAt > new Date(t.sys.instance.clock.now()).toISOString()).toBe(true);
    expect(pool.status).toMatchObject({ serving: 2, failed: 1 });
  });

  it('fails a creation whose nodes stay initial past ENS_NODE_INIT_MINUTES, naming them', async () => {
    const name = uniqueName('stuck');
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(NEW, name) });
    await t.idle();
    // the pool never gets past its first moment: its nodes report initial and nothing else
    await t.admin('PATCH', `/clusters/${NEW}/nodepools/${name}`, { faults: { stuck: 'scaling' } });
    await t.sweep();
    expect((await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json.state).toBe('creating');
    t.advanceTime(61_000);
    await t.sweep();
    const r = (await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json;
    expect(r).toMatchObject({ state: 'failed', lastError: { code: 'NodesFailed' } });
    expect(r.lastError.message).toMatch(/^3 of 3 nodes failed to come up: i-[0-9a-f]{22}, i-[0-9a-f]{22}, i-[0-9a-f]{22}$/);
  });

  it('lists a healthy ENS cluster once a sweep and walks none of its nodes', async () => {
    t.advanceCloud(11_000);
    await t.sweep();
    const since = t.sys.emulator.callLog().at(-1)?.seq ?? 0;
    const summary = (await t.sweep()) as any;
    expect(t.sys.emulator.callLog({ since, clusterId: HEALTHY }).map((c) => c.action)).toEqual(['DescribeClusterNodePools']);
    expect(t.sys.emulator.callLog({ since, action: 'DescribeClusterNodes' })).toEqual([]);
    expect(summary.nodeWalks).toBe(0);
  });
});
