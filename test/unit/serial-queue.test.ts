/** Work handed on to run one piece after another (in order, stopped by the first failure), and slots shared by concurrent work. */
import { describe, expect, it } from 'vitest';
import { forEachConcurrently, serialQueue, workSlots } from '../../src/concurrent.js';

describe('serialQueue', () => {
  it('runs the pieces one after another, in the order handed, while the caller goes on', async () => {
    const q = serialQueue();
    const seen: string[] = [];
    let running = 0;
    let most = 0;
    const piece = (name: string, ticks: number) => async () => {
      running++;
      most = Math.max(most, running);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      seen.push(name);
      running--;
    };
    q.push(piece('a', 5));
    q.push(piece('b', 1));
    q.push(piece('c', 3));
    seen.push('caller');
    await q.done();
    expect(seen).toEqual(['caller', 'a', 'b', 'c']);
    expect(most).toBe(1);
  });

  it('skips what follows the first failure, says so, and throws it from done', async () => {
    const q = serialQueue();
    const seen: string[] = [];
    q.push(async () => {
      seen.push('a');
    });
    q.push(async () => {
      throw new Error('first');
    });
    q.push(async () => {
      seen.push('skipped');
    });
    q.push(async () => {
      throw new Error('second');
    });
    await expect(q.done()).rejects.toThrow('first');
    expect(q.failed).toBe(true);
    expect(seen).toEqual(['a']);
  });
});

describe('serialQueue.room', () => {
  it('resolves once no more than the given number of pieces are waiting or running', async () => {
    const q = serialQueue();
    const gates: Array<() => void> = [];
    const piece = () => () => new Promise<void>((resolve) => gates.push(resolve));
    for (let i = 0; i < 4; i++) q.push(piece());
    let roomy = false;
    void q.room(2).then(() => {
      roomy = true;
    });
    const tick = () => new Promise((r) => setImmediate(r));
    await tick();
    expect(roomy).toBe(false); // four handed
    gates.shift()!();
    await tick();
    expect(roomy).toBe(false); // three
    gates.shift()!();
    await tick();
    expect(roomy).toBe(true); // two
    await expect(q.room(5)).resolves.toBeUndefined();
    while (gates.length) {
      gates.shift()!();
      await tick();
    }
    await q.done();
  });
});

describe('workSlots', () => {
  it('runs at most the limit at once across every caller, starting the rest in the order they asked', async () => {
    const run = workSlots(2);
    const started: string[] = [];
    let running = 0;
    let most = 0;
    const piece = (name: string, ticks: number) => async () => {
      started.push(name);
      running++;
      most = Math.max(most, running);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      running--;
      return name;
    };
    // two callers share the slots: the second's pieces wait behind the first's
    const a = Promise.all([run(piece('a1', 20)), run(piece('a2', 1)), run(piece('a3', 1))]);
    const b = Promise.all([run(piece('b1', 1)), run(piece('b2', 1))]);
    expect(await a).toEqual(['a1', 'a2', 'a3']);
    expect(await b).toEqual(['b1', 'b2']);
    expect(most).toBe(2);
    expect(started).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
  });

  it('frees the slot of a piece that failed', async () => {
    const run = workSlots(1);
    await expect(run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await run(async () => 'next')).toBe('next');
  });
});

describe('forEachConcurrently', () => {
  it('starts no further item after a failure, and throws it once those running are done', async () => {
    const started: number[] = [];
    const run = forEachConcurrently([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('two failed');
      for (let i = 0; i < 5; i++) await Promise.resolve(); // one is still running when two fails
    });
    await expect(run).rejects.toThrow('two failed');
    expect(started).toEqual([1, 2]);
  });
});
