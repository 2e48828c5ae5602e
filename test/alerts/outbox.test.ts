/**
 * The outbox against a receiver that refuses a message for good: after a few attempts the
 * message leaves the line (and is logged), so the channel does not stop for ever.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createChannel } from '../../src/alerts/channels/index.js';
import type { NotificationPayload } from '../../src/alerts/notify.js';
import { deliverPending, PERMANENT_FAILURE_ATTEMPTS } from '../../src/alerts/outbox.js';
import { silentLogger } from '../../src/log.js';
import { AlertStore, type Delivery } from '../../src/store/alerts.js';
import { backends } from '../helpers/db.js';
import { type Receiver, startReceiver } from '../helpers/receivers.js';

const receivers: Receiver[] = [];
afterAll(async () => Promise.all(receivers.map((r) => r.close())));

const payload = (n: number): NotificationPayload => ({
  channel: 'hook',
  groupKey: 'g',
  sweepAt: new Date().toISOString(),
  status: 'firing',
  alerts: [
    {
      id: n,
      fingerprint: `f${n}`,
      status: 'firing',
      reason: 'new',
      rule: 'nodes_failed',
      severity: 'critical',
      labels: { rule: 'nodes_failed', severity: 'critical', provider: 'ens', clusterId: 'eck-1' },
      annotations: {},
      startsAt: new Date().toISOString(),
    },
  ],
});

describe.each(backends)('outbox on $name', (backend) => {
  it('takes a message the receiver refuses for good out of the line after a few attempts', async () => {
    const db = await backend.open();
    const store = new AlertStore(db);
    let clock = Date.now();
    const good = await startReceiver('webhook', 'right', () => clock);
    receivers.push(good);
    // Signed with the wrong secret: the receiver answers 401 every time.
    const wrong = createChannel({ type: 'webhook', name: 'hook', url: good.url, secret: 'wrong', minSeverity: 'info' }, { timeoutMs: 2_000 });
    const now = () => new Date(clock);
    await store.enqueue('hook', payload(1), now());
    for (let i = 0; i < PERMANENT_FAILURE_ATTEMPTS; i++) {
      await deliverPending(store, [wrong], { owner: 'o', now, deadline: clock + 60_000, log: silentLogger, sendTimeoutMs: 2_000 });
      clock += 11 * 60_000; // past any backoff
    }
    expect((await store.deliveries({ channel: 'hook' })).map((d: Delivery) => d.state)).toEqual(['dead']);
    // the next message goes out through a channel that works
    await store.enqueue('hook', payload(2), now());
    const right = createChannel({ type: 'webhook', name: 'hook', url: good.url, secret: 'right', minSeverity: 'info' }, { timeoutMs: 2_000 });
    const out = await deliverPending(store, [right], { owner: 'o', now, deadline: clock + 60_000, log: silentLogger, sendTimeoutMs: 2_000 });
    expect(out).toMatchObject({ sent: 1, dead: 0 });
    expect((await store.deliveries({ channel: 'hook' })).map((d: Delivery) => d.state)).toEqual(['dead', 'sent']);
    await db.close();
  });

  it('never takes a message out of the line for a receiver that is only down', async () => {
    const db = await backend.open();
    const store = new AlertStore(db);
    const r = await startReceiver('webhook', 's');
    receivers.push(r);
    r.setDown(true);
    const ch = createChannel({ type: 'webhook', name: 'down', url: r.url, secret: 's', minSeverity: 'info' }, { timeoutMs: 2_000 });
    let clock = Date.now();
    await store.enqueue('down', payload(3), new Date(clock));
    for (let i = 0; i < PERMANENT_FAILURE_ATTEMPTS + 3; i++) {
      await deliverPending(store, [ch], { owner: 'o', now: () => new Date(clock), deadline: clock + 60_000, log: silentLogger, sendTimeoutMs: 2_000 });
      clock += 11 * 60_000;
    }
    expect((await store.deliveries({ channel: 'down' })).map((d: Delivery) => [d.state, d.attempts])).toEqual([['pending', PERMANENT_FAILURE_ATTEMPTS + 3]]);
    await db.close();
  });
});
