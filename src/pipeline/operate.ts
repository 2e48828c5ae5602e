/**
 * Running a scale or a delete, exactly once, by the rules a creation follows (provision.ts):
 * one worker at a time holds the request (its lease); `create_started_at` is committed before
 * the write call, so that a later attempt knows the call may have run; and such an attempt
 * reads the pool before it calls again: a scale has run when the pool's desired size is the
 * one asked for, a delete when the pool is gone or being deleted. Then it does not call again.
 * The pool is found by its name, and must be the one the caller named by id, if they did:
 * a delete never removes another pool that has come to hold the name.
 */
import { clusterOf } from '../cloud/cluster.js';
import { CloudError } from '../cloud/errors.js';
import type { EnsNode, NodePool } from '../cloud/nodepool.js';
import { operationCall, runOperation } from '../cloud/pool-ops.js';
import type { NodepoolRequest } from '../requests/model.js';
import { PRE_CREATE_STATES } from '../requests/state.js';
import { deferrals, type ProvisionOutcome } from './deferral.js';
import { ACK_MAX_SCALE_OUT, deleteRefusal, failedCheck, preflight } from './preflight.js';
import type { Services } from './services.js';

type Result = { outcome: ProvisionOutcome; request?: NodepoolRequest };

/** Whether the pool, as read now, shows that this request's call ran. */
function callRan(rec: NodepoolRequest, pool: NodePool | undefined): boolean {
  // ACK words a delete `deleting`; ENS shows the pool removing its nodes, wanting none, until it goes.
  if (rec.operation === 'delete') return !pool || pool.state === 'deleting' || (pool.state === 'removing' && pool.desired === 0);
  return pool !== undefined && pool.desired === rec.targetSize;
}

