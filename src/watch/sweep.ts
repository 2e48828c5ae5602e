/**
 * One watch sweep. Under a lock (an overlapping run exits at once) it lists every watched
 * cluster once and hands the listings to request tracking and to alert evaluation; then it
 * runs the alert lifecycle, puts one message per channel into the outbox, sends what the
 * outbox holds, and ends with one JSON summary line. A sweep that runs out of time resumes
 * at the next cluster.
 */

import type { Channel } from '../alerts/channels/index.js';
import { applyCandidates } from '../alerts/lifecycle.js';
import { planNotifications } from '../alerts/notify.js';
import { deliverPending } from '../alerts/outbox.js';
import { evaluate, resolutionAnnotations } from '../alerts/rules.js';
import { type ClusterListing, clusterKey, clusterOf } from '../cloud/cluster.js';
import { shortestRepeatMs } from '../config-routes.js';
import type { Services } from '../pipeline/services.js';
import { requestLink } from '../requests/ids.js';
import type { NodepoolRequest } from '../requests/model.js';
import { recordSweepRun } from '../store/metrics.js';
import { recordRouteNotices, routeNotices } from '../store/route-notices.js';
import { fromCursor, listClusters, watchTargets } from './listing.js';
import { detectEnsNodeFailures, mayWalk } from './nodes.js';
import { endUpCreations, observeActive, redrive, trackRequests } from './track.js';

const SWEEP_LOCK = 'watch-sweep';

