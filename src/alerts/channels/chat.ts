/**
 * The chat channels: DingTalk custom robot, Feishu/Lark custom bot, WeCom group robot and
 * Slack incoming webhook. Each checks the receiver's own success code, not only HTTP 200.
 */
import { createHmac } from 'node:crypto';
import type { ChannelConfig } from '../../config.js';
import type { Mentions } from '../../config-routes.js';
import { type NotificationPayload, RANK } from '../notify.js';
import { detail, facts, headline, markdown, plainText, title, truncateBytes } from '../render.js';
import { type Channel, ChannelError, expectOk, type HttpResult, postJson, type SendContext } from './channel.js';

interface Options {
  timeoutMs: number;
}

/** DingTalk's signature: HMAC-SHA256 keyed by the secret over `timestamp + "\n" + secret`, Base64. */
function dingtalkSign(timestampMs: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/** Feishu's signature: `timestamp + "\n" + secret` is the HMAC-SHA256 key, over an empty message, Base64. */
function feishuSign(timestampSec: number, secret: string): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

/**
 * Chat services answer HTTP 200 with their own result code: anything but 0 is a refusal,
 * retried later when it is the service's rate limit, and permanent otherwise.
 */
function expectCode(r: HttpResult, what: string, code: number, message: unknown, rateLimitCode: number, rateLimitWaitMs: number): void {
  if (code === 0) return;
  const limited = code === rateLimitCode;
  throw new ChannelError(
    `${what} refused the message: ${String(message ?? r.text).slice(0, 200)}`,
    limited ? rateLimitWaitMs : undefined,
    !limited && code !== -1,
  );
}

/**
 * Who this message mentions (its route's mentions, or the channel's): a firing message with an
 * alert at or above the mention severity.
 */
function mentionsIn(p: NotificationPayload, own: Mentions | undefined): Mentions | undefined {
  const m = p.mentions ?? own;
  return m && p.alerts.some((a) => a.status === 'firing' && RANK[a.severity] >= RANK[m.minSeverity]) ? m : undefined;
}

/** What every chat channel keeps of its configuration. */
abstract class ChatChannel {
  readonly name: string;
  readonly minSeverity: ChannelConfig['minSeverity'];
  constructor(
    protected readonly config: ChannelConfig,
    protected readonly options: Options,
  ) {
    this.name = config.name;
    this.minSeverity = config.minSeverity;
  }
}

export class DingTalkChannel extends ChatChannel implements Channel {
  readonly type = 'dingtalk' as const;
  readonly perMinute = 20;

  async send(p: NotificationPayload, ctx: SendContext): Promise<void> {
    const url = new URL(this.config.url!);
    if (this.config.secret) {
      const ts = ctx.now.getTime();
      url.searchParams.set('timestamp', String(ts));
      url.searchParams.set('sign', dingtalkSign(ts, this.config.secret));
    }
    // DingTalk caps a message at 20000 bytes. A mention is highlighted only when the text names it too.
    const m = mentionsIn(p, this.config.mentions);
    const named = m ? [...m.mobiles, ...m.userIds].map((x) => `@${x}`).join(' ') : '';
    const text = truncateBytes(markdown(p), 18_000) + (named ? `\n\n${named}` : '');
    const at = m ? { at: { atMobiles: m.mobiles, atUserIds: m.userIds, isAtAll: m.all } } : {};
    const r = await postJson(url.toString(), { msgtype: 'markdown', markdown: { title: title(p), text }, ...at }, this.options);
    expectOk(r, 'DingTalk');
    const code = Number(r.json?.errcode ?? -1);
    expectCode(r, 'DingTalk', code, `errcode ${code} ${r.json?.errmsg ?? r.text}`, 130101, 10 * 60_000);
  }
}

export class FeishuChannel extends ChatChannel implements Channel {
  readonly type = 'feishu' as const;
  readonly perMinute = 100;

  async send(p: NotificationPayload, ctx: SendContext): Promise<void> {
    // Feishu refuses bodies over 20 KB: alerts that do not fit are counted, not sent.
    const content: Array<Array<Record<string, string>>> = [];
    let size = 0;
    let shown = 0;
    for (const a of p.alerts) {
      const block: Array<Array<Record<string, string>>> = [[{ tag: 'text', text: headline(a) }]];
      const d = detail(a);
      if (d) block.push([{ tag: 'text', text: d }]);
      for (const [k, v] of facts(a))
        block.push(
          k === 'request' && /^https?:/.test(v)
            ? [
                { tag: 'text', text: `${k}: ` },
                { tag: 'a', text: v, href: v },
              ]
            : [{ tag: 'text', text: `${k}: ${v}` }],
        );
      const bytes = Buffer.byteLength(JSON.stringify(block));
      if (size + bytes > 16_000) break;
      content.push(...block);
      size += bytes;
      shown++;
    }
    if (shown < p.alerts.length) content.push([{ tag: 'text', text: `…and ${p.alerts.length - shown} more: GET /v1/alerts` }]);
    const m = mentionsIn(p, this.config.mentions);
    if (m) content.unshift([...m.userIds, ...(m.all ? ['all'] : [])].map((id) => ({ tag: 'at', user_id: id })));
    const body: Record<string, unknown> = { msg_type: 'post', content: { post: { zh_cn: { title: title(p), content } } } };
    if (this.config.secret) {
      const ts = Math.floor(ctx.now.getTime() / 1000);
      body.timestamp = String(ts);
      body.sign = feishuSign(ts, this.config.secret);
    }
    const r = await postJson(this.config.url!, body, this.options);
    expectOk(r, 'Feishu');
    const code = Number(r.json?.code ?? r.json?.StatusCode ?? -1);
    expectCode(r, 'Feishu', code, `code ${code} ${r.json?.msg ?? r.text}`, 11232, 60_000);
  }
}

export class WeComChannel extends ChatChannel implements Channel {
  readonly type = 'wecom' as const;
  readonly perMinute = 20;

  async send(p: NotificationPayload): Promise<void> {
    // WeCom refuses markdown over 4096 bytes (errcode 40058). Mentions travel only on a text message (2048 bytes at most).
    const m = mentionsIn(p, this.config.mentions);
    const body = m
      ? {
          msgtype: 'text',
          text: {
            content: truncateBytes(plainText(p), 2048),
            mentioned_list: [...m.userIds, ...(m.all ? ['@all'] : [])],
            mentioned_mobile_list: m.mobiles,
          },
        }
      : { msgtype: 'markdown', markdown: { content: truncateBytes(markdown(p), 4096) } };
    const r = await postJson(this.config.url!, body, this.options);
    expectOk(r, 'WeCom');
    const code = Number(r.json?.errcode ?? -1);
    expectCode(r, 'WeCom', code, `errcode ${code} ${r.json?.errmsg ?? r.text}`, 45009, 60_000);
  }
}

export class SlackChannel extends ChatChannel implements Channel {
  readonly type = 'slack' as const;
  readonly perMinute = 60;

  async send(p: NotificationPayload): Promise<void> {
    const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: title(p).slice(0, 150) } }];
    for (const a of p.alerts.slice(0, 24)) {
      const body = [`*${headline(a)}*`, detail(a), ...facts(a).map(([k, v]) => `• *${k}*: ${v}`)].filter(Boolean).join('\n');
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: body.slice(0, 3000) } }, { type: 'divider' });
    }
    if (p.alerts.length > 24) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${p.alerts.length - 24} more` }] });
    const r = await postJson(this.config.url!, { text: truncateBytes(plainText(p), 3000), blocks }, this.options);
    expectOk(r, 'Slack');
    if (r.text.trim() !== 'ok') throw new ChannelError(`Slack answered: ${r.text.slice(0, 200)}`);
  }
}
