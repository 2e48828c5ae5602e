/**
 * The ACK half of the emulator, driven by the official generated SDK
 * (@alicloud/cs20151215 on @alicloud/openapi-core), unchanged: its typed models must parse
 * every field of the DescribeClusterNodePools reference from the emulator's answers.
 */
import * as cs from '@alicloud/cs20151215';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { cjsDefault } from '../../src/cloud/index.js';
import { KEYS, uniqueName, useEmulator } from '../helpers/cloud.js';

const env = useEmulator({ rateLimits: { CreateClusterNodePool: 10_000, DescribeClusterNodePools: 10_000 } });
// Under NodeNext a CommonJS package's classes sit one `default` deeper.
type CsClientClass = typeof cs.default.default;
const CsClient = cjsDefault<CsClientClass>(cs);
/** The SDK's model classes, wherever the loader put the named exports. */
const models = ((cs as unknown as { CreateClusterNodePoolRequest?: unknown }).CreateClusterNodePoolRequest ? cs : cs.default) as typeof cs.default;

function sdk(credentials: { accessKeyId: string; accessKeySecret: string; securityToken?: string } = KEYS): InstanceType<CsClientClass> {
  return new CsClient(new $OpenApiUtil.Config({ ...credentials, endpoint: env.url.replace('http://', ''), protocol: 'http', regionId: 'cn-beijing' }));
}

async function newCluster(): Promise<string> {
  const res = await fetch(`${env.url}/_sandbox/clusters`, { method: 'POST', body: JSON.stringify({ provider: 'ack', regionId: 'cn-beijing' }) });
  return ((await res.json()) as { id: string }).id;
}

/** Every response field the DescribeClusterNodePools reference lists, by wire name, under nodepools[]. */
const SEED_FIELDS = [
  'nodepool_info.nodepool_id',
  'nodepool_info.name',
  'nodepool_info.type',
  'nodepool_info.is_default',
  'nodepool_info.resource_group_id',
  'nodepool_info.region_id',
  'nodepool_info.created',
  'nodepool_info.updated',
  'status.state',
  'status.healthy_nodes',
  'status.initial_nodes',
  'status.failed_nodes',
  'status.offline_nodes',
  'status.removing_nodes',
  'status.serving_nodes',
  'status.total_nodes',
  'auto_scaling.enable',
  'auto_scaling.type',
  'auto_scaling.max_instances',
  'auto_scaling.min_instances',
  'auto_scaling.eip_internet_charge_type',
  'auto_scaling.is_bond_eip',
  'auto_scaling.eip_bandwidth',
  'management.enable',
  'management.auto_repair',
  'management.auto_repair_policy.restart_node',
  'management.auto_repair_policy.approval_required',
  'management.auto_repair_policy.auto_repair_policy_id',
  'management.auto_vul_fix',
  'management.auto_vul_fix_policy.restart_node',
  'management.auto_vul_fix_policy.vul_level',
  'management.auto_vul_fix_policy.exclude_packages',
  'management.auto_upgrade',
  'management.auto_upgrade_policy.auto_upgrade_kubelet',
  'management.upgrade_config.auto_upgrade',
  'management.upgrade_config.surge',
  'management.upgrade_config.surge_percentage',
  'management.upgrade_config.max_unavailable',
  'management.auto_fault_diagnosis',
  'scaling_group.scaling_group_id',
  'scaling_group.vswitch_ids',
  'scaling_group.instance_types',
  'scaling_group.instance_charge_type',
  'scaling_group.period',
  'scaling_group.period_unit',
  'scaling_group.auto_renew',
  'scaling_group.auto_renew_period',
  'scaling_group.spot_strategy',
  'scaling_group.spot_price_limit',
  'scaling_group.image_type',
  'scaling_group.image_id',
  'scaling_group.system_disk_category',
  'scaling_group.system_disk_categories',
  'scaling_group.system_disk_size',
  'scaling_group.system_disk_performance_level',
  'scaling_group.system_disk_encrypted',
  'scaling_group.system_disk_kms_key_id',
  'scaling_group.system_disk_encrypt_algorithm',
  'scaling_group.system_disk_bursting_enabled',
  'scaling_group.system_disk_provisioned_iops',
  'scaling_group.data_disks',
  'scaling_group.security_group_ids',
  'scaling_group.login_password',
  'scaling_group.login_as_non_root',
  'scaling_group.cis_enabled',
  'scaling_group.soc_enabled',
  'scaling_group.security_hardening_os',
  'scaling_group.internet_charge_type',
  'scaling_group.internet_max_bandwidth_out',
  'scaling_group.tags',
  'scaling_group.desired_size',
  'scaling_group.multi_az_policy',
  'scaling_group.scaling_policy',
  'scaling_group.on_demand_base_capacity',
  'scaling_group.on_demand_percentage_above_base_capacity',
  'scaling_group.spot_instance_pools',
  'scaling_group.spot_instance_remedy',
  'scaling_group.compensate_with_on_demand',
  'scaling_group.deploymentset_id',
  'scaling_group.rds_instances',
  'scaling_group.private_pool_options.id',
  'scaling_group.private_pool_options.match_criteria',
  'scaling_group.security_group_id',
  'scaling_group.platform',
  'scaling_group.ram_policy',
  'scaling_group.instance_patterns',
  'scaling_group.ram_role_name',
  'scaling_group.resource_pool_options.strategy',
  'scaling_group.resource_pool_options.private_pool_ids',
  'scaling_group.system_disk_snapshot_policy_id',
  'node_config.kubelet_configuration',
  'node_config.node_os_config.hugepage',
  'kubernetes_config.labels',
  'kubernetes_config.taints',
  'kubernetes_config.runtime',
  'kubernetes_config.runtime_version',
  'kubernetes_config.cpu_policy',
  'kubernetes_config.user_data',
  'kubernetes_config.unschedulable',
  'kubernetes_config.cms_enabled',
  'kubernetes_config.node_name_mode',
  'kubernetes_config.pre_user_data',
  'tee_config.tee_enable',
  'interconnect_config.cen_id',
  'interconnect_config.ccn_id',
  'interconnect_config.ccn_region_id',
  'interconnect_config.bandwidth',
  'interconnect_config.improved_period',
  'max_nodes',
  'interconnect_mode',
  'auto_mode.enable',
  'node_components.0.name',
  'node_components.0.version',
  'node_components.0.config.custom_config',
  'eflo_node_group.cluster_id',
  'eflo_node_group.group_id',
];

