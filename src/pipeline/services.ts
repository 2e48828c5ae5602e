/** What the pipeline needs from the outside world, behind small interfaces. */
import type { Clock } from '../clock.js';
import type { CloudClient } from '../cloud/client.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { SecretBox } from '../requests/secrets.js';
import type { AlertStore } from '../store/alerts.js';
import type { RequestStore } from '../store/requests.js';

/** Starts one creation elsewhere: FC asynchronous invocation of `provision`. */
export interface Dispatcher {
  dispatch(requestId: string, log: Logger): Promise<void>;
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
