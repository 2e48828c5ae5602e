/**
 * Our cloud client against the emulator: the simulated lifecycle, every fault as the real
 * API would show it, retries within a budget, pagination, and adoption after a lost answer.
 */
import { Agent } from 'node:http';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ManualClock } from '../../src/clock.js';
import { CloudError, type Cluster } from '../../src/cloud/index.js';
import { ackExample, budget, ensExample, uniqueName, useEmulator } from '../helpers/cloud.js';

const clock = new ManualClock(Date.now());
const env = useEmulator({ clock, rateLimits: { CreateClusterNodePool: 100_000, DescribeClusterNodePools: 100_000, DescribeTaskInfo: 100_000 } });
const ENS: Cluster = { provider: 'ens', clusterId: SEED_ENS_CLUSTER };

afterEach(() => {
  env.emulator.faults.clear();
});

async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${env.url}/_sandbox${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function newCluster(provider: 'ens' | 'ack', pools?: unknown[]): Promise<Cluster> {
  const c = await admin('POST', '/clusters', { provider, pools });
  return provider === 'ens' ? { provider, clusterId: c.id } : { provider, clusterId: c.id, regionId: 'cn-beijing' };
}

async function errorOf(p: Promise<unknown>): Promise<CloudError> {
  try {
    await p;
  } catch (e) {
    return e as CloudError;
  }
  throw new Error('expected a CloudError');
}

describe('lifecycle on the speed-up clock', () => {
  it('takes an ENS pool from scaling through nodes coming up one by one to active', async () => {
    const client = env.client();
    const name = uniqueName();
    await client.createNodePool(ENS, ensExample(SEED_ENS_CLUSTER, name), budget());
    const seen = async () => (await client.findNodePool(ENS, name, budget()))!;
    expect(await seen()).toMatchObject({ state: 'scaling', desired: 3, total: 3, initial: 3, serving: 0, failed: null, healthy: null, offline: null });
    await clock.advance(8_000); // 8 simulated minutes: two of three nodes are up
    expect(await seen()).toMatchObject({ state: 'scaling', initial: 1, serving: 2 });
    await clock.advance(2_000); // 10 minutes: done
    expect(await seen()).toMatchObject({ state: 'active', cloudState: 'active', initial: 0, serving: 3 });
  });

  it('reports failed nodes and ends the ACK task in fail with an error', async () => {
    const ref = await newCluster('ack');
    const client = env.client();
    const name = uniqueName();
    const out = await client.createNodePool(ref, ackExample(name, { desired_size: 3 }), budget());
    await admin('PATCH', `/clusters/${ref.clusterId}/nodepools/${name}`, { faults: { failedNodes: 1 } });
    await clock.advance(11_000);
    expect(await client.findNodePool(ref, name, budget())).toMatchObject({ state: 'active', failed: 1, serving: 2, healthy: 2, initial: 0 });
    const task = await client.describeTask(ref as Extract<Cluster, { provider: 'ack' }>, out.taskId!, budget());
    expect(task.state).toBe('fail');
    expect(task.error).toEqual({ code: 'NodesScaleOutFailed', message: '1 of 3 instances failed to join the cluster' });
  });

  it('reports a failed creation with the error the scenario gives', async () => {
    const ref = await newCluster('ack');
    const client = env.client();
    const name = uniqueName();
    const out = await client.createNodePool(ref, ackExample(name), budget());
    await admin('PATCH', `/clusters/${ref.clusterId}/nodepools/${out.nodepoolId}`, {
      faults: { creationFails: { code: 'InvalidInstanceType.ValueNotSupported', message: 'The specified instance type is out of stock.' } },
    });
    await clock.advance((5 * 60_000) / 60);
    const task = await client.describeTask(ref as Extract<Cluster, { provider: 'ack' }>, out.taskId!, budget());
    expect(task).toMatchObject({ state: 'fail', error: { code: 'InvalidInstanceType.ValueNotSupported' } });
    expect(await client.findNodePool(ref, name, budget())).toMatchObject({ failed: 2, serving: 0 });
  });

  it('reports offline nodes as serving but not healthy', async () => {
    const ref = await newCluster('ack', [{ name: 'steady', desired: 4 }]);
    await admin('PATCH', `/clusters/${ref.clusterId}/nodepools/steady`, { faults: { offlineNodes: 2 } });
    expect(await env.client().findNodePool(ref, 'steady', budget())).toMatchObject({ state: 'active', serving: 4, offline: 2, healthy: 2 });
  });

  it('keeps a stuck pool in its transition state however long it waits', async () => {
    const ref = await newCluster('ens');
    const name = uniqueName();
    await env.client().createNodePool(ref, ensExample(ref.clusterId, name), budget());
    await admin('PATCH', `/clusters/${ref.clusterId}/nodepools/${name}`, { faults: { stuck: 'scaling' } });
    await clock.advance(3600_000);
    expect(await env.client().findNodePool(ref, name, budget())).toMatchObject({ state: 'scaling', initial: 3, serving: 0 });
    await admin('PATCH', `/clusters/${ref.clusterId}/nodepools/${name}`, { faults: { stuck: 'removing' } });
    expect(await env.client().findNodePool(ref, name, budget())).toMatchObject({ state: 'removing', cloudState: 'removing_nodes' });
  });

  it('drops a pool deleted behind our back from every listing', async () => {
    const ref = await newCluster('ack', [
      { name: 'doomed', desired: 1 },
      { name: 'kept', desired: 1 },
    ]);
    await admin('PATCH', `/clusters/${ref.clusterId}/nodepools/doomed`, { faults: { deleted: true } });
    const client = env.client();
    expect((await client.listNodePools(ref, budget())).map((p) => p.name)).toEqual(['kept']);
    expect(await client.findNodePool(ref, 'doomed', budget())).toBeUndefined();
  });
});

describe('faults, as the client sees them', () => {
  it('retries 5xx answers and succeeds; the log shows each attempt', async () => {
    const ref = await newCluster('ens');
    await admin('POST', '/faults', { calls: [{ kind: '5xx', count: 2, actions: ['DescribeClusterNodePools'] }] });
    const since = env.emulator.callLog().at(-1)?.seq ?? 0;
    const client = env.client();
    await client.listNodePools(ref, budget());
    const calls = env.emulator.callLog({ since, action: 'DescribeClusterNodePools' }).map((c) => c.outcome);
    expect(calls).toEqual(['ServiceUnavailable', 'ServiceUnavailable', 'OK']);
    expect(client.metrics).toMatchObject({ calls: 3, retries: 2, errors: 2 });
  });

  it('shows a 5xx that outlasts the budget as a retryable CloudError with the request id', async () => {
    const ref = await newCluster('ens');
    await admin('POST', '/faults', { calls: [{ kind: '5xx', rate: 1, status: 500, clusterId: ref.clusterId }] });
    const err = await errorOf(env.client({ retry: { baseDelayMs: 20, maxDelayMs: 40, maxAttempts: 100 } }).listNodePools(ref, budget(1_500)));
    expect(err).toBeInstanceOf(CloudError);
    expect(err).toMatchObject({ code: 'InternalError', statusCode: 500, kind: 'server', retryable: true, budgetExhausted: true });
    expect(err.requestId).toMatch(/^[0-9A-F-]{36}$/);
  });

  it('retries throttling; Throttling.User is classified as throttled', async () => {
    await admin('POST', '/faults', { calls: [{ kind: 'throttling', count: 3 }] });
    const client = env.client();
    await client.listNodePools(ENS, budget());
    expect(client.metrics.throttled).toBe(3);
    const noRetry = env.client({ retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 } });
    await admin('POST', '/faults', { calls: [{ kind: 'throttling', count: 1 }] });
    const err = await errorOf(noRetry.listNodePools(ENS, budget()));
    expect(err).toMatchObject({ code: 'Throttling.User', kind: 'throttled', retryable: true, ambiguous: false, statusCode: 400 });
    expect(err.message).toBe('Request was denied due to user flow control.');
  });

  it('turns an unanswered call into a timeout after the configured read timeout', async () => {
    await admin('POST', '/faults', { calls: [{ kind: 'timeout', count: 1 }] });
    const client = env.client({ timeouts: { connectTimeoutMs: 1_000, readTimeoutMs: 200 }, retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 } });
    const err = await errorOf(client.listNodePools(ENS, budget()));
    expect(err).toMatchObject({ code: 'RequestTimeout', kind: 'timeout', retryable: true, ambiguous: true });
  });

  it('waits out added latency when the read timeout allows it, and times out when it does not', async () => {
    await admin('POST', '/faults', { latency: [{ ms: 300, actions: ['DescribeClusterNodePools'] }] });
    const slowOk = env.client({ timeouts: { connectTimeoutMs: 1_000, readTimeoutMs: 2_000 } });
    const t0 = Date.now();
    await slowOk.listNodePools(ENS, budget());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const impatient = env.client({ timeouts: { connectTimeoutMs: 1_000, readTimeoutMs: 100 }, retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 } });
    expect(await errorOf(impatient.listNodePools(ENS, budget()))).toMatchObject({ kind: 'timeout' });
  });

  it('keeps the read timeout on a reused connection, not the shorter or longer connect timeout', async () => {
    // An answer slower than the connect timeout but within the read timeout arrives.
    const patient = env.client({ timeouts: { connectTimeoutMs: 100, readTimeoutMs: 2_000 } });
    await patient.listNodePools(ENS, budget()); // the next call goes over this connection
    await admin('POST', '/faults', { latency: [{ ms: 300, actions: ['DescribeClusterNodePools'] }] });
    await patient.listNodePools(ENS, budget());
    env.emulator.faults.clear();
    // An unanswered call on a reused connection ends at the read timeout, long before the
    // connect timeout (and the emulator's 5 s hold).
    const quick = env.client({ timeouts: { connectTimeoutMs: 3_000, readTimeoutMs: 200 }, retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 } });
    await quick.listNodePools(ENS, budget());
    await admin('POST', '/faults', { calls: [{ kind: 'timeout', count: 1 }] });
    const t0 = Date.now();
    expect(await errorOf(quick.listNodePools(ENS, budget()))).toMatchObject({ code: 'RequestTimeout', kind: 'timeout', ambiguous: true });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('shows an unreachable cluster as a server error, or as a timeout', async () => {
    const ref = await newCluster('ens');
    await admin('PATCH', `/clusters/${ref.clusterId}`, { faults: { unreachable: 'error' } });
    const client = env.client({ timeouts: { connectTimeoutMs: 1_000, readTimeoutMs: 200 }, retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 } });
    expect(await errorOf(client.listNodePools(ref, budget()))).toMatchObject({ code: 'ServiceUnavailable', statusCode: 503, kind: 'server' });
    await admin('PATCH', `/clusters/${ref.clusterId}`, { faults: { unreachable: 'timeout' } });
    expect(await errorOf(client.listNodePools(ref, budget()))).toMatchObject({ kind: 'timeout' });
    await admin('PATCH', `/clusters/${ref.clusterId}`, { faults: { unreachable: null } });
    await expect(client.listNodePools(ref, budget())).resolves.toEqual([]);
  });

  it('shows a busy ACK cluster as busy and retryable, and creates once it is free', async () => {
    const ref = await newCluster('ack');
    const client = env.client({ retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 } });
    await client.createNodePool(ref, ackExample(uniqueName()), budget());
    const err = await errorOf(client.createNodePool(ref, ackExample(uniqueName()), budget()));
    expect(err).toMatchObject({ code: 'InvalidStatus.Forbidden', kind: 'busy', retryable: true, ambiguous: false });
    await clock.advance(11_000);
    await expect(client.createNodePool(ref, ackExample(uniqueName()), budget())).resolves.toMatchObject({ adopted: false });
  });

  it('shows a busy ENS cluster (fault) as busy', async () => {
    const ref = await newCluster('ens');
    await admin('PATCH', `/clusters/${ref.clusterId}`, { faults: { busy: true } });
    const err = await errorOf(
      env.client({ retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 } }).createNodePool(ref, ensExample(ref.clusterId, uniqueName()), budget()),
    );
    expect(err).toMatchObject({ kind: 'busy', retryable: true });
  });

  it('does not retry a final error', async () => {
    const since = env.emulator.callLog().at(-1)?.seq ?? 0;
    const err = await errorOf(env.client().createNodePool(ENS, ensExample(SEED_ENS_CLUSTER, uniqueName(), { SystemDiskSize: 15 }), budget()));
    expect(err).toMatchObject({ code: 'InvalidParameter.ScalingGroup.SystemDiskSize', kind: 'client', retryable: false, attempts: 1 });
    expect(env.emulator.callLog({ since })).toHaveLength(1);
  });
});

