/**
 * Call-level faults (5xx, throttling, timeouts, latency) and per-principal flow control.
 * Randomness is seeded so that a failing scenario can be replayed.
 */
import type { Clock } from '../src/clock.js';

type CallFaultKind = '5xx' | 'throttling' | 'timeout';

export interface CallFault {
  kind: CallFaultKind;
  /** Probability per matching call, 0..1. */
  rate?: number;
  /** Fail exactly the next N matching calls. */
  count?: number;
  /** Only these actions (for example CreateClusterNodePool); all when absent. */
  actions?: string[];
  clusterId?: string;
  /** For 5xx: the status to answer (500, 502, 503 or 504). */
  status?: number;
  /** For timeouts: hang before doing the work, or do the work and then hang (the answer is lost). */
  phase?: 'before' | 'after';
}

export interface LatencyFault {
  ms: number;
  actions?: string[];
}

/** mulberry32: small, fast, seedable. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultPlan {
  calls: CallFault[] = [];
  latency: LatencyFault[] = [];
  /** How many extra copies of each queue message or async invocation the local FC host delivers. */
  duplicateDelivery = 0;
  private random: () => number;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  reseed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** The fault to apply to this call, if any; consumes one unit of a counted fault. */
  pick(action: string, clusterId: string | undefined): CallFault | undefined {
    for (let i = 0; i < this.calls.length; i++) {
      const f = this.calls[i]!;
      if (f.actions && !f.actions.includes(action)) continue;
      if (f.clusterId && f.clusterId !== clusterId) continue;
      if (f.count !== undefined) {
        if (f.count <= 0) continue;
        f.count -= 1;
        if (f.count === 0 && f.rate === undefined) this.calls.splice(i, 1);
        return f;
      }
      if (this.random() < (f.rate ?? 0)) return f;
    }
    return undefined;
  }

  latencyFor(action: string): number {
    return this.latency.filter((l) => !l.actions || l.actions.includes(action)).reduce((sum, l) => sum + l.ms, 0);
  }

  clear(): void {
    this.calls = [];
    this.latency = [];
    this.duplicateDelivery = 0;
  }
}

/**
 * Token bucket per (principal, action): `limit` tokens, refilled at `limit` per second.
 * This is how "N calls per second per user" behaves: a burst of N, then N a second.
 */
export class FlowControl {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly clock: Clock,
    public limits: Record<string, number>,
  ) {}

  /**
   * True when the call may proceed. `bucket` separates products that share an action
   * name; the limit is looked up by action. Actions without a limit are never throttled.
   */
  take(principal: string, bucket: string, action: string): boolean {
    const limit = this.limits[action];
    if (!limit || limit <= 0) return true;
    const key = `${principal}\u0000${bucket}`;
    const now = this.clock.now();
    const b = this.buckets.get(key) ?? { tokens: limit, at: now };
    b.tokens = Math.min(limit, b.tokens + ((now - b.at) / 1000) * limit);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  reset(): void {
    this.buckets.clear();
  }
}
