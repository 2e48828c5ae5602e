/**
 * Environment -> typed, validated configuration. Read once per instance; a bad value is
 * reported by name, with what was expected, before any work is done.
 */

import { createHash } from 'node:crypto';
import { defaultEndpoints } from './cloud/client.js';
import { type Cluster, parseClusterSpec } from './cloud/cluster.js';
import { DEFAULT_BURST_SHARE } from './cloud/rate-limiter.js';
import { type Mentions, parseMentions, parseRoutes, type RouteConfig } from './config-routes.js';
import { type Labels, labelIssues } from './labels.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export type Severity = 'info' | 'warning' | 'critical';
const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];
export type ChannelType = 'dingtalk' | 'feishu' | 'wecom' | 'slack' | 'webhook' | 'console';
const CHANNEL_TYPES: readonly ChannelType[] = ['dingtalk', 'feishu', 'wecom', 'slack', 'webhook', 'console'];

export interface ChannelConfig {
  type: ChannelType;
  /** Unique; defaults to the type (and index when a type repeats). */
  name: string;
  url?: string;
  secret?: string;
  minSeverity: Severity;
  /** Who a chat channel mentions in firing messages (config-routes.ts). */
  mentions?: Mentions;
}

export interface RuleThresholds {
  underCapacityMinutes: number;
  stuckTransitionMinutes: number;
  unreachableSweeps: number;
  repeatIntervalMinutes: number;
  /** How long creation_failed / creation_timeout stay firing without a later success. */
  creationAlertHours: number;
  /** An ENS node still `initial` after this long has failed (its reference: initialization takes 10 to 20 minutes). */
  ensNodeInitMinutes: number;
}

export interface Config {
  /** PostgreSQL URL; unset means the embedded PGlite store (local only). */
  databaseUrl?: string;
  /** Where PGlite keeps its files when DATABASE_URL is unset. */
  dataDir: string;
  databasePoolSize: number;
  /** Bearer tokens accepted by the API. Empty: every authenticated route is refused. */
  /** API_TOKENS: named tokens with their scope (parseApiTokens, below). */
  apiTokens: ApiToken[];
  /** 32-byte AES-256-GCM key for stored passwords. */
  secretKey?: Buffer;
  endpoints: { ens: string; ack: string; vpc: string; ecs: string; fc?: string };
  timeouts: { connectTimeoutMs: number; readTimeoutMs: number };
  /** CREATE_RATE_LIMIT, DESCRIBE_RATE_LIMIT: calls a second; RATE_LIMIT_BURST: the share of one second's calls that may go at once (0 spaces every call). */
  rateLimits: { create: number; describe: number; burst: number };
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
  /**
   * TASK_FOLLOW_SECONDS: how long provision follows the ACK task it started, to hand the
   * cluster to the next request the moment it is done (driving it in the same invocation, and
   * following its task in turn, while the budget lasts). 0 (the default) leaves it to the
   * sweep: FC 3.0's built-in runtimes run one invocation per instance, so a following
   * invocation holds one of provision's reserved instances.
   */
  taskFollowSeconds: number;
  /** DELETE_GUARD_SERVING_NODES: a delete of a pool serving more nodes than this is refused unless it says `force`. */
  deleteGuardServingNodes: number;
  /** How long an accepted request waits for its dispatch before the sweep re-drives it. */
  dispatchGraceSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  alertChannels: ChannelConfig[];
  /** ALERT_ROUTES (config-routes.ts); without it every channel hears every alert at or above its severity. */
  alertRoutes?: RouteConfig;
  /** WATCH_CLUSTERS, each with the labels its pools' alerts get. */
  watchClusters: WatchedCluster[];
  thresholds: RuleThresholds;
  /** Clusters listed at once by a sweep. */
  sweepConcurrency: number;
  /** RATE_LIMIT_SHARED: one rate limit for every instance (true: in the store; in memory on PGlite, whose instances share a process), or one per instance. */
  sharedRateLimit: boolean;
  /** PROVISION_MAX_INSTANCES: provision's concurrency cap (s.yaml); a limiter cut off from the store shares the rate among this many and one. */
  provisionMaxInstances: number;
  /** Timeout of one channel delivery. */
  channelTimeoutMs: number;
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

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
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

  const { tokens: apiTokens, problems: tokenProblems } = parseApiTokens(r.str('API_TOKENS'));
  r.problems.push(...tokenProblems);