describe('creating exactly once', () => {
  it('adopts the pool when the create ran but its answer was lost', async () => {
    // Prepare: the next create is carried out, then the connection hangs
    const ref = await newCluster('ens');
    await admin('POST', '/faults', { calls: [{ kind: 'timeout', phase: 'after', count: 1, actions: ['CreateClusterNodePool'] }] });
    const client = env.client({ timeouts: { connectTimeoutMs: 1_000, readTimeoutMs: 300 } });
    const name = uniqueName();
    // Act
    const out = await client.createNodePool(ref, ensExample(ref.clusterId, name), budget());
    // Assess
    expect(out.adopted).toBe(true);
    const pools = await client.listNodePools(ref, budget());
    expect(pools.filter((p) => p.name === name)).toHaveLength(1);
    expect(pools[0]!.id).toBe(out.nodepoolId);
    expect(env.emulator.callLog({ clusterId: ref.clusterId, action: 'CreateClusterNodePool' }).map((c) => c.outcome)).toEqual(['Timeout']);
  });

  it('creates again when the lost create never ran', async () => {
    const ref = await newCluster('ack');
    await admin('POST', '/faults', { calls: [{ kind: 'timeout', phase: 'before', count: 1, actions: ['CreateClusterNodePool'] }] });
    const client = env.client({ timeouts: { connectTimeoutMs: 1_000, readTimeoutMs: 300 } });
    const name = uniqueName();
    const out = await client.createNodePool(ref, ackExample(name), budget());
    expect(out.adopted).toBe(false);
    expect(out.taskId).toMatch(/^T-/);
    const log = env.emulator.callLog({ clusterId: ref.clusterId });
    expect(log.map((c) => `${c.action}:${c.outcome}`)).toEqual(['CreateClusterNodePool:Timeout', 'DescribeClusterNodePools:OK', 'CreateClusterNodePool:OK']);
  });

  it('adopts when a retried ACK create is refused because the name now exists', async () => {
    // Prepare: a 5xx after the create ran is indistinguishable from one before; the retry meets "name exists"
    const ref = await newCluster('ack');
    const name = uniqueName();
    await admin('POST', '/faults', {
      calls: [
        { kind: 'timeout', phase: 'after', count: 1, actions: ['CreateClusterNodePool'] },
        { kind: '5xx', count: 1, actions: ['DescribeClusterNodePools'] },
      ],
    });
    const client = env.client({ timeouts: { connectTimeoutMs: 1_000, readTimeoutMs: 300 }, retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 5 } });
    // Act: the lookup after the timeout fails (5xx); the next create is refused as a duplicate name; the pool is adopted
    const out = await client.createNodePool(ref, ackExample(name), budget());
    // Assess
    expect(out.adopted).toBe(true);
    const creates = env.emulator.callLog({ clusterId: ref.clusterId, action: 'CreateClusterNodePool' }).map((c) => c.outcome);
    expect(creates.filter((o) => o === 'OK')).toHaveLength(0);
    expect(env.emulator.world.listedPools(ref.clusterId).filter((p) => p.name === name)).toHaveLength(1);
  });
});

