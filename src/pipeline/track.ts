/**
 * The part of the watch sweep that moves requests forward: one DescribeClusterNodePools per
 * cluster with tracked requests, creating -> active / failed / timed_out from what it shows
 * (and, for ACK, from the creation task's error), timeouts of requests that never got a
 * pool, and re-dispatch of accepted or deferred requests whose time has come.
 */
import { clusterKeyOf } from '../alerts/rules.js';
import type { ClusterRef } from '../cloud/client.js';
import { CloudError } from '../cloud/errors.js';
import type { NodePool } from '../cloud/nodepool.js';
import type { CloudFailure, NodepoolRequest, ObservedStatus } from '../requests/model.js';
import { StaleUpdateError } from '../store/errors.js';
import { clusterRef, provisionRequest } from './provision.js';
import type { Services } from './services.js';

export interface ClusterResult {
  ref: ClusterRef;
  pools?: NodePool[];
  error?: CloudError;
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


/**
 * Lists clusters in order, at most `concurrency` at once, one call each (one per page for
 * ENS). It starts no new listing after `stopAt`, so a sweep keeps time for the rest of its
 * work; what was not reached is left for the next sweep. Errors are returned per cluster.
 */
export async function listClusters(
  services: Services,
  refs: ClusterRef[],
  options: { deadline: number; stopAt?: number; concurrency?: number },
): Promise<ClusterResult[] & { started: number }> {
  const byIndex: Array<ClusterResult | undefined> = new Array(refs.length);
  let next = 0;
  const stopAt = options.stopAt ?? options.deadline;
  const worker = async () => {
    while (next < refs.length && services.clock.now() < stopAt) {
      const i = next++;
      const ref = refs[i]!;
      try {
        byIndex[i] = { ref, pools: await services.cloud.listNodePools(ref, { deadline: options.deadline, maxAttempts: 3 }) };
      } catch (err) {
        if (!(err instanceof CloudError)) throw err;
        // Out of time before the first call went out: not a listing, and not a failure of the cluster.
        if (err.code === 'BudgetExhausted') continue;
        byIndex[i] = { ref, error: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, refs.length) }, worker));
  const out = byIndex.filter((r): r is ClusterResult => r !== undefined) as ClusterResult[] & { started: number };
  // The next sweep resumes after the longest run of clusters, from the first, that were all reached.
  let reached = 0;
  while (reached < refs.length && byIndex[reached]) reached++;
  out.started = reached;
  return out;
}

/**
 * A timed-out request whose pool may still come up: one that has its pool's id, or that
 * called CreateClusterNodePool (so a pool of its name may be its own). The sweep keeps
 * looking at it while creation alerts would (CREATION_ALERT_HOURS).
 */
export function isRecoverable(r: NodepoolRequest): boolean {
  return r.state === 'timed_out' && Boolean(r.nodepoolId || r.createStartedAt);
}

/** Timed-out requests whose pool this sweep shows active with serving at desired become active. */
async function recoverTimedOut(services: Services, requests: NodepoolRequest[], results: Map<string, ClusterResult>, now: Date): Promise<number> {
  // A pool belongs to one request: a live or active one that has it keeps it, and a pool found by
  // name goes to the oldest timed-out request that may have created it, and to no other.
  const owners = new Map<string, NodepoolRequest[]>();
  for (const r of requests) if (r.nodepoolId) owners.set(r.nodepoolId, [...(owners.get(r.nodepoolId) ?? []), r]);
  const claimed = new Set(owners.keys());
  const candidates = requests.filter(isRecoverable).sort((a, b) => Number(!a.nodepoolId) - Number(!b.nodepoolId) || (a.id < b.id ? -1 : 1));
  const recoveredPools = new Set<string>();
  const observed: Array<{ id: string; observed: ObservedStatus }> = [];
  let recovered = 0;
  for (const r of candidates) {
    const pools = results.get(clusterKeyOf(clusterRef(r)))?.pools;
    const pool = r.nodepoolId
      ? (owners.get(r.nodepoolId) ?? []).every((o) => o.id === r.id || isRecoverable(o)) ? pools?.find((p) => p.id === r.nodepoolId) : undefined
      : pools?.find((p) => p.name === r.nodepoolName && !claimed.has(p.id));
    if (!pool || recoveredPools.has(pool.id)) continue;
    claimed.add(pool.id);
    if (!(pool.state === 'active' && pool.initial === 0 && pool.serving >= pool.desired)) {
      if (r.nodepoolId) observed.push({ id: r.id, observed: observedFrom(pool, now) });
      continue;
    }
    try {
      await services.store.transition(r.id, {
        from: ['timed_out'], to: 'active', at: now,
        note: `recovered after the deadline: node pool ${pool.id} is active with ${pool.serving}/${pool.desired} nodes serving (the deadline was ${r.deadlineAt.toISOString()})`,
        patch: { nodepoolId: pool.id, observed: observedFrom(pool, now), lastError: null, createStartedAt: null },
      });
      services.log.info('request active after its deadline', { nodepoolRequestId: r.id, nodepoolId: pool.id });
      recoveredPools.add(pool.id);
      recovered++;
    } catch (err) {
      if (!(err instanceof StaleUpdateError)) throw err;
    }
  }
  await services.store.observeMany(observed);
  return recovered;
}

/** Moves `creating` requests forward from this sweep's listings. */
export async function advanceFromListings(
  services: Services,
  requests: NodepoolRequest[],
  results: Map<string, ClusterResult>,
  sweepDeadline: number,
): Promise<Record<string, number>> {
  const now = new Date(services.clock.now());
  const transitions: Record<string, number> = {};
  // Active requests show what this sweep saw of their pool (one statement for all of them).
  const observed: Array<{ id: string; observed: ObservedStatus }> = [];
  for (const r of requests) {
    if (r.state !== 'active' || !r.nodepoolId) continue;
    const pool = results.get(clusterKeyOf(clusterRef(r)))?.pools?.find((p) => p.id === r.nodepoolId);
    if (pool) observed.push({ id: r.id, observed: observedFrom(pool, now) });
  }
  await services.store.observeMany(observed);
  const recovered = await recoverTimedOut(services, requests, results, now);
  if (recovered) transitions.active = recovered;
  for (const r of requests) {
    if (r.state !== 'creating') continue;
    const result = results.get(clusterKeyOf(clusterRef(r)));
    if (!result) continue; // not listed this sweep (out of time): next sweep
    try {
      const to = await advanceCreating(services, r, result, now, sweepDeadline);
      if (to) transitions[to] = (transitions[to] ?? 0) + 1;
    } catch (err) {
      if (!(err instanceof StaleUpdateError)) throw err; // someone else moved it: fine
    }
  }
  return transitions;
}

/** Live requests without a pool that ran out of time: provision times them out under a lease. */
export async function timeOutStale(services: Services, requests: NodepoolRequest[], owner: string, deadline: number): Promise<number> {
  let n = 0;
  const now = services.clock.now();
  for (const r of requests) {
    if (services.clock.now() >= deadline) break;
    if ((r.state !== 'accepted' && r.state !== 'submitting') || r.deadlineAt.getTime() > now) continue;
    const out = await provisionRequest(services, r.id, { owner, budgetMs: 0, force: true });
    if (out.outcome === 'timed_out') n++;
  }
  return n;
}

/** Re-dispatches what was never dispatched, or was deferred and is due. */
export async function redrive(services: Services, graceMs: number, deadline: number): Promise<number> {
  const due = await services.store.dueForDispatch(new Date(services.clock.now()), graceMs, 500);
  let n = 0;
  for (const r of due) {
    if (services.clock.now() >= deadline) break;
    try {
      await services.dispatcher.dispatch(r.id, services.log);
      n++;
    } catch (err) {
      services.log.warn('re-dispatch failed; next sweep tries again', { nodepoolRequestId: r.id, error: err });
    }
  }
  return n;
}

/** "task T-… is running" (with its error, if any), for an ACK request; undefined otherwise. */
async function taskStatus(services: Services, r: NodepoolRequest, deadline: number): Promise<string | undefined> {
  if (r.provider !== 'ack' || !r.taskId) return undefined;
  try {
    const task = await services.cloud.describeTask(clusterRef(r) as Extract<ClusterRef, { provider: 'ack' }>, r.taskId, { deadline, maxAttempts: 2 });
    return `task ${task.id} is ${task.state}${task.error ? ` (${task.error.code}: ${task.error.message})` : ''}`;
  } catch (err) {
    if (err instanceof CloudError) return `task ${r.taskId} could not be read (${err.code})`;
    throw err;
  }
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
    // A stalled ACK creation: what its task says is the most useful thing to put in front of a person.
    const task = await taskStatus(services, r, sweepDeadline);
    return finish('timed_out', `deadline passed with the pool ${pool.cloudState}, ${pool.serving}/${pool.desired} serving`, {
      code: 'DeadlineExceeded',
      message: `node pool ${pool.id} was still ${pool.cloudState} at ${r.deadlineAt.toISOString()}: ${pool.serving}/${pool.desired} serving, ${pool.initial} initial, ${pool.failed} failed${task ? `; ${task}` : ''}`,
    });
  }
  return undefined;
}
