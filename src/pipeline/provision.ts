/**
 * Running one creation, exactly once. At-least-once delivery and a function that can die
 * at any line are met by three rules:
 *  - a lease (conditional UPDATE with expiry) lets one worker hold a request at a time;
 *  - `create_started_at` is committed before every CreateClusterNodePool call, so that a
 *    later attempt knows a create may have happened and looks the pool up by name first,
 *    adopting it if it is there;
 *  - a pool of the same name that exists before any create of ours is not adopted: the
 *    request fails, naming it.
 */

import type { CreateOutcome } from '../cloud/client.js';
import { type Cluster, clusterOf } from '../cloud/cluster.js';
import { CloudError, isNameTaken } from '../cloud/errors.js';
import { isUp, type NodePool } from '../cloud/nodepool.js';
import type { NodepoolRequest } from '../requests/model.js';
import { restoreSecrets } from '../requests/secrets.js';
import { IN_CLOUD_STATES, PRE_CREATE_STATES } from '../requests/state.js';
import { StaleUpdateError } from '../store/errors.js';
import { deferrals, type ProvisionOutcome } from './deferral.js';

export type { ProvisionOutcome } from './deferral.js';

import { recentTaskDurations, recordTaskDuration } from '../store/task-durations.js';
import { driveOperation } from './operate.js';
import { type Check, failedCheck, preflight } from './preflight.js';
import { endCreation, nextTaskPoll, taskDurations, taskFailure, wakeNextOnCluster } from './schedule.js';
import type { Services } from './services.js';

/** The least time left in an invocation for it to drive the next request of a freed ACK cluster itself (its reads and its create). */
const NEXT_IN_SAME_INVOCATION_MS = 10_000;

export interface ProvisionOptions {
  /** Who holds the lease: the FC request id of this invocation. */
  owner: string;
  /** Time this invocation may spend on the cloud, from now. */
  budgetMs: number;
  /** Ignore next_attempt_at (an explicit re-drive). */
  force?: boolean;
  /** The request as already leased to `owner` (by the queue intake's insert, or a hand-off): no lease to take. */
  leased?: NodepoolRequest;
  /**
   * The hand-off of a freed cluster leased this request as the next to go (nothing of ours in
   * the cloud, none marked before it, none older): no turn to read. (Should another take the turn
   * meanwhile, the mark before the call is refused, and the request waits.)
   */
  next?: boolean;
  /** Test hook: called after the cloud accepted the create and before the commit. */
  afterCreate?: () => void;
}

export async function provisionRequest(
  services: Services,
  id: string,
  options: ProvisionOptions,
): Promise<{ outcome: ProvisionOutcome; request?: NodepoolRequest }> {
  const { store, clock, config } = services;
  const log = services.log.child({ nodepoolRequestId: id });
  const leased =
    options.leased?.id === id && options.leased.leaseOwner === options.owner
      ? options.leased
      : await store.acquireLease(id, options.owner, new Date(clock.now()), config.leaseSeconds * 1000, { force: options.force });
  if (!leased) {
    log.info('not provisioning: the request is final, deferred, or held by another worker');
    return { outcome: 'skipped' };
  }
  try {
    const invocationEnd = clock.now() + options.budgetMs;
    const result = await drive(services, leased, options, invocationEnd, log);
    // An ACK request that ended before its create no longer holds its cluster's turn.
    if (leased.provider === 'ack' && (result.outcome === 'failed' || result.outcome === 'timed_out')) {
      await handOn(services, clusterOf(leased), { owner: options.owner, invocationEnd }, log);
    }
    return result;
  } catch (err) {
    // Store trouble: let the lease expire naturally if we cannot even release it.
    await store.releaseLease(id, options.owner).catch(() => undefined);
    throw err;
  }
}

