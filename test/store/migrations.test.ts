/**
 * Upgrades: a store at an earlier migration moves to the current one without losing what
 * it holds. Firing pool alerts keep firing under their new (pool id) fingerprints, so an
 * upgrade neither resolves nor re-sends them.
 */
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../src/alerts/rules.js';
import { newRequestId } from '../../src/requests/ids.js';
import { ClusterTurnTakenError, type Db, migrate, openPglite, openPostgres, RequestStore } from '../../src/store/index.js';
import { loadMigrations } from '../../src/store/migrations.js';
import { countingDb } from '../helpers/counting.js';
import { DATABASE_URL, isolatedPostgresUrl } from '../helpers/db.js';

const raw: Array<{ name: string; open(): Promise<Db> }> = [
  { name: 'pglite', open: () => openPglite() },
  ...(DATABASE_URL ? [{ name: 'postgres', open: async () => openPostgres(await isolatedPostgresUrl(DATABASE_URL!), 2) }] : []),
];

describe.each(raw)('migrations on $name', (backend) => {
  it('carries firing pool alerts and their held conditions over to the pool-id fingerprint', async () => {
    const db = await backend.open();
    try {
      const all = loadMigrations();
      await migrate(
        db,
        all.filter((m) => m.version < '003'),
      );
      const labels = (pool: string) =>
        JSON.stringify({ rule: 'x', severity: 'critical', provider: 'ens', clusterId: 'eck-up1', nodepoolName: pool, nodepoolId: `np-é${pool}` });
      const insert = (fp: string, rule: string, state: string, pool: string) =>
        db.query(
          `INSERT INTO alerts (fingerprint, rule, severity, state, labels, annotations, starts_at, updated_at) VALUES ($1, $2, 'critical', $3, $4, '{}', now(), now())`,
          [fp, rule, state, labels(pool)],
        );
      await insert(fingerprintOf('under_capacity', 'ens', 'eck-up1', 'edge-a'), 'under_capacity', 'firing', 'edge-a');
      await insert(fingerprintOf('nodes_failed', 'ens', 'eck-up1', 'edge-b'), 'nodes_failed', 'resolved', 'edge-b');
      await insert(fingerprintOf('creation_failed', 'ens', 'eck-up1', 'edge-c'), 'creation_failed', 'firing', 'edge-c');
      await db.query(`INSERT INTO alert_conditions VALUES ($1, 'ens//eck-up1', now(), now())`, [fingerprintOf('under_capacity', 'ens', 'eck-up1', 'edge-a')]);

      expect(await migrate(db, all)).toEqual(all.filter((m) => m.version >= '003').map((m) => m.version));

      const rows = (await db.query<{ rule: string; fingerprint: string }>('SELECT rule, fingerprint FROM alerts ORDER BY id')).rows;
      expect(rows).toEqual([
        { rule: 'under_capacity', fingerprint: fingerprintOf('under_capacity', 'ens', 'eck-up1', 'np-éedge-a') },
        // resolved alerts and creation alerts keep theirs
        { rule: 'nodes_failed', fingerprint: fingerprintOf('nodes_failed', 'ens', 'eck-up1', 'edge-b') },
        { rule: 'creation_failed', fingerprint: fingerprintOf('creation_failed', 'ens', 'eck-up1', 'edge-c') },
      ]);
      expect((await db.query('SELECT fingerprint FROM alert_conditions')).rows).toEqual([
        { fingerprint: fingerprintOf('under_capacity', 'ens', 'eck-up1', 'np-éedge-a') },
      ]);
    } finally {
      await db.close();
    }
  });

  it("keeps two ACK requests a store already has in flight on one cluster, and gives the cluster's turn to one request at a time after them", async () => {
    const db = await backend.open();
    try {
      const all = loadMigrations();
      await migrate(
        db,
        all.filter((m) => m.version < '013'),
      );
      const store = new RequestStore(db);
      const at = new Date('2026-11-30T10:00:00Z');
      let ms = at.getTime();
      const put = async (clusterId = 'c0legacy') =>
        (
          await store.insert({
            id: newRequestId(ms++),
            provider: 'ack',
            regionId: 'cn-beijing',
            clusterId,
            nodepoolName: `p${ms}`,
            state: 'accepted',
            createParams: {},
            bodyHash: 'h',
            source: 'http',
            deadlineAt: new Date(at.getTime() + 3_600_000),
            createdAt: at,
            note: 'accepted',
          })
        ).request!;
      const creating = async (id: string) => {
        await store.transition(id, { to: 'submitting', at, note: 'calling', patch: { createStartedAt: at } });
        await store.transition(id, { to: 'creating', at, note: 'created', patch: { createStartedAt: null } });
      };
      // written before the turn was the store's: two in flight at once on one cluster (one
      // creating, one with its call marked), and one alone on another
      const [old1, old2] = [await put(), await put()];
      await creating(old1.id);
      await store.transition(old2.id, { to: 'submitting', at, note: 'calling', patch: { createStartedAt: at } });
      const alone = await put('c0alone');
      await creating(alone.id);
      expect(await migrate(db, all)).toEqual(all.filter((m) => m.version >= '013').map((m) => m.version));
      // the pair keeps going: the one with its call marked is created as usual
      await store.transition(old2.id, { to: 'creating', at, note: 'created', patch: { createStartedAt: null } });
      // newer requests take turns after them, and the request alone on its cluster holds its turn
      const [a, b] = [await put(), await put()];
      await creating(a.id);
      await expect(creating(b.id)).rejects.toBeInstanceOf(ClusterTurnTakenError);
      expect((await store.get(b.id))!.state).toBe('accepted');
      await expect(creating((await put('c0alone')).id)).rejects.toBeInstanceOf(ClusterTurnTakenError);
    } finally {
      await db.close();
    }
  });

  it('checks an up-to-date store with one read and no transaction, and migrates one that is not', async () => {
    const db = await backend.open();
    try {
      const all = loadMigrations();
      const { db: counted, statements, transactions } = countingDb(db);
      // a new store: the read fails (no table), the locked path applies everything
      expect(await migrate(counted, all)).toEqual(all.map((m) => m.version));
      expect(transactions()).toBe(1);
      const before = { statements: statements(), transactions: transactions() };
      expect(await migrate(counted, all)).toEqual([]);
      expect({ statements: statements() - before.statements, transactions: transactions() - before.transactions }).toEqual({ statements: 1, transactions: 0 });
      // one migration more than the store has: the locked path again
      expect(await migrate(counted, [...all, { version: '999-test', sql: 'CREATE TABLE zz_probe (id int)' }])).toEqual(['999-test']);
      expect(transactions() - before.transactions).toBe(1);
    } finally {
      await db.close();
    }
  });
});
