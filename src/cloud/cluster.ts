/**
 * One cluster identity for the whole system: which cloud (ENS or ACK), which cluster, and for
 * ACK its region (the endpoint is regional). Every map, lock row, alert label and store row
 * that speaks of a cluster keys it with `clusterKey`.
 */
import type { CloudError } from './errors.js';
import type { NodePool, Provider } from './nodepool.js';

export type Cluster = { provider: 'ens'; clusterId: string } | { provider: 'ack'; clusterId: string; regionId: string };

/** `ens//eck-…` or `ack/cn-beijing/c…`: the same for a cluster wherever it comes from. */
export function clusterKey(c: { provider: string; regionId?: string; clusterId: string }): string {
  return `${c.provider}/${c.regionId ?? ''}/${c.clusterId}`;
}

/** The cluster of anything that names one (a request, alert labels, a configured cluster). */
export function clusterOf(x: { provider: Provider | string; clusterId: string; regionId?: string }): Cluster {
  return x.provider === 'ens' ? { provider: 'ens', clusterId: x.clusterId } : { provider: 'ack', clusterId: x.clusterId, regionId: x.regionId ?? '' };
}

/** `ens/<clusterId>` or `ack/<regionId>/<clusterId>`, as WATCH_CLUSTERS writes them; undefined when malformed. */
export function parseClusterSpec(spec: string): Cluster | undefined {
  const parts = spec.split('/');
  const id = /^[A-Za-z0-9-]+$/;
  if (parts[0] === 'ens' && parts.length === 2 && id.test(parts[1]!)) return { provider: 'ens', clusterId: parts[1]! };
  if (parts[0] === 'ack' && parts.length === 3 && /^[a-z]{2}(-[a-z0-9]+)+$/.test(parts[1]!) && id.test(parts[2]!))
    return { provider: 'ack', regionId: parts[1]!, clusterId: parts[2]! };
  return undefined;
}

/** What one sweep saw of one cluster: its pools, or why it could not list them. */
export interface ClusterListing {
  cluster: Cluster;
  key: string;
  pools?: NodePool[];
  error?: CloudError;
  /** Listings in a row that failed, this one included (0 when it succeeded). */
  consecutiveFailures: number;
  /** Configured in WATCH_CLUSTERS: every pool is watched, not only this system's. */
  watchAll: boolean;
  /** The labels WATCH_CLUSTERS gives the cluster's pools' alerts. */
  labels?: Record<string, string>;
}
