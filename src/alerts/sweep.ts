/**
 * One watch sweep. Under a lock (an overlapping run exits at once), it lists every watched
 * cluster once, moves requests forward, evaluates the rules, runs the alert lifecycle,
 * puts one message per channel into the outbox, sends what the outbox holds, and ends with
 * one JSON summary line. A sweep that runs out of time resumes at the next cluster.
 */
import type { ClusterRef } from '../cloud/client.js';
import { requestLink } from '../http/views.js';
import type { Services } from '../pipeline/services.js';
import { advanceFromListings, isRecoverable, listClusters, redrive, timeOutStale, type ClusterResult } from '../pipeline/track.js';
import { clusterRef } from '../pipeline/provision.js';
import { AlertStore } from '../store/alerts.js';
import type { Channel } from './channels/index.js';
import { applyCandidates, planNotifications } from './lifecycle.js';
import { deliverPending } from './outbox.js';
import { clusterKeyOf, evaluate, resolutionAnnotations, RULES, watchedRef, type ClusterObservation } from './rules.js';

export const SWEEP_LOCK = 'watch-sweep';

export interface SweepSummary {
  skipped?: 'locked';
  clusters: number;
  clustersLeft: number;
  clusterErrors: number;
  pools: number;
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
  const { clock, config, store, log } = services;
  const started = clock.now();
  const before = { ...services.cloud.metrics };
  const alerts = new AlertStore(store.db);
  const summary: SweepSummary = {
    clusters: 0, clustersLeft: 0, clusterErrors: 0, pools: 0, apiCalls: 0, throttled: 0, durationMs: 0, transitions: {}, redriven: 0,
    alertsFired: 0, alertsRepeated: 0, alertsResolved: 0, silenced: 0, inhibited: 0, deliveriesSent: 0, deliveriesFailed: 0, deliveriesDead: 0, deliveriesPending: 0,
  };
  const lock = await alerts.tryLock(SWEEP_LOCK, options.owner, new Date(started), Math.max(10_000, options.deadline - started + 30_000));
  if (!lock.acquired) {
    const skipped = { ...summary, skipped: 'locked' as const };
    log.info('sweep', skipped);
    return skipped;
  }
  let cursor: string | null = null;
  try {
    const now = () => new Date(clock.now());
    const requests = await store.forAlerts(new Date(started - config.thresholds.creationAlertHours * 3600_000));

    // The clusters to list: those with creating, active or recoverable requests, and the configured ones.
    const targets = new Map<string, { ref: ClusterRef; watchAll: boolean }>();
    for (const w of config.watchClusters) targets.set(clusterKeyOf(watchedRef(w)), { ref: watchedRef(w), watchAll: true });
    for (const r of requests) {
      // A timed-out request whose pool may still come up stays watched, so that its state can follow the truth.
      if (r.state !== 'creating' && r.state !== 'active' && !isRecoverable(r)) continue;
      const ref = clusterRef(r);
      const key = clusterKeyOf(ref);
      if (!targets.has(key)) targets.set(key, { ref, watchAll: false });
    }
    // A cluster with firing cluster or pool alerts stays a target until they resolve.
    for (const a of await alerts.firing()) {
      if (a.rule !== 'cluster_unreachable' && !RULES[a.rule as keyof typeof RULES]?.pool) continue;
      const ref: ClusterRef = a.labels.provider === 'ack' ? { provider: 'ack', clusterId: a.labels.clusterId, regionId: a.labels.regionId ?? '' } : { provider: 'ens', clusterId: a.labels.clusterId };
      const key = clusterKeyOf(ref);
      if (!targets.has(key)) targets.set(key, { ref, watchAll: false });
    }
    const keys = [...targets.keys()].sort();
    const start = lock.cursor ? keys.findIndex((k) => k > lock.cursor!) : 0;
    const ordered = start > 0 ? [...keys.slice(start), ...keys.slice(0, start)] : keys;
    // Keep a fifth of the budget for the lifecycle and the deliveries.
    const stopAt = started + (options.deadline - started) * 0.8;
    const results = await listClusters(services, ordered.map((k) => targets.get(k)!.ref), { deadline: options.deadline, stopAt, concurrency: config.sweepConcurrency });
    const byKey = new Map<string, ClusterResult>(results.map((r) => [clusterKeyOf(r.ref), r]));
    summary.clusters = results.length;
    summary.clustersLeft = keys.length - results.started;
    if (summary.clustersLeft > 0) cursor = results.started > 0 ? ordered[results.started - 1]! : (lock.cursor ?? null);

    const failures = await alerts.recordClusters(
      [...byKey].map(([key, r]) => ({ key, ok: !r.error, error: r.error ? { code: r.error.code, message: r.error.message } : undefined })),
      now(),
    );
    // What each listed cluster has now: a create for a taken name is then refused at once.
    await store.recordListings(
      results.filter((r) => r.pools).map((r) => ({ provider: r.ref.provider, clusterId: r.ref.clusterId, pools: r.pools!.map((p) => ({ id: p.id, name: p.name })) })),
      [...targets.values()].map((t) => t.ref),
      now(),
    );
    const observations: ClusterObservation[] = [];
    for (const [key, r] of byKey) {
      if (r.error) summary.clusterErrors++;
      summary.pools += r.pools?.length ?? 0;
      observations.push({ key, ref: r.ref, pools: r.pools, error: r.error, consecutiveFailures: failures.get(key) ?? 0, watchAll: targets.get(key)!.watchAll });
    }

    // Requests: creating -> final; stale ones time out; due ones are re-dispatched.
    summary.transitions = await advanceFromListings(services, requests, byKey, options.deadline);
    const timedOut = await timeOutStale(services, requests, options.owner, options.deadline);
    if (timedOut) summary.transitions.timed_out = (summary.transitions.timed_out ?? 0) + timedOut;
    summary.redriven = await redrive(services, config.dispatchGraceSeconds * 1000, options.deadline);

    // Alerts, on what the requests are now.
    const current = await store.forAlerts(new Date(started - config.thresholds.creationAlertHours * 3600_000));
    const candidates = evaluate({
      now: now(),
      clusters: observations,
      requests: current,
      thresholds: config.thresholds,
      requestLink: (id) => requestLink(id, config.publicBaseUrl),
    });
    const listed = new Set(observations.filter((o) => !o.error).map((o) => o.key));
    // The lifecycle, the outbox rows and the "notified" marks commit together: a crash cannot
    // resolve an alert without its message, nor send one twice.
    await store.db.transaction(async (tx) => {
      const txAlerts = new AlertStore(tx);
      const lifecycle = await applyCandidates(txAlerts, candidates, {
        now: now(),
        listedClusters: listed,
        repeatMs: config.thresholds.repeatIntervalMinutes * 60_000,
        resolution: (a) => resolutionAnnotations(a, { now: now(), clusters: observations, requests: current }),
      });
      summary.alertsFired = lifecycle.fired.length;
      summary.alertsRepeated = lifecycle.repeated.length;
      summary.alertsResolved = lifecycle.resolved.length;
      const plan = planNotifications(lifecycle, {
        now: now(),
        silences: await txAlerts.activeSilences(now()),
        channels: channels.map((c) => ({ type: c.type, name: c.name, minSeverity: c.minSeverity })),
        failedListings: observations.filter((o) => o.error).map((o) => o.key),
      });
      summary.silenced = plan.silenced;
      summary.inhibited = plan.inhibited;
      await txAlerts.markInhibited(plan.inhibitedIds);
      for (const p of plan.payloads) await txAlerts.enqueue(p.channel, p, now());
      await txAlerts.markNotified(plan.notified, now());
    });

    const delivered = await deliverPending(alerts, channels, { owner: options.owner, now, deadline: options.deadline, log, sendTimeoutMs: config.channelTimeoutMs });
    summary.deliveriesSent = delivered.sent;
    summary.deliveriesFailed = delivered.failed;
    summary.deliveriesDead = delivered.dead;
    summary.deliveriesPending = await alerts.pendingCount();
  } finally {
    await alerts.unlock(SWEEP_LOCK, options.owner, cursor).catch(() => undefined);
    summary.apiCalls = services.cloud.metrics.calls - before.calls;
    summary.throttled = services.cloud.metrics.throttled - before.throttled;
    summary.durationMs = clock.now() - started;
  }
  log.info('sweep', { ...summary });
  return summary;
}
