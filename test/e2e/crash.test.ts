/**
 * The process dies (SIGKILL) between the cloud's answer to CreateClusterNodePool and the
 * commit that records it. After a restart the request must adopt the pool that was
 * created, and nothing may be created twice. The cloud emulator runs as its own process,
 * so that it outlives the crash, as the real cloud would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { DATABASE_URL, isolatedPostgresUrl } from '../helpers/db.js';
import { type Child, runTs } from '../helpers/process.js';

const TOKEN = 'crash-test-token-0123456789';
const children: Child[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'npp-crash-'));

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

async function startSystem(env: Record<string, string | undefined>): Promise<{ child: Child; api: string }> {
  const child = runTs('sandbox/start.ts', env);
  children.push(child);
  const m = await child.waitFor(/API \(FC HTTP trigger\)\s+(http:\/\/\S+)/);
  return { child, api: m[1]! };
}

/** The system's environment against a cloud emulator of its own, on a store of its own. */
async function systemEnv(cloudUrl: string, own: { DATA_DIR: string; LEASE_SECONDS: string; CLOUD_CONNECT_TIMEOUT_MS: string }) {
  return {
    ...process.env,
    SANDBOX_PORT: '0',
    HTTP_PORT: '0',
    ENS_ENDPOINT: cloudUrl,
    ACK_ENDPOINT: cloudUrl,
    VPC_ENDPOINT: cloudUrl,
    ECS_ENDPOINT: cloudUrl,
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'sandbox-access-key-id',
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'sandbox-access-key-secret',
    API_TOKENS: TOKEN,
    SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    DATABASE_URL: DATABASE_URL ? await isolatedPostgresUrl(DATABASE_URL) : '',
    WATCH_INTERVAL_SECONDS: '1',
    PROVISION_BUDGET_SECONDS: '5',
    DISPATCH_GRACE_SECONDS: '1',
    ...own,
  };
}

describe(`a crash between the cloud's answer and the commit (${DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('adopts the created pool after a restart, with no duplicate create', async () => {
    // Prepare: the cloud, in a process of its own
    // A fast cloud (pools are active about a second after their creation), so the test can wait for active.
    const cloud = runTs('sandbox/main.ts', { ...process.env, SANDBOX_PORT: '0', SANDBOX_SPEED: '600' });
    children.push(cloud);
    const cloudUrl = (await cloud.waitFor(/cloud emulator\s+(http:\/\/\S+)/))[1]!;
    const env = await systemEnv(cloudUrl, { DATA_DIR: dataDir, LEASE_SECONDS: '12', CLOUD_CONNECT_TIMEOUT_MS: '2000' });
    const first = await startSystem({ ...env, NPP_TEST_CRASH_AFTER_CREATE: '1' });
    const name = uniqueName('crash');

    // Act 1: submit; provision creates the pool, then the process is killed before it commits
    const post = await fetch(`${first.api}/v1/nodepool-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) }),
    });
    expect(post.status).toBe(202);
    const { id } = (await post.json()) as { id: string };
    const death = await Promise.race([
      first.child.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the first system did not die:\n${first.child.output().slice(-2000)}`)), 20_000)),
    ]);
    expect(death.signal).toBe('SIGKILL');
    const calls = async () =>
      ((await (await fetch(`${cloudUrl}/_sandbox/calls?action=CreateClusterNodePool`)).json()) as { calls: any[] }).calls.filter(
        (c) => c.params.NodepoolInfo?.Name === name,
      );
    expect((await calls()).map((c) => c.outcome)).toEqual(['OK']);

    // Act 2: restart without the hook; the sweep re-drives the request once its lease expires
    const second = await startSystem(env);
    let state = '';
    let body: any;
    for (let i = 0; i < 60 && state !== 'active'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const res = await fetch(`${second.api}/v1/nodepool-requests/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      body = await res.json();
      state = body.state;
    }

    // Assess
    expect(state).toBe('active');
    expect(body.history.map((h: any) => h.state)).toEqual(['accepted', 'submitting', 'creating', 'active']);
    expect(body.history[2].note).toMatch(/^adopted node pool np/);
    expect((await calls()).map((c) => c.outcome)).toEqual(['OK']);
    const pools = ((await (await fetch(`${cloudUrl}/_sandbox/state`)).json()) as any).clusters
      .find((c: any) => c.id === SEED_ENS_CLUSTER)
      .pools.filter((p: any) => p.name === name);
    expect(pools).toHaveLength(1);
    expect(body.nodepoolId).toBe(pools[0].id);
  }, 90_000);
});

