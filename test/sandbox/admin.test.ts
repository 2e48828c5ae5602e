/**
 * The emulator's admin API under /_sandbox/, the scenario file, and `npm run sandbox` as a process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { CloudClient } from '../../src/cloud/index.js';
import { budget, KEYS, useEmulator } from '../helpers/cloud.js';

const env = useEmulator();

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${env.url}/_sandbox${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('admin API', () => {
  it('shows the seed clusters in the state', async () => {
    const { json } = await admin('GET', '/state');
    const byId = Object.fromEntries(json.clusters.map((c: any) => [c.id, c]));
    expect(byId[SEED_ENS_CLUSTER]).toMatchObject({ provider: 'ens', regionId: 'cn-guiyang-14' });
    expect(byId[SEED_ACK_CLUSTER]).toMatchObject({ provider: 'ack', regionId: 'cn-beijing' });
    expect(byId[SEED_ACK_CLUSTER].pools[0]).toMatchObject({ name: 'default-nodepool', isDefault: true, status: { state: 'active', serving: 3 } });
    expect(json.rateLimits).toEqual({
      CreateClusterNodePool: 10,
      DescribeClusterNodePools: 100,
      DescribeClusterNodes: 100,
      ScaleClusterNodePool: 10,
      DeleteClusterNodePool: 10,
      DeleteClusterNodes: 10,
      ModifyClusterNodePool: 10,
      DeleteClusterNodepool: 10,
      DescribeClusterDetail: 100,
      DescribeVSwitches: 100,
      DescribeAvailableResource: 100,
      DescribeCloudDiskTypes: 100,
    });
  });

  it('refuses bad admin input with a message, never a 500', async () => {
    expect(await admin('POST', '/clusters', { provider: 'gke' })).toMatchObject({ status: 400, json: { error: expect.stringContaining('provider') } });
    expect(await admin('PATCH', `/clusters/${SEED_ACK_CLUSTER}/nodepools/default-nodepool`, { faults: { meltdown: true } })).toMatchObject({
      status: 400,
      json: { error: expect.stringContaining('meltdown') },
    });
    expect(await admin('PATCH', `/clusters/${SEED_ACK_CLUSTER}/nodepools/default-nodepool`, { faults: { failedNodes: -1 } })).toMatchObject({ status: 400 });
    expect(await admin('POST', '/faults', { calls: [{ kind: 'meteor' }] })).toMatchObject({ status: 400 });
    expect(await admin('POST', '/faults', { calls: [{ kind: '5xx', rate: 2 }] })).toMatchObject({ status: 400 });
    expect((await admin('GET', '/nothing')).status).toBe(404);
  });

  it('filters the call log by action and outcome, and clears it', async () => {
    const client = new CloudClient({ credentials: KEYS, endpoints: { ens: env.url, ack: env.url } });
    await client.listNodePools({ provider: 'ens', clusterId: SEED_ENS_CLUSTER }, budget());
    await client.listNodePools({ provider: 'ens', clusterId: 'eck-missing' }, budget()).catch(() => undefined);
    const { json } = await admin('GET', '/calls?action=DescribeClusterNodePools');
    expect(json.calls.map((c: any) => c.outcome)).toEqual(['OK', 'InvalidParameter.ClusterId']);
    expect(json.calls[0]).toMatchObject({ product: 'ens', clusterId: SEED_ENS_CLUSTER, principal: 'account:sandbox-access-key-id', status: 200 });
    expect((await admin('GET', '/calls?outcome=OK')).json.calls).toHaveLength(1);
    await admin('DELETE', '/calls');
    expect((await admin('GET', '/calls')).json.calls).toEqual([]);
  });

  it('sets rate limits, duplicate delivery and the clock, and reset restores everything', async () => {
    await admin('PUT', '/rate-limits', { CreateClusterNodePool: 50 });
    await admin('POST', '/faults', { duplicateDelivery: 4 });
    const moved = await admin('POST', '/time', { advanceMs: 3_600_000 });
    expect(moved.json.offsetMs).toBe(3_600_000);
    await admin('POST', '/clusters', { provider: 'ens' });
    let state = (await admin('GET', '/state')).json;
    expect(state.rateLimits.CreateClusterNodePool).toBe(50);
    expect(state.faults.duplicateDelivery).toBe(4);
    expect(state.clusters).toHaveLength(3);
    state = (await admin('POST', '/reset')).json;
    expect(state.clusters).toHaveLength(2);
    expect(state.rateLimits.CreateClusterNodePool).toBe(10);
    expect(state.faults).toEqual({ calls: [], latency: [], duplicateDelivery: 0 });
    expect(state.calls).toBe(0);
  });

  it('issues STS credentials that sign calls as the role', async () => {
    const { status, json } = await admin('POST', '/sts', { role: 'ops' });
    expect(status).toBe(201);
    expect(json.accessKeyId).toMatch(/^STS\./);
    const client = new CloudClient({ credentials: json, endpoints: { ens: env.url } });
    await client.listNodePools({ provider: 'ens', clusterId: SEED_ENS_CLUSTER }, budget());
    expect((await admin('GET', '/calls')).json.calls.at(-1).principal).toBe('role:ops');
  });
});

describe('npm run sandbox', () => {
  it('starts with a scenario file, prints the key pair, serves the scenario and stops on SIGTERM', async () => {
    // Prepare: a scenario with one extra ENS cluster whose pool has failed nodes
    const dir = mkdtempSync(join(tmpdir(), 'npp-scenario-'));
    const file = join(dir, 'scenario.json');
    writeFileSync(
      file,
      JSON.stringify({
        clusters: [{ id: 'eck-scenario1', provider: 'ens', pools: [{ name: 'edge-a', desired: 3, faults: { failedNodes: 1 } }] }],
        rateLimits: { CreateClusterNodePool: 25 },
      }),
    );
    // Act
    const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts'], {
      env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_SCENARIO: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /cloud emulator\s+(http:\/\/\S+)/.exec(out);
        if (m && out.includes('access key secret')) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    try {
      // Assess
      expect(out).toContain('sandbox-access-key-id');
      expect(out).toContain('sandbox-access-key-secret');
      const client = new CloudClient({ credentials: KEYS, endpoints: { ens: url } });
      const pools = await client.listNodePools({ provider: 'ens', clusterId: 'eck-scenario1' }, budget());
      // ENS listings carry no failed count: the failed node is neither serving nor initial
      expect(pools).toEqual([expect.objectContaining({ name: 'edge-a', failed: null, initial: 0, serving: 2, total: 3, state: 'active' })]);
      const state = (await (await fetch(`${url}/_sandbox/state`)).json()) as any;
      expect(state.rateLimits.CreateClusterNodePool).toBe(25);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
  });
});
