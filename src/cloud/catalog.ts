/**
 * What the pre-flight checks read of the cloud: a cluster's state and region, whether
 * vSwitches are in a region, and which instance types and system-disk categories a region
 * offers. ENS answers all of it itself (DescribeClusterDetail, DescribeVSwitches,
 * DescribeAvailableResource, DescribeCloudDiskTypes); for ACK the cluster comes from CS
 * DescribeClusterDetail, vSwitches from VPC DescribeVSwitches and offers from ECS
 * DescribeAvailableResource, each in the cluster's region. Answers are kept a short while
 * and shared by concurrent askers (a burst of requests for one region makes one call), as
 * they change rarely: a cluster's state for 10 s, the rest for 5 min.
 */
import { type Clock, systemClock } from '../clock.js';
import { type CloudClient, ensRpc } from './client.js';
import type { Cluster } from './cluster.js';
import type { ApiSpec } from './transport.js';
import type { Budget } from './types.js';

export interface ClusterDetail {
  state: string;
  regionId: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown, key: string): Json[] => {
  const inner = obj(v)[key];
  return Array.isArray(inner) ? inner.map(obj) : [];
};

const rpc = (action: string, version: string, method: ApiSpec['method'] = 'POST'): ApiSpec => ({
  action,
  version,
  style: 'RPC',
  method,
  pathname: '/',
  reqBodyType: 'formData',
  bodyType: 'json',
});
const VPC_VERSION = '2016-04-28';
const ECS_VERSION = '2014-05-26';
const CLUSTER_TTL_MS = 10_000;
const CATALOG_TTL_MS = 5 * 60_000;

/** Answers by key for a while; a failed answer is not kept. */
class TtlCache {
  private readonly entries = new Map<string, { until: number; value: Promise<unknown> }>();
  constructor(private readonly clock: Clock) {}

  get<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value as Promise<T>;
    const value = load();
    this.entries.set(key, { until: now + ttlMs, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    if (this.entries.size > 10_000) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}

export class RegionCatalog {
  private readonly cache: TtlCache;

  constructor(
    private readonly cloud: CloudClient,
    clock: Clock = systemClock,
  ) {
    this.cache = new TtlCache(clock);
  }

  /** The cluster's state word and region, as DescribeClusterDetail gives them. */
  cluster(ref: Cluster, budget: Budget): Promise<ClusterDetail> {
    return this.cache.get(`cluster/${ref.provider}/${ref.clusterId}`, CLUSTER_TTL_MS, async () => {
      if (ref.provider === 'ens') {
        const b = await this.cloud.read<Json>(ref, ensRpc('DescribeClusterDetail'), { query: { ClusterId: ref.clusterId } }, budget);
        return { state: String(b.State ?? ''), regionId: String(b.EnsRegionId ?? '') };
      }
      const spec: ApiSpec = {
        action: 'DescribeClusterDetail',
        version: '2015-12-15',
        style: 'ROA',
        method: 'GET',
        pathname: `/clusters/${encodeURIComponent(ref.clusterId)}`,
        reqBodyType: 'json',
        bodyType: 'json',
      };
      const b = await this.cloud.read<Json>(ref, spec, {}, budget);
      return { state: String(b.state ?? ''), regionId: String(b.region_id ?? '') };
    });
  }

  /** Which of `ids` are vSwitches of `regionId` (an ENS region for ENS, the cluster's region for ACK). */
  async vswitchesIn(ref: Cluster, regionId: string, ids: string[], budget: Budget): Promise<Set<string>> {
    const found = await Promise.all(
      ids.map((id) =>
        this.cache.get(`vsw/${ref.provider}/${regionId}/${id}`, CATALOG_TTL_MS, async () => {
          if (ref.provider === 'ens') {
            const b = await this.cloud.read<Json>(ref, ensRpc('DescribeVSwitches'), { query: { EnsRegionId: regionId, 'VSwitchIds.1': id } }, budget);
            return list(b.VSwitches, 'VSwitch').some((v) => v.VSwitchId === id && v.EnsRegionId === regionId);
          }
          const b = await this.cloud.read<Json>(ref, rpc('DescribeVSwitches', VPC_VERSION), { query: { RegionId: regionId, VSwitchId: id } }, budget, 'vpc');
          return list(b.VSwitches, 'VSwitch').some((v) => v.VSwitchId === id);
        }),
      ),
    );
    return new Set(ids.filter((_, i) => found[i]));
  }

  /** Which of `types` the region offers now (ECS: available in some zone of it). */
  async instanceTypesIn(ref: Cluster, regionId: string, types: string[], budget: Budget): Promise<Set<string>> {
    if (ref.provider === 'ens') {
      const specs = await this.cache.get(`ens-specs`, CATALOG_TTL_MS, async () => {
        const b = await this.cloud.read<Json>(ref, ensRpc('DescribeAvailableResource'), {}, budget);
        return list(b.SupportResources, 'SupportResource').map((r) => `${r.EnsRegionId}\u0000${r.InstanceSpec}`);
      });
      const offered = new Set(specs);
      return new Set(types.filter((t) => offered.has(`${regionId}\u0000${t}`)));
    }
    const answers = await Promise.all(types.map((t) => this.ecsOffered(ref, regionId, { DestinationResource: 'InstanceType', InstanceType: t }, budget)));
    return new Set(types.filter((t, i) => answers[i]!.includes(t)));
  }

  /** The system-disk categories the region offers (ECS: for this instance type). */
  diskCategoriesIn(ref: Cluster, regionId: string, instanceType: string | undefined, budget: Budget): Promise<string[]> {
    if (ref.provider === 'ens') {
      return this.cache.get(`ens-disks/${regionId}`, CATALOG_TTL_MS, async () => {
        const b = await this.cloud.read<Json>(ref, rpc('DescribeCloudDiskTypes', '2017-11-10', 'GET'), { query: { EnsRegionId: regionId } }, budget);
        return list(b.SupportResources, 'SupportResource')
          .filter((r) => r.EnsRegionId === regionId)
          .map((r) => String(r.Category));
      });
    }
    if (!instanceType) return Promise.resolve([]);
    return this.ecsOffered(ref, regionId, { DestinationResource: 'SystemDisk', ResourceType: 'instance', InstanceType: instanceType }, budget);
  }

  /** ECS DescribeAvailableResource: the values offered as Available in any zone of the region. */
  private ecsOffered(ref: Cluster, regionId: string, query: Record<string, string>, budget: Budget): Promise<string[]> {
    return this.cache.get(`ecs/${regionId}/${JSON.stringify(query)}`, CATALOG_TTL_MS, async () => {
      const b = await this.cloud.read<Json>(ref, rpc('DescribeAvailableResource', ECS_VERSION), { query: { RegionId: regionId, ...query } }, budget, 'ecs');
      const values = new Set<string>();
      for (const zone of list(b.AvailableZones, 'AvailableZone'))
        for (const res of list(zone.AvailableResources, 'AvailableResource'))
          for (const s of list(res.SupportedResources, 'SupportedResource')) if (s.Status === 'Available') values.add(String(s.Value));
      return [...values];
    });
  }
}
