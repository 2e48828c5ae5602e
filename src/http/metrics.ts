/**
 * GET /metrics: Prometheus' text exposition format (version 0.0.4), computed from the store so
 * that every `api` instance answers the same. Label values are escaped as the format asks
 * (backslash, double quote, newline).
 */
import type { Services } from '../pipeline/services.js';
import { type MetricsSnapshot, READY_BUCKETS, readMetrics } from '../store/metrics.js';
import type { HttpResponse } from './types.js';

const PREFIX = 'nodepool_pilot_';

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};
const num = (v: number) => (Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : v > 0 ? '+Inf' : '-Inf');

class Exposition {
  private readonly lines: string[] = [];
  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string, samples: Array<[Labels, number, string?]>): void {
    this.lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} ${type}`);
    for (const [labels, value, suffix = ''] of samples) this.lines.push(`${PREFIX}${name}${suffix}${labelText(labels)} ${num(value)}`);
  }
  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

export function renderMetrics(m: MetricsSnapshot, now: Date): string {
  const out = new Exposition();
  out.family(
    'requests',
    'gauge',
    'Node-pool requests by provider and state.',
    m.requests.map((r) => [{ provider: r.provider, state: r.state }, r.count]),
  );
  out.family(
    'request_ready_seconds',
    'histogram',
    'Time from a request being accepted to its pool first seen active, of the requests now active (both providers).',
    [
      ...READY_BUCKETS.map((le, i): [Labels, number, string] => [{ le: String(le) }, m.ready.buckets[i] ?? 0, '_bucket']),
      [{ le: '+Inf' }, m.ready.count, '_bucket'],
      [{}, m.ready.sum, '_sum'],
      [{}, m.ready.count, '_count'],
    ],
  );
  out.family(
    'cloud_calls_total',
    'counter',
    'Cloud API calls by API and outcome (OK or the error code), over every instance.',
    aggregate(m.calls, (c) => ({ api: c.api, outcome: c.outcome })),
  );
  out.family(
    'cloud_throttled_total',
    'counter',
    'Cloud API calls the cloud refused as throttled, by API.',
    aggregate(
      m.calls.filter((c) => c.kind === 'throttled'),
      (c) => ({ api: c.api }),
    ),
  );
  out.family(
    'alerts_firing',
    'gauge',
    'Firing alerts by rule and severity.',
    m.firing.map((a) => [{ rule: a.rule, severity: a.severity }, a.count]),
  );
  out.family(
    'outbox_pending',
    'gauge',
    'Alert messages waiting to be delivered, by channel.',
    m.outbox.map((o) => [{ channel: o.channel }, o.pending]),
  );
  out.family(
    'outbox_oldest_pending_age_seconds',
    'gauge',
    'Age of the oldest message waiting to be delivered, by channel.',
    m.outbox.map((o) => [{ channel: o.channel }, o.oldestAgeSeconds]),
  );
  const sweep = m.lastSweep;
  out.family('last_sweep_duration_seconds', 'gauge', 'How long the last sweep took.', sweep ? [[{}, sweep.durationMs / 1000]] : []);
  out.family('last_sweep_timestamp_seconds', 'gauge', 'When the last sweep ended (Unix time).', sweep ? [[{}, sweep.finishedAt.getTime() / 1000]] : []);
  out.family(
    'seconds_since_last_sweep',
    'gauge',
    'Seconds since the last sweep ended.',
    sweep ? [[{}, Math.max(0, (now.getTime() - sweep.finishedAt.getTime()) / 1000)]] : [],
  );
  out.family('clusters_watched', 'gauge', 'Clusters the sweep watches.', [[{}, m.clusters.watched]]);
  out.family('clusters_unreachable', 'gauge', 'Watched clusters whose last listing failed.', [[{}, m.clusters.unreachable]]);
  return out.text();
}

/** Sums counts that share the labels `key` gives them. */
function aggregate<T extends { calls: number }>(items: T[], key: (t: T) => Labels): Array<[Labels, number]> {
  const sums = new Map<string, [Labels, number]>();
  for (const item of items) {
    const labels = key(item);
    const k = JSON.stringify(labels);
    const s = sums.get(k);
    if (s) s[1] += item.calls;
    else sums.set(k, [labels, item.calls]);
  }
  return [...sums.values()];
}

export async function metricsResponse(services: Services): Promise<HttpResponse> {
  const now = new Date(services.clock.now());
  const body = renderMetrics(await readMetrics(services.store.db, now), now);
  return { status: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' }, body };
}
