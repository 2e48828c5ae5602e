/**
 * How long the last followed tasks of each kind took (task_durations), shared by every
 * instance: one that starts to follow a task with no history of its own plans from what the
 * others saw.
 */
import type { Queryable } from './db.js';

/** How many durations a kind keeps (the newest). */
export const KEPT_DURATIONS = 8;

/** The kind's recent durations in ms, oldest first; none if no task of it was seen to end. */
export async function recentTaskDurations(q: Queryable, kind: string): Promise<number[]> {
  const res = await q.query<{ durations_ms: number[] }>('SELECT durations_ms FROM task_durations WHERE kind = $1', [kind]);
  return (res.rows[0]?.durations_ms ?? []).map(Number);
}

/** Adds one duration to the kind's, keeping the newest KEPT_DURATIONS. */
export async function recordTaskDuration(q: Queryable, kind: string, ms: number, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO task_durations (kind, durations_ms, updated_at) VALUES ($1, ARRAY[$2::integer], $3)
     ON CONFLICT (kind) DO UPDATE
       SET durations_ms = (task_durations.durations_ms || $2::integer)[greatest(1, cardinality(task_durations.durations_ms) + 2 - $4::integer):],
           updated_at = $3`,
    [kind, Math.round(Math.min(ms, 2_147_483_647)), at, KEPT_DURATIONS],
  );
}
