/**
 * Deployment: s.yaml validates against the fc3 component's schema (../shared) and renders
 * offline with Serverless Devs; `npm run build` makes three bundles that load in plain Node
 * with no node_modules; each bundle, fed its trigger's event with an FC-like context,
 * works against the sandbox.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ajvModule from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { buildAll, FUNCTIONS } from '../../scripts/build.js';
import { cjsDefault } from '../../src/cloud/index.js';
import { ensExample, uniqueName, useEmulator } from '../helpers/cloud.js';
import { DATABASE_URL, isolatedPostgresUrl } from '../helpers/db.js';

const SCHEMA = resolve('..', 'shared', 'reference', 'fc3', 'schema.json');
const hasSchema = existsSync(SCHEMA);
if (!hasSchema) console.warn(`[tests] ${SCHEMA} is absent: s.yaml is not validated against the fc3 schema`);

/** What a deployer would have in the environment; dummy values, no real secret. */
const DEPLOY_ENV = {
  ACCOUNT_ID: '1234567890123456',
  FC_ROLE_ARN: 'acs:ram::1234567890123456:role/nodepool-pilot-fc',
  VPC_ID: 'vpc-bp1test',
  VSWITCH_ID: 'vsw-bp1test',
  SECURITY_GROUP_ID: 'sg-bp1test',
  LOG_PROJECT: 'npp-logs',
  DATABASE_URL: 'postgres://npp:pw@pgm-test.pg.rds.aliyuncs.com:5432/npp',
  SECRET_KEY: 'deploy-test-key',
  API_TOKENS: 'deploy-test-token-0123456789',
};

