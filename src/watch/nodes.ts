/**
 * ENS failure detection from node states. ENS listings carry no failed count, so the sweep
 * reads the nodes (DescribeClusterNodes) of the ENS pools that need it: those a request is
 * still creating (first), and watched ones serving below desired. A healthy fleet costs no
 * call. A node has failed when it reports `failed` (the state ENS's DeleteClusterNodes
 * reference names), or stays `initial` longer than ENS_NODE_INIT_MINUTES. A word nobody
 * documents is logged once and read as pending. The pools' `failed` and `failedInstanceIds`
 * are set from what the walk found; a pool that was not walked keeps `failed` null (unknown).
 */
import type { ClusterListing } from '../cloud/cluster.js';
import { CloudError } from '../cloud/errors.js';
import type { EnsNode, NodePool } from '../cloud/nodepool.js';
import { forEachConcurrently, type WorkSlots } from '../concurrent.js';
import type { Services } from '../pipeline/services.js';
import type { NodepoolRequest } from '../requests/model.js';
import { IN_CLOUD_STATES } from '../requests/state.js';

/** DescribeClusterNodes documents initial, running and removing; DeleteClusterNodes, failed. */
const KNOWN_NODE_STATES = new Set(['initial', 'running', 'removing', 'failed']);
const UNKNOWN_LOGGED = new Set<string>();

/**
 * Whether this sweep may walk the pool's nodes for an active request: only an ENS pool serving
 * below desired is (see poolsToWalk). What the others show is known from the listing alone.
 */
export const mayWalk = (pool: NodePool): boolean => pool.provider === 'ens' && pool.serving < pool.desired;

/** The ENS pools whose nodes this sweep should walk, creating ones first. */
function poolsToWalk(listings: ClusterListing[], requests: NodepoolRequest[]): Array<{ listing: ClusterListing; pool: NodePool }> {
  // Pools being created or scaled by us: a node that fails there fails the request.
  const creating = new Set(requests.filter((r) => r.provider === 'ens' && IN_CLOUD_STATES.includes(r.state) && r.nodepoolId).map((r) => r.nodepoolId!));
  const watched = new Set(requests.filter((r) => r.provider === 'ens' && r.state === 'active' && r.nodepoolId).map((r) => r.nodepoolId!));
  const first: Array<{ listing: ClusterListing; pool: NodePool }> = [];
  const then: Array<{ listing: ClusterListing; pool: NodePool }> = [];
  for (const listing of listings) {
    if (listing.cluster.provider !== 'ens') continue;
    for (const pool of listing.pools ?? []) {
      const below = pool.serving < pool.desired;
      if (creating.has(pool.id) && (below || pool.initial > 0)) first.push({ listing, pool });
      else if (below && (watched.has(pool.id) || listing.watchAll)) then.push({ listing, pool });
    }
  }
  return [...first, ...then];
}

/**
 * Walks the nodes of the pools that need it (one walk each), until `stopAt`; returns how many
 * walks it made. `slots`, when given, are shared with the walks of other batches, so that one
 * batch's slow walk does not hold back the next batch's.
 */
export async function detectEnsNodeFailures(
  services: Services,
  listings: ClusterListing[],
  requests: NodepoolRequest[],
  options: { deadline: number; stopAt: number; slots?: WorkSlots; stopped?: () => boolean },
): Promise<number> {
  const initMs = services.config.thresholds.ensNodeInitMinutes * 60_000;
  let walks = 0;
  const walked: Array<{ clusterId: string; nodepoolId: string }> = [];
  // Walks go several at once, within the describe rate limit; none starts after stopAt.
  await forEachConcurrently(poolsToWalk(listings, requests), options.slots ?? services.config.sweepConcurrency, async ({ listing, pool }) => {
    if (services.clock.now() >= options.stopAt || options.stopped?.() || listing.cluster.provider !== 'ens') return;
    let nodes: EnsNode[];
    // One attempt: a walk that fails waits for the next sweep rather than hold this one (and the
    // next behind its lock) in backoffs.
    try {
      nodes = (await services.cloud.listEnsNodes(listing.cluster, pool.id, { deadline: options.deadline, maxAttempts: 1 })).filter(
        (n) => n.nodepoolId === pool.id || !n.nodepoolId,
      );
    } catch (err) {
      if (!(err instanceof CloudError)) throw err;
      services.log.warn('could not read the nodes of an ENS pool; its failures wait for the next sweep', {
        clusterId: listing.cluster.clusterId,
        nodepoolId: pool.id,
        code: err.code,
      });
      return;
    }
    walks++;
    walked.push({ clusterId: listing.cluster.clusterId, nodepoolId: pool.id });
    for (const n of nodes) {
      if (KNOWN_NODE_STATES.has(n.state) || UNKNOWN_LOGGED.has(n.state)) continue;
      UNKNOWN_LOGGED.add(n.state);
      services.log.warn('an ENS node state nobody documents: read as pending', { state: n.state, instanceId: n.id });
    }
    const now = services.clock.now();
    const since = await services.alerts.observeNodes(listing.cluster.clusterId, pool.id, nodes, new Date(now));
    const failed = nodes.filter((n) => n.state === 'failed' || (n.state === 'initial' && now - (since.get(n.id)?.getTime() ?? now) >= initMs));
    pool.failed = failed.length;
    pool.failedInstanceIds = failed.map((n) => n.id);
  });
  // What is not walked now is healthy again, or gone: its node history no longer counts.
  const listedEns = listings.filter((l) => l.cluster.provider === 'ens' && l.pools).map((l) => l.cluster.clusterId);
  await services.alerts.forgetNodes(listedEns, walked);
  return walks;
}
