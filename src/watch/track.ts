/**
 * Request tracking, from one sweep's listings: active requests record what their pool looks
 * like; creating ones move to active, failed or timed_out (for ACK, with the creation task's
 * error); timed-out ones whose pool turned up become active; live ones that never got a pool
 * and ran out of time are timed out; accepted or deferred ones whose time has come are
 * dispatched again.
 */

import { type Cluster, type ClusterListing, clusterKey, clusterOf } from '../cloud/cluster.js';
import { CloudError } from '../cloud/errors.js';
import { isUp, type NodePool } from '../cloud/nodepool.js';
import { forEachConcurrently } from '../concurrent.js';
import { provisionRequest } from '../pipeline/provision.js';
import { endCreation, observedFrom, taskFailure, wakeNextOnCluster } from '../pipeline/schedule.js';
import type { Services } from '../pipeline/services.js';
import type { CloudFailure, NodepoolRequest, ObservedStatus } from '../requests/model.js';
import { IN_CLOUD_STATES, PRE_CREATE_STATES } from '../requests/state.js';
import { StaleUpdateError } from '../store/errors.js';
import { isRecoverable } from './listing.js';
import { advanceApplying } from './operations.js';

/** Listings by cluster key, for looking a request's cluster up. */
type Listings = Map<string, ClusterListing>;
/** Our code for a pool whose creation finished and which is no longer listed. */
const GONE = 'NodePoolNotFound';
const listingOf = (listings: Listings, r: NodepoolRequest) => listings.get(clusterKey(clusterOf(r)));

/**
 * Everything the sweep does to requests, from its listings, in one call. Returns the
 * transitions by target state and how many requests were dispatched again.
 */
export async function trackRequests(
  services: Services,
  requests: NodepoolRequest[],
  listings: ClusterListing[],
  options: {
    owner: string;
    deadline: number;
    dispatchGraceMs: number;
    /** false: the caller re-drives on its own (the sweep does, from its start). */
    redrive?: boolean;
    /** The sweep records what the listings show of active requests itself (observeActive). */
    activeObserved?: boolean;
  },
): Promise<{ transitions: Record<string, number>; redriven: number }> {
  const byKey: Listings = new Map(listings.map((l) => [l.key, l]));
  const now = new Date(services.clock.now());
  const transitions: Record<string, number> = {};
  const count = (to: string | undefined, n = 1) => {
    if (to && n) transitions[to] = (transitions[to] ?? 0) + n;
  };
  if (!options.activeObserved) await observeActive(services, requests, listings, now);
  count('active', await recoverTimedOut(services, requests, byKey, now));
  // Each creation is independent of the others: several at once (store and cloud calls overlap).
  await forEachConcurrently(
    requests.filter((r) => IN_CLOUD_STATES.includes(r.state)),
    services.config.sweepConcurrency,
    async (r) => {
      const listing = listingOf(byKey, r);
      if (!listing) return; // not listed this sweep (out of time): next sweep
      try {
        const advance = r.state === 'applying' ? advanceApplying : advanceCreating;
        count(await advance(services, r, listing, now, options.deadline));
      } catch (err) {
        if (!(err instanceof StaleUpdateError)) throw err; // someone else moved it: fine
      }
    },
  );
  await wakeFreeClusters(services, requests, byKey);
  count('timed_out', await timeOutStale(services, requests, options.owner, options.deadline));
  return { transitions, redriven: options.redrive === false ? 0 : await redrive(services, options.dispatchGraceMs, options.deadline) };
}

/**
 * Ends, as soon as their cluster is listed, the creations whose pool the listing shows up
 * (active, nothing still coming up, serving what was asked): they need nothing more from this
 * sweep, and the slower work after the listing (node walks, the rest of the tracking) would
 * only make them later. The rest are left to trackRequests. Answers how many ended.
 */
