/**
 * `npm start`: the whole system on one machine. The cloud emulator (ENS, ACK, FC, queues)
 * on 127.0.0.1:9100, the local FC host with the HTTP trigger on 127.0.0.1:9000, the
 * provision function behind async invocation and the queue, and the watch timer. State is
 * in PGlite under .data/ unless DATABASE_URL is set. With real endpoints and keys in the
 * environment (ENS_ENDPOINT, ACK_ENDPOINT, ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET), the same host
 * drives the real cloud; the emulator then only carries FC invocations and the queue.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApiHandler } from '../functions/api.js';
import { createProvisionHandler, hooksFromEnv, type ProvisionHooks } from '../functions/provision.js';
import { createWatchHandler } from '../functions/watch.js';
import { ConfigError, parseApiTokens } from '../src/config.js';
import { createInstance, type Instance } from '../src/fc/runtime.js';
import { CloudEmulator, type CloudEmulatorOptions, SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from './cloud-emulator.js';
import { ensReferenceRequest } from './examples.js';
import { LocalFcHost } from './fc-host.js';
import { installProcessGuard } from './guard.js';
import { loadSandboxSettings } from './settings.js';

export const FUNCTION_NAMES = { api: 'nodepool-pilot-api', provision: 'nodepool-pilot-provision', watch: 'nodepool-pilot-watch' };

export interface SystemOptions {
  env?: Record<string, string | undefined>;
  cloudPort?: number;
  httpPort?: number;
  /** Seconds between watch sweeps; 0 turns the timer off. */
  watchIntervalSeconds?: number;
  emulator?: CloudEmulatorOptions;
  /** Replaces pieces of the instance (tests pass their own store or clock). */
  instance?: Partial<Instance>;
  provisionHooks?: ProvisionHooks;
  hostOptions?: { asyncBackoffMs?: number; queueBackoffMs?: number; asyncRetries?: number };
  log?: (line: string) => void;
}

export interface RunningSystem {
  emulator: CloudEmulator;
  host: LocalFcHost;
  /** The first instance (its store and clock are every instance's in tests and on PGlite). */
  instance: Instance;
  /** Every instance of `api` and `provision`. */
  instances: Instance[];
  cloudUrl: string;
  apiUrl: string;
  apiToken: string;
  generatedToken: boolean;
  stop(): Promise<void>;
}

