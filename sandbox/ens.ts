/**
 * ENS 2017-11-10 (RPC) node-pool actions. Parameters arrive as query or form values; the
 * nested objects are JSON strings, as the generated SDKs send them.
 */
import type { RpcContext } from './context.js';
import { errors } from './errors.js';
import type { Pool, World } from './world.js';

type Json = Record<string, unknown>;

export const ENS_VERSION = '2017-11-10';
const SYSTEM_DISK_CATEGORIES = ['local_ssd', 'local_hdd', 'cloud_efficiency', 'cloud_ssd'];
const CHARGE_TYPES = ['PrePaid', 'PostPaid'];
const MAX_PAGE_SIZE = 100;

export function jsonParam(params: Record<string, string>, name: string, required: boolean): Json | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') {
    if (required) throw errors.missingParameter(name);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw errors.invalidParameter(name, 'It must be a JSON object.');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw errors.invalidParameter(name, 'It must be a JSON object.');
  return value as Json;
}

function requireString(obj: Json, path: string, key: string): string {
  const v = obj[key];
  if (v === undefined || v === null || v === '') throw errors.missingParameter(`${path}.${key}`);
  if (typeof v !== 'string') throw errors.invalidParameter(`${path}.${key}`, 'It must be a string.');
  return v;
}

function optionalString(obj: Json, path: string, key: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw errors.invalidParameter(`${path}.${key}`, 'It must be a string.');
  return v;
}

export function requireStringArray(obj: Json, path: string, key: string): string[] {
  const v = obj[key];
  if (v === undefined || v === null) throw errors.missingParameter(`${path}.${key}`);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
    throw errors.invalidParameter(`${path}.${key}`, 'It must be an array of non-empty strings.');
  }
  if (v.length === 0) throw errors.invalidParameter(`${path}.${key}`, 'It must not be empty.');
  return v as string[];
}

function optionalInteger(obj: Json, path: string, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw errors.invalidParameter(`${path}.${key}`, 'It must be an integer.');
  return v;
}

