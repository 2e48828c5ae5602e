/**
 * The request store. Every state change is one statement with its history entry; leases
 * are conditional UPDATEs; the partial unique indexes make "one live request per pool" and
 * "one request per idempotency key" hold even between concurrent instances.
 */
import { clusterKey } from '../cloud/cluster.js';
import type { NodePool, Provider } from '../cloud/nodepool.js';
import type { HistoryEntry, NodepoolRequest, ObservedStatus } from '../requests/model.js';
import { ALERTABLE_FINAL_STATES, IN_CLOUD_STATES, LIVE_STATES, PRE_CREATE_STATES, type RequestState, sourcesOf, WATCHED_STATES } from '../requests/state.js';
import type { Db, Queryable } from './db.js';
import { StaleUpdateError } from './errors.js';
import { insertRequest } from './insert.js';
import { COLUMNS, date, type InsertOutcome, JSON_COLUMNS, type ListFilter, type NewRequest, type RequestPatch, type Row, toRequest } from './rows.js';

export type { InsertOutcome, ListFilter, NewRequest } from './rows.js';

/** Final states the sweep reads while they are recent: those that alert, and a delete that ended (it ends its pool's alerts). */
const SETTLED_STATES: readonly RequestState[] = [...ALERTABLE_FINAL_STATES, 'deleted'];

/** What the store keeps of a listed pool for the fleet API; what a caller leaves out is kept as null. */
export type PoolSnapshot = Pick<NodePool, 'id' | 'name'> &
  Partial<Pick<NodePool, 'state' | 'cloudState' | 'desired' | 'total' | 'serving' | 'initial' | 'failed' | 'offline' | 'isDefault'>>;

export class RequestStore {
  constructor(readonly db: Db) {}

  /** Stores a new request with its first history entry, or says what refused it (see insert.ts). */
  insert(r: NewRequest): Promise<InsertOutcome> {
    return insertRequest(this.db, r);
  }

