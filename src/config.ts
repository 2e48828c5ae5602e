/**
 * Environment -> typed, validated configuration. Read once per instance; a bad value is
 * reported by name, with what was expected, before any work is done.
 */
import { defaultEndpoints } from './cloud/client.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export interface Config {
  /** PostgreSQL URL; unset means the embedded PGlite store (local only). */
  databaseUrl?: string;
  /** Where PGlite keeps its files when DATABASE_URL is unset. */
  dataDir: string;
  databasePoolSize: number;
  /** Bearer tokens accepted by the API. Empty: every authenticated route is refused. */
  apiTokens: string[];
  /** 32-byte AES-256-GCM key for stored passwords. */
  secretKey?: Buffer;
  endpoints: { ens: string; ack: string; fc?: string };
  timeouts: { connectTimeoutMs: number; readTimeoutMs: number };
  rateLimits: { create: number; describe: number };
  ensPageSize: number;
  defaultDeadlineMinutes: number;
  leaseSeconds: number;
  maxBodyBytes: number;
  /** FC 3.0 function that runs one creation (async invocation). */
  provisionFunction: string;
  /** When set, dispatch through FC 2.0 (service/function) with @alicloud/fc2. */
  fcServiceName?: string;
  fcAccountId?: string;
  region: string;
  /** Base URL used in links to a request's status. */
  publicBaseUrl?: string;
  /** Seconds left in an invocation that provision keeps for itself after the cloud call. */
  provisionBudgetSeconds: number;
  /** How long an accepted request waits for its dispatch before the sweep re-drives it. */
  dispatchGraceSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

type Env = Record<string, string | undefined>;

class Reader {
  problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  }

  num(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.problems.push(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  }

  url(name: string, fallback?: string, { template = false } = {}): string | undefined {
    const raw = this.str(name) ?? fallback;
    if (raw === undefined) return undefined;
    const probe = template ? raw.replace('{region}', 'cn-hangzhou') : raw;
    const withProtocol = /^https?:\/\//i.test(probe) ? probe : `https://${probe}`;
    try {
      new URL(withProtocol);
    } catch {
      this.problems.push(`${name} must be a host or URL such as https://ens.aliyuncs.com, got "${raw}"`);
    }
    return raw;
  }
}

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const databaseUrl = r.str('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) r.problems.push('DATABASE_URL must be a postgres:// URL');

  let secretKey: Buffer | undefined;
  const rawKey = r.str('SECRET_KEY');
  if (rawKey) {
    secretKey = /^[0-9a-fA-F]{64}$/.test(rawKey) ? Buffer.from(rawKey, 'hex') : Buffer.from(rawKey, 'base64');
    if (secretKey.length !== 32) {
      r.problems.push('SECRET_KEY must be 32 bytes, as 64 hex characters or base64 (generate one with: openssl rand -base64 32)');
      secretKey = undefined;
    }
  }

  const logLevel = (r.str('LOG_LEVEL') ?? 'info') as Config['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) r.problems.push('LOG_LEVEL must be debug, info, warn or error');

  const apiTokens = (r.str('API_TOKENS') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of apiTokens) if (t.length < 16) r.problems.push('API_TOKENS: every token must be at least 16 characters long');

  const config: Config = {
    databaseUrl,
    dataDir: r.str('DATA_DIR') ?? '.data',
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 2, 1, 50),
    apiTokens,
    secretKey,
    endpoints: {
      ens: r.url('ENS_ENDPOINT', defaultEndpoints.ens)!,
      ack: r.url('ACK_ENDPOINT', defaultEndpoints.ack, { template: true })!,
      fc: r.url('FC_ENDPOINT'),
    },
    timeouts: {
      connectTimeoutMs: r.int('CLOUD_CONNECT_TIMEOUT_MS', 5_000, 100, 60_000),
      readTimeoutMs: r.int('CLOUD_READ_TIMEOUT_MS', 10_000, 100, 120_000),
    },
    rateLimits: {
      create: r.num('CREATE_RATE_LIMIT', 10, 0.1, 10_000),
      describe: r.num('DESCRIBE_RATE_LIMIT', 100, 0.1, 100_000),
    },
    ensPageSize: r.int('ENS_PAGE_SIZE', 50, 1, 100),
    defaultDeadlineMinutes: r.int('DEFAULT_DEADLINE_MINUTES', 30, 1, 1440),
    leaseSeconds: r.int('LEASE_SECONDS', 120, 5, 3600),
    maxBodyBytes: r.int('MAX_BODY_BYTES', 65_536, 1_024, 6 * 1024 * 1024),
    provisionFunction: r.str('PROVISION_FUNCTION') ?? 'nodepool-pilot-provision',
    fcServiceName: r.str('FC_SERVICE_NAME'),
    fcAccountId: r.str('FC_ACCOUNT_ID'),
    region: r.str('FC_REGION') ?? r.str('ALIBABA_CLOUD_REGION_ID') ?? 'cn-hangzhou',
    publicBaseUrl: r.str('PUBLIC_BASE_URL')?.replace(/\/+$/, ''),
    provisionBudgetSeconds: r.int('PROVISION_BUDGET_SECONDS', 60, 5, 86_400),
    dispatchGraceSeconds: r.int('DISPATCH_GRACE_SECONDS', 60, 0, 86_400),
    logLevel,
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

/** FC's endpoint for this account and region, unless FC_ENDPOINT overrides it. */
export function fcEndpoint(config: Config): string | undefined {
  if (config.endpoints.fc) return config.endpoints.fc;
  if (!config.fcAccountId) return undefined;
  return `https://${config.fcAccountId}.${config.region}.fc.aliyuncs.com`;
}
