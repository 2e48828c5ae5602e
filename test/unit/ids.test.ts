/**
 * Request ids sort by the time they were made, and ids made in one millisecond by one process
 * sort in the order they were made: requests for one ACK cluster take turns in that order.
 */
import { describe, expect, it } from 'vitest';
import { newRequestId, REQUEST_ID_PATTERN } from '../../src/requests/ids.js';

describe('request ids', () => {
  it('sort in the order they were made within one millisecond', () => {
    const ms = Date.parse('2026-12-01T00:00:00.000Z');
    const ids = Array.from({ length: 2000 }, () => newRequestId(ms));
    for (const id of ids) expect(id).toMatch(REQUEST_ID_PATTERN);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // all of them carry that millisecond
    expect(new Set(ids.map((id) => id.slice(0, 14))).size).toBe(1);
  });

  it('sort by time across milliseconds, and start at random in each', () => {
    const ms = Date.parse('2026-12-01T00:00:01.000Z');
    const a = newRequestId(ms);
    const b = newRequestId(ms + 1);
    const c = newRequestId(ms + 2);
    expect([a, b, c].sort()).toEqual([a, b, c]);
    const randoms = Array.from({ length: 50 }, (_, i) => newRequestId(ms + 10 + i).slice(14));
    expect(new Set(randoms).size).toBe(50);
  });

  it('carry into the next digit when the last one is at its highest', () => {
    const ms = Date.parse('2026-12-01T00:00:02.000Z');
    const ids = Array.from({ length: 100 }, () => newRequestId(ms));
    // 100 in a row cross at least two carries of the last digit (base 32)
    expect(new Set(ids.map((id) => id.at(-2))).size).toBeGreaterThan(1);
    for (const id of ids) expect(id).toMatch(REQUEST_ID_PATTERN);
    expect([...ids].sort()).toEqual(ids);
  });
});