describe('pagination and credentials', () => {
  it('walks every ENS page with one call per page', async () => {
    const ref = await newCluster(
      'ens',
      Array.from({ length: 120 }, (_, i) => ({ name: `pool-${i}`, desired: 1 })),
    );
    const since = env.emulator.callLog().at(-1)?.seq ?? 0;
    const pools = await env.client({ ensPageSize: 50 }).listNodePools(ref, budget());
    expect(pools).toHaveLength(120);
    expect(new Set(pools.map((p) => p.id)).size).toBe(120);
    expect(env.emulator.callLog({ since, action: 'DescribeClusterNodePools' })).toHaveLength(3);
  });

  it('shares one ENS listing among look-ups that wait for it, and never one already sent before a look-up asked', async () => {
    const ref = await newCluster('ens');
    const client = env.client();
    const names = [uniqueName(), uniqueName(), uniqueName()];
    await client.createNodePool(ref, ensExample(ref.clusterId, names[0]!), budget());
    const describes = () => env.emulator.callLog({ action: 'DescribeClusterNodePools', clusterId: ref.clusterId }).length;
    const before = describes();
    const found = await Promise.all(names.map((n) => client.findNodePool(ref, n, budget())));
    expect(found.map((p) => p?.name)).toEqual([names[0], undefined, undefined]);
    expect(describes() - before).toBe(1);

    // A listing in flight is not shared: a pool created while it travels is seen by a look-up that asks afterwards.
    await admin('POST', '/faults', { latency: [{ ms: 300, actions: ['DescribeClusterNodePools'] }] });
    const inFlight = client.findNodePool(ref, names[1]!, budget());
    await new Promise((r) => setTimeout(r, 100));
    await env.client().createNodePool(ref, ensExample(ref.clusterId, names[1]!), budget());
    const asksAfter = await client.findNodePool(ref, names[1]!, budget());
    await inFlight;
    expect(asksAfter?.name).toBe(names[1]);
    expect(describes() - before).toBe(3);
  });

  it('lists an ACK cluster with one call', async () => {
    const since = env.emulator.callLog().at(-1)?.seq ?? 0;
    const pools = await env.client().listNodePools({ provider: 'ack', clusterId: SEED_ACK_CLUSTER, regionId: 'cn-beijing' }, budget());
    expect(pools.find((p) => p.isDefault)).toMatchObject({ name: 'default-nodepool', state: 'active', serving: 3, healthy: 3, offline: 0 });
    expect(env.emulator.callLog({ since })).toHaveLength(1);
  });

  it('signs with FC-style STS credentials', async () => {
    const sts = env.emulator.issueSts('nodepool-pilot-fc');
    await env.client({ credentials: sts }).listNodePools(ENS, budget());
    expect(env.emulator.callLog().at(-1)).toMatchObject({ principal: 'role:nodepool-pilot-fc', outcome: 'OK' });
  });

  it('falls back to the default credential chain (environment variables)', async () => {
    const saved = { ...process.env };
    process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'sandbox-access-key-id';
    process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = 'sandbox-access-key-secret';
    process.env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED = 'true';
    process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = 'true';
    try {
      await env.client({ credentials: 'default-chain' }).listNodePools(ENS, budget());
      expect(env.emulator.callLog().at(-1)).toMatchObject({ principal: 'account:sandbox-access-key-id', outcome: 'OK' });
    } finally {
      process.env = saved;
    }
  });
});

