/** When provision asks about an ACK task it follows: sparse while far from the end, tight near it. */
import { describe, expect, it } from 'vitest';
import { nextTaskPoll, TaskDurations } from '../../src/pipeline/schedule.js';

/** The times at which a follower asks, for a task that ends at `endMs`, and the first one at or after the end. */
function asks(endMs: number, expectedMs?: number, jitter?: (i: number) => number) {
  const at: number[] = [];
  let t = 0;
  while (t < endMs) {
    t += nextTaskPoll(t, expectedMs, jitter?.(at.length));
    at.push(t);
  }
  return { calls: at.length, lateMs: t - endMs };
}

describe('nextTaskPoll', () => {
  it('without history asks after a fortieth of the time so far, between 100 ms and 15 s', () => {
    expect(nextTaskPoll(0)).toBe(100);
    expect(nextTaskPoll(40_000)).toBe(1_000);
    expect(nextTaskPoll(3_600_000)).toBe(15_000);
  });

  it('without history spreads the followers of tasks started together, so that one of them sees its end far sooner', () => {
    expect([nextTaskPoll(40_000, undefined, 0), nextTaskPoll(40_000, undefined, 0.999)]).toEqual([500, 1_499]);
    // ten tasks of one region that take 10 s, started together: without spreading, every
    // follower asks at the same times, and all are as late as one
    const end = 10_000;
    const alone = asks(end).lateMs;
    // a fixed draw of jitters per follower, as Math.random would give
    const lates = Array.from({ length: 10 }, (_, f) => asks(end, undefined, (i) => ((f * 7 + i * 13) % 10) / 10).lateMs);
    expect(alone).toBeGreaterThan(100);
    expect(Math.min(...lates)).toBeLessThan(alone / 3);
    // and they ask about as often
    const calls = Array.from({ length: 10 }, (_, f) => asks(end, undefined, (i) => ((f * 7 + i * 13) % 10) / 10).calls);
    expect(Math.max(...calls)).toBeLessThanOrEqual(1.6 * asks(end).calls);
  });

  it('with history sleeps until just before the expected end, then asks every E/400', () => {
    const e = 300_000; // a five-minute task
    expect(nextTaskPoll(0, e)).toBe(60_000);
    expect(nextTaskPoll(290_000, e)).toBe(7_000); // until E − E/100 = 297 s
    expect(nextTaskPoll(298_000, e)).toBe(750);
    // a task far slower than the ones before is asked about no more often than without history
    expect(nextTaskPoll(600_000, e)).toBe(15_000);
  });

  it('finds a task that ends as expected sooner and with fewer calls than without history', () => {
    for (const e of [10_000, 180_000, 300_000]) {
      const blind = asks(e);
      const informed = asks(e, e);
      expect(informed.lateMs).toBeLessThanOrEqual(e / 400);
      expect(informed.lateMs).toBeLessThan(blind.lateMs);
      expect(informed.calls).toBeLessThan(blind.calls);
    }
  });

  it('a task that runs longer than the shortest before it is still found within a few percent, with fewer calls than without history', () => {
    const e = 120_000;
    for (const end of [1.2 * e, 2 * e, 3 * e]) {
      const { lateMs, calls } = asks(end, e);
      expect(lateMs).toBeLessThanOrEqual(0.05 * end);
      expect(calls).toBeLessThan(asks(end).calls);
    }
  });
});

describe('TaskDurations', () => {
  it('expects the shortest of the last eight durations of a kind', () => {
    const d = new TaskDurations();
    expect(d.expected('ack/cn-beijing')).toBeUndefined();
    for (const ms of [1, 2, 300, 100, 200, 300, 400, 500, 600, 700]) d.record('ack/cn-beijing', ms * 1000);
    // the last eight: 300, 100, 200, 300, 400, 500, 600, 700 s
    expect(d.expected('ack/cn-beijing')).toBe(100_000);
    expect(d.expected('ack/cn-hangzhou')).toBeUndefined();
    d.clear();
    expect(d.expected('ack/cn-beijing')).toBeUndefined();
  });

  it('wakes who waits on a kind when its first duration is learned, or a shorter one; not for a longer one, another kind, or after cancel', async () => {
    const d = new TaskDurations();
    const woke: string[] = [];
    const wait = (name: string, key = 'ack/cn-beijing') => {
      const w = d.untilLearned(key);
      void w.learned.then(() => woke.push(name));
      return w;
    };
    const settle = () => new Promise((r) => setImmediate(r));
    wait('a');
    wait('elsewhere', 'ack/cn-hangzhou');
    wait('gone').cancel();
    d.record('ack/cn-beijing', 100_000);
    await settle();
    expect(woke).toEqual(['a']);
    wait('b');
    d.record('ack/cn-beijing', 120_000); // longer: what to expect has not changed
    await settle();
    expect(woke).toEqual(['a']);
    d.record('ack/cn-beijing', 90_000);
    await settle();
    expect(woke).toEqual(['a', 'b']);
  });
});
