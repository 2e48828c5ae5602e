/**
 * FC 3.0 HTTP trigger <-> the API core. A malformed event becomes a 400 problem, not a crash.
 */
import { problem } from '../http/problem.js';
import type { HttpRequest, HttpResponse } from '../http/types.js';
import { eventJson, type FcHttpEvent, type FcHttpResponse } from './types.js';

export function requestFromHttpEvent(raw: unknown, requestId: string): HttpRequest | HttpResponse {
  let event: FcHttpEvent;
  try {
    event = eventJson(raw) as FcHttpEvent;
  } catch {
    return problem(400, 'malformed-event', 'The trigger event is not JSON');
  }
  const method = event?.requestContext?.http?.method;
  if (!event || typeof event !== 'object' || typeof method !== 'string' || (event.rawPath === undefined && event.requestContext?.http?.path === undefined)) {
    return problem(400, 'malformed-event', 'The trigger event is not an FC HTTP event', 'requestContext.http.method and a path are required');
  }
  let path = event.requestContext?.http?.path;
  if (path === undefined) {
    try {
      path = decodeURIComponent(event.rawPath ?? '/');
    } catch {
      return problem(400, 'malformed-event', 'The request path is not valid percent-encoding');
    }
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryParameters ?? {})) if (typeof v === 'string') query[k] = v;
  const body = typeof event.body === 'string' ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  return { method: method.toUpperCase(), path, query, headers, body, requestId };
}

export function isHttpResponse(x: HttpRequest | HttpResponse): x is HttpResponse {
  return (x as HttpResponse).status !== undefined;
}

export function toFcResponse(res: HttpResponse): FcHttpResponse {
  return { statusCode: res.status, headers: res.headers, isBase64Encoded: false, body: res.body };
}
