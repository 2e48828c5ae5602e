/**
 * Request tracking on its own: given one sweep's listings, what happens to each request.
 * A real store (PGlite), a manual clock, and a stand-in for the cloud (listings are handed
 * in, so only the ACK task look-up and provision's look-up by name reach it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { CloudClient } from '../../src/cloud/client.js';
import { type ClusterListing, clusterKey } from '../../src/cloud/cluster.js';
import { CloudError } from '../../src/cloud/errors.js';
import type { NodePool } from '../../src/cloud/nodepool.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import type { Services } from '../../src/pipeline/services.js';
import { newRequestId } from '../../src/requests/ids.js';
import { SecretBox } from '../../src/requests/secrets.js';
import { AlertStore } from '../../src/store/alerts.js';
import { type Db, migrate, openPglite, RequestStore } from '../../src/store/index.js';
import { observeActive, trackRequests } from '../../src/watch/track.js';

const CLUSTER = 'eck-track001';
const cluster = { provider: 'ens' as const, clusterId: CLUSTER };

function pool(id: string, name: string, over: Partial<NodePool> = {}): NodePool {
  return {
    provider: 'ens',
    clusterId: CLUSTER,
    id,
    name,
    state: 'active',
    cloudState: 'active',
    desired: 2,
    total: 2,
    serving: 2,
    healthy: null,
    initial: 0,
    failed: 0,
    offline: null,
    removing: 0,
    ...over,
  };
}

describe('request tracking', () => {
  let db: Db;
  let store: RequestStore;
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 12));
  const dispatched: string[] = [];
  let services: Services;

  beforeAll(async () => {
    db = await openPglite();
    await migrate(db);
    store = new RequestStore(db);
    const cloud = {
      metrics: { calls: 0, throttled: 0, retries: 0, errors: 0 },
      // provision looks the pool up by name before timing a request out: the cloud cannot be reached
      findNodePool: async () => {
        throw new CloudError({ code: 'ServiceUnavailable', message: 'down', kind: 'server' });
      },
    } as unknown as CloudClient;
    services = {
      config: loadConfig({}),
      store,
      alerts: new AlertStore(db),
      clock,
      secrets: new SecretBox(Buffer.alloc(32, 1)),
      log: silentLogger,
      cloud,
      dispatcher: {
        dispatch: async (id) => {
          dispatched.push(id);
          return 'dispatched';
        },
      },
    };
  });
  afterAll(async () => db?.close());

  /** A request already in `state`, with its pool if it has one. */
  async function request(
    name: string,
    state: 'creating' | 'active' | 'timed_out' | 'submitting',
    over: { nodepoolId?: string; deadlineInMs?: number; createStarted?: boolean } = {},
  ) {
    await clock.advance(1); // ids sort by creation time: one request a millisecond
    const now = clock.now();
    const created = await store.insert({
      id: newRequestId(now),
      provider: 'ens',
      clusterId: CLUSTER,
      nodepoolName: name,
      state: 'accepted',
      createParams: {},
      bodyHash: 'h',
      source: 'http',
      deadlineAt: new Date(now + (over.deadlineInMs ?? 30 * 60_000)),
      createdAt: new Date(now),
      note: 'accepted',
    });
    const id = created.request!.id;
    const at = new Date(now);
    if (state === 'submitting') {
      await store.transition(id, {
        to: 'submitting',
        at,
        note: 'deferred',
        patch: { nextAttemptAt: new Date(now + 3600_000), ...(over.createStarted ? { createStartedAt: at } : {}) },
      });
      return (await store.get(id))!;
    }
    await store.transition(id, {
      to: 'creating',
      at,
      note: 'created',
      patch: { nodepoolId: over.nodepoolId, ...(over.createStarted ? { createStartedAt: at } : {}) },
    });
    if (state === 'active') await store.transition(id, { to: 'active', at, note: 'active' });
    if (state === 'timed_out')
      await store.transition(id, { to: 'timed_out', at, note: 'deadline', patch: { lastError: { code: 'DeadlineExceeded', message: 'late' } } });
    return (await store.get(id))!;
  }

  const listed = (pools: NodePool[]): ClusterListing => ({ cluster, key: clusterKey(cluster), pools, consecutiveFailures: 0, watchAll: false });
  const unlisted = (): ClusterListing => ({
    cluster,
    key: clusterKey(cluster),
    error: new CloudError({ code: 'ServiceUnavailable', message: 'down', kind: 'server' }),
    consecutiveFailures: 1,
    watchAll: false,
  });
  const track = async (listings: ClusterListing[], ids: string[]) => {
    const requests = (await store.forAlerts(new Date(clock.now() - 24 * 3600_000))).filter((r) => ids.includes(r.id));
    return trackRequests(services, requests, listings, { owner: 'sweep', deadline: clock.now() + 60_000, dispatchGraceMs: 0 });
  };

  it('moves a creating request to active once its pool is active with serving at desired, and not before', async () => {
    const r = await request('edge-a', 'creating', { nodepoolId: 'np-a' });
    expect((await track([listed([pool('np-a', 'edge-a', { state: 'scaling', cloudState: 'scaling', serving: 1, initial: 1 })])], [r.id])).transitions).toEqual(
      {},
    );
    expect((await track([listed([pool('np-a', 'edge-a')])], [r.id])).transitions).toEqual({ active: 1 });
    expect(await store.get(r.id)).toMatchObject({ state: 'active', observed: { cloudState: 'active', serving: 2, desired: 2 } });
  });

  it('takes a pool serving in full as success even with a node still failing (success is checked first)', async () => {
    const r = await request('edge-s', 'creating', { nodepoolId: 'np-s' });
    await track([listed([pool('np-s', 'edge-s', { total: 3, failed: 1, failedInstanceIds: ['i-extra'] })])], [r.id]);
    expect((await store.get(r.id))!.state).toBe('active');
  });

  it('fails a creating ENS request whose nodes failed, naming them, while it is not serving in full', async () => {
    const r = await request('edge-t', 'creating', { nodepoolId: 'np-t' });
    await track([listed([pool('np-t', 'edge-t', { serving: 1, initial: 0, failed: 1, failedInstanceIds: ['i-0123'] })])], [r.id]);
    expect(await store.get(r.id)).toMatchObject({ state: 'failed', lastError: { code: 'NodesFailed', message: '1 of 2 nodes failed to come up: i-0123' } });
  });

  it('fails a creating request whose pool settled with failed nodes, saying how many', async () => {
    const r = await request('edge-b', 'creating', { nodepoolId: 'np-b' });
    await track([listed([pool('np-b', 'edge-b', { serving: 1, failed: 1 })])], [r.id]);
    expect(await store.get(r.id)).toMatchObject({ state: 'failed', lastError: { code: 'NodesFailed', message: '1 of 2 nodes failed; 1 serving' } });
  });

  it('leaves a creating request alone while its cluster cannot be listed, and times it out past its deadline', async () => {
    const r = await request('edge-c', 'creating', { nodepoolId: 'np-c', deadlineInMs: 60_000 });
    expect((await track([unlisted()], [r.id])).transitions).toEqual({});
    await clock.advance(61_000);
    expect((await track([unlisted()], [r.id])).transitions).toEqual({ timed_out: 1 });
    expect(await store.get(r.id)).toMatchObject({ state: 'timed_out', lastError: { code: 'DeadlineExceeded' } });
  });

  it('recovers a timed-out request whose pool turns up active, with the recovery in its history', async () => {
    const r = await request('edge-d', 'timed_out', { nodepoolId: 'np-d' });
    expect((await track([listed([pool('np-d', 'edge-d')])], [r.id])).transitions).toEqual({ active: 1 });
    expect(await store.get(r.id)).toMatchObject({ state: 'active', lastError: undefined });
    expect((await store.history(r.id)).at(-1)!.note).toMatch(/^recovered after the deadline: node pool np-d is active with 2\/2 nodes serving/);
  });

  it('gives a pool found by name to one timed-out request only, and never one an active request holds', async () => {
    // held: an active request has the pool; a timed-out one that called create does not get it
    const holder = await request('edge-e', 'active', { nodepoolId: 'np-e' });
    const late = await request('edge-e', 'timed_out', { createStarted: true });
    expect((await track([listed([pool('np-e', 'edge-e')])], [holder.id, late.id])).transitions).toEqual({});
    expect((await store.get(late.id))!.state).toBe('timed_out');
    // free: of two timed-out requests that may have created it, the older gets it
    const older = await request('edge-h', 'timed_out', { createStarted: true });
    const newer = await request('edge-h', 'timed_out', { createStarted: true });
    expect((await track([listed([pool('np-h', 'edge-h')])], [older.id, newer.id])).transitions).toEqual({ active: 1 });
    expect(await store.get(older.id)).toMatchObject({ state: 'active', nodepoolId: 'np-h' });
    expect((await store.get(newer.id))!.state).toBe('timed_out');
  });

  it('dispatches again what is due, and times out, under a lease, what never got a pool by its deadline', async () => {
    const due = await request('edge-f', 'submitting');
    await store.transition(due.id, { to: 'submitting', at: new Date(clock.now()), note: 'due now', patch: { nextAttemptAt: new Date(clock.now()) } });
    const stale = await request('edge-g', 'submitting', { deadlineInMs: 1_000 });
    await clock.advance(2_000);
    const out = await track([], [due.id, stale.id]);
    expect(out.redriven).toBeGreaterThanOrEqual(1);
    expect(dispatched).toContain(due.id);
    expect(out.transitions).toEqual({ timed_out: 1 });
    expect(await store.get(stale.id)).toMatchObject({ state: 'timed_out', lastError: { code: 'DeadlineExceeded' } });
  });

  it("writes an active request's observation only when its pool changed: a fleet at rest costs no row writes", async () => {
    const r = await request('edge-o', 'active', { nodepoolId: 'np-o' });
    const observe = async (p: NodePool) => {
      const requests = (await store.forAlerts(new Date(clock.now() - 24 * 3600_000))).filter((x) => x.id === r.id);
      await observeActive(services, requests, [listed([p])], new Date(clock.now()));
      return (await store.get(r.id))!;
    };
    const first = await observe(pool('np-o', 'edge-o'));
    expect(first.observed).toMatchObject({ cloudState: 'active', serving: 2, at: new Date(clock.now()).toISOString() });
    const firstSeen = first.observed!.at;
    // A row's xmin changes with every write of it, even one that changes nothing.
    const version = async () => (await db.query<{ v: string }>('SELECT xmin::text AS v FROM nodepool_requests WHERE id = $1', [r.id])).rows[0]!.v;
    const before = await version();
    await clock.advance(60_000);
    // The same pool a minute later: the stored observation, and when it was first seen so, stay.
    expect((await observe(pool('np-o', 'edge-o'))).observed).toEqual(first.observed);
    expect(await version()).toBe(before);
    await clock.advance(60_000);
    const lost = await observe(pool('np-o', 'edge-o', { serving: 1, total: 1 }));
    expect(lost.observed).toMatchObject({ serving: 1, total: 1, at: new Date(clock.now()).toISOString() });
    expect(lost.observed!.at).not.toBe(firstSeen);
  });
});
