/**
 * Keeps one API's calls under its documented rate, as a token bucket would: a few calls may go
 * at once (the burst), then each caller reserves the next free slot, 1/rate seconds after the
 * previous one (the generic cell rate algorithm, with queueing). A documented limit of N calls a
 * second lets N go at once; the client spends only a share of that burst (RATE_LIMIT_BURST), and
 * keeps the rest for other callers of the same account and for rounding. (A call reaches the cloud
 * no earlier than its slot, so a late or bunched arrival never takes more than the bucket holds.)
 */
import type { Clock } from '../clock.js';

/**
 * Admits one call when it may be sent. Callers take slots at most `queueAheadMs` ahead: one
 * whose slot would lie further waits, holding none, and asks again when the line has moved.
 * A retry (`retry`: the call's first attempt already had its slot and failed) takes the next
 * slot however far ahead, so it goes before the first attempts still waiting, not after all
 * of them: a call that failed once is not sent to the back of a long backlog.
 */
export interface Limiter {
  acquire(retry?: boolean): Promise<void>;
}

/** How far ahead a first attempt may take its slot: a second's calls, and never less than the burst and two more. */
export function queueAheadMs(ratePerSecond: number, burst: number): number {
  return Math.max(1_000, burstToleranceMs(ratePerSecond, burst) + 2 * spacingMs(ratePerSecond));
}

/** Makes the limiter of one API (`ens:CreateClusterNodePool`, …) at its rate, letting `burst` calls go at once. */
export type LimiterFactory = (api: string, ratePerSecond: number, burst: number) => Limiter;

/** The share of one second's calls the client lets go at once, unless configured (RATE_LIMIT_BURST): a tenth is left. */
export const DEFAULT_BURST_SHARE = 0.9;

/** How many calls may go at once at `ratePerSecond` when the client spends `share` of a second's calls: at least one. */
export function burstCalls(ratePerSecond: number, share: number): number {
  return Math.max(1, Math.floor(ratePerSecond * share));
}

/** How far ahead of its slot a call may go when `burst` calls may go at once: (burst − 1) slots. */
export function burstToleranceMs(ratePerSecond: number, burst: number): number {
  return Math.max(0, Math.floor(burst) - 1) * spacingMs(ratePerSecond);
}

/** The spacing of calls at `ratePerSecond`, in whole milliseconds (rounded up: never faster). */
export function spacingMs(ratePerSecond: number): number {
  return ratePerSecond > 0 && Number.isFinite(ratePerSecond) ? Math.ceil(1000 / ratePerSecond) : 0;
}

/**
 * First attempts take their slots one at a time, in arrival order: only the one at the head
 * waits for the line to come within reach, the others wait behind it. (The shared limiter in the
 * store takes the slots of every first attempt waiting in one statement instead.)
 */
class TakingLine {
  private tail: Promise<void> = Promise.resolve();

  async turn<T>(take: () => Promise<T>): Promise<T> {
    const before = this.tail;
    let done = () => {};
    this.tail = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      await before;
      return await take();
    } finally {
      done();
    }
  }
}

/** In this process only: one instance's own, or (processLimiters) that of every instance on an embedded store. */
export class RateLimiter implements Limiter {
  /** The theoretical time of the next call, were calls only spaced. */
  private nextSlot = 0;
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly aheadMs: number;
  private readonly line = new TakingLine();

  constructor(
    readonly ratePerSecond: number,
    private readonly clock: Clock,
    burst = 1,
  ) {
    this.intervalMs = spacingMs(ratePerSecond);
    this.toleranceMs = burstToleranceMs(ratePerSecond, burst);
    this.aheadMs = queueAheadMs(ratePerSecond, burst);
  }

  /** Resolves when the caller may send: first attempts in arrival order, retries before those still waiting to take a slot. */
  async acquire(retry = false): Promise<void> {
    if (this.intervalMs === 0) return;
    const wait = retry
      ? this.take()
      : await this.line.turn(async () => {
          for (let ahead = this.ahead(); ahead > this.aheadMs; ahead = this.ahead()) await this.clock.sleep(ahead - this.aheadMs);
          return this.take();
        });
    if (wait > 0) await this.clock.sleep(wait);
  }

  /** How long a call taking the next slot now would wait. */
  private ahead(): number {
    return Math.max(0, this.nextSlot - this.toleranceMs - this.clock.now());
  }

  /** Takes the next slot; answers how long to wait for it. */
  private take(): number {
    const now = this.clock.now();
    const slot = Math.max(now, this.nextSlot - this.toleranceMs);
    this.nextSlot = Math.max(now, this.nextSlot) + this.intervalMs;
    return slot - now;
  }
}

/**
 * Limiters shared by every instance that uses the same store (`store`) and names the same
 * principal (`scope`): what the store's shared limit does across processes, exact and without
 * a round trip, for a store that lives in this process only (PGlite), whose instances all run here.
 */
const processWide = new WeakMap<object, Map<string, RateLimiter>>();

export function processLimiters(store: object, scope: string, clock: Clock): LimiterFactory {
  const limiters = processWide.get(store) ?? new Map<string, RateLimiter>();
  processWide.set(store, limiters);
  return (api, rate, burst) => {
    const key = `${scope}:${api}:${rate}:${burst}`;
    const l = limiters.get(key) ?? new RateLimiter(rate, clock, burst);
    limiters.set(key, l);
    return l;
  };
}