  const config: Config = {
    databaseUrl,
    dataDir: r.str('DATA_DIR') ?? '.data',
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 2, 1, 50),
    apiTokens,
    secretKey,
    endpoints: {
      ens: r.url('ENS_ENDPOINT', defaultEndpoints.ens)!,
      ack: r.url('ACK_ENDPOINT', defaultEndpoints.ack, { template: true })!,
      vpc: r.url('VPC_ENDPOINT', defaultEndpoints.vpc, { template: true })!,
      ecs: r.url('ECS_ENDPOINT', defaultEndpoints.ecs, { template: true })!,
      fc: r.url('FC_ENDPOINT'),
    },
    timeouts: {
      connectTimeoutMs: r.int('CLOUD_CONNECT_TIMEOUT_MS', 5_000, 100, 60_000),
      readTimeoutMs: r.int('CLOUD_READ_TIMEOUT_MS', 10_000, 100, 120_000),
    },
    rateLimits: {
      create: r.num('CREATE_RATE_LIMIT', 10, 0.1, 10_000),
      describe: r.num('DESCRIBE_RATE_LIMIT', 100, 0.1, 100_000),
      burst: r.num('RATE_LIMIT_BURST', DEFAULT_BURST_SHARE, 0, 1),
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
    taskFollowSeconds: r.int('TASK_FOLLOW_SECONDS', 0, 0, 86_400),
    deleteGuardServingNodes: r.int('DELETE_GUARD_SERVING_NODES', 0, 0, 100_000),
    dispatchGraceSeconds: r.int('DISPATCH_GRACE_SECONDS', 60, 0, 86_400),
    logLevel,
    alertChannels: [],
    watchClusters: [],
    thresholds: {
      underCapacityMinutes: r.int('UNDER_CAPACITY_MINUTES', 15, 0, 10_080),
      stuckTransitionMinutes: r.int('STUCK_TRANSITION_MINUTES', 30, 0, 10_080),
      unreachableSweeps: r.int('UNREACHABLE_SWEEPS', 3, 1, 1_000),
      repeatIntervalMinutes: r.int('REPEAT_INTERVAL_MINUTES', 240, 1, 10_080),
      creationAlertHours: r.int('CREATION_ALERT_HOURS', 24, 1, 720),
      ensNodeInitMinutes: r.int('ENS_NODE_INIT_MINUTES', 20, 1, 1440),
    },
    sweepConcurrency: r.int('SWEEP_CONCURRENCY', 16, 1, 256),
    sharedRateLimit: r.bool('RATE_LIMIT_SHARED', true),
    provisionMaxInstances: r.int('PROVISION_MAX_INSTANCES', 4, 1, 1000),
    channelTimeoutMs: r.int('CHANNEL_TIMEOUT_MS', 5_000, 100, 60_000),
  };
  // The lease must outlast what a worker does under it, or a second worker could start a create.
  // Calls stop at the budget (each read timeout is cut to what is left); a connect may add its own timeout.
  const needed = config.provisionBudgetSeconds + Math.ceil(config.timeouts.connectTimeoutMs / 1000) + 5;
  if (config.leaseSeconds < needed) {
    r.problems.push(`LEASE_SECONDS (${config.leaseSeconds}) must be at least PROVISION_BUDGET_SECONDS + CLOUD_CONNECT_TIMEOUT_MS + 5 s = ${needed}`);
  }
  config.alertChannels = parseChannels(r, r.str('ALERT_CHANNELS'));
  config.alertRoutes = parseRoutes(
    r.str('ALERT_ROUTES'),
    config.alertChannels.map((c) => c.name),
    r.problems,
  );
  config.watchClusters = parseWatchClusters(r, r.str('WATCH_CLUSTERS'));
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

function parseChannels(r: Reader, raw: string | undefined): ChannelConfig[] {
  if (!raw) return [];
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    r.problems.push('ALERT_CHANNELS must be a JSON list such as [{"type":"webhook","url":"https://…","secret":"…"}]');
    return [];
  }
  if (!Array.isArray(list)) {
    r.problems.push('ALERT_CHANNELS must be a JSON list');
    return [];
  }
  const names = new Set<string>();
  const out: ChannelConfig[] = [];
  for (const [i, c] of (list as Array<Record<string, unknown>>).entries()) {
    const at = `ALERT_CHANNELS[${i}]`;
    if (!c || typeof c !== 'object') {
      r.problems.push(`${at} must be an object`);
      continue;
    }
    const type = c.type as ChannelType;
    if (!CHANNEL_TYPES.includes(type)) {
      r.problems.push(`${at}.type must be one of ${CHANNEL_TYPES.join(', ')}`);
      continue;
    }
    for (const k of Object.keys(c))
      if (!['type', 'name', 'url', 'secret', 'minSeverity', 'mentions'].includes(k)) r.problems.push(`${at}.${k} is not a known field`);
    const mentions = parseMentions(c.mentions, type, `${at}.mentions`, r.problems);
    const url = c.url;
    if (type !== 'console') {
      if (typeof url !== 'string') r.problems.push(`${at}.url is required for ${type}`);
      else {
        try {
          const u = new URL(url);
          if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
        } catch {
          r.problems.push(`${at}.url must be an http(s) URL`);
        }
      }
    }
    if (c.secret !== undefined && (typeof c.secret !== 'string' || c.secret.length === 0)) r.problems.push(`${at}.secret must be a non-empty string`);
    if (type === 'webhook' && c.secret === undefined) r.problems.push(`${at}.secret is required for the signed webhook`);
    const minSeverity = (c.minSeverity ?? 'warning') as Severity;
    if (!SEVERITIES.includes(minSeverity)) r.problems.push(`${at}.minSeverity must be one of ${SEVERITIES.join(', ')}`);
    let name = typeof c.name === 'string' && c.name ? c.name : type;
    if (names.has(name)) name = `${name}-${i}`;
    names.add(name);
    out.push({
      type,
      name,
      url: typeof url === 'string' ? url : undefined,
      secret: typeof c.secret === 'string' ? c.secret : undefined,
      minSeverity,
      ...(mentions ? { mentions } : {}),
    });
  }
  return out;
}

