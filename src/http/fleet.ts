/**
 * The fleet API: the watched clusters and their pools as the last sweep stored them. No cloud
 * call: a page that refreshes every few seconds costs the store a few reads and nothing else.
 *
 *   GET /v1/clusters
 *   GET /v1/clusters/{provider}/{clusterId}/nodepools
 */
import { silenceMatches } from '../alerts/silence.js';
import type { Provider } from '../cloud/nodepool.js';
import type { Services } from '../pipeline/services.js';
import { requestLink } from '../requests/ids.js';
import type { Issue } from '../requests/schema.js';
import type { AlertRecord, Silence } from '../store/alerts.js';
import { type FleetCluster, type FleetPool, fleetClusters, fleetPools } from '../store/fleet.js';
import { problems } from './problem.js';
import { type HttpRequest, type HttpResponse, json } from './types.js';
import { alertView } from './views.js';

export const CLUSTERS = '/v1/clusters';
const CLUSTER_ID = /^[A-Za-z0-9-]{1,64}$/;

const iso = (d: Date | null) => d?.toISOString() ?? null;

function clusterView(c: FleetCluster, base?: string) {
  return {
    provider: c.provider,
    regionId: c.regionId,
    clusterId: c.clusterId,
    reachable: c.reachable,
    consecutiveFailures: c.consecutiveFailures,
    lastError: c.lastError,
    lastListedAt: iso(c.lastListedAt),
    lastAttemptAt: c.lastAttemptAt.toISOString(),
    pools: c.pools,
    firingAlerts: c.firingAlerts,
    links: { nodepools: `${base ?? ''}${CLUSTERS}/${c.provider}/${c.clusterId}/nodepools` },
  };
}

function poolView(p: FleetPool, extra: { silences: Silence[]; base?: string }) {
  const alert = (a: AlertRecord) =>
    alertView(a, { silenced: extra.silences.some((s) => silenceMatches(s, a)), inhibited: a.inhibitedBy !== undefined, base: extra.base });
  return {
    id: p.id,
    name: p.name,
    health: p.health,
    state: p.state,
    cloudState: p.cloudState,
    desired: p.desired,
    total: p.total,
    serving: p.serving,
    initial: p.initial,
    failed: p.failed,
    offline: p.offline,
    isDefault: p.isDefault,
    stateSince: iso(p.stateSince),
    seenAt: p.seenAt.toISOString(),
    request: p.request ? { ...p.request, links: { self: requestLink(p.request.id, extra.base) } } : null,
    alerts: p.firing.map(alert),
  };
}

/** Answers a fleet route, or undefined when the path is not one. */
export async function fleetRoute(path: string, req: HttpRequest, services: Services): Promise<HttpResponse | undefined> {
  if (path !== CLUSTERS && !path.startsWith(`${CLUSTERS}/`)) return undefined;
  if (req.method !== 'GET' && req.method !== 'HEAD') return problems.methodNotAllowed(['GET']);
  const unknown = Object.keys(req.query).map((k): Issue => ({ path: `query.${k}`, message: 'is not a known parameter (none are taken)' }));
  const base = services.config.publicBaseUrl;
  if (path === CLUSTERS) {
    if (unknown.length) return problems.validation(unknown);
    const { clusters, lastSweepAt } = await fleetClusters(services.store.db);
    return json(200, { items: clusters.map((c) => clusterView(c, base)), lastSweepAt: iso(lastSweepAt) });
  }
  const parts = path.slice(CLUSTERS.length + 1).split('/');
  if (parts.length !== 3 || parts[2] !== 'nodepools') return problems.notFound(`no route ${req.method} ${req.path}`);
  const [provider = '', clusterId = ''] = parts;
  const errors: Issue[] = [...unknown];
  if (provider !== 'ens' && provider !== 'ack') errors.push({ path: 'path.provider', message: 'must be ens or ack' });
  if (!CLUSTER_ID.test(clusterId)) errors.push({ path: 'path.clusterId', message: 'must be a cluster ID (letters, digits and hyphens, at most 64)' });
  if (errors.length) return problems.validation(errors);
  const found = await fleetPools(services.store.db, provider as Provider, clusterId);
  if (!found) return problems.notFound(`the sweep does not watch ${provider} cluster ${clusterId}`);
  const silences = await services.alerts.activeSilences(new Date(services.clock.now()));
  return json(200, {
    cluster: clusterView(found.cluster, base),
    items: found.pools.map((p) => poolView(p, { silences, base })),
  });
}
