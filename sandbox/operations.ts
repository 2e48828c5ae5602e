/**
 * What a scale or delete does to a pool's counts over time, on the same speed-up clock as a
 * creation (world.ts): nodes a scale-out adds boot and come up one by one as a creation's do;
 * nodes a scale-in or delete removes go one by one over `removeMs`; a delete ends with the pool
 * no longer listed. State words: `scaling` while nodes come up, `removing` while a scale-in
 * removes nodes, `deleting` while a delete runs (the DescribeClusterNodePools reference's
 * list). A fault set before the operation makes it fail (no node added or removed), or makes
 * some of the added nodes fail (a partial scale-out).
 */

/**
 * A scale or delete the cloud accepted: from `from` nodes to `to` (0 for a delete), started
 * at real time `at`, with the faults it took from the pool when it started.
 */
export interface PoolOperation {
  kind: 'scale' | 'delete';
  from: number;
  to: number;
  at: number;
  fails?: { code: string; message: string };
  failedNodes?: number;
  taskId?: string;
}

export interface Timing {
  /** How many simulated milliseconds pass per real millisecond. */
  speed: number;
  /** Simulated time before the first node of a pool can be serving. */
  bootMs: number;
  /** Simulated time over which the nodes come up one by one after boot. */
  rampMs: number;
  /** Simulated time over which a scale-in or a delete removes its nodes one by one. */
  removeMs: number;
}

export interface PoolStatus {
  state: 'active' | 'scaling' | 'removing' | 'updating' | 'deleting' | 'failed';
  desired: number;
  total: number;
  serving: number;
  healthy: number;
  initial: number;
  failed: number;
  offline: number;
  removing: number;
  /** Real time at which the creation ended (all nodes serving or failed), if it has. */
  completedAt?: number;
}

export function operationStatus(base: PoolStatus, op: PoolOperation, elapsedMs: number, timing: Timing, stuck?: PoolStatus['state']): PoolStatus {
  const { bootMs, rampMs, removeMs, speed } = timing;
  const offlineOf = (serving: number) => Math.min(base.offline, serving);
  if (op.to > op.from) {
    const added = op.to - op.from;
    const failing = op.fails ? added : Math.min(op.failedNodes ?? 0, added);
    const target = added - failing;
    const booted = elapsedMs >= bootMs;
    const came = booted && target > 0 ? Math.min(target, Math.floor(((elapsedMs - bootMs) * added) / rampMs + 1e-9)) : 0;
    const failedNow = booted ? failing : 0;
    const initial = added - came - failedNow;
    const serving = base.serving + came;
    const simDone = target === 0 ? bootMs : bootMs + (rampMs * target) / added;
    return {
      state: stuck ?? (initial > 0 ? 'scaling' : 'active'),
      desired: op.to,
      total: base.total + added,
      serving,
      healthy: serving - offlineOf(serving),
      initial,
      failed: base.failed + failedNow,
      offline: offlineOf(serving),
      removing: 0,
      completedAt: initial === 0 && !stuck ? op.at + Math.ceil(simDone / speed) : undefined,
    };
  }
  // A scale-in or a delete: the nodes over `to` are removed one by one; a failing one removes none.
  const n = op.from - op.to;
  const over = elapsedMs >= removeMs;
  const removed = op.fails ? 0 : over ? n : Math.min(n, Math.floor((elapsedMs * n) / removeMs + 1e-9));
  const removing = op.fails && over ? 0 : n - removed;
  const serving = op.fails && over ? base.serving : Math.max(0, base.serving - n);
  const moving: PoolStatus['state'] = op.kind === 'delete' ? 'deleting' : 'removing';
  return {
    state: stuck ?? (removing > 0 || (op.kind === 'delete' && !op.fails && !over) ? moving : 'active'),
    desired: op.fails && over ? op.from : op.to,
    total: base.total - removed,
    serving,
    healthy: serving - offlineOf(serving),
    initial: base.initial,
    failed: base.failed,
    offline: offlineOf(serving),
    removing,
    completedAt: over && !stuck ? op.at + Math.ceil(removeMs / speed) : undefined,
  };
}

/** An ACK task carrying an operation: running until the operation ends, then success or fail. */
export function operationTaskView(
  op: PoolOperation,
  status: PoolStatus | undefined,
  now: number,
): { state: 'running' | 'success' | 'fail'; error?: { code: string; message: string }; updatedAt: number } {
  // A later operation replaced this one on its pool: this one had ended.
  if (!status) return { state: op.fails ? 'fail' : 'success', ...(op.fails ? { error: { ...op.fails } } : {}), updatedAt: op.at };
  if (status.completedAt === undefined || status.completedAt > now) return { state: 'running', updatedAt: now };
  if (op.fails) return { state: 'fail', error: { ...op.fails }, updatedAt: status.completedAt };
  const failedAdded = op.to > op.from ? Math.min(op.failedNodes ?? 0, op.to - op.from) : 0;
  if (failedAdded > 0) {
    return {
      state: 'fail',
      error: { code: 'NodesScaleOutFailed', message: `${failedAdded} of ${op.to - op.from} instances failed to join the cluster` },
      updatedAt: status.completedAt,
    };
  }
  return { state: 'success', updatedAt: status.completedAt };
}
