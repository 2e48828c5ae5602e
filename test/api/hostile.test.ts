/**
 * A hostile client against the running system. A seeded fuzz run (FUZZ_SEED to replay one)
 * throws a few hundred generated bad requests at the local FC host and bad messages at the
 * queue: cut-off and reset uploads, wrong types, deep nesting, huge strings, odd Unicode,
 * wrong content types, odd numbers. Then: the host is alive, every answer was a 4xx problem
 * without a stack trace, the queue rejected every message at once (nothing redelivered or
 * dead-lettered), nothing reached the cloud's create call, and a valid request still works.
 * Also: each loose input, one by one. (`npm start` as its own process surviving aborted
 * uploads is in test/e2e/abort.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ackExample, ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { cutUpload } from '../helpers/net.js';
import { TEST_TOKEN, useSystem } from '../helpers/system.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const CASES = Number(process.env.FUZZ_CASES ?? 300);

/** mulberry32: a small seeded generator, so that a failing run can be replayed with FUZZ_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof prng>;

const BAD_CHARS = [' ', '\n', '\t', '\u0000', '\u0007', '\u0085', '\u200b', '\u202e', '\u2066', '\ufeff', '<', '>', '\ud800', '\udfff'];
const BAD_TYPES: unknown[] = [null, true, 1.5, -1, 1e21, [], {}, 'x', [1, 2], { a: 1 }];

function oddName(r: Rng): string {
  const base = uniqueName('fz');
  const bad = r.pick(BAD_CHARS);
  return r.pick([
    () => bad + base,
    () => base + bad,
    () => base.slice(0, 3) + bad + base.slice(3),
    () => `<script>${base}</script>`,
    () => 'x'.repeat(r.int(129, 60_000)),
  ])();
}

/** A valid create body made invalid in one way that names a field. */
function invalidBody(r: Rng): Record<string, any> {
  const ens = r.next() < 0.5;
  const body: Record<string, any> = ens
    ? { provider: 'ens', request: structuredClone(ensExample(SEED_ENS_CLUSTER, uniqueName('fz'))) }
    : { provider: 'ack', regionId: 'cn-beijing', clusterId: SEED_ACK_CLUSTER, request: structuredClone(ackExample(uniqueName('fz'))) };
  const req = body.request;
  const sg = ens ? req.ScalingGroup : req.scaling_group;
  /** Sets one field to a bad value: [object, key, bad values] for ENS and for ACK. */
  const set = (target: Record<string, any>, key: string, values: readonly unknown[]) => {
    target[key] = r.pick(values);
  };
  const mutations: Array<() => void> = [
    () => (ens ? set(req.NodepoolInfo, 'Name', [oddName(r)]) : set(req.nodepool_info, 'name', [oddName(r)])),
    () => (ens ? set(sg, 'DesiredSize', [1.5, '3', -1, 10_001, null, []]) : set(sg, 'desired_size', [1.5, '3', -1, null, {}])),
    () => (ens ? set(sg, 'SystemDiskSize', [10, 25, 95, '80', 0]) : set(sg, 'system_disk_size', [10, 4096, '120', 2.5])),
    () => set(body, r.pick(['provider', 'request', 'deadlineMinutes']), BAD_TYPES),
    () => set(body, 'deadlineMinutes', [0, 1441, 1.5, -5, '30', 1e308]),
    () => set(ens ? req : req.scaling_group, `x${r.int(0, 1e6)}`, BAD_TYPES),
    () => (ens ? set(sg, 'VswitchIds', [[], [''], [1], 'vsw-1']) : set(sg, 'instance_types', [[], [7], 'ecs.g7.large'])),
    () =>
      ens
        ? set(req.KubernetesConfig, 'UserData', ['not base64!', 'ZWNobyBvawo', '\u202e'])
        : set(sg, 'login_password', ['short', 'alllowercaseletters', '\u0000Aa1aaaaaa']),
    () => (ens ? set(req, 'ClusterId', ['', 'eck/..', 'a'.repeat(65), 7]) : set(body, 'regionId', ['Beijing', '', 'cn-', 5])),
  ];
  r.pick(mutations)();
  return body;
}

