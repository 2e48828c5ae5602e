/**
 * Storage for the watch sweep: its lock, cluster health, rule conditions, alerts,
 * silences and the delivery outbox. Conditional UPDATEs make the lock and the outbox claims
 * safe between concurrent instances.
 */
import { randomBytes } from 'node:crypto';
import type { Severity } from '../config.js';
import type { Db, Queryable } from './db.js';

export type AlertState = 'firing' | 'resolved';

interface OwnAlertLabels {
  rule: string;
  severity: Severity;
  provider: string;
  regionId?: string;
  clusterId: string;
  nodepoolName?: string;
  nodepoolId?: string;
}

/** An alert's subject with the labels of the pool's request and WATCH_CLUSTERS entry; and with its rule and severity. */
export type AlertSubject = Omit<OwnAlertLabels, 'rule' | 'severity'> & { [label: string]: string | undefined };
export type AlertLabels = OwnAlertLabels & AlertSubject;

export type Annotations = Record<string, string | number | boolean | null | Record<string, number | null>>;

export interface AlertRecord {
  id: number;
  fingerprint: string;
  rule: string;
  severity: Severity;
  state: AlertState;
  labels: AlertLabels;
  annotations: Annotations;
  nodepoolRequestId?: string;
  startsAt: Date;
  endsAt?: Date;
  lastNotifiedAt?: Date;
  /** The cluster key whose unreachability held this alert back at the last sweep. */
  inhibitedBy?: string;
  updatedAt: Date;
}

export interface SilenceMatchers {
  provider?: string;
  clusterId?: string;
  /** A node pool's name or id. */
  pool?: string;
  rule?: string;
}

export interface Silence {
  id: string;
  matchers: SilenceMatchers;
  startsAt: Date;
  endsAt: Date;
  comment?: string;
  createdBy?: string;
  createdAt: Date;
}

export interface Delivery {
  id: number;
  channel: string;
  payload: unknown;
  state: 'pending' | 'sent' | 'dead';
  attempts: number;
  nextAttemptAt: Date;
  lastError?: string;
  createdAt: Date;
  sentAt?: Date;
}

type Row = Record<string, unknown>;
const d = (v: unknown): Date | undefined => (v === null || v === undefined ? undefined : v instanceof Date ? v : new Date(String(v)));
const j = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export function toAlert(r: Row): AlertRecord {
  return {
    id: Number(r.id),
    fingerprint: r.fingerprint as string,
    rule: r.rule as string,
    severity: r.severity as Severity,
    state: r.state as AlertState,
    labels: j<AlertLabels>(r.labels),
    annotations: j<Annotations>(r.annotations),
    nodepoolRequestId: (r.request_id as string | null) ?? undefined,
    startsAt: d(r.starts_at)!,
    endsAt: d(r.ends_at),
    lastNotifiedAt: d(r.last_notified_at),
    inhibitedBy: (r.inhibited_by as string | null) ?? undefined,
    updatedAt: d(r.updated_at)!,
  };
}

function toSilence(r: Row): Silence {
  return {
    id: r.id as string,
    matchers: j<SilenceMatchers>(r.matchers),
    startsAt: d(r.starts_at)!,
    endsAt: d(r.ends_at)!,
    comment: (r.comment as string | null) ?? undefined,
    createdBy: (r.created_by as string | null) ?? undefined,
    createdAt: d(r.created_at)!,
  };
}

function toDelivery(r: Row): Delivery {
  return {
    id: Number(r.id),
    channel: r.channel as string,
    payload: j(r.payload),
    state: r.state as Delivery['state'],
    attempts: Number(r.attempts),
    nextAttemptAt: d(r.next_attempt_at)!,
    lastError: (r.last_error as string | null) ?? undefined,
    createdAt: d(r.created_at)!,
    sentAt: d(r.sent_at),
  };
}

export class AlertStore {
  constructor(readonly db: Queryable) {}

  /** Runs `fn` with an alert store whose statements all commit together, or none. */
  async transaction<T>(fn: (alerts: AlertStore) => Promise<T>): Promise<T> {
    const db = this.db as Partial<Db>;
    if (!db.transaction) throw new Error('already inside a transaction');
    return db.transaction((tx) => fn(new AlertStore(tx)));
  }

  // ------------------------------------------------------------------ lock

  /** Takes the named lock until `now + ttlMs` unless a live holder has it. Returns the saved cursor. */
  async tryLock(name: string, owner: string, now: Date, ttlMs: number): Promise<{ acquired: boolean; cursor?: string }> {
    const res = await this.db.query<Row>(
      `INSERT INTO locks (name, owner, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE locks.expires_at < $4
       RETURNING cursor`,
      [name, owner, new Date(now.getTime() + ttlMs), now],
    );
    const row = res.rows[0];
    return row ? { acquired: true, cursor: (row.cursor as string | null) ?? undefined } : { acquired: false };
  }

