/** The request state machine on its own: the table, and what the store's transition derives from it. */
import { describe, expect, it } from 'vitest';
import { canTransition, IllegalTransitionError, LIVE_STATES, REQUEST_STATES, sourcesOf } from '../../src/requests/state.js';

describe('request state machine', () => {
  it('moves forward only: nothing returns to accepted, and final states stay final except a late success', () => {
    for (const s of REQUEST_STATES) expect(canTransition(s, 'accepted')).toBe(false);
    expect(REQUEST_STATES.filter((s) => canTransition('timed_out', s))).toEqual(['active']);
    for (const s of ['active', 'failed', 'rejected'] as const) expect(REQUEST_STATES.filter((t) => canTransition(s, t))).toEqual([]);
  });

  it('lets every live state fail or time out', () => {
    for (const s of LIVE_STATES) {
      expect(canTransition(s, 'failed')).toBe(true);
      expect(canTransition(s, 'timed_out')).toBe(true);
    }
  });

  it('derives where a transition may start, and refuses a list with an illegal start', () => {
    expect(sourcesOf('active')).toEqual(['creating', 'applying', 'timed_out']);
    expect(sourcesOf('deleted')).toEqual(['applying']);
    expect(sourcesOf('creating')).toEqual(['accepted', 'submitting']);
    expect(sourcesOf('rejected')).toEqual([]);
    expect(sourcesOf('failed', ['submitting'])).toEqual(['submitting']);
    expect(() => sourcesOf('creating', ['accepted', 'active'])).toThrow(IllegalTransitionError);
    expect(() => sourcesOf('creating', ['accepted', 'active'])).toThrow('a request cannot go from active to creating');
  });
});
