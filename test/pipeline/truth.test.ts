/**
 * States and alerts follow the truth:
 *  - a create for a name the system already made is answered 409 at once, naming the pool and
 *    its request; nothing fails and nothing alerts;
 *  - a request that timed out while its cluster could not be listed becomes active when the
 *    pool turns up active, and only cluster_unreachable went out meanwhile;
 *  - a queue message nested far too deep is rejected at once, and the next one is processed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProvisionHandler } from '../../functions/provision.js';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { CloudClient } from '../../src/cloud/client.js';
import { ackExample, ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { type Receiver, startReceiver } from '../helpers/receivers.js';
import { useSystem } from '../helpers/system.js';

const OUTAGE = 'eck-outage001';
const TAKEN_ACK = 'ctaken0000000000000000000000001';

describe.each(backends)('states follow the truth on $name', (backend) => {
  let webhook: Receiver;
  beforeAll(async () => {
    webhook = await startReceiver('webhook', 'whsec-truth', () => t.sys.instance.clock.now());
  });
  afterAll(async () => webhook?.close());

  const t = useSystem(backend, () => ({
    env: {
      ALERT_CHANNELS: JSON.stringify([{ type: 'webhook', url: webhook.url, secret: 'whsec-truth', minSeverity: 'info' }]),
      WATCH_CLUSTERS: '',
    },
    emulator: {
      scenario: {
        clusters: [
          { id: OUTAGE, provider: 'ens' },
          // A cluster nobody watches, with a pool this system did not make.
          { id: TAKEN_ACK, provider: 'ack', regionId: 'cn-beijing', pools: [{ name: 'theirs', desired: 1 }] },
        ],
      },
    },
  }));
  const heard = (from: number) =>
    webhook
      .accepted()
      .slice(from)
      .flatMap((m) => m.body.alerts.map((a: any) => `${a.labels.alertname}:${a.status}`));
  /** An ACK request for the name of the pool TAKEN_ACK already has, run to its end. */
  const createTheirs = async () => {
    const post = await t.api('POST', '/v1/nodepool-requests', {
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: TAKEN_ACK,
      request: ackExample('theirs'),
      deadlineMinutes: 5,
    });
    await t.idle();
    return (await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json;
  };
  const requestsNamed = async (name: string) => (await t.api('GET', '/v1/nodepool-requests?limit=100')).json.items.filter((r: any) => r.nodepoolName === name);

  it('answers a repeated create without a key with 409 naming the pool and its request; nothing fails, nothing alerts', async () => {
    // Prepare: a pool this system created, active and seen by the sweep
    const name = uniqueName('again');
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) };
    const first = await t.api('POST', '/v1/nodepool-requests', body);
    await t.idle();
    t.advanceCloud(11_000);
    await t.sweep();
    expect((await t.api('GET', `/v1/nodepool-requests/${first.json.id}`)).json).toMatchObject({ state: 'active' });
    const nodepoolId = (await t.api('GET', `/v1/nodepool-requests/${first.json.id}`)).json.nodepoolId;
    const mark = webhook.accepted().length;
    const calls = t.sys.emulator.callLog({ action: 'CreateClusterNodePool' }).length;

    // Act: the same create again, over HTTP and through the queue
    const again = await t.api('POST', '/v1/nodepool-requests', body);
    await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body: JSON.stringify(body) });
    await t.idle();
    await t.sweep();

    // Assess
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({
      type: 'urn:nodepool-pilot:problem:nodepool-name-taken',
      status: 409,
      nodepoolId,
      existingId: first.json.id,
      links: { existing: `/v1/nodepool-requests/${first.json.id}` },
    });
    expect(again.json.detail).toContain(name);
    expect(again.json.detail).toContain(first.json.id);
    const mine = await requestsNamed(name);
    expect(mine.map((r: any) => r.state).sort()).toEqual(['active', 'rejected']);
    expect(mine.find((r: any) => r.state === 'rejected').rejectReasons[0].message).toContain(first.json.id);
    expect(t.sys.emulator.callLog({ action: 'CreateClusterNodePool' })).toHaveLength(calls);
    expect(heard(mark)).toEqual([]);
    const firing = (await t.api('GET', '/v1/alerts?state=firing')).json.items.filter((a: any) => a.labels.nodepoolName === name);
    expect(firing).toEqual([]);
  });

  it("fails a name only the cloud knows as the caller's mistake: a warning, not a critical page", async () => {
    const mark = webhook.accepted().length;
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ack', regionId: 'cn-beijing', clusterId: TAKEN_ACK, request: ackExample('theirs') });
    expect(post.status).toBe(202);
    await t.idle();
    await t.sweep();
    const r = (await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json;
    expect(r).toMatchObject({ state: 'failed', lastError: { code: 'NodePoolAlreadyExists', existing: { nodepoolId: expect.any(String) } } });
    expect(r.lastError.existing.nodepoolRequestId).toBeUndefined();
    const sent = webhook
      .accepted()
      .slice(mark)
      .flatMap((m) => m.body.alerts)
      .filter((a: any) => a.labels.nodepoolName === 'theirs');
    expect(sent.map((a: any) => [a.labels.alertname, a.labels.severity, a.status])).toEqual([['creation_failed', 'warning', 'firing']]);
  });

  it('fails a name taken between the look-up and the create the same way, not as a critical refusal', async () => {
    // Prepare: the look-up by name misses the pool once, as if it was created just after it
    const miss = vi.spyOn(CloudClient.prototype, 'findNodePool').mockResolvedValueOnce(undefined);
    try {
      const r = await createTheirs();
      const refused = t.sys.emulator.callLog({ action: 'CreateClusterNodePool', clusterId: TAKEN_ACK }).at(-1);
      expect(refused).toMatchObject({ outcome: 'InvalidParameter.Name' });
      expect(r).toMatchObject({ state: 'failed', lastError: { code: 'NodePoolAlreadyExists', existing: { nodepoolId: expect.stringMatching(/^np/) } } });
    } finally {
      miss.mockRestore();
    }
  });

  it('ACK: a pool of that name made by someone else is never adopted, even when our create would have gone unanswered', async () => {
    // Prepare: the next create on the cluster would answer 503 (outcome unknown)
    await t.admin('POST', '/faults', { calls: [{ kind: '5xx', status: 503, count: 1, actions: ['CreateClusterNodePool'] }] });
    try {
      const r = await createTheirs();
      expect(r).toMatchObject({ state: 'failed', lastError: { code: 'NodePoolAlreadyExists' } });
      expect(r.nodepoolId ?? null).toBeNull();
    } finally {
      await t.admin('DELETE', '/faults');
    }
  });

  it('moves a request that timed out during an outage to active once the pool turns up, and only cluster_unreachable goes out', async () => {
    // Prepare: a request creating in a cluster that then becomes unreachable
    const name = uniqueName('outage');
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(OUTAGE, name), deadlineMinutes: 10 });
    await t.idle();
    expect((await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json.state).toBe('creating');
    const mark = webhook.accepted().length;
    await t.admin('PATCH', `/clusters/${OUTAGE}`, { faults: { unreachable: 'error' } });

    // Act: sweeps during the outage, across the deadline
    await t.sweep();
    t.advanceTime(11 * 60_000);
    await t.sweep();
    const during = (await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json;
    await t.sweep();
    await t.sweep();
    const heardDuring = heard(mark);
    // the cloud comes back; the pool came up meanwhile
    await t.admin('PATCH', `/clusters/${OUTAGE}`, { faults: { unreachable: null } });
    t.advanceCloud(11_000);
    await t.sweep();
    const after = (await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json;

    // Assess
    expect(during).toMatchObject({ state: 'timed_out', lastError: { code: 'DeadlineExceeded' } });
    expect(heardDuring).toEqual(['cluster_unreachable:firing']);
    expect(after).toMatchObject({ state: 'active', lastError: null, observed: { cloudState: 'active', serving: 3, desired: 3 } });
    expect(after.history.map((h: any) => h.state)).toEqual(['accepted', 'submitting', 'creating', 'timed_out', 'active']);
    expect(after.history.at(-1).note).toMatch(/^recovered after the deadline: node pool \S+ is active with 3\/3 nodes serving/);
    expect(heard(mark)).toEqual(['cluster_unreachable:firing', 'cluster_unreachable:resolved']);
    const timeout = (await t.api('GET', '/v1/alerts?state=resolved')).json.items.find(
      (a: any) => a.rule === 'creation_timeout' && a.labels.nodepoolName === name,
    );
    expect(timeout).toMatchObject({
      state: 'resolved',
      lastNotifiedAt: null,
      annotations: { description: `request ${post.json.id} recovered: its pool became active after the deadline` },
    });
  });

  it('rejects a queue message nested far too deep at once, and processes the next one', async () => {
    // The deepest JSON an MNS message can carry (64 KB: two bytes a level) through the queue…
    const deep = '['.repeat(32_000) + ']'.repeat(32_000);
    const res = await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body: deep });
    expect(res.status).toBe(201);
    const { MessageId } = (await res.json()) as { MessageId: string };
    await t.idle();
    // …and 50,000 levels handed to provision directly, as an EventBridge batch
    const provision = createProvisionHandler(async () => t.sys.instance);
    const batch = [
      {
        id: 'evt-deep',
        source: 'MNS-test',
        specversion: '1.0',
        type: 'mns:Queue:SendMessage',
        data: { messageId: 'DEEP50000', messageBody: '['.repeat(50_000) + ']'.repeat(50_000) },
      },
    ];
    const direct = (await provision(
      Buffer.from(JSON.stringify(batch)),
      t.sys.host.context({ name: 'provision', instances: [provision as never], handlerName: 'provision.handler', timeoutSeconds: 120, memoryMB: 512 }),
    )) as any;
    const name = uniqueName('after-deep');
    await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, {
      method: 'POST',
      body: JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) }),
    });
    await t.idle();

    expect(direct.results).toMatchObject([{ messageId: 'DEEP50000', outcome: 'rejected', reason: expect.stringContaining('out of bounds') }]);
    const rejected = (await t.api('GET', '/v1/nodepool-requests?state=rejected&limit=100')).json.items;
    const reasons = rejected.map((r: any) => r.rejectReasons?.[0]?.message);
    expect(reasons).toContain('the message body is out of bounds: the JSON is nested deeper than 32 levels');
    expect(reasons).toContain('the message body is out of bounds: the JSON is 100000 bytes; the limit is 65536');
    expect(t.sys.host.redeliveries.filter((r) => r.messageId === MessageId)).toEqual([]);
    expect(t.sys.host.deadLetters).toEqual([]);
    expect((await requestsNamed(name)).map((r: any) => r.state)).toEqual(['creating']);
  });
});
