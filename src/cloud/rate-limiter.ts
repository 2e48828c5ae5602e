/**
 * Keeps one API's calls under its documented rate by spacing them evenly: each caller
 * reserves the next free slot, 1/rate seconds after the previous one. Spacing, rather
 * than bursting, keeps the client under a token bucket on the server even with jitter.
 */
import type { Clock } from '../clock.js';

/** Admits one call when it may be sent. */
export interface Limiter {
  acquire(): Promise<void>;
}

/** Makes the limiter of one API (`ens:CreateClusterNodePool`, …) at its rate. */
export type LimiterFactory = (api: string, ratePerSecond: number) => Limiter;

/** The spacing of calls at `ratePerSecond`, in whole milliseconds (rounded up: never faster). */
export function spacingMs(ratePerSecond: number): number {
  return ratePerSecond > 0 && Number.isFinite(ratePerSecond) ? Math.ceil(1000 / ratePerSecond) : 0;
}

/** In this process only: each instance of a function has its own. */
export class RateLimiter implements Limiter {
  private nextSlot = 0;
  private readonly intervalMs: number;

  constructor(
    readonly ratePerSecond: number,
    private readonly clock: Clock,
  ) {
    this.intervalMs = spacingMs(ratePerSecond);
  }

  /** Resolves when the caller may send; calls are admitted in arrival order. */
  async acquire(): Promise<void> {
    if (this.intervalMs === 0) return;
    const now = this.clock.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    if (slot > now) await this.clock.sleep(slot - now);
  }
}
