/**
 * The request store. Every state change is one transaction with its history entry; leases
 * are conditional UPDATEs; the partial unique indexes make "one live request per pool" and
 * "one request per idempotency key" hold even between concurrent instances.
 */
import type { Provider } from '../cloud/nodepool.js';
import type { HistoryEntry, NodepoolRequest, ObservedStatus } from '../requests/model.js';
import { ALERTABLE_FINAL_STATES, LIVE_STATES, PRE_CREATE_STATES, type RequestState, sourcesOf, WATCHED_STATES } from '../requests/state.js';
import type { Db, Queryable } from './db.js';
import { StaleUpdateError } from './errors.js';
import { COLUMNS, date, type InsertOutcome, JSON_COLUMNS, type ListFilter, type NewRequest, type RequestPatch, type Row, toRequest } from './rows.js';

export type { InsertOutcome, ListFilter, NewRequest } from './rows.js';

class VanishedConflictError extends Error {
  constructor(id: string) {
    super(`insert of request ${id} conflicted with nothing that can be found`);
  }
}

export class RequestStore {
  constructor(readonly db: Db) {}

  async insert(r: NewRequest): Promise<InsertOutcome> {
    try {
      return await this.insertOnce(r);
    } catch (err) {
      // The conflicting live request finished between our INSERT and our look: try once more.
      if (err instanceof VanishedConflictError) return this.insertOnce(r);
      throw err;
    }
  }

  private async insertOnce(r: NewRequest): Promise<InsertOutcome> {
    return this.db.transaction(async (tx) => {
      // What an existing request says to this one: the same key (replayed, or a conflict), then
      // a live request for the pool. Asked before the insert and, when a concurrent one won, after.
      const sameKey = (existing: NodepoolRequest): InsertOutcome => ({
        kind: existing.bodyHash === r.bodyHash ? 'replayed' : 'key-conflict',
        request: existing,
      });
      const existingFor = async (): Promise<InsertOutcome | undefined> => {
        const byKey = r.idempotencyKey ? await this.byKey(tx, r.idempotencyKey) : undefined;
        if (byKey) return sameKey(byKey);
        const live = r.provider && r.clusterId && r.nodepoolName ? await this.findLive(r.provider, r.clusterId, r.nodepoolName, tx) : undefined;
        // It may have committed between the two looks: a live request with our key is ours.
        if (live && r.idempotencyKey && live.idempotencyKey === r.idempotencyKey) return sameKey(live);
        return live ? { kind: 'pool-conflict', request: live } : undefined;
      };
      if (r.state === 'accepted' && r.provider && r.clusterId && r.nodepoolName) {
        // A live request of ours comes before a taken name: it may not have its pool's id yet.
        const earlier = (await existingFor()) ?? (await this.takenName(tx, r.provider, r.clusterId, r.nodepoolName));
        if (earlier) return earlier;
      } else if (r.idempotencyKey) {
        const existing = await this.byKey(tx, r.idempotencyKey);
        if (existing) return sameKey(existing);
      }
      const inserted = await tx.query<Row>(
        `INSERT INTO nodepool_requests
           (id, provider, region_id, cluster_id, nodepool_name, state, request, sealed_secrets, idempotency_key, body_hash,
            source, deadline_at, reject_reasons, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14)
         ON CONFLICT DO NOTHING
         RETURNING *`,
        [
          r.id,
          r.provider ?? null,
          r.regionId ?? null,
          r.clusterId ?? null,
          r.nodepoolName ?? null,
          r.state,
          JSON.stringify(r.createParams),
          r.sealedSecrets ?? null,
          r.idempotencyKey ?? null,
          r.bodyHash,
          r.source,
          r.deadlineAt,
          r.rejectReasons ? JSON.stringify(r.rejectReasons) : null,
          r.createdAt,
        ],
      );
      const row = inserted.rows[0];
      if (row) {
        await this.addHistory(tx, r.id, r.createdAt, r.state, r.note);
        return { kind: 'created', request: toRequest(row) } as InsertOutcome;
      }
      // A concurrent insert won: find out which constraint it was.
      const winner = await existingFor();
      if (winner) return winner;
      throw new VanishedConflictError(r.id);
    });
  }

  /**
   * A pool of this name in the cluster's last listing, unless a live request of ours is
   * creating it (that is a pool conflict, found by the insert itself).
   */
  private async takenName(q: Queryable, provider: Provider, clusterId: string, name: string): Promise<InsertOutcome | undefined> {
    const res = await q.query<Row>(
      `SELECT r.*, cp.nodepool_id AS taken_id, cp.seen_at AS taken_seen_at
         FROM cluster_pools cp
         LEFT JOIN LATERAL (
           SELECT * FROM nodepool_requests r
            WHERE r.provider = cp.provider AND r.cluster_id = cp.cluster_id AND r.nodepool_id = cp.nodepool_id
            ORDER BY r.id DESC LIMIT 1) r ON true
        WHERE cp.provider = $1 AND cp.cluster_id = $2 AND cp.nodepool_name = $3
        LIMIT 1`,
      [provider, clusterId, name],
    );
    const row = res.rows[0];
    if (!row) return undefined;
    const request = row.id ? toRequest(row) : undefined; // the LEFT JOIN found one of ours
    if (request && LIVE_STATES.includes(request.state)) return undefined;
    return { kind: 'name-taken', nodepoolId: row.taken_id as string, seenAt: date(row.taken_seen_at)!, request };
  }

