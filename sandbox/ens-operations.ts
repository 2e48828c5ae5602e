/**
 * ENS 2017-11-10 node-pool operations after the creation, with the request and answer shapes
 * of the official generated SDK (aliyun/alibabacloud-go-sdk, ens-20171110 v12.1.3:
 * scale_cluster_node_pool, delete_cluster_nodes and delete_cluster_node_pool request and
 * response models) and the API references:
 * - ScaleClusterNodePool: ClusterId, NodepoolId and Body, a JSON string {"Count": N}; N is the
 *   pool's new node count and must be greater than its current one (the reference: scale-out
 *   only). Answers {RequestId} alone: no task.
 * - DeleteClusterNodes (the way in): ClusterId, Body {"Nodes": [instance ids]}, ReleaseNode.
 *   Answers {RequestId}.
 * - DeleteClusterNodePool: ClusterId, NodepoolId. Answers {RequestId}.
 * The references publish only `400 BadRequest "Request param error."` as an error of these
 * calls; it is what the emulator answers for an unknown pool or node, and a Count that is not
 * greater than the current size (the reference is silent on which error that gets: a guess).
 * A pool in the middle of another operation is refused as the busy cluster is (a guess too).
 * Which nodes a scale-in removes is not modelled: the pool loses as many as were named.
 */
import type { RpcContext } from './context.js';
import { jsonParam, requireStringArray } from './ens.js';
import { ApiError, errors } from './errors.js';
import type { Pool } from './world.js';

type Json = Record<string, unknown>;

const badRequest = () => new ApiError(400, 'BadRequest', 'Request param error.');

function poolOf(ctx: RpcContext, nodepoolId: string | undefined): Pool {
  const { params, world } = ctx;
  const clusterId = params.ClusterId;
  if (!clusterId) throw errors.missingParameter('ClusterId');
  const cluster = world.clusters.get(clusterId);
  if (cluster?.provider !== 'ens') throw errors.ensClusterNotFound(clusterId);
  if (nodepoolId === undefined) throw errors.missingParameter('NodepoolId');
  const pool = world.listedPools(clusterId).find((p) => p.id === nodepoolId);
  if (!pool) throw badRequest();
  if (cluster.faults.busy || world.status(pool).state !== 'active') throw errors.ensClusterBusy();
  return pool;
}

function scaleClusterNodePool(ctx: RpcContext): Json {
  const body = jsonParam(ctx.params, 'Body', true)!;
  const count = body.Count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) throw errors.invalidParameter('Body.Count', 'It must be a non-negative integer.');
  const pool = poolOf(ctx, ctx.params.NodepoolId);
  if (count <= ctx.world.status(pool).desired) throw badRequest();
  ctx.world.startOperation(pool, 'scale', count);
  return { RequestId: ctx.requestId };
}

function deleteClusterNodes(ctx: RpcContext): Json {
  const body = jsonParam(ctx.params, 'Body', true)!;
  const nodes = requireStringArray(body, 'Body', 'Nodes');
  const clusterId = ctx.params.ClusterId;
  const owner = clusterId ? ctx.world.listedPools(clusterId).find((p) => ctx.world.nodes(p).some((n) => n.instanceId === nodes[0])) : undefined;
  const pool = poolOf(ctx, owner?.id ?? '');
  const own = new Set(ctx.world.nodes(pool).map((n) => n.instanceId));
  if (nodes.some((n) => !own.has(n)) || new Set(nodes).size !== nodes.length) throw badRequest();
  ctx.world.startOperation(pool, 'scale', ctx.world.status(pool).desired - nodes.length);
  return { RequestId: ctx.requestId };
}

function deleteClusterNodePool(ctx: RpcContext): Json {
  const pool = poolOf(ctx, ctx.params.NodepoolId);
  ctx.world.startOperation(pool, 'delete', 0);
  return { RequestId: ctx.requestId };
}

export const ensOperationActions: Record<string, (ctx: RpcContext) => Json> = {
  ScaleClusterNodePool: scaleClusterNodePool,
  DeleteClusterNodes: deleteClusterNodes,
  DeleteClusterNodePool: deleteClusterNodePool,
};
