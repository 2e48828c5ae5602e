/**
 * ACK (CS 2015-12-15, ROA) node-pool endpoints. Listings carry every field of the
 * DescribeClusterNodePools reference, with the request's values where it gave them.
 */
import { ACK_NODEPOOL_NAME, ACK_NODEPOOL_NAME_HINT } from '../src/requests/schema.js';
import { ackModel, shapeAs } from './ack-model.js';
import { routeAckPool } from './ack-operations.js';
import type { RoaContext } from './context.js';
import { errors } from './errors.js';
import { ackClusterDetail } from './region-calls.js';
import type { Pool, World } from './world.js';

type Json = Record<string, unknown>;

export const ACK_VERSION = '2015-12-15';

function asObject(v: unknown): Json {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

function iso(ms: number): string {
  // ACK prints local (+08:00) timestamps with sub-second digits.
  const d = new Date(ms + 8 * 3600_000);
  return d.toISOString().replace('Z', '+08:00');
}

function checkCreateBody(body: unknown): Json {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.ackInvalidParameter('request body must be a JSON object');
  const b = body as Json;
  const info = asObject(b.nodepool_info);
  if (typeof info.name !== 'string' || info.name === '') throw errors.ackInvalidParameter('nodepool_info.name is required');
  // The documented naming rule (see ACK_NODEPOOL_NAME): the cloud refuses other names.
  if (!ACK_NODEPOOL_NAME.test(info.name)) throw errors.ackInvalidParameter(`nodepool_info.name ${ACK_NODEPOOL_NAME_HINT}`);
  if (!b.scaling_group || typeof b.scaling_group !== 'object') throw errors.ackInvalidParameter('scaling_group is required');
  const sg = b.scaling_group as Json;
  for (const key of ['vswitch_ids', 'instance_types']) {
    const v = sg[key];
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || !x)) {
      throw errors.ackInvalidParameter(`scaling_group.${key} must be a non-empty array of strings`);
    }
  }
  if (sg.system_disk_size !== undefined) {
    const n = sg.system_disk_size;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 20 || n > 2048) {
      throw errors.ackInvalidParameter('scaling_group.system_disk_size must be an integer from 20 to 2048');
    }
  }
  if (sg.key_pair && sg.login_password) throw errors.ackInvalidParameter('scaling_group.key_pair and scaling_group.login_password are mutually exclusive');
  const desired = sg.desired_size ?? b.count;
  if (desired !== undefined && (typeof desired !== 'number' || !Number.isInteger(desired) || desired < 0)) {
    throw errors.ackInvalidParameter('scaling_group.desired_size must be a non-negative integer');
  }
  return b;
}

function createNodePool(ctx: RoaContext, clusterId: string): Json {
  const body = checkCreateBody(ctx.body);
  const cluster = ctx.world.clusters.get(clusterId);
  if (cluster?.provider !== 'ack') throw errors.ackClusterNotFound(clusterId);
  const name = String(asObject(body.nodepool_info).name);
  if (ctx.world.listedPools(clusterId).some((p) => p.name === name)) throw errors.ackNameExists(name, clusterId);
  const busy = ctx.world.busyState(clusterId);
  if (busy) throw errors.ackClusterBusy(busy);
  const sg = asObject(body.scaling_group);
  const { login_password: password, ...scalingGroup } = sg;
  const pool = ctx.world.addPool({
    clusterId,
    provider: 'ack',
    name,
    desired: Number(sg.desired_size ?? body.count ?? 0),
    isDefault: false,
    hasPassword: typeof password === 'string' && password.length > 0,
    spec: { ...body, scaling_group: scalingGroup },
  });
  return { nodepool_id: pool.id, request_id: ctx.requestId, task_id: pool.taskId };
}

function listNodePools(ctx: RoaContext, clusterId: string): Json {
  const cluster = ctx.world.clusters.get(clusterId);
  if (cluster?.provider !== 'ack') throw errors.ackClusterNotFound(clusterId);
  const name = ctx.query.NodepoolName;
  const pools = ctx.world.listedPools(clusterId).filter((p) => !name || p.name === name);
  return shapeAs(ackModel('DescribeClusterNodePoolsResponseBody'), { nodepools: pools.map((p) => ackPoolView(ctx.world, p)) });
}