describe(`a crash after a scale's or a delete's call, before its commit (${DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('makes each call once: after a restart the request reads the pool, sees the call ran, and goes on waiting', async () => {
    // Prepare: the cloud in its own process, a pool on a cluster of its own for each provider
    const cloud = runTs('sandbox/main.ts', { ...process.env, SANDBOX_PORT: '0', SANDBOX_SPEED: '600' });
    children.push(cloud);
    const cloudUrl = (await cloud.waitFor(/cloud emulator\s+(http:\/\/\S+)/))[1]!;
    const admin = async (path: string, body: unknown) =>
      (await fetch(`${cloudUrl}/_sandbox${path}`, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<any>;
    const ens = await admin('/clusters', { provider: 'ens', pools: [{ name: 'edge-ops', desired: 2 }] });
    const ack = await admin('/clusters', { provider: 'ack', pools: [{ name: 'workers-ops', desired: 2 }] });
    const env = await systemEnv(cloudUrl, {
      DATA_DIR: mkdtempSync(join(tmpdir(), 'npp-crash-ops-')),
      LEASE_SECONDS: '11',
      CLOUD_CONNECT_TIMEOUT_MS: '1000',
    });
    const calls = async (action: string, clusterId: string) =>
      ((await (await fetch(`${cloudUrl}/_sandbox/calls?action=${action}&clusterId=${clusterId}`)).json()) as { calls: any[] }).calls.map((c) => c.outcome);

    for (const step of [
      {
        body: { operation: 'scale', provider: 'ens', clusterId: ens.id, nodepoolName: 'edge-ops', desiredSize: 3 },
        action: 'ScaleClusterNodePool',
        end: 'active',
      },
      {
        body: { operation: 'delete', provider: 'ens', clusterId: ens.id, nodepoolName: 'edge-ops', confirm: 'edge-ops', force: true },
        action: 'DeleteClusterNodePool',
        end: 'deleted',
      },
      {
        body: { operation: 'scale', provider: 'ack', regionId: ack.regionId, clusterId: ack.id, nodepoolName: 'workers-ops', desiredSize: 1 },
        action: 'ModifyClusterNodePool',
        end: 'active',
      },
    ]) {
      // Act 1: the call is answered, and the process is killed before it commits that
      const first = await startSystem({ ...env, NPP_TEST_CRASH_AFTER_CREATE: '1' });
      const post = await fetch(`${first.api}/v1/nodepool-requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(step.body),
      });
      expect(post.status).toBe(202);
      const { id } = (await post.json()) as { id: string };
      const death = await Promise.race([
        first.child.exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the system did not die:\n${first.child.output().slice(-2000)}`)), 20_000)),
      ]);
      expect(death.signal).toBe('SIGKILL');
      expect(await calls(step.action, step.body.clusterId)).toEqual(['OK']);

      // Act 2: restart without the hook; the sweep re-drives the request once its lease expires
      const second = await startSystem(env);
      let body: any;
      for (let i = 0; i < 80 && body?.state !== step.end; i++) {
        await new Promise((r) => setTimeout(r, 500));
        body = await (await fetch(`${second.api}/v1/nodepool-requests/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
      }
      second.child.proc.kill('SIGINT');
      await second.child.exited;

      // Assess: the end reached, through the pool read after the restart, with the one call
      expect(body.state).toBe(step.end);
      expect(body.history.map((h: any) => h.note).join('\n')).toContain('did run');
      expect(await calls(step.action, step.body.clusterId)).toEqual(['OK']);
    }
  }, 180_000);
});

describe('npm start', () => {
  it('prints its URLs, token and curl, serves, and stops cleanly on Ctrl-C (SIGINT)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npp-start-'));
    const child = runTs('sandbox/start.ts', { ...process.env, SANDBOX_PORT: '0', HTTP_PORT: '0', DATA_DIR: dir, DATABASE_URL: '', API_TOKENS: '' });
    children.push(child);
    const api = (await child.waitFor(/API \(FC HTTP trigger\)\s+(http:\/\/\S+)/))[1]!;
    await child.waitFor(/Ctrl-C stops everything/);
    expect(child.output()).toMatch(/API token\s+dev-\S+\s+\(generated for this run/);
    expect(child.output()).toContain('curl -s -X POST');
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    child.proc.kill('SIGINT');
    const exit = await child.exited;
    expect(exit.code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});
