/**
 * A rate limit shared by every instance of every function: the spacing of calls (as the
 * in-process limiter does it) kept in one row per principal and API. Taking a slot is one
 * statement: the row moves to max(its slot, now) + spacing, and the caller sends at the slot
 * it took. Function Compute may run many instances; together they stay under the limit.
 *
 * When the store cannot answer, the limiter fails safe: it falls back to an in-process
 * limiter at the rate divided among the instances that may run at once, so that it waits
 * longer, never less.
 */
import type { Clock } from '../clock.js';
import { type Limiter, type LimiterFactory, RateLimiter, spacingMs } from '../cloud/rate-limiter.js';
import type { Queryable } from './db.js';

export class SharedRateLimiter implements Limiter {
  private readonly intervalMs: number;
  private readonly fallback: Limiter;

  constructor(
    private readonly db: Queryable,
    private readonly key: string,
    ratePerSecond: number,
    private readonly clock: Clock,
    /** How many instances may call at once: the fallback gives each its share of the rate. */
    instances: number,
    private readonly onFallback?: (error: unknown) => void,
  ) {
    this.intervalMs = spacingMs(ratePerSecond);
    this.fallback = new RateLimiter(ratePerSecond / Math.max(1, instances), clock);
  }

  async acquire(): Promise<void> {
    if (this.intervalMs === 0) return;
    const now = this.clock.now();
    let next: number;
    try {
      const res = await this.db.query<{ next_at_ms: string | number }>(
        `INSERT INTO rate_slots (key, next_at_ms) VALUES ($1, $2::bigint + $3::bigint)
         ON CONFLICT (key) DO UPDATE SET next_at_ms = GREATEST(rate_slots.next_at_ms, $2::bigint) + $3::bigint
         RETURNING next_at_ms`,
        [this.key, now, this.intervalMs],
      );
      next = Number(res.rows[0]!.next_at_ms);
    } catch (err) {
      this.onFallback?.(err);
      return this.fallback.acquire();
    }
    const slot = next - this.intervalMs;
    if (slot > now) await this.clock.sleep(slot - now);
  }
}

/** Shared limiters for one principal (`scope`, the account): every instance that uses the same scope shares them. */
export function sharedLimiters(db: Queryable, scope: string, clock: Clock, instances: number, onFallback?: (error: unknown) => void): LimiterFactory {
  return (api, rate) => new SharedRateLimiter(db, `${scope}:${api}`, rate, clock, instances, onFallback);
}