function describeNodePool(ctx: RoaContext, clusterId: string, poolId: string): Json {
  const cluster = ctx.world.clusters.get(clusterId);
  if (cluster?.provider !== 'ack') throw errors.ackClusterNotFound(clusterId);
  const pool = ctx.world.listedPools(clusterId).find((p) => p.id === poolId);
  if (!pool) throw errors.ackNodePoolNotFound(poolId);
  return shapeAs(ackModel('DescribeClusterNodePoolDetailResponseBody'), ackPoolView(ctx.world, pool));
}

function describeTask(ctx: RoaContext, taskId: string): Json {
  const task = ctx.world.tasks.get(taskId);
  if (!task) throw errors.ackTaskNotFound(taskId);
  const view = ctx.world.taskView(task);
  return shapeAs(ackModel('DescribeTaskInfoResponseBody'), {
    task_id: task.id,
    cluster_id: task.clusterId,
    task_type: task.type,
    state: view.state,
    created: iso(task.createdAt),
    updated: iso(view.updatedAt),
    current_stage: view.state === 'running' ? 'ScaleOut' : '',
    target: { id: task.poolId, type: 'nodepool' },
    parameters: { nodepool_id: task.poolId },
    stages: [
      {
        state: view.state,
        start_time: iso(task.createdAt),
        end_time: view.state === 'running' ? '' : iso(view.updatedAt),
        message: view.error?.message ?? '',
        outputs: {},
      },
    ],
    events: [],
    task_result: [{ data: task.poolId, status: view.state }],
    outputs: {},
    ...(view.error ? { error: view.error } : {}),
  });
}

