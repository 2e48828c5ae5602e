/**
 * The ENS half of the emulator, driven by the real @alicloud/openapi-client over HTTP:
 * field-for-field answers, every constraint of the CreateClusterNodePool reference,
 * pagination, and the three ways a request can be signed.
 */

import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as openapi from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { type ApiSpec, CloudError, ensRpc, OpenApiClient, OpenApiTransport, type StaticCredentials } from '../../src/cloud/index.js';
import { ensExample, KEYS, uniqueName, useEmulator } from '../helpers/cloud.js';

// Protocol tests send many creates quickly; flow control has its own tests.
const env = useEmulator({ rateLimits: { CreateClusterNodePool: 10_000, DescribeClusterNodePools: 10_000 } });

const CREATE = ensRpc('CreateClusterNodePool');
const DESCRIBE = ensRpc('DescribeClusterNodePools');

/** Sends raw parameters the way the generated SDK does: nested objects as JSON strings. */
function toQuery(params: Record<string, unknown>): Record<string, string> {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return q;
}

async function call(spec: ApiSpec, params: Record<string, unknown>, credentials: StaticCredentials = KEYS): Promise<Record<string, any>> {
  const t = new OpenApiTransport(env.url, credentials);
  return (await t.call<Record<string, any>>(spec, { query: toQuery(params) })).body;
}

async function callError(spec: ApiSpec, params: Record<string, unknown>, credentials: StaticCredentials = KEYS): Promise<CloudError> {
  try {
    await call(spec, params, credentials);
  } catch (e) {
    return e as CloudError;
  }
  throw new Error('expected the call to fail');
}

