/**
 * One node-pool model for both providers. ENS answers in PascalCase, ACK in snake_case;
 * both become the same fields. A count a provider does not report is null, not zero.
 */
export type Provider = 'ens' | 'ack';

/**
 * Normalised pool states. `failed` ends a creation; every state but `active` and `failed` is
 * pending, `unknown` (a word nobody documents) included: never taken for success.
 */
type NodePoolState = 'active' | 'initial' | 'scaling' | 'removing' | 'deleting' | 'updating' | 'failed' | 'unknown';

export interface NodePool {
  provider: Provider;
  clusterId: string;
  id: string;
  name: string;
  /** Normalised state; `cloudState` keeps the provider's own word. */
  state: NodePoolState;
  cloudState: string;
  desired: number;
  total: number;
  serving: number;
  /** ACK only; null for ENS, which does not report it. */
  healthy: number | null;
  initial: number;
  /** ACK reports it; ENS listings do not (null), so ENS failures are read from node states. */
  failed: number | null;
  /** ACK only; null for ENS, which does not report it. */
  offline: number | null;
  removing: number;
  regionId?: string;
  isDefault?: boolean;
  /** ENS: the nodes that failed, from their states (set by the sweep when it walked them). */
  failedInstanceIds?: string[];
}

/** Up: active, nothing still coming up, and serving what was asked for. */
export function isUp(p: Pick<NodePool, 'state' | 'initial' | 'serving' | 'desired'>): boolean {
  return p.state === 'active' && p.initial === 0 && p.serving >= p.desired;
}

/** The node counts both providers report (null where one does not), in one place. */
export type NodeCounts = Pick<NodePool, 'desired' | 'total' | 'serving' | 'healthy' | 'initial' | 'failed' | 'offline' | 'removing'>;

export function nodeCounts(p: NodeCounts): NodeCounts {
  return {
    desired: p.desired,
    total: p.total,
    serving: p.serving,
    healthy: p.healthy,
    initial: p.initial,
    failed: p.failed,
    offline: p.offline,
    removing: p.removing,
  };
}

/**
 * The words the clouds report. ACK: `active`, `scaling`, `removing`, `deleting`, `updating`
 * (the status.state documentation of the official CS 2015-12-15 SDK models), and `initial`
 * and `failed`, which Terraform's alicloud provider waits on (pending and failure of a node
 * pool's creation). ENS: `active` (its reference's example), and `removing_nodes` as its
 * listings word it.
 */
const STATE_WORDS: Record<string, NodePoolState> = {
  active: 'active',
  initial: 'initial',
  scaling: 'scaling',
  removing: 'removing',
  removing_nodes: 'removing',
  deleting: 'deleting',
  updating: 'updating',
  failed: 'failed',
};

function normaliseState(s: unknown): NodePoolState {
  return STATE_WORDS[String(s ?? '').toLowerCase()] ?? 'unknown';
}

function num(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

function numOrNull(v: unknown): number | null {
  return v === undefined || v === null ? null : num(v);
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});

/** From an ENS `Nodepool` / `NodePools[]` element. */
export function fromEns(raw: unknown, clusterId?: string): NodePool {
  const p = obj(raw);
  const info = obj(p.NodepoolInfo);
  const st = obj(p.Status);
  return {
    provider: 'ens',
    clusterId: String(p.ClusterId ?? clusterId ?? ''),
    id: String(info.NodepoolId ?? ''),
    name: String(info.Name ?? ''),
    state: normaliseState(st.State),
    cloudState: String(st.State ?? ''),
    desired: num(st.DesiredNodes),
    total: num(st.TotalNodes),
    serving: num(st.ServingNodes),
    healthy: numOrNull(st.HealthyNodes),
    initial: num(st.InitialNodes),
    // DescribeClusterNodePools' Status has no FailedNodes (the official ENS SDK models); only the create answer does.
    failed: numOrNull(st.FailedNodes),
    offline: numOrNull(st.OfflineNodes),
    removing: num(st.RemovingNodes),
    regionId: typeof info.EnsRegionId === 'string' ? info.EnsRegionId : undefined,
  };
}

/** From an ACK `nodepools[]` element. */
export function fromAck(raw: unknown, clusterId: string): NodePool {
  const p = obj(raw);
  const info = obj(p.nodepool_info);
  const st = obj(p.status);
  const sg = obj(p.scaling_group);
  return {
    provider: 'ack',
    clusterId,
    id: String(info.nodepool_id ?? ''),
    name: String(info.name ?? ''),
    state: normaliseState(st.state),
    cloudState: String(st.state ?? ''),
    // ACK's status has no desired count; the scaling group carries it.
    desired: num(sg.desired_size ?? st.total_nodes),
    total: num(st.total_nodes),
    serving: num(st.serving_nodes),
    healthy: numOrNull(st.healthy_nodes),
    initial: num(st.initial_nodes),
    failed: num(st.failed_nodes),
    offline: numOrNull(st.offline_nodes),
    removing: num(st.removing_nodes),
    regionId: typeof info.region_id === 'string' ? info.region_id : undefined,
    isDefault: info.is_default === true,
  };
}

/** One node of an ENS node pool, from DescribeClusterNodes. */
export interface EnsNode {
  /** The instance id. */
  id: string;
  nodepoolId: string;
  /** As ENS words it: `initial`, `running`, `removing` are the documented ones. */
  state: string;
}

export function fromEnsNode(raw: unknown): EnsNode {
  const n = obj(raw);
  return { id: String(n.InstanceId ?? ''), nodepoolId: String(n.NodepoolId ?? ''), state: String(n.State ?? '') };
}