  async unlock(name: string, owner: string, cursor: string | null): Promise<void> {
    await this.db.query(`UPDATE locks SET expires_at = to_timestamp(0), cursor = $3 WHERE name = $1 AND owner = $2`, [name, owner, cursor]);
  }

  // ------------------------------------------------------------------ cluster health

  /**
   * Records one sweep's listings (one statement for all clusters); returns, per cluster,
   * how many listings in a row have failed.
   */
  async recordClusters(results: Array<{ key: string; ok: boolean; error?: { code: string; message: string } }>, now: Date): Promise<Map<string, number>> {
    if (!results.length) return new Map();
    const res = await this.db.query<Row>(
      `INSERT INTO cluster_health (cluster_key, consecutive_failures, last_error, last_success_at, last_attempt_at)
       SELECT k, CASE WHEN ok THEN 0 ELSE 1 END, e::jsonb, CASE WHEN ok THEN $4::timestamptz END, $4::timestamptz
         FROM unnest($1::text[], $2::boolean[], $3::text[]) AS t(k, ok, e)
       ON CONFLICT (cluster_key) DO UPDATE SET
         consecutive_failures = CASE WHEN EXCLUDED.consecutive_failures = 0 THEN 0 ELSE cluster_health.consecutive_failures + 1 END,
         last_error = COALESCE(EXCLUDED.last_error, cluster_health.last_error),
         last_success_at = COALESCE(EXCLUDED.last_success_at, cluster_health.last_success_at),
         last_attempt_at = EXCLUDED.last_attempt_at
       RETURNING cluster_key, consecutive_failures`,
      [results.map((r) => r.key), results.map((r) => r.ok), results.map((r) => (r.error ? JSON.stringify(r.error) : null)), now],
    );
    return new Map(res.rows.map((r) => [r.cluster_key as string, Number(r.consecutive_failures)]));
  }

  /**
   * Records one walk of a pool's nodes and answers, for each node, since when it has been in
   * its present state (a node that changed state starts again; nodes no longer listed are forgotten).
   */
  async observeNodes(clusterId: string, nodepoolId: string, nodes: Array<{ id: string; state: string }>, now: Date): Promise<Map<string, Date>> {
    return this.transaction(async (tx) => {
      await tx.db.query('DELETE FROM node_states WHERE cluster_id = $1 AND nodepool_id = $2 AND NOT (instance_id = ANY($3))', [
        clusterId,
        nodepoolId,
        nodes.map((n) => n.id),
      ]);
      if (!nodes.length) return new Map();
      const res = await tx.db.query<Row>(
        `INSERT INTO node_states (cluster_id, nodepool_id, instance_id, state, since)
         SELECT $1, $2, id, st, $5::timestamptz FROM unnest($3::text[], $4::text[]) AS t(id, st)
         ON CONFLICT (cluster_id, nodepool_id, instance_id) DO UPDATE
           SET since = CASE WHEN node_states.state = EXCLUDED.state THEN node_states.since ELSE EXCLUDED.since END, state = EXCLUDED.state
         RETURNING instance_id, since`,
        [clusterId, nodepoolId, nodes.map((n) => n.id), nodes.map((n) => n.state), now],
      );
      return new Map(res.rows.map((r) => [r.instance_id as string, d(r.since)!]));
    });
  }

