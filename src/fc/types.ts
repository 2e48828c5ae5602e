/** The shapes FC 3.0 hands a Node.js handler. */
export interface FcCredentials {
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

export interface FcTimerEvent {
  triggerTime: string;
  triggerName: string;
  payload?: string;
}

/** FC passes the event as a Buffer; tests and local tools may pass a string or an object. */
export function eventJson(event: unknown): unknown {
  if (Buffer.isBuffer(event)) return JSON.parse(event.toString('utf8'));
  if (typeof event === 'string') return JSON.parse(event);
  return event;
}
