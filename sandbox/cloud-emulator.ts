/**
 * The local cloud: one HTTP server that answers ENS (RPC), ACK (ROA) and FC calls the way
 * the real endpoints do, so that @alicloud/openapi-client and the generated SDKs talk to it
 * unchanged. Admin endpoints under /_sandbox/ inject faults and expose the call log.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OffsetClock, systemClock, type Clock } from '../src/clock.js';
import { redact } from '../src/redact.js';
import { routeAck, ACK_VERSION, type RoaContext } from './ack.js';
import { Authenticator, type Principal, type StsCredentials } from './auth.js';
import { ensActions, ENS_VERSION } from './ens.js';
import { ApiError, errors, GatewayError, toRoaBody, toRpcBody } from './errors.js';
import { readBody } from './body.js';
import { unhandledRejections } from './guard.js';
import { listenTracked } from './listen.js';
import { FaultPlan, FlowControl, type CallFault, type LatencyFault } from './faults.js';
import { parseRawQuery } from './signature.js';
import { defaultTiming, World, type Cluster, type ClusterFaults, type PoolFaults, type Provider, type Timing } from './world.js';

export const DEFAULT_ACCESS_KEY_ID = 'sandbox-access-key-id';
export const DEFAULT_ACCESS_KEY_SECRET = 'sandbox-access-key-secret';
export const SEED_ENS_CLUSTER = 'eck-d2666c5f';
export const SEED_ACK_CLUSTER = 'cc0f87de0b8fb403f86e10e204f83a1b2';

/** The documented per-user limits, calls per second, per product and action. */
export const DEFAULT_RATE_LIMITS: Record<string, number> = {
  CreateClusterNodePool: 10,
  DescribeClusterNodePools: 100,
};

const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** MNS MaximumMessageSize: 1,024 to 65,536 bytes, 65,536 by default (Alibaba Cloud MNS limits). */
export const MAX_QUEUE_MESSAGE_BYTES = 65_536;
const MAX_CALL_LOG = 200_000;
const RPC_PROTOCOL_PARAMS = new Set([
  'Action', 'Version', 'Format', 'Timestamp', 'SignatureNonce', 'SignatureMethod', 'SignatureVersion',
  'SignatureType', 'AccessKeyId', 'Signature', 'SecurityToken', 'RegionId',
]);

export interface CallRecord {
  seq: number;
  at: string;
  product: 'ens' | 'ack' | 'fc' | 'unknown';
  action: string;
  method: string;
  path: string;
  clusterId?: string;
  principal?: string;
  signature?: Principal['via'];
  status: number;
  /** `OK`, or the error code answered. */
  outcome: string;
  requestId: string;
  /** Which injected fault shaped the answer, if any. */
  fault?: string;
  durationMs: number;
  params: unknown;
}

export interface ScenarioCluster {
  id?: string;
  provider: Provider;
  regionId?: string;
  name?: string;
  faults?: ClusterFaults;
  pools?: Array<{ name: string; desired?: number; ageMinutes?: number; isDefault?: boolean; faults?: Parameters<World['setPoolFaults']>[1] }>;
}

export interface Scenario {
  clusters?: ScenarioCluster[];
  faults?: { calls?: CallFault[]; latency?: LatencyFault[]; duplicateDelivery?: number };
  rateLimits?: Record<string, number>;
  timing?: Partial<Timing>;
}

/** What an FC invocation hands to whoever hosts the functions (the local FC host). */
export type FcInvoker = (input: {
  functionName: string;
  qualifier?: string;
  invocationType: 'Sync' | 'Async';
  body: Buffer;
  headers: Record<string, string>;
  requestId: string;
}) => Promise<{ status: number; body: Buffer | string; headers?: Record<string, string> }>;

/** Where messages sent to a sandbox queue go (the local FC host's EventBridge stand-in). */
export type QueueSink = (queue: string, body: Buffer) => { messageId: string };

