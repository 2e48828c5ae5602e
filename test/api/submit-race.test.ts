/**
 * Concurrent POSTs for one pool, or with one Idempotency-Key, through the local FC host:
 * one request is stored, and every other POST is answered as a lone duplicate would be.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const COLLECTION = '/v1/nodepool-requests';

describe.each(backends)('concurrent submissions on $name', (backend) => {
  const t = useSystem(backend);

  const storedFor = async (name: string) =>
    (await t.api('GET', `${COLLECTION}?clusterId=${SEED_ENS_CLUSTER}&limit=100`)).json.items.filter((r: any) => r.nodepoolName === name);

  it('stores one of 20 concurrent POSTs for one pool and answers the other 19 with 409 naming it', async () => {
    const name = uniqueName('race');
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) };
    const posts = await Promise.all(Array.from({ length: 20 }, () => t.api('POST', COLLECTION, body)));
    await t.idle();
    const accepted = posts.filter((p) => p.status === 202);
    expect(accepted).toHaveLength(1);
    const id = accepted[0]!.json.id;
    const refused = posts.filter((p) => p.status !== 202);
    expect(refused.map((p) => p.status)).toEqual(Array(19).fill(409));
    for (const p of refused) {
      expect(p.headers.get('content-type')).toBe('application/problem+json');
      expect(p.json).toMatchObject({
        status: 409,
        type: expect.stringContaining('live-request-exists'),
        existingId: id,
        links: { existing: `${COLLECTION}/${id}` },
        detail: expect.stringContaining(id),
      });
    }
    expect((await storedFor(name)).map((r: any) => r.id)).toEqual([id]);
    const creates = t.sys.emulator.callLog({ action: 'CreateClusterNodePool' }).filter((c) => (c.params as any).NodepoolInfo?.Name === name);
    expect(creates.filter((c) => c.outcome === 'OK')).toHaveLength(1);
  });

  it('stores one of 20 concurrent POSTs with one Idempotency-Key and replays it to the others', async () => {
    const name = uniqueName('idem-race');
    const key = `k-${name}`;
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) };
    const posts = await Promise.all(Array.from({ length: 20 }, () => t.api('POST', COLLECTION, body, { 'idempotency-key': key })));
    await t.idle();
    expect(posts.map((p) => p.status)).toEqual(Array(20).fill(202));
    const ids = new Set(posts.map((p) => p.json.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(posts.filter((p) => p.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    for (const p of posts) expect(p.headers.get('location')).toBe(`${COLLECTION}/${id}`);
    expect((await storedFor(name)).map((r: any) => r.id)).toEqual([id]);
  });

  it('answers concurrent POSTs that reuse one Idempotency-Key with different bodies: one stored, the others 409 naming it', async () => {
    const name = uniqueName('idem-diff');
    const key = `k-${name}`;
    const posts = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.api('POST', COLLECTION, { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name), deadlineMinutes: 30 + i }, { 'idempotency-key': key }),
      ),
    );
    await t.idle();
    const accepted = posts.filter((p) => p.status === 202);
    expect(accepted).toHaveLength(1);
    const id = accepted[0]!.json.id;
    for (const p of posts.filter((x) => x.status !== 202))
      expect(p.json).toMatchObject({ status: 409, type: expect.stringContaining('idempotency-key-reused'), existingId: id });
    expect((await storedFor(name)).map((r: any) => r.id)).toEqual([id]);
  });
});
