/**
 * At-least-once delivery must still create once: the same request 5 times at once through
 * the queue and replayed over HTTP with its Idempotency-Key; idempotency conflicts; bad
 * messages stored as rejected without failing their batch.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

async function sendToQueue(cloudUrl: string, body: string): Promise<{ MessageId: string }> {
  const res = await fetch(`${cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body });
  expect(res.status).toBe(201);
  return (await res.json()) as { MessageId: string };
}

describe.each(backends)('exactly once on $name', (backend) => {
  const t = useSystem(backend);

  const createsFor = (name: string) => t.sys.emulator.callLog({ action: 'CreateClusterNodePool' }).filter((c) => (c.params as any).NodepoolInfo?.Name === name);

  it('creates once for 5 concurrent queue deliveries and HTTP replays of one request', async () => {
    // Prepare
    const name = uniqueName('dup');
    const key = `order-${name}`;
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) };
    await t.admin('POST', '/faults', { duplicateDelivery: 4 });
    try {
      // Act: one queue message delivered 5 times at once, and the same request over HTTP 3 times
      await sendToQueue(t.sys.cloudUrl, JSON.stringify({ ...body, idempotencyKey: key }));
      const posts = await Promise.all([1, 2, 3].map(() => t.api('POST', '/v1/nodepool-requests', body, { 'idempotency-key': key })));
      await t.idle();
      // Assess
      expect(posts.map((p) => p.status)).toEqual([202, 202, 202]);
      const ids = new Set(posts.map((p) => p.json.id));
      expect(ids.size).toBe(1);
      expect(createsFor(name).filter((c) => c.outcome === 'OK')).toHaveLength(1);
      const list = await t.api('GET', `/v1/nodepool-requests?clusterId=${SEED_ENS_CLUSTER}&limit=100`);
      expect(list.json.items.filter((r: any) => r.nodepoolName === name)).toHaveLength(1);
      const r = await t.api('GET', `/v1/nodepool-requests/${[...ids][0]}`);
      expect(r.json.state).toBe('creating');
      expect(r.json.history.filter((h: any) => h.state === 'submitting')).toHaveLength(1);
    } finally {
      await t.admin('POST', '/faults', { duplicateDelivery: 0 });
    }
  });

  it('keeps messages in the queue while its trigger is disabled, and runs each once when it is enabled again', async () => {
    const names = [uniqueName('held'), uniqueName('held')];
    t.sys.host.pauseQueue();
    try {
      for (const name of names) await sendToQueue(t.sys.cloudUrl, JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) }));
      await t.idle();
      expect(names.flatMap(createsFor)).toEqual([]);
    } finally {
      t.sys.host.resumeQueue();
    }
    await t.idle();
    expect(names.map((n) => createsFor(n).filter((c) => c.outcome === 'OK').length)).toEqual([1, 1]);
  });

  it('answers a replayed Idempotency-Key with the same request, and a changed body with 409', async () => {
    const name = uniqueName('idem');
    const key = `k-${name}`;
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) };
    const first = await t.api('POST', '/v1/nodepool-requests', body, { 'idempotency-key': key });
    const again = await t.api('POST', '/v1/nodepool-requests', body, { 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(again.json.id).toBe(first.json.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const changed = await t.api('POST', '/v1/nodepool-requests', { ...body, deadlineMinutes: 45 }, { 'idempotency-key': key });
    expect(changed.status).toBe(409);
    expect(changed.headers.get('content-type')).toBe('application/problem+json');
    expect(changed.json).toMatchObject({ status: 409, existingId: first.json.id, type: expect.stringContaining('idempotency-key-reused') });
    await t.idle();
  });

  it('answers a second live request for the same pool, without a key, with 409 naming the first', async () => {
    const name = uniqueName('live');
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) };
    const first = await t.api('POST', '/v1/nodepool-requests', body);
    const second = await t.api('POST', '/v1/nodepool-requests', body);
    expect(second.status).toBe(409);
    expect(second.json).toMatchObject({ existingId: first.json.id, detail: expect.stringContaining(first.json.id) });
    await t.idle();
    expect(createsFor(name).filter((c) => c.outcome === 'OK')).toHaveLength(1);
  });

  it('fails, naming it, a request for a pool name that already exists but was not created by it', async () => {
    const cluster = await t.admin('POST', '/clusters', { provider: 'ens', pools: [{ name: 'hand-made', desired: 1 }] });
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(cluster.id, 'hand-made') });
    await t.idle();
    const r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json.state).toBe('failed');
    expect(r.json.lastError.code).toBe('NodePoolAlreadyExists');
    expect(t.sys.emulator.callLog({ clusterId: cluster.id, action: 'CreateClusterNodePool' })).toEqual([]);
  });

  it('stores bad queue messages as rejected, acknowledges them, and still runs the good one in the batch', async () => {
    const name = uniqueName('batch');
    const good = JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) });
    const badJson = await sendToQueue(t.sys.cloudUrl, '{not json');
    const invalid = await sendToQueue(
      t.sys.cloudUrl,
      JSON.stringify({ provider: 'ens', request: { ...ensExample(SEED_ENS_CLUSTER, uniqueName()), ScalingGroup: { ImageId: 'm-1' } } }),
    );
    await sendToQueue(t.sys.cloudUrl, good);
    await t.idle();
    const rejected = await t.api('GET', '/v1/nodepool-requests?state=rejected&limit=100');
    const reasons = rejected.json.items.map((r: any) => r.rejectReasons);
    expect(reasons).toContainEqual([{ path: '', message: 'the message body is not JSON' }]);
    expect(reasons.some((rs: any[]) => rs.some((x) => x.path === 'request.ScalingGroup.VswitchIds'))).toBe(true);
    expect(createsFor(name).filter((c) => c.outcome === 'OK')).toHaveLength(1);
    expect(t.sys.host.deadLetters).toEqual([]);
    expect(badJson.MessageId).not.toBe(invalid.MessageId);
  });

  it('does not store a redelivered bad message twice', async () => {
    await t.admin('POST', '/faults', { duplicateDelivery: 2 });
    try {
      const before = (await t.api('GET', '/v1/nodepool-requests?state=rejected&limit=100')).json.items.length;
      await sendToQueue(t.sys.cloudUrl, '["still", "not", "a request"]');
      await t.idle();
      const after = (await t.api('GET', '/v1/nodepool-requests?state=rejected&limit=100')).json.items.length;
      expect(after - before).toBe(1);
    } finally {
      await t.admin('POST', '/faults', { duplicateDelivery: 0 });
    }
  });

  it('rejects, once, a message the store cannot hold (NUL characters, an oversized key) instead of looping', async () => {
    const before = (await t.api('GET', '/v1/nodepool-requests?state=rejected&limit=100')).json.items.length;
    await sendToQueue(t.sys.cloudUrl, JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, 'nul\u0000name') }));
    await sendToQueue(
      t.sys.cloudUrl,
      JSON.stringify({ provider: 'ens', idempotencyKey: 'k'.repeat(9000), request: ensExample(SEED_ENS_CLUSTER, uniqueName()) }),
    );
    await t.idle();
    const after = (await t.api('GET', '/v1/nodepool-requests?state=rejected&limit=100')).json.items.length;
    expect(after - before).toBe(2);
    expect(t.sys.host.redeliveries).toEqual([]);
  });

  it('redelivers a batch that failed transiently, and creates once when it succeeds', async () => {
    // Prepare: the store refuses the first write of this batch, as a database failover would
    const name = uniqueName('flaky');
    const store = t.sys.instance.store;
    const original = store.insert.bind(store);
    let failures = 1;
    store.insert = async (r) => {
      if (r.nodepoolName === name && failures-- > 0) throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      return original(r);
    };
    try {
      await sendToQueue(t.sys.cloudUrl, JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) }));
      await t.idle();
    } finally {
      store.insert = original;
    }
    expect(createsFor(name).filter((c) => c.outcome === 'OK')).toHaveLength(1);
    expect(t.sys.host.redeliveries.length).toBeGreaterThan(0);
  });
});