export async function driveOperation(
  services: Services,
  rec: NodepoolRequest,
  options: { owner: string; budgetMs: number; afterCreate?: () => void },
  log: Services['log'],
): Promise<Result> {
  const { store, clock, cloud, config } = services;
  const owner = options.owner;
  const now = () => new Date(clock.now());
  const ref = clusterOf(rec);
  const { onCloudError, awaitTurn, turnTaken, markCall } = deferrals(services, () => rec, owner, log);
  const pastDeadline = clock.now() >= rec.deadlineAt.getTime();
  const end = async (to: 'failed' | 'timed_out', code: string, message: string, note: string): Promise<Result> => {
    const request = await store.transition(rec.id, {
      from: PRE_CREATE_STATES,
      to,
      owner,
      at: now(),
      releaseLease: true,
      note,
      patch: { lastError: { code, message }, nextAttemptAt: null, createStartedAt: null },
    });
    log.warn(to, { code, operation: rec.operation });
    return { outcome: to, request };
  };
  // `applying` holds an ACK cluster's turn: a request that needed no call may find it taken.
  const applying = async (note: string, patch: { nodepoolId?: string; taskId?: string } = {}, cloudRequestId?: string): Promise<Result> => {
    try {
      const request = await store.transition(rec.id, {
        from: PRE_CREATE_STATES,
        to: 'applying',
        owner,
        at: now(),
        releaseLease: true,
        note,
        cloudRequestId,
        patch: { ...patch, createStartedAt: null, nextAttemptAt: null, lastError: null },
      });
      return { outcome: 'applied', request };
    } catch (err) {
      return turnTaken(err);
    }
  };

  if (pastDeadline && !rec.createStartedAt) {
    return end(
      'timed_out',
      'DeadlineExceeded',
      `the deadline ${rec.deadlineAt.toISOString()} passed before the ${rec.operation} was sent`,
      'the deadline passed before the call',
    );
  }
  // ACK takes one node-pool operation per cluster at a time: wait for ours ahead, spending no call.
  // A request that has marked its call holds the cluster's turn already (after a refused or
  // unanswered call, the pool is read again before the next): it waits for nobody.
  if (!rec.createStartedAt) {
    const waiting = await awaitTurn();
    if (waiting) return waiting;
  }
  const budget = {
    deadline: Math.min(clock.now() + Math.max(options.budgetMs, pastDeadline ? 10_000 : 0), pastDeadline ? Number.MAX_SAFE_INTEGER : rec.deadlineAt.getTime()),
  };

  let pool: NodePool | undefined;
  try {
    pool = await cloud.findNodePool(ref, rec.nodepoolName, budget);
  } catch (err) {
    if (pastDeadline && err instanceof CloudError) {
      // Cannot tell whether the call ran: keep the request for the next sweep rather than guess.
      await store.releaseLease(rec.id, owner);
      return { outcome: 'deferred', request: rec };
    }
    return onCloudError(err, 'looking the pool up by name');
  }
  const named = rec.nodepoolId;
  if (rec.createStartedAt && callRan(rec, pool && (!named || pool.id === named) ? pool : undefined)) {
    log.info('an earlier call of this request did run', { operation: rec.operation, nodepoolId: pool?.id });
    return applying(
      `an earlier ${rec.operation} call of this request did run: ${pool ? `node pool ${pool.id} is ${pool.cloudState}, desired ${pool.desired}` : 'the pool is no longer listed'}`,
      {
        nodepoolId: named ?? pool?.id,
      },
    );
  }
  if (pastDeadline) {
    return end(
      'timed_out',
      'DeadlineExceeded',
      `the ${rec.operation} did not take effect by ${rec.deadlineAt.toISOString()}`,
      'the deadline passed; the pool shows no effect of the call',
    );
  }
  if (!pool) {
    return end(
      'failed',
      'NodePoolNotFound',
      `cluster ${rec.clusterId} has no node pool named ${rec.nodepoolName}`,
      `no node pool named ${rec.nodepoolName}: nothing to ${rec.operation}`,
    );
  }
  if (named && pool.id !== named) {
    return end(
      'failed',
      'NodePoolMismatch',
      `the node pool named ${rec.nodepoolName} is ${pool.id}, not ${named}: nothing was changed`,
      `the name belongs to node pool ${pool.id}, not the ${named} asked for`,
    );
  }
  if (rec.operation === 'delete') {
    const refusal = deleteRefusal(rec, pool, config.deleteGuardServingNodes);
    if (refusal) return end('failed', refusal.code, refusal.message, `refused: ${refusal.message}`);
  } else if (pool.desired === rec.targetSize) {
    return applying(`node pool ${pool.id} already wants ${pool.desired} nodes: no call needed`, { nodepoolId: pool.id });
  } else if (ref.provider === 'ack' && (rec.targetSize ?? 0) - pool.desired > ACK_MAX_SCALE_OUT) {
    const message = `ACK adds at most ${ACK_MAX_SCALE_OUT} nodes at a time; ${(rec.targetSize ?? 0) - pool.desired} asked`;
    return end('failed', 'DesiredSizeOutOfRange', message, `pre-flight check desiredSize failed: ${message}`);
  }

  // The cluster must still take the operation (the pool's own checks were made above).
  try {
    const bad = failedCheck((await preflight(services, rec, budget, { throwOnError: true, clusterOnly: true })).checks);
    if (bad) return end('failed', bad.code ?? 'PreflightFailed', bad.detail, `pre-flight check ${bad.name} failed: ${bad.detail}`);
  } catch (err) {
    return onCloudError(err, 'the pre-flight checks');
  }

  let nodes: EnsNode[] | undefined;
  const target = rec.targetSize ?? 0;
  if (ref.provider === 'ens' && rec.operation === 'scale' && target < pool.desired) {
    try {
      nodes = await cloud.listEnsNodes(ref, pool.id, budget);
    } catch (err) {
      return onCloudError(err, 'listing the nodes to remove');
    }
  }
  const call = operationCall(ref, pool, rec.operation === 'delete' ? { kind: 'delete' } : { kind: 'scale', target, nodes });
  // Mark, commit, then call.
  const marked = await markCall(`calling ${call.spec.action} on node pool ${pool.id} (attempt ${rec.attempts + 1})`, { nodepoolId: pool.id });
  if ('waited' in marked) return marked.waited;
  rec = marked.marked;
  let out: { requestId?: string; taskId?: string };
  try {
    out = await runOperation(cloud, ref, call, budget);
  } catch (err) {
    return onCloudError(err, call.spec.action);
  }
  options.afterCreate?.();
  log.info('operation accepted', {
    operation: rec.operation,
    action: call.spec.action,
    nodepoolId: pool.id,
    taskId: out.taskId,
    cloudRequestId: out.requestId,
  });
  return applying(
    `${call.spec.action} accepted for node pool ${pool.id}${rec.operation === 'scale' ? `: ${pool.desired} -> ${target} nodes` : ''}${out.taskId ? `, task ${out.taskId}` : ''}`,
    { nodepoolId: pool.id, taskId: out.taskId },
    out.requestId,
  );
}
