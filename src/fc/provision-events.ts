/**
 * What `provision` can be handed:
 *  - an async invocation payload `{"requestId": "npr_..."}`;
 *  - an EventBridge MNS-queue batch: a JSON array of CloudEvents whose `data.messageBody` is
 *    the message (or its Base64 when IsBase64Decode is off);
 *  - an MNS topic notification, JSON format `{TopicOwner, Message, MessageId, ...}` or
 *    STREAM format `{body, attrs}`.
 */
import type { QueueMessage } from '../pipeline/intake.js';
import { eventJson } from './types.js';

export type ProvisionEvent = { kind: 'invoke'; requestId: string } | { kind: 'messages'; messages: QueueMessage[] } | { kind: 'unknown'; reason: string };

function looksLikeJson(s: string): boolean {
  const t = s.trim();
  return t.startsWith('{') || t.startsWith('[');
}

/** A body that is Base64 of JSON (IsBase64Decode off) is decoded; anything else is kept as is. */
function decodeMessageBody(body: string): string {
  if (looksLikeJson(body)) return body;
  const compact = body.trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0) {
    const decoded = Buffer.from(compact, 'base64').toString('utf8');
    if (looksLikeJson(decoded)) return decoded;
  }
  return body;
}

/** A body the trigger handed over as JSON, as text again; too deep to write back is kept as a marker the intake rejects. */
function messageText(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch {
    return '[not representable: nested too deep]';
  }
}

export function parseProvisionEvent(raw: unknown): ProvisionEvent {
  let event: unknown;
  try {
    event = eventJson(raw);
  } catch {
    return { kind: 'unknown', reason: 'the event is not JSON' };
  }
  if (Array.isArray(event)) {
    const messages: QueueMessage[] = event.map((ce) => {
      const data = (ce as { data?: { messageBody?: unknown; messageId?: unknown } })?.data;
      const body = data?.messageBody;
      return {
        messageId:
          typeof data?.messageId === 'string' ? data.messageId : typeof (ce as { id?: unknown })?.id === 'string' ? (ce as { id: string }).id : undefined,
        body: typeof body === 'string' ? decodeMessageBody(body) : body === undefined ? '' : messageText(body),
      };
    });
    return { kind: 'messages', messages };
  }
  if (event && typeof event === 'object') {
    const e = event as Record<string, unknown>;
    if (typeof e.requestId === 'string' && Object.keys(e).length === 1) return { kind: 'invoke', requestId: e.requestId };
    if (typeof e.Message === 'string' && ('TopicOwner' in e || 'MessageId' in e)) {
      return { kind: 'messages', messages: [{ messageId: typeof e.MessageId === 'string' ? e.MessageId : undefined, body: decodeMessageBody(e.Message) }] };
    }
    if (typeof e.body === 'string' && ('attrs' in e || Object.keys(e).length === 1)) {
      return { kind: 'messages', messages: [{ body: decodeMessageBody(e.body) }] };
    }
  }
  return { kind: 'unknown', reason: 'not an async invocation payload, an EventBridge batch or an MNS topic notification' };
}
