/**
 * Parity with the official models: every answer the emulator gives has exactly the keys of
 * the official generated SDK's response model, at every level, no more and no fewer. ACK's
 * models are read from @alicloud/cs20151215 itself (each model class lists its wire names and
 * types); ENS's SDK is not on npm, so its key trees are a fixture written from the public
 * generated source (test/fixtures/ens-2017-11-10.models.json, which names its source).
 */
import { readFileSync } from 'node:fs';
import * as cs from '@alicloud/cs20151215';
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER } from '../../sandbox/cloud-emulator.js';
import type { ApiSpec } from '../../src/cloud/index.js';
import { ensRpc, OpenApiTransport } from '../../src/cloud/index.js';
import { ackExample, ensExample, KEYS, uniqueName, useEmulator } from '../helpers/cloud.js';

type Tree = 'scalar' | 'any' | Tree[] | { [key: string]: Tree };
type ModelClass = { names(): Record<string, string>; types(): Record<string, unknown> };

const env = useEmulator({ timing: { speed: 600 } });
const ENS_MODELS = JSON.parse(readFileSync('test/fixtures/ens-2017-11-10.models.json', 'utf8')) as Record<string, Tree>;
const VPC_ECS_MODELS = JSON.parse(readFileSync('test/fixtures/vpc-ecs.models.json', 'utf8')) as Record<string, Tree>;
const exported = cs as unknown as Record<string, unknown> & { default: Record<string, unknown> };
const models = exported.CreateClusterNodePoolResponseBody ? exported : exported.default;

/** The key tree of an SDK model class: wire names, nested models, arrays; a free-form map is `any`. */
function treeOf(model: ModelClass): Tree {
  const names = model.names();
  const types = model.types();
  const out: Record<string, Tree> = {};
  for (const [prop, wire] of Object.entries(names)) out[wire] = typeTree(types[prop]);
  return out;
}

function typeTree(t: unknown): Tree {
  if (typeof t === 'string') return t === 'any' ? 'any' : 'scalar';
  if (typeof t === 'function') return treeOf(t as unknown as ModelClass);
  const spec = t as { type?: string; itemType?: unknown };
  if (spec?.type === 'array') return [typeTree(spec.itemType)];
  return 'any';
}

function model(name: string): Tree {
  const m = models[name] as ModelClass | undefined;
  if (!m) throw new Error(`@alicloud/cs20151215 has no model ${name}`);
  return treeOf(m);
}

/** Every difference between an answer's keys and a model's, as paths. */
function differences(answer: unknown, tree: Tree, path = ''): string[] {
  if (tree === 'any' || tree === 'scalar') return [];
  if (Array.isArray(tree)) {
    if (!Array.isArray(answer)) return [`${path}: an array in the model`];
    return answer.flatMap((item, i) => differences(item, tree[0]!, `${path}[${i}]`));
  }
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) return [`${path}: an object in the model`];
  const got = Object.keys(answer);
  const want = Object.keys(tree);
  return [
    ...got.filter((k) => !want.includes(k)).map((k) => `${path}.${k}: not in the model`),
    ...want.filter((k) => !got.includes(k)).map((k) => `${path}.${k}: missing`),
    ...want.filter((k) => got.includes(k)).flatMap((k) => differences((answer as Record<string, unknown>)[k], tree[k]!, `${path}.${k}`)),
  ];
}

const roa = (action: string, method: ApiSpec['method'], pathname: string): ApiSpec => ({
  action,
  version: '2015-12-15',
  style: 'ROA',
  method,
  pathname,
  reqBodyType: 'json',
  bodyType: 'json',
});
const toQuery = (params: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));

async function call(spec: ApiSpec, request: { query?: Record<string, string>; body?: unknown }): Promise<Record<string, unknown>> {
  return (await new OpenApiTransport(env.url, KEYS).call<Record<string, unknown>>(spec, request)).body;
}

