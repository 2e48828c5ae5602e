/**
 * The HTTP API through the local FC host: every constraint of the two API references,
 * broken one at a time, gets a 400 naming the field and nothing reaches the cloud;
 * authentication; media types, size and malformed bodies; status and listing.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ackExample, ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { TEST_TOKEN, useSystem } from '../helpers/system.js';

type Body = Record<string, any>;
const ens = (mutate: (r: Body) => void = () => {}): Body => {
  const request: Body = structuredClone(ensExample(SEED_ENS_CLUSTER, uniqueName()));
  mutate(request);
  return { provider: 'ens', request };
};
const ack = (mutate: (r: Body) => void = () => {}, envelope: Body = {}): Body => {
  const request: Body = structuredClone(ackExample(uniqueName()));
  mutate(request);
  return { provider: 'ack', regionId: 'cn-beijing', clusterId: SEED_ACK_CLUSTER, request, ...envelope };
};

/** [label, body, path that must be named] */
const ENS_BROKEN: Array<[string, Body, string]> = [
  ['ClusterId missing', ens((r) => delete r.ClusterId), 'request.ClusterId'],
  ['NodepoolInfo missing', ens((r) => delete r.NodepoolInfo), 'request.NodepoolInfo'],
  ['Name missing', ens((r) => (r.NodepoolInfo = {})), 'request.NodepoolInfo.Name'],
  ['Name empty', ens((r) => (r.NodepoolInfo.Name = '')), 'request.NodepoolInfo.Name'],
  ['ScalingGroup missing', ens((r) => delete r.ScalingGroup), 'request.ScalingGroup'],
  ['ImageId missing', ens((r) => delete r.ScalingGroup.ImageId), 'request.ScalingGroup.ImageId'],
  ['VswitchIds missing', ens((r) => delete r.ScalingGroup.VswitchIds), 'request.ScalingGroup.VswitchIds'],
  ['VswitchIds empty', ens((r) => (r.ScalingGroup.VswitchIds = [])), 'request.ScalingGroup.VswitchIds'],
  ['InstanceTypes missing', ens((r) => delete r.ScalingGroup.InstanceTypes), 'request.ScalingGroup.InstanceTypes'],
  ['InstanceTypes empty', ens((r) => (r.ScalingGroup.InstanceTypes = [])), 'request.ScalingGroup.InstanceTypes'],
  ['SystemDiskSize under 20', ens((r) => (r.ScalingGroup.SystemDiskSize = 10)), 'request.ScalingGroup.SystemDiskSize'],
  ['SystemDiskSize not a multiple of 10', ens((r) => (r.ScalingGroup.SystemDiskSize = 95)), 'request.ScalingGroup.SystemDiskSize'],
  ['SystemDiskCategory unknown', ens((r) => (r.ScalingGroup.SystemDiskCategory = 'cloud_essd')), 'request.ScalingGroup.SystemDiskCategory'],
  ['data disk Size under 20', ens((r) => (r.ScalingGroup.DataDisks = [{ Category: 'cloud_ssd', Size: 10 }])), 'request.ScalingGroup.DataDisks[0].Size'],
  ['data disk Size not a multiple of 10', ens((r) => (r.ScalingGroup.DataDisks = [{ Size: 20 }, { Size: 25 }])), 'request.ScalingGroup.DataDisks[1].Size'],
  [
    'neither KeyPairName nor Password',
    ens((r) => {
      delete r.ScalingGroup.KeyPairName;
      delete r.ScalingGroup.Password;
    }),
    'request.ScalingGroup.KeyPairName',
  ],
  ['InstanceChargeType unknown', ens((r) => (r.ScalingGroup.InstanceChargeType = 'Spot')), 'request.ScalingGroup.InstanceChargeType'],
  ['DesiredSize not an integer', ens((r) => (r.ScalingGroup.DesiredSize = '3')), 'request.ScalingGroup.DesiredSize'],
  ['PreUserData not Base64', ens((r) => (r.KubernetesConfig.PreUserData = 'echo ok')), 'request.KubernetesConfig.PreUserData'],
  ['UserData not Base64', ens((r) => (r.KubernetesConfig.UserData = 'ZWNobyBvawo')), 'request.KubernetesConfig.UserData'],
  ['an unknown field', ens((r) => (r.ScalingGroup.Colour = 'blue')), 'request.ScalingGroup.Colour'],
  [
    'a __proto__ field',
    JSON.parse(JSON.stringify(ens()).replace('"ScalingGroup":{', '"ScalingGroup":{"__proto__":{"Password":"Sneaky-Pa55"},')),
    'request.ScalingGroup.__proto__',
  ],
  ['a constructor field', ens((r) => (r.NodepoolInfo.constructor = 'x')), 'request.NodepoolInfo.constructor'],
  ['a NUL character', ens((r) => (r.NodepoolInfo.Name = 'a\u0000b')), 'request.NodepoolInfo.Name'],
];

