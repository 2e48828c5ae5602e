/**
 * One watch sweep. Under a lock (an overlapping run exits at once) it lists every watched
 * cluster once and, a batch of clusters at a time, hands their listings and their requests to
 * request tracking and to the alert rules; then it runs the alert lifecycle over what the rules
 * found, puts one message per channel into the outbox, sends what the outbox holds, and ends
 * with one JSON summary line. It holds some batches' pools and requests at a time, however many
 * clusters it watches. A sweep that runs out of time resumes at the next cluster.
 */

import type { Channel } from '../alerts/channels/index.js';
import { applyCandidates } from '../alerts/lifecycle.js';
import { planNotifications } from '../alerts/notify.js';
import { deliverPending } from '../alerts/outbox.js';
import { type Candidate, evaluate, resolutionAnnotations, resolverFor } from '../alerts/rules.js';
import { type ClusterListing, clusterKey, clusterOf } from '../cloud/cluster.js';
import { serialQueue, workSlots } from '../concurrent.js';
import { shortestRepeatMs } from '../config-routes.js';
import type { Services } from '../pipeline/services.js';
import { requestLink } from '../requests/ids.js';
import type { NodepoolRequest } from '../requests/model.js';
import type { Annotations } from '../store/alerts.js';
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

/** Counts a batch's listings into the summary, and logs a pool state word nobody documents (once per process). */
function noteListings(summary: SweepSummary, listings: ClusterListing[], log: Services['log']): void {
  for (const l of listings) {
    if (l.error) summary.clusterErrors++;
    summary.pools += l.pools?.length ?? 0;
    for (const p of l.pools ?? []) {
      if (p.state !== 'unknown' || UNKNOWN_STATES_LOGGED.has(`${p.provider}:${p.cloudState}`)) continue;
      UNKNOWN_STATES_LOGGED.add(`${p.provider}:${p.cloudState}`);
      log.warn('a node pool state nobody documents: treated as pending, never as success', {
        provider: p.provider,
        cloudState: p.cloudState,
        nodepoolId: p.id,
      });
    }
  }
}

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
  let forgetting: Promise<void> | undefined;
  const walks: Promise<number>[] = [];
  try {
    const now = () => new Date(clock.now());
    const since = new Date(started - config.thresholds.creationAlertHours * 3600_000);
    const changedSince = new Date(started - 60_000);
    // What is due for dispatch goes at once, alongside the listing: it needs nothing from it.
    redriving = redrive(services, config.dispatchGraceSeconds * 1000, options.deadline);
    redriving.catch(() => undefined); // awaited below: a failure is not unhandled meanwhile

    // 1. List each watched cluster once, resuming where the last sweep ran out of time. The
    // clusters to list come from a few rows.
    const [targetRows, firing] = await Promise.all([store.forTargets(since), alerts.firing()]);
    const targets = watchTargets(config, targetRows, firing);
    const byTarget = new Map(targets.map((t) => [t.key, t]));
    const ordered = fromCursor(targets, lock.cursor);
    // Keep a fifth of the budget for the lifecycle and the deliveries.
    const stopAt = started + (options.deadline - started) * 0.8;

    // 2. Each batch of listings, while the rest are still being listed, with the requests of its
    // clusters alone: the clusters' health and pools, the requests (node walks, observations,
    // transitions), and the alert rules. The sweep holds a batch's pools and requests only while
    // it works on them; what it keeps is what the rules found (candidates), and for each alert
    // that fires now, what is true of its subject should it resolve.
    const candidates = new Map<string, Candidate>();
    const resolutions = new Map<string, Annotations>();
    const listed = new Set<string>();
    const evaluated = new Set<string>();
    const counted = (transitions: Record<string, number>) => {
      for (const [to, n] of Object.entries(transitions)) summary.transitions[to] = (summary.transitions[to] ?? 0) + n;
    };
    // The sweep records active requests' observations itself, and re-drives from its start.
    const track = async (requests: NodepoolRequest[], listings: ClusterListing[]) =>
      counted(
        (
          await trackRequests(services, requests, listings, {
            owner: options.owner,
            deadline: options.deadline,
            dispatchGraceMs: config.dispatchGraceSeconds * 1000,
            activeObserved: true,
            redrive: false,
          })
        ).transitions,
      );
    const rules = (clusters: ClusterListing[], requests: NodepoolRequest[], keys: Set<string>) => {
      const at = now();
      for (const c of evaluate({ now: at, clusters, requests, thresholds: config.thresholds, requestLink: (id) => requestLink(id, config.publicBaseUrl) })) {
        if (!candidates.has(c.fingerprint)) candidates.set(c.fingerprint, c);
      }
      const resolve = resolverFor({ now: at, clusters, requests });
      for (const a of firing) {
        if (keys.has(clusterKey(clusterOf(a.labels)))) resolutions.set(a.fingerprint, resolve(a));
      }
    };
    const after = serialQueue();
    // The pools and health of clusters nobody watches any more are forgotten, once a sweep: once
    // the first batch is in, while the others are listed, rather than after the last.
    const forget = () => {
      forgetting = store.recordListings(
        [],
        targets.map((t) => t.cluster),
        now(),
      );
      forgetting.catch(() => undefined); // awaited below: a failure is not unhandled meanwhile
      return forgetting;
    };
    // The node walks of every batch share one set of slots: a batch's walks start as soon as it
    // is listed, and one that hangs until its timeout holds one slot, not the batches behind it.
    const walkSlots = workSlots(config.sweepConcurrency);
    const listing = listClusters(services, ordered, {
      deadline: options.deadline,
      stopAt,
      concurrency: config.sweepConcurrency,
      // Batches of up to 50, and at least eight a sweep, so that a creation seen up ends soon.
      batch: Math.min(50, Math.ceil(ordered.length / 8)),
      onListed: async (batch) => {
        // The work on an earlier batch failed: list no more (the sweep throws its error).
        if (after.failed) return after.done();
        if (!forgetting) forget();
        const health = await alerts.recordClusters(
          batch.map((r) => ({ key: r.key, ok: !r.error, error: r.error ? { code: r.error.code, message: r.error.message } : undefined })),
          now(),
        );
        await store.recordListings(
          batch.filter((r) => r.pools).map((r) => ({ ...r.cluster, pools: r.pools! })),
          undefined,
          now(),
        );
        const listings: ClusterListing[] = batch.map((r) => ({
          ...r,
          consecutiveFailures: health.get(r.key) ?? 0,
          watchAll: byTarget.get(r.key)?.watchAll ?? false,
          labels: byTarget.get(r.key)?.labels,
        }));
        noteListings(summary, listings, log);
        for (const l of listings) if (!l.error) listed.add(l.key);
        const keys = new Set(batch.map((r) => r.key));
        for (const k of keys) evaluated.add(k);
        const requests = await store.forAlerts(since, { clusters: [...keys] });
        // Creations seen up end first: the node walks and the rest would only make them later.
        // Pools whose nodes may yet be walked are observed after the walk, with what it found.
        await observeActive(services, requests, listings, now(), (p) => !mayWalk(p));
        const ended = await endUpCreations(services, requests, listings, now());
        if (ended) counted({ active: ended });
        // The node walks (slow when the cloud is), the rest of the tracking and the rules go on
        // beside the next batches, so that those batches' creations end as soon as they are listed.
        const walking = detectEnsNodeFailures(services, listings, requests, {
          deadline: options.deadline,
          stopAt,
          slots: walkSlots,
          // once the work on a batch failed, the sweep fails: no walk starts after that
          stopped: () => after.failed,
        });
        walking.catch(() => undefined); // awaited in turn below: a failure is not unhandled meanwhile
        walks.push(walking);
        after.push(async () => {
          summary.nodeWalks += await walking;
          await observeActive(services, requests, listings, now(), mayWalk);
          await track(requests, listings);
          // The rules read the requests as they are now: with what this sweep did to them, and any
          // changed since it started (a minute's leeway for clocks).
          rules(listings, merged(requests, await store.forAlerts(since, { clusters: [...keys], changedSince })), keys);
        });
        // The next batch is handed over once at most eight are here, the one being worked on
        // included (behind a walk that hangs, say): the sweep holds some batches' pools and
        // requests, not every one of a large fleet.
        await after.room(8);
      },
    });
    // A listing that failed still lets what was handed on finish before the sweep lets go.
    const { results, reached } = await listing.catch(async (error: unknown) => {
      await after.done().catch(() => undefined);
      throw error;
    });
    await after.done();
    await (forgetting ?? forget());
    summary.clusters = results.length;
    summary.clustersLeft = targets.length - reached;
    if (summary.clustersLeft > 0) cursor = reached > 0 ? ordered[reached - 1]!.key : (lock.cursor ?? null);

    // 3. The requests of clusters this sweep did not list (watched by nobody, or not reached in
    // time): what needs no listing (timing out, creation alerts). Those clusters are the ones the
    // sweep's first read found requests in (the same rows) and did not list since: a fleet all
    // listed reads nothing here. A request first sent to such a cluster while this sweep ran
    // waits for the next one (a minute on; nothing of a new request is due sooner).
    const restClusters = [...new Set(targetRows.map((r) => clusterKey(clusterOf(r))))].filter((k) => !evaluated.has(k));
    const rest = restClusters.length ? await store.forAlerts(since, { clusters: restClusters }) : [];
    if (rest.length) await track(rest, []);
    const restKeys = new Set(rest.map((r) => clusterKey(clusterOf(r))));
    for (const a of firing) if (!evaluated.has(clusterKey(clusterOf(a.labels)))) restKeys.add(clusterKey(clusterOf(a.labels)));
    rules([], rest.length ? merged(rest, await store.forAlerts(since, { clusters: [...restKeys], changedSince })) : [], restKeys);
    summary.redriven = await redriving;

    // 4. Alerts: the lifecycle over what every batch found.
    // The lifecycle, the outbox rows and the "notified" marks commit together: a crash cannot
    // resolve an alert without its message, nor send one twice.
    await alerts.transaction(async (tx) => {
      const lifecycle = await applyCandidates(tx, [...candidates.values()], {
        now: now(),
        listedClusters: listed,
        // Due again as often as the most frequent route repeats (each route then checks its own interval).
        repeatMs: shortestRepeatMs(config.alertRoutes, config.thresholds.repeatIntervalMinutes),
        resolution: (a) => resolutions.get(a.fingerprint) ?? resolutionAnnotations(a, { now: now(), clusters: [], requests: [] }),
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
        failedListings: results.filter((r) => r.error).map((r) => r.key),
      });
      await recordRouteNotices(tx.db, plan.routeNotified, now());
      summary.silenced = plan.silenced;
      summary.inhibited = plan.inhibited;
      await tx.markInhibited(plan.inhibitedIds);
      for (const p of plan.payloads) await tx.enqueue(p.channel, p, now());
      await tx.markNotified(plan.notified, now());
    });

    // 5. Deliveries.
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
    // A sweep that failed still lets its dispatches, node walks and forgetting finish before it lets go (FC may freeze the instance after).
    await Promise.allSettled([redriving, forgetting, ...walks]);
    summary.apiCalls = services.cloud.metrics.calls - before.calls;
    summary.throttled = services.cloud.metrics.throttled - before.throttled;
    summary.durationMs = clock.now() - started;
    // The lock let go and the run recorded side by side: neither needs the other.
    await Promise.all([
      alerts.unlock(SWEEP_LOCK, options.owner, cursor).catch(() => undefined),
      recordSweepRun(store.db, {
        finishedAt: new Date(clock.now()),
        durationMs: summary.durationMs,
        clusters: summary.clusters,
        errors: summary.clusterErrors,
      }).catch((error) => log.warn('the sweep could not record its run for /metrics', { error })),
    ]);
  }
  log.info('sweep', { ...summary });
  return summary;
}