function checkDiskSize(size: number | undefined, field: string): void {
  if (size !== undefined && (size < 20 || size % 10 !== 0)) {
    throw errors.invalidParameter(field, 'The disk size must be at least 20 GB and a multiple of 10.');
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function createClusterNodePool(ctx: RpcContext): Json {
  const { params, world } = ctx;
  const clusterId = params.ClusterId;
  if (!clusterId) throw errors.missingParameter('ClusterId');
  const info = jsonParam(params, 'NodepoolInfo', true)!;
  const name = requireString(info, 'NodepoolInfo', 'Name');
  const sg = jsonParam(params, 'ScalingGroup', true)!;
  requireString(sg, 'ScalingGroup', 'ImageId');
  requireStringArray(sg, 'ScalingGroup', 'InstanceTypes');
  requireStringArray(sg, 'ScalingGroup', 'VswitchIds');
  const desired = optionalInteger(sg, 'ScalingGroup', 'DesiredSize') ?? 0;
  if (desired < 0) throw errors.invalidParameter('ScalingGroup.DesiredSize', 'It must not be negative.');
  checkDiskSize(optionalInteger(sg, 'ScalingGroup', 'SystemDiskSize'), 'ScalingGroup.SystemDiskSize');
  const category = optionalString(sg, 'ScalingGroup', 'SystemDiskCategory');
  if (category !== undefined && !SYSTEM_DISK_CATEGORIES.includes(category)) {
    throw errors.invalidParameter('ScalingGroup.SystemDiskCategory', `Valid values: ${SYSTEM_DISK_CATEGORIES.join(', ')}.`);
  }
  const charge = optionalString(sg, 'ScalingGroup', 'InstanceChargeType');
  if (charge !== undefined && !CHARGE_TYPES.includes(charge)) {
    throw errors.invalidParameter('ScalingGroup.InstanceChargeType', `Valid values: ${CHARGE_TYPES.join(', ')}.`);
  }
  if (sg.DataDisks !== undefined) {
    if (!Array.isArray(sg.DataDisks)) throw errors.invalidParameter('ScalingGroup.DataDisks', 'It must be an array.');
    sg.DataDisks.forEach((disk: unknown, i: number) => {
      if (!disk || typeof disk !== 'object') throw errors.invalidParameter(`ScalingGroup.DataDisks.${i + 1}`, 'It must be an object.');
      optionalString(disk as Json, `ScalingGroup.DataDisks.${i + 1}`, 'Category');
      checkDiskSize(optionalInteger(disk as Json, `ScalingGroup.DataDisks.${i + 1}`, 'Size'), `ScalingGroup.DataDisks.${i + 1}.Size`);
    });
  }
  const keyPair = optionalString(sg, 'ScalingGroup', 'KeyPairName');
  const password = optionalString(sg, 'ScalingGroup', 'Password');
  if (!keyPair && !password) {
    throw errors.invalidParameter('ScalingGroup.KeyPairName', 'Either KeyPairName or Password must be specified.');
  }
  const k8s = jsonParam(params, 'KubernetesConfig', false);
  for (const key of ['PreUserData', 'UserData']) {
    const v = k8s ? optionalString(k8s, 'KubernetesConfig', key) : undefined;
    if (v !== undefined && !BASE64.test(v)) throw errors.invalidParameter(`KubernetesConfig.${key}`, 'It must be Base64-encoded.');
  }

  const cluster = world.clusters.get(clusterId);
  if (cluster?.provider !== 'ens') throw errors.ensClusterNotFound(clusterId);
  if (cluster.faults.busy) throw errors.ensClusterBusy();

  const { Password: _dropped, ...scalingGroup } = sg;
  const pool = world.addPool({
    clusterId,
    provider: 'ens',
    name,
    desired,
    isDefault: false,
    hasPassword: Boolean(password),
    spec: { NodepoolInfo: { Name: name }, ScalingGroup: scalingGroup, ...(k8s ? { KubernetesConfig: k8s } : {}) },
  });
  return { Nodepool: ensPoolView(world, pool, 'create'), RequestId: ctx.requestId };
}

function describeClusterNodePools(ctx: RpcContext): Json {
  const { params, world } = ctx;
  const clusterId = params.ClusterId;
  if (!clusterId) throw errors.missingParameter('ClusterId');
  const pageNumber = pageParam(params, 'PageNumber', 1, Number.MAX_SAFE_INTEGER);
  const pageSize = pageParam(params, 'PageSize', 10, MAX_PAGE_SIZE);
  const cluster = world.clusters.get(clusterId);
  if (cluster?.provider !== 'ens') throw errors.ensClusterNotFound(clusterId);
  const pools = world.listedPools(clusterId);
  const page = pools.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return {
    NodePools: page.map((p) => ensPoolView(world, p, 'list')),
    Page: { PageNumber: pageNumber, PageSize: pageSize, TotalCount: pools.length },
    RequestId: ctx.requestId,
  };
}

function pageParam(params: Record<string, string>, name: string, fallback: number, max: number): number {
  const raw = params[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw errors.invalidParameter(name, `It must be an integer from 1 to ${max}.`);
  return n;
}

/**
 * One ENS node pool, with exactly the keys of the official ENS SDK's model (see
 * test/fixtures/ens-2017-11-10.models.json): a value the request did not give is empty. The
 * create answer also has `Status.FailedNodes`, as the CreateClusterNodePool reference shows;
 * the listing's model has no such key.
 */
function ensPoolView(world: World, pool: Pool, answer: 'create' | 'list'): Json {
  const cluster = world.clusters.get(pool.clusterId);
  const s = world.status(pool);
  const sg = (pool.spec.ScalingGroup ?? {}) as Json;
  const k8s = (pool.spec.KubernetesConfig ?? {}) as Json;
  const disks = Array.isArray(sg.DataDisks) ? (sg.DataDisks as Json[]) : [];
  return {
    ClusterId: pool.clusterId,
    NodepoolInfo: { Name: pool.name, EnsRegionId: cluster?.regionId ?? '', NodepoolId: pool.id },
    ScalingGroup: {
      DataDisks: disks.map((d) => ({ Category: d.Category ?? '', Size: d.Size ?? 0 })),
      ImageId: sg.ImageId ?? '',
      InstanceChargeType: sg.InstanceChargeType ?? '',
      InstanceTypes: sg.InstanceTypes ?? [],
      KeyPairName: sg.KeyPairName ?? '',
      Password: pool.hasPassword ? '**********' : '',
      SystemDiskCategory: sg.SystemDiskCategory ?? '',
      SystemDiskSize: sg.SystemDiskSize ?? 0,
      VswitchIds: sg.VswitchIds ?? [],
    },
    KubernetesConfig: { PreUserData: k8s.PreUserData ?? '', UserData: k8s.UserData ?? '' },
    Status: {
      // A delete removes the pool's nodes before the pool goes: ENS documents no word of its own for it (a guess).
      State: s.state === 'removing' || s.state === 'deleting' ? 'removing_nodes' : s.state,
      TotalNodes: s.total,
      DesiredNodes: s.desired,
      ServingNodes: s.serving,
      // Nodes that failed are still initial until their boot time has passed (see World.nodes).
      InitialNodes: s.initial + (world.simElapsed(pool) >= world.timing.bootMs ? 0 : s.failed),
      RemovingNodes: s.removing,
      ...(answer === 'create' ? { FailedNodes: s.failed } : {}),
    },
  };
}

/**
 * DescribeClusterNodes: the nodes of one node pool, paginated. A node's State is `initial`
 * (being created), `running` or `removing` (its API reference), or `failed` (the state its
 * DeleteClusterNodes reference names); the items have exactly the keys of the official SDK's model.
 */
function describeClusterNodes(ctx: RpcContext): Json {
  const { params, world } = ctx;
  const clusterId = params.ClusterId;
  if (!clusterId) throw errors.missingParameter('ClusterId');
  const nodepoolId = params.NodepoolId;
  if (!nodepoolId) throw errors.missingParameter('NodepoolId');
  const pageNumber = pageParam(params, 'PageNumber', 1, Number.MAX_SAFE_INTEGER);
  const pageSize = pageParam(params, 'PageSize', 10, MAX_PAGE_SIZE);
  const cluster = world.clusters.get(clusterId);
  if (cluster?.provider !== 'ens') throw errors.ensClusterNotFound(clusterId);
  const pool = world.listedPools(clusterId).find((p) => p.id === nodepoolId);
  const sg = (pool?.spec.ScalingGroup ?? {}) as Json;
  const nodes = pool ? world.nodes(pool) : [];
  return {
    Nodes: nodes.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map((n) => ({
      ClusterId: clusterId,
      EnsRegionId: cluster.regionId,
      ImageId: sg.ImageId ?? '',
      InstanceId: n.instanceId,
      IpAddress: [],
      NodepoolId: nodepoolId,
      PayType: sg.InstanceChargeType ?? '',
      State: n.state,
    })),
    Page: { PageNumber: pageNumber, PageSize: pageSize, TotalCount: nodes.length },
    RequestId: ctx.requestId,
  };
}

export const ensActions: Record<string, (ctx: RpcContext) => Json> = {
  CreateClusterNodePool: createClusterNodePool,
  DescribeClusterNodePools: describeClusterNodePools,
  DescribeClusterNodes: describeClusterNodes,
};