async function drive(
  services: Services,
  rec: NodepoolRequest,
  options: ProvisionOptions,
  /** When this invocation's budget ends (provisionRequest's start + budgetMs). */
  invocationEnd: number,
  log: Services['log'],
): Promise<{ outcome: ProvisionOutcome; request?: NodepoolRequest }> {
  const { store, clock, cloud, secrets } = services;
  const owner = options.owner;
  const now = () => new Date(clock.now());

  if (IN_CLOUD_STATES.includes(rec.state)) {
    await store.releaseLease(rec.id, owner);
    return { outcome: 'in-progress', request: rec };
  }
  if (rec.operation !== 'create') return driveOperation(services, rec, options, log);
  if (clock.now() >= rec.deadlineAt.getTime() && rec.createStartedAt) {
    // A create may have run: find the pool before giving up, so that it is not left untracked.
    try {
      const found = await cloud.findNodePool(clusterOf(rec), rec.nodepoolName, { deadline: clock.now() + Math.max(options.budgetMs, 10_000) });
      if (found) {
        const request = await store.transition(rec.id, {
          from: PRE_CREATE_STATES,
          to: 'creating',
          owner,
          at: now(),
          releaseLease: true,
          note: `adopted node pool ${found.id}: an earlier create of this request did run`,
          patch: { nodepoolId: found.id, createStartedAt: null, nextAttemptAt: null, sealedSecrets: null },
        });
        return { outcome: 'adopted', request };
      }
    } catch (err) {
      if (!(err instanceof CloudError)) throw err;
      // Cannot look: keep the request (and its lease expiry) for the next sweep rather than lose the pool.
      await store.releaseLease(rec.id, owner);
      return { outcome: 'deferred', request: rec };
    }
  }
  if (clock.now() >= rec.deadlineAt.getTime()) {
    const request = await store.transition(rec.id, {
      from: PRE_CREATE_STATES,
      to: 'timed_out',
      owner,
      at: now(),
      releaseLease: true,
      note: 'the deadline passed before the pool was created',
      patch: {
        lastError: {
          code: 'DeadlineExceeded',
          message: `no node pool by ${rec.deadlineAt.toISOString()}${rec.lastError ? `; last error ${rec.lastError.code}: ${rec.lastError.message}` : ''}`,
        },
        sealedSecrets: null,
      },
    });
    return { outcome: 'timed_out', request };
  }

  const { onCloudError, fail, awaitTurn, markCall } = deferrals(services, () => rec, owner, log);

  // ACK takes one node-pool operation per cluster at a time, and our requests go in order:
  // while one is ahead of this one, wait, spending no call. Its end wakes this one. (A request
  // that has marked its create holds the turn already.)
  if (!rec.createStartedAt && !options.next) {
    const waiting = await awaitTurn();
    if (waiting) return waiting;
  }

  const ref = clusterOf(rec);
  const deadline = Math.min(clock.now() + options.budgetMs, rec.deadlineAt.getTime());
  const budget = { deadline };

  // A pool of this name that no create of this request made: the caller's mistake, not an
  // incident. Say whose pool holds the name, so that the alert rules stay quiet for a pool this
  // system created and make the rest a warning.
  const nameTaken = async (existingId: string | undefined, cloudRequestId?: string): Promise<{ outcome: ProvisionOutcome; request: NodepoolRequest }> => {
    const holder = existingId ? await store.forPool(rec.provider, rec.clusterId, existingId) : undefined;
    const ours = holder && holder.id !== rec.id ? holder : undefined;
    const pool = existingId ? ` (${existingId})` : '';
    log.warn('failed: the name is taken', { nodepoolId: existingId, holder: ours?.id });
    return fail(
      `a node pool named ${rec.nodepoolName} already exists${pool}; this request did not create it${ours ? ` (request ${ours.id} did)` : ''}`,
      {
        code: 'NodePoolAlreadyExists',
        message: `cluster ${rec.clusterId} already has a node pool named ${rec.nodepoolName}${pool}, ${ours ? `created by request ${ours.id}` : 'not created by this request'}`,
        ...(existingId ? { existing: { nodepoolId: existingId, ...(ours ? { nodepoolRequestId: ours.id } : {}) } } : {}),
      },
      cloudRequestId,
    );
  };

  const failPreflight = (bad: Check) => {
    log.warn('failed a pre-flight check', { check: bad.name, code: bad.code });
    return fail(`pre-flight check ${bad.name} failed: ${bad.detail}`, { code: bad.code ?? 'PreflightFailed', message: bad.detail });
  };

  // What can be known before the create (the region offers what it asks for, and so on) is asked
  // while the pool is looked up by name: both are reads, and neither needs the other.
  const checking = rec.createStartedAt ? undefined : preflight(services, rec, budget, { throwOnError: true, skip: ['nodepoolName', 'clusterBusy'], pools: [] });
  checking?.catch(() => undefined); // awaited below, unless the look-up ends the attempt first

  // Look before leaping: is there already a pool with this name? (ACK would refuse a taken name
  // itself, but after a create whose answer is lost only this look tells our pool from theirs.)
  let existing: NodePool | undefined;
  try {
    existing = await cloud.findNodePool(ref, rec.nodepoolName, budget);
  } catch (err) {
    return onCloudError(err, 'looking the pool up by name');
  }
  if (existing) {
    if (rec.createStartedAt) {
      const request = await store.transition(rec.id, {
        from: PRE_CREATE_STATES,
        to: 'creating',
        owner,
        at: now(),
        releaseLease: true,
        note: `adopted node pool ${existing.id}: an earlier create of this request did run`,
        patch: { nodepoolId: existing.id, createStartedAt: null, nextAttemptAt: null, sealedSecrets: null, lastError: null },
      });
      log.info('adopted', { nodepoolId: existing.id });
      return { outcome: 'adopted', request };
    }
    return nameTaken(existing.id);
  }

  // A failed check fails the request now, with no write call. A failed read defers it.
  if (checking) {
    try {
      const bad = failedCheck((await checking).checks);
      if (bad) return failPreflight(bad);
    } catch (err) {
      return onCloudError(err, 'the pre-flight checks');
    }
  }

  // Mark, commit, then create.
  const mayExist = Boolean(rec.createStartedAt);
  const marked = await markCall(`calling CreateClusterNodePool (attempt ${rec.attempts + 1})`);
  if ('waited' in marked) return marked.waited;
  rec = marked.marked;
  const full = rec.sealedSecrets ? restoreSecrets(rec.createParams, secrets.open(rec.sealedSecrets)) : rec.createParams;
  let out: CreateOutcome;
  try {
    // A busy cluster stays busy for minutes: defer at once rather than spend the invocation waiting.
    out = await cloud.createNodePool(ref, full as never, budget, { noRetry: ['busy'], mayExist });
  } catch (err) {
    // Someone took the name between our look and our create (the client adopts its own pool after a lost answer).
    if (err instanceof CloudError && isNameTaken(err)) {
      const holder = await cloud.findNodePool(ref, rec.nodepoolName, budget).catch(() => undefined);
      return nameTaken(holder?.id, err.requestId);
    }
    return onCloudError(err, 'CreateClusterNodePool');
  }
  options.afterCreate?.();
  const request = await store.transition(rec.id, {
    from: 'submitting',
    to: 'creating',
    owner,
    at: now(),
    releaseLease: true,
    cloudRequestId: out.requestId,
    note: out.adopted
      ? `adopted node pool ${out.nodepoolId} after an unanswered CreateClusterNodePool`
      : `CreateClusterNodePool accepted: node pool ${out.nodepoolId}${out.taskId ? `, task ${out.taskId}` : ''}`,
    patch: { nodepoolId: out.nodepoolId, taskId: out.taskId, createStartedAt: null, lastError: null, sealedSecrets: null },
  });
  log.info(out.adopted ? 'adopted' : 'created', { nodepoolId: out.nodepoolId, taskId: out.taskId, cloudRequestId: out.requestId });
  if (ref.provider === 'ack' && out.taskId && services.config.taskFollowSeconds > 0) {
    const until = Math.min(deadline, clock.now() + services.config.taskFollowSeconds * 1000);
    await followTask(services, request, ref, out.taskId, until, { owner, invocationEnd }, log);
  }
  return { outcome: out.adopted ? 'adopted' : 'created', request };
}