function at(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

describe('ACK through the official cs20151215 SDK', () => {
  it('creates a pool and answers {nodepool_id, request_id, task_id}', async () => {
    const clusterId = await newCluster();
    const res = await sdk().createClusterNodePool(
      clusterId,
      new models.CreateClusterNodePoolRequest({
        nodepoolInfo: new models.CreateClusterNodePoolRequestNodepoolInfo({ name: uniqueName() }),
        scalingGroup: new models.CreateClusterNodePoolRequestScalingGroup({
          vswitchIds: ['vsw-1'],
          instanceTypes: ['ecs.g7.large'],
          desiredSize: 2,
          keyPair: 'kp',
        }),
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.body?.nodepoolId).toMatch(/^np[0-9a-f]{32}$/);
    expect(res.body?.taskId).toMatch(/^T-[0-9a-f]{24}$/);
    expect(res.body?.requestId).toMatch(/^[0-9A-F-]{36}$/);
  });

  it('lists pools whose typed models carry every field of the DescribeClusterNodePools reference', async () => {
    // Prepare: a pool created with a password and node components, beside the seed's default pool (key pair)
    const name = uniqueName('full');
    const create = new models.CreateClusterNodePoolRequest({
      nodepoolInfo: new models.CreateClusterNodePoolRequestNodepoolInfo({ name, type: 'ess' }),
      scalingGroup: new models.CreateClusterNodePoolRequestScalingGroup({
        vswitchIds: ['vsw-1'],
        instanceTypes: ['ecs.g7.large'],
        desiredSize: 2,
        loginPassword: 'Np-Pilot-2026!',
      }),
    });
    const clusterId = await newCluster();
    const created = await sdk().createClusterNodePool(clusterId, create);
    // Node components are not part of the SDK's create model at this version; set them on the emulated pool.
    const pool = env.emulator.world.pools.get(created.body!.nodepoolId!)!;
    pool.spec.node_components = [{ name: 'kubelet', version: '1.33.3-aliyun.1', config: { custom_config: { cpuManagerPolicy: 'static' } } }];
    // Act
    const res = await sdk().describeClusterNodePools(clusterId, new models.DescribeClusterNodePoolsRequest({}));
    const seedDefault = await sdk().describeClusterNodePools(
      SEED_ACK_CLUSTER,
      new models.DescribeClusterNodePoolsRequest({ nodepoolName: 'default-nodepool' }),
    );
    // Assess: the SDK's model, mapped back to wire names, has every field
    const wire = res.body!.toMap() as { nodepools: Array<Record<string, unknown>> };
    const ours = wire.nodepools.find((p) => at(p, 'nodepool_info.name') === name)!;
    const missing = SEED_FIELDS.filter((f) => at(ours, f) === undefined);
    expect(missing).toEqual([]);
    expect(at(ours, 'scaling_group.login_password')).toBe('******');
    expect(JSON.stringify(wire)).not.toContain('Np-Pilot-2026!');
    const def = (seedDefault.body!.toMap() as { nodepools: Array<Record<string, unknown>> }).nodepools;
    expect(def).toHaveLength(1);
    expect(at(def[0], 'scaling_group.key_pair')).toBe('ops-keypair');
    expect(at(def[0], 'nodepool_info.is_default')).toBe(true);
    expect(res.body!.nodepools![0]!.status!.state).toBeTypeOf('string');
  });

  it('filters by NodepoolName', async () => {
    const clusterId = await newCluster();
    const name = uniqueName('named-pool');
    await sdk().createClusterNodePool(
      clusterId,
      new models.CreateClusterNodePoolRequest({
        nodepoolInfo: new models.CreateClusterNodePoolRequestNodepoolInfo({ name }),
        scalingGroup: new models.CreateClusterNodePoolRequestScalingGroup({ vswitchIds: ['v'], instanceTypes: ['t'], desiredSize: 0, keyPair: 'k' }),
      }),
    );
    const hit = await sdk().describeClusterNodePools(clusterId, new models.DescribeClusterNodePoolsRequest({ nodepoolName: name }));
    const miss = await sdk().describeClusterNodePools(clusterId, new models.DescribeClusterNodePoolsRequest({ nodepoolName: 'other' }));
    expect(hit.body!.nodepools!.map((p) => p.nodepoolInfo!.name)).toEqual([name]);
    expect(miss.body!.nodepools).toEqual([]);
  });

  it('describes the creation task: running, then success once the pool is active', async () => {
    const clusterId = await newCluster();
    const created = await sdk().createClusterNodePool(
      clusterId,
      new models.CreateClusterNodePoolRequest({
        nodepoolInfo: new models.CreateClusterNodePoolRequestNodepoolInfo({ name: uniqueName() }),
        scalingGroup: new models.CreateClusterNodePoolRequestScalingGroup({ vswitchIds: ['v'], instanceTypes: ['t'], desiredSize: 2, keyPair: 'k' }),
      }),
    );
    const running = await sdk().describeTaskInfo(created.body!.taskId!);
    expect(running.body).toMatchObject({ taskId: created.body!.taskId, clusterId, state: 'running', taskType: 'nodepool_create' });
    expect(running.body!.target).toMatchObject({ id: created.body!.nodepoolId, type: 'nodepool' });
    env.emulator.clock.offset += 11_000;
    try {
      const done = await sdk().describeTaskInfo(created.body!.taskId!);
      expect(done.body!.state).toBe('success');
      // the model's every key is there: a task without an error has an empty one
      expect(done.body!.error).toMatchObject({ code: '', message: '' });
    } finally {
      env.emulator.clock.offset -= 11_000;
    }
  });

  it('refuses a second create while a pool of the cluster is scaling (cluster busy)', async () => {
    const clusterId = await newCluster();
    const req = (name: string) =>
      new models.CreateClusterNodePoolRequest({
        nodepoolInfo: new models.CreateClusterNodePoolRequestNodepoolInfo({ name }),
        scalingGroup: new models.CreateClusterNodePoolRequestScalingGroup({ vswitchIds: ['v'], instanceTypes: ['t'], desiredSize: 1, keyPair: 'k' }),
      });
    await sdk().createClusterNodePool(clusterId, req(uniqueName()));
    await expect(sdk().createClusterNodePool(clusterId, req(uniqueName()))).rejects.toMatchObject({
      code: 'InvalidStatus.Forbidden',
      statusCode: 400,
      message: expect.stringContaining('cannot operate cluster where state is scaling'),
    });
  });

  it('refuses a duplicate pool name in a cluster', async () => {
    const clusterId = await newCluster();
    const name = uniqueName();
    const req = new models.CreateClusterNodePoolRequest({
      nodepoolInfo: new models.CreateClusterNodePoolRequestNodepoolInfo({ name }),
      scalingGroup: new models.CreateClusterNodePoolRequestScalingGroup({ vswitchIds: ['v'], instanceTypes: ['t'], desiredSize: 0, keyPair: 'k' }),
    });
    await sdk().createClusterNodePool(clusterId, req);
    await expect(sdk().createClusterNodePool(clusterId, req)).rejects.toMatchObject({ code: 'InvalidParameter.Name' });
  });

  it('answers unknown clusters and tasks with ROA error bodies {code, message, requestId}', async () => {
    const err = await sdk()
      .describeClusterNodePools('c0000', new models.DescribeClusterNodePoolsRequest({}))
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'ErrorClusterNotFound', statusCode: 404 });
    expect(Object.keys(err.data).sort()).toEqual(['code', 'message', 'requestId']);
    await expect(sdk().describeTaskInfo('T-nope')).rejects.toMatchObject({ code: 'ErrorTaskNotFound', statusCode: 404 });
  });

  it('refuses a request signed with the wrong secret, as the gateway does', async () => {
    const err = await sdk({ ...KEYS, accessKeySecret: 'wrong' })
      .describeClusterNodePools(SEED_ACK_CLUSTER, new models.DescribeClusterNodePoolsRequest({}))
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400 });
  });

  it('refuses an invalid body naming the field', async () => {
    const clusterId = await newCluster();
    const err = await sdk()
      .createClusterNodePool(
        clusterId,
        new models.CreateClusterNodePoolRequest({
          nodepoolInfo: new models.CreateClusterNodePoolRequestNodepoolInfo({ name: uniqueName() }),
          scalingGroup: new models.CreateClusterNodePoolRequestScalingGroup({ vswitchIds: [], instanceTypes: ['t'], keyPair: 'k' }),
        }),
      )
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'InvalidParameter', statusCode: 400, message: expect.stringContaining('scaling_group.vswitch_ids') });
  });
});