  /**
   * Replaces what the store knows of the listed clusters' pools with their latest listings
   * (what each pool showed, and since when it has shown that state; a row is written only when
   * its pool changed, so `seen_at` is when it was last seen changed, and the cluster's last
   * listing in cluster_health says when it was last seen at all), and, given `watched`, forgets
   * the pools and the health of every cluster not in it: what nobody watches any more would go
   * stale, and a stale pool would refuse a name that is free again. (A sweep records its
   * batches of listings without `watched`, and forgets once.)
   */
  async recordListings(
    listings: Array<{ provider: Provider; regionId?: string; clusterId: string; pools: PoolSnapshot[] }>,
    watched: Array<{ provider: Provider; regionId?: string; clusterId: string }> | undefined,
    now: Date,
  ): Promise<void> {
    const rows = new Map<string, PoolSnapshot & { provider: Provider; regionId?: string; clusterId: string }>();
    for (const c of listings)
      for (const p of c.pools)
        rows.set(`${c.provider}\u0000${c.clusterId}\u0000${p.id}`, { ...p, provider: c.provider, regionId: c.regionId, clusterId: c.clusterId });
    const pools = [...rows.values()];
    const column = <T>(f: (p: (typeof pools)[number]) => T | undefined) => pools.map((p) => f(p) ?? null);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `DELETE FROM cluster_pools
          WHERE ((provider, cluster_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                 AND (provider, cluster_id, nodepool_id) NOT IN (SELECT * FROM unnest($5::text[], $6::text[], $7::text[])))
             OR ($3::text[] IS NOT NULL AND (provider, cluster_id) NOT IN (SELECT * FROM unnest($3::text[], $4::text[])))`,
        [
          listings.map((c) => c.provider),
          listings.map((c) => c.clusterId),
          watched?.map((c) => c.provider) ?? null,
          watched?.map((c) => c.clusterId) ?? null,
          column((p) => p.provider),
          column((p) => p.clusterId),
          column((p) => p.id),
        ],
      );
      if (watched) await tx.query(`DELETE FROM cluster_health WHERE cluster_key NOT IN (SELECT unnest($1::text[]))`, [watched.map(clusterKey)]);
      if (!pools.length) return;
      await tx.query(
        `INSERT INTO cluster_pools (provider, region_id, cluster_id, nodepool_id, nodepool_name, state, cloud_state, desired, total, serving,
                                    initial_nodes, failed, offline, is_default, seen_at, state_since)
         SELECT *, $15::timestamptz, $15::timestamptz
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::int[], $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::boolean[])
         ON CONFLICT (provider, cluster_id, nodepool_id) DO UPDATE SET
           region_id = EXCLUDED.region_id, nodepool_name = EXCLUDED.nodepool_name, cloud_state = EXCLUDED.cloud_state,
           desired = EXCLUDED.desired, total = EXCLUDED.total, serving = EXCLUDED.serving, initial_nodes = EXCLUDED.initial_nodes,
           failed = EXCLUDED.failed, offline = EXCLUDED.offline, is_default = EXCLUDED.is_default, seen_at = EXCLUDED.seen_at,
           state_since = CASE WHEN cluster_pools.state IS NOT DISTINCT FROM EXCLUDED.state AND cluster_pools.state_since IS NOT NULL
                              THEN cluster_pools.state_since ELSE EXCLUDED.state_since END,
           state = EXCLUDED.state
         -- A pool that shows what it showed before is not written again: a steady fleet costs no writes.
         WHERE (cluster_pools.region_id, cluster_pools.nodepool_name, cluster_pools.state, cluster_pools.cloud_state, cluster_pools.desired,
                cluster_pools.total, cluster_pools.serving, cluster_pools.initial_nodes, cluster_pools.failed, cluster_pools.offline,
                cluster_pools.is_default)
               IS DISTINCT FROM
               (EXCLUDED.region_id, EXCLUDED.nodepool_name, EXCLUDED.state, EXCLUDED.cloud_state, EXCLUDED.desired, EXCLUDED.total,
                EXCLUDED.serving, EXCLUDED.initial_nodes, EXCLUDED.failed, EXCLUDED.offline, EXCLUDED.is_default)
            OR cluster_pools.state_since IS NULL`,
        [
          column((p) => p.provider),
          column((p) => p.regionId),
          column((p) => p.clusterId),
          column((p) => p.id),
          column((p) => p.name),
          column((p) => p.state),
          column((p) => p.cloudState),
          column((p) => p.desired),
          column((p) => p.total),
          column((p) => p.serving),
          column((p) => p.initial),
          column((p) => p.failed),
          column((p) => p.offline),
          column((p) => p.isDefault),
          now,
        ],
      );
    });
  }

  /**
   * ACK runs one node-pool operation per cluster at a time, and our requests for a cluster go in
   * order: the request this one must wait for, if any. That is the one holding the cluster's
   * turn (the cloud is carrying out its call, or it has marked its call as going), or an older
   * one not yet sent. The store's unique index on the turn is the last word: two requests that
   * both read the turn as free cannot both mark their call (ClusterTurnTakenError).
   */
  async aheadOnCluster(
    r: Pick<NodepoolRequest, 'id' | 'provider' | 'regionId' | 'clusterId'> & { createStartedAt?: Date },
  ): Promise<NodepoolRequest | undefined> {
    // One that has marked its call holds the turn: only another holder is ahead of it.
    const res = await this.db.query<Row>(
      `SELECT * FROM nodepool_requests
        WHERE provider = $1 AND region_id IS NOT DISTINCT FROM $6 AND cluster_id = $2 AND id <> $3
          AND (state = ANY($4) OR (state = ANY($5) AND ((id < $3 AND NOT $7::boolean) OR create_started_at IS NOT NULL)))
        ORDER BY (state = ANY($4) OR create_started_at IS NOT NULL) DESC, id LIMIT 1`,
      [r.provider, r.clusterId, r.id, IN_CLOUD_STATES, PRE_CREATE_STATES, r.regionId ?? null, Boolean(r.createStartedAt)],
    );
    return res.rows[0] ? toRequest(res.rows[0]) : undefined;
  }

  /**
   * The next of our requests waiting on a cluster (one that marked a call and was put back holds
   * the turn, so it goes first; then the oldest), made due now, and leased to `lease.owner` when
   * given (the caller drives it at once); undefined when none waits, when that one is held by a
   * worker (which then sees its turn itself), or when the cluster is not free (one of ours is
   * still in the cloud: its end wakes the next).
   */
  async wakeNextOnCluster(
    cluster: { provider: Provider; regionId?: string; clusterId: string },
    now: Date,
    lease?: { owner: string; until: Date },
  ): Promise<NodepoolRequest | undefined> {
    const res = await this.db.query<Row>(
      `UPDATE nodepool_requests SET next_attempt_at = $3, dispatched_at = NULL,
              lease_owner = COALESCE($6, lease_owner), lease_expires_at = CASE WHEN $6::text IS NULL THEN lease_expires_at ELSE $7::timestamptz END
        WHERE id = (SELECT id FROM nodepool_requests
                     WHERE provider = $1 AND region_id IS NOT DISTINCT FROM $5 AND cluster_id = $2 AND state = ANY($4)
                     ORDER BY create_started_at IS NOT NULL DESC, id LIMIT 1)
          AND (lease_expires_at IS NULL OR lease_expires_at < $3)
          AND NOT EXISTS (SELECT FROM nodepool_requests h
                           WHERE h.provider = $1 AND h.region_id IS NOT DISTINCT FROM $5 AND h.cluster_id = $2 AND h.state = ANY($8))
        RETURNING *`,
      [cluster.provider, cluster.clusterId, now, PRE_CREATE_STATES, cluster.regionId ?? null, lease?.owner ?? null, lease?.until ?? null, IN_CLOUD_STATES],
    );
    return res.rows[0] ? toRequest(res.rows[0]) : undefined;
  }

  /** Counts one more dispatch of the request, at `now`, and answers its number (the first re-drive is 1). */
  async nextDispatch(id: string, now: Date): Promise<number> {
    const res = await this.db.query<Row>('UPDATE nodepool_requests SET dispatches = dispatches + 1, dispatched_at = $2 WHERE id = $1 RETURNING dispatches', [
      id,
      now,
    ]);
    return Number(res.rows[0]?.dispatches ?? 0);
  }

  /** The latest of our requests that created (or adopted) this pool. */
  async forPool(provider: Provider, clusterId: string, nodepoolId: string): Promise<NodepoolRequest | undefined> {
    const res = await this.db.query<Row>(
      "SELECT * FROM nodepool_requests WHERE provider = $1 AND cluster_id = $2 AND nodepool_id = $3 AND operation = 'create' ORDER BY id DESC LIMIT 1",
      [provider, clusterId, nodepoolId],
    );
    return res.rows[0] ? toRequest(res.rows[0]) : undefined;
  }

  async get(id: string): Promise<NodepoolRequest | undefined> {
    const res = await this.db.query<Row>('SELECT * FROM nodepool_requests WHERE id = $1', [id]);
    return res.rows[0] ? toRequest(res.rows[0]) : undefined;
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const res = await this.db.query<Row>('SELECT at, state, note, cloud_request_id FROM request_history WHERE request_id = $1 ORDER BY seq', [id]);
    return res.rows.map((r) => ({
      at: date(r.at)!,
      state: r.state as RequestState,
      note: r.note as string,
      cloudRequestId: (r.cloud_request_id as string | null) ?? undefined,
    }));
  }

  async list(filter: ListFilter): Promise<{ items: NodepoolRequest[]; nextCursor?: string }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state) where.push(`state = $${params.push(filter.state)}`);
    if (filter.clusterId) where.push(`cluster_id = $${params.push(filter.clusterId)}`);
    if (filter.cursor) where.push(`id < $${params.push(filter.cursor)}`);
    params.push(filter.limit + 1);
    const res = await this.db.query<Row>(
      `SELECT * FROM nodepool_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const items = res.rows.slice(0, filter.limit).map(toRequest);
    return { items, nextCursor: res.rows.length > filter.limit ? items[items.length - 1]?.id : undefined };
  }

  async findLive(provider: Provider, clusterId: string, name: string, q: Queryable = this.db): Promise<NodepoolRequest | undefined> {
    const res = await q.query<Row>(`SELECT * FROM nodepool_requests WHERE provider = $1 AND cluster_id = $2 AND nodepool_name = $3 AND state = ANY($4)`, [
      provider,
      clusterId,
      name,
      LIVE_STATES,
    ]);
    return res.rows[0] ? toRequest(res.rows[0]) : undefined;
  }

  /**
   * Takes the request for `owner` until `now + leaseMs`, if it is live, not held by a live
   * lease, and due (unless `force`). Only one worker at a time gets it.
   */
  async acquireLease(id: string, owner: string, now: Date, leaseMs: number, options: { force?: boolean } = {}): Promise<NodepoolRequest | undefined> {
    const res = await this.db.query<Row>(
      `UPDATE nodepool_requests
          SET lease_owner = $2, lease_expires_at = $4
        WHERE id = $1
          AND state = ANY($6)
          AND (lease_expires_at IS NULL OR lease_expires_at < $3 OR lease_owner = $2)
          AND ($5 OR next_attempt_at IS NULL OR next_attempt_at <= $3)
        RETURNING *`,
      [id, owner, now, new Date(now.getTime() + leaseMs), options.force === true, LIVE_STATES],
    );
    return res.rows[0] ? toRequest(res.rows[0]) : undefined;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.db.query('UPDATE nodepool_requests SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2', [id, owner]);
  }

  /**
   * The one way a request changes state: checks the move against the state machine
   * (requests/state.ts), applies it with its fields and writes the history entry, in one
   * statement. `from` narrows the states it may leave (each must be allowed to reach `to`,
   * or IllegalTransitionError is thrown); without it, every state that may reach `to`. The
   * update only applies while the request is in one of those states and, with an `owner`,
   * while that owner holds its lease (StaleUpdateError otherwise).
   */
  async transition(
    id: string,
    change: {
      to: RequestState;
      from?: RequestState | readonly RequestState[];
      owner?: string;
      at: Date;
      note: string;
      cloudRequestId?: string;
      patch?: RequestPatch;
      releaseLease?: boolean;
    },
  ): Promise<NodepoolRequest> {
    const from = sourcesOf(change.to, typeof change.from === 'string' ? [change.from] : change.from);
    const sets = ['state = $2', 'updated_at = $3'];
    const params: unknown[] = [id, change.to, change.at, change.note, change.cloudRequestId ?? null];
    for (const [key, value] of Object.entries(change.patch ?? {})) {
      if (value === undefined) continue;
      const col = COLUMNS[key as keyof RequestPatch];
      params.push(value === null ? null : JSON_COLUMNS.has(col) ? JSON.stringify(value) : value);
      sets.push(`${col} = $${params.length}`);
    }
    if (change.releaseLease) sets.push('lease_owner = NULL', 'lease_expires_at = NULL');
    params.push(from);
    let cond = `state = ANY($${params.length})`;
    if (change.owner) {
      params.push(change.owner);
      cond += ` AND lease_owner = $${params.length}`;
    }
    // The change and its history entry in one statement: one round trip, and atomic all the same.
    const res = await this.db.query<Row>(
      `WITH changed AS (UPDATE nodepool_requests SET ${sets.join(', ')} WHERE id = $1 AND ${cond} RETURNING *),
            entry AS (INSERT INTO request_history (request_id, at, state, note, cloud_request_id)
                      SELECT id, $3::timestamptz, $2::text, $4::text, $5::text FROM changed)
       SELECT * FROM changed`,
      params,
    );
    const row = res.rows[0];
    if (!row) {
      const current = await this.db.query<Row>('SELECT * FROM nodepool_requests WHERE id = $1', [id]);
      throw new StaleUpdateError(id, current.rows[0] ? toRequest(current.rows[0]) : undefined);
    }
    return toRequest(row);
  }

  /** Records what a sweep saw of many pools at once, without state changes; a row whose observation is the same but for its time keeps it. */
  async observeMany(items: Array<{ id: string; observed: ObservedStatus }>): Promise<void> {
    if (!items.length) return;
    await this.db.query(
      `UPDATE nodepool_requests r SET observed = v.o::jsonb, updated_at = r.updated_at
         FROM unnest($1::text[], $2::text[]) AS v(id, o) WHERE r.id = v.id AND (r.observed - 'at') IS DISTINCT FROM (v.o::jsonb - 'at')`,
      [items.map((i) => i.id), items.map((i) => JSON.stringify(i.observed))],
    );
  }

  /** Records what the last sweep saw, without a state change or history entry. */
  async observe(id: string, observed: ObservedStatus, at: Date): Promise<void> {
    await this.db.query('UPDATE nodepool_requests SET observed = $2, updated_at = $3 WHERE id = $1', [id, JSON.stringify(observed), at]);
  }

  /**
   * Requests a sweep must drive on: accepted or deferred ones whose time has come and that
   * no worker holds, oldest first. Accepted ones get `graceMs` for their dispatch to arrive,
   * and a request the sweep re-drove waits `graceMs` × 2^re-drives (at most ×1024) before the
   * next, so that invocations queued behind provision's concurrency cap are not multiplied.
   */
  async dueForDispatch(now: Date, graceMs: number, limit: number): Promise<NodepoolRequest[]> {
    const res = await this.db.query<Row>(
      `SELECT * FROM nodepool_requests
        WHERE state = ANY($4)
          AND (lease_expires_at IS NULL OR lease_expires_at < $1)
          AND (next_attempt_at IS NOT NULL AND next_attempt_at <= $1
               OR next_attempt_at IS NULL AND updated_at <= $2)
          AND (dispatched_at IS NULL OR dispatched_at + ($5::double precision * power(2, LEAST(dispatches, 10))) * interval '1 millisecond' <= $1)
        ORDER BY id LIMIT $3`,
      [now, new Date(now.getTime() - graceMs), limit, PRE_CREATE_STATES, graceMs],
    );
    return res.rows.map(toRequest);
  }

  /**
   * What decides which clusters a sweep lists (watchTargets), before its requests are loaded
   * (forAlerts): of the requests forAlerts would answer, one for each cluster, state, and
   * whether it has a pool id and a create start, with those columns alone. A few rows per
   * cluster, however many requests a month held.
   */
  async forTargets(
    since: Date,
  ): Promise<Array<Pick<NodepoolRequest, 'provider' | 'regionId' | 'clusterId' | 'state' | 'operation' | 'nodepoolId' | 'createStartedAt'>>> {
    const res = await this.db.query<Row>(
      // One row for each kind of request a cluster has; grouped by hashing, not by sorting a month of rows.
      `SELECT provider, region_id, cluster_id, state, operation, min(nodepool_id) AS nodepool_id, min(create_started_at) AS create_started_at
         FROM nodepool_requests
        WHERE state = ANY($2) OR (state = ANY($3) AND updated_at >= $1)
        GROUP BY provider, region_id, cluster_id, state, operation, nodepool_id IS NULL, create_started_at IS NULL`,
      [since, WATCHED_STATES, SETTLED_STATES],
    );
    return res.rows.map((r) => ({
      provider: r.provider as Provider,
      regionId: (r.region_id as string | null) ?? undefined,
      clusterId: r.cluster_id as string,
      state: r.state as RequestState,
      operation: ((r.operation as string | null) ?? 'create') as NodepoolRequest['operation'],
      nodepoolId: (r.nodepool_id as string | null) ?? undefined,
      createStartedAt: date(r.create_started_at),
    }));
  }

  /**
   * What the sweep and its alert rules look at: live and active requests, and final ones since
   * `since`, by id; with `changedSince`, only those updated since then; with `clusters`, only
   * those of these clusters (by clusterKey).
   * Read `pageSize` rows at a time and without what no sweep reads (the create parameters,
   * sealed secrets, idempotency key, body hash and reject reasons, most of a row):
   * `createParams` comes back empty and `bodyHash` blank, so a month of requests never sits in
   * memory whole, nor in one answer.
   */
  async forAlerts(since: Date, options: { changedSince?: Date; pageSize?: number; clusters?: string[] } = {}): Promise<NodepoolRequest[]> {
    const out: NodepoolRequest[] = [];
    const pageSize = options.pageSize ?? 2_000;
    // clusterKey in SQL: an ENS cluster has no region.
    const key = `r.provider || '/' || CASE WHEN r.provider = 'ens' THEN '' ELSE COALESCE(r.region_id, '') END || '/' || r.cluster_id`;
    const ids = options.clusters?.map((k) => k.slice(k.lastIndexOf('/') + 1));
    for (let after = ''; ; after = out[out.length - 1]!.id) {
      const res = await this.db.query<Row>(
        `SELECT id, provider, region_id, cluster_id, nodepool_name, operation, target_size, labels, state, '' AS body_hash, source, nodepool_id, task_id, attempts,
                create_started_at, deadline_at, next_attempt_at, lease_owner, lease_expires_at, last_error, observed, created_at, updated_at
           FROM nodepool_requests r
          WHERE id > $4 AND (state = ANY($2) OR (state = ANY($3) AND updated_at >= $1))
            AND ($5::timestamptz IS NULL OR updated_at >= $5::timestamptz)
            AND ($8::text[] IS NULL OR (r.cluster_id = ANY($9::text[]) AND ${key} = ANY($8::text[])))
            -- A pool that a later delete of ours removed, or is removing (its call sent), is watched no more.
            AND NOT (r.state = 'active' AND r.nodepool_id IS NOT NULL AND EXISTS (
                  SELECT FROM nodepool_requests d
                   WHERE d.cluster_id = r.cluster_id AND d.id > r.id AND d.provider = r.provider AND d.operation = 'delete'
                     AND d.nodepool_id = r.nodepool_id
                     AND (d.state IN ('applying', 'deleted') OR (d.state = ANY($7) AND d.create_started_at IS NOT NULL))))
          ORDER BY id LIMIT $6`,
        [since, WATCHED_STATES, SETTLED_STATES, after, options.changedSince ?? null, pageSize, PRE_CREATE_STATES, options.clusters ?? null, ids ?? null],
      );
      for (const row of res.rows) out.push(toRequest(row));
      if (res.rows.length < pageSize) return out;
    }
  }
}