/** One ACK node pool as DescribeClusterNodePools returns it. */
function ackPoolView(world: World, pool: Pool): Json {
  const cluster = world.clusters.get(pool.clusterId);
  const s = world.status(pool);
  const spec = pool.spec;
  const info = asObject(spec.nodepool_info);
  const sg = asObject(spec.scaling_group);
  const k8s = asObject(spec.kubernetes_config);
  const management = asObject(spec.management);
  const autoScaling = asObject(spec.auto_scaling);
  const updated = Math.max(pool.createdAt, s.completedAt ?? 0);
  return {
    nodepool_info: {
      nodepool_id: pool.id,
      name: pool.name,
      type: info.type ?? 'ess',
      is_default: pool.isDefault,
      resource_group_id: info.resource_group_id ?? 'rg-acfmyvw3wjm0001',
      region_id: cluster?.regionId ?? '',
      created: iso(pool.createdAt),
      updated: iso(updated),
    },
    status: {
      state: s.state,
      healthy_nodes: s.healthy,
      initial_nodes: s.initial,
      failed_nodes: s.failed,
      offline_nodes: s.offline,
      removing_nodes: s.removing,
      serving_nodes: s.serving,
      total_nodes: s.total,
    },
    auto_scaling: {
      enable: false,
      type: 'cpu',
      max_instances: 0,
      min_instances: 0,
      eip_internet_charge_type: 'PayByBandwidth',
      is_bond_eip: false,
      eip_bandwidth: 0,
      ...autoScaling,
    },
    management: {
      enable: false,
      auto_repair: false,
      auto_repair_policy: { restart_node: false, approval_required: false, auto_repair_policy_id: '' },
      auto_vul_fix: false,
      auto_vul_fix_policy: { restart_node: false, vul_level: '', exclude_packages: '' },
      auto_upgrade: false,
      auto_upgrade_policy: { auto_upgrade_kubelet: false },
      upgrade_config: { auto_upgrade: false, surge: 0, surge_percentage: 0, max_unavailable: 1 },
      auto_fault_diagnosis: false,
      ...management,
    },
    scaling_group: {
      scaling_group_id: `asg-${pool.id.slice(2, 22)}`,
      vswitch_ids: [],
      instance_types: [],
      instance_charge_type: 'PostPaid',
      period: 0,
      period_unit: '',
      auto_renew: false,
      auto_renew_period: 0,
      spot_strategy: 'NoSpot',
      spot_price_limit: [],
      image_type: 'AliyunLinux3',
      image_id: '',
      system_disk_category: 'cloud_efficiency',
      system_disk_categories: [],
      system_disk_size: 120,
      system_disk_performance_level: '',
      system_disk_encrypted: false,
      system_disk_kms_key_id: '',
      system_disk_encrypt_algorithm: '',
      system_disk_bursting_enabled: false,
      system_disk_provisioned_iops: 0,
      data_disks: [],
      security_group_ids: [],
      login_as_non_root: false,
      cis_enabled: false,
      soc_enabled: false,
      security_hardening_os: false,
      internet_charge_type: 'PayByBandwidth',
      internet_max_bandwidth_out: 0,
      tags: [],
      multi_az_policy: 'PRIORITY',
      scaling_policy: 'release',
      on_demand_base_capacity: 0,
      on_demand_percentage_above_base_capacity: 0,
      spot_instance_pools: 0,
      spot_instance_remedy: false,
      compensate_with_on_demand: false,
      deploymentset_id: '',
      rds_instances: [],
      private_pool_options: { id: '', match_criteria: 'None' },
      security_group_id: '',
      platform: 'AliyunLinux',
      ram_policy: '',
      instance_patterns: [],
      ram_role_name: 'KubernetesWorkerRole-sandbox',
      resource_pool_options: { strategy: 'None', private_pool_ids: [] },
      system_disk_snapshot_policy_id: '',
      ...sg,
      desired_size: pool.desired,
      ...(pool.hasPassword ? { login_password: '******' } : {}),
    },
    kubernetes_config: {
      labels: [],
      taints: [],
      runtime: 'containerd',
      runtime_version: '1.6.38',
      cpu_policy: 'none',
      user_data: '',
      unschedulable: false,
      cms_enabled: false,
      node_name_mode: '',
      pre_user_data: '',
      ...k8s,
    },
    tee_config: { tee_enable: false, ...asObject(spec.tee_config) },
    interconnect_config: { cen_id: '', ccn_id: '', ccn_region_id: '', bandwidth: 0, improved_period: '', ...asObject(spec.interconnect_config) },
    max_nodes: spec.max_nodes ?? 0,
    interconnect_mode: spec.interconnect_mode ?? 'basic',
    auto_mode: { enable: false, ...asObject(spec.auto_mode) },
    node_components: Array.isArray(spec.node_components) ? spec.node_components : [],
    eflo_node_group: { cluster_id: '', group_id: '', ...asObject(spec.eflo_node_group) },
    node_config: { kubelet_configuration: {}, node_os_config: { hugepage: {} }, ...asObject(spec.node_config) },
  };
}

/** Routes an ACK ROA request, or returns undefined when the path is not an ACK path. */
export function routeAck(ctx: RoaContext): { action: string; clusterId?: string; run: () => Json } | undefined {
  const [a, b, c, d, e] = ctx.segments;
  if (a === 'clusters' && b && c === 'nodepools' && d === undefined) {
    if (ctx.method === 'POST') return { action: 'CreateClusterNodePool', clusterId: b, run: () => createNodePool(ctx, b) };
    if (ctx.method === 'GET') return { action: 'DescribeClusterNodePools', clusterId: b, run: () => listNodePools(ctx, b) };
  }
  if (a === 'clusters' && b && c === 'nodepools' && d && e === undefined) {
    if (ctx.method === 'GET') return { action: 'DescribeClusterNodePoolDetail', clusterId: b, run: () => describeNodePool(ctx, b, d) };
    const op = routeAckPool(ctx, b, d);
    if (op) return { ...op, clusterId: b };
  }
  if (a === 'clusters' && b && c === undefined && ctx.method === 'GET') {
    return { action: 'DescribeClusterDetail', clusterId: b, run: () => ackClusterDetail(ctx, b) };
  }
  if (a === 'tasks' && b && c === undefined && ctx.method === 'GET') {
    return { action: 'DescribeTaskInfo', run: () => describeTask(ctx, b) };
  }
  return undefined;
}
