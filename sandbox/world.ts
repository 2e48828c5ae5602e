/**
 * The emulated cloud's state: clusters, node pools and ACK tasks. Pool status is derived
 * from the pool's age on a speed-up clock, so it needs no background timers and a test can
 * jump through a 10-minute creation by moving an injected clock.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../src/clock.js';
import { Catalog } from './catalog.js';
import { operationStatus, operationTaskView, type PoolOperation, type PoolStatus, type Timing } from './operations.js';

export type { PoolOperation, PoolStatus, Timing } from './operations.js';

export type Provider = 'ens' | 'ack';

export interface ClusterFaults {
  /** Every API call that names this cluster fails: 503, or no answer at all. */
  unreachable?: 'error' | 'timeout';
  /** Refuse node-pool operations as if another operation were running. */
  busy?: boolean;
}

export interface PoolFaults {
  failedNodes?: number;
  offlineNodes?: number;
  /** The pool reports this transition state forever; node progress stops when set. */
  stuck?: { state: 'scaling' | 'removing' | 'updating'; sinceSimMs: number };
  /** The pool disappears from every listing, as if deleted outside this system. */
  deleted?: boolean;
  /** Every node of the creation fails; ACK's task ends in `fail` with this error. */
  creationFails?: { code: string; message: string };
  /** The next scale or delete of the pool fails with this error (ACK: its task; ENS: the nodes it adds). */
  operationFails?: { code: string; message: string };
  /** The next scale-out of the pool: this many of the nodes it adds fail (a partial scale). */
  operationFailedNodes?: number;
}

export interface Cluster {
  id: string;
  provider: Provider;
  regionId: string;
  name: string;
  createdAt: number;
  faults: ClusterFaults;
  /** What DescribeClusterDetail says of the cluster: `running` unless a test sets another word. */
  state: string;
}

export interface Pool {
  id: string;
  clusterId: string;
  provider: Provider;
  name: string;
  desired: number;
  isDefault: boolean;
  createdAt: number;
  /** The create request as received, with the password replaced by a flag. */
  spec: Record<string, unknown>;
  hasPassword: boolean;
  taskId?: string;
  faults: PoolFaults;
  /** The last scale or delete; the creation's own counts are those of `op.from` once it runs. */
  op?: PoolOperation;
}

export interface Task {
  id: string;
  clusterId: string;
  poolId: string;
  type: string;
  createdAt: number;
  /** A scale or delete task: the operation it carries. */
  op?: PoolOperation;
}

/** With these defaults a pool is active ten real seconds after its creation (10 simulated minutes). */
export const defaultTiming: Timing = { speed: 60, bootMs: 4 * 60_000, rampMs: 6 * 60_000, removeMs: 2 * 60_000 };

function newId(prefix: string, hexChars: number): string {
  return (
    prefix +
    randomBytes(Math.ceil(hexChars / 2))
      .toString('hex')
      .slice(0, hexChars)
  );
}

export class World {
  readonly clusters = new Map<string, Cluster>();
  readonly pools = new Map<string, Pool>();
  readonly tasks = new Map<string, Task>();
  /** vSwitches and what each region offers (the pre-flight checks' calls read it). */
  readonly catalog = new Catalog();
  /** Each cluster's pools in the order they were added: a listing reads its cluster's alone. */
  private readonly poolsByCluster = new Map<string, Map<string, Pool>>();

  constructor(
    private readonly clock: Clock,
    public timing: Timing = defaultTiming,
  ) {}

  addCluster(input: { id?: string; provider: Provider; regionId?: string; name?: string }): Cluster {
    const id = input.id ?? (input.provider === 'ens' ? newId('eck-', 8) : newId('c', 32));
    if (this.clusters.has(id)) throw new Error(`cluster ${id} already exists`);
    const cluster: Cluster = {
      id,
      provider: input.provider,
      regionId: input.regionId ?? (input.provider === 'ens' ? 'cn-guiyang-14' : 'cn-beijing'),
      name: input.name ?? id,
      createdAt: this.clock.now(),
      faults: {},
      state: 'running',
    };
    this.clusters.set(id, cluster);
    return cluster;
  }

