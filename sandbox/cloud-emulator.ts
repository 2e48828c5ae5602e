/**
 * The local cloud: one HTTP server that answers ENS (RPC), ACK (ROA) and FC calls the way
 * the real endpoints do, so that @alicloud/openapi-client and the generated SDKs talk to it
 * unchanged. A call goes through a pipeline: read the body whole, classify it (protocol.ts),
 * run the steps (steps.ts: authenticate, faults, flow control, latency, the action), shape
 * errors as the service would (errors.ts), and log it. /_sandbox/ is the admin API (admin.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, OffsetClock, systemClock } from '../src/clock.js';
import { admin } from './admin.js';
import { Authenticator, type StsCredentials } from './auth.js';
import { readBody } from './body.js';
import { ApiError, errorAnswer, errors, toRpcBody } from './errors.js';
import { FaultPlan, FlowControl } from './faults.js';
import { listenTracked } from './listen.js';
import { classify, safeDecode } from './protocol.js';
import { addScenarioCluster, applyScenario, type Scenario, type ScenarioCluster, seedWorld } from './scenario.js';
import { parseRawQuery } from './signature.js';
import { type Answer, type CallRecord, type FcInvoker, runSteps } from './steps.js';
import { type Cluster, defaultTiming, type Timing, World } from './world.js';

export { type Scenario, type ScenarioCluster, SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from './scenario.js';
export type { CallRecord, FcInvoker } from './steps.js';

export const DEFAULT_ACCESS_KEY_ID = 'sandbox-access-key-id';
export const DEFAULT_ACCESS_KEY_SECRET = 'sandbox-access-key-secret';

/** The documented per-user limits, calls per second, per action (the API references). */
const DEFAULT_RATE_LIMITS: Record<string, number> = {
  CreateClusterNodePool: 10,
  DescribeClusterNodePools: 100,
  DescribeClusterNodes: 100,
  // ENS ScaleClusterNodePool and DeleteClusterNodePool: 10 a second (their references). ENS
  // DeleteClusterNodes and ACK's Modify, Scale and Delete publish none: the same 10 (a guess).
  ScaleClusterNodePool: 10,
  DeleteClusterNodePool: 10,
  DeleteClusterNodes: 10,
  ModifyClusterNodePool: 10,
  DeleteClusterNodepool: 10,
  // The pre-flight checks' reads: ENS DescribeClusterDetail is 100 a second (its reference); the
  // others publish none here, and get the listings' 100 (a guess).
  DescribeClusterDetail: 100,
  DescribeVSwitches: 100,
  DescribeAvailableResource: 100,
  DescribeCloudDiskTypes: 100,
};

