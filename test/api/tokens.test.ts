/**
 * Named, scoped tokens: a `read` token reads everything and writes nothing (403); the name
 * of the token that wrote something is recorded on the request, its history and the silence;
 * no token value appears in any log line, answer or table.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { derivedTokenName, loadConfig, parseApiTokens } from '../../src/config.js';
import { ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { TEST_TOKEN, useSystem } from '../helpers/system.js';

const READ = 'viewer-token-0123456789abcdef';
const ALICE = 'alice-token-0123456789abcdef';

describe('API tokens', () => {
  const t = useSystem(backends[0]!, { env: { API_TOKENS: `${TEST_TOKEN}, viewer:read:${READ}, alice:write:${ALICE}` } });
  const as = (token: string, method: string, path: string, body?: unknown) => t.api(method, path, body, { authorization: `Bearer ${token}` });

  it('parses named entries and the old bare form, and names every bad entry without its value', () => {
    expect(parseApiTokens(`${TEST_TOKEN},viewer:read:${READ}`).tokens).toEqual([
      { name: derivedTokenName(TEST_TOKEN), scope: 'write', token: TEST_TOKEN },
      { name: 'viewer', scope: 'read', token: READ },
    ]);
    expect(derivedTokenName(TEST_TOKEN)).toMatch(/^token-[0-9a-f]{8}$/);
    const bad = parseApiTokens('a b:write:0123456789abcdefgh,x:read:short,dup:read:0123456789abcdefgh,dup:write:abcdefgh0123456789');
    expect(bad.problems).toEqual([
      'API_TOKENS entry 1 (unnamed): the name must be 1 to 63 letters, digits, dots, underscores or hyphens',
      'API_TOKENS entry 2 (x): every token must be at least 16 characters long',
      'API_TOKENS: the name dup is used twice',
    ]);
    expect(() => loadConfig({ API_TOKENS: 'x:read:short-token' })).toThrow(/entry 1 \(x\)/);
    // A scope that is neither is an error, not a write token holding the whole entry.
    expect(parseApiTokens(`grafana:readonly:${READ}`).problems).toEqual(['API_TOKENS entry 1: the scope must be read or write (name:scope:token)']);
    expect(() => loadConfig({ API_TOKENS: 'x:read:short-token' })).not.toThrow(/short-token/);
  });

  it('lets a read token read every route and refuses it every write with 403', async () => {
    for (const path of ['/v1/nodepool-requests', '/v1/alerts', '/v1/silences', '/v1/clusters', '/metrics']) {
      expect([path, (await as(READ, 'GET', path)).status]).toEqual([path, 200]);
    }
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('ro')) }],
      ['POST', '/v1/nodepool-requests?dryRun=true', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('ro')) }],
      ['POST', '/v1/silences', { matchers: { clusterId: 'eck-x' }, endsAt: new Date(Date.now() + 3600_000).toISOString() }],
      ['DELETE', '/v1/silences/sil_00000000000000000000', undefined],
    ];
    const before = t.sys.emulator.callLog().length;
    for (const [method, path, body] of writes) {
      const res = await as(READ, method, path, body);
      expect([method, path, res.status]).toEqual([method, path, 403]);
      expect(res.json).toMatchObject({ type: 'urn:nodepool-pilot:problem:forbidden', detail: expect.stringContaining('the token viewer may read only') });
    }
    expect(t.sys.emulator.callLog().length).toBe(before);
  });

  it("records the writing token's name on the request, its history and a silence, and never a token's value", async () => {
    const post = await as(ALICE, 'POST', '/v1/nodepool-requests', { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('alice')) });
    expect(post.status).toBe(202);
    await t.idle();
    const r = await as(READ, 'GET', `/v1/nodepool-requests/${post.json.id}`);
    expect(r.json.createdBy).toBe('alice');
    expect(r.json.history[0].note).toContain('sent by alice');
    const silence = await as(ALICE, 'POST', '/v1/silences', {
      matchers: { clusterId: SEED_ENS_CLUSTER },
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(silence.json.createdBy).toBe('alice');
    const claimed = await as(ALICE, 'POST', '/v1/silences', {
      matchers: { clusterId: SEED_ENS_CLUSTER },
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
      createdBy: 'somebody-else',
    });
    expect(claimed.status).toBe(400);
    expect(claimed.json.errors).toEqual([{ path: 'createdBy', message: 'is the name of the token that sends the silence: leave it out' }]);
    const old = await t.api('POST', '/v1/silences', { matchers: { clusterId: SEED_ENS_CLUSTER }, endsAt: new Date(Date.now() + 3600_000).toISOString() });
    expect(old.json.createdBy).toBe(derivedTokenName(TEST_TOKEN));
    await as(ALICE, 'DELETE', `/v1/silences/${silence.json.id}`);

    // No token's value in any log line, answer or stored row.
    const logs = t.logs.join('\n');
    expect(logs).toContain('"createdBy":"alice"');
    const everything = [
      logs,
      r.text,
      (await as(READ, 'GET', '/v1/silences')).text,
      (await as(READ, 'GET', '/v1/nodepool-requests?limit=100')).text,
      JSON.stringify((await t.sys.instance.store.db.query('SELECT * FROM nodepool_requests')).rows),
      JSON.stringify((await t.sys.instance.store.db.query('SELECT * FROM silences')).rows),
      JSON.stringify((await t.sys.instance.store.db.query('SELECT * FROM request_history')).rows),
    ].join('\n');
    for (const token of [READ, ALICE, TEST_TOKEN]) expect(everything).not.toContain(token);
  });
});
