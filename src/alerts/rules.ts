/**
 * The alert rules. Each sweep turns what it saw (cluster listings, their failures, the
 * requests) into candidate alerts; a duration rule becomes an alert only once its
 * condition has held for its threshold. Counts and messages are annotations, never part of
 * an alert's identity.
 */
import { createHash } from 'node:crypto';
import type { ClusterRef } from '../cloud/client.js';
import type { CloudError } from '../cloud/errors.js';
import type { NodePool } from '../cloud/nodepool.js';
import type { RuleThresholds, Severity, WatchedCluster } from '../config.js';
import type { NodepoolRequest } from '../requests/model.js';
import type { AlertLabels, Annotations } from '../store/alerts.js';

export type RuleName =
  | 'creation_failed'
  | 'creation_timeout'
  | 'nodes_failed'
  | 'nodes_offline'
  | 'under_capacity'
  | 'stuck_transition'
  | 'nodepool_missing'
  | 'cluster_unreachable';

export const RULES: Record<RuleName, { severity: Severity; pool: boolean; summary: string }> = {
  creation_failed: { severity: 'critical', pool: false, summary: 'Node pool creation failed' },
  creation_timeout: { severity: 'critical', pool: false, summary: 'Node pool creation timed out' },
  nodes_failed: { severity: 'critical', pool: true, summary: 'Node pool has failed nodes' },
  nodes_offline: { severity: 'warning', pool: true, summary: 'Node pool has offline nodes' },
  under_capacity: { severity: 'warning', pool: true, summary: 'Node pool is under capacity' },
  stuck_transition: { severity: 'warning', pool: true, summary: 'Node pool is stuck in a transition' },
  nodepool_missing: { severity: 'critical', pool: true, summary: 'Tracked node pool is missing' },
  cluster_unreachable: { severity: 'critical', pool: false, summary: 'Cluster cannot be listed' },
};

export interface Candidate {
  fingerprint: string;
  rule: RuleName;
  severity: Severity;
  labels: AlertLabels;
  annotations: Annotations;
  requestId?: string;
  /** For duration rules: how long the condition must hold before the alert fires. */
  forMs: number;
  /** The cluster this alert belongs to (inhibition and resolution scope). */
  clusterKey: string;
}

export interface ClusterObservation {
  key: string;
  ref: ClusterRef;
  pools?: NodePool[];
  error?: CloudError;
  consecutiveFailures: number;
  /** Configured in WATCH_CLUSTERS: every pool is watched, not only this system's. */
  watchAll: boolean;
}

export function fingerprintOf(rule: string, provider: string, clusterId: string, pool: string): string {
  return createHash('sha256').update(`${rule}\u0000${provider}\u0000${clusterId}\u0000${pool}`).digest('hex').slice(0, 24);
}

export function clusterKeyOf(ref: { provider: string; regionId?: string; clusterId: string }): string {
  return `${ref.provider}/${ref.regionId ?? ''}/${ref.clusterId}`;
}

export function watchedRef(w: WatchedCluster): ClusterRef {
  return w.provider === 'ens' ? { provider: 'ens', clusterId: w.clusterId } : { provider: 'ack', clusterId: w.clusterId, regionId: w.regionId ?? '' };
}

function nodeCounts(p: NodePool): Record<string, number | null> {
  return { desired: p.desired, total: p.total, serving: p.serving, healthy: p.healthy, initial: p.initial, failed: p.failed, offline: p.offline, removing: p.removing };
}

export interface EvaluationInput {
  now: Date;
  clusters: ClusterObservation[];
  /** Active requests (their pools are watched) and recent final ones (creation rules). */
  requests: NodepoolRequest[];
  thresholds: RuleThresholds;
  requestLink: (id: string) => string;
}