  /**
   * Replaces what the store knows of the listed clusters' pools with their latest listings,
   * and forgets the pools of every cluster not in `watched`: what nobody watches any more
   * would go stale, and a stale pool would refuse a name that is free again.
   */
  async recordListings(
    listings: Array<{ provider: Provider; clusterId: string; pools: Array<{ id: string; name: string }> }>,
    watched: Array<{ provider: Provider; clusterId: string }>,
    now: Date,
  ): Promise<void> {
    const rows = new Map<string, { provider: Provider; clusterId: string; id: string; name: string }>();
    for (const c of listings)
      for (const p of c.pools)
        rows.set(`${c.provider}\u0000${c.clusterId}\u0000${p.id}`, { provider: c.provider, clusterId: c.clusterId, id: p.id, name: p.name });
    const pools = [...rows.values()];
    await this.db.transaction(async (tx) => {
      await tx.query(
        `DELETE FROM cluster_pools
          WHERE (provider, cluster_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
             OR (provider, cluster_id) NOT IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
        [listings.map((c) => c.provider), listings.map((c) => c.clusterId), watched.map((c) => c.provider), watched.map((c) => c.clusterId)],
      );
      if (!pools.length) return;
      await tx.query(
        `INSERT INTO cluster_pools (provider, cluster_id, nodepool_id, nodepool_name, seen_at)
         SELECT *, $5::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
        [pools.map((p) => p.provider), pools.map((p) => p.clusterId), pools.map((p) => p.id), pools.map((p) => p.name), now],
      );
    });
  }

  /**
   * ACK runs one node-pool operation per cluster at a time, and our requests for a cluster go in
   * order: the request this one must wait for, if any. That is one of ours being created there,
   * or an older one not yet created.
   */
  async aheadOnCluster(r: Pick<NodepoolRequest, 'id' | 'provider' | 'regionId' | 'clusterId'>): Promise<NodepoolRequest | undefined> {
    const res = await this.db.query<Row>(
      `SELECT * FROM nodepool_requests
        WHERE provider = $1 AND region_id IS NOT DISTINCT FROM $6 AND cluster_id = $2 AND id <> $3
          AND (state = $4 OR (state = ANY($5) AND id < $3))
        ORDER BY (state = $4) DESC, id LIMIT 1`,
      [r.provider, r.clusterId, r.id, 'creating', PRE_CREATE_STATES, r.regionId ?? null],
    );
    return res.rows[0] ? toRequest(res.rows[0]) : undefined;
  }

  /**
   * The oldest of our requests waiting to be created on a cluster, made due now; undefined when
   * none waits, or when the oldest is held by a worker (which then sees its turn itself).
   */
  async wakeNextOnCluster(cluster: { provider: Provider; regionId?: string; clusterId: string }, now: Date): Promise<NodepoolRequest | undefined> {
    const res = await this.db.query<Row>(
      `UPDATE nodepool_requests SET next_attempt_at = $3, dispatched_at = NULL
        WHERE id = (SELECT id FROM nodepool_requests
                     WHERE provider = $1 AND region_id IS NOT DISTINCT FROM $5 AND cluster_id = $2 AND state = ANY($4)
                     ORDER BY id LIMIT 1)
          AND (lease_expires_at IS NULL OR lease_expires_at < $3)
        RETURNING *`,
      [cluster.provider, cluster.clusterId, now, PRE_CREATE_STATES, cluster.regionId ?? null],
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
      'SELECT * FROM nodepool_requests WHERE provider = $1 AND cluster_id = $2 AND nodepool_id = $3 ORDER BY id DESC LIMIT 1',
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
   * transaction. `from` narrows the states it may leave (each must be allowed to reach `to`,
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
    return this.db.transaction(async (tx) => {
      const sets = ['state = $2', 'updated_at = $3'];
      const params: unknown[] = [id, change.to, change.at];
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
      const res = await tx.query<Row>(`UPDATE nodepool_requests SET ${sets.join(', ')} WHERE id = $1 AND ${cond} RETURNING *`, params);
      const row = res.rows[0];
      if (!row) {
        const current = await tx.query<Row>('SELECT * FROM nodepool_requests WHERE id = $1', [id]);
        throw new StaleUpdateError(id, current.rows[0] ? toRequest(current.rows[0]) : undefined);
      }
      await this.addHistory(tx, id, change.at, change.to, change.note, change.cloudRequestId);
      return toRequest(row);
    });
  }

  /** Records what a sweep saw of many pools at once, without state changes. */
  async observeMany(items: Array<{ id: string; observed: ObservedStatus }>): Promise<void> {
    if (!items.length) return;
    await this.db.query(
      `UPDATE nodepool_requests r SET observed = v.o::jsonb, updated_at = r.updated_at
         FROM unnest($1::text[], $2::text[]) AS v(id, o) WHERE r.id = v.id`,
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

  /** What the alert rules look at: live and active requests, and final ones since `since`. */
  async forAlerts(since: Date): Promise<NodepoolRequest[]> {
    const res = await this.db.query<Row>(
      `SELECT * FROM nodepool_requests
        WHERE state = ANY($2) OR (state = ANY($3) AND updated_at >= $1)
        ORDER BY id`,
      [since, WATCHED_STATES, ALERTABLE_FINAL_STATES],
    );
    return res.rows.map(toRequest);
  }

  private async byKey(q: Queryable, key: string): Promise<NodepoolRequest | undefined> {
    const res = await q.query<Row>('SELECT * FROM nodepool_requests WHERE idempotency_key = $1', [key]);
    return res.rows[0] ? toRequest(res.rows[0]) : undefined;
  }

  private async addHistory(q: Queryable, id: string, at: Date, state: RequestState, note: string, cloudRequestId?: string): Promise<void> {
    await q.query('INSERT INTO request_history (request_id, at, state, note, cloud_request_id) VALUES ($1,$2,$3,$4,$5)', [
      id,
      at,
      state,
      note,
      cloudRequestId ?? null,
    ]);
  }
}
