/**
 * The store's own errors. Driver errors (pg and PGlite) are translated into these inside
 * `src/store/` (see `translateDriverError` in db.ts); nothing outside reads SQLSTATE codes.
 */
import type { NodepoolRequest } from '../requests/model.js';

class StoreError extends Error {
  override name = 'StoreError';
}

/** The database cannot be reached or cannot take the work now; trying again later can succeed. */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError';
}

/** The database refused the values themselves (bad data, a program limit); no retry can fix it. */
export class StoreRejectedError extends StoreError {
  override name = 'StoreRejectedError';
}

/** A conditional update found the request no longer in the expected state or lease. */
export class StaleUpdateError extends StoreError {
  override name = 'StaleUpdateError';
  constructor(
    readonly requestId: string,
    readonly current?: NodepoolRequest,
  ) {
    super(`request ${requestId} changed under us (state ${current?.state ?? 'unknown'})`);
  }
}

/**
 * Another of our requests holds the ACK cluster's turn (the store's unique index on it): this
 * one's mark was refused, and it must wait for that one instead of calling.
 */
export class ClusterTurnTakenError extends StoreError {
  override name = 'ClusterTurnTakenError';
}

/** The unique index that gives one request at a time an ACK cluster's turn (migration 013). */
const TURN_INDEX = 'nodepool_requests_ack_turn';

/**
 * SQLSTATE classes that can pass with time: connection (08), insufficient resources (53),
 * operator intervention (57), system error (58), and serialization failures and deadlocks
 * (40001, 40P01), lock not available (55P03).
 */
const TRANSIENT_SQLSTATE = /^(08|53|57|58)[0-9A-Z]{3}$|^(40001|40P01|55P03)$/;
/** SQLSTATE classes no retry can fix: data exceptions (22) and program limits (54). */
const REJECTED_SQLSTATE = /^(22|54)[0-9A-Z]{3}$/;
/** Node's socket errors, and pg's errors for a connection that broke or never came. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
const CONNECTION_MESSAGE =
  /connection terminated|connection error|not queryable|timeout exceeded when trying to connect|cannot use a pool after calling end|database system is (starting up|shutting down)/i;

/** A driver error as one of the store's own; anything the driver did not raise is returned as it is. */
export function translateDriverError(err: unknown): unknown {
  if (err instanceof StoreError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (code === '23505' && ((err as { constraint?: unknown }).constraint === TURN_INDEX || err.message.includes(`"${TURN_INDEX}"`))) {
    return new ClusterTurnTakenError("another request holds the cluster's turn", { cause: err });
  }
  if (typeof code === 'string' && TRANSIENT_SQLSTATE.test(code))
    return new StoreUnavailableError(`the store is unavailable (${code}): ${err.message}`, { cause: err });
  if (typeof code === 'string' && REJECTED_SQLSTATE.test(code))
    return new StoreRejectedError(`the store refused the values (${code}): ${err.message}`, { cause: err });
  if ((typeof code === 'string' && NETWORK_CODES.has(code)) || CONNECTION_MESSAGE.test(err.message)) {
    return new StoreUnavailableError(`the store cannot be reached: ${err.message}`, { cause: err });
  }
  return err;
}