  addPool(input: Omit<Pool, 'id' | 'createdAt' | 'faults'> & { id?: string; createdAt?: number }): Pool {
    const pool: Pool = {
      ...input,
      id: input.id ?? newId('np', 32),
      createdAt: input.createdAt ?? this.clock.now(),
      faults: {},
    };
    const replaced = this.pools.get(pool.id);
    if (replaced && replaced.clusterId !== pool.clusterId) this.poolsByCluster.get(replaced.clusterId)?.delete(pool.id);
    this.pools.set(pool.id, pool);
    const own = this.poolsByCluster.get(pool.clusterId) ?? new Map<string, Pool>();
    own.set(pool.id, pool);
    this.poolsByCluster.set(pool.clusterId, own);
    if (pool.provider === 'ack' && !pool.isDefault) {
      const task: Task = { id: newId('T-', 24), clusterId: pool.clusterId, poolId: pool.id, type: 'nodepool_create', createdAt: pool.createdAt };
      this.tasks.set(task.id, task);
      pool.taskId = task.id;
    }
    return pool;
  }

  /**
   * The pool's nodes, in a stable order: serving ones `running` (the first `removing` of them
   * `removing`), the ones still coming up `initial` (DescribeClusterNodes documents these three),
   * and the ones that failed `failed` once their boot time has passed (ENS's DeleteClusterNodes
   * reference speaks of nodes "in the failed state"; before that they are still `initial`).
   */
  nodes(pool: Pool): Array<{ instanceId: string; state: 'initial' | 'running' | 'removing' | 'failed' }> {
    const s = this.status(pool);
    const booted = this.simElapsed(pool) >= this.timing.bootMs;
    return Array.from({ length: s.total }, (_, i) => ({
      instanceId: `i-${createHash('sha256').update(`${pool.id}/${i}`).digest('hex').slice(0, 22)}`,
      state: i < s.removing ? 'removing' : i < s.serving ? 'running' : i < s.serving + s.initial || !booted ? 'initial' : 'failed',
    }));
  }

  /** The pools a listing shows: those of the cluster that were neither deleted behind our back nor by a delete that has ended. */
  listedPools(clusterId: string): Pool[] {
    return [...(this.poolsByCluster.get(clusterId)?.values() ?? [])].filter((p) => !p.faults.deleted && !this.isGone(p));
  }

  private isGone(pool: Pool): boolean {
    if (pool.op?.kind !== 'delete' || pool.op.fails) return false;
    const done = this.status(pool).completedAt;
    return done !== undefined && done <= this.clock.now();
  }

  /**
   * Starts a scale (to `to` nodes) or a delete of the pool, taking the faults set for its next
   * operation; ACK records a task for it, as for a creation.
   */
  startOperation(pool: Pool, kind: PoolOperation['kind'], to: number, taskType?: string): PoolOperation {
    const f = pool.faults;
    const op: PoolOperation = {
      kind,
      // What the pool wants now: after a failed operation, what it wanted before that one.
      from: this.status(pool).desired,
      to: kind === 'delete' ? 0 : to,
      at: this.clock.now(),
      ...(f.operationFails ? { fails: f.operationFails } : {}),
      ...(f.operationFailedNodes ? { failedNodes: f.operationFailedNodes } : {}),
    };
    delete f.operationFails;
    delete f.operationFailedNodes;
    if (pool.provider === 'ack') {
      const type = taskType ?? (kind === 'delete' ? 'nodepool_delete' : 'nodepool_update');
      const task: Task = { id: newId('T-', 24), clusterId: pool.clusterId, poolId: pool.id, type, createdAt: op.at, op };
      this.tasks.set(task.id, task);
      op.taskId = task.id;
    }
    pool.op = op;
    if (kind === 'scale') pool.desired = to;
    return op;
  }

  simElapsed(pool: Pool): number {
    return Math.max(0, (this.clock.now() - pool.createdAt) * this.timing.speed);
  }

  /** What the pool shows now: its creation, and over it the last scale or delete (operations.ts). */
  status(pool: Pool): PoolStatus {
    const base = this.creationStatus(pool);
    if (!pool.op) return base;
    const f = pool.faults;
    // A stuck pool's clock stops where it got stuck.
    const now = f.stuck ? Math.min(this.clock.now(), pool.createdAt + f.stuck.sinceSimMs / this.timing.speed) : this.clock.now();
    return operationStatus(base, pool.op, Math.max(0, (now - pool.op.at) * this.timing.speed), this.timing, f.stuck?.state);
  }

