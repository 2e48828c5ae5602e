/**
 * The command line against the system as `npm start` runs it: the README's ENS example created
 * and waited for, a creation the sandbox fails, JSON output for scripts, silences and alerts,
 * and errors in plain words with their exit codes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, runTs } from '../helpers/process.js';

const ACK_CLUSTER = 'cc0f87de0b8fb403f86e10e204f83a1b2';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the nodepool-pilot command line against npm start', () => {
  let dataDir: string;
  let system: Child;
  let cloudUrl: string;
  const env = () => ({ ...process.env, DATA_DIR: dataDir, NODEPOOL_PILOT_URL: '', NODEPOOL_PILOT_TOKEN: '' });
  const cli = (args: string[], extra: Record<string, string> = {}, command = [process.execPath, 'bin/nodepool-pilot.mjs']): Promise<Run> =>
    new Promise((resolve) => {
      execFile(command[0]!, [...command.slice(1), ...args], { env: { ...env(), ...extra }, timeout: 90_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'npp-cli-'));
    // As `npm start` runs it, on free ports, with the token it generates.
    system = runTs('sandbox/start.ts', { ...process.env, SANDBOX_PORT: '0', HTTP_PORT: '0', DATA_DIR: dataDir, DATABASE_URL: '', API_TOKENS: '' });
    cloudUrl = (await system.waitFor(/cloud emulator\s+(http:\/\/\S+)/))[1]!;
    await system.waitFor(/Ctrl-C stops everything/);
  }, 60_000);
  afterAll(async () => {
    await system?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("creates the README's ENS example with --wait, printing progress, and exits 0 once the pool is active", async () => {
    // The example file is the README's curl example, byte for byte the same request.
    const readme = readFileSync('README.md', 'utf8');
    const curl = /-d '(\{"provider":"ens"[\s\S]*?\}\}\})'/.exec(readme)![1]!.replace(/\n\s+/g, '');
    expect(JSON.parse(readFileSync('examples/ens-pool.json', 'utf8'))).toEqual(JSON.parse(curl));

    const run = await cli(['create', '-f', 'examples/ens-pool.json', '--wait', '--idempotency-key', 'cli-ens-1']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^active: node pool np\w+ \(test1\) serving 3 after \d+s\n$/);
    expect(run.stderr).toMatch(/creating\s+serving/);
    expect(run.stderr).toMatch(/active\s+serving 3\/3/);

    const json = await cli(['list', '--state', 'active', '--output', 'json'], {}, ['npx', 'nodepool-pilot']);
    expect(json.code).toBe(0);
    const items = JSON.parse(json.stdout).items;
    expect(items.map((r: { nodepoolName: string }) => r.nodepoolName)).toEqual(['test1']);
    const got = JSON.parse((await cli(['get', items[0].id, '-o', 'json'])).stdout);
    expect(got).toMatchObject({ state: 'active', history: expect.any(Array) });
  }, 90_000);

  it("exits non-zero with the cloud's reason when the sandbox fails the creation", async () => {
    const waiting = cli(['create', '-f', 'examples/ack-pool.yaml', '--wait', '--interval', '1s']);
    // Once the pool exists in the emulator, make its creation fail.
    for (let i = 0; ; i++) {
      const res = await fetch(`${cloudUrl}/_sandbox/clusters/${ACK_CLUSTER}/nodepools/workers-a`, {
        method: 'PATCH',
        body: JSON.stringify({
          faults: { creationFails: { code: 'InvalidInstanceType.ValueNotSupported', message: 'The specified instance type is out of stock.' } },
        }),
      });
      if (res.ok) break;
      if (i > 200) throw new Error(`the pool never appeared: ${res.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const run = await waiting;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/failed: InvalidInstanceType\.ValueNotSupported: The specified instance type is out of stock\./);
  }, 90_000);

  it('shows the alert, silences it for 2h, shows it silenced, and expires the silence', async () => {
    let firing: Array<{ rule: string; silenced: boolean; labels: { nodepoolName?: string } }> = [];
    for (let i = 0; i < 100 && !firing.some((a) => a.rule === 'creation_failed'); i++) {
      firing = JSON.parse((await cli(['alerts', '--state', 'firing', '-o', 'json'])).stdout).items;
      if (!firing.some((a) => a.rule === 'creation_failed')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(firing.find((a) => a.rule === 'creation_failed')).toMatchObject({ silenced: false, labels: { nodepoolName: 'workers-a' } });
    const table = await cli(['alerts']);
    expect(table.stdout).toMatch(/^ID\s+STATE\s+SEVERITY\s+RULE/);
    expect(table.stdout).toMatch(/creation_failed\s+cc0f87de0b8fb403f86e10e204f83a1b2\s+workers-a/);

    const added = await cli(['silence', 'add', '--pool', 'workers-a', '--for', '2h', '--comment', 'out of stock, known', '-o', 'json']);
    expect(added.code).toBe(0);
    const silence = JSON.parse(added.stdout);
    expect(silence).toMatchObject({ state: 'active', matchers: { pool: 'workers-a' }, comment: 'out of stock, known' });
    expect(Date.parse(silence.endsAt) - Date.parse(silence.startsAt)).toBeGreaterThan(2 * 3600_000 - 60_000);
    const after = JSON.parse((await cli(['alerts', '--state', 'firing', '-o', 'json'])).stdout).items;
    expect(
      after.filter((a: { labels: { nodepoolName?: string } }) => a.labels.nodepoolName === 'workers-a').every((a: { silenced: boolean }) => a.silenced),
    ).toBe(true);
    const expired = await cli(['silence', 'expire', silence.id, '-o', 'json']);
    expect(JSON.parse(expired.stdout).state).toBe('expired');
  }, 90_000);

  it('says what is wrong in plain words: a refused token, a conflict naming the existing request, a bad command line', async () => {
    const refused = await cli(['list'], { NODEPOOL_PILOT_TOKEN: 'not-the-token' });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/the API refused the token \(NODEPOOL_PILOT_TOKEN\)/);
    const again = await cli(['create', '-f', 'examples/ens-pool.json']);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/conflict: .*test1.*\(existing request: npr_\w+\)/);
    const bad = await cli(['silence', 'add', '--pool', 'x', '--for', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--for with a duration/);
    const down = await cli(['list'], { NODEPOOL_PILOT_URL: 'http://127.0.0.1:9', NODEPOOL_PILOT_TOKEN: 't' });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot be reached/);
  }, 60_000);

  it('dry-runs, scales and deletes the pool the first test made (last: the tests before need it), with the exit codes of a create', async () => {
    const dry = await cli(['scale', 'ens', 'eck-d2666c5f', 'test1', '--size', '4', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^ok {4}cluster/m);
    expect(dry.stdout).toContain('would call ScaleClusterNodePool (POST /)');
    const guarded = await cli(['delete', 'ens', 'eck-d2666c5f', 'test1', '--confirm', 'test1', '--dry-run']);
    expect(guarded.code).toBe(1);
    expect(guarded.stdout).toMatch(/^FAIL {2}guardRails {6}NodePoolServing: /m);
    const mismatch = await cli(['delete', 'ens', 'eck-d2666c5f', 'test1', '--confirm', 'test2']);
    expect(mismatch.code).toBe(3);
    expect(mismatch.stderr).toContain('confirm');

    const scaled = await cli(['scale', 'ens', 'eck-d2666c5f', 'test1', '--size', '4', '--wait', '--interval', '1s']);
    expect(scaled.code).toBe(0);
    expect(scaled.stdout).toMatch(/^active: node pool np\w+ \(test1\) serving 4 after/);
    const deleted = await cli(['delete', 'ens', 'eck-d2666c5f', 'test1', '--confirm', 'test1', '--force', '--wait', '--interval', '1s']);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(/^deleted: node pool np\w+ \(test1\)/);
  }, 90_000);
});