type WatchedCluster = Cluster & { labels?: Labels };

/**
 * `ens/eck-xxxxxxxx,ack/cn-beijing/c0123…{team=payments,env=prod}`: the clusters to watch
 * besides those with requests, each with the labels (in braces) its pools' alerts get.
 */
function parseWatchClusters(r: Reader, raw: string | undefined): WatchedCluster[] {
  if (!raw) return [];
  const out: WatchedCluster[] = [];
  // Commas separate clusters, except inside a cluster's braces.
  for (const item of (raw.match(/[^,{]+(?:\{[^}]*\})?/g) ?? []).map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^{]+?)\s*(?:\{([^}]*)\})?$/.exec(item);
    const cluster = m ? parseClusterSpec(m[1]!) : undefined;
    if (!cluster) {
      r.problems.push(`WATCH_CLUSTERS: "${item}" must be ens/<clusterId> or ack/<regionId>/<clusterId>, with labels in braces if any: {team=edge,env=prod}`);
      continue;
    }
    const labels: Labels = {};
    for (const pair of (m![2] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq > 0) labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
      else r.problems.push(`WATCH_CLUSTERS: "${pair}" in ${m![1]} must be name=value`);
    }
    for (const issue of labelIssues(labels, `${m![1]!.trim()} labels`)) r.problems.push(`WATCH_CLUSTERS: ${issue.path} ${issue.message}`);
    out.push(Object.keys(labels).length ? { ...cluster, labels } : cluster);
  }
  return out;
}

/** FC's endpoint for this account and region, unless FC_ENDPOINT overrides it. */
export function fcEndpoint(config: Config): string | undefined {
  if (config.endpoints.fc) return config.endpoints.fc;
  if (!config.fcAccountId) return undefined;
  return `https://${config.fcAccountId}.${config.region}.fc.aliyuncs.com`;
}

/**
 * API tokens: each has a name, recorded as who did what, and a scope: `read` (GETs, the
 * console's data, metrics) or `write` (also creates, scales, deletes and silences).
 *
 * API_TOKENS is a comma-separated list. An entry is `name:scope:token`, or a bare token (the
 * old form), which is a `write` token named `token-` and the first 8 hex digits of its
 * SHA-256: enough to tell tokens apart in history and logs, and nothing to guess it from.
 */
export type Scope = 'read' | 'write';

export interface ApiToken {
  name: string;
  scope: Scope;
  token: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MIN_TOKEN_LENGTH = 16;

/** The name a bare token is known by. */
export function derivedTokenName(token: string): string {
  return `token-${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}

/** Parses API_TOKENS; every problem is named (never with the token's value). */
export function parseApiTokens(raw: string | undefined): { tokens: ApiToken[]; problems: string[] } {
  const tokens: ApiToken[] = [];
  const problems: string[] = [];
  const entries = (raw ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const m = /^([^:]*):(read|write):(.+)$/.exec(entry);
    const scoped = /^[^:]*:[^:]*:./.exec(entry);
    if (!m && scoped) {
      problems.push(`API_TOKENS entry ${i + 1}: the scope must be read or write (name:scope:token)`);
      return;
    }
    const named: ApiToken = m ? { name: m[1]!, scope: m[2] as Scope, token: m[3]! } : { name: derivedTokenName(entry), scope: 'write', token: entry };
    const where = `API_TOKENS entry ${i + 1}${m ? ` (${NAME.test(named.name) ? named.name : 'unnamed'})` : ''}`;
    if (m && !NAME.test(named.name)) problems.push(`${where}: the name must be 1 to 63 letters, digits, dots, underscores or hyphens`);
    if (named.token.length < MIN_TOKEN_LENGTH) problems.push(`${where}: every token must be at least ${MIN_TOKEN_LENGTH} characters long`);
    if (/\s/.test(named.token)) problems.push(`${where}: a token must not contain white space`);
    tokens.push(named);
  });
  const names = tokens.map((t) => t.name);
  for (const n of new Set(names.filter((n, i) => names.indexOf(n) !== i))) problems.push(`API_TOKENS: the name ${n} is used twice`);
  return { tokens, problems };
}