/** `loaded` with `changed` in place of the same ids, and the new ones, by id. */
function merged(loaded: NodepoolRequest[], changed: NodepoolRequest[]): NodepoolRequest[] {
  const byId = new Map(loaded.map((r) => [r.id, r]));
  for (const r of changed) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
/** Pool state words already logged as unknown, once per process. */
const UNKNOWN_STATES_LOGGED = new Set<string>();

export interface SweepSummary {
  skipped?: 'locked';
  clusters: number;
  clustersLeft: number;
  clusterErrors: number;
  pools: number;
  /** ENS pools whose nodes were walked (DescribeClusterNodes). */
  nodeWalks: number;
  apiCalls: number;
  throttled: number;
  durationMs: number;
  transitions: Record<string, number>;
  redriven: number;
  alertsFired: number;
  alertsRepeated: number;
  alertsResolved: number;
  silenced: number;
  inhibited: number;
  deliveriesSent: number;
  deliveriesFailed: number;
  deliveriesDead: number;
  deliveriesPending: number;
}

export async function sweep(services: Services, channels: Channel[], options: { owner: string; deadline: number }): Promise<SweepSummary> {
  const { clock, config, store, alerts, log } = services;
  const started = clock.now();
  const before = { ...services.cloud.metrics };
  const summary: SweepSummary = {
    clusters: 0,
    clustersLeft: 0,
    clusterErrors: 0,
    pools: 0,
    nodeWalks: 0,
    apiCalls: 0,
    throttled: 0,
    durationMs: 0,
    transitions: {},
    redriven: 0,
    alertsFired: 0,
    alertsRepeated: 0,
    alertsResolved: 0,
    silenced: 0,
    inhibited: 0,
    deliveriesSent: 0,
    deliveriesFailed: 0,
    deliveriesDead: 0,
    deliveriesPending: 0,
  };
  const lock = await alerts.tryLock(SWEEP_LOCK, options.owner, new Date(started), Math.max(10_000, options.deadline - started + 30_000));
  if (!lock.acquired) {
    const skipped = { ...summary, skipped: 'locked' as const };
    log.info('sweep', skipped);
    return skipped;
  }
  let cursor: string | null = null;
  let redriving: Promise<number> | undefined;
  try {
    const now = () => new Date(clock.now());
    const since = new Date(started - config.thresholds.creationAlertHours * 3600_000);
    // The clusters to list come from a few rows; the requests load while the listing runs.
    const targetRows = store.forTargets(since);
    const firing = alerts.firing();
    const loading = store.forAlerts(since);
    const loaded = loading.then((requests) => {
      const byCluster = new Map<string, NodepoolRequest[]>();
      for (const r of requests) {
        const key = clusterKey(clusterOf(r));
        byCluster.set(key, [...(byCluster.get(key) ?? []), r]);
      }
      return byCluster;
    });
    loaded.catch(() => undefined); // awaited below: a failure is not unhandled meanwhile

    // What is due for dispatch goes at once, alongside the listing: it needs nothing from it.
    redriving = redrive(services, config.dispatchGraceSeconds * 1000, options.deadline);
    redriving.catch(() => undefined); // awaited below: a failure is not unhandled meanwhile

    // 1. List each watched cluster once, resuming where the last sweep ran out of time.
    const targets = watchTargets(config, ...(await Promise.all([targetRows, firing])));
    const ordered = fromCursor(targets, lock.cursor);
    // Keep a fifth of the budget for the lifecycle and the deliveries.
    const stopAt = started + (options.deadline - started) * 0.8;
    // Each batch of listings, while the rest are still being listed: the clusters' health, what
    // each has now (a create for a taken name is then refused at once), what active requests show.
    const failures = new Map<string, number>();
    let endedEarly = 0;
    const { results, reached } = await listClusters(services, ordered, {
      deadline: options.deadline,
      stopAt,
      concurrency: config.sweepConcurrency,
      // Batches of up to 50, and at least eight a sweep, so that a creation seen up ends soon.
      batch: Math.min(50, Math.ceil(ordered.length / 8)),
      onListed: async (batch) => {
        const health = await alerts.recordClusters(
          batch.map((r) => ({ key: r.key, ok: !r.error, error: r.error ? { code: r.error.code, message: r.error.message } : undefined })),
          now(),
        );
        for (const [key, n] of health) failures.set(key, n);
        await store.recordListings(
          batch.filter((r) => r.pools).map((r) => ({ ...r.cluster, pools: r.pools! })),
          targets.map((t) => t.cluster),
          now(),
        );
        // Pools whose nodes may yet be walked are observed after the walk, with what it found.
        const byCluster = await loaded;
        const listed = batch.flatMap((r) => byCluster.get(r.key) ?? []);
        await observeActive(services, listed, batch, now(), (p) => !mayWalk(p));
        endedEarly += await endUpCreations(services, listed, batch, now());
      },
    });
    // Nothing listed: the pools of clusters nobody watches any more are forgotten all the same.
    if (!results.length)
      await store.recordListings(
        [],
        targets.map((t) => t.cluster),
        now(),
      );
    const requests = await loading;
    summary.clusters = results.length;
    summary.clustersLeft = targets.length - reached;
    if (summary.clustersLeft > 0) cursor = reached > 0 ? ordered[reached - 1]!.key : (lock.cursor ?? null);
    for (const p of results.flatMap((r) => r.pools ?? [])) {
      if (p.state !== 'unknown' || UNKNOWN_STATES_LOGGED.has(`${p.provider}:${p.cloudState}`)) continue;
      UNKNOWN_STATES_LOGGED.add(`${p.provider}:${p.cloudState}`);
      log.warn('a node pool state nobody documents: treated as pending, never as success', {
        provider: p.provider,
        cloudState: p.cloudState,
        nodepoolId: p.id,
      });
    }
    const byTarget = new Map(targets.map((t) => [t.key, t]));
    const listings: ClusterListing[] = results.map((r) => ({
      ...r,
      consecutiveFailures: failures.get(r.key) ?? 0,
      watchAll: byTarget.get(r.key)?.watchAll ?? false,
      labels: byTarget.get(r.key)?.labels,
    }));
    summary.clusterErrors = listings.filter((l) => l.error).length;
    summary.pools = listings.reduce((n, l) => n + (l.pools?.length ?? 0), 0);

    // ENS pools that need it get their nodes walked: ENS tells failures only through node states.
    summary.nodeWalks = await detectEnsNodeFailures(services, listings, requests, { deadline: options.deadline, stopAt });
    await observeActive(services, requests, listings, now(), mayWalk);

    // 2. Requests, from the listings.
    const tracked = await trackRequests(services, requests, listings, {
      owner: options.owner,
      deadline: options.deadline,
      dispatchGraceMs: config.dispatchGraceSeconds * 1000,
      activeObserved: true,
      redrive: false,
    });
    summary.transitions = tracked.transitions;
    if (endedEarly) summary.transitions.active = (summary.transitions.active ?? 0) + endedEarly;
    summary.redriven = await redriving;

    // 3. Alerts, from the same listings and what the requests are now: those loaded, with what this
    // sweep observed of them, and any changed since it started (a minute's leeway for clocks).
    const current = await store.forAlerts(since, { changedSince: new Date(started - 60_000) }).then((changed) => merged(requests, changed));
    const candidates = evaluate({
      now: now(),
      clusters: listings,
      requests: current,
      thresholds: config.thresholds,
      requestLink: (id) => requestLink(id, config.publicBaseUrl),
    });
    const listed = new Set(listings.filter((l) => !l.error).map((l) => l.key));
    // The lifecycle, the outbox rows and the "notified" marks commit together: a crash cannot
    // resolve an alert without its message, nor send one twice.
    await alerts.transaction(async (tx) => {
      const lifecycle = await applyCandidates(tx, candidates, {
        now: now(),
        listedClusters: listed,
        // Due again as often as the most frequent route repeats (each route then checks its own interval).
        repeatMs: shortestRepeatMs(config.alertRoutes, config.thresholds.repeatIntervalMinutes),
        resolution: (a) => resolutionAnnotations(a, { now: now(), clusters: listings, requests: current }),
      });
      summary.alertsFired = lifecycle.fired.length;
      summary.alertsRepeated = lifecycle.repeated.length;
      summary.alertsResolved = lifecycle.resolved.length;
      const plan = planNotifications(lifecycle, {
        now: now(),
        // Those that ended in the last day too: an alert they covered that still fires is sent marked as such.
        silences: await tx.activeSilences(now(), new Date(now().getTime() - 24 * 3600_000)),
        channels: channels.map((c) => ({ type: c.type, name: c.name, minSeverity: c.minSeverity })),
        routes: config.alertRoutes,
        repeatMs: config.thresholds.repeatIntervalMinutes * 60_000,
        routeNotices: config.alertRoutes
          ? await routeNotices(
              tx.db,
              lifecycle.repeated.map((a) => a.id),
            )
          : undefined,
        failedListings: listings.filter((l) => l.error).map((l) => l.key),
      });
      await recordRouteNotices(tx.db, plan.routeNotified, now());
      summary.silenced = plan.silenced;
      summary.inhibited = plan.inhibited;
      await tx.markInhibited(plan.inhibitedIds);
      for (const p of plan.payloads) await tx.enqueue(p.channel, p, now());
      await tx.markNotified(plan.notified, now());
    });

    // 4. Deliveries.
    const delivered = await deliverPending(alerts, channels, {
      owner: options.owner,
      now,
      deadline: options.deadline,
      log,
      sendTimeoutMs: config.channelTimeoutMs,
    });
    summary.deliveriesSent = delivered.sent;
    summary.deliveriesFailed = delivered.failed;
    summary.deliveriesDead = delivered.dead;
    summary.deliveriesPending = await alerts.pendingCount();
  } finally {
    // A sweep that failed still lets its dispatches finish before it lets go (FC may freeze the instance after).
    await redriving?.catch(() => undefined);
    await alerts.unlock(SWEEP_LOCK, options.owner, cursor).catch(() => undefined);
    summary.apiCalls = services.cloud.metrics.calls - before.calls;
    summary.throttled = services.cloud.metrics.throttled - before.throttled;
    summary.durationMs = clock.now() - started;
    await recordSweepRun(store.db, {
      finishedAt: new Date(clock.now()),
      durationMs: summary.durationMs,
      clusters: summary.clusters,
      errors: summary.clusterErrors,
    }).catch((error) => log.warn('the sweep could not record its run for /metrics', { error }));
  }
  log.info('sweep', { ...summary });
  return summary;
}
