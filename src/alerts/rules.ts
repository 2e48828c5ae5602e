/**
 * The alert rules. Each sweep turns what it saw (cluster listings, their failures, the
 * requests) into candidate alerts; a duration rule becomes an alert only once its
 * condition has held for its threshold. Counts and messages are annotations, never part of
 * an alert's identity.
 */
import { createHash } from 'node:crypto';
import { type ClusterListing, clusterKey } from '../cloud/cluster.js';
import { type NodePool, nodeCounts } from '../cloud/nodepool.js';
import type { RuleThresholds, Severity } from '../config.js';
import type { NodepoolRequest } from '../requests/model.js';
import { LIVE_STATES } from '../requests/state.js';
import type { AlertLabels, AlertRecord, AlertSubject, Annotations } from '../store/alerts.js';

export type RuleName =
  | 'creation_failed'
  | 'creation_timeout'
  | 'scale_failed'
  | 'scale_timeout'
  | 'delete_failed'
  | 'delete_timeout'
  | 'nodes_failed'
  | 'nodes_offline'
  | 'under_capacity'
  | 'stuck_transition'
  | 'nodepool_missing'
  | 'cluster_unreachable';

export const RULES: Record<RuleName, { severity: Severity; pool: boolean; summary: string }> = {
  creation_failed: { severity: 'critical', pool: false, summary: 'Node pool creation failed' },
  creation_timeout: { severity: 'critical', pool: false, summary: 'Node pool creation timed out' },
  scale_failed: { severity: 'critical', pool: false, summary: 'Node pool scaling failed' },
  scale_timeout: { severity: 'critical', pool: false, summary: 'Node pool scaling timed out' },
  delete_failed: { severity: 'critical', pool: false, summary: 'Node pool deletion failed' },
  delete_timeout: { severity: 'critical', pool: false, summary: 'Node pool deletion timed out' },
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
  nodepoolRequestId?: string;
  /** For duration rules: how long the condition must hold before the alert fires. */
  forMs: number;
  /** The cluster this alert belongs to (inhibition and resolution scope). */
  clusterKey: string;
  /** The rule's measure now, so that the worst value while it fires can be kept. */
  measure?: { value: number; worse: 'higher' | 'lower' };
  /** Cannot be told this sweep (an ENS pool whose nodes were not read): a firing alert stays as it is. */
  hold?: boolean;
}

export function fingerprintOf(rule: string, provider: string, clusterId: string, pool: string): string {
  return createHash('sha256').update(`${rule}\u0000${provider}\u0000${clusterId}\u0000${pool}`).digest('hex').slice(0, 24);
}

export interface EvaluationInput {
  now: Date;
  clusters: ClusterListing[];
  /** Active requests (their pools are watched) and recent final ones (creation rules). */
  requests: NodepoolRequest[];
  thresholds: RuleThresholds;
  requestLink: (id: string) => string;
}

/** What a pool rule says of a pool, firing or not: the same words at firing and at resolution. */
function poolDescription(rule: RuleName, p: NodePool): string {
  switch (rule) {
    case 'nodes_failed':
      return `${p.failed ?? 0} of ${p.total} nodes failed`;
    case 'nodes_offline':
      return `${p.offline ?? 0} of ${p.total} nodes offline`;
    case 'under_capacity':
      return `${p.serving} of ${p.desired} desired nodes serving`;
    case 'stuck_transition':
      return `the pool has been ${p.cloudState}`;
    default:
      return `node pool ${p.id} is listed (${p.cloudState})`;
  }
}

type ByName = {
  latest: Map<string, NodepoolRequest>;
  lastFinal: Map<string, NodepoolRequest>;
  lastActive: Map<string, NodepoolRequest>;
  labels: Map<string, Record<string, string>>;
};

