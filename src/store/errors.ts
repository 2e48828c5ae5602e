/** Store-level errors; `pg` and PGlite errors are translated into these at the store boundary. */
import type { NodepoolRequest } from '../requests/model.js';

export class StoreError extends Error {
  override name = 'StoreError';
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
