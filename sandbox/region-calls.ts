/**
 * The read calls a dry run's pre-flight checks make, with the wire shapes of the official
 * SDK models (see catalog.ts for what the answers hold):
 * - ENS (2017-11-10; aliyun/alibabacloud-go-sdk ens-20171110 v12.1.3 models):
 *   DescribeClusterDetail (ClusterId; the cluster's fields flat, State among them: `running` is
 *   the reference's only example word), DescribeVSwitches (EnsRegionId, VSwitchIds.N; items in
 *   VSwitches.VSwitch[] with their EnsRegionId; PageSize at most 50), DescribeAvailableResource
 *   (no parameters; SupportResources.SupportResource[] of {EnsRegionId, InstanceSpec, ...};
 *   Code 0) and DescribeCloudDiskTypes (a GET; EnsRegionId; SupportResources.SupportResource[]
 *   of {Category, EnsRegionId}).
 * - VPC DescribeVSwitches (2016-04-28; @alicloud/vpc20160428 7.3.2 models): RegionId, VSwitchId;
 *   items in VSwitches.VSwitch[] carry their ZoneId, not a region (the endpoint's region).
 * - ECS DescribeAvailableResource (2014-05-26; @alicloud/ecs20140526 7.11.6 models): RegionId,
 *   DestinationResource InstanceType or SystemDisk (which needs InstanceType);
 *   AvailableZones.AvailableZone[].AvailableResources.AvailableResource[].SupportedResources.
 *   SupportedResource[] of {Value, Status, StatusCategory, Min, Max, Unit}. What it answers when
 *   nothing matches is not documented: an empty AvailableZone list here (a guess).
 * - ACK DescribeClusterDetail (GET /clusters/{id}; the @alicloud/cs20151215 model's keys).
 */

import { ackModel, shapeAs } from './ack-model.js';
import type { VSwitch } from './catalog.js';
import type { RoaContext, RpcContext } from './context.js';
import { errors } from './errors.js';
import type { Cluster, Provider, World } from './world.js';

type Json = Record<string, unknown>;

export const VPC_VERSION = '2016-04-28';
export const ECS_VERSION = '2014-05-26';

/** Flattened list parameters (`Name.1`, `Name.2`, ...), as the SDKs send plain arrays. */
function listParam(params: Record<string, string>, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; params[`${name}.${i}`] !== undefined; i++) out.push(params[`${name}.${i}`]!);
  return out;
}

function pageOf(params: Record<string, string>, max: number): { number: number; size: number } {
  const number = Number(params.PageNumber ?? 1);
  const size = Number(params.PageSize ?? 10);
  if (!Number.isInteger(number) || number < 1) throw errors.invalidParameter('PageNumber', 'It must be a positive integer.');
  if (!Number.isInteger(size) || size < 1 || size > max) throw errors.invalidParameter('PageSize', `It must be an integer from 1 to ${max}.`);
  return { number, size };
}

/** A page of a DescribeVSwitches answer: the same envelope for ENS and VPC, each with its own item keys. */
function vswitchPage(ctx: RpcContext, page: { number: number; size: number }, found: VSwitch[], item: (v: VSwitch) => Json): Json {
  return {
    RequestId: ctx.requestId,
    PageNumber: page.number,
    PageSize: page.size,
    TotalCount: found.length,
    VSwitches: { VSwitch: found.slice((page.number - 1) * page.size, page.number * page.size).map(item) },
  };
}

/** The regions a provider's world knows: its clusters' and those with a catalog of their own. */
function regionsOf(world: World, provider: Provider): string[] {
  const regions = new Set([...world.clusters.values()].filter((c) => c.provider === provider).map((c) => c.regionId));
  for (const r of world.catalog.regions(provider)) regions.add(r);
  return [...regions].sort();
}

function ensClusterDetail(ctx: RpcContext): Json {
  const id = ctx.params.ClusterId;
  if (!id) throw errors.missingParameter('ClusterId');
  const c = ctx.world.clusters.get(id);
  if (c?.provider !== 'ens') throw errors.ensClusterNotFound(id);
  return {
    AliUid: '',
    ClusterId: c.id,
    // The kubeconfig and the join token are secrets: the emulator has none to give.
    Config: '',
    ContainerCidr: '',
    EnsRegionId: c.regionId,
    JoinToken: '',
    KubernetesVersion: '',
    LoadBalancerId: '',
    Name: c.name,
    PodVswitchIds: [],
    PublicAccess: false,
    ServiceCidr: '',
    State: c.state,
    VpcId: '',
    VswitchIds: [],
    ControlPlaneConfig: { ContainerRuntime: '', ImageId: '', InstanceSpec: '', NodePortRange: '', Size: 0, SystemDiskCategory: '', SystemDiskSize: 0 },
    RequestId: ctx.requestId,
  };
}

function ensVSwitches(ctx: RpcContext): Json {
  const page = pageOf(ctx.params, 50);
  const region = ctx.params.EnsRegionId;
  const ids = listParam(ctx.params, 'VSwitchIds');
  const wanted = ids.length ? ids : ctx.params.VSwitchId ? [ctx.params.VSwitchId] : [];
  // Without ids the registered ones; with ids, each as the region asked sees it (catalog.ts).
  const found = wanted.length
    ? wanted.flatMap((id) => {
        const known = ctx.world.catalog.vswitches.get(id);
        const v = region ? ctx.world.catalog.vswitchIn('ens', id, region) : known?.provider === 'ens' ? known : undefined;
        return v ? [v] : [];
      })
    : [...ctx.world.catalog.vswitches.values()].filter((v) => v.provider === 'ens' && (!region || v.regionId === region));
  return vswitchPage(ctx, page, found, (v) => ({
    VSwitchId: v.id,
    VSwitchName: v.id,
    EnsRegionId: v.regionId,
    NetworkId: `n-${v.id.slice(4, 20)}`,
    CidrBlock: '10.0.0.0/24',
    Status: 'Available',
    FreeIpCount: 250,
    CreatedTime: '2026-01-01T00:00:00Z',
    Description: '',
    Tags: { Tag: [] },
  }));
}

