/**
 * Storing a new request is one statement (no transaction) that also answers the idempotency
 * key, a live request for the pool and a taken name; under concurrency the unique indexes
 * stay the last word. Run against every store backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRequestId } from '../../src/requests/ids.js';
import { type Db, type InsertOutcome, migrate, type NewRequest, openPglite, openPostgres, RequestStore, StoreRejectedError } from '../../src/store/index.js';
import { insertRequest } from '../../src/store/insert.js';
import { countingDb } from '../helpers/counting.js';
import { backends, DATABASE_URL, isolatedPostgresUrl } from '../helpers/db.js';

const T0 = new Date('2026-11-22T10:00:00Z');

const migrated = async (db: Db) => {
  await migrate(db);
  return db;
};

function newRequest(overrides: Partial<NewRequest> = {}): NewRequest {
  return {
    id: newRequestId(Date.now()),
    provider: 'ens',
    regionId: 'cn-hangzhou',
    clusterId: 'eck-insert01',
    nodepoolName: `pool-${Math.random().toString(36).slice(2, 9)}`,
    state: 'accepted',
    createParams: { ClusterId: 'eck-insert01', ScalingGroup: { Password: '******' } },
    sealedSecrets: 'v1:iv:tag:ct',
    bodyHash: 'h1',
    source: 'http',
    deadlineAt: new Date(T0.getTime() + 1_800_000),
    createdAt: T0,
    note: 'accepted from the HTTP API',
    ...overrides,
  };
}

describe.each(backends)('storing a new request on $name', (backend) => {
  let db: Db;
  let store: RequestStore;
  beforeAll(async () => {
    db = await backend.open();
    store = new RequestStore(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('takes one statement and no transaction, whether it stores, replays or refuses', async () => {
    const c = countingDb(db);
    const counted = new RequestStore(c.db);
    const clusterId = `eck-one-${Math.random().toString(36).slice(2, 8)}`;
    const outcomes: InsertOutcome['kind'][] = [];
    const step = async (r: NewRequest) => {
      const before = c.statements();
      const out = await counted.insert(r);
      outcomes.push(out.kind);
      expect(c.statements() - before).toBe(1);
      return out;
    };
    const first = await step(newRequest({ clusterId, nodepoolName: 'a', idempotencyKey: `one-${clusterId}` }));
    await step(newRequest({ clusterId, nodepoolName: 'a', idempotencyKey: `one-${clusterId}` }));
    await step(newRequest({ clusterId, nodepoolName: 'a', idempotencyKey: `one-${clusterId}`, bodyHash: 'h2' }));
    await step(newRequest({ clusterId, nodepoolName: 'a' }));
    await store.recordListings([{ provider: 'ens', clusterId, pools: [{ id: 'np-x', name: 'b' }] }], [{ provider: 'ens', clusterId }], T0);
    await step(newRequest({ clusterId, nodepoolName: 'b' }));
    await step(
      newRequest({ state: 'rejected', provider: undefined, clusterId: undefined, nodepoolName: undefined, rejectReasons: [{ path: '', message: 'x' }] }),
    );
    expect(outcomes).toEqual(['created', 'replayed', 'key-conflict', 'pool-conflict', 'name-taken', 'created']);
    expect(c.transactions()).toBe(0);
    // What the statement answered is what was stored, secrets still sealed and masked
    const stored = await store.get(first.request!.id);
    expect(first.request).toEqual(stored);
    expect(stored).toMatchObject({ sealedSecrets: 'v1:iv:tag:ct', createParams: { ScalingGroup: { Password: '******' } }, regionId: 'cn-hangzhou' });
    expect(await store.history(first.request!.id)).toEqual([{ at: T0, state: 'accepted', note: 'accepted from the HTTP API', cloudRequestId: undefined }]);
  });

  it('answers a refused insert with the existing request as it is stored', async () => {
    const clusterId = `eck-same-${Math.random().toString(36).slice(2, 8)}`;
    const first = (await store.insert(newRequest({ clusterId, nodepoolName: 'a', idempotencyKey: `same-${clusterId}` }))).request!;
    const live = await store.insert(newRequest({ clusterId, nodepoolName: 'a' }));
    const replay = await store.insert(newRequest({ clusterId, nodepoolName: 'a', idempotencyKey: `same-${clusterId}` }));
    expect(live).toEqual({ kind: 'pool-conflict', request: first });
    expect(replay).toEqual({ kind: 'replayed', request: first });
  });

  it('stores exactly one of 20 concurrent inserts for one pool, and names it to the other 19', async () => {
    const name = `race-${Math.random().toString(36).slice(2)}`;
    const outs = await Promise.all(Array.from({ length: 20 }, () => store.insert(newRequest({ nodepoolName: name }))));
    const created = outs.filter((o) => o.kind === 'created');
    expect(created).toHaveLength(1);
    const winner = created[0]!.request!.id;
    expect(outs.filter((o) => o.kind === 'pool-conflict' && o.request.id === winner)).toHaveLength(19);
    const stored = await db.query<{ id: string }>('SELECT id FROM nodepool_requests WHERE nodepool_name = $1', [name]);
    expect(stored.rows.map((r) => r.id)).toEqual([winner]);
    expect(await store.history(winner)).toHaveLength(1);
  });

  it('stores exactly one of 20 concurrent inserts with one idempotency key, replaying it or refusing a different body', async () => {
    const key = `key-race-${Math.random()}`;
    const inputs = Array.from({ length: 20 }, (_, i) => newRequest({ idempotencyKey: key, bodyHash: i % 2 ? 'odd' : 'even', nodepoolName: `k-${i}` }));
    const outs = await Promise.all(inputs.map((r) => store.insert(r)));
    const created = outs.filter((o) => o.kind === 'created');
    expect(created).toHaveLength(1);
    const winner = created[0]!.request!;
    expect(new Set(outs.map((o) => o.request!.id))).toEqual(new Set([winner.id]));
    outs.forEach((o, i) => {
      if (o.kind !== 'created') expect(o.kind).toBe(inputs[i]!.bodyHash === winner.bodyHash ? 'replayed' : 'key-conflict');
    });
    expect(outs.filter((o) => o.kind === 'replayed')).toHaveLength(9);
    expect(outs.filter((o) => o.kind === 'key-conflict')).toHaveLength(10);
    expect((await db.query('SELECT id FROM nodepool_requests WHERE idempotency_key = $1', [key])).rows).toHaveLength(1);
  });

  it('answers a value the store cannot keep as refused, and goes on storing', async () => {
    await expect(store.insert(newRequest({ nodepoolName: 'nul\u0000name' }))).rejects.toBeInstanceOf(StoreRejectedError);
    expect((await store.insert(newRequest())).kind).toBe('created');
  });

  it('prepares its statement again when the session has lost it', async () => {
    expect((await store.insert(newRequest())).kind).toBe('created');
    await db.exec('DEALLOCATE ALL');
    expect((await store.insert(newRequest())).kind).toBe('created');
    expect((await store.insert(newRequest())).kind).toBe('created');
  });

  it.runIf(backend.name === 'postgres')('goes unnamed when a pooler hands it a server connection that already has the statement (42P05)', async () => {
    // one connection, on which the statement's name is taken behind the client's back
    const one = await migrated(await openPostgres(await isolatedPostgresUrl(DATABASE_URL!), 1));
    try {
      await one.exec('PREPARE insert_request AS SELECT 1');
      const again = new RequestStore(one);
      expect((await again.insert(newRequest())).kind).toBe('created');
      expect((await again.insert(newRequest())).kind).toBe('created');
    } finally {
      await one.close();
    }
  });

  it.runIf(backend.name === 'postgres')('waits for an uncommitted insert of the same pool, and names it once committed', async () => {
    const name = `held-${Math.random().toString(36).slice(2)}`;
    const { outcome, held } = await racingHeldInsert(db, newRequest({ nodepoolName: name }), newRequest({ nodepoolName: name }), 'commit');
    expect(outcome).toEqual({ kind: 'pool-conflict', request: held });
  });

  it.runIf(backend.name === 'postgres')('waits for an uncommitted insert of the same key, and replays it once committed', async () => {
    const key = `held-${Math.random()}`;
    const { outcome, held } = await racingHeldInsert(db, newRequest({ idempotencyKey: key }), newRequest({ idempotencyKey: key }), 'commit');
    expect(outcome).toEqual({ kind: 'replayed', request: held });
  });

  it.runIf(backend.name === 'postgres')('stores the request when the uncommitted insert it waited for rolls back', async () => {
    const name = `rolled-${Math.random().toString(36).slice(2)}`;
    const mine = newRequest({ nodepoolName: name });
    const { outcome } = await racingHeldInsert(db, newRequest({ nodepoolName: name }), mine, 'rollback');
    expect(outcome).toMatchObject({ kind: 'created', request: { id: mine.id } });
    expect(await store.history(mine.id)).toHaveLength(1);
  });
});

/**
 * Holds `first` inserted in an open transaction, starts inserting `second` (which must wait
 * on the unique index), then commits or rolls back `first` and answers what `second` got.
 */
