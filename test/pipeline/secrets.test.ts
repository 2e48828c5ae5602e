/**
 * A password given in a request appears in no log line, no response, no history entry, no
 * plain column of the database and not in the emulator's call log; it is stored sealed
 * (AES-256-GCM) only while a retry may need it, and it still reaches the cloud.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { ackExample, ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

const ENS_PASSWORD = 'Ens-Sekret-4711!';
const ACK_PASSWORD = 'Ack-Sekret-0815!';

describe.each(backends)('secrets on $name', (backend) => {
  const t = useSystem(backend);

  /** Every text value of every table, as one string. */
  async function dump(): Promise<string> {
    const db = t.sys.instance.store.db;
    const tables = (
      await db.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
      )
    ).rows.map((r) => r.table_name);
    let all = '';
    for (const table of tables) all += JSON.stringify((await db.query(`SELECT * FROM ${table}`)).rows);
    return all;
  }

  it('keeps the ENS and ACK passwords out of logs, responses, history, plain columns and the call log', async () => {
    // Prepare: one request of each provider by HTTP, one by the queue; one deferred so its secret stays sealed
    const busy = await t.admin('POST', '/clusters', { provider: 'ack', pools: [{ name: 'busy', desired: 1, ageMinutes: 0 }] });
    const ensName = uniqueName('pw');
    const responses: string[] = [];
    const post = async (body: unknown) => {
      const r = await t.api('POST', '/v1/nodepool-requests', body);
      responses.push(r.text);
      return r.json.id as string;
    };
    const ids = [
      await post({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, ensName, { Password: ENS_PASSWORD, KeyPairName: undefined }) }),
      await post({
        provider: 'ack',
        regionId: 'cn-beijing',
        clusterId: SEED_ACK_CLUSTER,
        request: ackExample(uniqueName('pw'), { login_password: ACK_PASSWORD }),
      }),
      await post({ provider: 'ack', regionId: 'cn-beijing', clusterId: busy.id, request: ackExample(uniqueName('pw'), { login_password: ACK_PASSWORD }) }),
    ];
    const q = await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, {
      method: 'POST',
      body: JSON.stringify({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('pwq'), { Password: ENS_PASSWORD }) }),
    });
    expect(q.status).toBe(201);
    // a rejected message with a password in it
    await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, {
      method: 'POST',
      body: JSON.stringify({ provider: 'ens', request: { ...ensExample(SEED_ENS_CLUSTER, 'x', { Password: ENS_PASSWORD, SystemDiskSize: 1 }) } }),
    });
    // a refused login_password is not echoed in the 400 either
    responses.push(
      (
        await t.api('POST', '/v1/nodepool-requests', {
          provider: 'ack',
          regionId: 'cn-beijing',
          clusterId: SEED_ACK_CLUSTER,
          request: ackExample(uniqueName(), { login_password: 'weakweakweak' }),
        })
      ).text,
    );
    await t.idle();
    for (const id of ids) responses.push((await t.api('GET', `/v1/nodepool-requests/${id}`)).text);
    responses.push((await t.api('GET', '/v1/nodepool-requests?limit=100')).text);
    responses.push((await t.api('GET', '/v1/nodepool-requests?state=rejected&limit=100')).text);

    // Assess
    const everything = [
      t.logs.join('\n'),
      responses.join('\n'),
      await dump(),
      JSON.stringify(t.sys.emulator.callLog()),
      JSON.stringify(await t.admin('GET', '/state')),
    ];
    for (const text of everything) {
      expect(text).not.toContain(ENS_PASSWORD);
      expect(text).not.toContain(ACK_PASSWORD);
      expect(text).not.toContain('weakweakweak');
    }
    // the masked form is what shows
    const shown = JSON.parse(responses.find((r) => r.includes(ensName) && r.includes('history'))!);
    expect(shown.request.ScalingGroup.Password).toBe('******');
    // the pool was created with the password: the emulator saw one (and masked it)
    const create = t.sys.emulator.callLog({ action: 'CreateClusterNodePool' }).find((c) => (c.params as any).NodepoolInfo?.Name === ensName)!;
    expect((create.params as any).ScalingGroup.Password).toBe('******');
    expect(t.sys.emulator.world.listedPools(SEED_ENS_CLUSTER).find((p) => p.name === ensName)?.hasPassword).toBe(true);
    // the deferred request still holds its secret, sealed; the created ones no longer do
    const deferred = await t.sys.instance.store.get(ids[2]!);
    expect(deferred?.state).toBe('submitting');
    expect(deferred?.sealedSecrets).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(t.sys.instance.secrets.open(deferred!.sealedSecrets!)).toEqual({ 'scaling_group.login_password': ACK_PASSWORD });
    expect((await t.sys.instance.store.get(ids[0]!))?.sealedSecrets).toBeUndefined();
  });
});
