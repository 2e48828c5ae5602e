/** What the pipeline needs from the outside world, behind small interfaces. */
import type { Clock } from '../clock.js';
import type { CloudClient } from '../cloud/client.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { SecretBox } from '../requests/secrets.js';
import type { AlertStore } from '../store/alerts.js';
import type { RequestStore } from '../store/requests.js';

/**
 * Starts one creation elsewhere: FC asynchronous invocation of `provision`. `attempt` numbers
 * the dispatches of one request (0 for the first, then one more each time the sweep re-drives
 * it); with the request id it makes FC's async task id, so the same dispatch twice runs once.
 */
export interface Dispatcher {
  dispatch(requestId: string, log: Logger, attempt?: number): Promise<'dispatched' | 'already-dispatched'>;
}

/** FC's async task id for a dispatch: a letter first, then letters, digits, `_` and `-`, at most 128. */
export function asyncTaskId(requestId: string, attempt: number): string {
  return `${requestId}-d${attempt}`;
}

export interface Services {
  config: Config;
  store: RequestStore;
  /** The watch sweep's and the alerts' part of the store. */
  alerts: AlertStore;
  clock: Clock;
  secrets: SecretBox;
  log: Logger;
  cloud: CloudClient;
  dispatcher: Dispatcher;
}