function deepJson(r: Rng): string {
  const depth = r.int(33, 40_000);
  return r.pick([
    () => '['.repeat(depth) + ']'.repeat(depth),
    () => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    () => `{"provider":"ens","request":${'['.repeat(depth)}${']'.repeat(depth)}}`,
  ])();
}

interface Case {
  what: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  cut?: { declared: number; how: 'reset' | 'end' };
}

function httpCase(r: Rng, i: number): Case {
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };
  const jsonHeaders: Record<string, string> = { ...auth, 'content-type': 'application/json' };
  const post = (what: string, body: string | Buffer, headers: Record<string, string> = jsonHeaders, path = '/v1/nodepool-requests'): Case => ({
    what: `#${i} ${what}`,
    method: 'POST',
    path,
    headers,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  });
  const valid = () => JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('fz')) });
  const kinds: Array<() => Case> = [
    () => post('invalid field', JSON.stringify(invalidBody(r))),
    () => post('invalid field (queue-only key over HTTP)', JSON.stringify({ ...invalidBody(r), idempotencyKey: 'k' })),
    () => post('deep nesting', deepJson(r)),
    () => post('huge string over the body limit', JSON.stringify({ provider: 'ens', request: { ClusterId: 'x'.repeat(r.int(70_000, 1_000_000)) } })),
    () => post('truncated JSON', valid().slice(0, r.int(1, 200))),
    () => post('not JSON', r.pick(['', 'null', '[]', '"a"', '42', 'provider=ens', '<xml/>', '{"a":1}{'])),
    () =>
      post('invalid UTF-8', Buffer.concat([Buffer.from('{"provider":"ens","request":{"ClusterId":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')])),
    () => post('lone surrogate escape', valid().replace('"Name":"', '"Name":"\\ud800')),
    () =>
      post('wrong content type', valid(), {
        ...auth,
        ...r.pick<Record<string, string>>([
          { 'content-type': 'text/plain' },
          { 'content-type': 'application/json; charset=latin1' },
          { 'content-type': 'application/json;charset=utf-16' },
          { 'content-type': 'application/x-www-form-urlencoded' },
          { 'content-type': 'application/merge-patch+json' },
          {},
        ]),
      }),
    () =>
      post('no token', valid(), {
        'content-type': 'application/json',
        ...r.pick<Record<string, string>>([{}, { authorization: 'Bearer nope' }, { authorization: TEST_TOKEN }, { authorization: 'Basic dXNlcjpwYXNz' }]),
      }),
    () => post('bad idempotency key', valid(), { ...jsonHeaders, 'idempotency-key': r.pick(['has space', 'x'.repeat(256), 'tab\there', 'é']) }),
    () => ({
      what: `#${i} odd number in the query`,
      method: 'GET',
      path: `${r.pick(['/v1/nodepool-requests', '/v1/alerts'])}?limit=${r.pick(['0x10', '1e1', '10.0', '%2010', '-1', '0', '501', '99999999999', 'NaN', 'Infinity', '', '+5', '1_0'])}`,
      headers: auth,
    }),
    () => ({
      what: `#${i} unknown query parameter`,
      method: 'GET',
      path: `/v1/nodepool-requests?${r.pick(['stat=active', 'state=live', 'cursor=abc', 'clusterId=a%2Fb'])}`,
      headers: auth,
    }),
    () =>
      post(
        'bad silence',
        JSON.stringify(
          r.pick([
            {
              matchers: { clusterId: 'c' },
              endsAt: r.pick(['Dec 25 2030', '+275760-09-13T00:00:00Z', '2030-02-30T00:00:00Z', '2099-01-01T00:00:00Z', 1_900_000_000_000, '']),
            },
            { matchers: { clusterId: 'c\u0000' }, endsAt: '2026-12-31T00:00:00Z' },
            { matchers: { clusterId: 'c', team: 'x' }, endsAt: '2026-12-31T00:00:00Z' },
            { matchers: {}, endsAt: '2026-12-31T00:00:00Z' },
            { matchers: { rule: 'everything' }, endsAt: '2026-12-31T00:00:00Z', comment: 'x'.repeat(1001) },
          ]),
        ),
        jsonHeaders,
        '/v1/silences',
      ),
    () => ({ what: `#${i} wrong method`, method: r.pick(['PUT', 'PATCH', 'DELETE']), path: '/v1/nodepool-requests', headers: auth }),
    () => ({
      what: `#${i} cut-off upload`,
      method: 'POST',
      path: '/v1/nodepool-requests',
      headers: r.next() < 0.5 ? jsonHeaders : ({ 'content-type': 'application/json' } as Record<string, string>),
      body: Buffer.from(valid().slice(0, r.int(0, 100))),
      cut: { declared: r.int(1_000, 60_000), how: r.pick(['reset', 'end'] as const) },
    }),
  ];
  return r.pick(kinds)();
}