/** The latest request for each pool name (provider/cluster/name), the latest active one, and the pool's labels. */
function latestByName(requests: NodepoolRequest[]): ByName {
  const latest = new Map<string, NodepoolRequest>();
  const lastFinal = new Map<string, NodepoolRequest>();
  const lastActive = new Map<string, NodepoolRequest>();
  const keep = (m: Map<string, NodepoolRequest>, k: string, r: NodepoolRequest) => {
    const prev = m.get(k);
    if (!prev || prev.id < r.id) m.set(k, r);
  };
  for (const r of requests) {
    const k = poolNameKey(r);
    keep(latest, k, r);
    if (r.state === 'failed' || r.state === 'timed_out' || r.state === 'active' || r.state === 'deleted') keep(lastFinal, k, r);
    if (r.state === 'active') keep(lastActive, k, r);
  }
  // A pool that a later delete of ours is removing, or removed, is watched no more (a failed delete gives it back).
  for (const [k, r] of latest) {
    const a = lastActive.get(k);
    if (
      a &&
      r.operation === 'delete' &&
      r.id > a.id &&
      (r.state === 'applying' || r.state === 'deleted' || (LIVE_STATES.includes(r.state) && r.createStartedAt))
    )
      lastActive.delete(k);
  }
  // A pool's labels: those of every request for its name, a later one's over an earlier one's (a
  // scale sent without labels keeps the team its creation named).
  const labels = new Map<string, Record<string, string>>();
  for (const r of requests.filter((q) => q.labels).sort((a, b) => (a.id < b.id ? -1 : 1))) {
    labels.set(poolNameKey(r), { ...labels.get(poolNameKey(r)), ...r.labels });
  }
  return { latest, lastFinal, lastActive, labels };
}

/** The rule a failed or timed-out request fires, by its operation. */
function outcomeRule(r: Pick<NodepoolRequest, 'operation' | 'state'>): RuleName {
  const op = r.operation === 'scale' ? 'scale' : r.operation === 'delete' ? 'delete' : 'creation';
  return `${op}_${r.state === 'failed' ? 'failed' : 'timeout'}`;
}

function poolNameKey(r: { provider: string; clusterId: string; nodepoolName: string }): string {
  return `${r.provider}/${r.clusterId}/${r.nodepoolName}`;
}

/**
 * Whether a failed creation should alert, and how loudly. A name that is already taken is the
 * caller's mistake, not an incident: a warning, and nothing at all when the pool holding the
 * name is one this system created (its own alerts say whether it is healthy).
 */
function creationSeverity(r: NodepoolRequest): Severity | undefined {
  if (r.lastError?.code !== 'NodePoolAlreadyExists') return RULES[outcomeRule(r)].severity;
  return r.lastError.existing?.nodepoolRequestId ? undefined : 'warning';
}

