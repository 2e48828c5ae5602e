/**
 * Which clusters a sweep lists, and listing them: one DescribeClusterNodePools per cluster
 * (one per page for ENS), at most `concurrency` at once, none started after `stopAt`.
 */

import { RULES, type RuleName } from '../alerts/rules.js';
import { type Cluster, clusterKey, clusterOf } from '../cloud/cluster.js';
import { CloudError } from '../cloud/errors.js';
import type { NodePool } from '../cloud/nodepool.js';
import { serialQueue } from '../concurrent.js';
import type { Config } from '../config.js';
import type { Services } from '../pipeline/services.js';
import type { NodepoolRequest } from '../requests/model.js';
import { IN_CLOUD_STATES, PRE_CREATE_STATES } from '../requests/state.js';
import type { AlertRecord } from '../store/alerts.js';

export interface WatchTarget {
  key: string;
  cluster: Cluster;
  /** Configured in WATCH_CLUSTERS: every pool is watched. */
  watchAll: boolean;
  /** The labels WATCH_CLUSTERS gives the cluster's pools' alerts. */
  labels?: Record<string, string>;
}

/**
 * A timed-out request whose pool may still come up: one that has its pool's id, or that
 * called CreateClusterNodePool (so a pool of its name may be its own). The sweep keeps
 * looking at it while creation alerts would (CREATION_ALERT_HOURS).
 */
export function isRecoverable(r: Pick<NodepoolRequest, 'state' | 'nodepoolId' | 'createStartedAt'> & { operation?: NodepoolRequest['operation'] }): boolean {
  return r.state === 'timed_out' && (r.operation ?? 'create') === 'create' && Boolean(r.nodepoolId || r.createStartedAt);
}

/**
 * The clusters to list, in key order: the configured ones (all their pools), those of
 * creating, active or recoverable requests, and those with firing cluster or pool alerts
 * (so that those alerts can resolve).
 */
export function watchTargets(
  config: Pick<Config, 'watchClusters'>,
  requests: Array<
    Pick<NodepoolRequest, 'provider' | 'regionId' | 'clusterId' | 'state' | 'nodepoolId' | 'createStartedAt'> & { operation?: NodepoolRequest['operation'] }
  >,
  firing: AlertRecord[],
): WatchTarget[] {
  const targets = new Map<string, WatchTarget>();
  const add = (cluster: Cluster, watchAll: boolean, labels?: Record<string, string>) => {
    const key = clusterKey(cluster);
    if (!targets.has(key)) targets.set(key, { key, cluster, watchAll, ...(labels ? { labels } : {}) });
  };
  for (const { labels, ...c } of config.watchClusters) add(c as Cluster, true, labels);
  for (const r of requests) {
    // ACK requests waiting their turn keep their cluster listed too, so that its end wakes them.
    if (IN_CLOUD_STATES.includes(r.state) || r.state === 'active' || isRecoverable(r) || (r.provider === 'ack' && PRE_CREATE_STATES.includes(r.state)))
      add(clusterOf(r), false);
  }
  for (const a of firing) {
    if (a.rule === 'cluster_unreachable' || RULES[a.rule as RuleName]?.pool) add(clusterOf(a.labels), false);
  }
  return [...targets.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Starts after `cursor` (where the last sweep that ran out of time stopped), wrapping around. */
export function fromCursor(targets: WatchTarget[], cursor: string | undefined | null): WatchTarget[] {
  const start = cursor ? targets.findIndex((t) => t.key > cursor) : 0;
  return start > 0 ? [...targets.slice(start), ...targets.slice(0, start)] : targets;
}

export interface ListResult {
  cluster: Cluster;
  key: string;
  pools?: NodePool[];
  error?: CloudError;
}

/**
 * Lists clusters in order. It starts no new listing after `stopAt`, so a sweep keeps time for
 * the rest of its work; what was not reached is left for the next sweep. Errors are returned
 * per cluster. `reached` counts the clusters, from the first, that were all listed.
 *
 * `onListed` gets the results as they come, `batch` at a time (the last batch may be smaller),
 * one call after the other: the store work on a batch runs while the rate limit holds the
 * listing back, instead of after it. It is done when listClusters returns, and the results it
 * returns then carry no pools (only onListed had them).
 */
export async function listClusters(
  services: Pick<Services, 'cloud' | 'clock'>,
  targets: WatchTarget[],
  options: { deadline: number; stopAt?: number; concurrency?: number; batch?: number; onListed?: (results: ListResult[]) => Promise<void> },
): Promise<{ results: ListResult[]; reached: number }> {
  const byIndex: Array<ListResult | undefined> = new Array(targets.length);
  let next = 0;
  const stopAt = options.stopAt ?? options.deadline;
  let pending: ListResult[] = [];
  // After a hand-off that failed, no later batch is handed and no new listing starts.
  const handed = serialQueue();
  const hand = () => {
    const batch = pending;
    pending = [];
    if (options.onListed && batch.length) handed.push(() => options.onListed!(batch));
  };
  const settle = (i: number, result: ListResult) => {
    // With onListed, the pools are its alone: a sweep need not hold every cluster's at once.
    byIndex[i] = options.onListed ? { cluster: result.cluster, key: result.key, ...(result.error ? { error: result.error } : {}) } : result;
    pending.push(result);
    if (pending.length >= (options.batch ?? 50)) hand();
  };
  const worker = async () => {
    for (;;) {
      // No listing starts while two batches are handed on and not yet taken up (the one being
      // taken up included): the pools of a fleet are not all held at once because the work on
      // them is slower than listing them. Listings already going may add a batch or so more.
      await handed.room(2);
      if (next >= targets.length || services.clock.now() >= stopAt || handed.failed) return;
      const i = next++;
      const { cluster, key } = targets[i]!;
      try {
        settle(i, { cluster, key, pools: await services.cloud.listNodePools(cluster, { deadline: options.deadline, maxAttempts: 3 }) });
      } catch (err) {
        if (!(err instanceof CloudError)) throw err;
        // Out of time before the first call went out: not a listing, and not a failure of the cluster.
        if (err.code === 'BudgetExhausted') continue;
        settle(i, { cluster, key, error: err });
      }
    }
  };
  // An error fails the listing, but only once every listing in flight has ended and been handed on.
  const listed = await Promise.allSettled(Array.from({ length: Math.min(options.concurrency ?? 16, targets.length) }, worker));
  hand();
  const handing = await handed.done().then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  for (const w of listed) if (w.status === 'rejected') throw w.reason;
  if (handing) throw handing.error;
  let reached = 0;
  while (reached < targets.length && byIndex[reached]) reached++;
  return { results: byIndex.filter((r): r is ListResult => r !== undefined), reached };
}