  /** Forgets the node history of the listed clusters' pools that this sweep did not walk. */
  async forgetNodes(clusterIds: string[], walked: Array<{ clusterId: string; nodepoolId: string }>): Promise<void> {
    if (!clusterIds.length) return;
    await this.db.query(
      `DELETE FROM node_states WHERE cluster_id = ANY($1)
          AND (cluster_id, nodepool_id) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
      [clusterIds, walked.map((w) => w.clusterId), walked.map((w) => w.nodepoolId)],
    );
  }

  // ------------------------------------------------------------------ conditions

  /** Marks a duration condition as holding; returns since when it has held. */
  async holdCondition(fingerprint: string, clusterKey: string, now: Date): Promise<Date> {
    const res = await this.db.query<Row>(
      `INSERT INTO alert_conditions (fingerprint, cluster_key, since, last_seen) VALUES ($1, $2, $3, $3)
       ON CONFLICT (fingerprint) DO UPDATE SET last_seen = $3 RETURNING since`,
      [fingerprint, clusterKey, now],
    );
    return d(res.rows[0]!.since)!;
  }

  /** Forgets conditions of the listed clusters that no longer hold. */
  async clearConditions(clusterKeys: string[], held: string[]): Promise<void> {
    if (clusterKeys.length) {
      await this.db.query('DELETE FROM alert_conditions WHERE cluster_key = ANY($1) AND NOT (fingerprint = ANY($2))', [clusterKeys, held]);
    }
  }

  // ------------------------------------------------------------------ alerts

  async firing(): Promise<AlertRecord[]> {
    return (await this.db.query<Row>(`SELECT * FROM alerts WHERE state = 'firing' ORDER BY id`)).rows.map(toAlert);
  }

  /** Starts an alert; undefined when one with this fingerprint is already firing. */
  async fire(a: {
    fingerprint: string;
    rule: string;
    severity: Severity;
    labels: AlertLabels;
    annotations: Annotations;
    nodepoolRequestId?: string;
    startsAt: Date;
  }): Promise<AlertRecord | undefined> {
    const res = await this.db.query<Row>(
      `INSERT INTO alerts (fingerprint, rule, severity, state, labels, annotations, request_id, starts_at, updated_at)
       VALUES ($1, $2, $3, 'firing', $4, $5, $6, $7, $7)
       ON CONFLICT DO NOTHING RETURNING *`,
      [a.fingerprint, a.rule, a.severity, JSON.stringify(a.labels), JSON.stringify(a.annotations), a.nodepoolRequestId ?? null, a.startsAt],
    );
    return res.rows[0] ? toAlert(res.rows[0]) : undefined;
  }

  /** New annotations (last value wins), and the request each alert is now about, if it names one: one statement for all. */
  async refresh(items: Array<{ id: number; annotations: Annotations; nodepoolRequestId?: string }>, now: Date): Promise<void> {
    if (!items.length) return;
    await this.db.query(
      `UPDATE alerts a SET annotations = v.an::jsonb, updated_at = $4, request_id = COALESCE(v.rid, a.request_id)
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, an, rid) WHERE a.id = v.id`,
      [items.map((i) => i.id), items.map((i) => JSON.stringify(i.annotations)), items.map((i) => i.nodepoolRequestId ?? null), now],
    );
  }

  /** Resolves firing alerts (one statement); `annotations`, when given, are what holds at resolution. Answers those resolved, in order. */
  async resolve(items: Array<{ id: number; annotations?: Annotations }>, now: Date): Promise<AlertRecord[]> {
    if (!items.length) return [];
    const res = await this.db.query<Row>(
      `UPDATE alerts a SET state = 'resolved', ends_at = $3, updated_at = $3, inhibited_by = NULL, annotations = COALESCE(v.an::jsonb, a.annotations)
         FROM unnest($1::bigint[], $2::text[]) AS v(id, an) WHERE a.id = v.id AND a.state = 'firing' RETURNING a.*`,
      [items.map((i) => i.id), items.map((i) => (i.annotations ? JSON.stringify(i.annotations) : null)), now],
    );
    const byId = new Map(res.rows.map((r) => [Number(r.id), toAlert(r)]));
    return items.flatMap((i) => byId.get(i.id) ?? []);
  }

  /** Records, for every firing alert, whether this sweep inhibited it and by which cluster. */
  async markInhibited(inhibited: Map<number, string>): Promise<void> {
    // One statement: the two updates touch different rows (those inhibited now, and the rest).
    await this.db.query(
      `WITH marked AS (UPDATE alerts a SET inhibited_by = v.by FROM (SELECT id, by FROM unnest($1::bigint[], $2::text[]) AS t(id, by)) v
                        WHERE a.id = v.id AND a.inhibited_by IS DISTINCT FROM v.by)
       UPDATE alerts SET inhibited_by = NULL WHERE state = 'firing' AND inhibited_by IS NOT NULL AND NOT (id = ANY($1::bigint[]))`,
      [[...inhibited.keys()], [...inhibited.values()]],
    );
  }

  async markNotified(ids: number[], now: Date): Promise<void> {
    if (ids.length) await this.db.query('UPDATE alerts SET last_notified_at = $2 WHERE id = ANY($1)', [ids, now]);
  }

  async listAlerts(filter: { state?: AlertState; limit: number; before?: number }): Promise<AlertRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state) where.push(`state = $${params.push(filter.state)}`);
    if (filter.before) where.push(`id < $${params.push(filter.before)}`);
    params.push(filter.limit);
    const res = await this.db.query<Row>(
      `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return res.rows.map(toAlert);
  }

  // ------------------------------------------------------------------ silences

