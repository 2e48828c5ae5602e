/**
 * The request state machine, in one place. Every state change goes through the store's
 * `transition`, which checks it against this table and writes the history entry with it;
 * the store's SQL takes its lists of states from the constants here.
 *
 *   create:         accepted -> submitting -> creating -> active
 *   scale, delete:  accepted -> submitting -> applying -> active (scaled) | deleted
 *   any live state -> failed | timed_out;  timed_out -> active (the pool turned up later)
 *   a queue message that does not validate is stored as rejected
 */
export const REQUEST_STATES = ['accepted', 'submitting', 'creating', 'applying', 'active', 'deleted', 'failed', 'timed_out', 'rejected'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** Not final: a worker or the sweep still drives them. At most one per pool name (a unique index). */
export const LIVE_STATES: readonly RequestState[] = ['accepted', 'submitting', 'creating', 'applying'];
/** The cloud has taken the request's call and is carrying it out: the sweep (or provision's task follower) ends them. */
export const IN_CLOUD_STATES: readonly RequestState[] = ['creating', 'applying'];
/** Live, and no call has been accepted yet: provision drives them. */
export const PRE_CREATE_STATES: readonly RequestState[] = ['accepted', 'submitting'];
/** Final states a creation alert is raised for. */
export const ALERTABLE_FINAL_STATES: readonly RequestState[] = ['failed', 'timed_out'];
/** The states whose pool the sweep watches: live ones and active ones. */
export const WATCHED_STATES: readonly RequestState[] = [...LIVE_STATES, 'active'];

const NEXT: Record<RequestState, readonly RequestState[]> = {
  accepted: ['submitting', 'creating', 'applying', 'failed', 'timed_out'],
  // submitting -> submitting records a deferred attempt (cluster busy, throttled, 5xx).
  submitting: ['submitting', 'creating', 'applying', 'failed', 'timed_out'],
  creating: ['active', 'failed', 'timed_out'],
  applying: ['active', 'deleted', 'failed', 'timed_out'],
  active: [],
  deleted: [],
  failed: [],
  // The pool turned up active after the deadline (the cloud was unreachable, or slow).
  timed_out: ['active'],
  rejected: [],
};

export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly from: RequestState,
    readonly to: RequestState,
  ) {
    super(`a request cannot go from ${from} to ${to}`);
  }
}

export function canTransition(from: RequestState, to: RequestState): boolean {
  return NEXT[from].includes(to);
}

/** The states a request may be in to move to `to`, or only those of `from` (each checked). */
export function sourcesOf(to: RequestState, from?: readonly RequestState[]): RequestState[] {
  if (!from) return REQUEST_STATES.filter((s) => canTransition(s, to));
  for (const s of from) if (!canTransition(s, to)) throw new IllegalTransitionError(s, to);
  return [...from];
}