export function evaluate(input: EvaluationInput): Candidate[] {
  const { now, thresholds } = input;
  const out: Candidate[] = [];
  const add = (
    rule: RuleName,
    labels: AlertSubject,
    annotations: Annotations,
    extra: { nodepoolRequestId?: string; forMs?: number; clusterKey: string; severity?: Severity; measure?: Candidate['measure']; hold?: boolean },
  ) => {
    const severity = extra.severity ?? RULES[rule].severity;
    out.push({
      // Pool alerts belong to the pool (its id); creation and cluster alerts to the name they were asked
      // for. As in Alertmanager, where severity is a label, another severity is another alert.
      fingerprint: fingerprintOf(
        rule,
        labels.provider,
        labels.clusterId,
        ((RULES[rule].pool ? labels.nodepoolId : undefined) ?? labels.nodepoolName ?? '') + (severity === RULES[rule].severity ? '' : `\u0000${severity}`),
      ),
      rule,
      severity,
      labels: { rule, severity, ...labels },
      annotations: { summary: RULES[rule].summary, ...annotations },
      nodepoolRequestId: extra.nodepoolRequestId,
      forMs: extra.forMs ?? 0,
      clusterKey: extra.clusterKey,
      measure: extra.measure,
      ...(extra.hold ? { hold: true } : {}),
    });
  };

  // Creation outcomes: the latest request for each pool decides; while a retry is still on its
  // way, the last failure stands (a retry is not yet a success).
  const { latest, lastFinal, lastActive, labels: labelsByName } = latestByName(input.requests);
  const horizon = now.getTime() - thresholds.creationAlertHours * 3600_000;
  for (const [k, r0] of latest) {
    // A delete under way speaks for the pool as an active request does: earlier failures stay quiet.
    const deleting = r0.operation === 'delete' && LIVE_STATES.includes(r0.state);
    const r =
      r0.state === 'failed' || r0.state === 'timed_out' ? r0 : r0.state === 'active' || r0.state === 'deleted' || deleting ? undefined : lastFinal.get(k);
    if (!r || (r.state !== 'failed' && r.state !== 'timed_out') || r.updatedAt.getTime() < horizon) continue;
    const severity = creationSeverity(r);
    if (!severity) continue;
    const rule = outcomeRule(r);
    add(
      rule,
      { ...labelsByName.get(k), provider: r.provider, regionId: r.regionId, clusterId: r.clusterId, nodepoolName: r.nodepoolName, nodepoolId: r.nodepoolId },
      {
        description: r.lastError ? `${r.lastError.code}: ${r.lastError.message}` : rule,
        errorCode: r.lastError?.code ?? null,
        errorMessage: r.lastError?.message ?? null,
        cloudRequestId: r.lastError?.requestId ?? null,
        ...observedAnnotations(r),
        since: r.updatedAt.toISOString(),
        requestLink: input.requestLink(r.id),
      },
      { nodepoolRequestId: r.id, clusterKey: clusterKey(r), severity },
    );
  }

  // Pools: every pool of an active request (the latest active request for a name: a later pool
  // of that name replaces an earlier one), and every pool of configured clusters. Each is
  // watched by its id, whatever later requests for its name did.
  const activeByCluster = new Map<string, NodepoolRequest[]>();
  for (const r of lastActive.values()) {
    if (!r.nodepoolId) continue;
    const k = clusterKey(r);
    activeByCluster.set(k, [...(activeByCluster.get(k) ?? []), r]);
  }
  for (const c of input.clusters) {
    const clusterLabels = {
      provider: c.cluster.provider,
      regionId: c.cluster.provider === 'ack' ? c.cluster.regionId : undefined,
      clusterId: c.cluster.clusterId,
    };
    if (c.error) {
      if (c.consecutiveFailures >= thresholds.unreachableSweeps) {
        add(
          'cluster_unreachable',
          clusterLabels,
          {
            description: `${c.consecutiveFailures} sweeps in a row could not list the cluster: ${c.error.code}: ${c.error.message}`,
            errorCode: c.error.code,
            errorMessage: c.error.message,
            cloudRequestId: c.error.requestId ?? null,
            failedSweeps: c.consecutiveFailures,
          },
          { clusterKey: c.key, measure: { value: c.consecutiveFailures, worse: 'higher' } },
        );
      }
      continue;
    }
    const pools = c.pools ?? [];
    const watched = new Map<string, { pool?: NodePool; request?: NodepoolRequest; name: string; id: string }>();
    if (c.watchAll) for (const p of pools) watched.set(p.id, { pool: p, name: p.name, id: p.id });
    for (const r of activeByCluster.get(c.key) ?? []) {
      const pool = pools.find((p) => p.id === r.nodepoolId);
      watched.set(r.nodepoolId!, { pool, request: r, name: pool?.name ?? r.nodepoolName, id: r.nodepoolId! });
    }
    for (const { pool, request, name, id } of watched.values()) {
      // The cluster's configured labels, then the labels of the request that made the pool; the alert's own last.
      const labels = { ...c.labels, ...(request ? labelsByName.get(poolNameKey(request)) : undefined), ...clusterLabels, nodepoolName: name, nodepoolId: id };
      const extra = { nodepoolRequestId: request?.id, clusterKey: c.key };
      const link: Annotations = request ? { requestLink: input.requestLink(request.id) } : {};
      if (!pool) {
        add('nodepool_missing', labels, { description: `node pool ${id} is no longer listed in cluster ${c.cluster.clusterId}`, ...link }, extra);
        continue;
      }
      const base = { cloudState: pool.cloudState, nodes: { ...nodeCounts(pool) }, ...link };
      const fire = (rule: RuleName, measure: Candidate['measure'], forMs?: number) =>
        add(rule, labels, { description: poolDescription(rule, pool), ...base }, { ...extra, measure, forMs });
      if ((pool.failed ?? 0) > 0) {
        const ids: Annotations = pool.failedInstanceIds?.length ? { failedInstances: pool.failedInstanceIds.join(', ') } : {};
        add(
          'nodes_failed',
          labels,
          { description: poolDescription('nodes_failed', pool), ...base, ...ids },
          { ...extra, measure: { value: pool.failed ?? 0, worse: 'higher' } },
        );
      } else if (pool.failed === null && pool.serving < pool.desired) {
        // ENS, nodes not read this sweep: whether nodes failed is unknown, so nodes_failed neither fires nor resolves.
        add('nodes_failed', labels, {}, { ...extra, hold: true });
      }
      if ((pool.offline ?? 0) > 0) fire('nodes_offline', { value: pool.offline ?? 0, worse: 'higher' });
      if (pool.serving < pool.desired) fire('under_capacity', { value: pool.serving, worse: 'lower' }, thresholds.underCapacityMinutes * 60_000);
      if (pool.state === 'scaling' || pool.state === 'removing' || pool.state === 'updating') {
        fire('stuck_transition', undefined, thresholds.stuckTransitionMinutes * 60_000);
      }
    }
  }
  return out;
}