async function racingHeldInsert(db: Db, first: NewRequest, second: NewRequest, end: 'commit' | 'rollback') {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held: InsertOutcome | undefined;
  let pid = 0;
  const holding = db
    .transaction(async (tx) => {
      pid = Number((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
      held = await insertRequest(tx, first);
      await gate;
      if (end === 'rollback') throw new Error('rolled back on purpose');
    })
    .catch((err: Error) => {
      if (err.message !== 'rolled back on purpose') throw err;
    });
  while (!held) await new Promise((r) => setImmediate(r));
  const racing = insertRequest(db, second);
  // Go on only once the second insert waits on the first one's lock.
  for (;;) {
    const waiting = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [pid]);
    if (waiting.rows[0]!.n > 0) break;
  }
  release();
  await holding;
  return { outcome: await racing, held: held.request };
}

describe('storing a new request on PGlite with a data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npp-insert-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps what it stored across a reopen', async () => {
    const first = await openPglite(dir);
    await migrate(first);
    const r = newRequest();
    expect((await new RequestStore(first).insert(r)).kind).toBe('created');
    await first.close();
    const again = await openPglite(dir);
    try {
      const store = new RequestStore(again);
      expect(await store.get(r.id)).toMatchObject({ id: r.id, state: 'accepted' });
      expect(await store.history(r.id)).toHaveLength(1);
      expect(await store.insert(newRequest({ nodepoolName: r.nodepoolName }))).toMatchObject({ kind: 'pool-conflict', request: { id: r.id } });
    } finally {
      await again.close();
    }
  }, 60_000);
});
