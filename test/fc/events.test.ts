/**
 * The FC event shapes: the HTTP trigger adapter and what provision accepts, from this
 * project's fixtures (test/events/) and, when it is beside the project, the fc3
 * component's own samples in ../shared/reference/fc3/events/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isHttpResponse, requestFromHttpEvent, toFcResponse } from '../../src/fc/http-adapter.js';
import { parseProvisionEvent } from '../../src/fc/provision-events.js';

const fixture = (p: string) => readFileSync(join('test/events', p));
const SHARED = join('..', 'shared', 'reference', 'fc3', 'events');

describe('HTTP trigger events', () => {
  it('turns an FC3 HTTP event (a Buffer) into a request with lower-case headers', () => {
    const req = requestFromHttpEvent(fixture('http/get-healthz.json'), 'req-1');
    expect(isHttpResponse(req)).toBe(false);
    expect(req).toMatchObject({
      method: 'GET',
      path: '/healthz',
      query: {},
      requestId: 'req-1',
      headers: { accept: 'application/json', 'user-agent': 'curl/8.5.0' },
    });
  });

  it('decodes a Base64 body', () => {
    const req = requestFromHttpEvent(fixture('http/post-base64.json'), 'req-2');
    if (isHttpResponse(req)) throw new Error('expected a request');
    expect(req.body.toString()).toBe('{"provider":"ens"}');
    expect(req.headers['idempotency-key']).toBe('fixture-key-1');
  });

  it('answers a malformed event with a 400 problem, not a crash', () => {
    for (const bad of [Buffer.from('not json'), Buffer.from('{"hello":"world"}'), Buffer.from('[]')]) {
      const res = requestFromHttpEvent(bad, 'req-3');
      expect(isHttpResponse(res)).toBe(true);
      expect(toFcResponse(res as never)).toMatchObject({ statusCode: 400, isBase64Encoded: false, headers: { 'content-type': 'application/problem+json' } });
    }
  });

  it.skipIf(!existsSync(join(SHARED, 'http.json')))("reads the fc3 component's sample HTTP event (../shared)", () => {
    const req = requestFromHttpEvent(readFileSync(join(SHARED, 'http.json')), 'req-4');
    if (isHttpResponse(req)) throw new Error('expected a request');
    expect(req.method).toBe('POST');
    expect(req.body.toString()).toBe('haha');
    expect(req.headers['content-type']).toBe('application/octet-stream');
  });
});

if (!existsSync(SHARED)) console.warn(`[tests] ${SHARED} is absent: the fc3 sample-event tests are skipped`);

describe('provision events', () => {
  it('reads an async invocation payload', () => {
    expect(parseProvisionEvent(fixture('invoke/async-provision.json'))).toEqual({ kind: 'invoke', requestId: 'npr_01M81VNY51ZA10783VQQS208T7' });
  });

  it('reads an EventBridge MNS-queue batch, message by message', () => {
    const e = parseProvisionEvent(fixture('mns/queue-batch.json'));
    expect(e.kind).toBe('messages');
    if (e.kind !== 'messages') return;
    expect(e.messages).toHaveLength(2);
    expect(e.messages[0]!.messageId).toBe('8E1F2A3B4C5D6E7F8091A2B3C4D5E6F7');
    expect(JSON.parse(e.messages[0]!.body)).toMatchObject({ provider: 'ens', idempotencyKey: 'fixture-batch-1' });
    expect(e.messages[1]!.body).toBe('not json at all');
  });

  it('decodes a message body that arrives Base64-encoded (IsBase64Decode off)', () => {
    const body = JSON.stringify({ provider: 'ens', request: {} });
    const batch = [{ type: 'mns:Queue:SendMessage', data: { messageId: 'M1', messageBody: Buffer.from(body).toString('base64') } }];
    const e = parseProvisionEvent(Buffer.from(JSON.stringify(batch)));
    expect(e).toEqual({ kind: 'messages', messages: [{ messageId: 'M1', body }] });
  });

  it('reads MNS topic notifications in JSON and STREAM format', () => {
    const json = parseProvisionEvent(fixture('mns/topic-json.json'));
    expect(json).toMatchObject({ kind: 'messages', messages: [{ messageId: 'A0B1C2D3E4F5061728394A5B6C7D8E9F' }] });
    const stream = parseProvisionEvent(fixture('mns/topic-stream.json'));
    expect(stream).toEqual({ kind: 'messages', messages: [{ body: '{"provider":"ens"}' }] });
  });

  it('names what it cannot understand instead of throwing', () => {
    expect(parseProvisionEvent(Buffer.from('{"triggerTime":"x"}')).kind).toBe('unknown');
    expect(parseProvisionEvent(Buffer.from('garbage')).kind).toBe('unknown');
  });

  it.skipIf(!existsSync(SHARED))("reads the fc3 component's MNS topic samples (../shared)", () => {
    for (const f of ['mns-with-MessageAttributes.json', 'mns-without-MessageAttributes.json']) {
      expect(parseProvisionEvent(readFileSync(join(SHARED, f)))).toMatchObject({
        kind: 'messages',
        messages: [{ body: 'hello topic', messageId: expect.any(String) }],
      });
    }
    expect(parseProvisionEvent(readFileSync(join(SHARED, 'mns-stream.json')))).toEqual({ kind: 'messages', messages: [{ body: 'hello topic' }] });
  });
  it('keeps the other messages of a batch when one body is too deep to write back as text', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const ok = { provider: 'ens' };
    const e = parseProvisionEvent([
      { id: 'e1', data: { messageId: 'M1', messageBody: deep } },
      { id: 'e2', data: { messageId: 'M2', messageBody: ok } },
    ]);
    expect(e).toEqual({
      kind: 'messages',
      messages: [
        { messageId: 'M1', body: '[not representable: nested too deep]' },
        { messageId: 'M2', body: '{"provider":"ens"}' },
      ],
    });
  });
});
