/**
 * Pre-flight checks: what can be known before a write call, read from the cloud within its
 * rate limits. A dry run answers them with the exact call that would be made (secrets masked)
 * and changes nothing; a real request runs the same checks before its write call and fails
 * at once, naming the check, when one fails.
 *
 *   cluster          it exists, in the request's region, in a state that takes the operation
 *   nodepoolName     create: no pool holds the name
 *   vSwitches        create: each exists in the cluster's region
 *   instanceTypes    create: the region offers each
 *   diskCategories   create: the region offers the system (and data) disk categories
 *   nodepool         scale, delete: the pool exists (and is the one named by id)
 *   desiredSize      scale: the new size is one the cloud takes in one call
 *   guardRails       delete: not the ACK default pool, nor a serving pool, unless forced
 *   clusterBusy      ACK: another operation runs on the cluster now (a warning: the request waits)
 */
import { RegionCatalog } from '../cloud/catalog.js';
import type { CloudClient } from '../cloud/client.js';
import { type Cluster, clusterOf } from '../cloud/cluster.js';
import { CloudError } from '../cloud/errors.js';
import type { EnsNode, NodePool } from '../cloud/nodepool.js';
import { type OperationCall, operationCall } from '../cloud/pool-ops.js';
import type { Budget } from '../cloud/types.js';
import { redact } from '../redact.js';
import type { NodepoolRequest } from '../requests/model.js';
import { IN_CLOUD_STATES } from '../requests/state.js';
import type { Services } from './services.js';

export interface Check {
  name: string;
  status: 'passed' | 'failed' | 'warning' | 'error';
  detail: string;
  /** A failed check's code, as a failed request's lastError carries it. */
  code?: string;
}

export type Target = Pick<NodepoolRequest, 'operation' | 'provider' | 'regionId' | 'clusterId' | 'nodepoolName' | 'nodepoolId' | 'targetSize' | 'createParams'>;

/** ACK cluster states in which no node-pool operation can run (the CS SDK's state list); the rest of its non-running words mean busy. */
const ACK_DEAD_STATES = ['failed', 'deleting', 'deleted', 'delete_failed', 'inactive', 'unavailable', 'disconnected', 'initial'];
/** ACK adds at most this many nodes in one call (the ScaleClusterNodePool and "Scale a node pool" references). */
export const ACK_MAX_SCALE_OUT = 500;

/** A client error that says the cluster (or what was asked of it) is not there: ENS's InvalidParameter.ClusterId, ACK's ErrorClusterNotFound and the like. */
const isNotFound = (e: CloudError) => e.kind === 'client' && (/NotFound/i.test(e.code) || e.code === 'InvalidParameter.ClusterId');

const catalogs = new WeakMap<CloudClient, RegionCatalog>();
function catalogOf(services: Pick<Services, 'cloud' | 'clock'>): RegionCatalog {
  const known = catalogs.get(services.cloud);
  if (known) return known;
  const c = new RegionCatalog(services.cloud, services.clock);
  catalogs.set(services.cloud, c);
  return c;
}

type Json = Record<string, unknown>;
const asObj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** What a create asks of the region: its vSwitches, instance types and disk categories. */
function createNeeds(t: Target): { vswitches: string[]; types: string[]; disks: string[] } {
  const p = t.createParams;
  if (t.provider === 'ens') {
    const sg = asObj(p.ScalingGroup);
    const data = Array.isArray(sg.DataDisks) ? sg.DataDisks.map((d) => asObj(d).Category) : [];
    return { vswitches: strings(sg.VswitchIds), types: strings(sg.InstanceTypes), disks: strings([sg.SystemDiskCategory, ...data]) };
  }
  const sg = asObj(p.scaling_group);
  return {
    vswitches: strings(sg.vswitch_ids),
    types: strings(sg.instance_types),
    disks: strings([sg.system_disk_category, ...strings(sg.system_disk_categories)]),
  };
}