describe('parity with the official SDK models', () => {
  it('ENS: CreateClusterNodePool, DescribeClusterNodePools and DescribeClusterNodes answer with exactly the model keys', async () => {
    const cluster = env.emulator.addCluster({ provider: 'ens', id: 'eck-parity01' });
    const withPassword = await call(ensRpc('CreateClusterNodePool'), { query: toQuery(ensExample(cluster.id, uniqueName('p'))) });
    const minimal = await call(ensRpc('CreateClusterNodePool'), {
      query: toQuery({
        ClusterId: cluster.id,
        NodepoolInfo: { Name: uniqueName('m') },
        ScalingGroup: { DesiredSize: 2, ImageId: 'm-1', InstanceTypes: ['t'], VswitchIds: ['v'], KeyPairName: 'k', DataDisks: [{ Size: 20 }] },
      }),
    });
    const nodepoolId = (minimal.Nodepool as { NodepoolInfo: { NodepoolId: string } }).NodepoolInfo.NodepoolId;
    const list = await call(ensRpc('DescribeClusterNodePools'), { query: { ClusterId: cluster.id, PageNumber: '1', PageSize: '10' } });
    const nodes = await call(ensRpc('DescribeClusterNodes'), { query: { ClusterId: cluster.id, NodepoolId: nodepoolId, PageNumber: '1', PageSize: '10' } });
    expect(differences(withPassword, ENS_MODELS.CreateClusterNodePool!).join('\n')).toBe('');
    expect(differences(minimal, ENS_MODELS.CreateClusterNodePool!).join('\n')).toBe('');
    expect(differences(list, ENS_MODELS.DescribeClusterNodePools!).join('\n')).toBe('');
    expect((nodes.Nodes as unknown[]).length).toBe(2);
    expect(differences(nodes, ENS_MODELS.DescribeClusterNodes!).join('\n')).toBe('');
    // the listing's model has no failed count (the create answer keeps the one its reference shows)
    expect(JSON.stringify(list)).not.toContain('FailedNodes');
  });

  it('ACK: create, list, detail and task answer with exactly the keys of @alicloud/cs20151215', async () => {
    const cluster = env.emulator.addCluster({ provider: 'ack', regionId: 'cn-beijing' });
    const base = `/clusters/${cluster.id}/nodepools`;
    const created = await call(roa('CreateClusterNodePool', 'POST', base), { body: ackExample(uniqueName('w')) });
    const list = await call(roa('DescribeClusterNodePools', 'GET', base), {});
    const detail = await call(roa('DescribeClusterNodePoolDetail', 'GET', `${base}/${created.nodepool_id}`), {});
    const task = await call(roa('DescribeTaskInfo', 'GET', `/tasks/${created.task_id}`), {});
    expect(differences(created, model('CreateClusterNodePoolResponseBody')).join('\n')).toBe('');
    expect(differences(list, model('DescribeClusterNodePoolsResponseBody')).join('\n')).toBe('');
    expect(differences(detail, model('DescribeClusterNodePoolDetailResponseBody')).join('\n')).toBe('');
    expect(differences(task, model('DescribeTaskInfoResponseBody')).join('\n')).toBe('');
  });

  it('ENS: scale, delete and the pre-flight reads answer with exactly the model keys', async () => {
    const cluster = env.emulator.addCluster({ provider: 'ens', id: 'eck-parity02', pools: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    const [a, b, c] = env.emulator.world.listedPools(cluster.id);
    const nodes = await call(ensRpc('DescribeClusterNodes'), { query: { ClusterId: cluster.id, NodepoolId: b!.id, PageNumber: '1', PageSize: '10' } });
    const node = (nodes.Nodes as Array<{ InstanceId: string }>)[0]!.InstanceId;
    const answers = {
      ScaleClusterNodePool: await call(ensRpc('ScaleClusterNodePool'), {
        query: { ClusterId: cluster.id, NodepoolId: a!.id, Body: JSON.stringify({ Count: 3 }) },
      }),
      DeleteClusterNodes: await call(ensRpc('DeleteClusterNodes'), {
        query: { ClusterId: cluster.id, Body: JSON.stringify({ Nodes: [node] }), ReleaseNode: 'true' },
      }),
      DeleteClusterNodePool: await call(ensRpc('DeleteClusterNodePool'), { query: { ClusterId: cluster.id, NodepoolId: c!.id } }),
      DescribeClusterDetail: await call(ensRpc('DescribeClusterDetail'), { query: { ClusterId: cluster.id } }),
      DescribeVSwitches: await call(ensRpc('DescribeVSwitches'), { query: { EnsRegionId: cluster.regionId, 'VSwitchIds.1': 'vsw-parity' } }),
      DescribeAvailableResource: await call(ensRpc('DescribeAvailableResource'), {}),
      DescribeCloudDiskTypes: await call({ ...ensRpc('DescribeCloudDiskTypes'), method: 'GET' }, { query: { EnsRegionId: cluster.regionId } }),
    };
    for (const [action, answer] of Object.entries(answers)) expect(`${action}${differences(answer, ENS_MODELS[action]!).join('\n')}`).toBe(action);
    expect((answers.DescribeVSwitches.VSwitches as { VSwitch: unknown[] }).VSwitch).toHaveLength(1);
  });

  it('ACK: modify, scale, delete, their tasks and the cluster detail answer with exactly the keys of @alicloud/cs20151215', async () => {
    // One operation per cluster at a time: a cluster for each.
    const pool = (name: string) => {
      const cluster = env.emulator.addCluster({ provider: 'ack', regionId: 'cn-beijing', pools: [{ name }] });
      return `/clusters/${cluster.id}/nodepools/${env.emulator.world.listedPools(cluster.id)[0]!.id}`;
    };
    const modified = await call(roa('ModifyClusterNodePool', 'PUT', pool('m')), { body: { scaling_group: { desired_size: 1 } } });
    const scaled = await call(roa('ScaleClusterNodePool', 'POST', pool('s')), { body: { count: 1 } });
    const deleted = await call({ ...roa('DeleteClusterNodepool', 'DELETE', pool('d')) }, { query: { force: 'true' } });
    const detail = await call(roa('DescribeClusterDetail', 'GET', `/clusters/${SEED_ACK_CLUSTER}`), {});
    const task = await call(roa('DescribeTaskInfo', 'GET', `/tasks/${modified.task_id}`), {});
    expect(differences(modified, model('ModifyClusterNodePoolResponseBody')).join('\n')).toBe('');
    expect(differences(scaled, model('ScaleClusterNodePoolResponseBody')).join('\n')).toBe('');
    expect(differences(deleted, model('DeleteClusterNodepoolResponseBody')).join('\n')).toBe('');
    expect(differences(detail, model('DescribeClusterDetailResponseBody')).join('\n')).toBe('');
    expect(differences(task, model('DescribeTaskInfoResponseBody')).join('\n')).toBe('');
    expect(task).toMatchObject({ task_type: 'nodepool_update', state: 'running' });
  });

  it('VPC DescribeVSwitches and ECS DescribeAvailableResource answer with exactly the keys of their SDK models', async () => {
    const rpc = (action: string, version: string): ApiSpec => ({
      action,
      version,
      style: 'RPC',
      method: 'POST',
      pathname: '/',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const vsw = await call(rpc('DescribeVSwitches', '2016-04-28'), { query: { RegionId: 'cn-beijing', VSwitchId: 'vsw-parity' } });
    const types = await call(rpc('DescribeAvailableResource', '2014-05-26'), {
      query: { RegionId: 'cn-beijing', DestinationResource: 'InstanceType', InstanceType: 'ecs.g7.large' },
    });
    const disks = await call(rpc('DescribeAvailableResource', '2014-05-26'), {
      query: { RegionId: 'cn-beijing', DestinationResource: 'SystemDisk', ResourceType: 'instance', InstanceType: 'ecs.g7.large' },
    });
    expect(differences(vsw, VPC_ECS_MODELS['vpc:DescribeVSwitches']!).join('\n')).toBe('');
    expect(differences(types, VPC_ECS_MODELS['ecs:DescribeAvailableResource']!).join('\n')).toBe('');
    expect(differences(disks, VPC_ECS_MODELS['ecs:DescribeAvailableResource']!).join('\n')).toBe('');
    expect(JSON.stringify(disks)).toContain('"Value":"cloud_essd"');
  });

  it('fails when an answer gains or loses a key', () => {
    const tree = ENS_MODELS.DescribeClusterNodes!;
    const answer = {
      Nodes: [
        { ClusterId: 'c', EnsRegionId: 'r', ImageId: 'i', InstanceId: 'i-1', IpAddress: [], NodepoolId: 'np', PayType: 'p', State: 'running', Failed: true },
      ],
      Page: { PageNumber: 1, PageSize: 10 },
      RequestId: 'x',
    };
    expect(differences(answer, tree)).toEqual(['.Nodes[0].Failed: not in the model', '.Page.TotalCount: missing']);
  });
});