export interface CloudEmulatorOptions {
  port?: number;
  host?: string;
  clock?: Clock;
  accessKeys?: Array<{ accessKeyId: string; accessKeySecret: string }>;
  timing?: Partial<Timing>;
  rateLimits?: Record<string, number>;
  seed?: number;
  /** Start with the seed ENS and ACK clusters (default true). */
  seedData?: boolean;
  scenario?: Scenario;
  /** How long a `timeout` fault holds a request before dropping the connection. */
  timeoutHoldMs?: number;
  fcInvoker?: FcInvoker;
  queueSink?: QueueSink;
}

export class CloudEmulator {
  readonly world: World;
  readonly faults: FaultPlan;
  readonly flow: FlowControl;
  readonly auth: Authenticator;
  readonly clock: OffsetClock;
  fcInvoker?: FcInvoker;
  queueSink?: QueueSink;
  private calls: CallRecord[] = [];
  private seq = 0;
  private server?: Server;
  private listener?: { close(): Promise<void> };
  private readonly options: CloudEmulatorOptions;

  constructor(options: CloudEmulatorOptions = {}) {
    this.options = options;
    this.clock = new OffsetClock(options.clock ?? systemClock);
    this.world = new World(this.clock, { ...defaultTiming, ...options.timing, ...options.scenario?.timing });
    this.faults = new FaultPlan(options.seed ?? 1);
    this.flow = new FlowControl(this.clock, { ...DEFAULT_RATE_LIMITS, ...options.rateLimits, ...options.scenario?.rateLimits });
    this.auth = new Authenticator(this.clock, options.accessKeys ?? [{ accessKeyId: DEFAULT_ACCESS_KEY_ID, accessKeySecret: DEFAULT_ACCESS_KEY_SECRET }]);
    this.fcInvoker = options.fcInvoker;
    this.queueSink = options.queueSink;
    this.loadInitialState();
  }

  private loadInitialState(): void {
    if (this.options.seedData !== false) this.seed();
    if (this.options.scenario) this.applyScenario(this.options.scenario);
  }

  /** The seed clusters: the ENS cluster of the API reference's example, and an ACK cluster with its default pool. */
  seed(): void {
    this.world.addCluster({ id: SEED_ENS_CLUSTER, provider: 'ens', regionId: 'cn-guiyang-14', name: 'edge-demo' });
    this.world.addCluster({ id: SEED_ACK_CLUSTER, provider: 'ack', regionId: 'cn-beijing', name: 'ack-demo' });
    this.world.addPool({
      clusterId: SEED_ACK_CLUSTER,
      provider: 'ack',
      name: 'default-nodepool',
      desired: 3,
      isDefault: true,
      hasPassword: false,
      createdAt: this.clock.now() - 24 * 3600_000,
      spec: {
        nodepool_info: { name: 'default-nodepool', type: 'ess' },
        scaling_group: { vswitch_ids: ['vsw-2ze3ds0mdip0hdz8i0001'], instance_types: ['ecs.n4.large'], key_pair: 'ops-keypair', desired_size: 3 },
      },
    });
  }

  applyScenario(scenario: Scenario): Cluster[] {
    const added: Cluster[] = [];
    for (const c of scenario.clusters ?? []) added.push(this.addCluster(c));
    if (scenario.faults?.calls) this.faults.calls.push(...scenario.faults.calls);
    if (scenario.faults?.latency) this.faults.latency.push(...scenario.faults.latency);
    if (scenario.faults?.duplicateDelivery !== undefined) this.faults.duplicateDelivery = scenario.faults.duplicateDelivery;
    if (scenario.rateLimits) Object.assign(this.flow.limits, scenario.rateLimits);
    if (scenario.timing) Object.assign(this.world.timing, scenario.timing);
    return added;
  }