/**
 * Follows the ACK task this invocation started, within its budget, asking again as
 * nextTaskPoll says: tightly around the time the region's recent tasks took (by the cloud's
 * clock), sparsely otherwise. When the task ends, the request becomes active (or failed, with
 * the task's error) at once and the next request for the cluster goes; otherwise the sweep
 * carries on.
 */
async function followTask(
  services: Services,
  rec: NodepoolRequest,
  ref: Extract<Cluster, { provider: 'ack' }>,
  taskId: string,
  until: number,
  invocation: { owner: string; invocationEnd: number },
  log: Services['log'],
): Promise<void> {
  const { clock, cloud } = services;
  const started = clock.now();
  const kind = `ack/${ref.regionId}`;
  // With no task of the region seen to end here, what the other instances saw (if they can say).
  if (taskDurations.expected(kind) === undefined) taskDurations.learnFrom(kind, await recentTaskDurations(services.store.db, kind).catch(() => []));
  for (;;) {
    // read each time: a task of another request that ends meanwhile teaches what they take
    const expected = taskDurations.expected(kind);
    const wait = nextTaskPoll(clock.now() - started, expected, Math.random());
    if (clock.now() + wait >= until) return;
    // Asleep on a guess (no task seen to end yet), the first that ends wakes it to plan again.
    const learning = expected === undefined ? taskDurations.untilLearned(kind) : undefined;
    const woken = await Promise.race([clock.sleep(wait).then(() => false), ...(learning ? [learning.learned.then(() => true)] : [])]);
    learning?.cancel();
    if (woken) continue;
    const budget = { deadline: until, maxAttempts: 1 };
    const task = await cloud.describeTask(ref, taskId, budget).catch(() => undefined);
    if (!task || task.state === 'running') continue;
    let shared: Promise<void> | undefined;
    if (task.state === 'success' && task.durationMs !== undefined) {
      taskDurations.record(kind, task.durationMs);
      // for the other instances, written while this one ends the request
      shared = recordTaskDuration(services.store.db, kind, task.durationMs, new Date(clock.now())).catch((error: unknown) =>
        log.warn('could not share how long the task took', { error }),
      );
    }
    try {
      const at = new Date(clock.now());
      if (task.state === 'success') {
        const pool = (await cloud.listNodePools(ref, budget).catch(() => [])).find((p) => p.id === rec.nodepoolId);
        if (!pool || !isUp(pool)) return; // the sweep sees it through
        await endCreation(
          services,
          rec,
          'active',
          `node pool ${pool.id} is active: ${pool.serving}/${pool.desired} nodes serving (its task ${taskId} is done)`,
          {
            at,
            pool,
          },
        );
      } else {
        const error = taskFailure(task);
        await endCreation(services, rec, 'failed', `the creation task ${taskId} failed: ${error.code}: ${error.message}`, { at, lastError: error });
      }
    } catch (err) {
      if (err instanceof StaleUpdateError) return; // the sweep got there first
      throw err;
    } finally {
      await shared;
    }
    log.info('the creation task ended; the cluster goes to the next request', { taskId, state: task.state });
    await handOn(services, ref, invocation, log);
    return;
  }
}

/**
 * The cluster is free (a task ended, or a request ended before its call): its next request
 * goes. With time left, this invocation drives it itself, at once, rather than hand it to a new
 * invocation through FC's asynchronous queue (which may hold it a while); so a next request
 * that fails before its call hands on in turn.
 */
async function handOn(services: Services, cluster: Cluster, invocation: { owner: string; invocationEnd: number }, log: Services['log']): Promise<void> {
  const { clock } = services;
  const inHere = invocation.invocationEnd - clock.now() >= NEXT_IN_SAME_INVOCATION_MS;
  const next = await wakeNextOnCluster(services, cluster, inHere ? { leaseTo: invocation.owner } : {});
  if (!next || !inHere) return;
  log.info('driving the next request of the cluster in this invocation', { next: next.id });
  try {
    await provisionRequest(services, next.id, { owner: invocation.owner, budgetMs: invocation.invocationEnd - clock.now(), leased: next, next: true });
  } catch (error) {
    // The request before it is done and recorded: the next one's trouble is not its. The next
    // is due (its lease released or expiring), so the sweep drives it.
    log.warn('could not drive the next request of the cluster; the sweep will', { next: next.id, error });
  }
}
