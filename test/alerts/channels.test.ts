/**
 * Each channel against a local receiver that checks what the real service checks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createChannel } from '../../src/alerts/channels/index.js';
import type { NotificationPayload } from '../../src/alerts/notify.js';
import type { ChannelConfig } from '../../src/config.js';
import { type Receiver, startReceiver } from '../helpers/receivers.js';

const receivers: Receiver[] = [];
afterAll(async () => Promise.all(receivers.map((r) => r.close())));

function payload(n = 1): NotificationPayload {
  const alerts = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    fingerprint: `fp${i}`,
    status: i % 2 ? ('resolved' as const) : ('firing' as const),
    reason: i % 2 ? ('resolved' as const) : ('new' as const),
    rule: 'nodes_failed',
    severity: 'critical' as const,
    labels: {
      rule: 'nodes_failed',
      severity: 'critical' as const,
      provider: 'ens',
      clusterId: 'eck-d2666c5f',
      nodepoolName: `edge-${i}`,
      nodepoolId: `np${i}`,
    },
    annotations: {
      summary: 'Node pool has failed nodes',
      description: '1 of 3 nodes failed',
      cloudState: 'active',
      nodes: { desired: 3, total: 3, serving: 2, healthy: null, initial: 0, failed: 1, offline: null, removing: 0 },
      since: '2026-11-22T08:00:00.000Z',
      errorCode: 'NodesFailed',
      errorMessage: '1 of 3 nodes failed; 2 serving',
      requestLink: 'https://npp.example.com/v1/nodepool-requests/npr_01M81VNY51ZA10783VQQS208T7',
    },
    startsAt: '2026-11-22T08:00:00.000Z',
    ...(i % 2 ? { endsAt: '2026-11-22T08:30:00.000Z' } : {}),
  }));
  return { channel: 'test', groupKey: 'nodepool-pilot/test', sweepAt: new Date().toISOString(), status: 'firing', alerts };
}

async function channelFor(type: ChannelConfig['type'], secret?: string) {
  const r = await startReceiver(type as never, secret);
  receivers.push(r);
  return { r, ch: createChannel({ type, name: type, url: r.url, secret, minSeverity: 'warning' }, { timeoutMs: 2_000 }) };
}

const FACTS = [
  'critical',
  'nodes_failed',
  'ens',
  'eck-d2666c5f',
  'edge-0',
  'np0',
  'active',
  'serving 2/3',
  '2026-11-22T08:00:00.000Z',
  'NodesFailed',
  'npr_01M81VNY51ZA10783VQQS208T7',
];

describe('DingTalk custom robot', () => {
  it('signs as DingTalk documents it, and the receiver accepts the markdown message', async () => {
    const { r, ch } = await channelFor('dingtalk', 'SECdingtalk-secret-1234');
    await ch.send(payload(2), { deliveryId: 1, now: new Date() });
    expect(r.accepted()).toHaveLength(1);
    const text = r.accepted()[0]!.body.markdown.text as string;
    for (const f of FACTS) expect(text).toContain(f);
    expect(text).toContain('RESOLVED');
    expect(r.accepted()[0]!.query.get('access_token')).toBe('test-access-token');
  });

  it('treats errcode != 0 on HTTP 200 as a failure', async () => {
    const { r, ch } = await channelFor('dingtalk', 'SECright');
    const wrong = createChannel({ type: 'dingtalk', name: 'd', url: r.url, secret: 'SECwrong', minSeverity: 'warning' }, { timeoutMs: 2_000 });
    await expect(wrong.send(payload(), { deliveryId: 1, now: new Date() })).rejects.toThrow(/errcode 310000 sign not match/);
    await expect(ch.send(payload(), { deliveryId: 2, now: new Date(Date.now() - 2 * 3600_000) })).rejects.toThrow(/310000 invalid timestamp/);
  });
});

describe('Feishu/Lark custom bot', () => {
  it('signs with timestamp + "\\n" + secret as the HMAC key, in the body, and the receiver accepts it', async () => {
    const { r, ch } = await channelFor('feishu', 'feishu-secret');
    await ch.send(payload(2), { deliveryId: 1, now: new Date() });
    expect(r.accepted()).toHaveLength(1);
    const text = JSON.stringify(r.accepted()[0]!.body.content);
    for (const f of FACTS) expect(text).toContain(f);
  });

  it("keeps a sweep with many alerts under Feishu's 20 KB body limit", async () => {
    const { r, ch } = await channelFor('feishu', 'feishu-secret');
    await ch.send(payload(60), { deliveryId: 1, now: new Date() });
    expect(r.accepted()).toHaveLength(1);
    expect(JSON.stringify(r.accepted()[0]!.body)).toContain('more: GET /v1/alerts');
  });

  it('reports Feishu error codes', async () => {
    const { r } = await channelFor('feishu', 'right');
    const wrong = createChannel({ type: 'feishu', name: 'f', url: r.url, secret: 'wrong', minSeverity: 'warning' }, { timeoutMs: 2_000 });
    await expect(wrong.send(payload(), { deliveryId: 1, now: new Date() })).rejects.toThrow(/code 19021/);
  });
});

describe('WeCom group robot', () => {
  it('keeps markdown within 4096 bytes, even for a sweep with many alerts', async () => {
    const { r, ch } = await channelFor('wecom');
    await ch.send(payload(60), { deliveryId: 1, now: new Date() });
    expect(r.accepted()).toHaveLength(1);
    const content = r.accepted()[0]!.body.markdown.content as string;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
    expect(content).toContain('truncated');
  });
});

describe('Slack incoming webhook', () => {
  it('sends blocks with a text fallback', async () => {
    const { r, ch } = await channelFor('slack');
    await ch.send(payload(30), { deliveryId: 1, now: new Date() });
    const body = r.accepted()[0]!.body;
    expect(body.blocks.length).toBeLessThanOrEqual(50);
    expect(body.blocks[0]).toMatchObject({ type: 'header' });
    for (const f of ['critical', 'nodes_failed', 'eck-d2666c5f']) expect(body.text).toContain(f);
  });
});

describe('generic webhook', () => {
  it('sends an Alertmanager v4 body with a verifiable HMAC-SHA256 signature and the delivery id', async () => {
    const { r, ch } = await channelFor('webhook', 'whsec-123');
    await ch.send(payload(2), { deliveryId: 42, now: new Date() });
    const got = r.accepted()[0]!;
    expect(got.headers['x-nodepool-pilot-delivery']).toBe('42');
    expect(got.body).toMatchObject({
      version: '4',
      groupKey: 'nodepool-pilot/test',
      status: 'firing',
      receiver: 'test',
      truncatedAlerts: 0,
      commonLabels: { alertname: 'nodes_failed', provider: 'ens', clusterId: 'eck-d2666c5f' },
    });
    expect(got.body.alerts[0]).toMatchObject({
      status: 'firing',
      fingerprint: 'fp0',
      labels: { alertname: 'nodes_failed', nodepoolName: 'edge-0' },
      endsAt: '0001-01-01T00:00:00Z',
      startsAt: '2026-11-22T08:00:00.000Z',
    });
    expect(got.body.alerts[1]).toMatchObject({ status: 'resolved', endsAt: '2026-11-22T08:30:00.000Z' });
    expect(got.body.alerts[0].annotations).toMatchObject({ errorCode: 'NodesFailed', cloudState: 'active' });
  });

  it('is refused by the receiver when signed with another secret', async () => {
    const { r } = await channelFor('webhook', 'whsec-right');
    const wrong = createChannel({ type: 'webhook', name: 'w', url: r.url, secret: 'whsec-wrong', minSeverity: 'warning' }, { timeoutMs: 2_000 });
    await expect(wrong.send(payload(), { deliveryId: 1, now: new Date() })).rejects.toThrow(/HTTP 401/);
  });

  it('reports a receiver that does not answer in time, without echoing the URL', async () => {
    const ch = createChannel(
      { type: 'dingtalk', name: 'd', url: 'http://10.255.255.1/robot/send?access_token=sekret-token', minSeverity: 'warning' },
      { timeoutMs: 200 },
    );
    const err = await ch.send(payload(), { deliveryId: 1, now: new Date() }).catch((e) => e);
    expect(err.message).not.toContain('sekret-token');
  });
});

describe('mentions', () => {
  const mentioning = async (type: 'dingtalk' | 'wecom' | 'feishu', mentions: ChannelConfig['mentions']) => {
    const r = await startReceiver(type, type === 'wecom' ? undefined : `SEC-${type}`);
    receivers.push(r);
    const ch = createChannel(
      { type, name: type, url: r.url, secret: type === 'wecom' ? undefined : `SEC-${type}`, minSeverity: 'warning', mentions },
      { timeoutMs: 2_000 },
    );
    return { r, ch };
  };
  const ctx = () => ({ deliveryId: 1, now: new Date() });
  const resolvedOnly = (): NotificationPayload => {
    const p = payload(2);
    return { ...p, status: 'resolved', alerts: p.alerts.filter((a) => a.status === 'resolved') };
  };

  it('DingTalk: at.atMobiles, at.atUserIds and at.isAtAll, named in the text, on firing messages only', async () => {
    const { r, ch } = await mentioning('dingtalk', { mobiles: ['13800001111'], userIds: ['manager01'], all: false, minSeverity: 'critical' });
    await ch.send(payload(1), ctx());
    await ch.send(resolvedOnly(), ctx());
    const [firing, resolved] = r.accepted().map((m) => m.body);
    expect(firing.at).toEqual({ atMobiles: ['13800001111'], atUserIds: ['manager01'], isAtAll: false });
    expect(firing.markdown.text).toMatch(/@13800001111 @manager01$/);
    expect(resolved.at).toBeUndefined();
  });

  it("uses a route's mentions instead of the channel's, when the message's route names some", async () => {
    const { r, ch } = await mentioning('dingtalk', { mobiles: ['13800001111'], userIds: [], all: false, minSeverity: 'critical' });
    await ch.send({ ...payload(1), mentions: { mobiles: ['13900002222'], userIds: [], all: true, minSeverity: 'warning' } }, ctx());
    expect(r.accepted()[0]!.body.at).toEqual({ atMobiles: ['13900002222'], atUserIds: [], isAtAll: true });
  });

  it('WeCom: a text message with mentioned_list and mentioned_mobile_list', async () => {
    const { r, ch } = await mentioning('wecom', { mobiles: ['13800001111'], userIds: ['wangqing'], all: true, minSeverity: 'critical' });
    await ch.send(payload(1), ctx());
    await ch.send(resolvedOnly(), ctx());
    const [firing, resolved] = r.accepted().map((m) => m.body);
    expect(firing).toMatchObject({ msgtype: 'text', text: { mentioned_list: ['wangqing', '@all'], mentioned_mobile_list: ['13800001111'] } });
    expect(firing.text.content).toContain('edge-0');
    expect(resolved.msgtype).toBe('markdown');
  });

  it('Feishu: at elements by user id first in the post, and none below the mention severity', async () => {
    const { r, ch } = await mentioning('feishu', { mobiles: [], userIds: ['ou_7d8a6e6df7621556ce0d21922b676706'], all: true, minSeverity: 'critical' });
    await ch.send(payload(1), ctx());
    const warning = payload(1);
    warning.alerts[0]!.severity = 'warning';
    await ch.send(warning, ctx());
    const [critical, low] = r.accepted().map((m) => m.body.content.post.zh_cn.content);
    expect(critical[0]).toEqual([
      { tag: 'at', user_id: 'ou_7d8a6e6df7621556ce0d21922b676706' },
      { tag: 'at', user_id: 'all' },
    ]);
    expect(low.flat().some((e: any) => e.tag === 'at')).toBe(false);
  });
});
