/**
 * ACK CreateClusterNodePool body (CS 2015-12-15, snake_case). The fields and their
 * constraints are those of the DescribeClusterNodePools reference, which describes the same
 * node-pool model: enums, ranges, mutually exclusive pairs and conditional requirements.
 * Read-only fields (IDs, timestamps, status) are refused.
 */
import { ACK_NODEPOOL_NAME, ACK_NODEPOOL_NAME_HINT, arr, bool, type Issue, int, map, obj, type Schema, str } from './schema.js';

const DISK_CATEGORIES = ['cloud_efficiency', 'cloud_ssd', 'cloud_essd', 'cloud_auto', 'cloud_essd_entry'] as const;
const DATA_DISK_CATEGORIES = [...DISK_CATEGORIES, 'cloud', 'elastic_ephemeral_disk_premium', 'elastic_ephemeral_disk_standard'] as const;
const ACK_IMAGE_TYPES = [
  'AliyunLinux',
  'AliyunLinuxSecurity',
  'AliyunLinux3',
  'AliyunLinux3Arm64',
  'AliyunLinux3Security',
  'CentOS',
  'Windows',
  'WindowsCore',
  'ContainerOS',
  'AliyunLinux3ContainerOptimized',
] as const;
const PERIODS = { Month: [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60], Week: [1, 2, 3, 4] } as const;
const RENEW_PERIODS = { Month: [1, 2, 3, 6, 12, 24, 36, 48, 60], Week: [1, 2, 3] } as const;
const VUL_LEVELS = ['asap', 'later', 'nntf'];

const readOnlyStr = () => str({ readOnly: true });
const keyValue = (extra: Record<string, Schema> = {}) => obj({ key: str({ required: true, maxLength: 128 }), value: str({ maxLength: 256 }), ...extra });

/** At least three of: upper case, lower case, digits, special characters; 8 to 30 long. */
function passwordProblem(pw: string): string | undefined {
  if (pw.length < 8 || pw.length > 30) return 'must be 8 to 30 characters long';
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(pw)).length;
  if (classes < 3) return 'must contain at least three of: upper-case letters, lower-case letters, digits, special characters';
  return undefined;
}

