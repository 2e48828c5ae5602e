/**
 * A rate limit shared by every instance of every function: the burst and spacing of calls (as
 * the in-process limiter does them) kept in one row per principal and API, on the database's
 * clock. Taking a slot is one statement: the row moves to max(its slot, now) + spacing, and the
 * caller waits until the slot it took, less the burst's tolerance. Function Compute may run
 * many instances; together they stay under the limit. A first attempt takes no slot more than
 * queueAheadMs ahead (it asks again when the line has moved, one per instance at a time); a
 * retry takes the next however far ahead.
 *
 * When the store cannot answer, the limiter fails safe: it falls back to an in-process
 * limiter at the rate divided among the instances that may run at once, so that it waits
 * longer, never less (and says so once, until the store answers again).
 */
import type { Clock } from '../clock.js';
import { burstToleranceMs, type Limiter, type LimiterFactory, queueAheadMs, RateLimiter, spacingMs, TakingLine } from '../cloud/rate-limiter.js';
import type { Queryable } from './db.js';

/** The longest a slot may lie ahead: a row pushed further (a clock that jumped) starts again from now. */
const MAX_AHEAD_MS = 60_000;
/** Milliseconds on the database's clock: one clock for every instance, whatever theirs say. */
const DB_NOW_MS = '(extract(epoch FROM statement_timestamp()) * 1000)::bigint';

export class SharedRateLimiter implements Limiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly aheadMs: number;
  private readonly line = new TakingLine();
  private readonly fallback: Limiter;
  private fellBack = false;

  constructor(
    private readonly db: Queryable,
    private readonly key: string,
    ratePerSecond: number,
    clock: Clock,
    /** How many instances may call at once: the fallback gives each its share of the rate. */
    instances: number,
    private readonly onFallback?: (error: unknown) => void,
    /** Waits in real time: the slots are on the database's clock. */
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    /** Calls that may go at once, across every instance. */
    burst = 1,
  ) {
    this.intervalMs = spacingMs(ratePerSecond);
    this.toleranceMs = burstToleranceMs(ratePerSecond, burst);
    this.aheadMs = queueAheadMs(ratePerSecond, burst);
    const share = Math.max(1, instances);
    this.fallback = new RateLimiter(ratePerSecond / share, clock, Math.max(1, Math.floor(burst / share)));
  }

  async acquire(retry = false): Promise<void> {
    if (this.intervalMs === 0) return;
    let wait: number;
    try {
      wait = retry
        ? (await this.take(null)).wait!
        : await this.line.turn(async () => {
            for (;;) {
              const { wait, ahead } = await this.take(this.aheadMs);
              if (wait !== undefined) return wait;
              // Not taken: wait, holding no slot, until the line is within reach.
              await this.sleep(Math.max(this.intervalMs, ahead - this.aheadMs));
            }
          });
      this.fellBack = false;
    } catch (err) {
      if (!this.fellBack) this.onFallback?.(err);
      this.fellBack = true;
      return this.fallback.acquire(retry);
    }
    if (wait > 0) await this.sleep(wait);
  }

  /**
   * One statement: takes the next slot, unless `within` is given and that slot's wait would be
   * longer; either way it answers how long a call taking the next slot would wait (read as the
   * row was). A row more than MAX_AHEAD_MS ahead (a clock that jumped) starts again from now.
   */
  private async take(within: number | null): Promise<{ wait?: number; ahead: number }> {
    const next = (row: string) => `CASE WHEN ${row} > ${DB_NOW_MS} + $3::bigint THEN ${DB_NOW_MS} ELSE GREATEST(${row}, ${DB_NOW_MS}) END`;
    const res = await this.db.query<{ wait_ms: string | number | null; ahead_ms: string | number | null }>(
      `WITH taken AS (
         INSERT INTO rate_slots (key, next_at_ms) VALUES ($1, ${DB_NOW_MS} + $2::bigint)
         ON CONFLICT (key) DO UPDATE
           SET next_at_ms = ${next('rate_slots.next_at_ms')} + $2::bigint
           WHERE $5::bigint IS NULL OR ${next('rate_slots.next_at_ms')} - $4::bigint - ${DB_NOW_MS} <= $5::bigint
         RETURNING next_at_ms - $2::bigint - $4::bigint - ${DB_NOW_MS} AS wait_ms)
       SELECT (SELECT wait_ms FROM taken) AS wait_ms,
              (SELECT ${next('next_at_ms')} - $4::bigint - ${DB_NOW_MS} FROM rate_slots WHERE key = $1) AS ahead_ms`,
      [this.key, this.intervalMs, MAX_AHEAD_MS, this.toleranceMs, within],
    );
    const row = res.rows[0]!;
    return { wait: row.wait_ms === null ? undefined : Number(row.wait_ms), ahead: Number(row.ahead_ms ?? 0) };
  }
}

/** Shared limiters for one principal (`scope`, the account): every instance that uses the same scope shares them. */
export function sharedLimiters(db: Queryable, scope: string, clock: Clock, instances: number, onFallback?: (error: unknown) => void): LimiterFactory {
  return (api, rate, burst) => new SharedRateLimiter(db, `${scope}:${api}`, rate, clock, instances, onFallback, undefined, burst);
}