function preview(template: string, env: Record<string, string> = DEPLOY_ENV): any {
  const out = spawnSync(process.execPath, [resolve('node_modules/@serverless-devs/s/bin/s'), 'preview', '-o', 'json', '-t', template], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const json = out.stdout.slice(out.stdout.indexOf('{'));
  if (out.status !== 0 || !json) throw new Error(`s preview failed (${out.status}): ${out.stderr}${out.stdout}`);
  return JSON.parse(json);
}

function validator() {
  const Ajv = cjsDefault<typeof ajvModule.default.default>(ajvModule);
  const ajv = new Ajv({ strict: false, allErrors: true });
  return ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
}

describe('s.yaml', () => {
  it('renders offline with Serverless Devs, naming the three functions and their triggers', () => {
    const d = preview('s.yaml');
    const r = d.resources;
    expect(Object.keys(r).sort()).toEqual(['api', 'provision', 'watch']);
    expect(r.api.props).toMatchObject({ functionName: 'nodepool-pilot-api', runtime: 'nodejs20', handler: 'index.handler', code: './dist/api' });
    expect(r.api.props.triggers).toEqual([expect.objectContaining({ triggerType: 'http', triggerConfig: expect.objectContaining({ authType: 'anonymous' }) })]);
    expect(r.provision.props.triggers[0]).toMatchObject({
      triggerType: 'eventbridge',
      triggerConfig: { eventSourceConfig: { eventSourceType: 'MNS', eventSourceParameters: { sourceMNSParameters: { QueueName: 'nodepool-requests' } } } },
    });
    expect(r.provision.props.asyncInvokeConfig).toMatchObject({
      maxAsyncRetryAttempts: 3,
      maxAsyncEventAgeInSeconds: 3600,
      destinationConfig: { onFailure: { destination: expect.stringMatching(/^acs:mns:/) } },
    });
    expect(r.watch.props.triggers[0]).toMatchObject({ triggerType: 'timer', triggerConfig: { cronExpression: '@every 1m', enable: true } });
    for (const fn of Object.values(r) as any[]) {
      expect(fn.props).toMatchObject({
        role: DEPLOY_ENV.FC_ROLE_ARN,
        vpcConfig: { vpcId: DEPLOY_ENV.VPC_ID },
        logConfig: { project: 'npp-logs' },
        instanceLifecycleConfig: { initializer: { handler: 'index.initialize' } },
      });
      expect(fn.props.environmentVariables.PROVISION_FUNCTION).toBe('nodepool-pilot-provision');
    }
  });

  it('writes no secret into the file', () => {
    const text = readFileSync('s.yaml', 'utf8');
    for (const v of ['DATABASE_URL', 'SECRET_KEY', 'API_TOKENS']) expect(text).toContain(`\${env('${v}')}`);
    expect(text).not.toMatch(/postgres:\/\/\w+:\w+@/);
    const missing = { ...DEPLOY_ENV } as Record<string, string>;
    delete missing.SECRET_KEY;
    expect(() => preview('s.yaml', missing)).toThrow(/SECRET_KEY/);
  });

  it.skipIf(!hasSchema)("validates every resource's props against the fc3 schema (ajv)", () => {
    const validate = validator();
    for (const [name, res] of Object.entries(preview('s.yaml').resources) as Array<[string, any]>) {
      const ok = validate(res.props);
      expect({ name, errors: validate.errors ?? null }).toEqual({ name, errors: null });
      expect(ok).toBe(true);
    }
  });

  it.skipIf(!hasSchema)('fails validation when s.yaml is broken', () => {
    const dir = mkdtempSync(join(tmpdir(), 'npp-syaml-'));
    const broken = readFileSync('s.yaml', 'utf8').replace('memorySize: 512', 'memorySize: 500').replace('triggerType: timer', 'triggerType: cron');
    writeFileSync(join(dir, 's.yaml'), broken);
    const validate = validator();
    const r = preview(join(dir, 's.yaml')).resources;
    expect(validate(r.api.props)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('multipleOf');
    expect(validate(r.watch.props)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('triggerType');
    expect(validate(r.provision.props)).toBe(true);
  });
});

describe('bundles', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'npp-dist-'));
  let sizes: Record<string, { bytes: number }> = {};
  beforeAll(async () => {
    sizes = await buildAll(outdir, () => {});
  }, 120_000);

  /** Copies a bundle alone into an empty directory: no node_modules anywhere near it. */
  function isolated(fn: string): string {
    const dir = mkdtempSync(join(tmpdir(), `npp-bundle-${fn}-`));
    for (const f of readdirSync(join(outdir, fn))) copyFileSync(join(outdir, fn, f), join(dir, f));
    return dir;
  }

  it('builds one bundle per function, each under 1 MB', () => {
    expect(Object.keys(sizes).sort()).toEqual([...FUNCTIONS].sort());
    for (const fn of FUNCTIONS) expect(sizes[fn]!.bytes).toBeLessThan(1024 * 1024);
  });

  it.each(FUNCTIONS)('loads %s in plain Node with no node_modules, opening nothing', (fn) => {
    const dir = isolated(fn);
    const out = spawnSync(process.execPath, ['-e', "const m = require('./index.js'); console.log(typeof m.handler, typeof m.initialize)"], {
      cwd: dir,
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('function function');
  });

  describe.skipIf(!DATABASE_URL)('fed their trigger events against the sandbox (PostgreSQL)', () => {
    const invoked: string[] = [];
    const env = useEmulator({
      fcInvoker: async (i) => {
        invoked.push(`${i.functionName}:${i.invocationType}:${i.body.toString()}`);
        return { status: 202, body: '' };
      },
    });
    let databaseUrl = '';
    // biome-ignore lint/suspicious/noDuplicateTestHooks: the other beforeAll is useEmulator's, which starts the emulator
    beforeAll(async () => {
      databaseUrl = await isolatedPostgresUrl(DATABASE_URL!);
    });

    async function invoke(fn: string, event: unknown): Promise<{ result: any; logs: string }> {
      const dir = isolated(fn);
      const sts = env.emulator.issueSts('nodepool-pilot-fc');
      const context = {
        requestId: `1-test-${fn}`,
        credentials: sts,
        function: { name: `nodepool-pilot-${fn}`, handler: 'index.handler', memory: 512, timeout: 60 },
        service: { logProject: 'npp-logs', logStore: 'nodepool-pilot', qualifier: 'LATEST' },
        region: 'cn-hangzhou',
        accountId: '1234567890123456',
      };
      writeFileSync(join(dir, 'event.json'), typeof event === 'string' ? event : JSON.stringify(event));
      const script = `const m = require('./index.js'); const fs = require('fs');
        m.handler(fs.readFileSync('./event.json'), ${JSON.stringify(context)})
          .then((r) => { console.log('RESULT ' + JSON.stringify(r)); process.exit(0); }, (e) => { console.log('ERROR ' + e.message); process.exit(1); });`;
      const childEnv = {
        PATH: process.env.PATH,
        FC_FUNCTION_NAME: `nodepool-pilot-${fn}`,
        DATABASE_URL: databaseUrl,
        SECRET_KEY: Buffer.alloc(32, 3).toString('base64'),
        API_TOKENS: 'bundle-test-token-0123456789',
        ENS_ENDPOINT: env.url,
        ACK_ENDPOINT: env.url,
        VPC_ENDPOINT: env.url,
        ECS_ENDPOINT: env.url,
        FC_ENDPOINT: env.url,
        WATCH_CLUSTERS: `ens/${SEED_ENS_CLUSTER}`,
      };
      // Asynchronously: the emulator that answers the bundle runs in this process.
      const out = await new Promise<{ stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, ['-e', script], { cwd: dir, env: childEnv });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('exit', () => done({ stdout, stderr }));
      });
      const line = out.stdout.split('\n').find((l) => l.startsWith('RESULT ') || l.startsWith('ERROR '));
      if (!line?.startsWith('RESULT ')) throw new Error(`${fn} failed: ${out.stdout.slice(-2000)}${out.stderr.slice(-2000)}`);
      return { result: JSON.parse(line.slice(7)), logs: out.stdout };
    }

    it('api answers an FC HTTP event and dispatches provision asynchronously', async () => {
      const template = JSON.parse(readFileSync('test/events/http/post-base64.json', 'utf8'));
      const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, uniqueName('bundle')) };
      const event = {
        ...template,
        body: Buffer.from(JSON.stringify(body)).toString('base64'),
        headers: { ...template.headers, Authorization: 'Bearer bundle-test-token-0123456789', 'Idempotency-Key': uniqueName('key') },
      };
      const { result, logs } = await invoke('api', event);
      expect(result).toMatchObject({ statusCode: 202, isBase64Encoded: false });
      expect(JSON.parse(result.body)).toMatchObject({ state: 'accepted', provider: 'ens' });
      expect(invoked.at(-1)).toMatch(/^nodepool-pilot-provision:Async:\{"requestId":"npr_/);
      expect(logs).toContain('"requestId":"1-test-api"');
    });

    it('provision takes an EventBridge MNS batch: creates the good message, rejects the bad one', async () => {
      const { result } = await invoke('provision', readFileSync('test/events/mns/queue-batch.json', 'utf8'));
      expect(result.results.map((r: any) => r.outcome)).toEqual(['created', 'rejected']);
      expect(env.emulator.callLog({ action: 'CreateClusterNodePool', outcome: 'OK' }).map((c) => (c.params as any).NodepoolInfo.Name)).toContain(
        'fixture-edge',
      );
    });

    it('watch runs a sweep on a timer event', async () => {
      const { result } = await invoke('watch', readFileSync('test/events/timer/watch.json', 'utf8'));
      // one listing, and one walk of the nodes of the ENS pool the batch is creating
      expect(result).toMatchObject({ clusters: 1, clusterErrors: 0, nodeWalks: 1, apiCalls: 2, transitions: {} });
    });
  });
});