  private creationStatus(pool: Pool): PoolStatus {
    const { bootMs, rampMs, speed } = this.timing;
    // Once a scale or delete has run, the creation is long over: it brought up what the operation started from.
    const d = pool.op ? pool.op.from : pool.desired;
    const f = pool.faults;
    let elapsed = this.simElapsed(pool);
    if (f.stuck) elapsed = Math.min(elapsed, f.stuck.sinceSimMs);

    const failed = f.creationFails ? (elapsed >= bootMs ? d : 0) : Math.min(f.failedNodes ?? 0, d);
    const target = f.creationFails ? 0 : d - failed;
    // Node i (of the nodes that will come up) is serving at boot + ramp * (i + 1) / d.
    let serving = 0;
    if (target > 0 && elapsed >= bootMs) {
      serving = Math.min(target, Math.floor(((elapsed - bootMs) * d) / rampMs + 1e-9));
    }
    const initial = f.creationFails ? d - failed : target - serving;
    const offline = Math.min(f.offlineNodes ?? 0, serving);
    const removing = f.stuck?.state === 'removing' ? Math.min(1, serving) : 0;
    // An ACK pool whose creation failed reports `failed` (the state Terraform's alicloud provider
    // treats as a failed creation); ENS documents no such state word.
    const failedPool = f.creationFails && elapsed >= bootMs && pool.provider === 'ack';
    const state = f.stuck ? f.stuck.state : failedPool ? 'failed' : initial > 0 ? 'scaling' : 'active';

    let completedAt: number | undefined;
    if (initial === 0 && !f.stuck) {
      const simDone = f.creationFails || target === 0 ? (d === 0 ? 0 : bootMs) : bootMs + (rampMs * target) / d;
      completedAt = pool.createdAt + Math.ceil(simDone / speed);
    }
    return { state, desired: d, total: d, serving, healthy: serving - offline, initial, failed, offline, removing, completedAt };
  }

  /**
   * ACK: a cluster accepts one node-pool operation at a time. A pool whose creation has ended,
   * even in `failed`, holds no operation (an assumption: ACK's docs describe the refusal only
   * while an operation runs).
   */
  busyState(clusterId: string): string | undefined {
    const cluster = this.clusters.get(clusterId);
    if (cluster?.faults.busy) return 'updating';
    for (const pool of this.listedPools(clusterId)) {
      const s = this.status(pool).state;
      if (s !== 'active' && s !== 'failed') return s;
    }
    return undefined;
  }

  taskView(task: Task): { state: 'running' | 'success' | 'fail'; error?: { code: string; message: string }; updatedAt: number } {
    const pool = this.pools.get(task.poolId);
    if (!pool) return { state: 'fail', error: { code: 'ErrorNodePoolNotFound', message: `node pool ${task.poolId} not found` }, updatedAt: task.createdAt };
    if (task.op) return operationTaskView(task.op, pool.op === task.op ? this.status(pool) : undefined, this.clock.now());
    const s = this.status(pool);
    if (s.completedAt === undefined || s.completedAt > this.clock.now()) return { state: 'running', updatedAt: this.clock.now() };
    if (pool.faults.creationFails) return { state: 'fail', error: { ...pool.faults.creationFails }, updatedAt: s.completedAt };
    if (s.failed > 0) {
      return {
        state: 'fail',
        error: { code: 'NodesScaleOutFailed', message: `${s.failed} of ${s.desired} instances failed to join the cluster` },
        updatedAt: s.completedAt,
      };
    }
    return { state: 'success', updatedAt: s.completedAt };
  }

  setPoolFaults(pool: Pool, faults: Omit<PoolFaults, 'stuck'> & { stuck?: NonNullable<PoolFaults['stuck']>['state'] | null }): void {
    const { stuck, ...rest } = faults;
    Object.assign(pool.faults, rest);
    if (stuck === null) delete pool.faults.stuck;
    else if (stuck) pool.faults.stuck = { state: stuck, sinceSimMs: this.simElapsed(pool) };
    for (const key of Object.keys(pool.faults) as Array<keyof PoolFaults>) {
      const v = pool.faults[key];
      if (v === undefined || v === null || v === 0 || v === false) delete pool.faults[key];
    }
  }

  reset(): void {
    this.clusters.clear();
    this.pools.clear();
    this.poolsByCluster.clear();
    this.tasks.clear();
    this.catalog.reset();
  }
}
