/**
 * ALERT_ROUTES end to end: two teams' requests with their labels, each team's channel hearing
 * only its alerts, grouped as its route says; a critical alert also reaching the paging route
 * through `continue`; what no route takes going to the default route; and the tree checked at
 * start, naming what is wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '../../src/config.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { type Receiver, startReceiver } from '../helpers/receivers.js';
import { useSystem } from '../helpers/system.js';

const SECRET = 'whsec-routes-test';

describe('alert routes', () => {
  const receivers: Record<string, Receiver> = {};
  const NAMES = ['team-a', 'team-b', 'pager', 'ops'];
  beforeAll(async () => {
    for (const name of NAMES) receivers[name] = await startReceiver('webhook', SECRET, () => t.sys.instance.clock.now());
  });
  afterAll(async () => Promise.all(Object.values(receivers).map((r) => r.close())));

  const t = useSystem(backends[0]!, () => ({
    env: {
      ALERT_CHANNELS: JSON.stringify(NAMES.map((name) => ({ type: 'webhook', name, url: receivers[name]!.url, secret: SECRET, minSeverity: 'info' }))),
      ALERT_ROUTES: JSON.stringify({
        routes: [
          { matchRe: { severity: 'critical' }, channels: ['pager'], continue: true, repeatIntervalMinutes: 30 },
          { match: { team: 'a' }, channels: ['team-a'], groupBy: ['clusterId'] },
          { match: { team: 'b' }, channels: ['team-b'] },
        ],
        default: { channels: ['ops'] },
      }),
    },
  }));

  /** What each receiver heard: per message, the clusters and teams of its alerts. */
  const heard = (name: string) =>
    receivers[name]!.accepted().map((m) => m.body.alerts.map((a: any) => `${a.labels.alertname}:${a.labels.team ?? '-'}:${a.labels.clusterId}`).sort());

  it("sends each team's alerts to its own channel only, pages the critical ones too, and what no route took to the default route", async () => {
    // Creations that fail at once (no such cluster), so each raises a critical creation_failed.
    const post = (cluster: string, labels?: Record<string, string>) =>
      t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(cluster, uniqueName('r')), ...(labels ? { labels } : {}) });
    expect((await post('eck-nope-a1', { team: 'a', env: 'prod' })).status).toBe(202);
    expect((await post('eck-nope-a2', { team: 'a' })).status).toBe(202);
    expect((await post('eck-nope-b1', { team: 'b' })).status).toBe(202);
    expect((await post('eck-nope-x1')).status).toBe(202);
    // A warning with no team: a pool of that name exists, not made by us.
    const cluster = await t.admin('POST', '/clusters', { provider: 'ens', pools: [{ name: 'taken-here' }] });
    expect((await t.api('POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(cluster.id, 'taken-here') })).status).toBe(202);
    await t.idle();
    await t.sweep();

    // team a: one message per cluster (groupBy clusterId); team b: one message; nothing of the other's.
    expect(heard('team-a').sort()).toEqual([['creation_failed:a:eck-nope-a1'], ['creation_failed:a:eck-nope-a2']]);
    expect(heard('team-b')).toEqual([['creation_failed:b:eck-nope-b1']]);
    // Every critical alert pages, through the first route's continue, in one message.
    expect(heard('pager')).toEqual([
      ['creation_failed:-:eck-nope-x1', 'creation_failed:a:eck-nope-a1', 'creation_failed:a:eck-nope-a2', 'creation_failed:b:eck-nope-b1'],
    ]);
    // What no route took goes to the default route: the warning. (As in Alertmanager, an alert a
    // route took, `continue` or not, is not the default route's: the unlabelled critical one paged.)
    expect(heard('ops')).toEqual([[`creation_failed:-:${cluster.id}`]]);
    // The request's labels are on the alert, and on the request.
    const alert = receivers['team-a']!.accepted()[0]!.body.alerts[0];
    expect(alert.labels).toMatchObject({ team: 'a', provider: 'ens', rule: 'creation_failed' });

    // Repeats: the pager's route every 30 minutes, the others on REPEAT_INTERVAL_MINUTES (240).
    const count = () => Object.fromEntries(NAMES.map((n) => [n, receivers[n]!.accepted().length])) as Record<'team-a' | 'team-b' | 'pager' | 'ops', number>;
    const before = count();
    t.advanceTime(31 * 60_000);
    await t.sweep();
    expect(count()).toEqual({ ...before, pager: before.pager + 1 });
    t.advanceTime(20 * 60_000);
    await t.sweep();
    expect(count()).toEqual({ ...before, pager: before.pager + 1 });
    t.advanceTime(190 * 60_000); // 241 minutes since they fired
    await t.sweep();
    const after = count();
    expect(after.pager).toBe(before.pager + 2);
    expect([after['team-a'] - before['team-a'], after['team-b'] - before['team-b'], after.ops - before.ops]).toEqual([2, 1, 1]);
  });

  it('checks the tree at start and names what is wrong', () => {
    const channels = JSON.stringify([{ type: 'webhook', name: 'ops', url: 'https://example.invalid/hook', secret: 's' }]);
    const problems = (routes: unknown) => {
      try {
        loadConfig({ ALERT_CHANNELS: channels, ALERT_ROUTES: typeof routes === 'string' ? routes : JSON.stringify(routes) });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ routes: [{ match: { team: 'a' }, channels: ['nobody'] }], default: { channels: ['ops'] } })).toEqual([
      'ALERT_ROUTES.routes[0].channels: nobody is not a channel of ALERT_CHANNELS (ops)',
    ]);
    expect(problems({ routes: [{ matchRe: { team: '(' }, channels: ['ops'], repeatIntervalMinutes: 0 }] })).toEqual([
      'ALERT_ROUTES.routes[0].matchRe.team is not a regular expression',
      'ALERT_ROUTES.routes[0].repeatIntervalMinutes must be a whole number of minutes from 1 to 10080 (a week)',
    ]);
    expect(problems({ routes: [{ match: { team: 'a' } }], default: { match: {}, channels: ['ops'] } })).toEqual([
      'ALERT_ROUTES.default.match: the default route takes every alert no route took',
      'ALERT_ROUTES.routes[0] sends nowhere: give it channels or routes',
    ]);
    expect(problems('{not json')).toEqual(['ALERT_ROUTES must be JSON: {"routes": [...], "default": {"channels": [...]}}']);
    expect(problems({ routes: [], default: { channels: ['ops'] } })).toEqual([]);
    expect(problems({ routes: [{ channels: ['ops'], mentions: { userIds: ['u1'], pager: true } }] })).toEqual([
      'ALERT_ROUTES.routes[0].mentions.pager is not something route mentions by (mobiles, userIds, all)',
    ]);
  });
});