function observedAnnotations(r: NodepoolRequest): Annotations {
  if (!r.observed) return { cloudState: null };
  return { cloudState: r.observed.cloudState, nodes: { ...nodeCounts(r.observed) } };
}

/**
 * What is true of a resolving alert's subject now, in the words it fired with, so that a
 * resolved message shows the values at resolution rather than repeat the firing ones.
 */
export function resolutionAnnotations(a: ResolvingAlert, input: ResolutionInput): Annotations {
  return resolverFor(input)(a);
}

type ResolvingAlert = Pick<AlertRecord, 'rule' | 'labels' | 'nodepoolRequestId' | 'annotations'>;
type ResolutionInput = { now: Date; clusters: ClusterListing[]; requests: NodepoolRequest[] };

/**
 * resolutionAnnotations for many alerts over the same listings and requests: the requests are
 * indexed by pool name once, not once an alert (a sweep's batch holds about a thousand).
 */
export function resolverFor(input: ResolutionInput): (a: ResolvingAlert) => Annotations {
  let byName: ByName | undefined;
  return (a) => resolveOne(a, input, () => (byName ??= latestByName(input.requests)));
}

function resolveOne(a: ResolvingAlert, input: ResolutionInput, byName: () => ByName): Annotations {
  const rule = a.rule as RuleName;
  const l = a.labels;
  // The error belonged to the firing; what it said stays beside the resolution as its worst.
  const cleared: Annotations = {
    errorCode: null,
    errorMessage: null,
    cloudRequestId: null,
    peakDescription: a.annotations.peakDescription ?? a.annotations.description ?? null,
  };
  if (rule === 'cluster_unreachable') return { ...cleared, description: `the cluster was listed again at ${input.now.toISOString()}` };
  if (!RULES[rule]?.pool) {
    const r = byName().latest.get(poolNameKey({ provider: l.provider, clusterId: l.clusterId, nodepoolName: l.nodepoolName ?? '' }));
    if (!r) return { ...cleared, description: 'the request is past the creation-alert window' };
    const recovered = r.id === a.nodepoolRequestId && r.state === 'active';
    return {
      ...cleared,
      description: recovered
        ? `request ${r.id} recovered: its pool became ${r.operation === 'scale' ? 'active at its new size' : 'active'} after the deadline`
        : `the latest request for the pool, ${r.id}, is ${r.state}`,
      ...observedAnnotations(r),
    };
  }
  const c = input.clusters.find((o) => o.key === clusterKey(l));
  const pool = c?.pools?.find((p) => (l.nodepoolId ? p.id === l.nodepoolId : p.name === l.nodepoolName));
  if (!pool) return { description: `node pool ${l.nodepoolId ?? l.nodepoolName} is no longer watched`, cloudState: null, nodes: null };
  return {
    description: rule === 'nodepool_missing' ? `node pool ${pool.id} is listed again (${pool.cloudState})` : poolDescription(rule, pool),
    cloudState: pool.cloudState,
    nodes: { ...nodeCounts(pool) },
  };
}
