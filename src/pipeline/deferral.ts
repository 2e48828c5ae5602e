/**
 * How a request that made no call this time goes back to waiting, for every operation: a
 * deferral (back to `submitting`, lease released, due again later) or, when the cloud refused
 * it for good, a failure.
 */
import { CloudError } from '../cloud/errors.js';
import { backoffDelay } from '../cloud/retry.js';
import type { CloudFailure, NodepoolRequest } from '../requests/model.js';
import { PRE_CREATE_STATES } from '../requests/state.js';
import { ClusterTurnTakenError } from '../store/errors.js';
import type { RequestPatch } from '../store/rows.js';
import type { Services } from './services.js';

/** What provision did with one request this time. */
export type ProvisionOutcome = 'created' | 'adopted' | 'applied' | 'deferred' | 'failed' | 'timed_out' | 'skipped' | 'in-progress';

const DEFER_POLICY = { baseDelayMs: 10_000, maxDelayMs: 5 * 60_000, maxAttempts: Number.MAX_SAFE_INTEGER };
const BUSY_POLICY = { baseDelayMs: 2_000, maxDelayMs: 60_000, maxAttempts: Number.MAX_SAFE_INTEGER };
/** How long a request waiting its turn on an ACK cluster waits if nothing wakes it. */
const WAIT_FALLBACK_MS = 5 * 60_000;
/** How soon a request that lost the cluster's turn to one already gone looks again. */
const TURN_RETRY_MS = 1_000;

/** What a request waiting for `whom` on its ACK cluster says in its history. */
export const waitingNote = (whom: string) => `waiting for ${whom} on the cluster: ACK takes one node-pool operation at a time`;

/** When a request that starts waiting its turn at `now` looks again if nothing wakes it (never past its deadline). */
export const turnFallback = (now: number, deadlineAt: Date) => new Date(Math.min(now + WAIT_FALLBACK_MS, deadlineAt.getTime()));

function failure(e: CloudError): CloudFailure {
  return { code: e.code, message: e.message, ...(e.requestId ? { requestId: e.requestId } : {}) };
}

/**
 * How a request that made no call this time goes back to waiting: `defer` (back to
 * `submitting`, lease released, due again after a delay, never past the deadline) and
 * `onCloudError` (a retryable answer defers it, a busy cluster soon; any other fails it).
 */
export function deferrals(services: Services, current: () => NodepoolRequest, owner: string, log: Services['log']) {
  const { store, clock } = services;
  const now = () => new Date(clock.now());
  /** Back to `submitting`, lease released, due again after `delayMs` (never past the deadline). */
  const defer = async (delayMs: number, note: (next: Date) => string, err?: CloudError) => {
    const next = new Date(Math.min(clock.now() + delayMs, current().deadlineAt.getTime()));
    const request = await store.transition(current().id, {
      from: PRE_CREATE_STATES,
      to: 'submitting',
      owner,
      at: now(),
      releaseLease: true,
      note: note(next),
      cloudRequestId: err?.requestId,
      patch: { nextAttemptAt: next, ...(err ? { lastError: failure(err) } : {}) },
    });
    return { request, next };
  };

  const onCloudError = async (err: unknown, stage: string): Promise<{ outcome: ProvisionOutcome; request: NodepoolRequest }> => {
    if (!(err instanceof CloudError)) throw err;
    if (err.retryable) {
      // A busy cluster (someone else operating it) is retried soon and woken when it frees up.
      const delay =
        err.kind === 'busy'
          ? backoffDelay(Math.max(1, current().attempts), BUSY_POLICY) + 1_000
          : Math.max(1_000, backoffDelay(current().attempts + 1, DEFER_POLICY) + 5_000);
      const { request, next } = await defer(delay, (at) => `${stage} failed (${err.code}: ${err.message}); next attempt at ${at.toISOString()}`, err);
      log.warn('deferred', { stage, code: err.code, kind: err.kind, nextAttemptAt: next.toISOString(), cloudRequestId: err.requestId });
      return { outcome: 'deferred', request };
    }
    log.warn('failed', { stage, code: err.code, cloudRequestId: err.requestId });
    return fail(`${stage} refused: ${err.code}: ${err.message}`, failure(err), err.requestId);
  };

  /** Failed for good before any write call took: the why, and the sealed secrets dropped. */
  const fail = async (note: string, lastError: CloudFailure, cloudRequestId?: string): Promise<{ outcome: ProvisionOutcome; request: NodepoolRequest }> => {
    const request = await store.transition(current().id, {
      from: PRE_CREATE_STATES,
      to: 'failed',
      owner,
      at: now(),
      releaseLease: true,
      note,
      cloudRequestId,
      patch: { lastError, sealedSecrets: null, nextAttemptAt: null },
    });
    return { outcome: 'failed', request };
  };

  /**
   * ACK takes one node-pool operation per cluster at a time, and our requests take turns: wait
   * for the one ahead (back to `submitting`, spending no call); its end wakes this one, and if
   * nothing does, it looks again after WAIT_FALLBACK_MS.
   */
  const waitTurn = async (ahead: Pick<NodepoolRequest, 'id' | 'state'> | undefined): Promise<{ outcome: ProvisionOutcome; request: NodepoolRequest }> => {
    const whom = ahead ? `request ${ahead.id} (${ahead.state})` : 'another request';
    // No request ahead any more: the one that took the turn has ended since, and its end woke
    // nobody (this one was still held). Look again soon rather than at the fallback.
    const { request } = await defer(ahead ? WAIT_FALLBACK_MS : TURN_RETRY_MS, () => waitingNote(whom));
    log.info('waiting for its turn on the cluster', { ahead: ahead?.id });
    return { outcome: 'deferred', request };
  };

  /** On an ACK cluster, waits when a request is ahead of this one; undefined when it may go. */
  const awaitTurn = async (): Promise<{ outcome: ProvisionOutcome; request: NodepoolRequest } | undefined> => {
    if (current().provider !== 'ack') return undefined;
    const ahead = await store.aheadOnCluster(current());
    return ahead ? waitTurn(ahead) : undefined;
  };

  /**
   * The mark before a write call failed because another request took the cluster's turn since
   * this one looked (the store's index on it): wait for that one. Any other error is thrown on.
   */
  const turnTaken = async (err: unknown): Promise<{ outcome: ProvisionOutcome; request: NodepoolRequest }> => {
    if (!(err instanceof ClusterTurnTakenError)) throw err;
    return waitTurn(await store.aheadOnCluster(current()));
  };

  /**
   * Marks the write call as going, committed before it is made (another attempt then knows it
   * may have run): the request as marked, or, when another request took the ACK cluster's turn
   * since this one looked, what waiting for that one gave.
   */
  const markCall = async (
    note: string,
    patch: RequestPatch = {},
  ): Promise<{ marked: NodepoolRequest } | { waited: { outcome: ProvisionOutcome; request: NodepoolRequest } }> => {
    try {
      const attempts = current().attempts + 1;
      return {
        marked: await store.transition(current().id, {
          from: PRE_CREATE_STATES,
          to: 'submitting',
          owner,
          at: now(),
          note,
          patch: { ...patch, attempts, createStartedAt: now(), nextAttemptAt: null },
        }),
      };
    } catch (err) {
      return { waited: await turnTaken(err) };
    }
  };

  return { defer, onCloudError, fail, awaitTurn, turnTaken, markCall };
}