  addCluster(c: ScenarioCluster): Cluster {
    const cluster = this.world.addCluster(c);
    if (c.faults) Object.assign(cluster.faults, c.faults);
    for (const p of c.pools ?? []) {
      const pool = this.world.addPool({
        clusterId: cluster.id,
        provider: cluster.provider,
        name: p.name,
        desired: p.desired ?? 2,
        isDefault: p.isDefault ?? false,
        hasPassword: false,
        createdAt: this.clock.now() - (p.ageMinutes ?? 24 * 60) * 60_000,
        spec: cluster.provider === 'ens' ? { NodepoolInfo: { Name: p.name }, ScalingGroup: {} } : { nodepool_info: { name: p.name } },
      });
      if (p.faults) this.world.setPoolFaults(pool, p.faults);
    }
    return cluster;
  }

  issueSts(role = 'nodepool-pilot'): StsCredentials {
    return this.auth.issueSts(role);
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null;
    if (!addr) throw new Error('the cloud emulator is not listening');
    return `http://${addr.address}:${addr.port}`;
  }

  /** Every call received since the last reset, in order. */
  callLog(filter: { action?: string; product?: string; clusterId?: string; outcome?: string; since?: number } = {}): CallRecord[] {
    return this.calls.filter(
      (c) =>
        (!filter.action || c.action === filter.action) &&
        (!filter.product || c.product === filter.product) &&
        (!filter.clusterId || c.clusterId === filter.clusterId) &&
        (!filter.outcome || c.outcome === filter.outcome) &&
        (filter.since === undefined || c.seq > filter.since),
    );
  }

  reset(options: { seedData?: boolean } = {}): void {
    this.world.reset();
    this.faults.clear();
    this.faults.reseed(this.options.seed ?? 1);
    this.flow.reset();
    this.flow.limits = { ...DEFAULT_RATE_LIMITS, ...this.options.rateLimits };
    this.world.timing = { ...defaultTiming, ...this.options.timing };
    this.calls = [];
    this.clock.offset = 0;
    if (options.seedData !== false) this.seed();
  }