export async function endUpCreations(
  services: Services,
  requests: NodepoolRequest[],
  listings: Array<Pick<ClusterListing, 'key' | 'pools'>>,
  now: Date,
): Promise<number> {
  const byKey = new Map(listings.map((l) => [l.key, l]));
  let ended = 0;
  await forEachConcurrently(
    requests.filter((r) => r.state === 'creating'),
    services.config.sweepConcurrency,
    async (r) => {
      const pool = byKey.get(clusterKey(clusterOf(r)))?.pools?.find((p) => p.id === r.nodepoolId);
      if (!pool || !isUp(pool)) return;
      try {
        await endCreation(services, r, 'active', activeNote(pool), { at: now, pool });
        r.state = 'active';
        ended++;
      } catch (err) {
        if (!(err instanceof StaleUpdateError)) throw err; // someone else moved it: fine
      }
    },
  );
  return ended;
}

const activeNote = (pool: NodePool) => `node pool ${pool.id} is active: ${pool.serving}/${pool.desired} nodes serving`;

/**
 * ACK clusters whose listing shows no operation under way, and where none of ours is being
 * created, hand the cluster to their oldest waiting request at once: dispatched now, not at
 * the end of its backoff or of the re-drive grace, which grows with each re-drive.
 */
async function wakeFreeClusters(services: Services, requests: NodepoolRequest[], byKey: Listings): Promise<void> {
  const oldestWaiting = new Map<string, NodepoolRequest>();
  for (const r of [...requests].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const key = clusterKey(clusterOf(r));
    if (r.provider === 'ack' && PRE_CREATE_STATES.includes(r.state) && !oldestWaiting.has(key)) oldestWaiting.set(key, r);
  }
  for (const [key, r] of oldestWaiting) {
    const pools = byKey.get(key)?.pools;
    if (!pools || pools.some((p) => p.state !== 'active' && p.state !== 'failed')) continue;
    if (await services.store.aheadOnCluster(r)) continue;
    await wakeNextOnCluster(services, clusterOf(r));
  }
}

/**
 * Active requests show what these listings saw of their pool (one statement for all of them),
 * for the pools `which` takes; the request objects are updated too, so that the alert rules
 * read what was written.
 */
export async function observeActive(
  services: Pick<Services, 'store'>,
  requests: NodepoolRequest[],
  listings: Array<Pick<ClusterListing, 'key' | 'pools'>>,
  now: Date,
  which: (pool: NodePool) => boolean = () => true,
): Promise<void> {
  const pools = new Map<string, NonNullable<ClusterListing['pools']>[number]>();
  for (const l of listings) for (const p of l.pools ?? []) pools.set(`${l.key}\u0000${p.id}`, p);
  const observed: Array<{ r: NodepoolRequest; observed: ObservedStatus }> = [];
  for (const r of requests) {
    if (r.state !== 'active' || !r.nodepoolId) continue;
    const pool = pools.get(`${clusterKey(clusterOf(r))}\u0000${r.nodepoolId}`);
    if (pool && which(pool)) observed.push({ r, observed: observedFrom(pool, now) });
  }
  await observeAll(services, observed);
}

/**
 * Writes what was observed of these requests where it changed, and keeps it on them. A pool that
 * looks as it did keeps its observation and the time it was first seen so: a sweep over a fleet
 * at rest writes no request row.
 */
async function observeAll(services: Pick<Services, 'store'>, items: Array<{ r: NodepoolRequest; observed: ObservedStatus }>): Promise<void> {
  const changed = items.filter((i) => !sameObservation(i.r.observed, i.observed));
  await services.store.observeMany(changed.map((i) => ({ id: i.r.id, observed: i.observed })));
  for (const i of changed) i.r.observed = i.observed;
}

/** Every field but the time, as the store's own check compares them (a field one lacks differs). */
function sameObservation(a: ObservedStatus | undefined, b: ObservedStatus): boolean {
  if (!a) return false;
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].every((k) => k === 'at' || x[k] === y[k]);
}

