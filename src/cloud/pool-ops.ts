/**
 * The write calls of a pool's life after its creation, as the official SDKs send them:
 * - ENS scale-out: ScaleClusterNodePool, `Body={"Count":N}` with N the new node count (the
 *   reference allows only N above the current count); ENS scale-in: DeleteClusterNodes with
 *   the instances to remove and `ReleaseNode=true`; ENS delete: DeleteClusterNodePool.
 * - ACK scale, either way: ModifyClusterNodePool (PUT) with `scaling_group.desired_size`, an
 *   absolute size; ACK delete: DeleteClusterNodepool (DELETE) with `force=true` once our own
 *   guard rails have let it through (ACK refuses a pool with nodes without it).
 * `operationCall` says exactly what would be sent (a dry run shows it); `runOperation` sends it.
 */
import type { CloudClient } from './client.js';
import type { Cluster } from './cluster.js';
import type { EnsNode, NodePool } from './nodepool.js';
import type { ApiSpec } from './transport.js';
import type { Budget } from './types.js';

const ACK_VERSION = '2015-12-15';
const ENS_VERSION = '2017-11-10';

export interface OperationCall {
  spec: ApiSpec;
  query?: Record<string, string>;
  body?: unknown;
}

const ensCall = (action: string, query: Record<string, string>): OperationCall => ({
  spec: { action, version: ENS_VERSION, style: 'RPC', method: 'POST', pathname: '/', reqBodyType: 'formData', bodyType: 'json' },
  query,
});

function ackPoolCall(ref: Cluster, poolId: string, action: string, method: ApiSpec['method'], rest: Omit<OperationCall, 'spec'>): OperationCall {
  return {
    spec: {
      action,
      version: ACK_VERSION,
      style: 'ROA',
      method,
      pathname: `/clusters/${encodeURIComponent(ref.clusterId)}/nodepools/${encodeURIComponent(poolId)}`,
      reqBodyType: 'json',
      bodyType: 'json',
    },
    ...rest,
  };
}

/**
 * ENS scale-in removes named instances: the failed ones first, then those still coming up,
 * then the newest serving ones (the listing's last), never one already being removed.
 */
function instancesToRemove(nodes: EnsNode[], count: number): string[] {
  const rank = (n: EnsNode) => (n.state === 'failed' ? 0 : n.state === 'initial' ? 1 : 2);
  const candidates = nodes
    .map((n, i) => ({ n, i }))
    .filter(({ n }) => n.state !== 'removing')
    .sort((a, b) => rank(a.n) - rank(b.n) || b.i - a.i);
  return candidates.slice(0, count).map(({ n }) => n.id);
}

/** The exact call that scales `pool` to `target` nodes, or deletes it. ENS scale-in needs the pool's nodes. */
export function operationCall(ref: Cluster, pool: NodePool, op: { kind: 'scale'; target: number; nodes?: EnsNode[] } | { kind: 'delete' }): OperationCall {
  if (op.kind === 'delete') {
    if (ref.provider === 'ack') return ackPoolCall(ref, pool.id, 'DeleteClusterNodepool', 'DELETE', { query: { force: 'true' } });
    return ensCall('DeleteClusterNodePool', { ClusterId: ref.clusterId, NodepoolId: pool.id });
  }
  if (ref.provider === 'ack') return ackPoolCall(ref, pool.id, 'ModifyClusterNodePool', 'PUT', { body: { scaling_group: { desired_size: op.target } } });
  if (op.target > pool.desired)
    return ensCall('ScaleClusterNodePool', { ClusterId: ref.clusterId, NodepoolId: pool.id, Body: JSON.stringify({ Count: op.target }) });
  const nodes = instancesToRemove(op.nodes ?? [], pool.desired - op.target);
  return ensCall('DeleteClusterNodes', { ClusterId: ref.clusterId, Body: JSON.stringify({ Nodes: nodes }), ReleaseNode: 'true' });
}

/** Sends the call once (see CloudClient.write): its request id and, on ACK, its task. */
export async function runOperation(cloud: CloudClient, ref: Cluster, call: OperationCall, budget: Budget): Promise<{ requestId?: string; taskId?: string }> {
  const body = await cloud.write<Record<string, unknown>>(ref, call.spec, { query: call.query, body: call.body }, budget);
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return { requestId: str(body.RequestId) ?? str(body.request_id), taskId: str(body.task_id) };
}
