/**
 * One rate limit across instances: limiters of separate instances (separate objects, one
 * store) hand out slots spaced for the whole account; without the store they fail safe, each
 * waiting on its share of the rate. On every store backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import type { Db } from '../../src/store/index.js';
import { SharedRateLimiter } from '../../src/store/rate-limits.js';
import { backends } from '../helpers/db.js';

/** A clock frozen at `at` whose sleeps only record how long they were asked to wait. */
function recordingClock(at: number): Clock & { waits: number[] } {
  const waits: number[] = [];
  return { waits, now: () => at, sleep: async (ms) => void waits.push(ms) };
}

describe.each(backends)('shared rate limit on $name', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  it('spaces the calls of every instance together: ten calls from two instances at 10/s take ten 100 ms slots', async () => {
    const clock = recordingClock(Date.UTC(2026, 10, 30, 12));
    const key = `test:${Math.random()}:ens:CreateClusterNodePool`;
    const instances = [new SharedRateLimiter(db, key, 10, clock, 2), new SharedRateLimiter(db, key, 10, clock, 2)];
    await Promise.all(Array.from({ length: 10 }, (_, i) => instances[i % 2]!.acquire()));
    expect(clock.waits.sort((a, b) => a - b)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900]);
  });

  it('takes one statement a call', async () => {
    let statements = 0;
    const counting = {
      query: (sql: string, params?: unknown[]) => {
        statements++;
        return db.query(sql, params);
      },
      exec: (sql: string) => db.exec(sql),
    };
    const limiter = new SharedRateLimiter(counting as never, `test:${Math.random()}:x`, 100, recordingClock(0), 1);
    await limiter.acquire();
    await limiter.acquire();
    expect(statements).toBe(2);
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
    expect(errors).toHaveLength(2);
  });
});
