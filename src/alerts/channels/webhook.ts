/**
 * The generic webhook: a body compatible with Alertmanager's webhook (version 4), signed
 * with HMAC-SHA256 over `<timestamp>.<body>`:
 *   X-Nodepool-Pilot-Timestamp: <unix seconds>
 *   X-Nodepool-Pilot-Signature: sha256=<hex>
 *   X-Nodepool-Pilot-Delivery: <outbox id>   (the same on a retry: receivers can de-duplicate)
 * A console sink, the local default, prints the same text a chat channel would.
 */
import { createHmac } from 'node:crypto';
import type { ChannelConfig } from '../../config.js';
import type { NotificationPayload } from '../notify.js';
import { plainText } from '../render.js';
import { type Channel, expectOk, postJson, type SendContext } from './channel.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

function webhookSignature(secret: string, timestampSec: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSec}.${body}`, 'utf8').digest('hex')}`;
}

function alertmanagerBody(p: NotificationPayload, externalUrl?: string) {
  const labelsOf = (a: NotificationPayload['alerts'][number]) => {
    const l: Record<string, string> = { alertname: a.rule };
    for (const [k, v] of Object.entries(a.labels)) if (typeof v === 'string' && v) l[k] = v;
    return l;
  };
  const annotationsOf = (a: NotificationPayload['alerts'][number]) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(a.annotations)) if (v !== null && v !== undefined) out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    // Sent now because the silence that covered it ended (string annotations, as Alertmanager's are).
    if (a.afterSilence) Object.assign(out, { afterSilence: a.afterSilence.id, silenceEndedAt: a.afterSilence.endedAt });
    return out;
  };
  const alerts = p.alerts.map((a) => ({
    status: a.status,
    labels: labelsOf(a),
    annotations: annotationsOf(a),
    startsAt: a.startsAt,
    endsAt: a.status === 'resolved' && a.endsAt ? a.endsAt : ZERO_TIME,
    generatorURL: (a.annotations.requestLink as string | undefined) ?? '',
    fingerprint: a.fingerprint,
  }));
  const common = (pick: (x: (typeof alerts)[number]) => Record<string, string>) => {
    const [first, ...rest] = alerts.map(pick);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(first ?? {})) if (rest.every((o) => o[k] === v)) out[k] = v;
    return out;
  };
  return {
    version: '4',
    groupKey: p.groupKey,
    truncatedAlerts: 0,
    status: p.status,
    receiver: p.channel,
    groupLabels: {},
    commonLabels: common((a) => a.labels),
    commonAnnotations: common((a) => a.annotations),
    externalURL: externalUrl ?? '',
    alerts,
  };
}

export class WebhookChannel implements Channel {
  readonly type = 'webhook' as const;
  readonly name: string;
  readonly minSeverity;
  constructor(
    private readonly config: ChannelConfig,
    private readonly options: { timeoutMs: number; externalUrl?: string },
  ) {
    this.name = config.name;
    this.minSeverity = config.minSeverity;
  }

  async send(p: NotificationPayload, ctx: SendContext): Promise<void> {
    const raw = JSON.stringify(alertmanagerBody(p, this.options.externalUrl));
    const ts = Math.floor(ctx.now.getTime() / 1000);
    const r = await postJson(this.config.url!, undefined, {
      timeoutMs: this.options.timeoutMs,
      raw,
      headers: {
        'x-nodepool-pilot-timestamp': String(ts),
        'x-nodepool-pilot-signature': webhookSignature(this.config.secret!, ts, raw),
        'x-nodepool-pilot-delivery': String(ctx.deliveryId),
      },
    });
    expectOk(r, 'the webhook');
  }
}

export class ConsoleChannel implements Channel {
  readonly type = 'console' as const;
  readonly name: string;
  readonly minSeverity;
  constructor(
    config: ChannelConfig,
    private readonly write: (line: string) => void,
  ) {
    this.name = config.name;
    this.minSeverity = config.minSeverity;
  }

  async send(p: NotificationPayload): Promise<void> {
    this.write(`\n----- alert notification (${this.name}) -----\n${plainText(p)}\n`);
  }
}
