/**
 * The part of the watch sweep that moves requests forward: one DescribeClusterNodePools per
 * cluster with tracked requests, creating -> active / failed / timed_out from what it shows
 * (and, for ACK, from the creation task's error), timeouts of requests that never got a
 * pool, and re-dispatch of accepted or deferred requests whose time has come.
 */
import type { ClusterRef } from '../cloud/client.js';
import { CloudError } from '../cloud/errors.js';
import type { NodePool } from '../cloud/nodepool.js';
import type { CloudFailure, NodepoolRequest, ObservedStatus } from '../requests/model.js';
import { StaleUpdateError } from '../store/errors.js';
import { clusterRef, provisionRequest } from './provision.js';
import type { Services } from './services.js';

export interface TrackOptions {
  /** Absolute time (clock ms) by which the sweep must be done with the cloud. */
  deadline: number;
  /** Lease owner for requests the sweep itself times out. */
  owner: string;
  /** Clusters listed at once; the client's rate limiter still applies. */
  concurrency?: number;
  /** How long an accepted request waits for its dispatch before the sweep re-drives it. */
  dispatchGraceMs?: number;
}

export interface ClusterResult {
  ref: ClusterRef;
  pools?: NodePool[];
  error?: CloudError;
}

export interface TrackStats {
  clusters: number;
  clusterErrors: number;
  transitions: Record<string, number>;
  redriven: number;
  results: ClusterResult[];
}

export function observedFrom(pool: NodePool, at: Date): ObservedStatus {
  return {
    cloudState: pool.cloudState,
    desired: pool.desired,
    total: pool.total,
    serving: pool.serving,
    healthy: pool.healthy,
    initial: pool.initial,
    failed: pool.failed,
    offline: pool.offline,
    removing: pool.removing,
    at: at.toISOString(),
  };
}