  async start(port = this.options.port ?? 0, host = this.options.host ?? '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        // Reaching here is a sandbox bug; answer like the cloud's InternalError.
        console.error('[sandbox] unhandled error', err);
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, toRpcBody(errors.internalError(), randomUUID().toUpperCase()));
        else res.destroy();
      });
    });
    server.headersTimeout = 20_000;
    server.requestTimeout = 60_000;
    this.listener = await listenTracked(server, port, host);
    this.server = server;
    return this.url;
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    this.server = undefined;
    this.listener = undefined;
    await listener?.close();
  }

  // ------------------------------------------------------------------ request handling

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID().toUpperCase();
    const read = await readBody(req, MAX_BODY_BYTES);
    if (read.kind === 'cut-off') {
      // The client is gone: there is nobody to answer and nothing whole to act on.
      res.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const rawQuery = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
    const method = (req.method ?? 'GET').toUpperCase();

    if (read.kind === 'too-large') {
      res.setHeader('connection', 'close');
      if (pathname.startsWith('/_sandbox')) return sendJson(res, 413, { error: `the body is over ${read.limit} bytes` });
      sendJson(res, 413, toRpcBody(errors.invalidParameter('Body', 'The request body is too large.'), requestId));
      return;
    }
    const body = read.body;
    if (pathname.startsWith('/_sandbox/') || pathname === '/_sandbox') {
      return this.admin(method, url, body, res);
    }

    const query = Object.fromEntries(parseRawQuery(rawQuery));
    const contentType = String(req.headers['content-type'] ?? '');
    const form = contentType.startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(parseRawQuery(body.toString('utf8'))) : {};
    const record: CallRecord = {
      seq: 0, at: new Date(this.clock.now()).toISOString(), product: 'unknown', action: 'Unknown', method, path: pathname,
      status: 0, outcome: 'OK', requestId, durationMs: 0, params: {},
    };

    let style: 'rpc' | 'roa' | 'fc2' = 'roa';
    let run: (() => unknown) | undefined;
    let fcCall: (() => Promise<{ status: number; body: Buffer | string; headers?: Record<string, string> }>) | undefined;

    try {
      if (pathname === '/') {
        style = 'rpc';
        record.product = 'ens';
        const action = header(req, 'x-acs-action') ?? query.Action ?? form.Action ?? '';
        const version = header(req, 'x-acs-version') ?? query.Version ?? form.Version ?? '';
        record.action = action || 'Unknown';
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries({ ...query, ...form })) if (!RPC_PROTOCOL_PARAMS.has(k)) params[k] = v;
        record.clusterId = params.ClusterId;
        record.params = redact(parseJsonValues(params));
        const handler = ensActions[action];
        if (version !== ENS_VERSION) run = () => { throw errors.unsupportedVersion(version); };
        else if (!handler) run = () => { throw errors.notImplemented(`the ENS action ${action || '(none)'}`); };
        else run = () => handler({ world: this.world, requestId, params });
      } else {
        const segments = pathname.split('/').slice(1).map((s) => safeDecode(s));
        let parsedBody: unknown;
        if (body.length && contentType.includes('json')) {
          try {
            parsedBody = JSON.parse(body.toString('utf8'));
          } catch {
            parsedBody = Symbol.for('invalid-json');
          }
        }
        const fc3 = segments[0] === '2023-03-30' && segments[1] === 'functions' && segments[3] === 'invocations' && segments.length === 4;
        const fc2 = segments[0] === '2016-08-15' && segments[1] === 'services' && segments[3] === 'functions' && segments[5] === 'invocations' && segments.length === 6;
        if ((fc3 || fc2) && method === 'POST') {
          record.product = 'fc';
          record.action = 'InvokeFunction';
          const functionName = (fc3 ? segments[2] : segments[4]) ?? '';
          if (fc2) style = 'fc2';
          const invocationType = (header(req, 'x-fc-invocation-type') ?? 'Sync') === 'Async' ? 'Async' : 'Sync';
          record.params = { functionName, invocationType, qualifier: query.qualifier };
          fcCall = async () => {
            if (!this.fcInvoker) throw errors.notImplemented('FC InvokeFunction without a function host');
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
            return this.fcInvoker({ functionName, qualifier: query.qualifier, invocationType, body, headers, requestId });
          };
        } else {
          record.product = 'ack';
          const ctx: RoaContext = { world: this.world, requestId, method, segments, query, body: parsedBody };
          const route = routeAck(ctx);
          if (route) {
            record.action = route.action;
            record.clusterId = route.clusterId;
            record.params = redact({ path: pathname, query, body: parsedBody });
            const version = header(req, 'x-acs-version');
            if (version && version !== ACK_VERSION) run = () => { throw errors.unsupportedVersion(version); };
            else if (parsedBody === Symbol.for('invalid-json')) run = () => { throw errors.ackInvalidParameter('request body is not valid JSON'); };
            else run = route.run;
          } else {
            run = () => { throw errors.notImplemented(`${method} ${pathname}`); };
          }
        }
      }

      const principal = this.auth.authenticate({ method, pathname, query, headers: req.headers, body, form });
      record.principal = principal.id;
      record.signature = principal.via;

      const cluster = record.clusterId ? this.world.clusters.get(record.clusterId) : undefined;
      if (cluster?.faults.unreachable) {
        record.fault = `unreachable:${cluster.faults.unreachable}`;
        if (cluster.faults.unreachable === 'timeout') return await this.hold(res, record, started);
        throw errors.serviceUnavailable();
      }
      if (!this.flow.take(principal.id, `${record.product}:${record.action}`, record.action)) {
        record.fault = 'flow-control';
        throw errors.throttlingUser();
      }
      const fault = this.faults.pick(record.action, record.clusterId);
      if (fault) record.fault = fault.kind + (fault.phase === 'after' ? ':after' : '');
      if (fault?.kind === 'throttling') throw errors.throttlingUser();
      if (fault?.kind === '5xx') {
        const status = fault.status ?? 503;
        throw status === 503 ? errors.serviceUnavailable() : new ApiError(status, status === 500 ? 'InternalError' : 'ServiceUnavailable', errors.internalError().message);
      }
      if (fault?.kind === 'timeout' && fault.phase !== 'after') return await this.hold(res, record, started);
      const latency = this.faults.latencyFor(record.action);
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));

      if (fcCall) {
        const out = await fcCall();
        record.status = out.status;
        this.finish(record, started);
        const hasBody = out.body.length > 0;
        res.writeHead(out.status, { 'x-fc-request-id': requestId, ...(hasBody ? { 'content-type': 'application/json' } : {}), ...out.headers });
        res.end(out.body);
        return;
      }
      const result = run!();
      if (fault?.kind === 'timeout') return await this.hold(res, record, started);
      record.status = 200;
      this.finish(record, started);
      sendJson(res, 200, result, requestId);
    } catch (err) {
      const apiError = err instanceof ApiError ? err : undefined;
      if (!apiError) console.error('[sandbox] handler failed; answering InternalError', err);
      const e = apiError ?? errors.internalError();
      record.status = e.status;
      record.outcome = e.code;
      this.finish(record, started);
      const host = record.product === 'ack' ? 'cs.aliyuncs.com' : record.product === 'fc' ? 'fc.aliyuncs.com' : undefined;
      if (style === 'fc2') {
        // FC 2.0 answers {ErrorCode, ErrorMessage} with the request id in a header.
        res.writeHead(e.status, { 'content-type': 'application/json', 'x-fc-request-id': requestId });
        res.end(JSON.stringify({ ErrorCode: e.code, ErrorMessage: e.message }));
        return;
      }
      const shape = style === 'rpc' || e instanceof GatewayError ? toRpcBody(e, requestId, host) : toRoaBody(e, requestId);
      sendJson(res, e.status, shape, requestId);
    }
  }

  /** A `timeout` fault: keep the connection open without answering, then drop it. */
  private async hold(res: ServerResponse, record: CallRecord, started: number): Promise<void> {
    record.status = 0;
    record.outcome = 'Timeout';
    this.finish(record, started);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.options.timeoutHoldMs ?? 60_000);
      res.on('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    res.destroy();
  }

  private finish(record: CallRecord, started: number): void {
    record.seq = ++this.seq;
    record.durationMs = Date.now() - started;
    this.calls.push(record);
    if (this.calls.length > MAX_CALL_LOG) this.calls.splice(0, this.calls.length - MAX_CALL_LOG);
  }

  // ------------------------------------------------------------------ admin API

  private async admin(method: string, url: URL, body: Buffer, res: ServerResponse): Promise<void> {
    const parts = url.pathname.split('/').slice(2).map((s) => safeDecode(s));
    let input: Record<string, unknown> = {};
    // A queue message body is any text; only the other admin endpoints take JSON.
    if (body.length && !(parts[0] === 'queues' && parts[2] === 'messages')) {
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch {
        return sendJson(res, 400, { error: 'the body must be JSON' });
      }
    }
    try {
      const out = this.adminRoute(method, parts, url.searchParams, input, body);
      if (out === undefined) return sendJson(res, 404, { error: `no admin endpoint ${method} ${url.pathname}` });
      sendJson(res, out.status ?? 200, out.body);
    } catch (err) {
      sendJson(res, 400, { error: (err as Error).message });
    }
  }

  private adminRoute(
    method: string,
    parts: string[],
    q: URLSearchParams,
    input: Record<string, unknown>,
    raw: Buffer,
  ): { status?: number; body: unknown } | undefined {
    const [a, b, c, d] = parts;
    if (method === 'GET' && a === 'state') return { body: this.snapshot() };
    if (method === 'POST' && a === 'queues' && b && c === 'messages' && !d) {
      if (!this.queueSink) return { status: 503, body: { error: 'no function consumes sandbox queues: start the whole system with npm start' } };
      // MNS takes messages of 1 byte to 64 KB (MaximumMessageSize, at most 65,536 bytes; MNS limits page).
      if (raw.length === 0) return { status: 400, body: { error: 'the message body is empty' } };
      if (raw.length > MAX_QUEUE_MESSAGE_BYTES) return { status: 413, body: { error: `the message is ${raw.length} bytes; a queue message is at most ${MAX_QUEUE_MESSAGE_BYTES} bytes` } };
      const { messageId } = this.queueSink(b, raw);
      return { status: 201, body: { MessageId: messageId, MessageBodyMD5: createHash('md5').update(raw).digest('hex').toUpperCase() } };
    }
    if (method === 'GET' && a === 'calls') {
      const since = q.get('since');
      return {
        body: {
          calls: this.callLog({
            action: q.get('action') ?? undefined,
            product: q.get('product') ?? undefined,
            clusterId: q.get('clusterId') ?? undefined,
            outcome: q.get('outcome') ?? undefined,
            since: since ? Number(since) : undefined,
          }),
        },
      };
    }
    if (method === 'DELETE' && a === 'calls') {
      this.calls = [];
      return { body: { cleared: true } };
    }
    if (method === 'POST' && a === 'reset') {
      this.reset({ seedData: input.seedData !== false });
      return { body: this.snapshot() };
    }
    if (method === 'POST' && a === 'clusters' && !b) {
      const provider = input.provider;
      if (provider !== 'ens' && provider !== 'ack') throw new Error('provider must be "ens" or "ack"');
      return { status: 201, body: this.clusterView(this.addCluster(input as unknown as ScenarioCluster)) };
    }
    if (method === 'PATCH' && a === 'clusters' && b && !c) {
      const cluster = this.world.clusters.get(b);
      if (!cluster) throw new Error(`no cluster ${b}`);
      const faults = (input.faults ?? {}) as ClusterFaults & { unreachable?: ClusterFaults['unreachable'] | null };
      if (faults.unreachable === null) delete cluster.faults.unreachable;
      else if (faults.unreachable) {
        if (faults.unreachable !== 'error' && faults.unreachable !== 'timeout') throw new Error('unreachable must be "error", "timeout" or null');
        cluster.faults.unreachable = faults.unreachable;
      }
      if (faults.busy !== undefined) {
        if (faults.busy) cluster.faults.busy = true;
        else delete cluster.faults.busy;
      }
      return { body: this.clusterView(cluster) };
    }
    if (method === 'PATCH' && a === 'clusters' && b && c === 'nodepools' && d) {
      const pool = [...this.world.pools.values()].find((p) => p.clusterId === b && (p.id === d || p.name === d));
      if (!pool) throw new Error(`no node pool ${d} in cluster ${b}`);
      this.world.setPoolFaults(pool, checkPoolFaults(input.faults));
      return { body: this.poolView(pool.id) };
    }
    if (method === 'PATCH' && a === 'nodepools' && b) {
      const pool = this.world.pools.get(b);
      if (!pool) throw new Error(`no node pool ${b}`);
      this.world.setPoolFaults(pool, checkPoolFaults(input.faults));
      return { body: this.poolView(pool.id) };
    }
    if (a === 'faults' && !b) {
      if (method === 'GET') return { body: this.faultView() };
      if (method === 'DELETE') {
        this.faults.clear();
        return { body: this.faultView() };
      }
      if (method === 'POST' || method === 'PUT') {
        if (method === 'PUT') this.faults.clear();
        const calls = (input.calls ?? []) as CallFault[];
        for (const f of calls) {
          if (!['5xx', 'throttling', 'timeout'].includes(f.kind)) throw new Error('calls[].kind must be "5xx", "throttling" or "timeout"');
          if (f.rate !== undefined && (typeof f.rate !== 'number' || f.rate < 0 || f.rate > 1)) throw new Error('calls[].rate must be from 0 to 1');
        }
        this.faults.calls.push(...calls.map((f) => ({ ...f })));
        this.faults.latency.push(...((input.latency ?? []) as LatencyFault[]));
        if (typeof input.duplicateDelivery === 'number') this.faults.duplicateDelivery = input.duplicateDelivery;
        if (typeof input.seed === 'number') this.faults.reseed(input.seed);
        return { body: this.faultView() };
      }
    }
    if (method === 'PUT' && a === 'rate-limits') {
      for (const [k, v] of Object.entries(input)) {
        if (typeof v !== 'number' || v < 0) throw new Error(`rate limit ${k} must be a non-negative number`);
        this.flow.limits[k] = v;
      }
      return { body: this.flow.limits };
    }
    if (method === 'PUT' && a === 'timing') {
      Object.assign(this.world.timing, input);
      return { body: this.world.timing };
    }
    if (method === 'POST' && a === 'time') {
      const advance = Number(input.advanceMs ?? 0);
      if (!Number.isFinite(advance) || advance < 0) throw new Error('advanceMs must be a non-negative number');
      this.clock.offset += advance;
      return { body: { now: new Date(this.clock.now()).toISOString(), offsetMs: this.clock.offset } };
    }
    if (method === 'POST' && a === 'sts') {
      return { status: 201, body: this.issueSts(typeof input.role === 'string' ? input.role : undefined) };
    }
    return undefined;
  }

  private clusterView(c: Cluster): unknown {
    return { ...c, createdAt: new Date(c.createdAt).toISOString(), pools: this.world.listedPools(c.id).map((p) => this.poolView(p.id)) };
  }

  private poolView(id: string): unknown {
    const p = this.world.pools.get(id)!;
    const { spec, createdAt, ...rest } = p;
    return { ...rest, createdAt: new Date(createdAt).toISOString(), status: this.world.status(p), spec: redact(spec) };
  }

  private faultView(): unknown {
    return { calls: this.faults.calls, latency: this.faults.latency, duplicateDelivery: this.faults.duplicateDelivery };
  }

  snapshot(): unknown {
    return {
      now: new Date(this.clock.now()).toISOString(),
      clusters: [...this.world.clusters.values()].map((c) => ({
        ...this.clusterView(c) as object,
        pools: [...this.world.pools.values()].filter((p) => p.clusterId === c.id).map((p) => this.poolView(p.id)),
      })),
      tasks: [...this.world.tasks.values()].map((t) => ({ ...t, createdAt: new Date(t.createdAt).toISOString(), ...this.world.taskView(t) })),
      faults: this.faultView(),
      rateLimits: this.flow.limits,
      timing: this.world.timing,
      calls: this.calls.length,
      // Rejections the process guard caught instead of dying (npm start / npm run sandbox).
      unhandledRejections: unhandledRejections(),
    };
  }
}