const ACK_BROKEN: Array<[string, Body, string]> = [
  ['regionId missing', ack(() => {}, { regionId: undefined }), 'regionId'],
  ['regionId malformed', ack(() => {}, { regionId: 'Beijing' }), 'regionId'],
  ['clusterId missing', ack(() => {}, { clusterId: undefined }), 'clusterId'],
  ['deadlineMinutes out of range', ack(() => {}, { deadlineMinutes: 0 }), 'deadlineMinutes'],
  ['idempotencyKey in an HTTP body', ack(() => {}, { idempotencyKey: 'x' }), 'idempotencyKey'],
  ['nodepool_info.name missing', ack((r) => delete r.nodepool_info.name), 'request.nodepool_info.name'],
  ['nodepool_info.type unknown', ack((r) => (r.nodepool_info.type = 'spot')), 'request.nodepool_info.type'],
  ['nodepool_info.nodepool_id (read-only)', ack((r) => (r.nodepool_info.nodepool_id = 'np1')), 'request.nodepool_info.nodepool_id'],
  ['status (read-only)', ack((r) => (r.status = { state: 'active' })), 'request.status'],
  ['scaling_group missing', ack((r) => delete r.scaling_group), 'request.scaling_group'],
  ['vswitch_ids empty', ack((r) => (r.scaling_group.vswitch_ids = [])), 'request.scaling_group.vswitch_ids'],
  ['instance_types missing', ack((r) => delete r.scaling_group.instance_types), 'request.scaling_group.instance_types'],
  ['instance_charge_type unknown', ack((r) => (r.scaling_group.instance_charge_type = 'Monthly')), 'request.scaling_group.instance_charge_type'],
  [
    'PrePaid without period',
    ack((r) => Object.assign(r.scaling_group, { instance_charge_type: 'PrePaid', period_unit: 'Month' })),
    'request.scaling_group.period',
  ],
  [
    'PrePaid with a period not allowed for Month',
    ack((r) => Object.assign(r.scaling_group, { instance_charge_type: 'PrePaid', period_unit: 'Month', period: 10 })),
    'request.scaling_group.period',
  ],
  [
    'PrePaid with a period not allowed for Week',
    ack((r) => Object.assign(r.scaling_group, { instance_charge_type: 'PrePaid', period_unit: 'Week', period: 5 })),
    'request.scaling_group.period',
  ],
  [
    'auto_renew_period not allowed for Month',
    ack((r) => Object.assign(r.scaling_group, { instance_charge_type: 'PrePaid', period_unit: 'Month', period: 1, auto_renew: true, auto_renew_period: 4 })),
    'request.scaling_group.auto_renew_period',
  ],
  ['period with PostPaid', ack((r) => (r.scaling_group.period = 1)), 'request.scaling_group.period'],
  [
    'period_unit unknown',
    ack((r) => Object.assign(r.scaling_group, { instance_charge_type: 'PrePaid', period: 1, period_unit: 'Year' })),
    'request.scaling_group.period_unit',
  ],
  ['spot_strategy unknown', ack((r) => (r.scaling_group.spot_strategy = 'Cheap')), 'request.scaling_group.spot_strategy'],
  [
    'spot_price_limit without SpotWithPriceLimit',
    ack((r) => (r.scaling_group.spot_price_limit = [{ instance_type: 'ecs.c6.large', price_limit: '0.39' }])),
    'request.scaling_group.spot_price_limit',
  ],
  ['image_type unknown', ack((r) => (r.scaling_group.image_type = 'Debian')), 'request.scaling_group.image_type'],
  ['system_disk_category unknown', ack((r) => (r.scaling_group.system_disk_category = 'local_ssd')), 'request.scaling_group.system_disk_category'],
  ['system_disk_size under 20', ack((r) => (r.scaling_group.system_disk_size = 19)), 'request.scaling_group.system_disk_size'],
  ['system_disk_size over 2048', ack((r) => (r.scaling_group.system_disk_size = 2049)), 'request.scaling_group.system_disk_size'],
  [
    'performance level on a non-ESSD disk',
    ack((r) => Object.assign(r.scaling_group, { system_disk_category: 'cloud_ssd', system_disk_performance_level: 'PL1' })),
    'request.scaling_group.system_disk_performance_level',
  ],
  ['performance level unknown', ack((r) => (r.scaling_group.system_disk_performance_level = 'PL9')), 'request.scaling_group.system_disk_performance_level'],
  ['provisioned IOPS off cloud_auto', ack((r) => (r.scaling_group.system_disk_provisioned_iops = 1000)), 'request.scaling_group.system_disk_provisioned_iops'],
  ['bursting off cloud_auto', ack((r) => (r.scaling_group.system_disk_bursting_enabled = true)), 'request.scaling_group.system_disk_bursting_enabled'],
  ['encrypt algorithm unknown', ack((r) => (r.scaling_group.system_disk_encrypt_algorithm = 'des')), 'request.scaling_group.system_disk_encrypt_algorithm'],
  ['data disk category unknown', ack((r) => (r.scaling_group.data_disks = [{ category: 'tape', size: 100 }])), 'request.scaling_group.data_disks[0].category'],
  ['key_pair and login_password together', ack((r) => (r.scaling_group.key_pair = 'ops')), 'request.scaling_group.login_password'],
  ['login_password too short', ack((r) => (r.scaling_group.login_password = 'Ab1!')), 'request.scaling_group.login_password'],
  ['login_password too long', ack((r) => (r.scaling_group.login_password = 'Ab1!'.repeat(8))), 'request.scaling_group.login_password'],
  ['login_password with two character classes', ack((r) => (r.scaling_group.login_password = 'abcdefgh123')), 'request.scaling_group.login_password'],
  ['login_password on a managed pool', ack((r) => (r.management = { enable: true })), 'request.scaling_group.login_password'],
  ['internet_max_bandwidth_out over 100', ack((r) => (r.scaling_group.internet_max_bandwidth_out = 101)), 'request.scaling_group.internet_max_bandwidth_out'],
  ['internet_charge_type unknown', ack((r) => (r.scaling_group.internet_charge_type = 'Free')), 'request.scaling_group.internet_charge_type'],
  ['multi_az_policy unknown', ack((r) => (r.scaling_group.multi_az_policy = 'RANDOM')), 'request.scaling_group.multi_az_policy'],
  ['scaling_policy unknown', ack((r) => (r.scaling_group.scaling_policy = 'hibernate')), 'request.scaling_group.scaling_policy'],
  ['on_demand_base_capacity over 1000', ack((r) => (r.scaling_group.on_demand_base_capacity = 1001)), 'request.scaling_group.on_demand_base_capacity'],
  [
    'on_demand percentage over 100',
    ack((r) => (r.scaling_group.on_demand_percentage_above_base_capacity = 101)),
    'request.scaling_group.on_demand_percentage_above_base_capacity',
  ],
  ['spot_instance_pools over 10', ack((r) => (r.scaling_group.spot_instance_pools = 11)), 'request.scaling_group.spot_instance_pools'],
  [
    'private pool match_criteria unknown',
    ack((r) => (r.scaling_group.private_pool_options = { match_criteria: 'Any' })),
    'request.scaling_group.private_pool_options.match_criteria',
  ],
  [
    'resource pool strategy unknown',
    ack((r) => (r.scaling_group.resource_pool_options = { strategy: 'Any' })),
    'request.scaling_group.resource_pool_options.strategy',
  ],
  ['tag key starting with aliyun', ack((r) => (r.scaling_group.tags = [{ key: 'aliyun-team', value: 'x' }])), 'request.scaling_group.tags[0].key'],
  ['desired_size negative', ack((r) => (r.scaling_group.desired_size = -1)), 'request.scaling_group.desired_size'],
  [
    'taint effect unknown',
    ack((r) => (r.kubernetes_config.taints = [{ key: 'k', value: 'v', effect: 'Evict' }])),
    'request.kubernetes_config.taints[0].effect',
  ],
  ['runtime unknown', ack((r) => (r.kubernetes_config.runtime = 'cri-o')), 'request.kubernetes_config.runtime'],
  ['cpu_policy unknown', ack((r) => (r.kubernetes_config.cpu_policy = 'dynamic')), 'request.kubernetes_config.cpu_policy'],
  ['user_data not Base64', ack((r) => (r.kubernetes_config.user_data = '#!/bin/sh')), 'request.kubernetes_config.user_data'],
  ['pre_user_data not Base64', ack((r) => (r.kubernetes_config.pre_user_data = '#!/bin/sh')), 'request.kubernetes_config.pre_user_data'],
  [
    'node_name_mode with an IP length of 4',
    ack((r) => (r.kubernetes_config.node_name_mode = 'customized,aliyun.com,4,test')),
    'request.kubernetes_config.node_name_mode',
  ],
  [
    'surge and surge_percentage together',
    ack((r) => (r.management = { upgrade_config: { surge: 1, surge_percentage: 50 } })),
    'request.management.upgrade_config.surge_percentage',
  ],
  ['max_unavailable 0', ack((r) => (r.management = { upgrade_config: { max_unavailable: 0 } })), 'request.management.upgrade_config.max_unavailable'],
  ['vul_level unknown', ack((r) => (r.management = { auto_vul_fix_policy: { vul_level: 'asap,urgent' } })), 'request.management.auto_vul_fix_policy.vul_level'],
  ['auto_scaling type unknown', ack((r) => (r.auto_scaling = { type: 'tpu' })), 'request.auto_scaling.type'],
  ['auto_scaling eip_bandwidth over 100', ack((r) => (r.auto_scaling = { eip_bandwidth: 200 })), 'request.auto_scaling.eip_bandwidth'],
  [
    'min_instances over max_instances',
    ack((r) => (r.auto_scaling = { enable: true, min_instances: 5, max_instances: 2 })),
    'request.auto_scaling.min_instances',
  ],
  ['interconnect_mode on a non-edge pool', ack((r) => (r.interconnect_mode = 'private')), 'request.interconnect_mode'],
  ['count together with desired_size', ack((r) => (r.count = 2)), 'request.count'],
  ['an unknown field', ack((r) => (r.scaling_group.colour = 'blue')), 'request.scaling_group.colour'],
];

