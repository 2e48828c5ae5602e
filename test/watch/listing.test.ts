/**
 * The listing of a sweep hands its results on a batch at a time, in order, and lists no
 * further ahead than a few batches of the work on them: a slow store does not make the sweep
 * hold every cluster's pools at once.
 */
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../src/cloud/cluster.js';
import { type ListResult, listClusters, type WatchTarget } from '../../src/watch/listing.js';

const targets: WatchTarget[] = Array.from({ length: 30 }, (_, i) => {
  const cluster: Cluster = { provider: 'ens', clusterId: `eck-list${String(i).padStart(4, '0')}` };
  return { key: `ens/${cluster.clusterId}`, cluster, watchAll: true };
});

describe('listClusters', () => {
  it('waits while two batches are still to be handed on, then lists the rest, handing every batch in order', async () => {
    let listed = 0;
    const cloud = {
      listNodePools: async () => {
        listed++;
        return [];
      },
    };
    const clock = { now: () => Date.now(), sleep: async () => {} };
    const handed: ListResult[][] = [];
    let release = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const listing = listClusters({ cloud, clock } as never, targets, {
      deadline: Date.now() + 60_000,
      concurrency: 4,
      batch: 3,
      onListed: async (batch) => {
        handed.push(batch);
        await blocked; // the work on the first batch is slow
      },
    });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // one batch being worked on and two waiting (9 clusters), and at most one listing per worker beyond them
    expect(handed).toHaveLength(1);
    expect(listed).toBeGreaterThanOrEqual(9);
    expect(listed).toBeLessThanOrEqual(9 + 4);
    release();
    const { results, reached } = await listing;
    expect(reached).toBe(30);
    expect(results).toHaveLength(30);
    expect(handed.flat().map((r) => r.key)).toEqual(targets.map((t) => t.key));
  });
});
