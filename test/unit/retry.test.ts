import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { backoffDelay, CloudError, RateLimiter, withRetry } from '../../src/cloud/index.js';
import { processLimiters } from '../../src/cloud/rate-limiter.js';

const throttled = () =>
  new CloudError({ code: 'Throttling.User', message: 'Request was denied due to user flow control.', kind: 'throttled', statusCode: 400 });

/** Drives the clock forward while the operation under test is parked in a sleep. */
async function runWithClock<T>(clock: ManualClock, p: Promise<T>, stepMs = 50): Promise<T> {
  let done = false;
  const result = p.finally(() => {
    done = true;
  });
  while (!done) {
    await new Promise((r) => setImmediate(r));
    if (!done) await clock.advance(stepMs);
  }
  return result;
}

describe('backoff with full jitter', () => {
  it('grows exponentially and stays under the cap', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 10 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy, () => 0.999999))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });
});

describe('withRetry', () => {
  it('retries retryable errors until the operation succeeds', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const out = await runWithClock(
      clock,
      withRetry(
        async () => {
          calls++;
          if (calls < 3) throw throttled();
          return 'ok';
        },
        { clock, deadline: clock.now() + 60_000, random: () => 0.5 },
      ),
    );
    expect(out).toBe('ok');
    expect(calls).toBe(3);
  });

  it('stops at the deadline and marks the error', async () => {
    const clock = new ManualClock();
    const err = await runWithClock(
      clock,
      withRetry(
        async () => {
          throw throttled();
        },
        {
          clock,
          deadline: clock.now() + 1_000,
          random: () => 1,
          policy: { baseDelayMs: 400, maxDelayMs: 400, maxAttempts: 100 },
        },
      ).catch((e) => e),
    );
    expect(err).toMatchObject({ code: 'Throttling.User', budgetExhausted: true, retryable: true });
    expect(err.attempts).toBeLessThanOrEqual(4);
    expect(clock.now()).toBeLessThan(Date.UTC(2026, 0, 1) + 1_000);
  });

  it('does not retry a final error', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw new CloudError({ code: 'InvalidParameter.Name', message: 'bad', kind: 'client', statusCode: 400 });
      },
      { clock, deadline: clock.now() + 60_000 },
    ).catch((e) => e);
    expect(err.retryable).toBe(false);
    expect(calls).toBe(1);
  });

  it('lets beforeRetry settle the outcome instead of trying again', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const out = await runWithClock(
      clock,
      withRetry(
        async () => {
          calls++;
          throw new CloudError({ code: 'RequestTimeout', message: 'timeout', kind: 'timeout' });
        },
        { clock, deadline: clock.now() + 60_000, beforeRetry: async (e) => (e.ambiguous ? 'adopted' : undefined) },
      ),
    );
    expect(out).toBe('adopted');
    expect(calls).toBe(1);
  });
});

describe('RateLimiter', () => {
  it('spaces calls evenly at the configured rate', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter(10, clock);
    const admitted: number[] = [];
    const all = Promise.all(Array.from({ length: 5 }, () => limiter.acquire().then(() => admitted.push(clock.now()))));
    await runWithClock(clock, all, 10);
    expect(admitted).toEqual([0, 100, 200, 300, 400]);
  });

  it('lets a burst go at once, then spaces the rest from where the burst left the bucket', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter(10, clock, 3);
    const admitted: number[] = [];
    const all = Promise.all(Array.from({ length: 6 }, () => limiter.acquire().then(() => admitted.push(clock.now()))));
    await runWithClock(clock, all, 10);
    // Three at once, then one every 100 ms: six calls in 300 ms, as a full bucket of three at 10/s allows.
    expect(admitted).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('refills the burst only as fast as the rate: after a pause of 150 ms, one and a half slots are back', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter(10, clock, 3);
    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    await clock.advance(150);
    const admitted: number[] = [];
    const all = Promise.all(Array.from({ length: 3 }, () => limiter.acquire().then(() => admitted.push(clock.now()))));
    await runWithClock(clock, all, 10);
    expect(admitted).toEqual([150, 200, 300]);
  });

  it('sends a retry before the first attempts still waiting: those take no slot more than a second ahead', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter(10, clock);
    const admitted: string[] = [];
    const firsts = Array.from({ length: 20 }, (_, i) => limiter.acquire().then(() => admitted.push(`first${i}@${clock.now()}`)));
    await new Promise((r) => setImmediate(r)); // the first attempts have taken what they may
    const retry = limiter.acquire(true).then(() => admitted.push(`retry@${clock.now()}`));
    await runWithClock(clock, Promise.all([...firsts, retry]), 10);
    // Eleven first attempts took the slots of the next second (0 … 1000 ms); the retry takes the
    // one after them, before the nine first attempts that were waiting to take one.
    expect(admitted.indexOf('retry@1100')).toBe(11);
    expect(admitted.filter((a) => a.startsWith('first')).map((a) => Number(a.split('@')[1]))).toEqual(
      Array.from({ length: 20 }, (_, i) => (i < 11 ? i * 100 : (i + 1) * 100)),
    );
  });

  it('is one limiter for every instance on one embedded store that names the same principal, and another for another principal or store', async () => {
    const clock = new ManualClock(0);
    // Two instances of a function make their limiters, as CloudClient does, from their own factory.
    const store = {};
    const [a, b] = [processLimiters(store, 'account:1', clock), processLimiters(store, 'account:1', clock)].map((f) =>
      f('ens:DescribeClusterNodePools', 10, 1),
    );
    const other = processLimiters(store, 'account:2', clock)('ens:DescribeClusterNodePools', 10, 1);
    const otherStore = processLimiters({}, 'account:1', clock)('ens:DescribeClusterNodePools', 10, 1);
    const admitted: number[] = [];
    const all = Promise.all([a, b, a, b].map((l) => l!.acquire().then(() => admitted.push(clock.now()))));
    await other.acquire();
    await otherStore.acquire();
    expect(clock.now()).toBe(0);
    await runWithClock(clock, all, 10);
    expect(admitted).toEqual([0, 100, 200, 300]);
  });

  it('admits at once when unlimited', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter(0, clock);
    await Promise.all([limiter.acquire(), limiter.acquire()]);
    expect(clock.now()).toBe(0);
  });
});

describe('withRetry at the end of the budget', () => {
  it("reports the cloud's last error, not the attempt that found no time left", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const err = await runWithClock(
      clock,
      withRetry(
        async () => {
          calls++;
          if (calls === 1) throw new CloudError({ code: 'InternalError', message: 'boom', kind: 'server', statusCode: 500, requestId: 'RID' });
          const e = new CloudError({ code: 'BudgetExhausted', message: 'no time left', kind: 'timeout', ambiguous: false });
          throw e;
        },
        { clock, deadline: clock.now() + 10_000, random: () => 0.5 },
      ).catch((e) => e),
    );
    expect(err).toMatchObject({ code: 'InternalError', requestId: 'RID', budgetExhausted: true });
  });
});
