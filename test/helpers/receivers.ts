/**
 * Local stand-ins for the chat services' webhook endpoints. Each checks what the real one
 * checks, as its documentation describes, and answers in the real one's format:
 *  - DingTalk: `timestamp` (ms, within an hour) and `sign` in the query; sign must equal
 *    Base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)); errcode 310000 otherwise.
 *  - Feishu: a body of at most 20 KB; `timestamp` (s, within an hour) and `sign` in the body; sign must equal
 *    Base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")); code 19021 otherwise.
 *  - WeCom: markdown content of at most 4096 bytes; errcode 40058 otherwise.
 *  - Slack: a JSON body with `text`; answers "ok".
 *  - Webhook: X-Nodepool-Pilot-Signature = sha256=HMAC-SHA256(secret, timestamp + "." + body).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Received {
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: any;
  accepted: boolean;
  reason?: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  accepted(): Received[];
  /** Makes the receiver answer like a service that is down (HTTP 503), or up again. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

type Kind = 'dingtalk' | 'feishu' | 'wecom' | 'slack' | 'webhook';

function eq(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

function check(
  kind: Kind,
  secret: string | undefined,
  r: Omit<Received, 'accepted'>,
  now: number,
): { ok: boolean; reason?: string; reply: { status: number; body: string } } {
  switch (kind) {
    case 'dingtalk': {
      if (secret) {
        const ts = Number(r.query.get('timestamp'));
        const sign = r.query.get('sign') ?? '';
        const expected = createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
        if (!Number.isFinite(ts) || Math.abs(now - ts) > 3600_000)
          return { ok: false, reason: 'invalid timestamp', reply: { status: 200, body: JSON.stringify({ errcode: 310000, errmsg: 'invalid timestamp' }) } };
        if (!eq(sign, expected))
          return { ok: false, reason: 'sign not match', reply: { status: 200, body: JSON.stringify({ errcode: 310000, errmsg: 'sign not match' }) } };
      }
      if (r.body?.msgtype !== 'markdown' || typeof r.body?.markdown?.text !== 'string' || typeof r.body?.markdown?.title !== 'string') {
        return { ok: false, reason: 'bad payload', reply: { status: 200, body: JSON.stringify({ errcode: 300001, errmsg: 'param error' }) } };
      }
      // The robot's `at`: atMobiles and atUserIds lists of strings, isAtAll a boolean.
      const at = r.body.at;
      if (at !== undefined && (!strings(at.atMobiles ?? []) || !strings(at.atUserIds ?? []) || (at.isAtAll !== undefined && typeof at.isAtAll !== 'boolean'))) {
        return { ok: false, reason: 'bad at', reply: { status: 200, body: JSON.stringify({ errcode: 300001, errmsg: 'param error' }) } };
      }
      return { ok: true, reply: { status: 200, body: JSON.stringify({ errcode: 0, errmsg: 'ok' }) } };
    }
    case 'feishu': {
      if (Buffer.byteLength(r.raw) > 20 * 1024)
        return { ok: false, reason: 'too large', reply: { status: 200, body: JSON.stringify({ code: 9499, msg: 'Bad Request', data: {} }) } };
      if (secret) {
        const ts = Number(r.body?.timestamp);
        const expected = createHmac('sha256', `${ts}\n${secret}`).update('').digest('base64');
        if (!Number.isFinite(ts) || Math.abs(now / 1000 - ts) > 3600 || !eq(String(r.body?.sign ?? ''), expected)) {
          return {
            ok: false,
            reason: 'sign match fail',
            reply: {
              status: 200,
              body: JSON.stringify({ code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time', data: {} }),
            },
          };
        }
      }
      if (r.body?.msg_type !== 'post' || !r.body?.content?.post?.zh_cn?.title)
        return { ok: false, reason: 'bad payload', reply: { status: 200, body: JSON.stringify({ code: 9499, msg: 'Bad Request', data: {} }) } };
      // A post's elements: an `at` one names a user_id (an open id, or "all").
      const elements = (r.body.content.post.zh_cn.content ?? []).flat();
      if (elements.some((e: any) => e?.tag === 'at' && (typeof e.user_id !== 'string' || !e.user_id)))
        return { ok: false, reason: 'bad at', reply: { status: 200, body: JSON.stringify({ code: 9499, msg: 'Bad Request', data: {} }) } };
      return { ok: true, reply: { status: 200, body: JSON.stringify({ code: 0, msg: 'success', data: {} }) } };
    }
    case 'wecom': {
      // A text message: content at most 2048 bytes, mentioned_list and mentioned_mobile_list lists of strings.
      if (r.body?.msgtype === 'text') {
        const t = r.body.text;
        if (typeof t?.content !== 'string' || !strings(t.mentioned_list ?? []) || !strings(t.mentioned_mobile_list ?? []))
          return { ok: false, reason: 'bad payload', reply: { status: 200, body: JSON.stringify({ errcode: 40008, errmsg: 'invalid message type' }) } };
        if (Buffer.byteLength(t.content) > 2048)
          return { ok: false, reason: 'too long', reply: { status: 200, body: JSON.stringify({ errcode: 40058, errmsg: 'content exceed max length 2048' }) } };
        return { ok: true, reply: { status: 200, body: JSON.stringify({ errcode: 0, errmsg: 'ok' }) } };
      }
      const content = r.body?.markdown?.content;
      if (r.body?.msgtype !== 'markdown' || typeof content !== 'string')
        return { ok: false, reason: 'bad payload', reply: { status: 200, body: JSON.stringify({ errcode: 40008, errmsg: 'invalid message type' }) } };
      if (Buffer.byteLength(content) > 4096)
        return {
          ok: false,
          reason: 'too long',
          reply: { status: 200, body: JSON.stringify({ errcode: 40058, errmsg: 'markdown.content exceed max length 4096' }) },
        };
      return { ok: true, reply: { status: 200, body: JSON.stringify({ errcode: 0, errmsg: 'ok' }) } };
    }
    case 'slack':
      if (typeof r.body?.text !== 'string' || !Array.isArray(r.body?.blocks) || r.body.blocks.length > 50)
        return { ok: false, reason: 'invalid_payload', reply: { status: 400, body: 'invalid_payload' } };
      return { ok: true, reply: { status: 200, body: 'ok' } };
    case 'webhook': {
      const ts = String(r.headers['x-nodepool-pilot-timestamp'] ?? '');
      const sig = String(r.headers['x-nodepool-pilot-signature'] ?? '');
      const expected = `sha256=${createHmac('sha256', secret ?? '')
        .update(`${ts}.${r.raw}`)
        .digest('hex')}`;
      if (!eq(sig, expected) || Math.abs(now / 1000 - Number(ts)) > 300)
        return { ok: false, reason: 'bad signature', reply: { status: 401, body: 'bad signature' } };
      return { ok: true, reply: { status: 200, body: '' } };
    }
  }
}

/** `now` is the receiver's own clock (tests that move the system's clock move it too). */
export async function startReceiver(kind: Kind, secret?: string, now: () => number = Date.now): Promise<Receiver> {
  const received: Received[] = [];
  let down = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://receiver');
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const r = { path: url.pathname, query: url.searchParams, headers: req.headers, raw, body };
      if (down) {
        received.push({ ...r, accepted: false, reason: 'down' });
        res.writeHead(503, { 'content-type': 'text/plain' }).end('service unavailable');
        return;
      }
      const out = check(kind, secret, r, now());
      received.push({ ...r, accepted: out.ok, reason: out.reason });
      res.writeHead(out.reply.status, { 'content-type': kind === 'slack' ? 'text/plain' : 'application/json' }).end(out.reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/${kind === 'dingtalk' ? 'robot/send?access_token=test-access-token' : kind === 'wecom' ? 'cgi-bin/webhook/send?key=test-key' : 'hook'}`,
    received,
    accepted: () => received.filter((r) => r.accepted),
    setDown: (d) => {
      down = d;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