export function evaluate(input: EvaluationInput): Candidate[] {
  const { now, thresholds } = input;
  const out: Candidate[] = [];
  const add = (rule: RuleName, labels: Omit<AlertLabels, 'rule' | 'severity'>, annotations: Annotations, extra: { requestId?: string; forMs?: number; clusterKey: string }) => {
    const severity = RULES[rule].severity;
    out.push({
      fingerprint: fingerprintOf(rule, labels.provider, labels.clusterId, labels.nodepoolName ?? ''),
      rule,
      severity,
      labels: { rule, severity, ...labels },
      annotations: { summary: RULES[rule].summary, ...annotations },
      requestId: extra.requestId,
      forMs: extra.forMs ?? 0,
      clusterKey: extra.clusterKey,
    });
  };

  // Creation outcomes: the latest request for each pool decides; while a retry is still on its
  // way, the last failure stands (a retry is not yet a success).
  const latest = new Map<string, NodepoolRequest>();
  const lastFinal = new Map<string, NodepoolRequest>();
  for (const r of input.requests) {
    const k = `${r.provider}/${r.clusterId}/${r.nodepoolName}`;
    const prev = latest.get(k);
    if (!prev || prev.id < r.id) latest.set(k, r);
    if (r.state === 'failed' || r.state === 'timed_out' || r.state === 'active') {
      const f = lastFinal.get(k);
      if (!f || f.id < r.id) lastFinal.set(k, r);
    }
  }
  const horizon = now.getTime() - thresholds.creationAlertHours * 3600_000;
  for (const [k, r0] of latest) {
    const r = r0.state === 'failed' || r0.state === 'timed_out' ? r0 : r0.state === 'active' ? undefined : lastFinal.get(k);
    if (!r || (r.state !== 'failed' && r.state !== 'timed_out') || r.updatedAt.getTime() < horizon) continue;
    const rule: RuleName = r.state === 'failed' ? 'creation_failed' : 'creation_timeout';
    add(
      rule,
      { provider: r.provider, regionId: r.regionId, clusterId: r.clusterId, nodepoolName: r.nodepoolName, nodepoolId: r.nodepoolId },
      {
        description: r.lastError ? `${r.lastError.code}: ${r.lastError.message}` : rule,
        errorCode: r.lastError?.code ?? null,
        errorMessage: r.lastError?.message ?? null,
        cloudRequestId: r.lastError?.requestId ?? null,
        cloudState: r.observed?.cloudState ?? null,
        ...(r.observed ? { nodes: { desired: r.observed.desired, total: r.observed.total, serving: r.observed.serving, healthy: r.observed.healthy, initial: r.observed.initial, failed: r.observed.failed, offline: r.observed.offline, removing: r.observed.removing } } : {}),
        since: r.updatedAt.toISOString(),
        requestLink: input.requestLink(r.id),
      },
      { requestId: r.id, clusterKey: clusterKeyOf(r) },
    );
  }

  // Pools: those of active requests everywhere; every pool of configured clusters.
  const activeByCluster = new Map<string, NodepoolRequest[]>();
  for (const r of input.requests) {
    if (r.state !== 'active') continue;
    if (latest.get(`${r.provider}/${r.clusterId}/${r.nodepoolName}`)?.id !== r.id) continue;
    const k = clusterKeyOf(r);
    activeByCluster.set(k, [...(activeByCluster.get(k) ?? []), r]);
  }
  for (const c of input.clusters) {
    const clusterLabels = { provider: c.ref.provider, regionId: c.ref.provider === 'ack' ? c.ref.regionId : undefined, clusterId: c.ref.clusterId };
    if (c.error) {
      if (c.consecutiveFailures >= thresholds.unreachableSweeps) {
        add('cluster_unreachable', clusterLabels, {
          description: `${c.consecutiveFailures} sweeps in a row could not list the cluster: ${c.error.code}: ${c.error.message}`,
          errorCode: c.error.code,
          errorMessage: c.error.message,
          cloudRequestId: c.error.requestId ?? null,
          failedSweeps: c.consecutiveFailures,
        }, { clusterKey: c.key });
      }
      continue;
    }
    const pools = c.pools ?? [];
    const requests = activeByCluster.get(c.key) ?? [];
    const watched = new Map<string, { pool?: NodePool; request?: NodepoolRequest; name: string }>();
    if (c.watchAll) for (const p of pools) watched.set(p.name, { pool: p, name: p.name });
    for (const r of requests) {
      const pool = pools.find((p) => p.id === r.nodepoolId);
      watched.set(r.nodepoolName, { pool, request: r, name: r.nodepoolName });
    }
    for (const { pool, request, name } of watched.values()) {
      const labels = { ...clusterLabels, nodepoolName: name, nodepoolId: pool?.id ?? request?.nodepoolId };
      const extra = { requestId: request?.id, clusterKey: c.key };
      const link: Annotations = request ? { requestLink: input.requestLink(request.id) } : {};
      if (!pool) {
        add('nodepool_missing', labels, { description: `node pool ${request?.nodepoolId} is no longer listed in cluster ${c.ref.clusterId}`, ...link }, extra);
        continue;
      }
      const base = { cloudState: pool.cloudState, nodes: nodeCounts(pool), ...link };
      if (pool.failed > 0) add('nodes_failed', labels, { description: `${pool.failed} of ${pool.total} nodes failed`, ...base }, extra);
      if ((pool.offline ?? 0) > 0) add('nodes_offline', labels, { description: `${pool.offline} of ${pool.total} nodes offline`, ...base }, extra);
      if (pool.serving < pool.desired) {
        add('under_capacity', labels, { description: `${pool.serving} of ${pool.desired} desired nodes serving`, ...base }, { ...extra, forMs: thresholds.underCapacityMinutes * 60_000 });
      }
      if (pool.state === 'scaling' || pool.state === 'removing' || pool.state === 'updating') {
        add('stuck_transition', labels, { description: `the pool has been ${pool.cloudState}`, ...base }, { ...extra, forMs: thresholds.stuckTransitionMinutes * 60_000 });
      }
    }
  }
  return out;
}
