/**
 * Dry runs: the pre-flight checks against the emulator's own answers (cluster, name, vSwitches,
 * offers, the pool, guard rails), the exact call with secrets masked, nothing stored and no
 * write call; and a real request failing the same check before any write.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ackReferenceRequest, ensReferenceRequest } from '../../sandbox/examples.js';
import { ackExample, ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const WRITE = /^(Create|Scale|Delete|Modify)/;

describe('dry runs', () => {
  const t = useSystem(backends[0]!);
  const writes = () => t.sys.emulator.callLog().filter((c) => WRITE.test(c.action));
  const statuses = (json: any) => Object.fromEntries(json.checks.map((c: any) => [c.name, c.status]));

  it("passes every check for the seed's example requests, shows the exact call, and changes nothing", async () => {
    const before = { writes: writes().length, requests: (await t.api('GET', '/v1/nodepool-requests?limit=100')).json.items.length };
    const ens = await t.api('POST', '/v1/nodepool-requests', {
      provider: 'ens',
      request: ensReferenceRequest(SEED_ENS_CLUSTER, uniqueName('dry')),
      dryRun: true,
    });
    expect(ens.status).toBe(200);
    expect(ens.json).toMatchObject({ dryRun: true, ok: true, operation: 'create', provider: 'ens', clusterId: SEED_ENS_CLUSTER });
    expect(statuses(ens.json)).toEqual({ cluster: 'passed', nodepoolName: 'passed', vSwitches: 'passed', instanceTypes: 'passed', diskCategories: 'passed' });
    expect(ens.json.call).toMatchObject({ action: 'CreateClusterNodePool', version: '2017-11-10', style: 'RPC', method: 'POST', pathname: '/' });
    expect(JSON.parse(ens.json.call.query.ScalingGroup)).toMatchObject({ InstanceTypes: ['ens.sn1.small'], VswitchIds: ['vsw-58eu2p6v64qw8ihhit1wz7wgv'] });

    const ack = await t.api('POST', '/v1/nodepool-requests?dryRun=true', {
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      request: ackReferenceRequest(uniqueName('dry')),
    });
    expect(ack.json).toMatchObject({
      ok: true,
      call: { action: 'CreateClusterNodePool', method: 'POST', pathname: `/clusters/${SEED_ACK_CLUSTER}/nodepools` },
    });
    expect(statuses(ack.json)).toEqual({
      cluster: 'passed',
      nodepoolName: 'passed',
      vSwitches: 'passed',
      instanceTypes: 'passed',
      diskCategories: 'passed',
      clusterBusy: 'passed',
    });
    // Secrets are masked in the call shown.
    const withPassword = await t.api('POST', '/v1/nodepool-requests?dryRun=true', {
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      request: ackExample(uniqueName('dry'), { login_password: 'Secret-123!' }),
    });
    expect(withPassword.json.call.body.scaling_group.login_password).toBe('******');
    expect(withPassword.text).not.toContain('Secret-123!');
    const ensPassword = await t.api('POST', '/v1/nodepool-requests?dryRun=true', {
      provider: 'ens',
      request: ensExample(SEED_ENS_CLUSTER, uniqueName('dry'), { Password: 'Ens-Secret-9!' }),
    });
    expect(ensPassword.json.ok).toBe(true);
    expect(ensPassword.text).not.toContain('Ens-Secret-9!');

    expect(writes().length).toBe(before.writes);
    expect((await t.api('GET', '/v1/nodepool-requests?limit=100')).json.items.length).toBe(before.requests);
  });

  it('fails by name: a vSwitch of another region, an instance type the region does not offer, a taken name', async () => {
    const before = writes().length;
    await t.admin('POST', '/vswitches', { provider: 'ens', id: 'vsw-elsewhere01', regionId: 'cn-hangzhou-9' });
    const otherRegion = await t.api('POST', '/v1/nodepool-requests?dryRun=true', {
      provider: 'ens',
      request: ensExample(SEED_ENS_CLUSTER, uniqueName('dry'), { VswitchIds: ['vsw-elsewhere01'] }),
    });
    expect(otherRegion.json.ok).toBe(false);
    expect(otherRegion.json.checks.find((c: any) => c.name === 'vSwitches')).toMatchObject({
      status: 'failed',
      code: 'VSwitchNotInRegion',
      detail: expect.stringContaining('vsw-elsewhere01'),
    });

    const type = await t.api('POST', '/v1/nodepool-requests?dryRun=true', {
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      request: ackExample(uniqueName('dry'), { instance_types: ['ecs.g7.large', 'ecs.nope.huge'] }),
    });
    expect(type.json.checks.find((c: any) => c.name === 'instanceTypes')).toMatchObject({
      status: 'failed',
      code: 'InstanceTypeNotOffered',
      detail: 'cn-beijing does not offer ecs.nope.huge',
    });

    const taken = await t.api('POST', '/v1/nodepool-requests?dryRun=true', {
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      request: ackExample('default-nodepool'),
    });
    expect(taken.json.checks.find((c: any) => c.name === 'nodepoolName')).toMatchObject({ status: 'failed', code: 'NodePoolAlreadyExists' });
    expect(writes().length).toBe(before);
  });

  it('checks a scale and a delete against the pool: the exact call, the guard rails, a missing pool', async () => {
    const scale = await t.api('POST', '/v1/nodepool-requests', {
      operation: 'scale',
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      nodepoolName: 'default-nodepool',
      desiredSize: 5,
      dryRun: true,
    });
    expect(scale.json).toMatchObject({ ok: true, call: { action: 'ModifyClusterNodePool', method: 'PUT', body: { scaling_group: { desired_size: 5 } } } });
    const del = await t.api('POST', '/v1/nodepool-requests?dryRun=true', {
      operation: 'delete',
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      nodepoolName: 'default-nodepool',
      confirm: 'default-nodepool',
    });
    expect(del.json.ok).toBe(false);
    expect(del.json.checks.find((c: any) => c.name === 'guardRails')).toMatchObject({ status: 'failed', code: 'DefaultNodePool' });
    const missing = await t.api('POST', '/v1/nodepool-requests?dryRun=true', {
      operation: 'scale',
      provider: 'ens',
      clusterId: SEED_ENS_CLUSTER,
      nodepoolName: 'no-such-pool',
      desiredSize: 1,
    });
    expect(missing.json.checks.find((c: any) => c.name === 'nodepool')).toMatchObject({ status: 'failed', code: 'NodePoolNotFound' });
    expect(
      writes()
        .filter((c) => c.clusterId === SEED_ACK_CLUSTER || c.clusterId === SEED_ENS_CLUSTER)
        .filter((c) => c.action !== 'CreateClusterNodePool'),
    ).toEqual([]);
  });

  it('refuses a bad dryRun parameter and an unknown one with 400', async () => {
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('dry')) };
    const bad = await t.api('POST', '/v1/nodepool-requests?dryRun=yes&x=1', body);
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: any) => e.path).sort()).toEqual(['query.dryRun', 'query.x']);
    const badBody = await t.api('POST', '/v1/nodepool-requests', { ...body, dryRun: 'yes' });
    expect(badBody.json.errors).toEqual([{ path: 'dryRun', message: 'must be true or false, not string' }]);
  });

  it('fails a real request on the same check before any write call', async () => {
    await t.admin('PUT', '/offers/ens/cn-guiyang-14', { instanceTypes: ['ens.sn1.medium'] });
    // What a region offers is kept for 5 minutes (src/cloud/catalog.ts): let that pass.
    t.advanceTime(5 * 60_000 + 1);
    try {
      const name = uniqueName('real');
      const post = await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) });
      expect(post.status).toBe(202);
      await t.idle();
      const r = await t.api('GET', `/v1/nodepool-requests/${post.json.id}`);
      expect(r.json).toMatchObject({ state: 'failed', lastError: { code: 'InstanceTypeNotOffered', message: 'cn-guiyang-14 does not offer ens.sn1.small' } });
      expect(r.json.history.map((h: any) => h.note).join('\n')).toContain('pre-flight check instanceTypes failed');
      expect(t.sys.emulator.callLog({ action: 'CreateClusterNodePool' }).filter((c) => (c.params as any).NodepoolInfo?.Name === name)).toEqual([]);
    } finally {
      await t.admin('PUT', '/offers/ens/cn-guiyang-14', {
        instanceTypes: ['ens.sn1.tiny', 'ens.sn1.stiny', 'ens.sn1.small', 'ens.sn1.medium', 'ens.sn1.large', 'ens.sn1.xlarge'],
      });
    }
  });
});