/** The create call exactly as the client sends it (client.ts createOnce), secrets masked. */
function createCall(ref: Cluster, params: Json): OperationCall {
  const p = redact(params);
  if (ref.provider === 'ens') {
    const query: Record<string, string> = {
      ClusterId: ref.clusterId,
      NodepoolInfo: JSON.stringify(p.NodepoolInfo),
      ScalingGroup: JSON.stringify(p.ScalingGroup),
    };
    if (p.KubernetesConfig) query.KubernetesConfig = JSON.stringify(p.KubernetesConfig);
    return {
      spec: { action: 'CreateClusterNodePool', version: '2017-11-10', style: 'RPC', method: 'POST', pathname: '/', reqBodyType: 'formData', bodyType: 'json' },
      query,
    };
  }
  return {
    spec: {
      action: 'CreateClusterNodePool',
      version: '2015-12-15',
      style: 'ROA',
      method: 'POST',
      pathname: `/clusters/${encodeURIComponent(ref.clusterId)}/nodepools`,
      reqBodyType: 'json',
      bodyType: 'json',
    },
    body: p,
  };
}

/**
 * Why the pool may not be deleted without `force`, if it may not: the default pool of an ACK
 * cluster (the one the cluster was created with), or a pool serving more nodes than allowed.
 */
export function deleteRefusal(
  rec: Pick<NodepoolRequest, 'provider' | 'createParams'>,
  pool: NodePool,
  servingLimit: number,
): { code: string; message: string } | undefined {
  if (rec.createParams.force === true) return undefined;
  if (rec.provider === 'ack' && pool.isDefault) {
    return { code: 'DefaultNodePool', message: `node pool ${pool.name} (${pool.id}) is the cluster's default node pool; set "force": true to delete it` };
  }
  if (pool.serving > servingLimit) {
    return {
      code: 'NodePoolServing',
      message: `node pool ${pool.name} (${pool.id}) has ${pool.serving} nodes serving, more than the ${servingLimit} a delete may remove without "force": true`,
    };
  }
  return undefined;
}

/** The first failed check, if any: what a real request fails with. */
export function failedCheck(checks: Check[]): Check | undefined {
  return checks.find((c) => c.status === 'failed');
}

/** How a call is shown: what goes on the wire, secrets masked. */
export function callView(call: OperationCall) {
  const { action, version, method, pathname, style } = call.spec;
  return {
    action,
    version,
    style,
    method,
    pathname,
    ...(call.query ? { query: redact(call.query) } : {}),
    ...(call.body !== undefined ? { body: redact(call.body) } : {}),
  };
}

/**
 * Runs the checks. A read that fails is an `error` check in a dry run; for a real request
 * (`throwOnError`) it is thrown, so that provision defers the request as for any cloud error.
 */
