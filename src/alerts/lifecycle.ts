/**
 * The alert lifecycle, after Alertmanager: an alert fires once, is repeated every repeat
 * interval while it holds, and is resolved once, when it stops holding in a sweep that
 * could see it, with the values at resolution. Silenced alerts are recorded but not sent; a
 * cluster that cannot be listed inhibits its other alerts. One sweep's changes become one
 * message per channel.
 */
import type { ChannelConfig, Severity } from '../config.js';
import type { AlertRecord, AlertStore, Annotations, Silence } from '../store/alerts.js';
import { clusterKeyOf, RULES, type Candidate } from './rules.js';

export interface LifecycleResult {
  fired: AlertRecord[];
  repeated: AlertRecord[];
  resolved: AlertRecord[];
  /** Firing alerts never sent yet (silenced or inhibited until now). */
  unsent: AlertRecord[];
  /** Firing after this sweep. */
  firing: AlertRecord[];
}

/** The worst value of the rule's measure while the alert fires, kept as annotations. */
function withPeak(c: Candidate, previous?: Annotations): Annotations {
  if (!c.measure) return c.annotations;
  const before = typeof previous?.peakValue === 'number' ? previous.peakValue : undefined;
  const worse = before === undefined || (c.measure.worse === 'higher' ? c.measure.value > before : c.measure.value < before);
  return worse
    ? { ...c.annotations, peakValue: c.measure.value, peakDescription: (c.annotations.description as string | undefined) ?? null }
    : { ...c.annotations, peakValue: before, peakDescription: previous?.peakDescription ?? null };
}

export async function applyCandidates(
  store: AlertStore,
  candidates: Candidate[],
  options: {
    now: Date;
    listedClusters: Set<string>;
    repeatMs: number;
    /** What is true of a resolving alert's subject now (values at resolution). */
    resolution?: (a: AlertRecord) => Annotations;
  },
): Promise<LifecycleResult> {
  const { now } = options;
  const active: Candidate[] = [];
  const held: string[] = [];
  for (const c of candidates) {
    if (c.forMs <= 0) {
      active.push(c);
      continue;
    }
    held.push(c.fingerprint);
    const since = await store.holdCondition(c.fingerprint, c.clusterKey, now);
    if (now.getTime() - since.getTime() >= c.forMs) active.push({ ...c, annotations: { ...c.annotations, since: since.toISOString() } });
  }
  await store.clearConditions([...options.listedClusters], held);

  const result: LifecycleResult = { fired: [], repeated: [], resolved: [], unsent: [], firing: [] };
  const firing = new Map((await store.firing()).map((a) => [a.fingerprint, a]));
  const activeFps = new Set(active.map((c) => c.fingerprint));
  for (const c of active) {
    const existing = firing.get(c.fingerprint);
    if (existing) {
      const annotations = { ...withPeak(c, existing.annotations), since: c.annotations.since ?? existing.annotations.since ?? existing.startsAt.toISOString() };
      await store.refresh(existing.id, annotations, now, c.requestId);
      const current = { ...existing, annotations };
      if (!existing.lastNotifiedAt) result.unsent.push(current);
      else if (now.getTime() - existing.lastNotifiedAt.getTime() >= options.repeatMs) result.repeated.push(current);
      result.firing.push(current);
      continue;
    }
    const created = await store.fire({
      fingerprint: c.fingerprint,
      rule: c.rule,
      severity: c.severity,
      labels: c.labels,
      annotations: { ...withPeak(c), since: c.annotations.since ?? now.toISOString() },
      requestId: c.requestId,
      startsAt: now,
    });
    if (created) {
      result.fired.push(created);
      result.firing.push(created);
    }
  }
  for (const a of firing.values()) {
    if (activeFps.has(a.fingerprint)) continue;
    // Only what this sweep could see may resolve: creation alerts always, cluster and pool alerts when the cluster was listed.
    const poolOrCluster = RULES[a.rule as keyof typeof RULES]?.pool || a.rule === 'cluster_unreachable';
    if (poolOrCluster && !options.listedClusters.has(clusterKeyOf(a.labels))) {
      result.firing.push(a);
      continue;
    }
    const current = options.resolution?.(a);
    const resolved = await store.resolve(a.id, now, current ? { ...a.annotations, ...current } : undefined);
    if (resolved) result.resolved.push(resolved);
  }
  return result;
}