  async createSilence(s: Omit<Silence, 'id' | 'createdAt'>, now: Date): Promise<Silence> {
    const id = `sil_${randomBytes(10).toString('hex')}`;
    const res = await this.db.query<Row>(
      `INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING *`,
      [id, JSON.stringify(s.matchers), s.startsAt, s.endsAt, s.comment ?? null, s.createdBy ?? null, now],
    );
    return toSilence(res.rows[0]!);
  }

  async listSilences(): Promise<Silence[]> {
    return (await this.db.query<Row>('SELECT * FROM silences ORDER BY created_at DESC, id')).rows.map(toSilence);
  }

  /** Silences in effect now; with `endedSince`, also those that ended since then (a sweep notes them on what they covered). */
  activeSilences = async (now: Date, endedSince: Date = now): Promise<Silence[]> =>
    (await this.db.query<Row>('SELECT * FROM silences WHERE starts_at <= $1 AND ends_at > $2', [now, endedSince])).rows.map(toSilence);

  /** Ends a silence now; false when there is no such silence. */
  async expireSilence(id: string, now: Date): Promise<Silence | undefined> {
    const res = await this.db.query<Row>('UPDATE silences SET ends_at = LEAST(ends_at, $2) WHERE id = $1 RETURNING *', [id, now]);
    return res.rows[0] ? toSilence(res.rows[0]) : undefined;
  }

  // ------------------------------------------------------------------ outbox

  async enqueue(channel: string, payload: unknown, now: Date): Promise<Delivery> {
    const res = await this.db.query<Row>(
      `INSERT INTO deliveries (channel, payload, state, next_attempt_at, created_at) VALUES ($1, $2, 'pending', $3, $3) RETURNING *`,
      [channel, JSON.stringify(payload), now],
    );
    return toDelivery(res.rows[0]!);
  }

  /**
   * Claims the channel's oldest pending delivery if it is due and nobody holds it.
   * Deliveries of a channel go out in order: a later one never overtakes a failed one.
   */
  async claimNext(channel: string, owner: string, now: Date, ttlMs: number): Promise<Delivery | undefined> {
    const res = await this.db.query<Row>(
      `UPDATE deliveries SET claimed_by = $2, claim_expires_at = $4, attempts = attempts + 1
        WHERE id = (SELECT id FROM deliveries WHERE channel = $1 AND state = 'pending' ORDER BY id LIMIT 1)
          AND next_attempt_at <= $3
          AND (claim_expires_at IS NULL OR claim_expires_at < $3)
        RETURNING *`,
      [channel, owner, now, new Date(now.getTime() + ttlMs)],
    );
    return res.rows[0] ? toDelivery(res.rows[0]) : undefined;
  }

  async markSent(id: number, owner: string, now: Date): Promise<void> {
    await this.db.query(
      `UPDATE deliveries SET state = 'sent', sent_at = $3, claimed_by = NULL, claim_expires_at = NULL, last_error = NULL WHERE id = $1 AND claimed_by = $2`,
      [id, owner, now],
    );
  }

  async markFailed(id: number, owner: string, error: string, nextAttemptAt: Date): Promise<void> {
    await this.db.query(
      `UPDATE deliveries SET last_error = $3, next_attempt_at = $4, claimed_by = NULL, claim_expires_at = NULL WHERE id = $1 AND claimed_by = $2`,
      [id, owner, error.slice(0, 1000), nextAttemptAt],
    );
  }

  /** Takes a delivery the receiver refuses for good out of the line, so the ones behind it can go. */
  async markDead(id: number, owner: string, error: string): Promise<void> {
    await this.db.query(`UPDATE deliveries SET state = 'dead', last_error = $3, claimed_by = NULL, claim_expires_at = NULL WHERE id = $1 AND claimed_by = $2`, [
      id,
      owner,
      error.slice(0, 1000),
    ]);
  }

  async sentSince(channel: string, since: Date): Promise<number> {
    const res = await this.db.query<{ n: number | string }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE channel = $1 AND state = 'sent' AND sent_at > $2`,
      [channel, since],
    );
    return Number(res.rows[0]!.n);
  }

  async pendingCount(): Promise<number> {
    const res = await this.db.query<{ n: number | string }>(`SELECT count(*)::int AS n FROM deliveries WHERE state = 'pending'`);
    return Number(res.rows[0]!.n);
  }

  async deliveries(filter: { channel?: string; state?: Delivery['state'] } = {}): Promise<Delivery[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.channel) where.push(`channel = $${params.push(filter.channel)}`);
    if (filter.state) where.push(`state = $${params.push(filter.state)}`);
    return (await this.db.query<Row>(`SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`, params)).rows.map(
      toDelivery,
    );
  }
}
