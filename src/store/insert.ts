/**
 * Storing a new request in one statement: the idempotency key, a live request for the same
 * pool and a taken pool name are looked up, and the request and its first history entry are
 * inserted only when none of them refuses it. The unique indexes stay the last word: when a
 * concurrent insert wins between the statement's snapshot and its INSERT, the INSERT does
 * nothing, and the statement runs again with a fresh snapshot, which names the winner.
 */
import type { NodepoolRequest } from '../requests/model.js';
import { IN_CLOUD_STATES, LIVE_STATES, PRE_CREATE_STATES, type RequestState } from '../requests/state.js';
import type { Queryable } from './db.js';
import { type InsertOutcome, type NewRequest, type Row, toRequest } from './rows.js';

/** The live states as SQL literals, so that the planner can use the partial index on live pools. */
const literals = (states: readonly string[]) => states.map((s) => `'${s}'`).join(', ');
const LIVE = literals(LIVE_STATES);
const IN_CLOUD = literals(IN_CLOUD_STATES);
const PRE_CREATE = literals(PRE_CREATE_STATES);

/** What toRequest reads, named one by one: a prepared statement keeps its result type when a column is added. */
const RETURNED =
  'id, provider, region_id, cluster_id, nodepool_name, operation, target_size, created_by, labels, state, request, sealed_secrets, idempotency_key, body_hash, source, nodepool_id, task_id, ' +
  'attempts, create_started_at, deadline_at, next_attempt_at, lease_owner, lease_expires_at, last_error, observed, reject_reasons, created_at, updated_at';

/**
 * One row: the inserted request's columns (all NULL when it was not inserted), and what
 * refused it, as JSON: `by_key` (the request holding the idempotency key), `live` (a live
 * request for the pool) and `taken` (a create only: the cluster's last listing has a pool of that name; with
 * the latest request of ours that created it, if any, unless that one is still live). Live and
 * taken are only asked for a request to be created ($16). Nothing inserted and nothing that
 * refused it: a concurrent insert won.
 *
 * An ACK request also learns its cluster's turn ($22, the note of a wait, with the request
 * ahead's id and state to fill in): with a request of ours ahead (as aheadOnCluster reads it),
 * it is stored already waiting (`submitting`, due at $23, both history entries written), and
 * otherwise it may be stored leased ($24 until $25) to the worker that drives it next. The
 * request ahead is locked for share: its end, if it is being written, is waited for and read,
 * and an end that starts later waits for this insert, so that its wake-up sees this request.
 */
const INSERT_SQL = `
WITH by_key AS (
  SELECT to_jsonb(r) AS j FROM nodepool_requests r WHERE r.idempotency_key = $9::text
), live AS (
  SELECT to_jsonb(r) AS j FROM nodepool_requests r
   WHERE $16::boolean AND r.provider = $2::text AND r.cluster_id = $4::text AND r.nodepool_name = $5::text AND r.state IN (${LIVE})
), taken AS (
  SELECT cp.nodepool_id,
         -- When the pool was last listed: its cluster's last listing (a row changes only when the pool does).
         COALESCE((SELECT h.last_success_at FROM cluster_health h
                    WHERE h.cluster_key = cp.provider || '/' || COALESCE(cp.region_id, '') || '/' || cp.cluster_id), cp.seen_at) AS seen_at,
         (SELECT to_jsonb(x) FROM nodepool_requests x
           WHERE x.provider = cp.provider AND x.cluster_id = cp.cluster_id AND x.nodepool_id = cp.nodepool_id AND x.operation = 'create'
           ORDER BY x.id DESC LIMIT 1) AS j
    FROM cluster_pools cp
   WHERE $16::boolean AND $17::text = 'create' AND cp.provider = $2::text AND cp.cluster_id = $4::text AND cp.nodepool_name = $5::text
   LIMIT 1
), refusing_name AS (
  SELECT * FROM taken WHERE j IS NULL OR j->>'state' NOT IN (${LIVE})
), ahead AS (
  SELECT a.id, a.state FROM nodepool_requests a
   WHERE $22::text IS NOT NULL AND a.provider = $2::text AND a.region_id IS NOT DISTINCT FROM $3::text AND a.cluster_id = $4::text
     AND (a.state IN (${IN_CLOUD}) OR (a.state IN (${PRE_CREATE}) AND (a.id < $1::text OR a.create_started_at IS NOT NULL)))
   ORDER BY (a.state IN (${IN_CLOUD}) OR a.create_started_at IS NOT NULL) DESC, a.id
   LIMIT 1
   FOR SHARE
), ins AS (
  INSERT INTO nodepool_requests
    (id, provider, region_id, cluster_id, nodepool_name, state, request, sealed_secrets, idempotency_key, body_hash,
     source, deadline_at, reject_reasons, created_at, updated_at, operation, nodepool_id, target_size, created_by, labels,
     next_attempt_at, lease_owner, lease_expires_at)
  SELECT $1::text, $2::text, $3::text, $4::text, $5::text, CASE WHEN w.id IS NULL THEN $6::text ELSE 'submitting' END, $7::jsonb, $8::text, $9::text, $10::text,
         $11::text, $12::timestamptz, $13::jsonb, $14::timestamptz, $14::timestamptz, $17::text, $18::text, $19::int, $20::text, $21::jsonb,
         CASE WHEN w.id IS NOT NULL THEN $23::timestamptz END, CASE WHEN w.id IS NULL THEN $24::text END, CASE WHEN w.id IS NULL THEN $25::timestamptz END
    FROM (SELECT) AS one LEFT JOIN ahead w ON true
   WHERE NOT EXISTS (SELECT FROM by_key) AND NOT EXISTS (SELECT FROM live) AND NOT EXISTS (SELECT FROM refusing_name)
  ON CONFLICT DO NOTHING
  RETURNING ${RETURNED}
), hist AS (
  INSERT INTO request_history (request_id, at, state, note)
  SELECT id, created_at, $6::text, $15::text FROM ins
  UNION ALL
  SELECT ins.id, ins.created_at, ins.state, format($22::text, w.id, w.state) FROM ins JOIN ahead w ON ins.state <> $6::text
)
SELECT ins.*, (SELECT j FROM by_key) AS by_key, (SELECT j FROM live) AS live,
       (SELECT jsonb_build_object('nodepoolId', nodepool_id, 'seenAt', seen_at, 'request', j) FROM refusing_name) AS taken,
       (SELECT jsonb_build_object('id', w.id, 'state', w.state) FROM ahead w) AS ahead
  FROM (SELECT) AS one LEFT JOIN ins ON true`;

