/**
 * Who hears what of one sweep: one payload per channel, at or above the channel's severity,
 * without what is silenced or inhibited; a resolution only to those who heard the alert fire.
 */
import { clusterKey } from '../cloud/cluster.js';
import type { ChannelConfig, Severity } from '../config.js';
import type { Mentions, RouteConfig } from '../config-routes.js';
import type { AlertRecord, Silence } from '../store/alerts.js';
import { routeNoticeKey } from '../store/route-notices.js';
import { inhibitingClusters, isInhibited } from './inhibit.js';
import type { LifecycleResult } from './lifecycle.js';
import { groupKeyOf, routesFor } from './routes.js';
import { silenceMatches } from './silence.js';

export const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

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
  /** Sent now because a silence that covered it ended while it fired. */
  afterSilence?: { id: string; endedAt: string; comment?: string };
}

export interface NotificationPayload {
  channel: string;
  /** The route's mentions, when its route names some (the channel's own otherwise). */
  mentions?: Mentions;
  groupKey: string;
  sweepAt: string;
  status: 'firing' | 'resolved';
  alerts: NotificationItem[];
}

/**
 * A firing alert never sent, that a silence which has since ended covered while it fired: it
 * goes out now because that silence ended, and says so (the latest such silence).
 */
function afterSilence(a: AlertRecord, reason: NotificationItem['reason'], ended: Silence[]): Pick<NotificationItem, 'afterSilence'> {
  if (reason !== 'new' || a.lastNotifiedAt || a.state !== 'firing') return {};
  const s = ended.filter((x) => x.endsAt.getTime() > a.startsAt.getTime() && silenceMatches(x, a)).sort((x, y) => y.endsAt.getTime() - x.endsAt.getTime())[0];
  return s ? { afterSilence: { id: s.id, endedAt: s.endsAt.toISOString(), ...(s.comment ? { comment: s.comment } : {}) } } : {};
}

/**
 * The payloads of this sweep, and the alerts that were sent anywhere. Without routes, one per
 * channel with what it should hear; with ALERT_ROUTES, one per channel of each route that
 * takes alerts, and per group of its groupBy labels.
 */
export function planNotifications(
  result: LifecycleResult,
  options: {
    now: Date;
    silences: Silence[];
    channels: ChannelConfig[];
    routes?: RouteConfig;
    /** REPEAT_INTERVAL_MINUTES in ms, for routes without an interval of their own. */
    repeatMs?: number;
    /** When each route last sent each alert (store/route-notices.ts). */
    routeNotices?: Map<string, Date>;
    failedListings?: Iterable<string>;
  },
): {
  payloads: NotificationPayload[];
  notified: number[];
  /** The (alert, route) pairs sent this sweep, to record. */
  routeNotified: Array<{ alertId: number; routeId: string }>;
  silenced: number;
  inhibited: number;
  inhibitedIds: Map<number, string>;
} {
  const inhibited = inhibitingClusters(result.firing, options.failedListings);
  const inhibitedIds = new Map(result.firing.filter((a) => isInhibited(a, inhibited)).map((a) => [a.id, clusterKey(a.labels)]));
  const candidates: Array<{ a: AlertRecord; reason: NotificationItem['reason'] }> = [
    ...result.fired.map((a) => ({ a, reason: 'new' as const })),
    ...result.unsent.map((a) => ({ a, reason: 'new' as const })),
    ...result.repeated.map((a) => ({ a, reason: 'repeat' as const })),
    // A resolution is sent only to those who heard the alert fire.
    ...result.resolved.filter((a) => a.lastNotifiedAt).map((a) => ({ a, reason: 'resolved' as const })),
  ];
  let silenced = 0;
  let inhibitedCount = 0;
  const now = options.now.getTime();
  const active = options.silences.filter((s) => s.endsAt.getTime() > now);
  const ended = options.silences.filter((s) => s.endsAt.getTime() <= now);
  const sendable = candidates.filter(({ a, reason }) => {
    // A resolution of an alert people heard firing always goes out, silence or not: it closes what they saw.
    if (reason !== 'resolved' && active.some((s) => silenceMatches(s, a))) {
      silenced++;
      return false;
    }
    if (a.state === 'firing' && isInhibited(a, inhibited)) {
      inhibitedCount++;
      return false;
    }
    return true;
  });
  const notified = new Set<number>();
  const payloads: NotificationPayload[] = [];
  const minSeverity = new Map(options.channels.map((c) => [c.name, c.minSeverity]));
  // Each (channel, group) and what it hears, in the order the routes give them.
  const buckets = new Map<string, { channel: string; groupKey: string; items: typeof sendable; mentions?: Mentions }>();
  const put = (channel: string, groupKey: string, item: (typeof sendable)[number], mentions?: Mentions): boolean => {
    const severity = minSeverity.get(channel);
    if (!severity || RANK[item.a.severity] < RANK[severity]) return false;
    const key = `${channel}\u0000${groupKey}`;
    const bucket = buckets.get(key) ?? { channel, groupKey, items: [], ...(mentions ? { mentions } : {}) };
    if (!bucket.items.includes(item)) bucket.items.push(item);
    buckets.set(key, bucket);
    return true;
  };
  // A repeat goes down a route only when that route's own interval has passed since it last sent the alert.
  const routeNotified: Array<{ alertId: number; routeId: string }> = [];
  const dueOn = (route: RouteConfig, a: AlertRecord) => {
    const last = options.routeNotices?.get(routeNoticeKey(a.id, route.id)) ?? a.lastNotifiedAt;
    const interval = route.repeatIntervalMinutes !== undefined ? route.repeatIntervalMinutes * 60_000 : (options.repeatMs ?? 0);
    return !last || now - last.getTime() >= interval;
  };
  for (const item of sendable) {
    if (!options.routes) {
      for (const ch of options.channels) put(ch.name, `nodepool-pilot/${ch.name}`, item);
      continue;
    }
    for (const route of routesFor(options.routes, item.a.labels)) {
      if (item.reason === 'repeat' && !dueOn(route, item.a)) continue;
      let sent = false;
      for (const channel of route.channels) sent = put(channel, `nodepool-pilot/${groupKeyOf(route, item.a.labels)}`, item, route.mentions) || sent;
      if (sent && item.reason !== 'resolved') routeNotified.push({ alertId: item.a.id, routeId: route.id });
    }
  }
  for (const { channel, groupKey, items: picked, mentions } of buckets.values()) {
    const items = picked.map(
      ({ a, reason }): NotificationItem => ({
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
        ...afterSilence(a, reason, ended),
      }),
    );
    for (const i of items) notified.add(i.id);
    payloads.push({
      channel,
      ...(mentions ? { mentions } : {}),
      groupKey,
      sweepAt: options.now.toISOString(),
      status: items.some((i) => i.status === 'firing') ? 'firing' : 'resolved',
      alerts: items,
    });
  }
  return { payloads, notified: [...notified], routeNotified, silenced, inhibited: inhibitedCount, inhibitedIds };
}
