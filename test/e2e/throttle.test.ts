/**
 * Flow control end to end: the emulator enforces CreateClusterNodePool's documented
 * 10 calls/s per user; the client's limiter and retries must get all creates through.
 * Real time: these two runs take about five seconds each.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { budget, ensExample, uniqueName, useEmulator } from '../helpers/cloud.js';

const env = useEmulator(); // documented limits: 10 creates/s, 100 listings/s

beforeEach(() => {
  env.emulator.flow.reset();
  env.emulator.faults.clear();
});

async function fiftyCreates(rate: number) {
  const client = env.client({ rateLimits: { create: rate }, retry: { baseDelayMs: 200, maxDelayMs: 5_000, maxAttempts: 20 } });
  const since = env.emulator.callLog().at(-1)?.seq ?? 0;
  const names = Array.from({ length: 50 }, () => uniqueName('burst'));
  const results = await Promise.allSettled(
    names.map((name) => client.createNodePool({ provider: 'ens', clusterId: SEED_ENS_CLUSTER }, ensExample(SEED_ENS_CLUSTER, name), budget(60_000))),
  );
  const creates = env.emulator.callLog({ since, action: 'CreateClusterNodePool' });
  return { results, names, creates, client };
}

describe('CreateClusterNodePool flow control (50 concurrent creates)', () => {
  it('with the client limiter above the emulator limit: throttled attempts are retried, exactly 50 creates succeed', async () => {
    const { results, names, creates, client } = await fiftyCreates(1_000);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(creates.filter((c) => c.outcome === 'Throttling.User').length).toBeGreaterThan(0);
    expect(creates.filter((c) => c.outcome === 'OK')).toHaveLength(50);
    expect(client.metrics.throttled).toBe(creates.filter((c) => c.outcome === 'Throttling.User').length);
    // every name exists exactly once
    const pools = env.emulator.world.listedPools(SEED_ENS_CLUSTER).filter((p) => names.includes(p.name));
    expect(pools).toHaveLength(50);
    expect(new Set(pools.map((p) => p.name)).size).toBe(50);
  });

  it('with the client limiter at the documented 10/s: no throttled attempt at all', async () => {
    const { results, creates, client } = await fiftyCreates(10);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(creates.map((c) => c.outcome).filter((o) => o !== 'OK')).toEqual([]);
    expect(creates).toHaveLength(50);
    expect(client.metrics).toMatchObject({ throttled: 0, retries: 0 });
  });
});
