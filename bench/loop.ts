/**
 * What a user would otherwise run, in the same run as ours and against the same emulator and
 * limits: a Terraform-style loop. Per cluster it creates one pool, polls the cluster's listing
 * every `pollMs` until that pool is active, then creates the next; all clusters in parallel.
 */
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from '../sandbox/cloud-emulator.js';
import type { Cluster } from '../src/cloud/cluster.js';
import { CloudClient } from '../src/cloud/index.js';
import { isUp } from '../src/cloud/nodepool.js';
import { sleep } from './common.js';

export interface LoopPlan {
  /** The emulator's URL (ENS and ACK share it). */
  url: string;
  /** The pools to create, in order: for each, its cluster and its create body. */
  creates: Array<{ ref: Cluster; body: unknown }>;
  pollMs: number;
  /** The client's own limits, as ours runs with. */
  rateLimits?: { create?: number; describe?: number };
  /** One create before the clock starts (its pool is not waited for), to warm the client. */
  warmUp?: { ref: Cluster; body: unknown };
  onActive?: () => void;
}

/** Runs the loop; answers when its clock started and when each cluster's last pool was seen active (ms since the epoch). */
export async function terraformLoop(plan: LoopPlan): Promise<{ t0: number; done: number[] }> {
  const client = new CloudClient({
    credentials: { accessKeyId: DEFAULT_ACCESS_KEY_ID, accessKeySecret: DEFAULT_ACCESS_KEY_SECRET },
    endpoints: { ens: plan.url, ack: plan.url },
    rateLimits: plan.rateLimits,
  });
  const budget = () => ({ deadline: Date.now() + 600_000 });
  if (plan.warmUp) await client.createNodePool(plan.warmUp.ref, plan.warmUp.body as never, budget());
  const t0 = Date.now();
  const byCluster = new Map<string, Array<{ ref: Cluster; body: unknown }>>();
  for (const c of plan.creates) byCluster.set(c.ref.clusterId, [...(byCluster.get(c.ref.clusterId) ?? []), c]);
  const done = await Promise.all(
    [...byCluster.values()].map(async (creates) => {
      let last = Date.now();
      for (const { ref, body } of creates) {
        const { nodepoolId } = await client.createNodePool(ref, body as never, budget());
        for (;;) {
          await sleep(plan.pollMs);
          const pool = (await client.listNodePools(ref, budget())).find((p) => p.id === nodepoolId);
          if (pool && isUp(pool)) break;
        }
        last = Date.now();
        plan.onActive?.();
      }
      return last;
    }),
  );
  return { t0, done };
}
