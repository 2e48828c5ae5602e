/** A notification channel, and the HTTP call every webhook channel makes. */
import type { ChannelType, Severity } from '../../config.js';
import type { NotificationPayload } from '../notify.js';

export class ChannelError extends Error {
  override name = 'ChannelError';
  constructor(
    message: string,
    /** How long the channel asked us to wait, when it said so (rate limits). */
    readonly retryAfterMs?: number,
    /** The receiver refuses this message as such (bad payload, unknown hook): retrying it cannot help. */
    readonly permanent = false,
  ) {
    super(message);
  }
}

export interface SendContext {
  deliveryId: number;
  now: Date;
}

export interface Channel {
  readonly name: string;
  readonly type: ChannelType;
  readonly minSeverity: Severity;
  /** Sends one payload; throws ChannelError when the receiver did not take it. */
  send(payload: NotificationPayload, ctx: SendContext): Promise<void>;
  /** The most messages a minute the receiver accepts, when it has a documented limit. */
  readonly perMinute?: number;
}

export interface HttpResult {
  status: number;
  text: string;
  json?: Record<string, unknown>;
}

export async function postJson(
  url: string,
  body: unknown,
  options: { timeoutMs: number; headers?: Record<string, string>; raw?: string },
): Promise<HttpResult> {
  const payload = options.raw ?? JSON.stringify(body);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
      body: payload,
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'manual',
    });
  } catch (err) {
    const e = err as Error;
    // Never echo the URL: chat webhook URLs carry their access token.
    throw new ChannelError(
      e.name === 'TimeoutError'
        ? `no answer within ${options.timeoutMs} ms`
        : `connection failed: ${(e as { cause?: { code?: string } }).cause?.code ?? e.message}`,
    );
  }
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

export function expectOk(r: HttpResult, what: string): void {
  if (r.status < 200 || r.status >= 300) {
    const retryAfter = r.status === 429 ? 60_000 : undefined;
    const permanent = r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429;
    throw new ChannelError(`${what} answered HTTP ${r.status}: ${r.text.slice(0, 200)}`, retryAfter, permanent);
  }
}
