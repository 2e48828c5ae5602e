/**
 * A local Function Compute host. It runs the three functions in this process and feeds
 * them what FC would: the FC 3.0 HTTP event on 127.0.0.1:9000, asynchronous invocations
 * with FC's retry semantics, EventBridge MNS-queue batches with redelivery, a timer, and a
 * real-shaped context with STS credentials.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FcContext, FcHttpResponse } from '../src/fc/types.js';
import { readBody } from './body.js';
import type { CloudEmulator, FcInvoker, QueueSink } from './cloud-emulator.js';
import { httpTriggerEvent } from './fc-http-event.js';
import { listenTracked } from './listen.js';

type FcHandler = (event: Buffer, context: FcContext) => Promise<unknown>;

export interface LocalFunction {
  name: string;
  /** One handler per instance, each with its own runtime; the host spreads invocations over them. */
  instances: FcHandler[];
  /** As in s.yaml: `file.export`. */
  handlerName: string;
  timeoutSeconds: number;
  memoryMB: number;
}

export interface LocalFcHostOptions {
  emulator: CloudEmulator;
  functions: { api: LocalFunction; provision: LocalFunction; watch: LocalFunction };
  accountId?: string;
  region?: string;
  role?: string;
  /** Static credentials for handlers (real cloud); otherwise STS from the emulator. */
  credentials?: { accessKeyId: string; accessKeySecret: string; securityToken?: string };
  /** FC async invocation: retries after a failed attempt (maxAsyncRetryAttempts, default 3). */
  asyncRetries?: number;
  asyncBackoffMs?: number;
  queueName?: string;
  /** Redeliveries of a failed batch before the message is dead-lettered. */
  queueMaxRedeliveries?: number;
  queueBackoffMs?: number;
  /** Host-level log lines (JSON). */
  log?: (entry: Record<string, unknown>) => void;
}

interface QueuedMessage {
  messageId: string;
  body: Buffer;
  deliveries: number;
}

/** FC 3.0 HTTP triggers: request headers up to 8 KB, a body up to 32 MB (synchronous invocation). */
const MAX_HTTP_BODY = 32 * 1024 * 1024;
const MAX_HTTP_HEADERS = 8 * 1024;

export class LocalFcHost {
  private listener?: { close(): Promise<void> };
  private timer?: NodeJS.Timeout;
  private inflight = new Set<Promise<unknown>>();
  private busy = new Map<FcHandler, number>();
  private turns = new Map<string, number>();
  private pendingTimers = new Set<NodeJS.Timeout>();
  private stopped = false;
  /** Messages held while the queue trigger is disabled (see pauseQueue). */
  private held?: Array<{ queue: string; msg: QueuedMessage }>;
  private credentials?: { accessKeyId: string; accessKeySecret: string; securityToken?: string; expiresAt: number };
  readonly deadLetters: Array<{ queue: string; messageId: string; body: string; deliveries: number }> = [];
  /** Every redelivery of a queue message that was scheduled after a failed batch. */
  readonly redeliveries: Array<{ queue: string; messageId: string; delivery: number }> = [];
  readonly accountId: string;
  readonly region: string;

  constructor(private readonly options: LocalFcHostOptions) {
    this.accountId = options.accountId ?? '1234567890123456';
    this.region = options.region ?? 'cn-hangzhou';
  }

  // ---------------------------------------------------------------- context and invocation

  private currentCredentials() {
    if (this.options.credentials) return this.options.credentials;
    if (!this.credentials || this.credentials.expiresAt - Date.now() < 3600_000) {
      const sts = this.options.emulator.issueSts(this.options.role ?? 'nodepool-pilot-fc');
      this.credentials = { ...sts, expiresAt: Date.parse(sts.expiration) };
    }
    const { accessKeyId, accessKeySecret, securityToken } = this.credentials;
    return { accessKeyId, accessKeySecret, securityToken };
  }

