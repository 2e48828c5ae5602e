/**
 * When each route of ALERT_ROUTES last sent each alert, so that a route with a repeat interval
 * of its own repeats on it (alert_route_notices). Written in the sweep's alert transaction,
 * with the outbox rows of the same messages.
 */
import type { Queryable } from './db.js';

const key = (alertId: number, routeId: string) => `${alertId}\u0000${routeId}`;

/** The last notice of each (alert, route) among these alerts, by `alertId\u0000routeId`. */
export async function routeNotices(q: Queryable, alertIds: number[]): Promise<Map<string, Date>> {
  if (!alertIds.length) return new Map();
  const res = await q.query<{ alert_id: string | number; route_id: string; notified_at: Date | string }>(
    'SELECT alert_id, route_id, notified_at FROM alert_route_notices WHERE alert_id = ANY($1::bigint[])',
    [alertIds],
  );
  return new Map(res.rows.map((r) => [key(Number(r.alert_id), r.route_id), new Date(r.notified_at)]));
}

export async function recordRouteNotices(q: Queryable, notices: Array<{ alertId: number; routeId: string }>, now: Date): Promise<void> {
  if (!notices.length) return;
  await q.query(
    `INSERT INTO alert_route_notices (alert_id, route_id, notified_at)
     SELECT a, r, $3::timestamptz FROM unnest($1::bigint[], $2::text[]) AS n(a, r)
     ON CONFLICT (alert_id, route_id) DO UPDATE SET notified_at = EXCLUDED.notified_at`,
    [notices.map((n) => n.alertId), notices.map((n) => n.routeId), now],
  );
}

export { key as routeNoticeKey };
