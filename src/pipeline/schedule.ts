/**
 * ACK runs one node-pool operation per cluster at a time. Our requests for a cluster go in
 * order, and a request waiting its turn spends no call. When the operation in front of it ends
 * (its task done, as whichever function sees it first: the provision invocation that created
 * it, polling within its budget, or the sweep), the next request is made due and dispatched at
 * once, instead of waiting out a backoff.
 */
import type { AckTask } from '../cloud/client.js';
import type { Cluster } from '../cloud/cluster.js';
import { type NodePool, nodeCounts } from '../cloud/nodepool.js';
import type { CloudFailure, NodepoolRequest, ObservedStatus } from '../requests/model.js';
import { KEPT_DURATIONS } from '../store/task-durations.js';
import type { Services } from './services.js';

export function observedFrom(pool: NodePool, at: Date): ObservedStatus {
  return { cloudState: pool.cloudState, ...nodeCounts(pool), at: at.toISOString() };
}

/** Why an ACK creation task failed, as the task says it (or that it did, when it says nothing). */
export function taskFailure(task: Pick<AckTask, 'id' | 'error'>): CloudFailure {
  return { code: task.error?.code || 'TaskFailed', message: task.error?.message || `task ${task.id} failed` };
}

/**
 * Ends what the cloud was carrying out (a creation from `creating`, a scale or delete from
 * `applying`): to `to`, with what was seen of the pool and why it failed, and the sealed
 * secrets dropped (no call can need them again). The sweep and provision both end requests
 * here; a StaleUpdateError means the other got there first.
 */
export async function endCreation(
  services: Services,
  r: NodepoolRequest,
  to: 'active' | 'deleted' | 'failed' | 'timed_out',
  note: string,
  seen: { at: Date; pool?: NodePool; lastError?: CloudFailure },
): Promise<void> {
  await services.store.transition(r.id, {
    from: r.operation === 'create' ? 'creating' : 'applying',
    to,
    at: seen.at,
    note,
    patch: {
      ...(seen.pool ? { observed: observedFrom(seen.pool, seen.at) } : {}),
      ...(seen.lastError ? { lastError: seen.lastError } : {}),
      sealedSecrets: null,
    },
  });
  services.log.info(`request ${to}`, { nodepoolRequestId: r.id, nodepoolId: r.nodepoolId, operation: r.operation, note });
}

/**
 * The cluster is free: its next request is made due and dispatched, or, given `leaseTo`, leased
 * to that worker, which drives it itself (it is due now, so should that worker fail, the next
 * sweep drives it).
 */
export async function wakeNextOnCluster(services: Services, cluster: Cluster, options: { leaseTo?: string } = {}): Promise<NodepoolRequest | undefined> {
  if (cluster.provider !== 'ack') return undefined;
  const now = services.clock.now();
  const lease = options.leaseTo ? { owner: options.leaseTo, until: new Date(now + services.config.leaseSeconds * 1000) } : undefined;
  const next = await services.store.wakeNextOnCluster(cluster, new Date(now), lease);
  if (!next || lease) return next;
  try {
    await services.dispatcher.dispatch(next.id, services.log, await services.store.nextDispatch(next.id, new Date(now)));
    services.log.info('the cluster is free: the next request goes', { nodepoolRequestId: next.id, clusterId: cluster.clusterId });
  } catch (err) {
    // It is due now: the next sweep dispatches it.
    services.log.warn('could not dispatch the next request of the cluster; the sweep will', { nodepoolRequestId: next.id, error: err });
  }
  return next;
}

/**
 * How long ACK creation tasks have taken by the cloud's own clock: the last few that ended
 * successfully, per region, in this process. Provision follows a task tightly from just before
 * the shortest of them, so that the cluster goes to the next request soon after it is free; a
 * task that runs longer is asked about less and less often (see nextTaskPoll).
 */
export class TaskDurations {
  private readonly seen = new Map<string, number[]>();
  private readonly waiting = new Map<string, Set<() => void>>();

  record(key: string, ms: number): void {
    const before = this.expected(key);
    const xs = this.seen.get(key) ?? [];
    xs.push(ms);
    if (xs.length > KEPT_DURATIONS) xs.shift();
    this.seen.set(key, xs);
    if (before !== undefined && ms >= before) return;
    const waiting = this.waiting.get(key);
    this.waiting.delete(key);
    for (const wake of waiting ?? []) wake();
  }

  /** Takes what other instances saw (oldest first) when this one has seen no task of the kind end. */
  learnFrom(key: string, durations: number[]): void {
    if (this.expected(key) !== undefined) return;
    for (const ms of durations) this.record(key, ms);
  }

  /**
   * Resolves when what such tasks take becomes known, or shorter, so that a follower asleep
   * on a guess plans again at once; `cancel` when done waiting.
   */
  untilLearned(key: string): { learned: Promise<void>; cancel: () => void } {
    let wake = () => {};
    const learned = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const waiting = this.waiting.get(key) ?? new Set();
    waiting.add(wake);
    this.waiting.set(key, waiting);
    return { learned, cancel: () => this.waiting.get(key)?.delete(wake) };
  }

  /** The shortest of the recent durations (a task is rarely quicker), if any task has been seen to end. */
  expected(key: string): number | undefined {
    const xs = this.seen.get(key);
    return xs?.length ? Math.min(...xs) : undefined;
  }

  clear(): void {
    this.seen.clear();
    this.waiting.clear();
  }
}

export const taskDurations = new TaskDurations();

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/**
 * When to ask about a followed task again, given how long it has run and, if known, how long
 * such tasks take (E):
 * - not known: after a fortieth of the time so far (100 ms to 15 s), times 0.5 + `jitter` (a
 *   random number in [0, 1) from the caller; so 50 ms to 22.5 s): tasks started together are
 *   asked about at times spread apart, so that the first to end is seen soon by one of their
 *   followers, which then teaches the others what such tasks take;
 * - before E − E/100: sleep until then (at most 60 s at a time);
 * - from there: every E/400 (25 ms to 15 s), growing by a twentieth of the time past E, so a
 *   task far slower than the ones before is asked about no more often than without history.
 */
export function nextTaskPoll(elapsedMs: number, expectedMs?: number, jitter = 0.5): number {
  if (!expectedMs) return clamp(elapsedMs / 40, 100, 15_000) * (0.5 + jitter);
  const fine = clamp(expectedMs / 400, 25, 15_000);
  const near = expectedMs - expectedMs / 100;
  if (elapsedMs < near) return clamp(near - elapsedMs, fine, 60_000);
  return clamp(Math.max(expectedMs / 400, (elapsedMs - expectedMs) / 20), 25, 15_000);
}