const MAX_BODY_BYTES = 2 * 1024 * 1024;
const MAX_CALL_LOG = 200_000;

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
  /** FC async task ids taken so far: a repeated one is refused with 409. */
  readonly fcTaskIds = new Set<string>();
  /**
   * The emulator's own time per action, from a call's whole body to its answer written (injected
   * latency and an FC function's run included): a benchmark tells it apart from the client's.
   */
  readonly handling = new Map<string, { calls: number; totalMs: number; maxMs: number }>();
  private calls: CallRecord[] = [];
  private seq = 0;
  private server?: Server;
  private listener?: { close(): Promise<void> };

  constructor(private readonly options: CloudEmulatorOptions = {}) {
    this.clock = new OffsetClock(options.clock ?? systemClock);
    this.world = new World(this.clock, { ...defaultTiming, ...options.timing, ...options.scenario?.timing });
    this.faults = new FaultPlan(options.seed ?? 1);
    this.flow = new FlowControl(this.clock, { ...DEFAULT_RATE_LIMITS, ...options.rateLimits, ...options.scenario?.rateLimits });
    this.auth = new Authenticator(this.clock, options.accessKeys ?? [{ accessKeyId: DEFAULT_ACCESS_KEY_ID, accessKeySecret: DEFAULT_ACCESS_KEY_SECRET }]);
    this.fcInvoker = options.fcInvoker;
    this.queueSink = options.queueSink;
    if (options.seedData !== false) seedWorld(this.world, this.clock);
    if (options.scenario) this.applyScenario(options.scenario);
  }

  applyScenario(scenario: Scenario): Cluster[] {
    return applyScenario(this, scenario);
  }

  addCluster(c: ScenarioCluster): Cluster {
    return addScenarioCluster(this.world, this.clock, c);
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

  clearCallLog(): void {
    this.calls = [];
  }

  reset(options: { seedData?: boolean } = {}): void {
    this.world.reset();
    this.faults.clear();
    this.faults.reseed(this.options.seed ?? 1);
    this.flow.reset();
    this.flow.limits = { ...DEFAULT_RATE_LIMITS, ...this.options.rateLimits };
    this.world.timing = { ...defaultTiming, ...this.options.timing };
    this.calls = [];
    this.handling.clear();
    this.fcTaskIds.clear();
    this.clock.offset = 0;
    if (options.seedData !== false) seedWorld(this.world, this.clock);
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

  // ------------------------------------------------------------------ the pipeline

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID().toUpperCase();
    const url = req.url ?? '/';
    const pathname = url.split('?')[0] ?? '/';
    const admining = pathname === '/_sandbox' || pathname.startsWith('/_sandbox/');

    // 1. The body, whole, or nothing is done.
    const read = await readBody(req, MAX_BODY_BYTES);
    if (read.kind === 'cut-off') return void res.destroy(); // the client is gone
    if (read.kind === 'too-large') {
      res.setHeader('connection', 'close');
      if (admining) return sendJson(res, 413, { error: `the body is over ${read.limit} bytes` });
      return sendJson(res, 413, toRpcBody(errors.invalidParameter('Body', 'The request body is too large.'), requestId), requestId);
    }
    if (admining) {
      const parsed = new URL(url, 'http://sandbox');
      const out = admin(this, req, parsed, parsed.pathname.split('/').slice(2).map(safeDecode), read.body);
      return sendJson(res, out.status, out.body);
    }

    // 2. Classify; 3. run the steps; 4. shape errors; 5. log.
    const handled = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const query = Object.fromEntries(parseRawQuery(url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''));
    const form = String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
      ? Object.fromEntries(parseRawQuery(read.body.toString('utf8')))
      : {};
    const call = classify({ method, pathname, query, headers: req.headers, body: read.body, form }, this.world, requestId);
    const record: CallRecord = {
      seq: 0,
      at: new Date(this.clock.now()).toISOString(),
      product: call.product,
      action: call.action,
      method,
      path: pathname,
      clusterId: call.clusterId,
      status: 0,
      outcome: 'OK',
      requestId,
      durationMs: 0,
      params: call.params,
    };
    let answer: Answer;
    try {
      answer = await runSteps(call, record, this);
    } catch (err) {
      if (!(err instanceof ApiError)) console.error('[sandbox] handler failed; answering InternalError', err);
      const e = err instanceof ApiError ? err : errors.internalError();
      record.status = e.status;
      record.outcome = e.code;
      this.finish(record, started);
      const shaped = errorAnswer(e, call.style, call.product, requestId);
      sendJson(res, shaped.status, shaped.body, shaped.headers ? undefined : requestId, shaped.headers);
      return this.tally(call.action, handled);
    }
    if (answer.kind === 'hold') {
      record.status = 0;
      record.outcome = 'Timeout';
      this.finish(record, started);
      this.tally(call.action, handled);
      return this.hold(res);
    }
    this.finish(record, started);
    if (answer.kind === 'json') sendJson(res, answer.status, answer.body, requestId);
    else {
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body);
    }
    this.tally(call.action, handled);
  }

  private tally(action: string, since: number): void {
    const ms = performance.now() - since;
    const h = this.handling.get(action) ?? { calls: 0, totalMs: 0, maxMs: 0 };
    h.calls++;
    h.totalMs += ms;
    h.maxMs = Math.max(h.maxMs, ms);
    this.handling.set(action, h);
  }

  /** A `timeout` fault: keep the connection open without answering, then drop it. */
  private async hold(res: ServerResponse): Promise<void> {
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
}

function sendJson(res: ServerResponse, status: number, body: unknown, requestId?: string, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...extra,
  };
  if (requestId) headers['x-acs-request-id'] = requestId;
  res.writeHead(status, headers);
  res.end(text);
}