describe('error messages', () => {
  it('never carry the query string of an ENS call, where the password travels', async () => {
    await admin('POST', '/faults', { calls: [{ kind: 'timeout', count: 1, actions: ['CreateClusterNodePool'] }] });
    const client = env.client({ timeouts: { connectTimeoutMs: 1_000, readTimeoutMs: 200 }, retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 } });
    const err = await errorOf(client.createNodePool(ENS, ensExample(SEED_ENS_CLUSTER, uniqueName(), { Password: 'Leaky-Pa55word!' }), budget()));
    expect(err.kind).toBe('timeout');
    expect(err.message).not.toContain('Leaky');
    expect(err.message).not.toContain('ScalingGroup');
  });
});

describe('network failures', () => {
  it('gives up a connection not made within the connect timeout, as a network error that did not run, however long the read timeout', async () => {
    // A connection that never completes (a black-holed address), made by the agent the client library creates.
    const original = Agent.prototype.createConnection;
    Agent.prototype.createConnection = function (this: Agent, options: { host?: string }, ...rest: unknown[]) {
      if (options.host !== 'blackhole.test') return (original as (...a: unknown[]) => unknown).call(this, options, ...rest);
      const socket = new Socket();
      Object.defineProperty(socket, 'connecting', { value: true });
      return socket;
    } as never;
    try {
      const client = env.client({
        endpoints: { ens: 'http://blackhole.test:81' },
        timeouts: { connectTimeoutMs: 150, readTimeoutMs: 10_000 },
        retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 },
      });
      const t0 = Date.now();
      const err = await errorOf(client.listNodePools(ENS, budget()));
      expect(err).toMatchObject({ code: 'ConnectTimeout', kind: 'network', retryable: true, ambiguous: false });
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      Agent.prototype.createConnection = original;
    }
  });

  it('shows a refused connection as a network error that certainly did not run', async () => {
    const client = env.client({ endpoints: { ens: 'http://127.0.0.1:1' }, retry: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 } });
    const err = await errorOf(client.listNodePools(ENS, budget()));
    expect(err).toMatchObject({ code: 'ECONNREFUSED', kind: 'network', retryable: true, ambiguous: false });
  });
});
