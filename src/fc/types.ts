/** The shapes FC 3.0 hands a Node.js handler. */
import { parseJsonWithin } from '../json.js';

interface FcCredentials {
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
}

export interface FcContext {
  requestId: string;
  credentials?: FcCredentials;
  function?: { name?: string; handler?: string; memory?: number; timeout?: number };
  service?: { logProject?: string; logStore?: string; qualifier?: string; versionId?: string };
  region?: string;
  accountId?: string;
  retryCount?: number;
  logger?: unknown;
}

export interface FcHttpEvent {
  version?: string;
  rawPath?: string;
  body?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
  queryParameters?: Record<string, string>;
  requestContext?: {
    accountId?: string;
    domainName?: string;
    domainPrefix?: string;
    http?: { method?: string; path?: string; protocol?: string; sourceIp?: string; userAgent?: string };
    requestId?: string;
    time?: string;
    timeEpoch?: string;
  };
}

export interface FcHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  isBase64Encoded: boolean;
  body: string;
}

/**
 * Bounds for a whole trigger event: FC takes at most 32 MB for a synchronous invocation.
 * Depth is not bounded here: what a client sends sits inside the event (an HTTP body, a
 * queue message body) and is bounded on its own, message by message, so that one deep
 * message cannot cost the rest of its batch. V8 parses deep JSON without recursion.
 */
const EVENT_BOUNDS = { maxBytes: 32 * 1024 * 1024 };

/** FC passes the event as a Buffer; tests and local tools may pass a string or an object. Throws when it is not JSON within bounds. */
export function eventJson(event: unknown): unknown {
  if (!Buffer.isBuffer(event) && typeof event !== 'string') return event;
  const parsed = parseJsonWithin(Buffer.isBuffer(event) ? event.toString('utf8') : event, EVENT_BOUNDS);
  if (!parsed.ok) throw new SyntaxError(`the event is not acceptable JSON: ${parsed.reason}`);
  return parsed.value;
}