export async function preflight(
  services: Pick<Services, 'cloud' | 'clock' | 'config' | 'store'>,
  t: Target,
  budget: Budget,
  options: { throwOnError: boolean; skip?: string[]; pools?: NodePool[]; clusterOnly?: boolean },
): Promise<{ checks: Check[]; call?: OperationCall; pool?: NodePool }> {
  const ref = clusterOf(t);
  const catalog = catalogOf(services);
  const checks: Check[] = [];
  const skip = new Set(options.skip ?? []);
  const add = (c: Check) => {
    if (!skip.has(c.name)) checks.push(c);
  };
  /**
   * Runs one read. The cloud saying the thing is not there fails the check; any other refusal
   * (no permission for the read, a parameter it does not take) makes it an `error` check,
   * which a real request goes past; what can pass with time is thrown for a real request, so
   * that provision defers it.
   */
  const read = async <T>(name: string, f: () => Promise<T>): Promise<T | undefined> => settle(name, await attempt(f));
  /** A read started now, settled (its check added, or thrown) where read would be: in order. */
  type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };
  const attempt = <T>(f: () => Promise<T>): Promise<Outcome<T>> =>
    f().then(
      (value): Outcome<T> => ({ ok: true, value }),
      (error: unknown): Outcome<T> => ({ ok: false, error }),
    );
  const settle = <T>(name: string, r: Outcome<T>): T | undefined => {
    if (r.ok) return r.value;
    const err = r.error;
    if (!(err instanceof CloudError)) throw err;
    if (options.throwOnError && err.kind !== 'client') throw err;
    add({ name, status: isNotFound(err) ? 'failed' : 'error', code: err.code, detail: `${err.code}: ${err.message}` });
    return undefined;
  };
  /** A create's reads of the region: all at once (each waits for no other), settled in order. */
  const regionReads = (region: string) => {
    const needs = createNeeds(t);
    return {
      needs,
      vsw: attempt(() => catalog.vswitchesIn(ref, region, needs.vswitches, budget)),
      types: attempt(() => catalog.instanceTypesIn(ref, region, needs.types, budget)),
      disks: needs.disks.length
        ? attempt(() => catalog.diskCategoriesIn(ref, region, needs.types[0], budget))
        : Promise.resolve<Outcome<string[]>>({ ok: true, value: [] }),
    };
  };
  // ACK names its region: the region's reads go with the cluster's. ENS's comes from the cluster.
  let started = t.operation === 'create' && ref.provider === 'ack' ? regionReads(ref.regionId) : undefined;

  const cluster = await read('cluster', () => catalog.cluster(ref, budget));
  if (!cluster) return { checks };
  const region = ref.provider === 'ack' ? ref.regionId : cluster.regionId;
  if (ref.provider === 'ack' && cluster.regionId && cluster.regionId !== ref.regionId) {
    add({
      name: 'cluster',
      status: 'failed',
      code: 'ClusterRegionMismatch',
      detail: `cluster ${ref.clusterId} is in ${cluster.regionId}, not ${ref.regionId}`,
    });
    return { checks };
  }
  const dead = ref.provider === 'ack' && ACK_DEAD_STATES.includes(cluster.state);
  add({
    name: 'cluster',
    status: cluster.state === 'running' ? 'passed' : dead ? 'failed' : 'warning',
    ...(dead ? { code: 'ClusterNotRunning' } : {}),
    detail: `cluster ${ref.clusterId} is ${cluster.state || 'in an unnamed state'}${cluster.state === 'running' ? '' : dead ? ': it takes no node-pool operation' : ': the operation may have to wait'} (region ${region})`,
  });
  if (dead || options.clusterOnly) return { checks };

  // The cluster's pools: given by a caller that has just listed them, or listed here.
  const pools = options.pools ?? (await read(t.operation === 'create' ? 'nodepoolName' : 'nodepool', () => services.cloud.listNodePools(ref, budget)));
  if (!pools) return { checks };
  const pool = pools.find((p) => p.name === t.nodepoolName);
  let call: OperationCall | undefined;

  if (t.operation === 'create') {
    add(
      pool
        ? {
            name: 'nodepoolName',
            status: 'failed',
            code: 'NodePoolAlreadyExists',
            detail: `cluster ${ref.clusterId} already has a node pool named ${t.nodepoolName} (${pool.id})`,
          }
        : { name: 'nodepoolName', status: 'passed', detail: `no node pool is named ${t.nodepoolName}` },
    );
    started ??= regionReads(region);
    const { needs } = started;
    const vsw = settle('vSwitches', await started.vsw);
    if (vsw) {
      const missing = needs.vswitches.filter((v) => !vsw.has(v));
      add(
        missing.length
          ? { name: 'vSwitches', status: 'failed', code: 'VSwitchNotInRegion', detail: `not vSwitches of ${region}: ${missing.join(', ')}` }
          : { name: 'vSwitches', status: 'passed', detail: `${needs.vswitches.join(', ')} in ${region}` },
      );
    }
    const types = settle('instanceTypes', await started.types);
    if (types) {
      const missing = needs.types.filter((x) => !types.has(x));
      add(
        missing.length
          ? { name: 'instanceTypes', status: 'failed', code: 'InstanceTypeNotOffered', detail: `${region} does not offer ${missing.join(', ')}` }
          : { name: 'instanceTypes', status: 'passed', detail: `${region} offers ${needs.types.join(', ')}` },
      );
    }
    const disks = settle('diskCategories', await started.disks);
    if (disks) {
      const missing = needs.disks.filter((d) => !disks.includes(d));
      add(
        !needs.disks.length
          ? { name: 'diskCategories', status: 'passed', detail: 'no disk category asked for: the cloud picks its default' }
          : missing.length
            ? {
                name: 'diskCategories',
                status: 'failed',
                code: 'DiskCategoryNotOffered',
                detail: `${region} does not offer the disk categories ${[...new Set(missing)].join(', ')}`,
              }
            : { name: 'diskCategories', status: 'passed', detail: `${region} offers ${[...new Set(needs.disks)].join(', ')}` },
      );
    }
    call = createCall(ref, t.createParams);
  } else if (!pool || (t.nodepoolId && pool.id !== t.nodepoolId)) {
    add({
      name: 'nodepool',
      status: 'failed',
      code: pool ? 'NodePoolMismatch' : 'NodePoolNotFound',
      detail: pool
        ? `the node pool named ${t.nodepoolName} is ${pool.id}, not ${t.nodepoolId}`
        : `cluster ${ref.clusterId} has no node pool named ${t.nodepoolName}`,
    });
  } else {
    add({ name: 'nodepool', status: 'passed', detail: `node pool ${pool.id} is ${pool.cloudState}: ${pool.serving}/${pool.desired} nodes serving` });
    let nodes: EnsNode[] | undefined;
    if (t.operation === 'scale') {
      const target = t.targetSize ?? pool.desired;
      const tooMany = ref.provider === 'ack' && target - pool.desired > ACK_MAX_SCALE_OUT;
      add(
        tooMany
          ? {
              name: 'desiredSize',
              status: 'failed',
              code: 'DesiredSizeOutOfRange',
              detail: `ACK adds at most ${ACK_MAX_SCALE_OUT} nodes at a time; ${target - pool.desired} asked`,
            }
          : {
              name: 'desiredSize',
              status: 'passed',
              detail: target === pool.desired ? `the pool already wants ${target} nodes: no call` : `${pool.desired} -> ${target} nodes`,
            },
      );
      if (ref.provider === 'ens' && target < pool.desired) nodes = await read('desiredSize', () => services.cloud.listEnsNodes(ref, pool.id, budget));
      if (target !== pool.desired) call = operationCall(ref, pool, { kind: 'scale', target, nodes });
    } else {
      const refusal = deleteRefusal(t, pool, services.config.deleteGuardServingNodes);
      add(
        refusal
          ? { name: 'guardRails', status: 'failed', code: refusal.code, detail: refusal.message }
          : { name: 'guardRails', status: 'passed', detail: 'not a default pool; forced or within the serving limit' },
      );
      call = operationCall(ref, pool, { kind: 'delete' });
    }
  }
  if (ref.provider === 'ack') {
    const moving = pools.find((p) => p.state !== 'active' && p.state !== 'failed');
    const ours = (await Promise.all(IN_CLOUD_STATES.map((state) => services.store.list({ clusterId: ref.clusterId, state, limit: 1 })))).flatMap(
      (page) => page.items,
    )[0];
    add(
      moving || ours
        ? {
            name: 'clusterBusy',
            status: 'warning',
            detail: `the cluster is busy (${moving ? `node pool ${moving.id} is ${moving.cloudState}` : `request ${ours!.id} is ${ours!.state}`}): the request would wait its turn`,
          }
        : { name: 'clusterBusy', status: 'passed', detail: 'no node-pool operation runs on the cluster' },
    );
  }
  return { checks, call, pool };
}