describe('ENS CreateClusterNodePool', () => {
  it('answers the reference example field for field, with the password masked', async () => {
    // Act
    const name = uniqueName('test1');
    const body = await call(CREATE, ensExample(SEED_ENS_CLUSTER, name));
    // Assess
    expect(body.RequestId).toMatch(/^[0-9A-F-]{36}$/);
    const np = body.Nodepool;
    expect(Object.keys(np).sort()).toEqual(['ClusterId', 'KubernetesConfig', 'NodepoolInfo', 'ScalingGroup', 'Status']);
    expect(np.ClusterId).toBe(SEED_ENS_CLUSTER);
    expect(np.NodepoolInfo).toEqual({ Name: name, EnsRegionId: 'cn-guiyang-14', NodepoolId: expect.stringMatching(/^np[0-9a-f]{32}$/) });
    expect(np.ScalingGroup).toEqual({
      VswitchIds: ['vsw-58eu2p6v64qw8ihhit1wz7wgv'],
      DataDisks: [{ Category: 'cloud_efficiency', Size: 80 }],
      InstanceChargeType: 'PostPaid',
      InstanceTypes: ['ens.sn1.small'],
      SystemDiskCategory: 'cloud_efficiency',
      SystemDiskSize: 80,
      ImageId: 'm-6734fzvcwcv2o8jj201cpa7ox',
      KeyPairName: 'key-pair-name',
      Password: '**********',
    });
    expect(np.KubernetesConfig).toEqual({ PreUserData: 'ZWNobyBvawo=', UserData: 'ZWNobyBvawo=' });
    expect(np.Status).toEqual({ State: 'scaling', TotalNodes: 3, DesiredNodes: 3, ServingNodes: 0, InitialNodes: 3, RemovingNodes: 0, FailedNodes: 0 });
  });

  it('never writes the password into its call log', async () => {
    const name = uniqueName();
    await call(CREATE, ensExample(SEED_ENS_CLUSTER, name, { Password: 'Sup3r-Secret-Value' }));
    const log = JSON.stringify(env.emulator.callLog({ action: 'CreateClusterNodePool' }));
    expect(log).toContain(name);
    expect(log).not.toContain('Sup3r-Secret-Value');
  });

  const broken: Array<[string, (p: ReturnType<typeof ensExample>) => Record<string, unknown>, string]> = [
    ['ClusterId missing', (p) => ({ ...p, ClusterId: undefined }), 'ClusterId'],
    ['NodepoolInfo missing', (p) => ({ ...p, NodepoolInfo: undefined }), 'NodepoolInfo'],
    ['NodepoolInfo not JSON', (p) => ({ ...p, NodepoolInfo: 'Name=x' }), 'NodepoolInfo'],
    ['Name missing', (p) => ({ ...p, NodepoolInfo: {} }), 'NodepoolInfo.Name'],
    ['ScalingGroup missing', (p) => ({ ...p, ScalingGroup: undefined }), 'ScalingGroup'],
    ['ImageId missing', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, ImageId: undefined } }), 'ScalingGroup.ImageId'],
    ['InstanceTypes missing', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, InstanceTypes: undefined } }), 'ScalingGroup.InstanceTypes'],
    ['InstanceTypes empty', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, InstanceTypes: [] } }), 'ScalingGroup.InstanceTypes'],
    ['VswitchIds missing', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, VswitchIds: undefined } }), 'ScalingGroup.VswitchIds'],
    ['VswitchIds empty', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, VswitchIds: [] } }), 'ScalingGroup.VswitchIds'],
    ['SystemDiskSize below 20', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, SystemDiskSize: 10 } }), 'ScalingGroup.SystemDiskSize'],
    ['SystemDiskSize not a multiple of 10', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, SystemDiskSize: 85 } }), 'ScalingGroup.SystemDiskSize'],
    [
      'data disk below 20',
      (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, DataDisks: [{ Category: 'cloud_ssd', Size: 10 }] } }),
      'ScalingGroup.DataDisks.1.Size',
    ],
    [
      'data disk not a multiple of 10',
      (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, DataDisks: [{ Size: 20 }, { Size: 45 }] } }),
      'ScalingGroup.DataDisks.2.Size',
    ],
    [
      'neither KeyPairName nor Password',
      (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, KeyPairName: undefined, Password: undefined } }),
      'ScalingGroup.KeyPairName',
    ],
    ['SystemDiskCategory unknown', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, SystemDiskCategory: 'cloud_essd' } }), 'ScalingGroup.SystemDiskCategory'],
    ['DesiredSize negative', (p) => ({ ...p, ScalingGroup: { ...p.ScalingGroup, DesiredSize: -1 } }), 'ScalingGroup.DesiredSize'],
    ['PreUserData not Base64', (p) => ({ ...p, KubernetesConfig: { PreUserData: 'echo ok' } }), 'KubernetesConfig.PreUserData'],
    ['UserData not Base64', (p) => ({ ...p, KubernetesConfig: { UserData: 'ZWNobyBvawo' } }), 'KubernetesConfig.UserData'],
  ];

  it.each(broken)('refuses a request with %s, naming the field', async (_label, mutate, field) => {
    const before = env.emulator.world.pools.size;
    const err = await callError(CREATE, mutate(ensExample(SEED_ENS_CLUSTER, uniqueName())));
    expect(err).toBeInstanceOf(CloudError);
    expect(err.statusCode).toBe(400);
    expect(err.retryable).toBe(false);
    expect(`${err.code} ${err.message}`).toContain(field);
    expect(err.code).toMatch(/^(MissingParameter|InvalidParameter)/);
    expect(env.emulator.world.pools.size).toBe(before);
  });

  it('accepts a key pair without a password and a password without a key pair', async () => {
    const a = await call(CREATE, ensExample(SEED_ENS_CLUSTER, uniqueName(), { Password: undefined }));
    // every key of the model is there; a password nobody gave is empty
    expect(a.Nodepool.ScalingGroup.Password).toBe('');
    const b = await call(CREATE, ensExample(SEED_ENS_CLUSTER, uniqueName(), { KeyPairName: undefined }));
    expect(b.Nodepool.ScalingGroup.Password).toBe('**********');
  });

  it('answers an unknown cluster with a final error naming ClusterId', async () => {
    const err = await callError(CREATE, ensExample('eck-00000000', uniqueName()));
    expect(err.code).toBe('InvalidParameter.ClusterId');
    expect(err.message).toContain('eck-00000000');
    expect(err.requestId).toMatch(/^[0-9A-F-]{36}$/);
  });

  it('answers an action it does not implement with 501 NotImplemented', async () => {
    const err = await callError({ ...CREATE, action: 'RebootInstance' }, { ClusterId: SEED_ENS_CLUSTER });
    expect(err.statusCode).toBe(501);
    expect(err.code).toBe('NotImplemented');
  });
});

describe('ENS DescribeClusterNodePools', () => {
  it('pages through the pools of a cluster with Page{PageNumber, PageSize, TotalCount}', async () => {
    // Prepare: a fresh cluster with 23 pools
    const res = await fetch(`${env.url}/_sandbox/clusters`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'ens', pools: Array.from({ length: 23 }, (_, i) => ({ name: `p${i}`, desired: 1 })) }),
    });
    const cluster = (await res.json()) as { id: string };
    // Act
    const pages = [];
    for (let n = 1; n <= 3; n++) pages.push(await call(DESCRIBE, { ClusterId: cluster.id, PageNumber: String(n), PageSize: '10' }));
    // Assess
    expect(pages.map((p) => p.NodePools.length)).toEqual([10, 10, 3]);
    expect(pages[2]!.Page).toEqual({ PageNumber: 3, PageSize: 10, TotalCount: 23 });
    const names = pages.flatMap((p) => p.NodePools.map((np: any) => np.NodepoolInfo.Name));
    expect(new Set(names).size).toBe(23);
    expect(pages[0]!.NodePools[0].Status).toEqual({
      State: 'active',
      TotalNodes: 1,
      DesiredNodes: 1,
      ServingNodes: 1,
      InitialNodes: 0,
      RemovingNodes: 0,
    });
  });

  it('refuses a page size over its maximum, naming PageSize', async () => {
    const err = await callError(DESCRIBE, { ClusterId: SEED_ENS_CLUSTER, PageNumber: '1', PageSize: '1000' });
    expect(err.code).toBe('InvalidParameter.PageSize');
  });
});