/** Timed-out requests whose pool this sweep shows active with serving at desired become active. */
async function recoverTimedOut(services: Services, requests: NodepoolRequest[], byKey: Listings, now: Date): Promise<number> {
  // A pool belongs to one request: a live or active one that has it keeps it, and a pool found by
  // name goes to the oldest timed-out request that may have created it, and to no other.
  const owners = new Map<string, NodepoolRequest[]>();
  for (const r of requests) if (r.nodepoolId) owners.set(r.nodepoolId, [...(owners.get(r.nodepoolId) ?? []), r]);
  const claimed = new Set(owners.keys());
  const candidates = requests.filter(isRecoverable).sort((a, b) => Number(!a.nodepoolId) - Number(!b.nodepoolId) || (a.id < b.id ? -1 : 1));
  const recoveredPools = new Set<string>();
  const observed: Array<{ r: NodepoolRequest; observed: ObservedStatus }> = [];
  let recovered = 0;
  for (const r of candidates) {
    const pools = listingOf(byKey, r)?.pools;
    const pool = r.nodepoolId
      ? (owners.get(r.nodepoolId) ?? []).every((o) => o.id === r.id || isRecoverable(o))
        ? pools?.find((p) => p.id === r.nodepoolId)
        : undefined
      : pools?.find((p) => p.name === r.nodepoolName && !claimed.has(p.id));
    if (!pool || recoveredPools.has(pool.id)) continue;
    claimed.add(pool.id);
    if (!(pool.state === 'active' && pool.initial === 0 && pool.serving >= pool.desired)) {
      if (r.nodepoolId) observed.push({ r, observed: observedFrom(pool, now) });
      continue;
    }
    try {
      await services.store.transition(r.id, {
        from: 'timed_out',
        to: 'active',
        at: now,
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
  await observeAll(services, observed);
  return recovered;
}

/** Live requests without a pool that ran out of time: provision times them out under a lease. */
async function timeOutStale(services: Services, requests: NodepoolRequest[], owner: string, deadline: number): Promise<number> {
  let n = 0;
  const now = services.clock.now();
  for (const r of requests) {
    if (services.clock.now() >= deadline) break;
    if (!PRE_CREATE_STATES.includes(r.state) || r.deadlineAt.getTime() > now) continue;
    const out = await provisionRequest(services, r.id, { owner, budgetMs: 0, force: true });
    if (out.outcome === 'timed_out') n++;
  }
  return n;
}

/** Re-dispatches what was never dispatched, or was deferred and is due. */
export async function redrive(services: Services, graceMs: number, deadline: number): Promise<number> {
  const due = await services.store.dueForDispatch(new Date(services.clock.now()), graceMs, 500);
  let n = 0;
  // Several at once: one slow or failing invocation does not hold the others (nor the sweep).
  await forEachConcurrently(due, services.config.sweepConcurrency, async (r) => {
    if (services.clock.now() >= deadline) return;
    try {
      await services.dispatcher.dispatch(r.id, services.log, await services.store.nextDispatch(r.id, new Date(services.clock.now())));
      n++;
    } catch (err) {
      services.log.warn('re-dispatch failed; next sweep tries again', { nodepoolRequestId: r.id, error: err });
    }
  });
  return n;
}

/** "task T-… is running" (with its error, if any), for an ACK request; undefined otherwise. */
async function taskStatus(services: Services, r: NodepoolRequest, deadline: number): Promise<string | undefined> {
  if (r.provider !== 'ack' || !r.taskId) return undefined;
  try {
    const task = await services.cloud.describeTask(clusterOf(r) as Extract<Cluster, { provider: 'ack' }>, r.taskId, { deadline, maxAttempts: 2 });
    return `task ${task.id} is ${task.state}${task.error ? ` (${task.error.code}: ${task.error.message})` : ''}`;
  } catch (err) {
    if (err instanceof CloudError) return `task ${r.taskId} could not be read (${err.code})`;
    throw err;
  }
}

async function advanceCreating(services: Services, r: NodepoolRequest, result: ClusterListing, now: Date, sweepDeadline: number): Promise<string | undefined> {
  const { store } = services;
  const pastDeadline = now.getTime() >= r.deadlineAt.getTime();
  const pool = result.pools?.find((p) => p.id === r.nodepoolId);
  const finish = async (to: 'active' | 'failed' | 'timed_out', note: string, lastError?: CloudFailure) => {
    await endCreation(services, r, to, note, { at: now, pool, lastError });
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

  const taskError = async (poolMissing = false): Promise<CloudFailure | undefined> => {
    if (r.provider !== 'ack' || !r.taskId) return undefined;
    try {
      const task = await services.cloud.describeTask(clusterOf(r) as Extract<Cluster, { provider: 'ack' }>, r.taskId, { deadline: sweepDeadline });
      if (task.state === 'fail' || task.state === 'failed') {
        return taskFailure(task);
      }
      // Its task is done, yet the pool is not listed: it was deleted, and will not come up.
      if (poolMissing && task.state === 'success') {
        return { code: GONE, message: `the creation task ${task.id} finished, but node pool ${r.nodepoolId} is no longer listed in cluster ${r.clusterId}` };
      }
    } catch (err) {
      if (!(err instanceof CloudError)) throw err;
    }
    return undefined;
  };

  if (!pool) {
    const err = await taskError(true);
    if (err?.code === GONE) return finish('failed', err.message, err);
    if (err) return finish('failed', `the creation task ${r.taskId} failed: ${err.code}: ${err.message}`, err);
    if (pastDeadline) {
      return finish('timed_out', `deadline passed and node pool ${r.nodepoolId} is not listed`, {
        code: 'DeadlineExceeded',
        message: `node pool ${r.nodepoolId} was not listed in cluster ${r.clusterId} by ${r.deadlineAt.toISOString()}`,
      });
    }
    return undefined;
  }

  if (pool.state === 'failed') {
    // The cloud says the pool failed: its creation task says why, when there is one.
    const err = (await taskError()) ?? {
      code: 'NodePoolFailed',
      message: `node pool ${pool.id} is ${pool.cloudState}: ${pool.serving}/${pool.desired} serving`,
    };
    return finish('failed', `the node pool failed: ${err.code}: ${err.message}`, err);
  }
  const settled = pool.state === 'active' && pool.initial === 0;
  if (settled && pool.serving >= pool.desired) {
    return finish('active', activeNote(pool));
  }
  if (pool.failedInstanceIds?.length) {
    // ENS: nodes that failed or never came up (read from their states), and the pool is not serving in full.
    const err = {
      code: 'NodesFailed',
      message: `${pool.failedInstanceIds.length} of ${pool.desired} nodes failed to come up: ${pool.failedInstanceIds.join(', ')}`,
    };
    return finish('failed', `creation ended with failed nodes: ${err.code}: ${err.message}`, err);
  }
  if (settled && (pool.failed ?? 0) > 0) {
    const err = (await taskError()) ?? { code: 'NodesFailed', message: `${pool.failed} of ${pool.desired} nodes failed; ${pool.serving} serving` };
    return finish('failed', `creation ended with failed nodes: ${err.code}: ${err.message}`, err);
  }
  if (pastDeadline) {
    // A stalled ACK creation: what its task says is the most useful thing to put in front of a person.
    const task = await taskStatus(services, r, sweepDeadline);
    return finish('timed_out', `deadline passed with the pool ${pool.cloudState}, ${pool.serving}/${pool.desired} serving`, {
      code: 'DeadlineExceeded',
      message: `node pool ${pool.id} was still ${pool.cloudState} at ${r.deadlineAt.toISOString()}: ${pool.serving}/${pool.desired} serving, ${pool.initial} initial, ${pool.failed ?? 'unknown'} failed${task ? `; ${task}` : ''}`,
    });
  }
  // Still coming up: record how far (an ended creation records it with its transition).
  await store.observe(r.id, observedFrom(pool, now), now);
  return undefined;
}
