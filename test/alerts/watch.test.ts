/**
 * The watch sweep end to end, through the local FC host: every rule driven by a sandbox
 * fault fires and resolves; firing notifies once, repeats after the repeat interval and
 * resolves once; silences and inhibition; a webhook that is down gets everything later,
 * once, in order; overlapping sweeps notify once; one listing per cluster (per page for ENS).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ackExample, ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { type Receiver, startReceiver } from '../helpers/receivers.js';
import { useSystem } from '../helpers/system.js';

const WATCH_ENS = 'eck-watch001';
const WATCH_ENS_BIG = 'eck-watch002';
const WATCH_ACK = 'cwatch00000000000000000000000001';

describe.each(backends)('watch and alert on $name', (backend) => {
  let webhook: Receiver;
  let dingtalk: Receiver;
  let feishu: Receiver;
  beforeAll(async () => {
    const clock = () => t.sys.instance.clock.now();
    webhook = await startReceiver('webhook', 'whsec-test', clock);
    dingtalk = await startReceiver('dingtalk', 'SECdingtalk-test', clock);
    feishu = await startReceiver('feishu', 'feishu-test', clock);
  });
  afterAll(async () => Promise.all([webhook, dingtalk, feishu].map((r) => r?.close())));

  const t = useSystem(backend, () => ({
    env: {
      ALERT_CHANNELS: JSON.stringify([
        { type: 'webhook', url: webhook.url, secret: 'whsec-test', minSeverity: 'info' },
        { type: 'dingtalk', url: dingtalk.url, secret: 'SECdingtalk-test', minSeverity: 'critical' },
        { type: 'feishu', url: feishu.url, secret: 'feishu-test' },
      ]),
      WATCH_CLUSTERS: `ens/${WATCH_ENS},ens/${WATCH_ENS_BIG},ack/cn-beijing/${WATCH_ACK}`,
      ENS_PAGE_SIZE: '50',
      // an ENS node still initial a minute after it was first seen has failed (ENS reports no failed count)
      ENS_NODE_INIT_MINUTES: '1',
    },
    emulator: {
      scenario: {
        clusters: [
          { id: WATCH_ENS, provider: 'ens', pools: ['edge-fail', 'edge-under', 'edge-stuck', 'edge-quiet'].map((name) => ({ name, desired: 3 })) },
          { id: WATCH_ENS_BIG, provider: 'ens', pools: Array.from({ length: 120 }, (_, i) => ({ name: `bulk-${i}`, desired: 1 })) },
          { id: WATCH_ACK, provider: 'ack', regionId: 'cn-beijing', pools: ['workers-off', 'workers-silent'].map((name) => ({ name, desired: 4 })) },
        ],
      },
    },
  }));

  /** Notifications the webhook accepted since `from`, flattened to alerts. */
  const heard = (from = 0) =>
    webhook
      .accepted()
      .slice(from)
      .flatMap((m) =>
        m.body.alerts.map((a: any) => ({
          rule: a.labels.alertname,
          pool: a.labels.nodepoolName ?? '',
          cluster: a.labels.clusterId,
          status: a.status,
          delivery: m.headers['x-nodepool-pilot-delivery'],
        })),
      );
  const about = (list: ReturnType<typeof heard>, rule: string, pool: string) => list.filter((a) => a.rule === rule && a.pool === pool);
  const fault = (cluster: string, pool: string, faults: unknown) => t.admin('PATCH', `/clusters/${cluster}/nodepools/${pool}`, { faults });

  it('fires within one sweep of an ENS node failing, notifies once, repeats after the repeat interval, and resolves once', async () => {
    await t.sweep();
    const mark = webhook.accepted().length;
    await fault(WATCH_ENS, 'edge-fail', { failedNodes: 1 });
    // ENS listings carry no failed count: the sweep reads the nodes of a pool below desired,
    // and a node that reports failed has failed
    const s1 = await t.sweep();
    expect(s1.nodeWalks).toBeGreaterThan(0);
    expect(s1).toMatchObject({ alertsFired: expect.any(Number), deliveriesPending: 0 });
    expect(about(heard(mark), 'nodes_failed', 'edge-fail').map((a) => a.status)).toEqual(['firing']);
    await t.sweep();
    await t.sweep();
    expect(about(heard(mark), 'nodes_failed', 'edge-fail')).toHaveLength(1);
    t.advanceTime(4 * 3600_000 + 1_000);
    await t.sweep();
    expect(about(heard(mark), 'nodes_failed', 'edge-fail').map((a) => a.status)).toEqual(['firing', 'firing']);
    await fault(WATCH_ENS, 'edge-fail', { failedNodes: 0 });
    await t.sweep();
    await t.sweep();
    expect(about(heard(mark), 'nodes_failed', 'edge-fail').map((a) => a.status)).toEqual(['firing', 'firing', 'resolved']);
    const alerts = await t.api('GET', '/v1/alerts?state=resolved');
    expect(alerts.json.items.find((a: any) => a.rule === 'nodes_failed' && a.labels.nodepoolName === 'edge-fail')).toMatchObject({
      state: 'resolved',
      severity: 'critical',
      labels: { provider: 'ens', clusterId: WATCH_ENS, nodepoolName: 'edge-fail' },
      // The values at resolution, and the worst while it fired.
      annotations: {
        cloudState: 'active',
        // ENS listings carry no failed count: null once nothing needs the nodes walked
        nodes: { failed: null, serving: 3, desired: 3 },
        description: '0 of 3 nodes failed',
        peakDescription: '1 of 3 nodes failed',
      },
      endsAt: expect.any(String),
    });
  });

  it('fires and resolves nodes_offline (ACK)', async () => {
    const mark = webhook.accepted().length;
    await fault(WATCH_ACK, 'workers-off', { offlineNodes: 2 });
    await t.sweep();
    await fault(WATCH_ACK, 'workers-off', { offlineNodes: 0 });
    await t.sweep();
    expect(about(heard(mark), 'nodes_offline', 'workers-off').map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  it('fires under_capacity only after its threshold, then resolves', async () => {
    const mark = webhook.accepted().length;
    await fault(WATCH_ENS, 'edge-under', { failedNodes: 2 });
    await t.sweep();
    expect(about(heard(mark), 'under_capacity', 'edge-under')).toEqual([]);
    t.advanceTime(16 * 60_000);
    await t.sweep();
    expect(about(heard(mark), 'under_capacity', 'edge-under').map((a) => a.status)).toEqual(['firing']);
    await fault(WATCH_ENS, 'edge-under', { failedNodes: 0 });
    await t.sweep();
    expect(about(heard(mark), 'under_capacity', 'edge-under').map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  it('fires stuck_transition after 30 minutes in a transition, then resolves', async () => {
    const mark = webhook.accepted().length;
    await fault(WATCH_ENS, 'edge-stuck', { stuck: 'updating' });
    await t.sweep();
    t.advanceTime(31 * 60_000);
    await t.sweep();
    expect(about(heard(mark), 'stuck_transition', 'edge-stuck').map((a) => a.status)).toEqual(['firing']);
    await fault(WATCH_ENS, 'edge-stuck', { stuck: null });
    await t.sweep();
    expect(about(heard(mark), 'stuck_transition', 'edge-stuck').map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  it('fires nodepool_missing when a tracked pool disappears, and resolves when it is back', async () => {
    const name = uniqueName('tracked');
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) });
    await t.idle();
    t.advanceCloud(11_000);
    await t.sweep();
    expect((await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json.state).toBe('active');
    const mark = webhook.accepted().length;
    await fault(SEED_ENS_CLUSTER, name, { deleted: true });
    await t.sweep();
    const fired = about(heard(mark), 'nodepool_missing', name);
    expect(fired.map((a) => a.status)).toEqual(['firing']);
    const msg = webhook
      .accepted()
      .slice(mark)
      .find((m) => m.body.alerts.some((a: any) => a.labels.alertname === 'nodepool_missing'))!;
    expect(msg.body.alerts[0].generatorURL).toBe(`/v1/nodepool-requests/${post.json.id}`);
    await fault(SEED_ENS_CLUSTER, name, { deleted: false });
    await t.sweep();
    expect(about(heard(mark), 'nodepool_missing', name).map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  it("fires cluster_unreachable after N failed sweeps, inhibits that cluster's pool alerts, and resolves", async () => {
    const mark = webhook.accepted().length;
    await t.admin('PATCH', `/clusters/${WATCH_ENS}`, { faults: { unreachable: 'error' } });
    await t.sweep();
    await t.sweep();
    expect(about(heard(mark), 'cluster_unreachable', '')).toEqual([]);
    await t.sweep();
    expect(
      about(heard(mark), 'cluster_unreachable', '')
        .filter((a) => a.cluster === WATCH_ENS)
        .map((a) => a.status),
    ).toEqual(['firing']);
    // a pool alert of the unreachable cluster stays quiet while it is inhibited
    await fault(WATCH_ENS, 'edge-quiet', { failedNodes: 1 });
    await t.sweep();
    const firing = await t.api('GET', '/v1/alerts?state=firing');
    expect(firing.json.items.find((a: any) => a.rule === 'cluster_unreachable' && a.labels.clusterId === WATCH_ENS)).toMatchObject({
      severity: 'critical',
      annotations: { errorCode: 'ServiceUnavailable' },
    });
    await t.admin('PATCH', `/clusters/${WATCH_ENS}`, { faults: { unreachable: null } });
    await t.sweep();
    t.advanceTime(61_000); // the failed ENS node is seen once it has been initial for ENS_NODE_INIT_MINUTES
    await t.sweep();
    const after = heard(mark);
    expect(
      about(after, 'cluster_unreachable', '')
        .filter((a) => a.cluster === WATCH_ENS)
        .map((a) => a.status),
    ).toEqual(['firing', 'resolved']);
    expect(about(after, 'nodes_failed', 'edge-quiet').map((a) => a.status)).toEqual(['firing']);
    await fault(WATCH_ENS, 'edge-quiet', { failedNodes: 0 });
    await t.sweep();
  });

  it('fires creation_failed with the cloud error, and resolves when a later request for the pool succeeds', async () => {
    const mark = webhook.accepted().length;
    const name = uniqueName('retry');
    const first = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample('eck-later001', name) });
    await t.idle();
    await t.sweep();
    const fired = webhook
      .accepted()
      .slice(mark)
      .flatMap((m) => m.body.alerts)
      .find((a: any) => a.labels.alertname === 'creation_failed' && a.labels.nodepoolName === name);
    expect(fired).toMatchObject({
      status: 'firing',
      annotations: { errorCode: 'InvalidParameter.ClusterId', requestLink: `/v1/nodepool-requests/${first.json.id}` },
    });
    expect(fired.annotations.cloudRequestId).toMatch(/^[0-9A-F-]{36}$/);
    await t.admin('POST', '/clusters', { provider: 'ens', id: 'eck-later001' });
    await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample('eck-later001', name) });
    await t.idle();
    await t.sweep();
    // A retry on its way is not a success yet: the alert stands until the new pool is active.
    expect(about(heard(mark), 'creation_failed', name).map((a) => a.status)).toEqual(['firing']);
    t.advanceCloud(11_000);
    await t.sweep();
    expect(about(heard(mark), 'creation_failed', name).map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  it('fires creation_timeout when the deadline passes with the pool still scaling, with what was last seen', async () => {
    const mark = webhook.accepted().length;
    const name = uniqueName('slow');
    const post = await t.api('POST', '/v1/nodepool-requests', {
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: WATCH_ACK,
      request: ackExample(name),
      deadlineMinutes: 1,
    });
    await t.idle();
    await fault(WATCH_ACK, name, { stuck: 'scaling' });
    t.advanceTime(2 * 60_000);
    await t.sweep();
    const r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json).toMatchObject({ state: 'timed_out', lastError: { code: 'DeadlineExceeded' } });
    expect(r.json.lastError.message).toContain('scaling');
    expect(about(heard(mark), 'creation_timeout', name).map((a) => a.status)).toEqual(['firing']);
    t.advanceTime(25 * 3600_000);
    await fault(WATCH_ACK, name, { stuck: null });
    await t.sweep();
    expect(about(heard(mark), 'creation_timeout', name).map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  it('records a silenced alert without sending it, and sends it once the silence is deleted', async () => {
    const mark = webhook.accepted().length;
    const silence = await t.api('POST', '/v1/silences', {
      matchers: { clusterId: WATCH_ACK, pool: 'workers-silent', rule: 'nodes_offline' },
      endsAt: new Date(Date.now() + 3600_000 * 30).toISOString(),
      comment: 'maintenance',
    });
    expect(silence.status).toBe(201);
    expect(silence.json).toMatchObject({ state: 'active', matchers: { pool: 'workers-silent' } });
    await fault(WATCH_ACK, 'workers-silent', { offlineNodes: 1 });
    await t.sweep();
    expect(about(heard(mark), 'nodes_offline', 'workers-silent')).toEqual([]);
    const firing = await t.api('GET', '/v1/alerts?state=firing');
    expect(firing.json.items.find((a: any) => a.labels.nodepoolName === 'workers-silent')).toMatchObject({ silenced: true, lastNotifiedAt: null });
    expect((await t.api('GET', '/v1/silences')).json.items.map((s: any) => s.id)).toContain(silence.json.id);
    expect((await t.api('DELETE', `/v1/silences/${silence.json.id}`)).json.state).toBe('expired');
    await t.sweep();
    expect(about(heard(mark), 'nodes_offline', 'workers-silent').map((a) => a.status)).toEqual(['firing']);
    await fault(WATCH_ACK, 'workers-silent', { offlineNodes: 0 });
    await t.sweep();
    expect(about(heard(mark), 'nodes_offline', 'workers-silent').map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  it('sends a resolution even while a silence covers the alert, since people heard it fire', async () => {
    const mark = webhook.accepted().length;
    await fault(WATCH_ACK, 'workers-silent', { offlineNodes: 2 });
    await t.sweep();
    const silence = await t.api('POST', '/v1/silences', {
      matchers: { pool: 'workers-silent' },
      endsAt: new Date(t.sys.instance.clock.now() + 3600_000).toISOString(),
    });
    await fault(WATCH_ACK, 'workers-silent', { offlineNodes: 0 });
    await t.sweep();
    expect(about(heard(mark), 'nodes_offline', 'workers-silent').map((a) => a.status)).toEqual(['firing', 'resolved']);
    await t.api('DELETE', `/v1/silences/${silence.json.id}`);
  });

  it('sends an alert that fired under a silence once when the silence ends, marked as after the silence', async () => {
    const mark = webhook.accepted().length;
    const dMark = dingtalk.accepted().length;
    const silence = await t.api('POST', '/v1/silences', {
      matchers: { pool: 'workers-off' },
      endsAt: new Date(t.sys.instance.clock.now() + 3600_000).toISOString(),
      comment: 'maintenance',
    });
    await fault(WATCH_ACK, 'workers-off', { failedNodes: 1 });
    await t.sweep();
    await t.sweep();
    expect(about(heard(mark), 'nodes_failed', 'workers-off')).toEqual([]);
    t.advanceTime(3600_000 + 1);
    await t.sweep();
    await t.sweep();
    const after = webhook
      .accepted()
      .slice(mark)
      .flatMap((m) => m.body.alerts)
      .filter((a: any) => a.labels.alertname === 'nodes_failed' && a.labels.nodepoolName === 'workers-off');
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ status: 'firing', annotations: { afterSilence: silence.json.id, silenceEndedAt: expect.any(String) } });
    const chat = JSON.stringify(
      dingtalk
        .accepted()
        .slice(dMark)
        .map((m) => m.body),
    );
    expect(chat).toContain('FIRING (silence ended)');
    expect(chat).toContain(`silence ${silence.json.id} (\\"maintenance\\") ended at`);
    await fault(WATCH_ACK, 'workers-off', { failedNodes: 0 });
    await t.sweep();
  });

  it('keeps listing a cluster whose alerts still fire after its last request ended, so they resolve', async () => {
    const mark = webhook.accepted().length;
    const cluster = (await t.admin('POST', '/clusters', { provider: 'ens' })).id as string;
    const name = uniqueName('lonely');
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(cluster, name), deadlineMinutes: 1 });
    await t.idle();
    await t.admin('PATCH', `/clusters/${cluster}`, { faults: { unreachable: 'error' } });
    for (let i = 0; i < 3; i++) await t.sweep();
    expect(
      about(heard(mark), 'cluster_unreachable', '')
        .filter((a) => a.cluster === cluster)
        .map((a) => a.status),
    ).toEqual(['firing']);
    t.advanceTime(2 * 60_000);
    await t.sweep(); // the request times out: the cluster is no longer tracked for it
    expect((await t.api('GET', `/v1/nodepool-requests/${post.json.id}`)).json.state).toBe('timed_out');
    await t.admin('PATCH', `/clusters/${cluster}`, { faults: { unreachable: null } });
    await t.sweep();
    expect(
      about(heard(mark), 'cluster_unreachable', '')
        .filter((a) => a.cluster === cluster)
        .map((a) => a.status),
    ).toEqual(['firing', 'resolved']);
  });

  it('shows an active request the node counts of the last sweep', async () => {
    const name = uniqueName('counted');
    const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) });
    await t.idle();
    t.advanceCloud(11_000);
    await t.sweep();
    await fault(SEED_ENS_CLUSTER, name, { failedNodes: 1 });
    await t.sweep();
    t.advanceTime(61_000);
    await t.sweep();
    const r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json).toMatchObject({ state: 'active', observed: { failed: 1, serving: 2, desired: 3 } });
    await fault(SEED_ENS_CLUSTER, name, { failedNodes: 0 });
    await t.sweep();
  });

  it('refuses bad silences naming the field', async () => {
    const res = await t.api('POST', '/v1/silences', { matchers: { rule: 'everything', colour: 'red' }, endsAt: 'tomorrow' });
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: any) => e.path).sort()).toEqual(['endsAt', 'matchers.colour', 'matchers.rule']);
    expect((await t.api('POST', '/v1/silences', { matchers: {}, endsAt: new Date(Date.now() + 60_000).toISOString() })).status).toBe(400);
    expect((await t.api('DELETE', '/v1/silences/sil_00000000000000000000')).status).toBe(404);
  });

  it('delivers everything a down webhook missed once it is back: in order, none lost, none twice', async () => {
    const mark = webhook.received.length;
    webhook.setDown(true);
    await fault(WATCH_ACK, 'workers-off', { failedNodes: 1 });
    await t.sweep();
    await fault(WATCH_ACK, 'workers-off', { failedNodes: 0 });
    await t.sweep();
    await fault(WATCH_ACK, 'workers-off', { offlineNodes: 1 });
    t.advanceTime(60_000); // past the backoff of the first attempt
    await t.sweep();
    expect(webhook.received.slice(mark).every((r) => !r.accepted)).toBe(true);
    const pending = (await t.sweep()).deliveriesPending;
    expect(pending).toBeGreaterThanOrEqual(3);
    webhook.setDown(false);
    t.advanceTime(15 * 60_000);
    await t.sweep();
    const got = webhook.received.slice(mark).filter((r) => r.accepted);
    const deliveryIds = got.map((r) => Number(r.headers['x-nodepool-pilot-delivery']));
    expect(new Set(deliveryIds).size).toBe(deliveryIds.length);
    expect([...deliveryIds].sort((a, b) => a - b)).toEqual(deliveryIds);
    const seq = got.flatMap((m) =>
      m.body.alerts.filter((a: any) => a.labels.nodepoolName === 'workers-off').map((a: any) => `${a.labels.alertname}:${a.status}`),
    );
    expect(seq).toEqual(['nodes_failed:firing', 'nodes_failed:resolved', 'nodes_offline:firing']);
    await fault(WATCH_ACK, 'workers-off', { offlineNodes: 0 });
    await t.sweep();
  });

  it('notifies once when two sweeps start at the same moment', async () => {
    const mark = webhook.accepted().length;
    await fault(WATCH_ACK, 'workers-off', { failedNodes: 3 });
    const [a, b] = (await Promise.all([t.sweep(), t.sweep()])) as any[];
    expect([a.skipped, b.skipped].filter(Boolean)).toEqual(['locked']);
    await t.sweep();
    expect(about(heard(mark), 'nodes_failed', 'workers-off')).toHaveLength(1);
    await fault(WATCH_ACK, 'workers-off', { failedNodes: 0 });
    await t.sweep();
  });

  it('lists each watched cluster once per sweep, one call per page for ENS', async () => {
    const since = t.sys.emulator.callLog().at(-1)?.seq ?? 0;
    const summary = (await t.sweep()) as any;
    const calls = t.sys.emulator.callLog({ since, action: 'DescribeClusterNodePools' });
    const perCluster = new Map<string, number>();
    for (const c of calls) perCluster.set(c.clusterId!, (perCluster.get(c.clusterId!) ?? 0) + 1);
    expect(perCluster.get(WATCH_ENS_BIG)).toBe(3);
    expect(perCluster.get(WATCH_ENS)).toBe(1);
    expect(perCluster.get(WATCH_ACK)).toBe(1);
    expect([...perCluster.values()].reduce((x, y) => x + y, 0)).toBe(summary.clusters + 2);
    // (and one call a pool for the ENS pools below desired whose nodes it walked)
    expect(summary.apiCalls).toBe(calls.length + summary.nodeWalks);
    expect(summary).toMatchObject({
      clusters: expect.any(Number),
      pools: expect.any(Number),
      durationMs: expect.any(Number),
      deliveriesSent: expect.any(Number),
      deliveriesPending: 0,
    });
  });

  it('sends DingTalk and Feishu messages with a signature their receivers accept, DingTalk only critical ones', async () => {
    // Prepare: one critical and one warning alert of their own
    const dingMark = dingtalk.received.length;
    const feishuMark = feishu.received.length;
    await fault(WATCH_ACK, 'workers-off', { failedNodes: 1, offlineNodes: 1 });
    await t.sweep();
    await fault(WATCH_ACK, 'workers-off', { failedNodes: 0, offlineNodes: 0 });
    await t.sweep();
    const ding = dingtalk.received.slice(dingMark);
    const lark = feishu.received.slice(feishuMark);
    expect(ding.length).toBeGreaterThan(0);
    expect(ding.filter((r) => !r.accepted)).toEqual([]);
    expect(lark.length).toBeGreaterThan(0);
    expect(lark.filter((r) => !r.accepted)).toEqual([]);
    expect(ding.map((r) => r.body.markdown.text).join('\n')).toContain('rule**: nodes_failed');
    expect(lark.map((r) => JSON.stringify(r.body)).join('\n')).toContain('nodes_offline');
    expect(dingtalk.received.filter((r) => !r.accepted)).toEqual([]);
    expect(feishu.received.filter((r) => !r.accepted)).toEqual([]);
    // DingTalk only hears critical alerts (its minimum severity)
    const dingtalkText = dingtalk.received.map((r) => r.body.markdown.text).join('\n');
    expect(dingtalkText).not.toContain('rule**: nodes_offline');
  });
});