function checkTags(tags: unknown, path: string, issues: Issue[]): void {
  if (!Array.isArray(tags)) return;
  const seen = new Set<string>();
  tags.forEach((t, i) => {
    const key = (t as { key?: unknown })?.key;
    const value = (t as { value?: unknown })?.value;
    if (typeof key !== 'string') return;
    if (seen.has(key)) issues.push({ path: `${path}[${i}].key`, message: 'must be unique among the tags' });
    seen.add(key);
    for (const [field, v] of [
      ['key', key],
      ['value', value],
    ] as const) {
      if (typeof v !== 'string') continue;
      if (/^(aliyun|acs:)/i.test(v)) issues.push({ path: `${path}[${i}].${field}`, message: 'must not start with aliyun or acs:' });
      if (/https?:\/\//i.test(v)) issues.push({ path: `${path}[${i}].${field}`, message: 'must not contain http:// or https://' });
    }
  });
}

const scalingGroup = obj(
  {
    scaling_group_id: readOnlyStr(),
    vswitch_ids: arr(str({ required: true, maxLength: 64 }), { required: true, minItems: 1, maxItems: 8 }),
    instance_types: arr(str({ required: true, maxLength: 64 }), { required: true, minItems: 1, maxItems: 10 }),
    instance_charge_type: str({ enum: ['PrePaid', 'PostPaid'] }),
    period: int({ min: 1 }),
    period_unit: str({ enum: ['Month', 'Week'] }),
    auto_renew: bool(),
    auto_renew_period: int({ min: 0 }),
    spot_strategy: str({ enum: ['NoSpot', 'SpotWithPriceLimit', 'SpotAsPriceGo'] }),
    spot_price_limit: arr(
      obj({
        instance_type: str({ required: true }),
        price_limit: str({ required: true, pattern: /^\d+(\.\d+)?$/, patternHint: 'must be a price such as 0.39' }),
      }),
    ),
    image_type: str({ enum: ACK_IMAGE_TYPES }),
    image_id: str({ maxLength: 256 }),
    system_disk_category: str({ enum: DISK_CATEGORIES }),
    system_disk_categories: arr(str({ enum: DISK_CATEGORIES }), { minItems: 1 }),
    system_disk_size: int({ min: 20, max: 2048 }),
    system_disk_performance_level: str({ enum: ['PL0', 'PL1', 'PL2', 'PL3'] }),
    system_disk_encrypted: bool(),
    system_disk_kms_key_id: str({ maxLength: 128 }),
    system_disk_encrypt_algorithm: str({ enum: ['aes-256'] }),
    system_disk_bursting_enabled: bool(),
    system_disk_provisioned_iops: int({ min: 0 }),
    data_disks: arr(
      obj({
        category: str({ enum: DATA_DISK_CATEGORIES }),
        size: int({ min: 40, max: 32_768 }),
        encrypted: str({ enum: ['true', 'false'] }),
        performance_level: str({ enum: ['PL0', 'PL1', 'PL2', 'PL3'] }),
        auto_snapshot_policy_id: str(),
        provisioned_iops: int({ min: 0 }),
        bursting_enabled: bool(),
        disk_name: str({ pattern: /^[A-Za-z][A-Za-z0-9:_.-]{1,127}$/, patternHint: 'must be 2 to 128 characters and start with a letter' }),
        device: str({ pattern: /^\/dev\/xvd[b-z]$/, patternHint: 'must be /dev/xvdb to /dev/xvdz' }),
        snapshot_id: str(),
        kms_key_id: str(),
        auto_format: bool(),
        file_system: str(),
        mount_target: str(),
      }),
      { maxItems: 16 },
    ),
    security_group_ids: arr(str({ required: true }), { maxItems: 5 }),
    key_pair: str({ minLength: 1, maxLength: 128 }),
    login_password: str(),
    login_as_non_root: bool(),
    cis_enabled: bool(),
    soc_enabled: bool(),
    security_hardening_os: bool(),
    internet_charge_type: str({ enum: ['PayByBandwidth', 'PayByTraffic'] }),
    internet_max_bandwidth_out: int({ min: 1, max: 100 }),
    tags: arr(keyValue(), { maxItems: 20 }),
    desired_size: int({ min: 0, max: 2000 }),
    multi_az_policy: str({ enum: ['PRIORITY', 'COST_OPTIMIZED', 'BALANCE'] }),
    scaling_policy: str({ enum: ['release', 'recycle'] }),
    on_demand_base_capacity: int({ min: 0, max: 1000 }),
    on_demand_percentage_above_base_capacity: int({ min: 0, max: 100 }),
    spot_instance_pools: int({ min: 1, max: 10 }),
    spot_instance_remedy: bool(),
    compensate_with_on_demand: bool(),
    deploymentset_id: str(),
    rds_instances: arr(str({ required: true })),
    private_pool_options: obj({ id: str(), match_criteria: str({ enum: ['Open', 'Target', 'None'] }) }),
    security_group_id: str(),
    platform: str({ enum: ['CentOS', 'AliyunLinux', 'Windows', 'WindowsCore'] }),
    ram_policy: str(),
    instance_patterns: arr(map()),
    ram_role_name: str(),
    resource_pool_options: obj({ strategy: str({ enum: ['PrivatePoolFirst', 'PrivatePoolOnly', 'None'] }), private_pool_ids: arr(str({ required: true })) }),
    system_disk_snapshot_policy_id: str(),
  },
  {
    required: true,
    check: (sg, path, issues) => {
      if (sg.key_pair !== undefined && sg.login_password !== undefined) {
        issues.push({ path: `${path}.login_password`, message: 'is mutually exclusive with key_pair: give one of them' });
      }
      if (typeof sg.login_password === 'string') {
        const problem = passwordProblem(sg.login_password);
        if (problem) issues.push({ path: `${path}.login_password`, message: problem });
      }
      if (sg.instance_charge_type === 'PrePaid') {
        if (sg.period === undefined) issues.push({ path: `${path}.period`, message: 'is required when instance_charge_type is PrePaid' });
        if (sg.period_unit === undefined) issues.push({ path: `${path}.period_unit`, message: 'is required when instance_charge_type is PrePaid' });
        const unit = (sg.period_unit ?? 'Month') as keyof typeof PERIODS;
        if (typeof sg.period === 'number' && PERIODS[unit] && !(PERIODS[unit] as readonly number[]).includes(sg.period)) {
          issues.push({ path: `${path}.period`, message: `must be one of ${PERIODS[unit].join(', ')} when period_unit is ${unit}` });
        }
        if (typeof sg.auto_renew_period === 'number' && RENEW_PERIODS[unit] && !(RENEW_PERIODS[unit] as readonly number[]).includes(sg.auto_renew_period)) {
          issues.push({ path: `${path}.auto_renew_period`, message: `must be one of ${RENEW_PERIODS[unit].join(', ')} when period_unit is ${unit}` });
        }
      } else {
        for (const f of ['period', 'period_unit', 'auto_renew', 'auto_renew_period']) {
          if (sg[f] !== undefined) issues.push({ path: `${path}.${f}`, message: 'only applies when instance_charge_type is PrePaid' });
        }
      }
      const category = sg.system_disk_category ?? 'cloud_efficiency';
      if (sg.system_disk_performance_level !== undefined && category !== 'cloud_essd') {
        issues.push({ path: `${path}.system_disk_performance_level`, message: 'only applies to cloud_essd system disks' });
      }
      for (const f of ['system_disk_bursting_enabled', 'system_disk_provisioned_iops']) {
        if (sg[f] !== undefined && category !== 'cloud_auto') issues.push({ path: `${path}.${f}`, message: 'only applies to cloud_auto system disks' });
      }
      if (sg.spot_price_limit !== undefined && sg.spot_strategy !== 'SpotWithPriceLimit') {
        issues.push({ path: `${path}.spot_price_limit`, message: 'only applies when spot_strategy is SpotWithPriceLimit' });
      }
      checkTags(sg.tags, `${path}.tags`, issues);
    },
  },
);

const kubernetesConfig = obj({
  labels: arr(keyValue(), { maxItems: 64 }),
  taints: arr(keyValue({ effect: str({ enum: ['NoSchedule', 'NoExecute', 'PreferNoSchedule'] }) }), { maxItems: 64 }),
  runtime: str({ enum: ['containerd', 'Sandboxed-Container.runv', 'docker'] }),
  runtime_version: str({ maxLength: 64 }),
  cpu_policy: str({ enum: ['static', 'none'] }),
  user_data: str({ base64: true, maxLength: 65_536 }),
  unschedulable: bool(),
  cms_enabled: bool(),
  node_name_mode: str({
    pattern:
      /^customized,([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)?,([5-9]|1[0-2]),([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)?$/,
    patternHint: 'must be customized,<prefix>,<IP length 5-12>,<suffix> with lower-case letters, digits, "-" and "."',
  }),
  pre_user_data: str({ base64: true, maxLength: 65_536 }),
});

const management = obj({
  enable: bool(),
  auto_repair: bool(),
  auto_repair_policy: obj({ restart_node: bool(), approval_required: bool(), auto_repair_policy_id: str() }),
  auto_vul_fix: bool(),
  auto_vul_fix_policy: obj({
    restart_node: bool(),
    vul_level: str({
      pattern: new RegExp(`^(${VUL_LEVELS.join('|')})(,(${VUL_LEVELS.join('|')}))*$`),
      patternHint: 'must be a comma-separated list of asap, later, nntf',
    }),
    exclude_packages: str(),
  }),
  auto_upgrade: bool(),
  auto_upgrade_policy: obj({ auto_upgrade_kubelet: bool() }),
  upgrade_config: obj(
    { auto_upgrade: bool(), surge: int({ min: 0 }), surge_percentage: int({ min: 0, max: 100 }), max_unavailable: int({ min: 1, max: 1000 }) },
    {
      check: (u, path, issues) => {
        if (u.surge !== undefined && u.surge_percentage !== undefined) {
          issues.push({ path: `${path}.surge_percentage`, message: 'is mutually exclusive with surge' });
        }
      },
    },
  ),
  auto_fault_diagnosis: bool(),
});

const autoScaling = obj(
  {
    enable: bool(),
    type: str({ enum: ['cpu', 'gpu', 'gpushare', 'spot'] }),
    max_instances: int({ min: 0, max: 2000 }),
    min_instances: int({ min: 0, max: 2000 }),
    eip_internet_charge_type: str({ enum: ['PayByBandwidth', 'PayByTraffic'] }),
    is_bond_eip: bool(),
    eip_bandwidth: int({ min: 1, max: 100 }),
  },
  {
    check: (a, path, issues) => {
      if (typeof a.min_instances === 'number' && typeof a.max_instances === 'number' && a.min_instances > a.max_instances) {
        issues.push({ path: `${path}.min_instances`, message: 'must not exceed max_instances' });
      }
    },
  },
);

export const ackCreateSchema: Schema = obj(
  {
    nodepool_info: obj(
      {
        name: str({ required: true, pattern: ACK_NODEPOOL_NAME, patternHint: ACK_NODEPOOL_NAME_HINT }),
        type: str({ enum: ['ess', 'edge', 'lingjun'] }),
        resource_group_id: str({ maxLength: 64 }),
        nodepool_id: readOnlyStr(),
        is_default: bool({ readOnly: true }),
        region_id: readOnlyStr(),
        created: readOnlyStr(),
        updated: readOnlyStr(),
      },
      { required: true },
    ),
    scaling_group: scalingGroup,
    kubernetes_config: kubernetesConfig,
    management,
    auto_scaling: autoScaling,
    tee_config: obj({ tee_enable: bool() }),
    interconnect_config: obj({ cen_id: str(), ccn_id: str(), ccn_region_id: str(), bandwidth: int({ min: 0 }), improved_period: str() }),
    max_nodes: int({ min: 0 }),
    interconnect_mode: str({ enum: ['basic', 'private'] }),
    auto_mode: obj({ enable: bool() }),
    node_components: arr(obj({ name: str({ required: true }), version: str(), config: obj({ custom_config: map() }) })),
    node_config: obj({ kubelet_configuration: map(), node_os_config: obj({ hugepage: map() }) }),
    eflo_node_group: obj({ cluster_id: str(), group_id: str() }),
    count: int({ min: 0, max: 2000 }),
    status: map({}),
  },
  {
    required: true,
    check: (body, path, issues) => {
      const p = (f: string) => (path ? `${path}.${f}` : f);
      if (body.status !== undefined) issues.push({ path: p('status'), message: 'is read-only: the cloud sets it' });
      const info = body.nodepool_info as { type?: unknown } | undefined;
      if (body.interconnect_mode !== undefined && info?.type !== 'edge') {
        issues.push({ path: p('interconnect_mode'), message: 'only applies to edge node pools (nodepool_info.type "edge")' });
      }
      const sg = body.scaling_group as Record<string, unknown> | undefined;
      if (sg && body.count !== undefined && sg.desired_size !== undefined) {
        issues.push({ path: p('count'), message: 'is deprecated and conflicts with scaling_group.desired_size: give desired_size only' });
      }
      const mgmt = body.management as { enable?: unknown } | undefined;
      if (mgmt?.enable === true && sg?.login_password !== undefined) {
        issues.push({ path: p('scaling_group.login_password'), message: 'managed node pools (management.enable) support key_pair only' });
      }
    },
  },
);

/** Where the ACK password sits in a create body. */
export const ACK_SECRET_PATHS = [['scaling_group', 'login_password']] as const;
