/**
 * Rule evaluation on its own, without a sweep: alerts follow pools (by id), a taken name is
 * the caller's mistake, and a resolution carries the values at resolution.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, resolutionAnnotations } from '../../src/alerts/rules.js';
import type { ClusterListing } from '../../src/cloud/cluster.js';
import { CloudError } from '../../src/cloud/errors.js';
import { type NodePool, nodeCounts } from '../../src/cloud/nodepool.js';
import type { NodepoolRequest } from '../../src/requests/model.js';
import type { AlertRecord } from '../../src/store/alerts.js';

const NOW = new Date('2026-11-30T12:00:00Z');
const thresholds = {
  underCapacityMinutes: 15,
  stuckTransitionMinutes: 30,
  unreachableSweeps: 3,
  repeatIntervalMinutes: 240,
  creationAlertHours: 24,
  ensNodeInitMinutes: 20,
};
const CLUSTER = 'eck-rules001';
const KEY = `ens//${CLUSTER}`;

function request(id: string, over: Partial<NodepoolRequest>): NodepoolRequest {
  return {
    id,
    provider: 'ens',
    clusterId: CLUSTER,
    nodepoolName: 'edge-a',
    operation: 'create',
    state: 'active',
    createParams: {},
    bodyHash: 'h',
    source: 'http',
    attempts: 1,
    deadlineAt: NOW,
    createdAt: NOW,
    updatedAt: NOW,
    ...over,
  };
}

function pool(id: string, over: Partial<NodePool> = {}): NodePool {
  return {
    provider: 'ens',
    clusterId: CLUSTER,
    id,
    name: 'edge-a',
    state: 'active',
    cloudState: 'active',
    desired: 3,
    total: 3,
    serving: 3,
    healthy: null,
    initial: 0,
    failed: 0,
    offline: null,
    removing: 0,
    ...over,
  };
}

function listed(pools: NodePool[]): ClusterListing {
  return { key: KEY, cluster: { provider: 'ens', clusterId: CLUSTER }, pools, consecutiveFailures: 0, watchAll: false };
}

const run = (requests: NodepoolRequest[], clusters: ClusterListing[]) =>
  evaluate({ now: NOW, clusters, requests, thresholds, requestLink: (id) => `/v1/nodepool-requests/${id}` });

describe('rule evaluation', () => {
  it('keeps watching a pool after a later request for its name failed', () => {
    const first = request('npr_01', { nodepoolId: 'np-1' });
    const refused = request('npr_02', { state: 'failed', lastError: { code: 'InvalidParameter', message: 'no' } });
    const out = run([first, refused], [listed([pool('np-1', { failed: 1, serving: 2 })])]);
    expect(out.map((c) => [c.rule, c.labels.nodepoolId ?? null, c.nodepoolRequestId])).toEqual([
      ['creation_failed', null, 'npr_02'],
      ['nodes_failed', 'np-1', 'npr_01'],
      ['under_capacity', 'np-1', 'npr_01'],
    ]);
  });

  it("labels a pool's alerts with its requests' labels, a later request's over an earlier one's, and a scale without labels keeps them", () => {
    const created = request('npr_01', { nodepoolId: 'np-1', labels: { team: 'payments', env: 'staging' } });
    const scaled = request('npr_02', { nodepoolId: 'np-1', operation: 'scale', targetSize: 3 });
    const moved = request('npr_03', { nodepoolId: 'np-1', operation: 'scale', targetSize: 3, labels: { env: 'prod' } });
    const cluster = { ...listed([pool('np-1', { failed: 1 })]), labels: { team: 'edge', site: 'gy' } };
    expect(run([created, scaled], [cluster])[0]!.labels).toMatchObject({ team: 'payments', env: 'staging', site: 'gy', rule: 'nodes_failed' });
    expect(run([created, scaled, moved], [cluster])[0]!.labels).toMatchObject({ team: 'payments', env: 'prod' });
    const failedScale = request('npr_04', { operation: 'scale', targetSize: 9, state: 'failed', lastError: { code: 'X', message: 'no' } });
    expect(run([created, failedScale], []).map((c) => [c.rule, c.labels.team])).toEqual([['scale_failed', 'payments']]);
  });

  it('keeps earlier failures quiet while a delete is under way, and watches the pool until the delete was sent', () => {
    const created = request('npr_01', { nodepoolId: 'np-1' });
    const failedScale = request('npr_02', { operation: 'scale', targetSize: 9, state: 'failed', lastError: { code: 'X', message: 'no' } });
    const scaled = request('npr_03', { nodepoolId: 'np-1', operation: 'scale', targetSize: 3 });
    const deleting = request('npr_04', { operation: 'delete', state: 'accepted', nodepoolId: 'np-1' });
    const cluster = listed([pool('np-1', { failed: 1 })]);
    // Accepted, not yet sent: the pool is still watched, and the old scale failure does not fire again.
    expect(run([created, failedScale, scaled, deleting], [cluster]).map((c) => c.rule)).toEqual(['nodes_failed']);
    // Its call sent (or the cloud carrying it out): the pool is watched no more.
    const sent = { ...deleting, state: 'submitting' as const, createStartedAt: NOW };
    expect(run([created, failedScale, scaled, sent], [cluster])).toEqual([]);
    // As the store loads them then (the active requests of a pool being deleted left out): the old failure stays quiet.
    expect(run([failedScale, sent], [cluster])).toEqual([]);
    expect(run([created, failedScale, scaled, { ...deleting, state: 'applying' as const }], [listed([])])).toEqual([]);
  });

  it("ties a pool alert to the pool's id, so a new pool of the same name is another alert", () => {
    const old = run([request('npr_01', { nodepoolId: 'np-1' })], [listed([pool('np-1', { failed: 1 })])]);
    const renewed = run([request('npr_05', { nodepoolId: 'np-2' })], [listed([pool('np-2', { failed: 1 })])]);
    expect(old[0]!.fingerprint).not.toBe(renewed[0]!.fingerprint);
  });

  it('watches only the latest active request of a name: a pool replaced by a new one of that name is not missing', () => {
    const out = run([request('npr_01', { nodepoolId: 'np-1' }), request('npr_05', { nodepoolId: 'np-2' })], [listed([pool('np-2')])]);
    expect(out).toEqual([]);
  });

  it('makes a name taken by someone else a warning, and says nothing when the pool holding it is ours', () => {
    const taken = (existing: { nodepoolId: string; nodepoolRequestId?: string }) =>
      request('npr_09', { state: 'failed', lastError: { code: 'NodePoolAlreadyExists', message: 'taken', existing } });
    expect(run([taken({ nodepoolId: 'np-x' })], []).map((c) => [c.rule, c.severity])).toEqual([['creation_failed', 'warning']]);
    expect(run([request('npr_01', { nodepoolId: 'np-1' }), taken({ nodepoolId: 'np-1', nodepoolRequestId: 'npr_01' })], [listed([pool('np-1')])])).toEqual([]);
    expect(run([request('npr_03', { state: 'failed', lastError: { code: 'QuotaExceeded', message: 'q' } })], []).map((c) => c.severity)).toEqual(['critical']);
  });

  it('makes a failure of another severity for the same name another alert, as a severity label would in Alertmanager', () => {
    const clash = run(
      [request('npr_09', { state: 'failed', lastError: { code: 'NodePoolAlreadyExists', message: 'taken', existing: { nodepoolId: 'np-x' } } })],
      [],
    );
    const quota = run([request('npr_10', { state: 'failed', lastError: { code: 'QuotaExceeded', message: 'q' } })], []);
    expect(clash[0]!.fingerprint).not.toBe(quota[0]!.fingerprint);
    expect(quota[0]!.fingerprint).toBe(run([request('npr_11', { state: 'failed', lastError: { code: 'Other', message: 'o' } })], [])[0]!.fingerprint);
  });

  it("fires cluster_unreachable after the configured number of failed sweeps, with the cloud's error", () => {
    const error = new CloudError({ code: 'ServiceUnavailable', message: 'down', kind: 'server' });
    const obs = (n: number): ClusterListing => ({ ...listed([]), pools: undefined, error, consecutiveFailures: n });
    expect(run([], [obs(2)])).toEqual([]);
    expect(run([], [obs(3)])).toMatchObject([
      { rule: 'cluster_unreachable', clusterKey: KEY, annotations: { errorCode: 'ServiceUnavailable', failedSweeps: 3 } },
    ]);
  });
});

describe('resolution', () => {
  const firing = (rule: string, nodepoolId?: string): Pick<AlertRecord, 'rule' | 'labels' | 'nodepoolRequestId' | 'annotations'> => ({
    rule,
    labels: { rule, severity: 'critical', provider: 'ens', clusterId: CLUSTER, nodepoolName: 'edge-a', nodepoolId },
    nodepoolRequestId: 'npr_01',
    annotations: { description: '1 of 3 nodes failed', peakDescription: '2 of 3 nodes failed', errorCode: null },
  });

  it('describes a pool as it is now, keeping the worst while it fired', () => {
    const now = resolutionAnnotations(firing('nodes_failed', 'np-1'), { now: NOW, clusters: [listed([pool('np-1')])], requests: [] });
    expect(now).toEqual({ description: '0 of 3 nodes failed', cloudState: 'active', nodes: expect.objectContaining({ failed: 0, serving: 3, desired: 3 }) });
  });

  it('says a timed-out request recovered, and clears the error it fired with', () => {
    const a = { ...firing('creation_timeout'), annotations: { description: 'DeadlineExceeded: no pool', errorCode: 'DeadlineExceeded' } };
    const now = resolutionAnnotations(a, {
      now: NOW,
      clusters: [],
      requests: [
        request('npr_01', {
          nodepoolId: 'np-1',
          observed: { cloudState: 'active', ...nodeCounts(pool('np-1')), at: NOW.toISOString() },
        }),
      ],
    });
    expect(now).toMatchObject({
      description: 'request npr_01 recovered: its pool became active after the deadline',
      errorCode: null,
      peakDescription: 'DeadlineExceeded: no pool',
      nodes: { serving: 3 },
    });
  });
});