export function clusterKey(ref: { provider: string; clusterId: string; regionId?: string }): string {
  return `${ref.provider}/${ref.regionId ?? ''}/${ref.clusterId}`;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapConcurrent<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * Lists every cluster in `refs` once. Errors are returned per cluster, not thrown, so that
 * one unreachable cluster does not stop the sweep.
 */
export async function listClusters(services: Services, refs: ClusterRef[], options: Pick<TrackOptions, 'deadline' | 'concurrency'>): Promise<ClusterResult[]> {
  return mapConcurrent(refs, options.concurrency ?? 16, async (ref) => {
    try {
      return { ref, pools: await services.cloud.listNodePools(ref, { deadline: options.deadline }) };
    } catch (err) {
      if (err instanceof CloudError) return { ref, error: err };
      throw err;
    }
  });
}

export async function trackRequests(services: Services, options: TrackOptions, extraClusters: ClusterRef[] = []): Promise<TrackStats> {
  const { store, clock, log } = services;
  const now = new Date(clock.now());
  const stats: TrackStats = { clusters: 0, clusterErrors: 0, transitions: {}, redriven: 0, results: [] };
  const count = (to: string) => (stats.transitions[to] = (stats.transitions[to] ?? 0) + 1);

  const tracked = await store.tracked();
  const byCluster = new Map<string, { ref: ClusterRef; requests: NodepoolRequest[] }>();
  for (const ref of extraClusters) byCluster.set(clusterKey(ref), { ref, requests: [] });
  for (const r of tracked) {
    if (r.state !== 'creating') continue;
    const ref = clusterRef(r);
    const entry = byCluster.get(clusterKey(ref)) ?? { ref, requests: [] };
    entry.requests.push(r);
    byCluster.set(clusterKey(ref), entry);
  }

  const entries = [...byCluster.values()];
  const results = await listClusters(services, entries.map((e) => e.ref), options);
  stats.clusters = results.length;
  stats.results = results;

  for (let i = 0; i < entries.length; i++) {
    const { requests } = entries[i]!;
    const result = results[i]!;
    if (result.error) {
      stats.clusterErrors++;
      log.warn('cluster listing failed', { cluster: clusterKey(result.ref), code: result.error.code, cloudRequestId: result.error.requestId });
    }
    for (const r of requests) {
      try {
        const to = await advanceCreating(services, r, result, now, options.deadline);
        if (to) count(to);
      } catch (err) {
        if (!(err instanceof StaleUpdateError)) throw err; // someone else moved it: fine
      }
    }
  }

  // Live requests without a pool yet that ran out of time: provision times them out under a lease.
  for (const r of tracked) {
    if (r.state === 'creating' || r.deadlineAt.getTime() > now.getTime()) continue;
    const out = await provisionRequest(services, r.id, { owner: options.owner, budgetMs: 0, force: true });
    if (out.outcome === 'timed_out') count('timed_out');
  }

  // Re-drive what was never dispatched, or was deferred and is due.
  const due = await store.dueForDispatch(now, options.dispatchGraceMs ?? 60_000, 500);
  for (const r of due) {
    try {
      await services.dispatcher.dispatch(r.id, log);
      stats.redriven++;
    } catch (err) {
      log.warn('re-dispatch failed; next sweep tries again', { nodepoolRequestId: r.id, error: err });
    }
  }
  return stats;
}

async function advanceCreating(services: Services, r: NodepoolRequest, result: ClusterResult, now: Date, sweepDeadline: number): Promise<string | undefined> {
  const { store } = services;
  const pastDeadline = now.getTime() >= r.deadlineAt.getTime();
  const pool = result.pools?.find((p) => p.id === r.nodepoolId);
  const finish = async (to: 'active' | 'failed' | 'timed_out', note: string, lastError?: CloudFailure) => {
    await store.transition(r.id, {
      from: ['creating'], to, at: now, note,
      patch: { ...(pool ? { observed: observedFrom(pool, now) } : {}), ...(lastError ? { lastError } : {}), sealedSecrets: null },
    });
    services.log.info(`request ${to}`, { nodepoolRequestId: r.id, nodepoolId: r.nodepoolId, note });
    return to;
  };

  if (result.error) {
    if (pastDeadline) {
      return finish('timed_out', `deadline passed while the cluster could not be listed (${result.error.code})`, {
        code: 'DeadlineExceeded',
        message: `no active pool by ${r.deadlineAt.toISOString()}; the last listing failed with ${result.error.code}: ${result.error.message}`,
      });
    }
    return undefined;
  }

  const taskError = async (): Promise<CloudFailure | undefined> => {
    if (r.provider !== 'ack' || !r.taskId) return undefined;
    try {
      const task = await services.cloud.describeTask(clusterRef(r) as Extract<ClusterRef, { provider: 'ack' }>, r.taskId, { deadline: sweepDeadline });
      if (task.state === 'fail' || task.state === 'failed') {
        return { code: task.error?.code || 'TaskFailed', message: task.error?.message || `task ${task.id} failed` };
      }
    } catch (err) {
      if (!(err instanceof CloudError)) throw err;
    }
    return undefined;
  };

  if (!pool) {
    const err = await taskError();
    if (err) return finish('failed', `the creation task ${r.taskId} failed: ${err.code}: ${err.message}`, err);
    if (pastDeadline) {
      return finish('timed_out', `deadline passed and node pool ${r.nodepoolId} is not listed`, {
        code: 'DeadlineExceeded',
        message: `node pool ${r.nodepoolId} was not listed in cluster ${r.clusterId} by ${r.deadlineAt.toISOString()}`,
      });
    }
    return undefined;
  }

  await store.observe(r.id, observedFrom(pool, now), now);
  const settled = pool.state === 'active' && pool.initial === 0;
  if (settled && pool.serving >= pool.desired) {
    return finish('active', `node pool ${pool.id} is active: ${pool.serving}/${pool.desired} nodes serving`);
  }
  if (settled && pool.failed > 0) {
    const err = (await taskError()) ?? { code: 'NodesFailed', message: `${pool.failed} of ${pool.desired} nodes failed; ${pool.serving} serving` };
    return finish('failed', `creation ended with failed nodes: ${err.code}: ${err.message}`, err);
  }
  if (pastDeadline) {
    return finish('timed_out', `deadline passed with the pool ${pool.cloudState}, ${pool.serving}/${pool.desired} serving`, {
      code: 'DeadlineExceeded',
      message: `node pool ${pool.id} was still ${pool.cloudState} at ${r.deadlineAt.toISOString()}: ${pool.serving}/${pool.desired} serving, ${pool.initial} initial, ${pool.failed} failed`,
    });
  }
  return undefined;
}
