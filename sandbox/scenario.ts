/**
 * What the emulated cloud holds at start: the seed clusters the API references' examples
 * name, and a scenario (clusters with pools and faults, call faults, rate limits, timing) from
 * a file or a test.
 */
import type { Clock } from '../src/clock.js';
import type { CallFault, FaultPlan, FlowControl, LatencyFault } from './faults.js';
import type { Cluster, ClusterFaults, Provider, Timing, World } from './world.js';

export const SEED_ENS_CLUSTER = 'eck-d2666c5f';
export const SEED_ACK_CLUSTER = 'cc0f87de0b8fb403f86e10e204f83a1b2';

export interface ScenarioCluster {
  id?: string;
  provider: Provider;
  regionId?: string;
  name?: string;
  faults?: ClusterFaults;
  pools?: Array<{ name: string; desired?: number; ageMinutes?: number; isDefault?: boolean; faults?: Parameters<World['setPoolFaults']>[1] }>;
}

export interface Scenario {
  clusters?: ScenarioCluster[];
  faults?: { calls?: CallFault[]; latency?: LatencyFault[]; duplicateDelivery?: number };
  rateLimits?: Record<string, number>;
  timing?: Partial<Timing>;
}

/** The ENS cluster of the API reference's example, and an ACK cluster with its default pool. */
export function seedWorld(world: World, clock: Clock): void {
  world.addCluster({ id: SEED_ENS_CLUSTER, provider: 'ens', regionId: 'cn-guiyang-14', name: 'edge-demo' });
  world.addCluster({ id: SEED_ACK_CLUSTER, provider: 'ack', regionId: 'cn-beijing', name: 'ack-demo' });
  world.addPool({
    clusterId: SEED_ACK_CLUSTER,
    provider: 'ack',
    name: 'default-nodepool',
    desired: 3,
    isDefault: true,
    hasPassword: false,
    createdAt: clock.now() - 24 * 3600_000,
    spec: {
      nodepool_info: { name: 'default-nodepool', type: 'ess' },
      scaling_group: { vswitch_ids: ['vsw-2ze3ds0mdip0hdz8i0001'], instance_types: ['ecs.n4.large'], key_pair: 'ops-keypair', desired_size: 3 },
    },
  });
}

export function addScenarioCluster(world: World, clock: Clock, c: ScenarioCluster): Cluster {
  const cluster = world.addCluster(c);
  if (c.faults) Object.assign(cluster.faults, c.faults);
  for (const p of c.pools ?? []) {
    const pool = world.addPool({
      clusterId: cluster.id,
      provider: cluster.provider,
      name: p.name,
      desired: p.desired ?? 2,
      isDefault: p.isDefault ?? false,
      hasPassword: false,
      createdAt: clock.now() - (p.ageMinutes ?? 24 * 60) * 60_000,
      spec: cluster.provider === 'ens' ? { NodepoolInfo: { Name: p.name }, ScalingGroup: {} } : { nodepool_info: { name: p.name } },
    });
    if (p.faults) world.setPoolFaults(pool, p.faults);
  }
  return cluster;
}

export function applyScenario(target: { world: World; clock: Clock; faults: FaultPlan; flow: FlowControl }, scenario: Scenario): Cluster[] {
  const added = (scenario.clusters ?? []).map((c) => addScenarioCluster(target.world, target.clock, c));
  if (scenario.faults?.calls) target.faults.calls.push(...scenario.faults.calls);
  if (scenario.faults?.latency) target.faults.latency.push(...scenario.faults.latency);
  if (scenario.faults?.duplicateDelivery !== undefined) target.faults.duplicateDelivery = scenario.faults.duplicateDelivery;
  if (scenario.rateLimits) Object.assign(target.flow.limits, scenario.rateLimits);
  if (scenario.timing) Object.assign(target.world.timing, scenario.timing);
  return added;
}
