/**
 * A rate limit shared by every instance of every function: the burst and spacing of calls (as
 * the in-process limiter does them) kept in one row per principal and API, on the database's
 * clock. Taking a slot is one statement: the row moves to max(its slot, now) + spacing, and the
 * caller waits until the slot it took, less the burst's tolerance. Function Compute may run
 * many instances; together they stay under the limit. A first attempt takes no slot more than
 * queueAheadMs ahead (it asks again when the line has moved); a retry takes the next however far
 * ahead. An instance's first attempts that wait together take their slots in one statement, in
 * the order they came: a burst of calls costs a round trip, not one each.
 *
 * When the store cannot answer, the limiter fails safe: it falls back to an in-process
 * limiter at the rate divided among the instances that may run at once, so that it waits
 * longer, never less (and says so once, until the store answers again).
 */
import type { Clock } from '../clock.js';
import { burstToleranceMs, type Limiter, type LimiterFactory, queueAheadMs, RateLimiter, spacingMs } from '../cloud/rate-limiter.js';
import type { Queryable } from './db.js';

/** The longest a slot may lie ahead: a row pushed further (a clock that jumped) starts again from now. */
const MAX_AHEAD_MS = 60_000;
/** Milliseconds on the database's clock: one clock for every instance, whatever theirs say. */
const DB_NOW_MS = '(extract(epoch FROM statement_timestamp()) * 1000)::bigint';

export class SharedRateLimiter implements Limiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly aheadMs: number;
  /** This instance's first attempts waiting for a slot, in the order they came. */
  private readonly line: Array<{ resolve: (wait: number) => void; reject: (error: unknown) => void }> = [];
  private taking = false;
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
        ? (await this.take(null, 1)).wait!
        : await new Promise<number>((resolve, reject) => {
            this.line.push({ resolve, reject });
            // Started once what else this turn of the event loop asks for has joined the line.
            if (!this.taking) {
              this.taking = true;
              queueMicrotask(() => void this.takeForLine());
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
   * Takes slots for the first attempts waiting, as many as lie within queueAheadMs, and hands
   * them out in order; when none does, waits (holding none) until the line is within reach.
   * One loop at a time: attempts that come meanwhile wait for its next statement.
   */
  private async takeForLine(): Promise<void> {
    try {
      while (this.line.length) {
        const { wait, taken, ahead } = await this.take(this.aheadMs, this.line.length);
        if (wait === undefined) await this.sleep(Math.max(this.intervalMs, ahead - this.aheadMs));
        else for (const [i, w] of this.line.splice(0, taken).entries()) w.resolve(wait + i * this.intervalMs);
      }
    } catch (error) {
      for (const w of this.line.splice(0)) w.reject(error);
    } finally {
      this.taking = false;
    }
  }

  /**
   * One statement: takes up to `want` slots in a row (all of them when `within` is null, else
   * those whose wait is at most `within`); answers the wait for the first one taken and how many
   * were, or (none taken) how long a call taking the next slot would wait, read as the row was. A
   * row more than MAX_AHEAD_MS ahead (a clock that jumped) starts again from now.
   */
  private async take(within: number | null, want: number): Promise<{ wait?: number; taken: number; ahead: number }> {
    const next = (row: string) => `CASE WHEN ${row} > ${DB_NOW_MS} + $3::bigint THEN ${DB_NOW_MS} ELSE GREATEST(${row}, ${DB_NOW_MS}) END`;
    // How many of `want` slots from `base` on lie within reach: slot i waits base + i·spacing − tolerance − now.
    const count = (base: string) =>
      `CASE WHEN $5::bigint IS NULL THEN $6::int
            WHEN $5::bigint + $4::bigint + ${DB_NOW_MS} - ${base} < 0 THEN 0
            ELSE LEAST($6::int, (($5::bigint + $4::bigint + ${DB_NOW_MS} - ${base}) / $2::bigint)::int + 1) END`;
    const res = await this.db.query<{ wait_ms: string | number | null; taken: number | null; ahead_ms: string | number | null }>(
      `WITH taken AS (
         INSERT INTO rate_slots (key, next_at_ms, last_taken) VALUES ($1, ${DB_NOW_MS} + ${count(DB_NOW_MS)} * $2::bigint, ${count(DB_NOW_MS)})
         ON CONFLICT (key) DO UPDATE
           SET next_at_ms = ${next('rate_slots.next_at_ms')} + ${count(next('rate_slots.next_at_ms'))} * $2::bigint,
               last_taken = ${count(next('rate_slots.next_at_ms'))}
           WHERE ${count(next('rate_slots.next_at_ms'))} > 0
         RETURNING next_at_ms - last_taken * $2::bigint - $4::bigint - ${DB_NOW_MS} AS wait_ms, last_taken AS taken)
       SELECT (SELECT wait_ms FROM taken) AS wait_ms, (SELECT taken FROM taken) AS taken,
              (SELECT ${next('next_at_ms')} - $4::bigint - ${DB_NOW_MS} FROM rate_slots WHERE key = $1) AS ahead_ms`,
      [this.key, this.intervalMs, MAX_AHEAD_MS, this.toleranceMs, within, want],
    );
    const row = res.rows[0]!;
    const taken = Number(row.taken ?? 0);
    return { wait: taken > 0 ? Number(row.wait_ms) : undefined, taken, ahead: Number(row.ahead_ms ?? 0) };
  }
}

/** Shared limiters for one principal (`scope`, the account): every instance that uses the same scope shares them. */
export function sharedLimiters(db: Queryable, scope: string, clock: Clock, instances: number, onFallback?: (error: unknown) => void): LimiterFactory {
  return (api, rate, burst) => new SharedRateLimiter(db, `${scope}:${api}`, rate, clock, instances, onFallback, undefined, burst);
}
