/**
 * The main path, end to end through the local FC host: POST -> async provision -> one
 * CreateClusterNodePool -> sweeps -> active, for ENS and for ACK, on every store backend.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ackExample, ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

describe.each(backends)('request lifecycle on $name', (backend) => {
  const t = useSystem(backend);

  async function walk(id: string) {
    const seen: string[] = ['accepted'];
    const note = async () => {
      const r = await t.api('GET', `/v1/nodepool-requests/${id}`);
      expect(r.status).toBe(200);
      if (seen.at(-1) !== r.json.state) seen.push(r.json.state);
      return r.json;
    };
    await note();
    await t.idle();
    await note();
    for (let i = 0; i < 6 && seen.at(-1) !== 'active'; i++) {
      t.advanceCloud(3_000); // 3 simulated minutes a step
      await t.sweep();
      await note();
    }
    return { seen, final: await note() };
  }

  it('walks an ENS request from accepted to active with exactly one create', async () => {
    const name = uniqueName('ens');
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) };
    const post = await t.api('POST', '/v1/nodepool-requests', body);
    expect(post.status).toBe(202);
    expect(post.json).toEqual({
      id: expect.stringMatching(/^npr_/),
      operation: 'create',
      state: 'accepted',
      provider: 'ens',
      clusterId: SEED_ENS_CLUSTER,
      nodepoolName: name,
      links: { self: `/v1/nodepool-requests/${post.json.id}` },
    });
    expect(post.headers.get('location')).toBe(post.json.links.self);

    const { seen, final } = await walk(post.json.id);
    expect(seen[0]).toBe('accepted');
    expect(seen.at(-1)).toBe('active');
    expect(final.history.map((h: any) => h.state)).toEqual(['accepted', 'submitting', 'creating', 'active']);
    expect(final.history[2].cloudRequestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(final).toMatchObject({
      nodepoolId: expect.stringMatching(/^np/),
      attempts: 1,
      lastError: null,
      observed: { cloudState: 'active', serving: 3, desired: 3 },
    });
    const creates = t.sys.emulator.callLog({ action: 'CreateClusterNodePool', outcome: 'OK' }).filter((c) => (c.params as any).NodepoolInfo?.Name === name);
    expect(creates).toHaveLength(1);
  });

  it('walks an ACK request from accepted to active with exactly one create', async () => {
    const name = uniqueName('ack');
    const post = await t.api('POST', '/v1/nodepool-requests', {
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      request: ackExample(name),
    });
    expect(post.status).toBe(202);
    const { seen, final } = await walk(post.json.id);
    expect(seen.at(-1)).toBe('active');
    expect(final.history.map((h: any) => h.state)).toEqual(['accepted', 'submitting', 'creating', 'active']);
    expect(final.taskId).toMatch(/^T-/);
    const creates = t.sys.emulator
      .callLog({ action: 'CreateClusterNodePool', outcome: 'OK' })
      .filter((c) => (c.params as any).body?.nodepool_info?.name === name);
    expect(creates).toHaveLength(1);
  });

  it('fails a request the cloud refuses, with its code, message and request id', async () => {
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample('eck-0000dead', uniqueName()) });
    await t.idle();
    const r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json.state).toBe('failed');
    expect(r.json.lastError).toMatchObject({
      code: 'InvalidParameter.ClusterId',
      message: expect.stringContaining('eck-0000dead'),
      requestId: expect.stringMatching(/^[0-9A-F-]{36}$/),
    });
    expect(r.json.history.at(-1)).toMatchObject({ state: 'failed', cloudRequestId: r.json.lastError.requestId });
  });

  it('fails an ACK request whose creation task fails, with the task error', async () => {
    const name = uniqueName('doomed');
    const cluster = await t.admin('POST', '/clusters', { provider: 'ack' });
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request: ackExample(name) });
    await t.idle();
    await t.admin('PATCH', `/clusters/${cluster.id}/nodepools/${name}`, {
      faults: { creationFails: { code: 'InsufficientStock', message: 'ecs.n4.large is out of stock in the zone' } },
    });
    t.advanceCloud(11_000);
    await t.sweep();
    const r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json.state).toBe('failed');
    expect(r.json.lastError).toEqual({ code: 'InsufficientStock', message: 'ecs.n4.large is out of stock in the zone' });
    // the pool itself reported failed (not a timeout waiting for it)
    expect(r.json.observed.cloudState).toBe('failed');
  });

  it('keeps a request accepted when its dispatch fails, and the sweep re-drives it', async () => {
    // Prepare: FC answers every InvokeFunction with 503 for a while
    await t.admin('POST', '/faults', { calls: [{ kind: '5xx', rate: 1, actions: ['InvokeFunction'] }] });
    const name = uniqueName('undispatched');
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) });
    expect(post.status).toBe(202);
    await t.idle();
    expect((await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json.state).toBe('accepted');
    // the dispatch was refused, and nothing reached the cloud
    expect(t.sys.emulator.callLog({ action: 'InvokeFunction' }).at(-1)).toMatchObject({ outcome: 'ServiceUnavailable', fault: '5xx' });
    expect(t.sys.emulator.callLog({ action: 'CreateClusterNodePool' }).filter((c) => (c.params as any).NodepoolInfo?.Name === name)).toEqual([]);
    // Act: FC recovers; the next sweep re-dispatches
    await t.admin('DELETE', '/faults');
    t.advanceTime(1_000);
    await t.sweep();
    await t.idle();
    // Assess
    const r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json.state).toBe('creating');
    expect(
      t.sys.emulator.callLog({ action: 'CreateClusterNodePool', outcome: 'OK' }).filter((c) => (c.params as any).NodepoolInfo?.Name === name),
    ).toHaveLength(1);
  });

  it('defers a create on a busy cluster instead of failing, and creates once it is free', async () => {
    const cluster = await t.admin('POST', '/clusters', { provider: 'ack', pools: [{ name: 'busy-one', desired: 1, ageMinutes: 0 }] });
    const post = await t.api('POST', '/v1/nodepool-requests', {
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: cluster.id,
      request: ackExample(uniqueName()),
    });
    await t.idle();
    let r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json).toMatchObject({ state: 'submitting', lastError: { code: 'InvalidStatus.Forbidden' }, nextAttemptAt: expect.any(String) });
    expect(r.json.history.at(-1).note).toContain('next attempt');
    // the other pool finishes; the deferred request becomes due and the sweep re-drives it
    t.advanceCloud(11_000);
    t.advanceTime(Date.parse(r.json.nextAttemptAt) - Date.parse(r.json.updatedAt) + 1_000);
    await t.sweep();
    await t.idle();
    r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json.state).toBe('creating');
    expect(t.sys.emulator.callLog({ clusterId: cluster.id, action: 'CreateClusterNodePool' }).map((c) => c.outcome)).toEqual(['InvalidStatus.Forbidden', 'OK']);
  });
});
