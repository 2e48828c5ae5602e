/**
 * What FC 3.0's HTTP trigger hands a function: the request as an event (`version`, `rawPath`,
 * `headers`, `queryParameters`, `body` / `isBase64Encoded`, `requestContext`).
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { FcHttpEvent } from '../src/fc/types.js';

export function httpTriggerEvent(req: IncomingMessage, body: Buffer, where: { accountId: string; port: number }): FcHttpEvent {
  const port = where.port;
  const url = req.url ?? '/';
  const [rawPath = '/', rawQuery = ''] = url.split('?', 2);
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQuery)) query[k] = k in query ? `${query[k]},${v}` : v;
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i]!;
    const v = req.rawHeaders[i + 1]!;
    headers[k] = k in headers ? `${headers[k]},${v}` : v;
  }
  // Text goes into the event as text only when it is text: bytes that are not UTF-8 go as Base64, so nothing is lost in the event.
  const textual =
    /^(application\/([a-z0-9.+-]*json|x-www-form-urlencoded|xml)|text\/)/i.test(String(req.headers['content-type'] ?? 'text/plain')) && isUtf8(body);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    path = rawPath;
  }
  const now = new Date();
  return {
    version: 'v1',
    rawPath,
    body: textual ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !textual,
    headers,
    queryParameters: query,
    requestContext: {
      accountId: where.accountId,
      domainName: `127.0.0.1:${port}`,
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: String(req.headers['user-agent'] ?? ''),
      },
      requestId: '',
      time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      timeEpoch: String(now.getTime()),
    },
  };
}
