/**
 * What /metrics reports, read from the store so that every `api` instance answers the same:
 * requests by state, time to active, cloud calls (each instance adds its counts when an
 * invocation ends), firing alerts, the outbox, and the last sweep.
 */
import type { CallCount } from '../cloud/types.js';
import type { Queryable } from './db.js';
import type { Row } from './rows.js';

/** Upper bounds (seconds) of the time-to-active histogram: a minute to two hours. */
export const READY_BUCKETS = [60, 120, 300, 600, 900, 1800, 3600, 7200];

export interface MetricsSnapshot {
  requests: Array<{ provider: string; state: string; count: number }>;
  ready: { buckets: number[]; sum: number; count: number };
  calls: CallCount[];
  firing: Array<{ rule: string; severity: string; count: number }>;
  outbox: Array<{ channel: string; pending: number; oldestAgeSeconds: number }>;
  lastSweep: { finishedAt: Date; durationMs: number; clusters: number; errors: number } | null;
  clusters: { watched: number; unreachable: number };
}

/** Adds one invocation's counts to the totals (one statement). */
export async function addCloudCalls(db: Queryable, counts: CallCount[]): Promise<void> {
  if (!counts.length) return;
  await db.query(
    `INSERT INTO cloud_calls (api, outcome, kind, calls)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
     ON CONFLICT (api, outcome, kind) DO UPDATE SET calls = cloud_calls.calls + EXCLUDED.calls`,
    [counts.map((c) => c.api), counts.map((c) => c.outcome.slice(0, 128)), counts.map((c) => c.kind), counts.map((c) => c.calls)],
  );
}

/** Records a sweep that held the lock, as it ends. */
export async function recordSweepRun(db: Queryable, run: { finishedAt: Date; durationMs: number; clusters: number; errors: number }): Promise<void> {
  await db.query(
    `INSERT INTO sweep_runs (name, finished_at, duration_ms, clusters, errors) VALUES ('watch', $1, $2, $3, $4)
     ON CONFLICT (name) DO UPDATE SET finished_at = EXCLUDED.finished_at, duration_ms = EXCLUDED.duration_ms,
       clusters = EXCLUDED.clusters, errors = EXCLUDED.errors`,
    [run.finishedAt, Math.round(run.durationMs), run.clusters, run.errors],
  );
}

const n = (v: unknown) => Number(v ?? 0);

export async function readMetrics(db: Queryable, now: Date): Promise<MetricsSnapshot> {
  const [requests, ready, calls, firing, outbox, sweep, clusters] = await Promise.all([
    db.query<Row>(`SELECT provider, state, count(*) AS n FROM nodepool_requests GROUP BY provider, state ORDER BY provider, state`),
    // From acceptance to the first time the request was seen active.
    db.query<Row>(
      `WITH d AS (
         SELECT extract(epoch FROM min(h.at) - r.created_at) AS s
           FROM nodepool_requests r JOIN request_history h ON h.request_id = r.id AND h.state = 'active'
          WHERE r.state = 'active'
          GROUP BY r.id, r.created_at)
       SELECT (SELECT sum(s) FROM d) AS sum, (SELECT count(*) FROM d) AS n,
              ARRAY(SELECT (SELECT count(*) FROM d WHERE d.s <= b.le) FROM unnest($1::float8[]) WITH ORDINALITY AS b(le, i) ORDER BY b.i) AS counts`,
      [READY_BUCKETS],
    ),
    db.query<Row>(`SELECT api, outcome, kind, calls FROM cloud_calls ORDER BY api, outcome, kind`),
    db.query<Row>(`SELECT rule, severity, count(*) AS n FROM alerts WHERE state = 'firing' GROUP BY rule, severity ORDER BY rule, severity`),
    db.query<Row>(
      `SELECT channel, count(*) AS n, extract(epoch FROM $1::timestamptz - min(created_at)) AS age
         FROM deliveries WHERE state = 'pending' GROUP BY channel ORDER BY channel`,
      [now],
    ),
    db.query<Row>(`SELECT finished_at, duration_ms, clusters, errors FROM sweep_runs WHERE name = 'watch'`),
    db.query<Row>(`SELECT count(*) AS watched, count(*) FILTER (WHERE consecutive_failures > 0) AS unreachable FROM cluster_health`),
  ]);
  const s = sweep.rows[0];
  return {
    requests: requests.rows.map((r) => ({ provider: String(r.provider ?? 'unknown'), state: String(r.state), count: n(r.n) })),
    ready: { buckets: (ready.rows[0]!.counts as unknown[]).map(n), sum: n(ready.rows[0]!.sum), count: n(ready.rows[0]!.n) },
    calls: calls.rows.map((r) => ({ api: String(r.api), outcome: String(r.outcome), kind: String(r.kind), calls: n(r.calls) })),
    firing: firing.rows.map((r) => ({ rule: String(r.rule), severity: String(r.severity), count: n(r.n) })),
    outbox: outbox.rows.map((r) => ({ channel: String(r.channel), pending: n(r.n), oldestAgeSeconds: Math.max(0, n(r.age)) })),
    lastSweep: s
      ? {
          finishedAt: s.finished_at instanceof Date ? s.finished_at : new Date(String(s.finished_at)),
          durationMs: n(s.duration_ms),
          clusters: n(s.clusters),
          errors: n(s.errors),
        }
      : null,
    clusters: { watched: n(clusters.rows[0]?.watched), unreachable: n(clusters.rows[0]?.unreachable) },
  };
}
