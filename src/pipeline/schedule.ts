/**
 * ACK runs one node-pool operation per cluster at a time. Our requests for a cluster go in
 * order, and a request waiting its turn spends no call. When the operation in front of it ends
 * (its task done, as whichever function sees it first: the provision invocation that created
 * it, polling within its budget, or the sweep), the next request is made due and dispatched at
 * once, instead of waiting out a backoff.
 */
import type { Cluster } from '../cloud/cluster.js';
import type { Services } from './services.js';

export async function wakeNextOnCluster(services: Services, cluster: Cluster): Promise<string | undefined> {
  if (cluster.provider !== 'ack') return undefined;
  const now = new Date(services.clock.now());
  const next = await services.store.wakeNextOnCluster(cluster, now);
  if (!next) return undefined;
  try {
    await services.dispatcher.dispatch(next.id, services.log, await services.store.nextDispatch(next.id, now));
    services.log.info('the cluster is free: the next request goes', { nodepoolRequestId: next.id, clusterId: cluster.clusterId });
  } catch (err) {
    // It is due now: the next sweep dispatches it.
    services.log.warn('could not dispatch the next request of the cluster; the sweep will', { nodepoolRequestId: next.id, error: err });
  }
  return next.id;
}