describe('signatures and credentials', () => {
  it('refuses a request signed with the wrong secret', async () => {
    const err = await callError(DESCRIBE, { ClusterId: SEED_ENS_CLUSTER }, { ...KEYS, accessKeySecret: 'not-the-secret' });
    expect(err.code).toBe('SignatureDoesNotMatch');
    expect(err.statusCode).toBe(400);
    expect(err.retryable).toBe(false);
    expect(env.emulator.callLog({ outcome: 'SignatureDoesNotMatch' }).length).toBeGreaterThan(0);
  });

  it('refuses an unknown access key with InvalidAccessKeyId.NotFound', async () => {
    const err = await callError(DESCRIBE, { ClusterId: SEED_ENS_CLUSTER }, { accessKeyId: 'LTAI-nobody', accessKeySecret: 'x' });
    expect(err.code).toBe('InvalidAccessKeyId.NotFound');
    expect(err.statusCode).toBe(404);
  });

  it('refuses a tampered request: a parameter changed after signing', async () => {
    // Prepare: sign a request, then change the query on the wire
    const original = await signedRequest();
    const untouched = await replay(original);
    expect(untouched.status).toBe(200);
    // Act
    const { status, body } = await replay({ ...original, path: original.path.replace('PageSize=10', 'PageSize=20') });
    // Assess
    expect(status).toBe(400);
    expect(body.Code).toBe('SignatureDoesNotMatch');
    expect(Object.keys(body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
  });

  it('refuses a replayed signature nonce', async () => {
    const original = await signedRequest();
    expect((await replay(original)).status).toBe(200);
    const again = await replay(original);
    expect(again.body.Code).toBe('SignatureNonceUsed');
  });

  it('accepts RPC v2 HMAC-SHA1 signatures, and refuses them with a wrong secret', async () => {
    const make = (secret: string) =>
      new OpenApiClient(
        new openapi.Config({ ...KEYS, accessKeySecret: secret, endpoint: env.url.replace('http://', ''), protocol: 'http', signatureAlgorithm: 'v2' }),
      );
    const params = new openapi.Params({ ...DESCRIBE, protocol: 'HTTP', authType: 'AK' });
    const req = new openapi.OpenApiRequest({ query: { ClusterId: SEED_ENS_CLUSTER, PageNumber: '1', PageSize: '10' } });
    const ok = (await make(KEYS.accessKeySecret).callApi(params, req, new RuntimeOptions({}))) as { body: any };
    expect(ok.body.Page.PageNumber).toBe(1);
    expect(env.emulator.callLog().at(-1)?.signature).toBe('RPC-HMAC-SHA1');
    await expect(make('wrong').callApi(params, req, new RuntimeOptions({}))).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
  });

  it('accepts an STS token it issued, and refuses a wrong or expired one', async () => {
    const sts = env.emulator.issueSts('fc-role');
    const ok = await call(DESCRIBE, { ClusterId: SEED_ENS_CLUSTER }, sts);
    expect(ok.Page).toBeDefined();
    expect(env.emulator.callLog().at(-1)?.principal).toBe('role:fc-role');
    const wrong = await callError(DESCRIBE, { ClusterId: SEED_ENS_CLUSTER }, { ...sts, securityToken: 'CAISnot-the-token' });
    expect(wrong.code).toBe('InvalidSecurityToken.MismatchWithAccessKey');
    const missing = await callError(DESCRIBE, { ClusterId: SEED_ENS_CLUSTER }, { accessKeyId: sts.accessKeyId, accessKeySecret: sts.accessKeySecret });
    expect(missing.code).toBe('InvalidSecurityToken.Missing');
    env.emulator.clock.offset += 37 * 3600_000;
    try {
      const expired = await callError(DESCRIBE, { ClusterId: SEED_ENS_CLUSTER }, sts);
      expect(expired.code).toBe('InvalidSecurityToken.Expired');
    } finally {
      env.emulator.clock.offset -= 37 * 3600_000;
    }
  });
});

/**
 * Lets the real client sign one DescribeClusterNodePools request, captures it at a
 * throwaway server, and returns what it sent, so a test can replay or alter it.
 */
async function signedRequest(): Promise<{ path: string; headers: Record<string, string> }> {
  let captured: { path: string; headers: Record<string, string> } | undefined;
  const server = createServer((req, res) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    captured = { path: req.url ?? '/', headers };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  await new OpenApiTransport(`http://127.0.0.1:${port}`, KEYS).call(DESCRIBE, {
    query: { ClusterId: SEED_ENS_CLUSTER, PageNumber: '1', PageSize: '10' },
  });
  server.close();
  return captured!;
}

/** Sends a captured request to the emulator as it was signed (same Host header). */
function replay(r: { path: string; headers: Record<string, string> }): Promise<{ status: number; body: Record<string, string> }> {
  const target = new URL(env.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, method: 'POST', path: r.path, headers: r.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end();
  });
}