function ensAvailableResource(ctx: RpcContext): Json {
  const rows = regionsOf(ctx.world, 'ens').flatMap((region) =>
    ctx.world.catalog
      .offersIn('ens', region)
      .instanceTypes.map((spec) => ({ EnsRegionId: region, InstanceSpec: spec, SupportResourcesCount: '100', SystemDiskSize: '20', DataDiskSize: '20' })),
  );
  return { Code: 0, RequestId: ctx.requestId, Images: { Image: [] }, SupportResources: { SupportResource: rows } };
}

function ensCloudDiskTypes(ctx: RpcContext): Json {
  const region = ctx.params.EnsRegionId;
  const regions = region ? [region] : regionsOf(ctx.world, 'ens');
  const rows = regions.flatMap((r) => ctx.world.catalog.offersIn('ens', r).diskCategories.map((Category) => ({ Category, EnsRegionId: r })));
  return { RequestId: ctx.requestId, SupportResources: { SupportResource: rows } };
}

export const ensRegionActions: Record<string, (ctx: RpcContext) => Json> = {
  DescribeClusterDetail: ensClusterDetail,
  DescribeVSwitches: ensVSwitches,
  DescribeAvailableResource: ensAvailableResource,
  DescribeCloudDiskTypes: ensCloudDiskTypes,
};

function vpcVSwitches(ctx: RpcContext): Json {
  const region = ctx.params.RegionId;
  if (!region && !ctx.params.VpcId) throw errors.missingParameter('RegionId');
  const page = pageOf(ctx.params, 50);
  const id = ctx.params.VSwitchId;
  const found = id
    ? [ctx.world.catalog.vswitchIn('ack', id, region ?? '')].filter((v) => v !== undefined)
    : [...ctx.world.catalog.vswitches.values()].filter((v) => v.provider === 'ack' && v.regionId === region);
  return vswitchPage(ctx, page, found, (v) => ({
    VSwitchId: v.id,
    VSwitchName: v.id,
    VpcId: `vpc-${v.id.slice(4, 24)}`,
    ZoneId: v.zoneId,
    Status: 'Available',
    CidrBlock: '172.16.0.0/24',
    Ipv6CidrBlock: '',
    AvailableIpAddressCount: 250,
    CreationTime: '2026-01-01T00:00:00Z',
    Description: '',
    IsDefault: false,
    EnabledIpv6: false,
    NetworkAclId: '',
    OwnerId: 0,
    ResourceGroupId: '',
    ShareType: '',
    RouteTable: { RouteTableId: '', RouteTableType: 'System' },
    Tags: { Tag: [] },
  }));
}

export const vpcActions: Record<string, (ctx: RpcContext) => Json> = { DescribeVSwitches: vpcVSwitches };

function ecsAvailableResource(ctx: RpcContext): Json {
  const { params } = ctx;
  const region = params.RegionId;
  if (!region) throw errors.missingParameter('RegionId');
  const destination = params.DestinationResource;
  if (!destination) throw errors.missingParameter('DestinationResource');
  if (destination !== 'InstanceType' && destination !== 'SystemDisk') throw errors.notImplemented(`DestinationResource ${destination}`);
  const offers = ctx.world.catalog.offersIn('ack', region);
  const type = params.InstanceType;
  if (destination === 'SystemDisk' && !type) throw errors.missingParameter('InstanceType');
  const typeOffered = !type || offers.instanceTypes.includes(type);
  const values =
    destination === 'InstanceType'
      ? offers.instanceTypes.filter((t) => !type || t === type)
      : typeOffered
        ? offers.diskCategories.filter((c) => !params.SystemDiskCategory || c === params.SystemDiskCategory)
        : [];
  const zones = values.length
    ? [
        {
          RegionId: region,
          ZoneId: params.ZoneId ?? `${region}-a`,
          Status: 'Available',
          StatusCategory: 'WithStock',
          AvailableResources: {
            AvailableResource: [
              {
                Type: destination,
                SupportedResources: {
                  SupportedResource: values.map((Value) => ({
                    Value,
                    Status: 'Available',
                    StatusCategory: 'WithStock',
                    // The model has the size range on every item; only disks fill it.
                    ...(destination === 'SystemDisk' ? { Min: 20, Max: 2048, Unit: 'GiB' } : { Min: 0, Max: 0, Unit: '' }),
                  })),
                },
              },
            ],
          },
        },
      ]
    : [];
  return { RequestId: ctx.requestId, AvailableZones: { AvailableZone: zones } };
}

export const ecsActions: Record<string, (ctx: RpcContext) => Json> = { DescribeAvailableResource: ecsAvailableResource };

/** ACK DescribeClusterDetail, GET /clusters/{id}. */
export function ackClusterDetail(ctx: RoaContext, clusterId: string): Json {
  const c: Cluster | undefined = ctx.world.clusters.get(clusterId);
  if (c?.provider !== 'ack') throw errors.ackClusterNotFound(clusterId);
  return shapeAs(ackModel('DescribeClusterDetailResponseBody'), {
    cluster_id: c.id,
    name: c.name,
    region_id: c.regionId,
    state: c.state,
    cluster_type: 'ManagedKubernetes',
    size: ctx.world.listedPools(c.id).reduce((n, p) => n + ctx.world.status(p).total, 0),
  });
}
