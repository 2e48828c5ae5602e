/**
 * Inhibition and notification planning on their own: one unreachable cluster holds back all
 * of its other alerts, creation alerts included, so that one cause sends one message.
 */
import { describe, expect, it } from 'vitest';
import { inhibitingClusters, isInhibited } from '../../src/alerts/inhibit.js';
import type { LifecycleResult } from '../../src/alerts/lifecycle.js';
import { planNotifications } from '../../src/alerts/notify.js';
import type { AlertRecord } from '../../src/store/alerts.js';

const NOW = new Date('2026-11-30T12:00:00Z');
const CLUSTER = 'eck-rules001';
const KEY = `ens//${CLUSTER}`;

describe('inhibition', () => {
  const alert = (id: number, rule: string, clusterId = CLUSTER): AlertRecord => ({
    id,
    fingerprint: `fp${id}`,
    rule,
    severity: 'critical',
    state: 'firing',
    labels: { rule, severity: 'critical', provider: 'ens', clusterId, nodepoolName: 'edge-a' },
    annotations: {},
    startsAt: NOW,
    updatedAt: NOW,
  });
  const result = (fired: AlertRecord[]): LifecycleResult => ({ fired, repeated: [], resolved: [], unsent: [], firing: fired });
  const channels = [{ type: 'webhook' as const, name: 'hook', minSeverity: 'info' as const }];

  it('holds back every other alert of a cluster that cannot be listed, creation alerts included', () => {
    const unreachable = alert(1, 'cluster_unreachable');
    const inhibiting = inhibitingClusters([unreachable]);
    expect(['nodes_failed', 'creation_timeout', 'creation_failed', 'nodepool_missing'].map((r) => isInhibited(alert(2, r), inhibiting))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(isInhibited(unreachable, inhibiting)).toBe(false);
    expect(isInhibited(alert(3, 'creation_timeout', 'eck-other'), inhibiting)).toBe(false);
  });

  it('inhibits on a failed listing before cluster_unreachable fires, so one cause sends one message', () => {
    const timeout = alert(2, 'creation_timeout');
    const plan = planNotifications(result([timeout]), { now: NOW, silences: [], channels, failedListings: [KEY] });
    expect(plan).toMatchObject({ payloads: [], inhibited: 1 });
    expect([...plan.inhibitedIds]).toEqual([[2, KEY]]);
    expect(planNotifications(result([timeout]), { now: NOW, silences: [], channels }).payloads).toHaveLength(1);
  });
});
