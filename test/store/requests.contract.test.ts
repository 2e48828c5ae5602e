/**
 * One contract suite, run against every store backend: PGlite and real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKey } from '../../src/cloud/cluster.js';
import { newRequestId } from '../../src/requests/ids.js';
import { AlertStore } from '../../src/store/alerts.js';
import { fleetClusters, fleetPools } from '../../src/store/fleet.js';
import { ClusterTurnTakenError, type Db, migrate, type NewRequest, RequestStore, StaleUpdateError } from '../../src/store/index.js';
import { backends } from '../helpers/db.js';

const T0 = new Date('2026-11-22T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function newRequest(overrides: Partial<NewRequest> = {}): NewRequest {
  return {
    id: newRequestId(Date.now()),
    provider: 'ens',
    clusterId: 'eck-d2666c5f',
    nodepoolName: `pool-${Math.random().toString(36).slice(2, 9)}`,
    state: 'accepted',
    createParams: { ClusterId: 'eck-d2666c5f' },
    bodyHash: 'h1',
    source: 'http',
    deadlineAt: at(1800),
    createdAt: at(0),
    note: 'accepted over HTTP',
    ...overrides,
  };
}

describe.each(backends)('request store on $name', (backend) => {
  let db: Db;
  let store: RequestStore;
  let alertStore: AlertStore;
  beforeAll(async () => {
    db = await backend.open();
    store = new RequestStore(db);
    alertStore = new AlertStore(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('applies migrations once, and again as a no-op', async () => {
    expect(await migrate(db)).toEqual([]);
    const versions = await db.query<{ version: string }>('SELECT version FROM schema_migrations');
    expect(versions.rows.map((r) => r.version)).toContain('001_requests');
  });

  it('stores a request with its first history entry', async () => {
    const r = newRequest();
    const out = await store.insert(r);
    expect(out.kind).toBe('created');
    const got = await store.get(r.id);
    expect(got).toMatchObject({ id: r.id, state: 'accepted', attempts: 0, clusterId: 'eck-d2666c5f', deadlineAt: at(1800) });
    expect(await store.history(r.id)).toEqual([{ at: at(0), state: 'accepted', note: 'accepted over HTTP', cloudRequestId: undefined }]);
  });

  it('returns the earlier request for a replayed idempotency key, and a conflict for a different body', async () => {
    const key = `key-${Math.random()}`;
    const first = await store.insert(newRequest({ idempotencyKey: key }));
    const again = await store.insert(newRequest({ idempotencyKey: key, nodepoolName: 'whatever' }));
    expect(again).toMatchObject({ kind: 'replayed', request: { id: first.request!.id } });
    const other = await store.insert(newRequest({ idempotencyKey: key, bodyHash: 'h2' }));
    expect(other).toMatchObject({ kind: 'key-conflict', request: { id: first.request!.id } });
  });

  it('allows one live request per pool, even when inserts race', async () => {
    const name = `race-${Math.random().toString(36).slice(2)}`;
    const outs = await Promise.all(Array.from({ length: 5 }, () => store.insert(newRequest({ nodepoolName: name }))));
    expect(outs.filter((o) => o.kind === 'created')).toHaveLength(1);
    const winner = outs.find((o) => o.kind === 'created')!.request.id;
    expect(outs.filter((o) => o.kind === 'pool-conflict').every((o) => o.request!.id === winner)).toBe(true);
  });

  it('lets one racing idempotent insert win and replays it to the others', async () => {
    const key = `key-race-${Math.random()}`;
    const outs = await Promise.all(Array.from({ length: 5 }, () => store.insert(newRequest({ idempotencyKey: key }))));
    expect(outs.filter((o) => o.kind === 'created')).toHaveLength(1);
    expect(new Set(outs.map((o) => o.request!.id)).size).toBe(1);
  });

  it('admits a new request for a pool once the earlier one is final', async () => {
    const name = `again-${Math.random().toString(36).slice(2)}`;
    const first = await store.insert(newRequest({ nodepoolName: name }));
    await store.transition(first.request!.id, { from: ['accepted'], to: 'failed', at: at(5), note: 'refused' });
    expect((await store.insert(newRequest({ nodepoolName: name }))).kind).toBe('created');
  });

  it('refuses a name the last listing shows, naming our request, until the cluster is no longer watched', async () => {
    const clusterId = `eck-names-${Math.random().toString(36).slice(2, 8)}`;
    const mine = (await store.insert(newRequest({ clusterId, nodepoolName: 'edge-a' }))).request!;
    await store.transition(mine.id, { from: ['accepted'], to: 'creating', at: at(5), note: 'created', patch: { nodepoolId: 'np-a' } });
    const ref = { provider: 'ens' as const, clusterId };
    // Prepare: one listing with a pool of ours (listed twice, as a shifting page may) and one of someone else's
    await store.recordListings(
      [
        {
          ...ref,
          pools: [
            { id: 'np-a', name: 'edge-a' },
            { id: 'np-x', name: 'theirs' },
            { id: 'np-a', name: 'edge-a' },
          ],
        },
      ],
      [ref],
      at(10),
    );
    // A live request of ours for the name is a pool conflict, not a taken name
    expect(await store.insert(newRequest({ clusterId, nodepoolName: 'edge-a' }))).toMatchObject({ kind: 'pool-conflict', request: { id: mine.id } });
    await store.transition(mine.id, { from: ['creating'], to: 'active', at: at(20), note: 'active' });
    expect(await store.insert(newRequest({ clusterId, nodepoolName: 'edge-a' }))).toMatchObject({
      kind: 'name-taken',
      nodepoolId: 'np-a',
      request: { id: mine.id },
    });
    const theirs = await store.insert(newRequest({ clusterId, nodepoolName: 'theirs' }));
    expect(theirs).toMatchObject({ kind: 'name-taken', nodepoolId: 'np-x', seenAt: at(10) });
    expect(theirs.request).toBeUndefined();
    // A later listing without the pool frees the name; so does the cluster leaving the watch
    await store.recordListings([{ ...ref, pools: [{ id: 'np-a', name: 'edge-a' }] }], [ref], at(30));
    expect((await store.insert(newRequest({ clusterId, nodepoolName: 'theirs' }))).kind).toBe('created');
    // a batch of another cluster's listings, recorded without the watched list, forgets nothing else
    await store.recordListings([{ provider: 'ens', clusterId: `${clusterId}-other`, pools: [] }], undefined, at(35));
    expect(await store.insert(newRequest({ clusterId, nodepoolName: 'edge-a' }))).toMatchObject({ kind: 'name-taken', nodepoolId: 'np-a' });
    await store.recordListings([], [], at(40));
    expect((await store.insert(newRequest({ clusterId, nodepoolName: 'edge-a' }))).kind).toBe('created');
  });

  it('keeps since when each pool has been in its state, and forgets the pools and health of clusters no longer watched', async () => {
    const ref = { provider: 'ens' as const, clusterId: `eck-since-${Math.random().toString(36).slice(2, 8)}` };
    const pool = (state: 'scaling' | 'active', serving: number) => ({
      id: 'np-s',
      name: 'edge-s',
      state,
      cloudState: state,
      desired: 2,
      total: 2,
      serving,
      initial: 2 - serving,
      failed: null,
      offline: null,
    });
    const since = async () => (await fleetPools(store.db, 'ens', ref.clusterId))?.pools[0]?.stateSince?.getTime();
    await alertStore.recordClusters([{ key: clusterKey(ref), ok: true }], at(10));
    await store.recordListings([{ ...ref, pools: [pool('scaling', 0)] }], [ref], at(10));
    await store.recordListings([{ ...ref, pools: [pool('scaling', 1)] }], [ref], at(20));
    expect(await since()).toBe(at(10).getTime());
    await store.recordListings([{ ...ref, pools: [pool('active', 2)] }], [ref], at(30));
    expect(await since()).toBe(at(30).getTime());
    expect((await fleetPools(store.db, 'ens', ref.clusterId))?.pools[0]).toMatchObject({ health: 'healthy', serving: 2, seenAt: at(30) });
    // A listing that shows the same writes nothing; the cluster's listing time says it was seen.
    const version = async () =>
      (await store.db.query<{ v: string }>(`SELECT xmin::text AS v FROM cluster_pools WHERE cluster_id = $1`, [ref.clusterId])).rows[0]!.v;
    const before = await version();
    await store.recordListings([{ ...ref, pools: [pool('active', 2)] }], [ref], at(35));
    expect(await version()).toBe(before);
    await alertStore.recordClusters([{ key: clusterKey(ref), ok: true }], at(35));
    expect((await fleetPools(store.db, 'ens', ref.clusterId))?.pools[0]).toMatchObject({ seenAt: at(35), stateSince: at(30) });
    await store.recordListings([], [], at(40));
    expect(await fleetPools(store.db, 'ens', ref.clusterId)).toBeUndefined();
    expect((await fleetClusters(store.db)).clusters.find((c) => c.clusterId === ref.clusterId)).toBeUndefined();
  });

  it('gives the lease to one worker at a time, and to another once it expires', async () => {
    const r = (await store.insert(newRequest())).request!;
    const leases = await Promise.all(['w1', 'w2', 'w3'].map((w) => store.acquireLease(r.id, w, at(10), 60_000)));
    expect(leases.filter(Boolean)).toHaveLength(1);
    const holder = leases.find(Boolean)!.leaseOwner!;
    expect(await store.acquireLease(r.id, 'w9', at(30), 60_000)).toBeUndefined();
    expect(await store.acquireLease(r.id, 'w9', at(71), 60_000)).toMatchObject({ leaseOwner: 'w9' });
    // the old holder's writes no longer apply
    await expect(store.transition(r.id, { from: ['accepted'], to: 'submitting', owner: holder, at: at(72), note: 'late' })).rejects.toBeInstanceOf(
      StaleUpdateError,
    );
  });

  it('does not lease a deferred request before its time, unless forced', async () => {
    const r = (await store.insert(newRequest())).request!;
    await store.transition(r.id, { from: ['accepted'], to: 'submitting', at: at(1), note: 'busy', patch: { nextAttemptAt: at(100) } });
    expect(await store.acquireLease(r.id, 'w', at(50), 1000)).toBeUndefined();
    expect(await store.acquireLease(r.id, 'w', at(50), 1000, { force: true })).toBeDefined();
    await store.releaseLease(r.id, 'w');
    expect(await store.acquireLease(r.id, 'w2', at(101), 1000)).toBeDefined();
  });

  it('writes each state change and its history entry together', async () => {
    const r = (await store.insert(newRequest())).request!;
    await store.acquireLease(r.id, 'w', at(1), 60_000);
    await store.transition(r.id, {
      from: ['accepted'],
      to: 'submitting',
      owner: 'w',
      at: at(2),
      note: 'calling CreateClusterNodePool',
      patch: { attempts: 1, createStartedAt: at(2) },
    });
    const done = await store.transition(r.id, {
      from: ['submitting'],
      to: 'creating',
      owner: 'w',
      at: at(3),
      note: 'created',
      cloudRequestId: 'RID-1',
      patch: { nodepoolId: 'np1', createStartedAt: null },
      releaseLease: true,
    });
    expect(done).toMatchObject({ state: 'creating', nodepoolId: 'np1', attempts: 1, createStartedAt: undefined, leaseOwner: undefined });
    expect((await store.history(r.id)).map((h) => [h.state, h.cloudRequestId ?? null])).toEqual([
      ['accepted', null],
      ['submitting', null],
      ['creating', 'RID-1'],
    ]);
    await expect(store.transition(r.id, { from: ['accepted'], to: 'submitting', at: at(4), note: 'x' })).rejects.toMatchObject({
      current: { state: 'creating' },
    });
    expect(await store.history(r.id)).toHaveLength(3);
  });

  it("gives an ACK cluster's turn to one request at a time: a second mark is refused and writes nothing", async () => {
    const cluster = `c${Math.random().toString(16).slice(2, 12)}`;
    const ack = () => store.insert(newRequest({ provider: 'ack', regionId: 'cn-beijing', clusterId: cluster }));
    const mark = (id: string, s: number) =>
      store.transition(id, { from: ['accepted', 'submitting'], to: 'submitting', at: at(s), note: 'calling', patch: { createStartedAt: at(s) } });
    const [a, b, c] = [(await ack()).request!, (await ack()).request!, (await ack()).request!];
    // waiting, deferred without a mark: no turn held
    await store.transition(b.id, { from: ['accepted'], to: 'submitting', at: at(1), note: 'deferred', patch: { nextAttemptAt: at(60) } });
    await mark(a.id, 2);
    await expect(mark(b.id, 3)).rejects.toBeInstanceOf(ClusterTurnTakenError);
    expect(await store.get(b.id)).toMatchObject({ state: 'submitting', createStartedAt: undefined });
    expect((await store.history(b.id)).map((h) => h.note)).toEqual(['accepted over HTTP', 'deferred']);
    // the holder keeps its turn through `creating`, and a request that needs no call cannot take it by `applying`
    await store.transition(a.id, { from: ['submitting'], to: 'creating', at: at(4), note: 'created', patch: { createStartedAt: null } });
    await expect(store.transition(c.id, { from: ['accepted'], to: 'applying', at: at(5), note: 'no call needed' })).rejects.toBeInstanceOf(
      ClusterTurnTakenError,
    );
    // another cluster, and ENS (which takes operations side by side), are not held
    const other = (await store.insert(newRequest({ provider: 'ack', regionId: 'cn-beijing', clusterId: `${cluster}x` }))).request!;
    await mark(other.id, 5);
    const ens = [(await store.insert(newRequest())).request!, (await store.insert(newRequest())).request!];
    for (const r of ens) await mark(r.id, 5);
    // nothing is woken while the holder is in the cloud (a waiter that ends meanwhile hands on nothing)
    const ref = { provider: 'ack' as const, regionId: 'cn-beijing', clusterId: cluster };
    expect(await store.wakeNextOnCluster(ref, at(5), { owner: 'w1', until: at(60) })).toBeUndefined();
    expect(await store.get(b.id)).toMatchObject({ leaseOwner: undefined, nextAttemptAt: at(60) });
    // the holder's end frees the turn
    await store.transition(a.id, { from: ['creating'], to: 'active', at: at(6), note: 'active' });
    expect((await store.wakeNextOnCluster(ref, at(6)))?.id).toBe(b.id);
    expect(await mark(b.id, 7)).toMatchObject({ state: 'submitting', createStartedAt: at(7) });
    expect((await store.aheadOnCluster(c))?.id).toBe(b.id);
  });

  it('stores an ACK request with one of ours ahead already waiting, and one with none leased to the worker that drives it', async () => {
    const cluster = `c${Math.random().toString(16).slice(2, 12)}`;
    const turn = { waitNote: 'behind %s, which is %s', waitUntil: at(300) };
    const ack = (worker: string) =>
      store.insert(newRequest({ provider: 'ack', regionId: 'cn-beijing', clusterId: cluster, turn, lease: { owner: worker, until: at(30) } }));
    const a = await ack('w1');
    expect(a).toMatchObject({ kind: 'created', request: { state: 'accepted', leaseOwner: 'w1', leaseExpiresAt: at(30), nextAttemptAt: undefined } });
    expect(a.kind === 'created' && a.waitingFor).toBeUndefined();
    const b = await ack('w2');
    expect(b).toMatchObject({
      kind: 'created',
      waitingFor: { id: a.request!.id, state: 'accepted' },
      request: { state: 'submitting', leaseOwner: undefined, nextAttemptAt: at(300), attempts: 0 },
    });
    expect((await store.history(b.request!.id)).map((h) => [h.state, h.note])).toEqual([
      ['accepted', 'accepted over HTTP'],
      ['submitting', `behind ${a.request!.id}, which is accepted`],
    ]);
    // it waits: no worker leases it before its time, and the end of the one ahead wakes it
    expect(await store.acquireLease(b.request!.id, 'w3', at(1), 60_000)).toBeUndefined();
    await store.releaseLease(a.request!.id, 'w1');
    await store.transition(a.request!.id, { from: ['accepted'], to: 'failed', at: at(2), note: 'failed before its call' });
    const ref = { provider: 'ack' as const, regionId: 'cn-beijing', clusterId: cluster };
    expect(await store.wakeNextOnCluster(ref, at(2), { owner: 'w5', until: at(40) })).toMatchObject({
      id: b.request!.id,
      nextAttemptAt: at(2),
      leaseOwner: 'w5',
      leaseExpiresAt: at(40),
    });
    // held by the worker that woke it: nobody else wakes or leases it meanwhile
    expect(await store.wakeNextOnCluster(ref, at(3))).toBeUndefined();
    expect(await store.acquireLease(b.request!.id, 'w6', at(3), 60_000)).toBeUndefined();
    // a third waits for the second, which is next; another region's cluster of that id, and ENS, never wait
    expect(await ack('w4')).toMatchObject({ waitingFor: { id: b.request!.id, state: 'submitting' }, request: { state: 'submitting' } });
    const elsewhere = await store.insert(newRequest({ provider: 'ack', regionId: 'cn-hangzhou', clusterId: cluster, turn }));
    expect(elsewhere).toMatchObject({ kind: 'created', request: { state: 'accepted' } });
    const ens = [await store.insert(newRequest({ turn })), await store.insert(newRequest({ turn }))];
    expect(ens.map((o) => [o.kind, o.kind === 'created' && o.waitingFor, o.request?.state])).toEqual([
      ['created', undefined, 'accepted'],
      ['created', undefined, 'accepted'],
    ]);
  });

  it.runIf(backend.name === 'postgres')(
    'an ACK insert meeting the end of the request ahead as it is written waits for that write, and then does not wait',
    async () => {
      const cluster = `c${Math.random().toString(16).slice(2, 12)}`;
      const turn = { waitNote: 'behind %s (%s)', waitUntil: at(300) };
      const ack = () => store.insert(newRequest({ provider: 'ack', regionId: 'cn-beijing', clusterId: cluster, turn }));
      const a = (await ack()).request!;
      await store.transition(a.id, { from: ['accepted'], to: 'submitting', at: at(1), note: 'calling', patch: { createStartedAt: at(1) } });
      await store.transition(a.id, { from: ['submitting'], to: 'creating', at: at(2), note: 'created', patch: { createStartedAt: null } });
      const { insert: inserting } = await db.transaction(async (tx) => {
        // the end of the one ahead, written and not yet committed, while the next is inserted
        await tx.query("UPDATE nodepool_requests SET state = 'active' WHERE id = $1", [a.id]);
        const insert = ack();
        // the insert waits on the row being written (as the store's other connections see; the
        // activity view keeps the start of a statement's text)
        for (const until = Date.now() + 10_000; Date.now() < until; ) {
          const waiting = await db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%WITH by_key AS%' AND datname = current_database()",
          );
          if (waiting.rows[0]!.n > 0) return { insert }; // (not the promise itself, which the transaction would await)
        }
        throw new Error('the insert did not wait for the write of the request ahead');
      });
      // it read the committed end: no one is ahead, so its wake-up (which ran before it was stored) is not needed
      expect(await inserting).toMatchObject({ kind: 'created', request: { state: 'accepted' } });
      expect(((await inserting) as { waitingFor?: unknown }).waitingFor).toBeUndefined();
    },
  );

  it('marks which firing alerts a sweep inhibited, by which cluster, and clears the rest', async () => {
    const fire = async (n: number) =>
      (await alertStore.fire({
        fingerprint: `inhibit-${n}-${Math.random()}`,
        rule: 'nodes_failed',
        severity: 'warning',
        labels: { alertname: 'nodes_failed' } as never,
        annotations: {} as never,
        startsAt: at(0),
      }))!;
    const [a, b, c] = [await fire(1), await fire(2), await fire(3)];
    const inhibition = async () => new Map((await alertStore.firing()).filter((x) => [a.id, b.id, c.id].includes(x.id)).map((x) => [x.id, x.inhibitedBy]));
    // each sweep's inhibitions, and what the alerts then say
    const sweep = async (marks: Array<[number, string]>, expected: Array<[number, string | undefined]>) => {
      await alertStore.markInhibited(new Map(marks));
      expect(await inhibition()).toEqual(new Map(expected));
    };
    await sweep(
      [
        [a.id, 'ens//eck-1'],
        [b.id, 'ens//eck-1'],
      ],
      [
        [a.id, 'ens//eck-1'],
        [b.id, 'ens//eck-1'],
        [c.id, undefined],
      ],
    );
    // the next sweep: a by another cluster, b no longer, c now
    await sweep(
      [
        [a.id, 'ens//eck-2'],
        [c.id, 'ens//eck-1'],
      ],
      [
        [a.id, 'ens//eck-2'],
        [b.id, undefined],
        [c.id, 'ens//eck-1'],
      ],
    );
    await alertStore.markInhibited(new Map());
    expect([...(await inhibition()).values()]).toEqual([undefined, undefined, undefined]);
    await alertStore.resolve(
      [a, b, c].map((x) => ({ id: x.id })),
      at(1),
    );
  });

  it('reads a request that marked its call as ahead, even when it sorts after the one asking', async () => {
    const cluster = `c${Math.random().toString(16).slice(2, 12)}`;
    const later = (await store.insert(newRequest({ provider: 'ack', regionId: 'cn-beijing', clusterId: cluster }))).request!;
    // accepted in the same millisecond elsewhere, and sorting first
    const earlier = (
      await store.insert(newRequest({ id: `${later.id.slice(0, 14)}${'0'.repeat(16)}`, provider: 'ack', regionId: 'cn-beijing', clusterId: cluster }))
    ).request!;
    expect(await store.aheadOnCluster(earlier)).toBeUndefined();
    expect((await store.aheadOnCluster(later))?.id).toBe(earlier.id);
    await store.transition(later.id, { from: ['accepted'], to: 'submitting', at: at(1), note: 'calling', patch: { createStartedAt: at(1) } });
    expect((await store.aheadOnCluster(earlier))?.id).toBe(later.id);
  });

  it('refuses a transition the state machine does not allow, and writes nothing', async () => {
    const r = (await store.insert(newRequest())).request!;
    await store.transition(r.id, { to: 'failed', at: at(1), note: 'refused' });
    await expect(store.transition(r.id, { to: 'creating', from: 'failed', at: at(2), note: 'resurrect' })).rejects.toMatchObject({
      name: 'IllegalTransitionError',
      from: 'failed',
      to: 'creating',
    });
    await expect(store.transition(r.id, { to: 'accepted', at: at(2), note: 'back' })).rejects.toBeInstanceOf(StaleUpdateError);
    expect((await store.history(r.id)).map((h) => h.state)).toEqual(['accepted', 'failed']);
    expect((await store.get(r.id))!.state).toBe('failed');
  });

  it('stores errors and observations as JSON', async () => {
    const r = (await store.insert(newRequest())).request!;
    const failed = await store.transition(r.id, {
      from: ['accepted'],
      to: 'failed',
      at: at(2),
      note: 'refused',
      patch: { lastError: { code: 'InvalidParameter.ClusterId', message: 'no such cluster', requestId: 'R' } },
    });
    expect(failed.lastError).toEqual({ code: 'InvalidParameter.ClusterId', message: 'no such cluster', requestId: 'R' });
    const observed = {
      cloudState: 'scaling',
      desired: 3,
      total: 3,
      serving: 1,
      healthy: null,
      initial: 2,
      failed: 0,
      offline: null,
      removing: 0,
      at: at(3).toISOString(),
    };
    await store.observe(r.id, observed, at(3));
    expect((await store.get(r.id))!.observed).toEqual(observed);
  });

  it('keeps an observation that changed only in its time, and the row unwritten; writes one that changed', async () => {
    const r = (await store.insert(newRequest())).request!;
    const seen = { cloudState: 'active', desired: 2, total: 2, serving: 2, healthy: null, initial: 0, failed: null, offline: null, removing: 0 };
    await store.observeMany([{ id: r.id, observed: { ...seen, at: at(3).toISOString() } }]);
    // A row's xmin changes with every write of it, even one that changes nothing.
    const version = async () => (await store.db.query<{ v: string }>('SELECT xmin::text AS v FROM nodepool_requests WHERE id = $1', [r.id])).rows[0]!.v;
    const before = await version();
    await store.observeMany([{ id: r.id, observed: { ...seen, at: at(4).toISOString() } }]);
    expect(await version()).toBe(before);
    expect((await store.get(r.id))!.observed).toEqual({ ...seen, at: at(3).toISOString() });
    await store.observeMany([{ id: r.id, observed: { ...seen, serving: 1, at: at(5).toISOString() } }]);
    expect((await store.get(r.id))!.observed).toEqual({ ...seen, serving: 1, at: at(5).toISOString() });
  });

  it('pages through a filtered list, newest first', async () => {
    const clusterId = `eck-${Math.random().toString(36).slice(2, 10)}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = newRequest({ clusterId, id: newRequestId(T0.getTime() + i * 1000) });
      ids.push(r.id);
      await store.insert(r);
    }
    const p1 = await store.list({ clusterId, limit: 2 });
    const p2 = await store.list({ clusterId, limit: 2, cursor: p1.nextCursor });
    const p3 = await store.list({ clusterId, limit: 2, cursor: p2.nextCursor });
    expect([...p1.items, ...p2.items, ...p3.items].map((r) => r.id)).toEqual([...ids].reverse());
    expect(p3.nextCursor).toBeUndefined();
    expect((await store.list({ clusterId, state: 'failed', limit: 10 })).items).toEqual([]);
  });

  it('finds requests due for dispatch: deferred past their time, and accepted past the grace period', async () => {
    const clusterId = `eck-due-${Math.random().toString(36).slice(2, 8)}`;
    const fresh = (await store.insert(newRequest({ clusterId, createdAt: at(0) }))).request!;
    const deferred = (await store.insert(newRequest({ clusterId, createdAt: at(0) }))).request!;
    await store.transition(deferred.id, { from: ['accepted'], to: 'submitting', at: at(1), note: 'busy', patch: { nextAttemptAt: at(20) } });
    const due = async (s: number) => (await store.dueForDispatch(at(s), 60_000, 100)).filter((r) => r.clusterId === clusterId).map((r) => r.id);
    expect(await due(10)).toEqual([]);
    expect(await due(21)).toEqual([deferred.id]);
    expect(await due(61)).toEqual([fresh.id, deferred.id].sort());
  });
});