describe.each(backends)('HTTP API on $name', (backend) => {
  const t = useSystem(backend);

  describe('validation', () => {
    it.each([...ENS_BROKEN.map((c) => ['ENS', ...c] as const), ...ACK_BROKEN.map((c) => ['ACK', ...c] as const)])(
      '%s: %s gets 400 naming %s',
      async (_p, _label, body, path) => {
        const before = t.sys.emulator.callLog().length;
        const res = await t.api('POST', '/v1/nodepool-requests', body);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(res.json).toMatchObject({ status: 400, title: expect.any(String), type: expect.stringContaining('validation-error') });
        expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(path.replace(/^(\w+)$/, '$1'));
        await t.idle();
        expect(t.sys.emulator.callLog().length).toBe(before);
      },
    );

    it('lists every bad field of one body at once', async () => {
      const res = await t.api(
        'POST',
        '/v1/nodepool-requests',
        ens((r) => {
          r.ScalingGroup.SystemDiskSize = 15;
          r.ScalingGroup.VswitchIds = [];
          delete r.ScalingGroup.ImageId;
        }),
      );
      expect(res.json.errors).toContainEqual({ path: 'request.ScalingGroup.SystemDiskSize', message: 'must be a multiple of 10' });
      expect([...new Set(res.json.errors.map((e: any) => e.path))].sort()).toEqual([
        'request.ScalingGroup.ImageId',
        'request.ScalingGroup.SystemDiskSize',
        'request.ScalingGroup.VswitchIds',
      ]);
    });

    it('accepts the reference examples as written', async () => {
      const a = await t.api('POST', '/v1/nodepool-requests', ens());
      const b = await t.api(
        'POST',
        '/v1/nodepool-requests',
        ack((r) => {
          r.scaling_group = { ...r.scaling_group, instance_charge_type: 'PrePaid', period: 1, period_unit: 'Month', auto_renew: true, auto_renew_period: 1 };
          r.kubernetes_config.node_name_mode = 'customized,aliyun.com,5,test';
          r.management = { enable: false, upgrade_config: { auto_upgrade: true, surge: 1, max_unavailable: 1 } };
        }),
      );
      expect([a.status, b.status]).toEqual([202, 202]);
      await t.idle();
    });

    it('refuses a missing or unknown provider, naming provider', async () => {
      for (const body of [{ request: {} }, { provider: 'gke', request: {} }]) {
        const res = await t.api('POST', '/v1/nodepool-requests', body);
        expect(res.status).toBe(400);
        expect(res.json.errors).toEqual([{ path: 'provider', message: expect.any(String) }]);
      }
    });

    it('refuses an Idempotency-Key that is too long or has spaces', async () => {
      for (const key of ['a'.repeat(256), 'has space']) {
        const res = await t.api('POST', '/v1/nodepool-requests', ens(), { 'idempotency-key': key });
        expect(res.status).toBe(400);
        expect(res.json.errors[0].path).toBe('header.Idempotency-Key');
      }
    });
  });

  describe('bodies', () => {
    it('answers malformed JSON with 400, a wrong content type with 415 and an oversized body with 413', async () => {
      const malformed = await t.api('POST', '/v1/nodepool-requests', '{"provider": "ens", "Password": Hunter2Secret}');
      expect(malformed).toMatchObject({ status: 400, json: { type: expect.stringContaining('malformed-json') } });
      expect(malformed.text).not.toContain('Hunter2');
      const text = await t.api('POST', '/v1/nodepool-requests', 'provider=ens', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(text.status).toBe(415);
      const big = await t.api('POST', '/v1/nodepool-requests', JSON.stringify({ provider: 'ens', pad: 'x'.repeat(70_000) }));
      expect(big.status).toBe(413);
      expect(big.json.detail).toContain('65536');
    });
  });

  describe('authentication', () => {
    it('answers 401 without a token or with a wrong one, and leaves /healthz open', async () => {
      const none = await fetch(`${t.sys.apiUrl}/v1/nodepool-requests`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      const wrong = await t.api('GET', '/v1/nodepool-requests', undefined, { authorization: 'Bearer not-the-token-at-all' });
      expect(wrong.status).toBe(401);
      const basic = await t.api('POST', '/v1/nodepool-requests', ens(), { authorization: `Basic ${Buffer.from(`u:${TEST_TOKEN}`).toString('base64')}` });
      expect(basic.status).toBe(401);
      const health = await fetch(`${t.sys.apiUrl}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', store: backend.name });
    });
  });

  describe('status and listing', () => {
    it('answers an unknown request with 404 and an unknown route with 404, a wrong method with 405', async () => {
      expect((await t.api('GET', '/v1/nodepool-requests/npr_01M81VNY51ZA10783VQQS208T7')).status).toBe(404);
      expect((await t.api('GET', '/v1/nodepool-requests/..%2Fetc')).status).toBe(404);
      expect((await t.api('GET', '/v2/things')).status).toBe(404);
      const del = await t.api('DELETE', '/v1/nodepool-requests');
      expect(del.status).toBe(405);
      expect(del.headers.get('allow')).toBe('GET, POST');
    });

    it('filters by state and cluster and pages with a cursor', async () => {
      const cluster = await t.admin('POST', '/clusters', { provider: 'ens' });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push((await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(cluster.id, uniqueName()) })).json.id);
      await t.idle();
      const p1 = await t.api('GET', `/v1/nodepool-requests?clusterId=${cluster.id}&limit=2`);
      const p2 = await t.api('GET', `/v1/nodepool-requests?clusterId=${cluster.id}&limit=2&cursor=${p1.json.nextCursor}`);
      expect([...p1.json.items, ...p2.json.items].map((r: any) => r.id)).toEqual([...ids].reverse());
      expect(p2.json.nextCursor).toBeNull();
      const creating = await t.api('GET', `/v1/nodepool-requests?clusterId=${cluster.id}&state=creating`);
      expect(creating.json.items).toHaveLength(3);
      const bad = await t.api('GET', '/v1/nodepool-requests?state=sleeping&limit=1000&colour=red');
      expect(bad.status).toBe(400);
      expect(bad.json.errors.map((e: any) => e.path).sort()).toEqual(['query.colour', 'query.limit', 'query.state']);
    });
  });
});
