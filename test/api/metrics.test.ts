/**
 * GET /metrics after a scripted run: parsed by a real exposition-format parser, and every
 * number checked against the store and the emulator's own call log.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { renderMetrics } from '../../src/http/metrics.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

type Family = ReturnType<typeof parsePrometheusTextFormat>[number];

describe.each(backends)('metrics on $name', (backend) => {
  const t = useSystem(backend);

  const scrape = async (): Promise<Map<string, Family>> => {
    const res = await t.api('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    return new Map(parsePrometheusTextFormat(res.text).map((f) => [f.name, f]));
  };
  const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
    families.get(`nodepool_pilot_${name}`)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value;

  it('matches the store and the cloud after 3 creations that came up and 1 that failed', async () => {
    const posted = [];
    for (let i = 0; i < 3; i++)
      posted.push(await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('m')) }));
    posted.push(await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample('eck-nothere01', uniqueName('m')) }));
    expect(posted.map((p) => p.status)).toEqual([202, 202, 202, 202]);
    await t.idle();
    t.advanceCloud(11 * 60_000);
    await t.sweep();
    await t.idle();

    const m = await scrape();
    expect(value(m, 'requests', { provider: 'ens', state: 'active' })).toBe('3');
    expect(value(m, 'requests', { provider: 'ens', state: 'failed' })).toBe('1');
    expect(m.get('nodepool_pilot_requests')?.metrics.reduce((n, x) => n + Number(x.value), 0)).toBe(4);
    expect(value(m, 'alerts_firing', { rule: 'creation_failed' })).toBe('1');
    expect(m.get('nodepool_pilot_alerts_firing')?.metrics).toHaveLength(1);

    const ready = m.get('nodepool_pilot_request_ready_seconds')!;
    expect(ready.type).toBe('HISTOGRAM');
    const ens = ready.metrics[0]!;
    expect(ens.count).toBe('3');
    expect(ens.buckets!['+Inf']).toBe('3');
    expect(Number(ens.sum)).toBeGreaterThan(0);
    // Buckets only grow with their bound.
    const counts = Object.entries(ens.buckets!).map(([, v]) => Number(v));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));

    // Every ENS and ACK call the emulator answered is counted once, under its API and outcome
    // (Function Compute's own InvokeFunction, the hand-off to provision, is not a node-pool API call).
    const expected = new Map<string, number>();
    for (const c of t.sys.emulator.callLog()) {
      if (c.product === 'fc') continue;
      const key = `${c.product}:${c.action} ${c.outcome}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const counted = new Map(
      m.get('nodepool_pilot_cloud_calls_total')!.metrics.map((x) => [`${x.labels!.api} ${x.labels!.outcome}`, Number(x.value)] as [string, number]),
    );
    expect(counted).toEqual(expected);
    expect(counted.get('ens:CreateClusterNodePool OK')).toBe(3);
    // The request for a cluster that does not exist failed at its look-up, before any create.
    expect(counted.get('ens:DescribeClusterNodePools InvalidParameter.ClusterId')).toBe(1);

    expect(Number(value(m, 'last_sweep_duration_seconds'))).toBeGreaterThanOrEqual(0);
    expect(Number(value(m, 'seconds_since_last_sweep'))).toBeLessThan(60);
    expect(Number(value(m, 'clusters_watched'))).toBeGreaterThanOrEqual(1);
    expect(value(m, 'clusters_unreachable')).toBe('0');
    expect(m.get('nodepool_pilot_outbox_pending')?.type).toBe('GAUGE');
  });

  it('needs a token', async () => {
    expect((await t.api('GET', '/metrics', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await t.api('POST', '/metrics', {})).status).toBe(405);
  });
});

describe('the exposition text', () => {
  it('escapes label values so that a parser reads back exactly what was counted', () => {
    const outcome = 'Odd"Code\\with\nnewline';
    const text = renderMetrics(
      {
        requests: [],
        ready: { buckets: [], sum: 0, count: 0 },
        calls: [{ api: 'ens:CreateClusterNodePool', outcome, kind: 'server', calls: 2 }],
        firing: [],
        outbox: [],
        lastSweep: null,
        clusters: { watched: 0, unreachable: 0 },
      },
      new Date(),
    );
    const calls = parsePrometheusTextFormat(text).find((f) => f.name === 'nodepool_pilot_cloud_calls_total')!;
    expect(calls.metrics).toEqual([{ labels: { api: 'ens:CreateClusterNodePool', outcome }, value: '2' }]);
  });
});
