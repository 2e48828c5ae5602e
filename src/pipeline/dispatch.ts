/**
 * Hands a creation to the `provision` function as an asynchronous FC invocation:
 * FC 3.0 InvokeFunction (x-fc-invocation-type: Async) through the same openapi client,
 * or, when a service name is configured, FC 2.0 through @alicloud/fc2, loaded lazily.
 */
import type { Clock } from '../clock.js';
import { CloudError, toCloudError } from '../cloud/errors.js';
import { withRetry } from '../cloud/retry.js';
import { type CredentialSource, OpenApiTransport, type StaticCredentials, type Timeouts } from '../cloud/transport.js';
import type { Logger } from '../log.js';
import { asyncTaskId, type Dispatcher } from './services.js';

const DISPATCH_RETRY = { baseDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 4 };
const DISPATCH_BUDGET_MS = 5_000;

export class Fc3Dispatcher implements Dispatcher {
  private readonly transport: OpenApiTransport;

  constructor(
    endpoint: string,
    credentials: CredentialSource,
    private readonly functionName: string,
    private readonly clock: Clock,
    timeouts: Timeouts = { connectTimeoutMs: 3_000, readTimeoutMs: 5_000 },
  ) {
    this.transport = new OpenApiTransport(endpoint, credentials, timeouts);
  }

  async dispatch(requestId: string, log: Logger, attempt = 0): Promise<'dispatched' | 'already-dispatched'> {
    const body = Buffer.from(JSON.stringify({ requestId }));
    const taskId = asyncTaskId(requestId, attempt);
    try {
      await withRetry(
        () =>
          this.transport.call(
            {
              action: 'InvokeFunction',
              version: '2023-03-30',
              style: 'ROA',
              method: 'POST',
              pathname: `/2023-03-30/functions/${encodeURIComponent(this.functionName)}/invocations`,
              reqBodyType: 'byte',
              bodyType: 'string',
            },
            { body, headers: { 'x-fc-invocation-type': 'Async', 'x-fc-async-task-id': taskId, 'content-type': 'application/json' } },
          ),
        { clock: this.clock, deadline: this.clock.now() + DISPATCH_BUDGET_MS, policy: DISPATCH_RETRY },
      );
    } catch (err) {
      // FC refuses an async task id it has seen with 409: this dispatch already went out (the
      // answer to an earlier try was lost). The status decides; FC 3.0 publishes no code for it.
      if (err instanceof CloudError && err.statusCode === 409) {
        log.info('provision was already dispatched for this attempt', { nodepoolRequestId: requestId, asyncTaskId: taskId });
        return 'already-dispatched';
      }
      throw err;
    }
    log.info('dispatched provision', { nodepoolRequestId: requestId, function: this.functionName, asyncTaskId: taskId });
    return 'dispatched';
  }
}

interface Fc2ClientLike {
  invokeFunction(service: string, fn: string, event: string, headers?: Record<string, string>, qualifier?: string): Promise<unknown>;
}

export class Fc2Dispatcher implements Dispatcher {
  private client?: Promise<Fc2ClientLike>;

  constructor(
    private readonly options: {
      accountId: string;
      region: string;
      endpoint?: string;
      credentials: StaticCredentials;
      serviceName: string;
      functionName: string;
      clock: Clock;
    },
  ) {}

  private load(): Promise<Fc2ClientLike> {
    this.client ??= import('@alicloud/fc2').then((mod) => {
      const FCClient = ((mod as { default?: unknown }).default ?? mod) as new (account: string, config: Record<string, unknown>) => Fc2ClientLike;
      const { credentials, endpoint } = this.options;
      return new FCClient(this.options.accountId, {
        accessKeyID: credentials.accessKeyId,
        accessKeySecret: credentials.accessKeySecret,
        securityToken: credentials.securityToken,
        region: this.options.region,
        endpoint,
        secure: !endpoint || endpoint.startsWith('https'),
        timeout: 5_000,
      });
    });
    return this.client;
  }

  async dispatch(requestId: string, log: Logger): Promise<'dispatched' | 'already-dispatched'> {
    const client = await this.load();
    await withRetry(
      async () => {
        try {
          await client.invokeFunction(this.options.serviceName, this.options.functionName, JSON.stringify({ requestId }), { 'x-fc-invocation-type': 'Async' });
        } catch (err) {
          throw fc2Error(err);
        }
      },
      { clock: this.options.clock, deadline: this.options.clock.now() + DISPATCH_BUDGET_MS, policy: DISPATCH_RETRY },
    );
    log.info('dispatched provision (FC 2.0)', { nodepoolRequestId: requestId, service: this.options.serviceName, function: this.options.functionName });
    return 'dispatched';
  }
}

/**
 * @alicloud/fc2 throws an `Error` named "FC<Code>Error" with `code` set to FC's ErrorCode;
 * the HTTP status and request id are only in its message.
 */
function fc2Error(err: unknown): CloudError {
  const e = err as { code?: string; name?: string; message?: string };
  const m = /failed with (\d{3})\. requestid: ([^,]*), message: ([\s\S]*)\.$/.exec(e.message ?? '');
  if (m && e.name?.startsWith('FC')) {
    const status = Number(m[1]);
    const code = e.code ?? `HTTP${status}`;
    const kind = /Throttl|TooManyRequests|ResourceExhausted/i.test(code) || status === 429 ? 'throttled' : status >= 500 ? 'server' : 'client';
    return new CloudError({ code, message: m[3] ?? code, kind, statusCode: status, requestId: m[2] || undefined, cause: err });
  }
  return toCloudError(err);
}
