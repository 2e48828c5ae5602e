/**
 * `npm start` as its own process: aborted uploads, with and without a token, to the HTTP
 * trigger and to the queue, and it still answers; no rejection went unhandled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { cutUpload } from '../helpers/net.js';
import { type Child, runTs } from '../helpers/process.js';

describe('npm start as its own process', () => {
  const children: Child[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'npp-abort-'));
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps serving after aborted uploads, with and without a token', async () => {
    const token = 'abort-test-token-0123456789';
    const child = runTs('sandbox/start.ts', {
      ...process.env,
      SANDBOX_PORT: '0',
      HTTP_PORT: '0',
      API_TOKENS: token,
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      WATCH_INTERVAL_SECONDS: '3600',
    });
    children.push(child);
    const api = (await child.waitFor(/API \(FC HTTP trigger\)\s+(http:\/\/\S+)/))[1]!;
    const cloud = (await child.waitFor(/cloud emulator\s+(http:\/\/\S+)/))[1]!;
    for (let i = 0; i < 10; i++) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(i % 2 ? { authorization: `Bearer ${token}` } : {}) };
      await cutUpload(api, '/v1/nodepool-requests', headers, 1000, Buffer.from('{"provider":"ens","req'), i < 5 ? 'reset' : 'end');
    }
    for (let i = 0; i < 3; i++) await cutUpload(cloud, '/_sandbox/queues/nodepool-requests/messages', {}, 1000, Buffer.from('{"prov'), 'reset');

    const health = await fetch(`${api}/healthz`);
    const post = await fetch(`${api}/v1/nodepool-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('after-abort')) }),
    });
    expect(health.status).toBe(200);
    expect(post.status).toBe(202);
    expect(child.proc.exitCode).toBeNull();
    expect(child.output()).not.toMatch(/unhandled promise rejection/);
    // each cut-off upload ended its own exchange, logged once, and invoked nothing
    const lines = child
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    // (a reset may reach the host before its headers do; then there is no exchange to log)
    const cutOff = lines.filter((l) => l.component === 'fc-host' && l.path === '/v1/nodepool-requests' && l.received !== undefined);
    expect(cutOff.length).toBeGreaterThan(0);
    expect(cutOff.length).toBeLessThanOrEqual(10);
  });
});
