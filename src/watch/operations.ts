/**
 * The waiter for scales and deletes, from one sweep's listing: a scale is done when its pool
 * is active at the new desired size with that many nodes serving (nothing coming up, nothing
 * being removed); a delete when the pool is no longer listed. Either fails with what the
 * cloud says (ACK: the operation's task; ENS: nodes that failed to come up) and times out at
 * its deadline with the last state seen.
 */
import { type Cluster, type ClusterListing, clusterOf } from '../cloud/cluster.js';
import { CloudError } from '../cloud/errors.js';
import type { NodePool } from '../cloud/nodepool.js';
import { endCreation, observedFrom, taskFailure } from '../pipeline/schedule.js';
import type { Services } from '../pipeline/services.js';
import type { CloudFailure, NodepoolRequest } from '../requests/model.js';

type Ending = 'active' | 'deleted' | 'failed' | 'timed_out';

/** Ends the operation (endCreation, from `applying`), answering where it went. */
async function endOperation(services: Services, r: NodepoolRequest, to: Ending, note: string, seen: Parameters<typeof endCreation>[4]): Promise<Ending> {
  await endCreation(services, r, to, note, seen);
  return to;
}

/** An ACK operation's task, when it failed: the cloud's own words for why. */
async function failedTask(services: Services, r: NodepoolRequest, deadline: number): Promise<CloudFailure | undefined> {
  if (r.provider !== 'ack' || !r.taskId) return undefined;
  try {
    const task = await services.cloud.describeTask(clusterOf(r) as Extract<Cluster, { provider: 'ack' }>, r.taskId, { deadline, maxAttempts: 2 });
    return task.state === 'fail' || task.state === 'failed' ? taskFailure(task) : undefined;
  } catch (err) {
    if (err instanceof CloudError) return undefined;
    throw err;
  }
}

export async function advanceApplying(
  services: Services,
  r: NodepoolRequest,
  listing: ClusterListing,
  now: Date,
  sweepDeadline: number,
): Promise<Ending | undefined> {
  const pastDeadline = now.getTime() >= r.deadlineAt.getTime();
  const what = r.operation === 'delete' ? 'deletion' : `scaling to ${r.targetSize}`;
  const timeOut = (message: string, pool?: NodePool) =>
    endOperation(services, r, 'timed_out', `deadline passed: ${message}`, {
      at: now,
      pool,
      lastError: { code: 'DeadlineExceeded', message: `the ${what} of node pool ${r.nodepoolId} did not end by ${r.deadlineAt.toISOString()}: ${message}` },
    });
  if (listing.error) return pastDeadline ? timeOut(`the cluster could not be listed (${listing.error.code}: ${listing.error.message})`) : undefined;
  const pool = listing.pools?.find((p) => p.id === r.nodepoolId);
  const fail = (err: CloudFailure) => endOperation(services, r, 'failed', `the ${what} failed: ${err.code}: ${err.message}`, { at: now, pool, lastError: err });

  if (r.operation === 'delete') {
    if (!pool) return endOperation(services, r, 'deleted', `node pool ${r.nodepoolId} is no longer listed: deleted`, { at: now });
    if (pool.state !== 'deleting') {
      const err = await failedTask(services, r, sweepDeadline);
      if (err) return fail(err);
    }
  } else {
    if (!pool) return fail({ code: 'NodePoolNotFound', message: `node pool ${r.nodepoolId} is no longer listed in cluster ${r.clusterId}` });
    const settled = pool.state === 'active' && pool.initial === 0 && pool.removing === 0;
    const target = r.targetSize ?? pool.desired;
    // Nothing left over either: a scale-in has removed its nodes (the new desired size shows before they go).
    if (settled && pool.desired === target && pool.serving >= target && pool.total <= target) {
      return endOperation(services, r, 'active', `node pool ${pool.id} is active at its new size: ${pool.serving}/${pool.desired} nodes serving`, {
        at: now,
        pool,
      });
    }
    if (pool.state === 'failed')
      return fail((await failedTask(services, r, sweepDeadline)) ?? { code: 'NodePoolFailed', message: `node pool ${pool.id} is ${pool.cloudState}` });
    if (pool.failedInstanceIds?.length) {
      return fail({ code: 'NodesFailed', message: `${pool.failedInstanceIds.length} nodes failed to come up: ${pool.failedInstanceIds.join(', ')}` });
    }
    if (settled && ((pool.failed ?? 0) > 0 || pool.desired !== target)) {
      return fail(
        (await failedTask(services, r, sweepDeadline)) ?? {
          code: pool.desired !== target ? 'DesiredSizeChanged' : 'NodesFailed',
          message: `node pool ${pool.id} settled at ${pool.serving}/${pool.desired} serving${pool.failed ? `, ${pool.failed} failed` : ''}, not the ${target} asked for`,
        },
      );
    }
  }
  if (pastDeadline) return timeOut(`node pool ${pool.id} is ${pool.cloudState}, ${pool.serving}/${pool.desired} serving, ${pool.removing} being removed`, pool);
  await services.store.observe(r.id, observedFrom(pool, now), now);
  return undefined;
}