class VanishedConflictError extends Error {
  constructor(id: string) {
    super(`insert of request ${id} conflicted with nothing that can be found`);
  }
}

/** A request as to_jsonb gives it: the same column names, timestamps as ISO text. */
const fromJson = (j: unknown): NodepoolRequest => toRequest((typeof j === 'string' ? JSON.parse(j) : j) as Row);

/** What the statement's row says to the new request, most decisive first. */
function outcomeOf(row: Row, r: NewRequest): InsertOutcome | undefined {
  const sameKey = (existing: NodepoolRequest): InsertOutcome => ({ kind: existing.bodyHash === r.bodyHash ? 'replayed' : 'key-conflict', request: existing });
  if (row.id) {
    const request = toRequest(row);
    if (request.state === r.state) return { kind: 'created', request };
    const ahead = (typeof row.ahead === 'string' ? JSON.parse(row.ahead) : row.ahead) as { id: string; state: RequestState };
    return { kind: 'created', request, waitingFor: ahead };
  }
  if (row.by_key) return sameKey(fromJson(row.by_key));
  if (row.live) return { kind: 'pool-conflict', request: fromJson(row.live) };
  if (row.taken) {
    const t = (typeof row.taken === 'string' ? JSON.parse(row.taken) : row.taken) as { nodepoolId: string; seenAt: string; request: unknown };
    return { kind: 'name-taken', nodepoolId: t.nodepoolId, seenAt: new Date(t.seenAt), request: t.request ? fromJson(t.request) : undefined };
  }
  return undefined;
}

/**
 * Stores a new request with its first history entry, or says what refused it: one statement,
 * and one more for each concurrent insert that wins the race to the unique indexes (at most
 * two; a third loss is an error, as something keeps conflicting that cannot be found).
 */
export async function insertRequest(q: Queryable, r: NewRequest): Promise<InsertOutcome> {
  // A live request of ours and a taken name are only asked about for a request to be created.
  const checkPool = r.state === 'accepted' && Boolean(r.provider && r.clusterId && r.nodepoolName);
  const params = [
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
    r.note,
    checkPool,
    r.operation ?? 'create',
    r.nodepoolId ?? null,
    r.targetSize ?? null,
    r.createdBy ?? null,
    r.labels ? JSON.stringify(r.labels) : null,
    // Turns are only taken by ACK requests still to be driven.
    r.turn && r.provider === 'ack' && r.state === 'accepted' ? r.turn.waitNote : null,
    r.turn?.waitUntil ?? null,
    r.lease?.owner ?? null,
    r.lease?.until ?? null,
  ];
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await q.query<Row>(INSERT_SQL, params, { name: 'insert_request' });
    const outcome = outcomeOf(res.rows[0] ?? {}, r);
    if (outcome) return outcome;
  }
  throw new VanishedConflictError(r.id);
}