function checkPoolFaults(raw: unknown): Parameters<World['setPoolFaults']>[1] {
  if (!raw || typeof raw !== 'object') throw new Error('faults must be an object');
  const f = raw as Record<string, unknown>;
  const allowed = ['failedNodes', 'offlineNodes', 'stuck', 'deleted', 'creationFails'];
  for (const k of Object.keys(f)) if (!allowed.includes(k)) throw new Error(`unknown pool fault ${k}; allowed: ${allowed.join(', ')}`);
  for (const k of ['failedNodes', 'offlineNodes']) {
    if (f[k] !== undefined && (typeof f[k] !== 'number' || !Number.isInteger(f[k]) || (f[k] as number) < 0)) throw new Error(`${k} must be a non-negative integer`);
  }
  if (f.stuck !== undefined && f.stuck !== null && !['scaling', 'removing', 'updating'].includes(f.stuck as string)) {
    throw new Error('stuck must be "scaling", "removing", "updating" or null');
  }
  return f as Parameters<World['setPoolFaults']>[1];
}

function parseJsonValues(params: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v.startsWith('{') || v.startsWith('[')) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        // keep the raw string
      }
    }
    out[k] = v;
  }
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, requestId?: string): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
  };
  if (requestId) headers['x-acs-request-id'] = requestId;
  res.writeHead(status, headers);
  res.end(text);
}

export type { PoolFaults };
