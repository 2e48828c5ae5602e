/**
 * ENS failure detection from node states. ENS listings carry no failed count, and a node's
 * documented states are only `initial`, `running` and `removing` (DescribeClusterNodes), so a
 * node has failed when it stays `initial` longer than ENS_NODE_INIT_MINUTES, or reports a word
 * nobody documents. The sweep walks the nodes only of the ENS pools that need it: those a
 * request is still creating, and watched ones serving below desired. A healthy fleet costs no
 * call. The pools' `failed` and `failedInstanceIds` are set from what the walk found.
 */
import type { ClusterListing } from '../cloud/cluster.js';
import { CloudError } from '../cloud/errors.js';
import type { EnsNode, NodePool } from '../cloud/nodepool.js';
import type { Services } from '../pipeline/services.js';
import type { NodepoolRequest } from '../requests/model.js';

const DOCUMENTED_NODE_STATES = new Set(['initial', 'running', 'removing']);

/** The ENS pools whose nodes this sweep should walk: creating ones not yet up, and watched ones below desired. */
function poolsToWalk(listings: ClusterListing[], requests: NodepoolRequest[]): Array<{ listing: ClusterListing; pool: NodePool }> {
  const creating = new Set(requests.filter((r) => r.provider === 'ens' && r.state === 'creating' && r.nodepoolId).map((r) => r.nodepoolId!));
  const watched = new Set(requests.filter((r) => r.provider === 'ens' && r.state === 'active' && r.nodepoolId).map((r) => r.nodepoolId!));
  const out: Array<{ listing: ClusterListing; pool: NodePool }> = [];
  for (const listing of listings) {
    if (listing.cluster.provider !== 'ens') continue;
    for (const pool of listing.pools ?? []) {
      const below = pool.serving < pool.desired;
      if ((creating.has(pool.id) && (below || pool.initial > 0)) || (below && (watched.has(pool.id) || listing.watchAll))) out.push({ listing, pool });
    }
  }
  return out;
}

/** Walks the nodes of the pools that need it (one walk each), until `stopAt`; returns how many walks it made. */
export async function detectEnsNodeFailures(
  services: Services,
  listings: ClusterListing[],
  requests: NodepoolRequest[],
  options: { deadline: number; stopAt: number },
): Promise<number> {
  const initMs = services.config.thresholds.ensNodeInitMinutes * 60_000;
  let walks = 0;
  for (const { listing, pool } of poolsToWalk(listings, requests)) {
    if (services.clock.now() >= options.stopAt || listing.cluster.provider !== 'ens') break;
    let nodes: EnsNode[];
    try {
      nodes = (await services.cloud.listEnsNodes(listing.cluster, pool.id, { deadline: options.deadline, maxAttempts: 2 })).filter(
        (n) => n.nodepoolId === pool.id || !n.nodepoolId,
      );
    } catch (err) {
      if (!(err instanceof CloudError)) throw err;
      services.log.warn('could not read the nodes of an ENS pool; its failures wait for the next sweep', {
        clusterId: listing.cluster.clusterId,
        nodepoolId: pool.id,
        code: err.code,
      });
      continue;
    }
    walks++;
    const now = services.clock.now();
    const since = await services.alerts.observeNodes(listing.cluster.clusterId, pool.id, nodes, new Date(now));
    const failed = nodes.filter((n) => !DOCUMENTED_NODE_STATES.has(n.state) || (n.state === 'initial' && now - (since.get(n.id)?.getTime() ?? now) >= initMs));
    pool.failed = failed.length;
    pool.failedInstanceIds = failed.map((n) => n.id);
  }
  return walks;
}
