/**
 * Scale and delete, end to end through the local FC host and the emulator, for ENS and ACK:
 * each write call made once (under 5× redelivery and after a timeout whose call did run), the
 * waiter to active or deleted, the guard rails of a delete, and alerts named for the operation.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const WRITES = [
  'CreateClusterNodePool',
  'ScaleClusterNodePool',
  'DeleteClusterNodes',
  'DeleteClusterNodePool',
  'ModifyClusterNodePool',
  'DeleteClusterNodepool',
];

describe.each(backends)('scale and delete on $name', (backend) => {
  const t = useSystem(backend, { env: { CLOUD_READ_TIMEOUT_MS: '400', PROVISION_BUDGET_SECONDS: '5' }, emulator: { timeoutHoldMs: 600 } });

  /** A cluster of its own with one active pool of `desired` nodes. */
  async function clusterWithPool(provider: 'ens' | 'ack', desired = 3, pool: Record<string, unknown> = {}) {
    const name = uniqueName(provider);
    const cluster = await t.admin('POST', '/clusters', { provider, pools: [{ name, desired, ...pool }] });
    const address =
      provider === 'ens'
        ? { provider, clusterId: cluster.id, nodepoolName: name }
        : { provider, regionId: cluster.regionId, clusterId: cluster.id, nodepoolName: name };
    return { cluster, name, poolId: cluster.pools[0].id as string, address };
  }

  const writes = (clusterId: string) => t.sys.emulator.callLog({ clusterId }).filter((c) => WRITES.includes(c.action) && c.outcome === 'OK');

  /** Sweeps, moving the cloud 3 simulated minutes a step, until the request is final (or 8 steps). */
  async function settle(id: string) {
    await t.idle();
    for (let i = 0; i < 8; i++) {
      const r = await t.api('GET', `/v1/nodepool-requests/${id}`);
      if (!['accepted', 'submitting', 'creating', 'applying'].includes(r.json.state)) return r.json;
      t.advanceCloud(3_000);
      await t.sweep();
      await t.idle();
    }
    return (await t.api('GET', `/v1/nodepool-requests/${id}`)).json;
  }

  const emulatorPool = (clusterId: string, poolId: string) => t.sys.emulator.world.listedPools(clusterId).find((p) => p.id === poolId);

  it.each(['ens', 'ack'] as const)('%s: scales up, scales down and deletes, one write call each', async (provider) => {
    const { cluster, name, poolId, address } = await clusterWithPool(provider, 3);

    const up = await t.api('POST', '/v1/nodepool-requests', { operation: 'scale', ...address, desiredSize: 5 });
    expect(up.status).toBe(202);
    expect(up.json).toMatchObject({ operation: 'scale', state: 'accepted', nodepoolName: name });
    const upDone = await settle(up.json.id);
    expect(upDone).toMatchObject({ state: 'active', desiredSize: 5, nodepoolId: poolId, observed: { serving: 5, desired: 5 } });
    expect(upDone.history.map((h: any) => h.state)).toEqual(['accepted', 'submitting', 'applying', 'active']);

    const down = await t.api('POST', '/v1/nodepool-requests', { operation: 'scale', ...address, nodepoolId: poolId, desiredSize: 2 });
    const downDone = await settle(down.json.id);
    expect(downDone).toMatchObject({ state: 'active', observed: { serving: 2, desired: 2 } });
    expect(emulatorPool(cluster.id, poolId)?.desired).toBe(2);

    const del = await t.api('POST', '/v1/nodepool-requests', { operation: 'delete', ...address, confirm: name, force: true });
    const delDone = await settle(del.json.id);
    expect(delDone.state).toBe('deleted');
    expect(emulatorPool(cluster.id, poolId)).toBeUndefined();

    const expected =
      provider === 'ens'
        ? ['ScaleClusterNodePool', 'DeleteClusterNodes', 'DeleteClusterNodePool']
        : ['ModifyClusterNodePool', 'ModifyClusterNodePool', 'DeleteClusterNodepool'];
    expect(writes(cluster.id).map((c) => c.action)).toEqual(expected);
    // A pool deleted through us is not "missing".
    await t.sweep();
    const alerts = await t.api('GET', '/v1/alerts?state=firing&limit=100');
    expect(alerts.json.items.filter((a: any) => a.labels.clusterId === cluster.id)).toEqual([]);
  });

  it.each(['ens', 'ack'] as const)(
    '%s: a scale up, a scale down and a delete, each delivered 5 times through the queue, call the cloud once each',
    async (provider) => {
      const { cluster, address } = await clusterWithPool(provider, 2);
      const deliver5 = async (body: Record<string, unknown>) => {
        await t.admin('POST', '/faults', { duplicateDelivery: 4 });
        try {
          const res = await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body: JSON.stringify(body) });
          expect(res.status).toBe(201);
          await t.idle();
        } finally {
          await t.admin('POST', '/faults', { duplicateDelivery: 0 });
        }
        const list = await t.api('GET', `/v1/nodepool-requests?clusterId=${cluster.id}`);
        return list.json.items.filter((r: any) => r.operation === body.operation);
      };
      const scales = await deliver5({ operation: 'scale', ...address, desiredSize: 4, idempotencyKey: `scale-${address.nodepoolName}` });
      expect(scales).toHaveLength(1);
      expect((await settle(scales[0].id)).state).toBe('active');
      const downs = (await deliver5({ operation: 'scale', ...address, desiredSize: 1, idempotencyKey: `down-${address.nodepoolName}` })).filter(
        (r: any) => r.id !== scales[0].id,
      );
      expect(downs).toHaveLength(1);
      expect((await settle(downs[0].id)).observed).toMatchObject({ desired: 1, serving: 1 });
      const deletes = await deliver5({
        operation: 'delete',
        ...address,
        confirm: address.nodepoolName,
        force: true,
        idempotencyKey: `delete-${address.nodepoolName}`,
      });
      expect(deletes).toHaveLength(1);
      expect((await settle(deletes[0].id)).state).toBe('deleted');
      expect(writes(cluster.id)).toHaveLength(3);
    },
  );

  it.each(['ens', 'ack'] as const)('%s: a scale up, a scale down and a delete whose answers are lost after they ran are not made again', async (provider) => {
    const { cluster, address, name } = await clusterWithPool(provider, 2);
    const actions =
      provider === 'ens'
        ? ['ScaleClusterNodePool', 'DeleteClusterNodes', 'DeleteClusterNodePool']
        : ['ModifyClusterNodePool', 'ModifyClusterNodePool', 'DeleteClusterNodepool'];
    const steps: Array<[Record<string, unknown>, (r: any) => void]> = [
      [{ operation: 'scale', ...address, desiredSize: 3 }, (r) => expect(r).toMatchObject({ state: 'active', observed: { desired: 3, serving: 3 } })],
      [{ operation: 'scale', ...address, desiredSize: 1 }, (r) => expect(r).toMatchObject({ state: 'active', observed: { desired: 1, serving: 1 } })],
      [{ operation: 'delete', ...address, confirm: name, force: true }, (r) => expect(r.state).toBe('deleted')],
    ];
    for (const [i, [body, ends]] of steps.entries()) {
      // The call runs and its answer is lost: the client times out, the request is deferred.
      await t.admin('POST', '/faults', { calls: [{ kind: 'timeout', phase: 'after', count: 1, actions: [actions[i]], clusterId: cluster.id }] });
      const post = await t.api('POST', '/v1/nodepool-requests', body);
      await t.idle();
      t.advanceTime(60_000); // past the deferral
      const done = await settle(post.json.id);
      ends(done);
      expect(done.history.map((h: any) => h.note).join('\n')).toContain('did run');
    }
    // Each ran once (its answer lost); none was sent again.
    expect(
      t.sys.emulator
        .callLog({ clusterId: cluster.id })
        .filter((c) => actions.includes(c.action))
        .map((c) => c.action),
    ).toEqual(actions);
    await t.admin('DELETE', '/faults');
  });

  it('refuses a delete without the confirmation, with the field, and nothing reaches the cloud', async () => {
    const { cluster, address } = await clusterWithPool('ens', 2);
    const before = t.sys.emulator.callLog({ clusterId: cluster.id }).length;
    const res = await t.api('POST', '/v1/nodepool-requests', { operation: 'delete', ...address, confirm: 'something-else' });
    expect(res.status).toBe(400);
    expect(res.json.errors).toContainEqual({ path: 'confirm', message: expect.stringContaining('nodepoolName') });
    const missing = await t.api('POST', '/v1/nodepool-requests', { operation: 'delete', ...address });
    expect(missing.json.errors).toContainEqual({ path: 'confirm', message: 'is required' });
    const bad = await t.api('POST', '/v1/nodepool-requests', { operation: 'scale', ...address, desiredSize: -1, nodepoolId: 'np x' });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: any) => e.path).sort()).toEqual(['desiredSize', 'nodepoolId']);
    const unknown = await t.api('POST', '/v1/nodepool-requests', { operation: 'resize', ...address });
    expect(unknown.json.errors).toEqual([{ path: 'operation', message: 'must be one of: create, scale, delete' }]);
    await t.idle();
    expect(t.sys.emulator.callLog({ clusterId: cluster.id }).length).toBe(before);
  });

  it("refuses to delete an ACK cluster's default pool, or a serving pool, without force, with no write call", async () => {
    const def = await t.api('POST', '/v1/nodepool-requests', {
      operation: 'delete',
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      nodepoolName: 'default-nodepool',
      confirm: 'default-nodepool',
    });
    const defDone = await settle(def.json.id);
    expect(defDone).toMatchObject({ state: 'failed', lastError: { code: 'DefaultNodePool', message: expect.stringContaining('default node pool') } });

    const { cluster, address, name } = await clusterWithPool('ens', 2);
    const serving = await t.api('POST', '/v1/nodepool-requests', { operation: 'delete', ...address, confirm: name });
    expect((await settle(serving.json.id)).lastError).toMatchObject({ code: 'NodePoolServing', message: expect.stringContaining('2 nodes serving') });
    expect(writes(SEED_ACK_CLUSTER)).toEqual([]);
    expect(writes(cluster.id)).toEqual([]);
  });

  it('answers a second live operation on the same pool with 409 naming the first', async () => {
    const { address } = await clusterWithPool('ack', 2);
    const first = await t.api('POST', '/v1/nodepool-requests', { operation: 'scale', ...address, desiredSize: 3 });
    const second = await t.api('POST', '/v1/nodepool-requests', { operation: 'delete', ...address, confirm: address.nodepoolName, force: true });
    expect(second.status).toBe(409);
    expect(second.json).toMatchObject({ existingId: first.json.id });
    await settle(first.json.id);
  });

  it('alerts on a failed scale with a rule that names the operation, and resolves it when a later scale succeeds', async () => {
    const { cluster, address } = await clusterWithPool('ack', 2);
    await t.admin('PATCH', `/nodepools/${cluster.pools[0].id}`, {
      faults: { operationFails: { code: 'InstanceStockNotEnough', message: 'no stock for ecs.g6.large' } },
    });
    const failing = await t.api('POST', '/v1/nodepool-requests', { operation: 'scale', ...address, desiredSize: 4 });
    const failed = await settle(failing.json.id);
    expect(failed).toMatchObject({ state: 'failed', lastError: { code: 'InstanceStockNotEnough' } });
    await t.sweep();
    const firing = (await t.api('GET', '/v1/alerts?state=firing&limit=100')).json.items.filter((a: any) => a.labels.clusterId === cluster.id);
    expect(firing.map((a: any) => a.rule)).toContain('scale_failed');

    const again = await t.api('POST', '/v1/nodepool-requests', { operation: 'scale', ...address, desiredSize: 3 });
    expect((await settle(again.json.id)).state).toBe('active');
    await t.sweep();
    const after = (await t.api('GET', '/v1/alerts?state=firing&limit=100')).json.items.filter((a: any) => a.labels.clusterId === cluster.id);
    expect(after.map((a: any) => a.rule)).not.toContain('scale_failed');
  });

  it('ends a partial ENS scale-out failed, naming the nodes that did not come up', async () => {
    const { cluster, address } = await clusterWithPool('ens', 2);
    await t.admin('PATCH', `/nodepools/${cluster.pools[0].id}`, { faults: { operationFailedNodes: 1 } });
    const post = await t.api('POST', '/v1/nodepool-requests', { operation: 'scale', ...address, desiredSize: 4 });
    const done = await settle(post.json.id);
    expect(done).toMatchObject({ state: 'failed', lastError: { code: 'NodesFailed', message: expect.stringMatching(/^1 nodes failed to come up: i-/) } });
    expect(writes(cluster.id).map((c) => c.action)).toEqual(['ScaleClusterNodePool']);
  });

  it('times out a delete stuck while it removes nodes, with the last state seen', async () => {
    const { cluster, address, name } = await clusterWithPool('ens', 2);
    const post = await t.api('POST', '/v1/nodepool-requests', { operation: 'delete', ...address, confirm: name, force: true, deadlineMinutes: 1 });
    await t.idle();
    await t.admin('PATCH', `/nodepools/${cluster.pools[0].id}`, { faults: { stuck: 'removing' } });
    t.advanceTime(61_000);
    const done = await settle(post.json.id);
    expect(done).toMatchObject({ state: 'timed_out', lastError: { code: 'DeadlineExceeded', message: expect.stringContaining('removing_nodes') } });
    expect(writes(cluster.id)).toHaveLength(1);
  });

  it("fails an ACK delete whose task fails, with the task's error, and alerts delete_failed", async () => {
    const { cluster, address, name } = await clusterWithPool('ack', 2);
    await t.admin('PATCH', `/nodepools/${cluster.pools[0].id}`, {
      faults: { operationFails: { code: 'NodePoolDeleteFailed', message: 'instances could not be released' } },
    });
    const post = await t.api('POST', '/v1/nodepool-requests', { operation: 'delete', ...address, confirm: name, force: true });
    const done = await settle(post.json.id);
    expect(done).toMatchObject({ state: 'failed', lastError: { code: 'NodePoolDeleteFailed', message: 'instances could not be released' } });
    await t.sweep();
    const firing = (await t.api('GET', '/v1/alerts?state=firing&limit=100')).json.items.filter((a: any) => a.labels.clusterId === cluster.id);
    expect(firing.map((a: any) => a.rule)).toEqual(['delete_failed']);
  });

  it('never raises nodepool_missing for a pool we created and then deleted', async () => {
    const cluster = await t.admin('POST', '/clusters', { provider: 'ens' });
    const name = uniqueName('own');
    const created = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(cluster.id, name) });
    expect((await settle(created.json.id)).state).toBe('active');
    const del = await t.api('POST', '/v1/nodepool-requests', {
      operation: 'delete',
      provider: 'ens',
      clusterId: cluster.id,
      nodepoolName: name,
      confirm: name,
      force: true,
    });
    expect((await settle(del.json.id)).state).toBe('deleted');
    for (let i = 0; i < 3; i++) {
      t.advanceCloud(3_000);
      await t.sweep();
    }
    const alerts = (await t.api('GET', '/v1/alerts?limit=100')).json.items.filter((a: any) => a.labels.clusterId === cluster.id);
    expect(alerts).toEqual([]);
    // The creation request stays active (it did create the pool); its pool is watched no more.
    expect((await t.api('GET', `/v1/nodepool-requests/${created.json.id}`)).json.state).toBe('active');
  });

  it('stores a bad scale message from the queue as rejected, as a scale of its pool, naming the field, and calls nothing', async () => {
    const { cluster, address } = await clusterWithPool('ens', 2);
    const res = await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, {
      method: 'POST',
      body: JSON.stringify({ operation: 'scale', ...address, desiredSize: 'many' }),
    });
    expect(res.status).toBe(201);
    await t.idle();
    const items = (await t.api('GET', `/v1/nodepool-requests?clusterId=${cluster.id}`)).json.items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      operation: 'scale',
      state: 'rejected',
      nodepoolName: address.nodepoolName,
      rejectReasons: [{ path: 'desiredSize', message: 'must be an integer, not string' }],
    });
    expect(writes(cluster.id)).toEqual([]);
  });

  it('ENS: a delete whose answer was lost is seen running (the pool removing its nodes, wanting none) and not sent again', async () => {
    const { cluster, address, name } = await clusterWithPool('ens', 2);
    await t.admin('POST', '/faults', { calls: [{ kind: 'timeout', phase: 'after', count: 1, actions: ['DeleteClusterNodePool'], clusterId: cluster.id }] });
    const post = await t.api('POST', '/v1/nodepool-requests', { operation: 'delete', ...address, confirm: name, force: true });
    await t.idle();
    // Retried while the cloud still removes its nodes (the cloud's clock has not moved).
    t.advanceTime(60_000);
    await t.sweep();
    await t.idle();
    const r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json.state).toBe('applying');
    expect(r.json.history.map((h: any) => h.note).join('\n')).toContain('did run');
    expect((await settle(post.json.id)).state).toBe('deleted');
    expect(t.sys.emulator.callLog({ clusterId: cluster.id, action: 'DeleteClusterNodePool' })).toHaveLength(1);
  });
});
