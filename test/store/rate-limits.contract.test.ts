/**
 * One rate limit across instances: limiters of separate instances (separate objects, one
 * store) hand out slots spaced for the whole account; without the store they fail safe, each
 * waiting on its share of the rate. On every store backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import type { Db } from '../../src/store/index.js';
import { SharedRateLimiter } from '../../src/store/rate-limits.js';
import { countingDb } from '../helpers/counting.js';
import { backends } from '../helpers/db.js';

/** A clock frozen at `at` whose sleeps only record how long they were asked to wait. */
function recordingClock(at: number): Clock & { waits: number[] } {
  const waits: number[] = [];
  return { waits, now: () => at, sleep: async (ms) => void waits.push(ms) };
}

/** `n` waits, one a slot of 100 ms each: the i-th (sorted) within the 100 ms up to (i + 1) × 100. */
function expectSpaced(waits: number[], n: number): void {
  const sorted = [...waits].sort((a, b) => a - b);
  expect(sorted).toHaveLength(n);
  sorted.forEach((w, i) => {
    expect(w).toBeGreaterThan((i + 1) * 100 - 100);
    expect(w).toBeLessThanOrEqual((i + 1) * 100);
  });
}

describe.each(backends)('shared rate limit on $name', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  it('spaces the calls of every instance together: ten calls from two instances at 10/s take ten 100 ms slots', async () => {
    const clock = recordingClock(Date.UTC(2026, 10, 30, 12));
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    const key = `test:${Math.random()}:ens:CreateClusterNodePool`;
    const instances = [new SharedRateLimiter(db, key, 10, clock, 2, undefined, sleep), new SharedRateLimiter(db, key, 10, clock, 2, undefined, sleep)];
    await Promise.all(Array.from({ length: 10 }, (_, i) => instances[i % 2]!.acquire()));
    // The slots are on the database's clock: each wait is its slot less the little time already gone.
    expectSpaced(waits, 9);
  });

  it('lets the burst go at once across instances, then spaces the rest: eight calls at 10/s with a burst of three', async () => {
    const clock = recordingClock(Date.UTC(2026, 10, 30, 12));
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    const key = `test:${Math.random()}:ens:CreateClusterNodePool`;
    const instances = [new SharedRateLimiter(db, key, 10, clock, 2, undefined, sleep, 3), new SharedRateLimiter(db, key, 10, clock, 2, undefined, sleep, 3)];
    await Promise.all(Array.from({ length: 8 }, (_, i) => instances[i % 2]!.acquire()));
    // Three calls do not wait; the other five wait about 100, 200, … 500 ms.
    expectSpaced(waits, 5);
  });

  it('heals a slot pushed far ahead (a clock that jumped): it starts again from now, for a first attempt as for a retry', async () => {
    for (const retry of [false, true]) {
      const key = `test:${Math.random()}:x`;
      await db.query('INSERT INTO rate_slots (key, next_at_ms) VALUES ($1, $2)', [key, Date.now() + 365 * 86_400_000]);
      const waits: number[] = [];
      const limiter = new SharedRateLimiter(db, key, 10, recordingClock(0), 1, undefined, async (ms) => {
        waits.push(ms);
        if (waits.length > 3) throw new Error('still waiting for a slot a year ahead');
      });
      await limiter.acquire(retry);
      expect(waits.every((w) => w <= 100)).toBe(true);
    }
  });

  it('asks the store once for the first attempts of an instance that wait together, and hands the slots out in the order they came', async () => {
    const key = `test:${Math.random()}:ens:CreateClusterNodePool`;
    await db.query('INSERT INTO rate_slots (key, next_at_ms) VALUES ($1, $2)', [key, Date.now() + 3_000]);
    const counting = countingDb(db);
    let waited = 0;
    // rate 1000/s: the five slots fit in the second ahead once the line has moved
    const limiter = new SharedRateLimiter(counting.db, key, 1_000, recordingClock(0), 1, undefined, async (ms) => {
      if (ms > 100 && waited++ === 0) await db.query('UPDATE rate_slots SET next_at_ms = $2 WHERE key = $1', [key, Date.now()]);
    });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 5 }, (_, i) => limiter.acquire().then(() => order.push(i))));
    // refused once (the line was three seconds ahead) and waited; then the five slots in one statement
    expect(counting.statements()).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('takes the slots of a burst of first attempts in one statement, spaced as one at a time would be', async () => {
    const counting = countingDb(db);
    const waits: number[] = [];
    const limiter = new SharedRateLimiter(counting.db, `test:${Math.random()}:x`, 10, recordingClock(0), 1, undefined, async (ms) => void waits.push(ms), 2);
    await Promise.all(Array.from({ length: 6 }, () => limiter.acquire()));
    expect(counting.statements()).toBe(1);
    // a burst of two goes at once; the other four wait about 100, 200, 300 and 400 ms
    expectSpaced(waits, 4);
  });

  it('takes for a burst only the slots within a second, and the rest once the line has moved', async () => {
    const key = `test:${Math.random()}:x`;
    const counting = countingDb(db);
    const waits: number[] = [];
    // 10/s with no burst: a second ahead holds eleven slots (waits of 0 to 1000 ms)
    const limiter = new SharedRateLimiter(counting.db, key, 10, recordingClock(0), 1, undefined, async (ms) => {
      waits.push(ms);
      // the eleventh sleep is the line's (the ten before are the first slots' own waits): meanwhile the line moves
      if (waits.length === 11) await db.query('UPDATE rate_slots SET next_at_ms = $2 WHERE key = $1', [key, Date.now()]);
    });
    await Promise.all(Array.from({ length: 15 }, () => limiter.acquire()));
    // eleven slots, then none (the line waited), then the last four
    expect(counting.statements()).toBe(3);
    const first = waits.slice(0, 10).sort((a, b) => a - b);
    first.forEach((w, i) => {
      expect(w).toBeGreaterThan(i * 100);
      expect(w).toBeLessThanOrEqual((i + 1) * 100);
    });
    expect(waits[10]).toBeGreaterThan(0);
    expect(waits[10]).toBeLessThanOrEqual(100);
    expect(waits.slice(11).sort((a, b) => a - b)).toHaveLength(3);
  });

  it('sends a retry before the first attempts still waiting: those take no slot more than a second ahead', async () => {
    const key = `test:${Math.random()}:ens:CreateClusterNodePool`;
    const backlog = async (ms: number) => db.query('UPDATE rate_slots SET next_at_ms = $2 WHERE key = $1', [key, Date.now() + ms]);
    await db.query('INSERT INTO rate_slots (key, next_at_ms) VALUES ($1, $2)', [key, Date.now() + 5_000]);
    const slotAhead = async () =>
      Number((await db.query<{ at: string }>('SELECT next_at_ms AS at FROM rate_slots WHERE key = $1', [key])).rows[0]!.at) - Date.now();
    // A first attempt behind five seconds of slots takes none: it waits about four seconds and asks again.
    const waits: number[] = [];
    let rowWhileWaiting = 0;
    const first = new SharedRateLimiter(db, key, 10, recordingClock(0), 1, undefined, async (ms) => {
      waits.push(ms);
      if (waits.length === 1) {
        rowWhileWaiting = await slotAhead();
        await backlog(0); // meanwhile the line has gone
      }
    });
    await first.acquire();
    expect(waits[0]).toBeGreaterThan(3_500);
    expect(waits[0]).toBeLessThanOrEqual(4_000);
    expect(rowWhileWaiting).toBeLessThanOrEqual(5_000); // it took no slot
    expect(waits.slice(1).every((w) => w <= 100)).toBe(true); // then one at once
    // A retry takes the next slot however far ahead.
    await backlog(5_000);
    const retryWaits: number[] = [];
    await new SharedRateLimiter(db, key, 10, recordingClock(0), 1, undefined, async (ms) => void retryWaits.push(ms)).acquire(true);
    expect(retryWaits).toHaveLength(1);
    expect(retryWaits[0]).toBeGreaterThan(4_500);
    expect(await slotAhead()).toBeGreaterThan(5_000);
  });

  it('takes one statement a call', async () => {
    const counting = countingDb(db);
    const limiter = new SharedRateLimiter(counting.db, `test:${Math.random()}:x`, 100, recordingClock(0), 1, undefined, async () => {});
    await limiter.acquire();
    await limiter.acquire();
    expect(counting.statements()).toBe(2);
  });

  it('fails safe when the store cannot answer: each instance waits on its share of the rate', async () => {
    const clock = recordingClock(0);
    const broken = { query: async () => Promise.reject(new Error('connection terminated')), exec: async () => undefined };
    const errors: unknown[] = [];
    const limiter = new SharedRateLimiter(broken as never, 'k', 10, clock, 4, (e) => errors.push(e));
    await limiter.acquire();
    await limiter.acquire();
    // 10/s shared by 4 instances: 2.5/s here, a call every 400 ms
    expect(clock.waits).toEqual([400]);
    // said once, not on every call
    expect(errors).toHaveLength(1);
  });
});