function queueMessage(r: Rng): string | Buffer {
  return r.pick<() => string | Buffer>([
    () => JSON.stringify(invalidBody(r)),
    () => deepJson(r).slice(0, 65_000),
    () => r.pick(['{not json', '[]', 'null', '"text"', '{"provider":"gce"}', '\u202e{}']),
    () => JSON.stringify({ ...invalidBody(r), idempotencyKey: r.pick(['with space', '', 'x'.repeat(300)]) }),
    () => Buffer.concat([Buffer.from('{"provider":"ack","clusterId":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
  ])();
}

function assertProblem(c: Case, res: { status: number; type: string; text: string }): void {
  const where = `${c.what} (${c.method} ${c.path}) answered ${res.status}: ${res.text.slice(0, 300)}`;
  expect(res.status >= 400 && res.status < 500, where).toBe(true);
  expect(res.type, where).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text);
  expect(body, where).toMatchObject({ type: expect.any(String), title: expect.any(String), status: res.status });
  expect(res.text, where).not.toMatch(/stackTrace|\n\s+at |\bat .*\.[jt]s:\d+/);
}

describe.each(backends.slice(-1))(`fuzzing the running system (seed ${SEED}) on $name`, (backend) => {
  const t = useSystem(backend, { env: { WATCH_CLUSTERS: '' } });
  const writes = () => t.sys.emulator.callLog({ action: 'CreateClusterNodePool' }).length;
  const rejectedCount = async () =>
    Number((await t.sys.instance.store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM nodepool_requests WHERE state = 'rejected'`)).rows[0]!.n);

  it(`answers ${CASES} generated bad requests with 4xx problems, rejects bad queue messages at once, and still works`, async () => {
    const r = prng(SEED);
    const before = writes();
    const rejectedBefore = await rejectedCount();
    let cut = 0;
    for (let i = 0; i < CASES; i++) {
      const c = httpCase(r, i);
      if (c.cut) {
        await cutUpload(t.sys.apiUrl, c.path, c.headers, c.cut.declared, c.body!, c.cut.how);
        cut++;
        continue;
      }
      const res = await fetch(`${t.sys.apiUrl}${c.path}`, { method: c.method, headers: c.headers, body: c.body as unknown as BodyInit | undefined });
      assertProblem(c, { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() });
    }
    // The queue: each message is taken (201), or refused at the door when MNS would refuse it.
    let enqueued = 0;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body: queueMessage(r) as BodyInit });
      expect([201, 400, 413], `queue message #${i}`).toContain(res.status);
      if (res.status === 201) enqueued++;
    }
    for (let i = 0; i < 10; i++)
      await cutUpload(t.sys.cloudUrl, '/_sandbox/queues/nodepool-requests/messages', {}, 5_000, Buffer.from('{"provider":"ens"'), i % 2 ? 'reset' : 'end');
    await t.idle();

    expect(cut).toBeGreaterThan(0);
    expect((await fetch(`${t.sys.apiUrl}/healthz`)).status).toBe(200);
    expect(writes()).toBe(before);
    expect(await rejectedCount()).toBe(rejectedBefore + enqueued);
    expect(t.sys.host.deadLetters).toEqual([]);
    expect(t.sys.host.redeliveries).toEqual([]);

    // A valid request afterwards goes through.
    const name = uniqueName('after-fuzz');
    const ok = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) });
    await t.idle();
    expect(ok.status).toBe(202);
    expect((await t.api('GET', `/v1/nodepool-requests/${ok.json.id}`)).json.state).toBe('creating');
    expect(writes()).toBe(before + 1);
  });

  it.each([
    ['a name of one space', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, ' ') }, 'request.NodepoolInfo.Name'],
    ['a name with a new line', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, 'edge\npool') }, 'request.NodepoolInfo.Name'],
    [
      'a name with U+202E',
      { provider: 'ack', regionId: 'cn-beijing', clusterId: SEED_ACK_CLUSTER, request: ackExample('\u202eloop-ecivres') },
      'request.nodepool_info.name',
    ],
    ['a name of markup', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, '<script>alert(1)</script>') }, 'request.NodepoolInfo.Name'],
    ['a silence ending in year +275760', { matchers: { clusterId: 'c1' }, endsAt: '+275760-09-13T00:00:00.000Z' }, 'endsAt'],
    ['a silence ending "Dec 25 2030"', { matchers: { clusterId: 'c1' }, endsAt: 'Dec 25 2030' }, 'endsAt'],
    ['a silence of a year', { matchers: { clusterId: 'c1' }, endsAt: new Date(Date.now() + 400 * 86_400_000).toISOString() }, 'endsAt'],
    [
      'a silence starting in a year',
      {
        matchers: { clusterId: 'c1' },
        startsAt: new Date(Date.now() + 365 * 86_400_000).toISOString(),
        endsAt: new Date(Date.now() + 366 * 86_400_000).toISOString(),
      },
      'startsAt',
    ],
  ])('refuses %s with a 400 naming the field, and nothing reaches the cloud', async (_label, body, field) => {
    const before = writes();
    const path = 'matchers' in body ? '/v1/silences' : '/v1/nodepool-requests';
    const res = await t.api('POST', path, body);
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: any) => e.path)).toEqual([field]);
    await t.idle();
    expect(writes()).toBe(before);
  });

  it.each(['0x10', '1e1', '10.0', '%2010'])('refuses limit=%s as a number', async (limit) => {
    const res = await t.api('GET', `/v1/nodepool-requests?limit=${limit}`);
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([{ path: 'query.limit', message: 'must be a whole number from 1 to 100, written in decimal digits' }]);
  });

  it('refuses a JSON body declared in another charset with 415, instead of mis-decoding it', async () => {
    const before = writes();
    const body = Buffer.from(JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, 'clé-ops') }), 'latin1');
    const send = async (contentType: string) => {
      const res = await fetch(`${t.sys.apiUrl}/v1/nodepool-requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': contentType },
        body: body as unknown as BodyInit,
      });
      return { status: res.status, json: (await res.json()) as any };
    };
    const res = await send('application/json; charset=latin1');
    expect(res.status).toBe(415);
    expect(res.json.errors).toEqual([{ path: 'header.Content-Type', message: 'charset must be UTF-8 (or left out), not latin1' }]);
    const undeclared = await send('application/json');
    expect(undeclared.status).toBe(400);
    expect(undeclared.json.detail).toBe('the body is not valid UTF-8');
    await t.idle();
    expect(writes()).toBe(before);
  });

  it('enqueues nothing for a cut-off or oversized queue upload', async () => {
    const rejectedBefore = await rejectedCount();
    const cutAnswer = await cutUpload(t.sys.cloudUrl, '/_sandbox/queues/nodepool-requests/messages', {}, 1000, Buffer.from('{"provider":'), 'end');
    const big = await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body: 'x'.repeat(65_537) });
    const empty = await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body: '' });
    await t.idle();
    expect(cutAnswer).not.toContain('201');
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toBe('the message is 65537 bytes; a queue message is at most 65536 bytes');
    expect(empty.status).toBe(400);
    expect(await rejectedCount()).toBe(rejectedBefore);
  });
});