  context(fn: LocalFunction, retryCount = 0): FcContext {
    const requestId = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(4).toString('hex')}-${randomBytes(6).toString('hex')}`;
    return {
      requestId,
      credentials: this.currentCredentials(),
      function: { name: fn.name, handler: fn.handlerName, memory: fn.memoryMB, timeout: fn.timeoutSeconds },
      service: { logProject: 'local', logStore: 'local', qualifier: 'LATEST', versionId: '' },
      region: this.region,
      accountId: this.accountId,
      retryCount,
    };
  }

  /** Runs one invocation with the function's timeout, as FC would. */
  async invoke(fn: LocalFunction, event: Buffer, retryCount = 0): Promise<unknown> {
    const context = this.context(fn, retryCount);
    const handler = this.pickInstance(fn);
    this.busy.set(handler, (this.busy.get(handler) ?? 0) + 1);
    let timer: NodeJS.Timeout | undefined;
    const run = Promise.race([
      handler(event, context),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Function time out after ${fn.timeoutSeconds} seconds`)), fn.timeoutSeconds * 1000);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      this.busy.set(handler, (this.busy.get(handler) ?? 1) - 1);
    });
    return this.track(run);
  }

  /** As FC routes: to an idle instance if there is one (the least busy), taking turns among equals. */
  private pickInstance(fn: LocalFunction): FcHandler {
    const turn = (this.turns.get(fn.name) ?? 0) + 1;
    this.turns.set(fn.name, turn);
    const n = fn.instances.length;
    let best = fn.instances[turn % n]!;
    for (let i = 0; i < n; i++) {
      const h = fn.instances[(turn + i) % n]!;
      if ((this.busy.get(h) ?? 0) < (this.busy.get(best) ?? 0)) best = h;
    }
    return best;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    p.then(
      () => this.inflight.delete(p),
      () => this.inflight.delete(p),
    );
    return p;
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.pendingTimers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.pendingTimers.add(t);
  }

  private log(entry: Record<string, unknown>): void {
    this.options.log?.({ time: new Date().toISOString(), component: 'fc-host', ...entry });
  }

  // ---------------------------------------------------------------- async invocation (FC InvokeFunction)

  private functionByName(name: string): LocalFunction | undefined {
    return Object.values(this.options.functions).find((f) => f.name === name);
  }

  readonly fcInvoker: FcInvoker = async ({
    functionName,
    invocationType,
    body,
    requestId,
  }): Promise<{ status: number; body: string; headers?: Record<string, string> }> => {
    const fn = this.functionByName(functionName);
    if (!fn) {
      return { status: 404, body: JSON.stringify({ Code: 'FunctionNotFound', Message: `function ${functionName} does not exist`, RequestId: requestId }) };
    }
    if (invocationType === 'Async') {
      // At-least-once: the duplicate-delivery fault adds extra copies, delivered concurrently.
      const copies = 1 + this.options.emulator.faults.duplicateDelivery;
      for (let i = 0; i < copies; i++) this.runAsync(fn, Buffer.from(body), 0);
      return { status: 202, body: '', headers: { 'x-fc-request-id': requestId } };
    }
    try {
      const out = await this.invoke(fn, Buffer.from(body));
      return { status: 200, body: JSON.stringify(out ?? null), headers: { 'x-fc-request-id': requestId } };
    } catch (err) {
      return { status: 200, body: JSON.stringify(fcError(err)), headers: { 'x-fc-request-id': requestId, 'x-fc-error-type': 'UnhandledInvocationError' } };
    }
  };

  private runAsync(fn: LocalFunction, body: Buffer, attempt: number): void {
    void this.invoke(fn, body, attempt).then(
      () => undefined,
      (err) => {
        const retries = this.options.asyncRetries ?? 3;
        if (attempt < retries) {
          const delay = (this.options.asyncBackoffMs ?? 1_000) * 2 ** attempt;
          this.log({ level: 'warn', msg: 'async invocation failed; retrying', function: fn.name, attempt, delayMs: delay, error: (err as Error).message });
          this.later(delay, () => this.runAsync(fn, body, attempt + 1));
        } else {
          this.log({
            level: 'error',
            msg: 'async invocation failed; retries exhausted (on-failure destination)',
            function: fn.name,
            attempts: attempt + 1,
            error: (err as Error).message,
          });
        }
      },
    );
  }

  // ---------------------------------------------------------------- queue (EventBridge, MNS source)

  readonly queueSink: QueueSink = (queue, body) => {
    const expected = this.options.queueName ?? 'nodepool-requests';
    if (queue !== expected) throw new Error(`no trigger for queue ${queue}; the provision function consumes ${expected}`);
    const messageId = randomBytes(16).toString('hex').toUpperCase();
    const copies = 1 + this.options.emulator.faults.duplicateDelivery;
    for (let i = 0; i < copies; i++) {
      const msg = { messageId, body, deliveries: 0 };
      if (this.held) this.held.push({ queue, msg });
      else this.deliver(queue, msg);
    }
    return { messageId };
  };

  /** Disables the queue trigger, as one can in EventBridge: messages wait in the queue until resumeQueue. */
  pauseQueue(): void {
    this.held ??= [];
  }

  /** Enables the queue trigger again: every waiting message is pushed at once. */
  resumeQueue(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const { queue, msg } of held) this.deliver(queue, msg);
  }

  /** One EventBridge push: a batch of one CloudEvent (event-streaming mode). */
  private deliver(queue: string, msg: QueuedMessage): void {
    msg.deliveries++;
    const event = [
      {
        id: randomUUID(),
        source: `MNS-${this.options.functions.provision.name}-${queue}`,
        specversion: '1.0',
        type: 'mns:Queue:SendMessage',
        datacontenttype: 'application/json; charset=utf-8',
        subject: `acs:mns:${this.region}:${this.accountId}:queues/${queue}`,
        time: new Date().toISOString(),
        aliyunaccountid: this.accountId,
        aliyunpublishtime: new Date().toISOString(),
        aliyunoriginalaccountid: this.accountId,
        aliyuneventbusname: `MNS-${this.options.functions.provision.name}-${queue}`,
        aliyunregionid: this.region,
        aliyunpublishaddr: '127.0.0.1',
        data: { requestId: randomUUID().toUpperCase(), messageId: msg.messageId, messageBody: msg.body.toString('utf8') },
      },
    ];
    void this.invoke(this.options.functions.provision, Buffer.from(JSON.stringify(event))).then(
      () => undefined,
      (err) => {
        const max = this.options.queueMaxRedeliveries ?? 10;
        if (msg.deliveries <= max) {
          const delay = Math.min(30_000, (this.options.queueBackoffMs ?? 1_000) * 2 ** (msg.deliveries - 1));
          this.log({
            level: 'warn',
            msg: 'queue batch failed; redelivering',
            queue,
            messageId: msg.messageId,
            deliveries: msg.deliveries,
            delayMs: delay,
            error: (err as Error).message,
          });
          this.redeliveries.push({ queue, messageId: msg.messageId, delivery: msg.deliveries + 1 });
          this.later(delay, () => this.deliver(queue, msg));
        } else {
          this.deadLetters.push({ queue, messageId: msg.messageId, body: `${msg.body.length} bytes`, deliveries: msg.deliveries });
          this.log({ level: 'error', msg: 'message dead-lettered after its redeliveries', queue, messageId: msg.messageId, deliveries: msg.deliveries });
        }
      },
    );
  }

  // ---------------------------------------------------------------- timer

  /** One timer firing: invokes `watch` with the timer event. */
  fireTimer(triggerName = 'watch-timer'): Promise<unknown> {
    const event = { triggerTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), triggerName, payload: '' };
    return this.invoke(this.options.functions.watch, Buffer.from(JSON.stringify(event)));
  }

  startTimer(intervalSeconds: number, triggerName = 'watch-timer'): void {
    this.stopTimer();
    const fire = () =>
      void this.fireTimer(triggerName).catch((err) => this.log({ level: 'error', msg: 'watch invocation failed', error: (err as Error).message }));
    this.timer = setInterval(fire, intervalSeconds * 1000);
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  // ---------------------------------------------------------------- HTTP trigger

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    const server = createServer({ maxHeaderSize: MAX_HTTP_HEADERS }, (req, res) => {
      // Whatever goes wrong in one exchange ends that exchange, never the host.
      this.onHttp(req, res, (server.address() as AddressInfo).port).catch((err) => this.exchangeFailed(res, err));
    });
    // A client that sends its headers or body too slowly gets 408 from Node itself.
    server.headersTimeout = 20_000;
    server.requestTimeout = 60_000;
    this.listener = await listenTracked(server, port, host);
    const addr = server.address() as AddressInfo;
    return `http://${addr.address}:${addr.port}`;
  }

  private exchangeFailed(res: ServerResponse, err: unknown): void {
    this.log({ level: 'error', msg: 'HTTP exchange failed', error: (err as Error)?.message ?? String(err) });
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(502, { 'content-type': 'application/json', 'x-fc-error-type': 'UnhandledInvocationError', connection: 'close' });
    res.end(JSON.stringify({ errorMessage: 'the function host could not complete this request' }));
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
    const read = await readBody(req, MAX_HTTP_BODY);
    if (read.kind === 'cut-off') {
      // Nobody is left to answer: the client went away mid-upload. Nothing is invoked.
      this.log({
        level: 'info',
        msg: 'client went away before sending the whole body; nothing was invoked',
        method: req.method,
        path: (req.url ?? '/').split('?')[0],
        received: read.received,
        reason: read.reason,
      });
      res.destroy();
      return;
    }
    if (read.kind === 'too-large') {
      res
        .writeHead(413, { 'content-type': 'application/json', connection: 'close' })
        .end(JSON.stringify({ errorMessage: `request body too large (limit ${read.limit} bytes)` }));
      return;
    }
    const body = read.body;
    const event = httpTriggerEvent(req, body, { accountId: this.accountId, port });
    try {
      const out = (await this.invoke(this.options.functions.api, Buffer.from(JSON.stringify(event)))) as FcHttpResponse;
      const resBody = out.isBase64Encoded ? Buffer.from(out.body, 'base64') : Buffer.from(out.body ?? '', 'utf8');
      res.writeHead(out.statusCode ?? 200, out.headers ?? {});
      res.end(resBody);
    } catch (err) {
      res.writeHead(502, { 'content-type': 'application/json', 'x-fc-error-type': 'UnhandledInvocationError' });
      res.end(JSON.stringify(fcError(err)));
    }
  }

  /** Stops taking work, waits for invocations in flight (bounded), and closes the HTTP server. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    this.stopTimer();
    for (const t of this.pendingTimers) clearTimeout(t);
    this.pendingTimers.clear();
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, graceMs))]);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
  }

  /** Resolves once no invocation is running (tests use it to wait for async work). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.inflight.size > 0 || this.pendingTimers.size > 0) {
      if (Date.now() > until) throw new Error(`host not idle after ${timeoutMs} ms (${this.inflight.size} running, ${this.pendingTimers.size} scheduled)`);
      await Promise.allSettled([...this.inflight]);
      if (this.inflight.size === 0 && this.pendingTimers.size > 0) await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function fcError(err: unknown): { errorMessage: string; errorType: string; stackTrace: string[] } {
  const e = err instanceof Error ? err : new Error(String(err));
  return { errorMessage: e.message, errorType: e.name, stackTrace: (e.stack ?? '').split('\n').slice(0, 10) };
}