export function silenceMatches(s: Silence, a: AlertRecord): boolean {
  const m = s.matchers;
  return (
    (!m.provider || m.provider === a.labels.provider) &&
    (!m.clusterId || m.clusterId === a.labels.clusterId) &&
    (!m.rule || m.rule === a.rule) &&
    (!m.pool || m.pool === a.labels.nodepoolName || m.pool === a.labels.nodepoolId)
  );
}

/**
 * The inhibition rule: while a cluster cannot be listed (its `cluster_unreachable` fires, or
 * this sweep's listing of it failed), every other alert of that cluster is held back: its
 * pool alerts and its requests' creation alerts. One cause, one message.
 */
export function inhibitingClusters(firing: Array<Pick<AlertRecord, 'rule' | 'labels'>>, failedListings: Iterable<string> = []): Set<string> {
  return new Set([...firing.filter((a) => a.rule === 'cluster_unreachable').map((a) => clusterKeyOf(a.labels)), ...failedListings]);
}

export function isInhibited(a: Pick<AlertRecord, 'rule' | 'labels'>, inhibiting: Set<string>): boolean {
  return a.rule !== 'cluster_unreachable' && inhibiting.has(clusterKeyOf(a.labels));
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export interface NotificationItem {
  id: number;
  fingerprint: string;
  status: 'firing' | 'resolved';
  reason: 'new' | 'repeat' | 'resolved';
  rule: string;
  severity: Severity;
  labels: AlertRecord['labels'];
  annotations: AlertRecord['annotations'];
  startsAt: string;
  endsAt?: string;
}

export interface NotificationPayload {
  channel: string;
  groupKey: string;
  sweepAt: string;
  status: 'firing' | 'resolved';
  alerts: NotificationItem[];
}

/** One payload per channel with what it should hear of this sweep, and the alerts that were sent anywhere. */
export function planNotifications(
  result: LifecycleResult,
  options: { now: Date; silences: Silence[]; channels: ChannelConfig[]; failedListings?: Iterable<string> },
): { payloads: NotificationPayload[]; notified: number[]; silenced: number; inhibited: number; inhibitedIds: Map<number, string> } {
  const inhibited = inhibitingClusters(result.firing, options.failedListings);
  const inhibitedIds = new Map(result.firing.filter((a) => isInhibited(a, inhibited)).map((a) => [a.id, clusterKeyOf(a.labels)]));
  const candidates: Array<{ a: AlertRecord; reason: NotificationItem['reason'] }> = [
    ...result.fired.map((a) => ({ a, reason: 'new' as const })),
    ...result.unsent.map((a) => ({ a, reason: 'new' as const })),
    ...result.repeated.map((a) => ({ a, reason: 'repeat' as const })),
    // A resolution is sent only to those who heard the alert fire.
    ...result.resolved.filter((a) => a.lastNotifiedAt).map((a) => ({ a, reason: 'resolved' as const })),
  ];
  let silenced = 0;
  let inhibitedCount = 0;
  const sendable = candidates.filter(({ a, reason }) => {
    // A resolution of an alert people heard firing always goes out, silence or not: it closes what they saw.
    if (reason !== 'resolved' && options.silences.some((s) => silenceMatches(s, a))) return void silenced++, false;
    if (a.state === 'firing' && isInhibited(a, inhibited)) return void inhibitedCount++, false;
    return true;
  });
  const notified = new Set<number>();
  const payloads: NotificationPayload[] = [];
  for (const ch of options.channels) {
    const items = sendable
      .filter(({ a }) => RANK[a.severity] >= RANK[ch.minSeverity])
      .map(({ a, reason }): NotificationItem => ({
        id: a.id,
        fingerprint: a.fingerprint,
        status: reason === 'resolved' ? 'resolved' : 'firing',
        reason,
        rule: a.rule,
        severity: a.severity,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt.toISOString(),
        ...(a.endsAt ? { endsAt: a.endsAt.toISOString() } : {}),
      }));
    if (!items.length) continue;
    for (const i of items) notified.add(i.id);
    payloads.push({
      channel: ch.name,
      groupKey: `nodepool-pilot/${ch.name}`,
      sweepAt: options.now.toISOString(),
      status: items.some((i) => i.status === 'firing') ? 'firing' : 'resolved',
      alerts: items,
    });
  }
  return { payloads, notified: [...notified], silenced, inhibited: inhibitedCount, inhibitedIds };
}
