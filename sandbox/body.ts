/**
 * Reading a request body for the local servers. It never rejects: a body is whole, over
 * the limit, or cut off (the client reset the connection or closed it before sending what
 * its Content-Length promised). Only a whole body may be acted on.
 */
import type { IncomingMessage } from 'node:http';

export type BodyResult = { kind: 'whole'; body: Buffer } | { kind: 'too-large'; limit: number } | { kind: 'cut-off'; received: number; reason: string };

export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: BodyResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    // A declared length over the limit is refused before a byte of it is read.
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      settle({ kind: 'too-large', limit });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        settle({ kind: 'too-large', limit });
        return;
      }
      chunks.push(c);
    });
    req.on('end', () =>
      settle(req.complete ? { kind: 'whole', body: Buffer.concat(chunks) } : { kind: 'cut-off', received: size, reason: 'the body ended early' }),
    );
    req.on('error', (err) => settle({ kind: 'cut-off', received: size, reason: err.message }));
    req.on('close', () =>
      settle(
        req.complete
          ? { kind: 'whole', body: Buffer.concat(chunks) }
          : { kind: 'cut-off', received: size, reason: 'the connection closed before the body was complete' },
      ),
    );
  });
}
