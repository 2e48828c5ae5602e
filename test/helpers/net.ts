/** Raw HTTP for what fetch will not do: an upload cut short. */
import { connect } from 'node:net';

/** Sends raw bytes and then cuts the upload short: a reset (RST) or a half-close. Never throws. */
export function cutUpload(url: string, path: string, headers: Record<string, string>, declared: number, sent: Buffer, how: 'reset' | 'end'): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    let answer = '';
    const s = connect(Number(u.port), u.hostname);
    const done = () => resolve(answer);
    s.on('data', (c) => (answer += c.toString()));
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () => {
      const head = `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}Content-Length: ${declared}\r\n\r\n`;
      s.write(Buffer.concat([Buffer.from(head), sent]), () => (how === 'reset' ? s.resetAndDestroy() : s.end()));
    });
  });
}
