/** Work handed on to run one piece after another: in order, and stopped by the first failure. */
import { describe, expect, it } from 'vitest';
import { serialQueue } from '../../src/concurrent.js';

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