function devSecretKey(dataDir: string): string {
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

export async function startSystem(options: SystemOptions = {}): Promise<RunningSystem> {
  const baseEnv = options.env ?? process.env;
  const settings = loadSandboxSettings(baseEnv);
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emulator = new CloudEmulator({
    accessKeys: [settings.accessKey],
    scenario: settings.scenario,
    timing: settings.speed ? { speed: settings.speed } : undefined,
    ...options.emulator,
  });
  const cloudUrl = await emulator.start(options.cloudPort ?? settings.cloudPort);

  try {
    const dataDir = baseEnv.DATA_DIR || '.data';
    const generatedToken = !baseEnv.API_TOKENS;
    // A token of the user's own (API_TOKENS) is never printed; one generated here is, as the way in.
    const apiToken = parseApiTokens(baseEnv.API_TOKENS).tokens[0]?.token || `dev-${randomBytes(24).toString('base64url')}`;
    const realKeys =
      baseEnv.ALIBABA_CLOUD_ACCESS_KEY_ID && baseEnv.ALIBABA_CLOUD_ACCESS_KEY_SECRET
        ? {
            accessKeyId: baseEnv.ALIBABA_CLOUD_ACCESS_KEY_ID,
            accessKeySecret: baseEnv.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
            securityToken: baseEnv.ALIBABA_CLOUD_SECURITY_TOKEN,
          }
        : undefined;
    if (realKeys) emulator.auth.trustKey(realKeys.accessKeyId, realKeys.accessKeySecret);
    const env: Record<string, string | undefined> = {
      ...baseEnv,
      ENS_ENDPOINT: baseEnv.ENS_ENDPOINT || cloudUrl,
      ACK_ENDPOINT: baseEnv.ACK_ENDPOINT || cloudUrl,
      VPC_ENDPOINT: baseEnv.VPC_ENDPOINT || cloudUrl,
      ECS_ENDPOINT: baseEnv.ECS_ENDPOINT || cloudUrl,
      // The functions run here, so invoking one always goes through the local host.
      FC_ENDPOINT: cloudUrl,
      FC_SERVICE_NAME: undefined,
      FC_FUNCTION_NAME: undefined,
      PROVISION_FUNCTION: FUNCTION_NAMES.provision,
      API_TOKENS: baseEnv.API_TOKENS || apiToken,
      // Against the emulator, watch its seed clusters, so that an injected fault shows as an alert.
      WATCH_CLUSTERS:
        baseEnv.WATCH_CLUSTERS ?? (baseEnv.ENS_ENDPOINT || baseEnv.ACK_ENDPOINT ? undefined : `ens/${SEED_ENS_CLUSTER},ack/cn-beijing/${SEED_ACK_CLUSTER}`),
      SECRET_KEY: baseEnv.SECRET_KEY || (options.instance?.store ? randomBytes(32).toString('base64') : devSecretKey(dataDir)),
      DATA_DIR: dataDir,
    };
    // Each function runs as several instances, each with its own runtime (config, clients,
    // in-memory state and, on PostgreSQL, its own connection pool), as FC runs them. PGlite is
    // one database in one process: its instances share it.
    const instance = await createInstance(env, { logSink: log, ...options.instance });
    const shareStore = Boolean(options.instance?.store) || !instance.config.databaseUrl;
    const instances = [instance];
    for (let i = 1; i < settings.fcInstances; i++) {
      instances.push(
        await createInstance(env, { logSink: log, ...options.instance, ...(shareStore ? { store: instance.store, alerts: instance.alerts } : {}) }),
      );
    }
    const fn = (name: keyof typeof FUNCTION_NAMES, handlers: Array<(e: Buffer, c: never) => Promise<unknown>>, timeoutSeconds: number) => ({
      name: FUNCTION_NAMES[name],
      instances: handlers as never[],
      handlerName: `${name}.handler`,
      timeoutSeconds,
      memoryMB: 512,
    });
    const hooks = options.provisionHooks ?? hooksFromEnv(baseEnv);
    const host = new LocalFcHost({
      emulator,
      credentials: realKeys,
      functions: {
        api: fn(
          'api',
          instances.map((i) => createApiHandler(async () => i)),
          30,
        ),
        provision: fn(
          'provision',
          instances.map((i) => createProvisionHandler(async () => i, hooks)),
          120,
        ),
        // The timer's sweeps take a lock: one instance is enough.
        watch: fn('watch', [createWatchHandler(async () => instance)], 60),
      },
      log: (entry) => log(JSON.stringify(entry)),
      ...options.hostOptions,
    });
    emulator.fcInvoker = host.fcInvoker;
    emulator.queueSink = host.queueSink;
    const apiUrl = await host.listen(options.httpPort ?? settings.httpPort);
    const interval = options.watchIntervalSeconds ?? settings.watchIntervalSeconds;
    if (interval > 0) host.startTimer(interval);
    return {
      emulator,
      host,
      instance,
      cloudUrl,
      apiUrl,
      apiToken,
      generatedToken,
      instances,
      async stop() {
        await host.stop();
        await emulator.stop();
        for (const i of shareStore ? [instance] : instances) await i.store.db.close();
      },
    };
  } catch (err) {
    await emulator.stop();
    throw err;
  }
}

function banner(sys: RunningSystem): string {
  const example = JSON.stringify({ provider: 'ens', request: ensReferenceRequest(SEED_ENS_CLUSTER, 'test1') });
  return [
    '',
    'nodepool-pilot is running locally',
    `  API (FC HTTP trigger)  ${sys.apiUrl}`,
    `  console                ${sys.apiUrl}/   (sign in with ${sys.generatedToken ? 'the token below' : 'one of your API_TOKENS'})`,
    `  cloud emulator         ${sys.cloudUrl}   (admin: ${sys.cloudUrl}/_sandbox/state)`,
    `  store                  ${sys.instance.store.db.kind === 'pglite' ? `PGlite under ${sys.instance.config.dataDir}/pglite` : 'PostgreSQL (DATABASE_URL)'}`,
    `  queue                  POST ${sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`,
    sys.generatedToken
      ? `  API token              ${sys.apiToken}   (generated for this run; set API_TOKENS to choose one)`
      : `  API tokens             from API_TOKENS: ${sys.instance.config.apiTokens.map((t) => `${t.name} (${t.scope})`).join(', ')}`,
    `  seed clusters          ENS ${SEED_ENS_CLUSTER} (cn-guiyang-14), ACK ${SEED_ACK_CLUSTER} (cn-beijing)`,
    '',
    "Create the API reference's example ENS pool:",
    `  curl -s -X POST ${sys.apiUrl}/v1/nodepool-requests \\`,
    sys.generatedToken
      ? `    -H 'Authorization: Bearer ${sys.apiToken}' -H 'Content-Type: application/json' \\`
      : `    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `    -d '${example}'`,
    'then follow it with GET the "links.self" URL it returns (same Authorization header).',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  installProcessGuard((entry) => process.stdout.write(`${JSON.stringify(entry)}\n`));
  let sys: RunningSystem;
  try {
    sys = await startSystem();
  } catch (err) {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(`cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  console.log(banner(sys));
  // Where the command line finds this system and the token it generated (the file is the owner's only).
  const localApi = join(sys.instance.config.dataDir, 'local-api.json');
  writeFileSync(localApi, `${JSON.stringify({ url: sys.apiUrl, ...(sys.generatedToken ? { token: sys.apiToken } : {}) })}\n`, { mode: 0o600 });
  chmodSync(localApi, 0o600);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping...');
    rmSync(localApi, { force: true });
    await sys.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
