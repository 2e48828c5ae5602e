/**
 * One signed HTTP call through @alicloud/openapi-client's generic `callApi`, for any of the
 * products this project uses. Endpoints may carry a protocol and port
 * (`http://127.0.0.1:9100`) so the same code drives the sandbox and the real cloud.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import * as credentialsModule from '@alicloud/credentials';
import * as openapi from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { toCloudError } from './errors.js';

/** A CommonJS default export, whether loaded by Node's ESM loader or by a bundler. */
export function cjsDefault<T>(mod: unknown): T {
  const m = mod as { default?: { default?: T } & T };
  return (m.default?.default ?? m.default) as T;
}

export interface OpenApiClientLike {
  callApi(params: openapi.Params, request: openapi.OpenApiRequest, runtime: RuntimeOptions): Promise<Record<string, unknown>>;
}
export const OpenApiClient = cjsDefault<new (config: openapi.Config) => OpenApiClientLike>(openapi);
const Credential = cjsDefault<new () => unknown>(credentialsModule);

/** An access key pair, optionally with an STS token, such as FC's `context.credentials`. */
export interface StaticCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** Static keys, or `'default-chain'` for @alicloud/credentials' provider chain (env, OIDC, profile, ECS role, ...). */
export type CredentialSource = StaticCredentials | 'default-chain';

export interface Endpoint {
  protocol: 'http' | 'https';
  /** Host with an optional port. */
  host: string;
}

/** The connect timeout of each endpoint (`host[:port]`, as the Host header names it) this process calls; the shortest if several clients call one. */
const connectTimeouts = new Map<string, number>();

/**
 * Times the connect of every new connection to a known endpoint: one not made within its
 * connect timeout is destroyed (the request never went out). The client library cannot time
 * the connect alone (its connect timeout is the socket's idle timeout, which also ends a slow
 * answer), so Node's own report of each request's start is used to watch its socket.
 */
function timeConnects(host: string, ms: number): void {
  if (!connectTimeouts.size) {
    subscribe('http.client.request.start', (message) => {
      const request = (message as { request: ClientRequest }).request;
      const limit = connectTimeouts.get(String(request.getHeader('host') ?? ''));
      if (limit === undefined) return;
      const watch = (socket: Socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          const e = new Error(`ConnectTimeout(${limit}): no connection to ${request.host} in time`);
          e.name = 'ConnectTimeoutError';
          request.destroy(e);
        }, limit);
        const clear = () => clearTimeout(timer);
        socket.once('connect', clear);
        socket.once('close', clear);
      };
      if (request.socket) watch(request.socket);
      else request.once('socket', watch);
    });
  }
  connectTimeouts.set(host, Math.min(ms, connectTimeouts.get(host) ?? ms));
}

/** Accepts `host`, `host:port` or a URL such as `http://127.0.0.1:9100`. */
function parseEndpoint(value: string): Endpoint {
  const trimmed = value.trim().replace(/\/+$/, '');
  const m = /^(https?):\/\/(.+)$/i.exec(trimmed);
  if (m) return { protocol: m[1]!.toLowerCase() as 'http' | 'https', host: m[2]! };
  return { protocol: 'https', host: trimmed };
}

export interface Timeouts {
  connectTimeoutMs: number;
  readTimeoutMs: number;
}

export const defaultTimeouts: Timeouts = { connectTimeoutMs: 5_000, readTimeoutMs: 10_000 };

export interface ApiSpec {
  action: string;
  version: string;
  style: 'RPC' | 'ROA';
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  pathname: string;
  reqBodyType: 'formData' | 'json' | 'byte';
  bodyType: 'json' | 'string' | 'byte' | 'none';
}

export interface ApiRequest {
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  body: T;
  headers: Record<string, string>;
  statusCode: number;
}

export class OpenApiTransport {
  private readonly client: OpenApiClientLike;
  readonly endpoint: Endpoint;

  constructor(
    endpoint: string | Endpoint,
    credentials: CredentialSource,
    private readonly timeouts: Timeouts = defaultTimeouts,
  ) {
    this.endpoint = typeof endpoint === 'string' ? parseEndpoint(endpoint) : endpoint;
    timeConnects(this.endpoint.host, timeouts.connectTimeoutMs);
    const config = new openapi.Config({
      endpoint: this.endpoint.host,
      protocol: this.endpoint.protocol,
      readTimeout: timeouts.readTimeoutMs,
      connectTimeout: timeouts.connectTimeoutMs,
      userAgent: 'nodepool-pilot',
    });
    if (credentials === 'default-chain') {
      config.credential = new Credential() as openapi.Config['credential'];
    } else {
      config.accessKeyId = credentials.accessKeyId;
      config.accessKeySecret = credentials.accessKeySecret;
      if (credentials.securityToken) config.securityToken = credentials.securityToken;
    }
    this.client = new OpenApiClient(config);
  }

  /**
   * Sends one request, with no retry of its own (0.4.x never retries). `readTimeoutMs`
   * lets a caller shorten the wait to what is left of its time budget.
   *
   * The client library (httpx) sets its connect timeout as the socket's idle timeout, which
   * also ends a slow answer, and its read timer on a reused connection can be cancelled by
   * the timer of the request before it. So the library's idle timeout is made no shorter than
   * the read timeout, the connect is timed apart (timeConnects), and the read timeout is kept
   * here: an answer that has not come within it is given up as a timeout (the request may
   * have run).
   */
  async call<T>(spec: ApiSpec, request: ApiRequest, options: { readTimeoutMs?: number } = {}): Promise<ApiResponse<T>> {
    const params = new openapi.Params({ ...spec, protocol: this.endpoint.protocol.toUpperCase(), authType: 'AK' });
    const req = new openapi.OpenApiRequest({ query: request.query, body: request.body, headers: request.headers });
    const readTimeout = Math.max(1, Math.min(options.readTimeoutMs ?? this.timeouts.readTimeoutMs, this.timeouts.readTimeoutMs));
    const runtime = new RuntimeOptions({
      autoretry: false,
      readTimeout,
      connectTimeout: Math.max(this.timeouts.connectTimeoutMs, readTimeout),
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new Error(`ReadTimeout(${readTimeout}): no answer to ${spec.action} in time`);
        e.name = 'RequestTimeoutError';
        reject(e);
      }, readTimeout);
    });
    try {
      // The call given up on still ends on its own (the idle timeout), unobserved.
      return (await Promise.race([this.client.callApi(params, req, runtime), late])) as unknown as ApiResponse<T>;
    } catch (err) {
      throw toCloudError(err);
    } finally {
      clearTimeout(timer);
    }
  }
}
