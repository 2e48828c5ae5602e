/**
 * One instance's long-lived parts (config, store, secret box), built once per FC instance
 * and reused by every invocation, and the per-invocation services built from FC's context:
 * cloud clients signed with its STS credentials, and a logger carrying its request id.
 */
import { type Clock, systemClock } from '../clock.js';
import { CloudClient } from '../cloud/client.js';
import { processLimiters } from '../cloud/rate-limiter.js';
import type { CredentialSource } from '../cloud/transport.js';
import { type Config, ConfigError, fcEndpoint, loadConfig } from '../config.js';
import { createLogger, type Logger, type LogSink } from '../log.js';
import { Fc2Dispatcher, Fc3Dispatcher } from '../pipeline/dispatch.js';
import type { Dispatcher, Services } from '../pipeline/services.js';
import { SecretBox } from '../requests/secrets.js';
import { AlertStore } from '../store/alerts.js';
import { openStore } from '../store/index.js';
import { addCloudCalls } from '../store/metrics.js';
import { sharedLimiters } from '../store/rate-limits.js';
import type { RequestStore } from '../store/requests.js';
import type { FcContext } from './types.js';

export interface Instance {
  config: Config;
  store: RequestStore;
  alerts: AlertStore;
  secrets: SecretBox;
  clock: Clock;
  logSink?: LogSink;
  /** Replaces the FC dispatcher (the local host's tests use it to watch dispatches). */
  dispatcher?: Dispatcher;
  cloudClients: Map<string, CloudClient>;
  /** Dispatchers by credentials, built once like the cloud clients. */
  dispatchers?: Map<string, Dispatcher>;
  /** The logger of the latest invocation; cached cloud clients log their retries to it. */
  currentLog?: Logger;
}

export type InstanceProvider = () => Promise<Instance>;

/** Builds an instance from the environment; in FC a PostgreSQL URL and a secret key are required. */
export async function createInstance(env: Record<string, string | undefined> = process.env, overrides: Partial<Instance> = {}): Promise<Instance> {
  const config = loadConfig(env);
  const problems: string[] = [];
  // FC sets FC_FUNCTION_NAME in every function's environment.
  const inFc = Boolean(env.FC_FUNCTION_NAME);
  if (inFc && !config.databaseUrl) problems.push('DATABASE_URL is required on Function Compute (the embedded PGlite store is for local use only)');
  if (!config.secretKey) problems.push('SECRET_KEY is required: 32 bytes as 64 hex characters or base64 (openssl rand -base64 32)');
  if (problems.length) throw new ConfigError(problems);
  const store = overrides.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize }));
  return {
    config,
    store,
    alerts: new AlertStore(store.db),
    secrets: new SecretBox(config.secretKey!),
    clock: systemClock,
    cloudClients: new Map(),
    ...overrides,
  };
}

let defaultInstance: Promise<Instance> | undefined;

/** The process-wide instance, created on first use; a failed creation is retried next time. */
export const defaultInstanceProvider: InstanceProvider = () => {
  defaultInstance ??= createInstance().catch((err) => {
    defaultInstance = undefined;
    throw err;
  });
  return defaultInstance;
};

function credentialsOf(context: FcContext): CredentialSource {
  const c = context.credentials;
  if (c?.accessKeyId && c.accessKeySecret) return { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken };
  return 'default-chain';
}

/** Adds what this instance's cloud clients counted to the store's totals (/metrics); if the store cannot take them, those counts are lost, nothing else. */
export async function flushCloudCalls(instance: Instance): Promise<void> {
  const counts = [...instance.cloudClients.values()].flatMap((c) => c.takeCallCounts());
  await addCloudCalls(instance.store.db, counts).catch((error) => instance.currentLog?.warn('cloud call counts could not be stored for /metrics', { error }));
}

export function servicesFor(instance: Instance, context: FcContext): Services {
  const { config, clock } = instance;
  const log: Logger = createLogger(
    { requestId: context.requestId, function: context.function?.name },
    { level: config.logLevel, sink: instance.logSink, now: () => clock.now() },
  );
  instance.currentLog = log;
  const credentials = credentialsOf(context);
  const key = credentials === 'default-chain' ? 'default-chain' : credentials.accessKeyId;
  let cloud = instance.cloudClients.get(key);
  if (!cloud) {
    const accountScope = `account:${context.accountId ?? config.fcAccountId ?? 'default'}`;
    // STS credentials rotate: keep only the client of the current key.
    instance.cloudClients.clear();
    cloud = new CloudClient({
      credentials,
      endpoints: { ens: config.endpoints.ens, ack: config.endpoints.ack, vpc: config.endpoints.vpc, ecs: config.endpoints.ecs },
      timeouts: config.timeouts,
      rateLimits: config.rateLimits,
      ensPageSize: config.ensPageSize,
      clock,
      // One rate limit for every instance of every function of the account: kept in the store,
      // or, when the store lives in this process (PGlite, whose instances all run here), in it.
      limiters: !config.sharedRateLimit
        ? undefined
        : instance.store.db.kind === 'pglite'
          ? processLimiters(instance.store.db, accountScope, clock)
          : sharedLimiters(instance.store.db, accountScope, clock, config.provisionMaxInstances + 1, (error) =>
              instance.currentLog?.warn('the shared rate limit cannot be read; this instance waits on its own share', { error }),
            ),
      onRetry: (e) => instance.currentLog?.debug('cloud call retried', e),
    });
    instance.cloudClients.set(key, cloud);
  }
  let dispatcher = instance.dispatcher ?? instance.dispatchers?.get(key);
  if (!dispatcher) {
    dispatcher = dispatcherFor(config, context, credentials, clock);
    // STS credentials rotate: keep only the dispatcher of the current key.
    instance.dispatchers = new Map([[key, dispatcher]]);
  }
  return { config, store: instance.store, alerts: instance.alerts, clock, secrets: instance.secrets, log, cloud, dispatcher };
}

function dispatcherFor(config: Config, context: FcContext, credentials: CredentialSource, clock: Clock): Dispatcher {
  const accountId = config.fcAccountId ?? context.accountId;
  const region = context.region ?? config.region;
  if (config.fcServiceName) {
    if (credentials === 'default-chain') throw new ConfigError(['FC 2.0 dispatch (FC_SERVICE_NAME) needs the function role credentials in the context']);
    return new Fc2Dispatcher({
      accountId: accountId ?? '',
      region,
      endpoint: config.endpoints.fc,
      credentials,
      serviceName: config.fcServiceName,
      functionName: config.provisionFunction,
      clock,
    });
  }
  const endpoint = fcEndpoint(config) ?? (accountId ? `https://${accountId}.${region}.fc.aliyuncs.com` : undefined);
  if (!endpoint) throw new ConfigError(['FC_ENDPOINT or FC_ACCOUNT_ID is needed to invoke the provision function']);
  return new Fc3Dispatcher(endpoint, credentials, config.provisionFunction, clock);
}

/** Time an invocation may spend on the cloud: the function's timeout less a margin, capped by `capSeconds`. */
export function invocationBudgetMs(context: FcContext, capSeconds = Number.POSITIVE_INFINITY): number {
  const timeoutMs = (context.function?.timeout ?? 60) * 1000;
  return Math.max(1_000, Math.min(capSeconds * 1000, timeoutMs - 10_000));
}
