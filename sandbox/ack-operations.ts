/**
 * ACK (CS 2015-12-15) node-pool operations after the creation, on the pool's own path
 * `/clusters/{ClusterId}/nodepools/{NodepoolId}`, with the answers of the official SDK's models
 * (@alicloud/cs20151215 7.2.0):
 * - ModifyClusterNodePool (PUT): `scaling_group.desired_size` is the pool's new size, up or
 *   down (the "Scale a node pool" reference). Answers {nodepool_id, request_id, task_id}.
 * - ScaleClusterNodePool (POST): `count` is the number of nodes to add, at most 500 a call.
 *   Answers {task_id} alone.
 * - DeleteClusterNodepool (DELETE, `force` in the query): answers {request_id, task_id}. The
 *   reference says a pool that still has nodes is refused without `force`; its error code is
 *   not published, so the emulator answers ACK's generic InvalidParameter (a guess).
 * Each runs as one operation of the cluster, refused while another runs (the busy rule of
 * world.ts). Task types: `nodepool_update` for a modify (an event type ACK publishes) and
 * `nodepool_scaleout`/`nodepool_delete` (the task types Alibaba's ACK MCP server lists).
 */

import { ackModel, shapeAs } from './ack-model.js';
import type { RoaContext } from './context.js';
import { errors } from './errors.js';
import type { Pool } from './world.js';

type Json = Record<string, unknown>;
const MAX_SCALE_OUT = 500;

function poolFor(ctx: RoaContext, clusterId: string, poolId: string): Pool {
  const cluster = ctx.world.clusters.get(clusterId);
  if (cluster?.provider !== 'ack') throw errors.ackClusterNotFound(clusterId);
  const pool = ctx.world.listedPools(clusterId).find((p) => p.id === poolId);
  if (!pool) throw errors.ackNodePoolNotFound(poolId);
  const busy = ctx.world.busyState(clusterId);
  if (busy) throw errors.ackClusterBusy(busy);
  return pool;
}

function nonNegativeInteger(v: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw errors.ackInvalidParameter(`${field} must be an integer from 0 to ${max}`);
  return v;
}

function modifyNodePool(ctx: RoaContext, clusterId: string, poolId: string): Json {
  const body = ctx.body && typeof ctx.body === 'object' && !Array.isArray(ctx.body) ? (ctx.body as Json) : undefined;
  if (!body) throw errors.ackInvalidParameter('request body must be a JSON object');
  const sg = body.scaling_group as Json | undefined;
  const desired = sg?.desired_size === undefined ? undefined : nonNegativeInteger(sg.desired_size, 'scaling_group.desired_size');
  const pool = poolFor(ctx, clusterId, poolId);
  const wants = ctx.world.status(pool).desired;
  if (desired !== undefined && desired > wants + MAX_SCALE_OUT) {
    throw errors.ackInvalidParameter(`scaling_group.desired_size may add at most ${MAX_SCALE_OUT} nodes at a time`);
  }
  const op = ctx.world.startOperation(pool, 'scale', desired ?? wants, 'nodepool_update');
  return shapeAs(ackModel('ModifyClusterNodePoolResponseBody'), { nodepool_id: pool.id, request_id: ctx.requestId, task_id: op.taskId });
}

function scaleOutNodePool(ctx: RoaContext, clusterId: string, poolId: string): Json {
  const count = nonNegativeInteger((ctx.body as Json | undefined)?.count, 'count', MAX_SCALE_OUT);
  const pool = poolFor(ctx, clusterId, poolId);
  const op = ctx.world.startOperation(pool, 'scale', ctx.world.status(pool).desired + count, 'nodepool_scaleout');
  return shapeAs(ackModel('ScaleClusterNodePoolResponseBody'), { task_id: op.taskId });
}

function deleteNodePool(ctx: RoaContext, clusterId: string, poolId: string): Json {
  const pool = poolFor(ctx, clusterId, poolId);
  if (ctx.query.force !== 'true' && ctx.world.status(pool).total > 0) {
    throw errors.ackInvalidParameter(`node pool ${poolId} still has nodes: delete it with force`);
  }
  const op = ctx.world.startOperation(pool, 'delete', 0, 'nodepool_delete');
  return shapeAs(ackModel('DeleteClusterNodepoolResponseBody'), { request_id: ctx.requestId, task_id: op.taskId });
}

/** The operations on one pool's path, by method. */
export function routeAckPool(ctx: RoaContext, clusterId: string, poolId: string): { action: string; run: () => Json } | undefined {
  if (ctx.method === 'PUT') return { action: 'ModifyClusterNodePool', run: () => modifyNodePool(ctx, clusterId, poolId) };
  if (ctx.method === 'POST') return { action: 'ScaleClusterNodePool', run: () => scaleOutNodePool(ctx, clusterId, poolId) };
  if (ctx.method === 'DELETE') return { action: 'DeleteClusterNodepool', run: () => deleteNodePool(ctx, clusterId, poolId) };
  return undefined;
}
