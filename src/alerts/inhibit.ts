/**
 * Inhibition, after Alertmanager's: one cause, one message. While a cluster cannot be listed,
 * its other alerts are held back.
 */
import { clusterKey } from '../cloud/cluster.js';
import type { AlertRecord } from '../store/alerts.js';

/**
 * The inhibition rule: while a cluster cannot be listed (its `cluster_unreachable` fires, or
 * this sweep's listing of it failed), every other alert of that cluster is held back: its
 * pool alerts and its requests' creation alerts. One cause, one message.
 */
export function inhibitingClusters(firing: Array<Pick<AlertRecord, 'rule' | 'labels'>>, failedListings: Iterable<string> = []): Set<string> {
  return new Set([...firing.filter((a) => a.rule === 'cluster_unreachable').map((a) => clusterKey(a.labels)), ...failedListings]);
}

export function isInhibited(a: Pick<AlertRecord, 'rule' | 'labels'>, inhibiting: Set<string>): boolean {
  return a.rule !== 'cluster_unreachable' && inhibiting.has(clusterKey(a.labels));
}
