/**
 * The node-pool operations the system needs, for ENS and ACK, on one transport each:
 * per-API rate limiting, retry with backoff inside the caller's budget, pagination, and
 * adoption of a pool that an unanswered create did make.
 */
import { type Clock, systemClock } from '../clock.js';
import type { Cluster } from './cluster.js';
import { CloudError, type CloudErrorKind, isNameTaken } from './errors.js';
import { type EnsNode, fromAck, fromEns, fromEnsNode, type NodePool } from './nodepool.js';
import { burstCalls, DEFAULT_BURST_SHARE, type Limiter, RateLimiter } from './rate-limiter.js';
import { defaultRetryPolicy, withRetry } from './retry.js';
import { type ApiSpec, defaultTimeouts, OpenApiTransport } from './transport.js';
import type { AckCreateBody, AckTask, AttemptBudget, Budget, CallCount, CloudClientOptions, CloudMetrics, CreateOutcome, EnsCreateRequest } from './types.js';

const ENS_VERSION = '2017-11-10';
type ReadProduct = 'vpc' | 'ecs';
const ACK_VERSION = '2015-12-15';

export const defaultEndpoints = {
  ens: 'https://ens.aliyuncs.com',
  /** `{region}` is replaced by the cluster's region. */
  ack: 'https://cs.{region}.aliyuncs.com',
  /** VPC and ECS, for the pre-flight checks of ACK requests (vSwitches, what a region offers). */
  vpc: 'https://vpc.{region}.aliyuncs.com',
  ecs: 'https://ecs.{region}.aliyuncs.com',
};

export type { AckCreateBody, AckTask, Budget, CloudClientOptions, CloudMetrics, CreateOutcome, EnsCreateRequest } from './types.js';

/** No call starts with less than this left of its budget. */
const MIN_CALL_MS = 250;

/** ENS actions are RPC POSTs with every parameter in the query, as the generated SDK sends them. */
export function ensRpc(action: string): ApiSpec {
  return { action, version: ENS_VERSION, style: 'RPC', method: 'POST', pathname: '/', reqBodyType: 'formData', bodyType: 'json' };
}

/** A create answer without the pool's id, reported as a fault of the cloud's. */
function missingPoolId(field: string, requestId?: string): CloudError {
  return new CloudError({ code: 'InvalidResponse', message: `CreateClusterNodePool answered without a ${field}`, kind: 'server', requestId });
}

export class CloudClient {
  readonly metrics: CloudMetrics = { calls: 0, throttled: 0, retries: 0, errors: 0 };
  private readonly clock: Clock;
  private readonly endpoints: typeof defaultEndpoints;
  private readonly transports = new Map<string, OpenApiTransport>();
  private readonly limiters = new Map<string, Limiter>();
  private readonly counts = new Map<string, CallCount>();
  /** ENS listings by cluster that wait for their first call (see findNodePool). */
  private readonly unsentListings = new Map<string, Promise<NodePool[]>>();
  private readonly pageSize: number;

  constructor(private readonly options: CloudClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.endpoints = { ...defaultEndpoints, ...options.endpoints };
    this.pageSize = options.ensPageSize ?? 50;
  }

  // ---------------------------------------------------------------- public operations

  /**
   * Creates a node pool once. Throttling and cluster-busy answers are retried as they are;
   * after an answer that leaves the outcome unknown (timeout, reset, 5xx) the pool is
   * looked up by name before any new attempt, and adopted if it is there.
   */
  async createNodePool(
    ref: Cluster,
    request: EnsCreateRequest | AckCreateBody,
    budget: Budget,
    options: { noRetry?: CloudErrorKind[] /** An earlier attempt (another invocation) may have created it. */; mayExist?: boolean } = {},
  ): Promise<CreateOutcome> {
    const name = ref.provider === 'ens' ? (request as EnsCreateRequest).NodepoolInfo.Name : (request as AckCreateBody).nodepool_info.name;
    let unknownOutcome = options.mayExist === true;
    let attempts = 0;
    const adopt = async (): Promise<CreateOutcome | undefined> => {
      const found = await this.findNodePool(ref, name, budget);
      return found ? { nodepoolId: found.id, adopted: true, attempts } : undefined;
    };
    return this.retrying(
      `${ref.provider}:CreateClusterNodePool`,
      budget,
      async (attempt, budget) => {
        attempts = attempt;
        try {
          return await this.createOnce(ref, request, budget);
        } catch (err) {
          const e = err as CloudError;
          // A create that did run but whose answer was lost shows up as "name exists" on the next try.
          if (unknownOutcome && isNameTaken(e)) {
            const adopted = await adopt();
            if (adopted) return adopted;
          }
          if (e.ambiguous) unknownOutcome = true;
          throw e;
        }
      },
      async (err) => (err.ambiguous || unknownOutcome ? adopt() : undefined),
      (e) => {
        e.attempts = attempts;
        return e;
      },
      (e) => !options.noRetry?.includes(e.kind),
    );
  }

  /**
   * One write call other than a create (scale, delete). Only throttling, which says the call
   * did not run, is retried here: the caller settles any other unknown outcome by reading the
   * pool (pipeline/operate.ts), so that the call never runs twice.
   */
  write<T>(ref: Cluster, spec: ApiSpec, request: { query?: Record<string, string>; body?: unknown }, budget: Budget): Promise<T> {
    return this.retrying(
      `${ref.provider}:${spec.action}`,
      budget,
      (_, budget) => this.send<T>(ref, 'create', spec, request, budget),
      undefined,
      undefined,
      (e) => e.kind === 'throttled' && !e.ambiguous,
    );
  }

  /** One read call (retried like a listing), of the cluster's product or, for ACK, of VPC or ECS in its region. */
  read<T>(ref: Cluster, spec: ApiSpec, request: { query?: Record<string, string> }, budget: Budget, product?: ReadProduct): Promise<T> {
    return this.retrying(`${product ?? ref.provider}:${spec.action}`, budget, (_, budget) =>
      this.send<T>(ref, 'describe', spec, request, budget, undefined, product),
    );
  }

  /** Every node pool of a cluster: one call for ACK, one per page for ENS. */
  async listNodePools(ref: Cluster, budget: Budget, filter: { name?: string } = {}): Promise<NodePool[]> {
    if (ref.provider === 'ack') {
      const body = await this.retrying(`ack:DescribeClusterNodePools`, budget, (_, budget) =>
        this.send<{ nodepools?: unknown[] }>(
          ref,
          'describe',
          {
            action: 'DescribeClusterNodePools',
            version: ACK_VERSION,
            style: 'ROA',
            method: 'GET',
            pathname: `/clusters/${encodeURIComponent(ref.clusterId)}/nodepools`,
            reqBodyType: 'json',
            bodyType: 'json',
          },
          { query: filter.name ? { NodepoolName: filter.name } : undefined },
          budget,
        ),
      );
      return (body.nodepools ?? []).map((p) => fromAck(p, ref.clusterId)).filter((p) => !filter.name || p.name === filter.name);
    }
    const pools = await this.ensPages(ref, 'DescribeClusterNodePools', { ClusterId: ref.clusterId }, 'NodePools', (raw) => fromEns(raw, ref.clusterId), budget);
    return filter.name ? pools.filter((p) => p.name === filter.name) : pools;
  }

  /**
   * The nodes of one ENS node pool (DescribeClusterNodes, every page). ENS listings carry no
   * failed count; a node's state is what tells a failure.
   */
  async listEnsNodes(ref: Extract<Cluster, { provider: 'ens' }>, nodepoolId: string, budget: Budget): Promise<EnsNode[]> {
    return this.ensPages(ref, 'DescribeClusterNodes', { ClusterId: ref.clusterId, NodepoolId: nodepoolId }, 'Nodes', fromEnsNode, budget);
  }

  /** Walks an ENS listing page by page; an item seen on an earlier page (pages shift while items are added) is kept once. */
  private async ensPages<T extends { id: string }>(
    ref: Cluster,
    action: string,
    query: Record<string, string>,
    itemsKey: string,
    map: (raw: unknown) => T,
    budget: Budget,
    /** Called as the first call goes out. */
    sent?: () => void,
  ): Promise<T[]> {
    const out: T[] = [];
    const seen = new Set<string>();
    for (let page = 1; page <= 10_000; page++) {
      const body = await this.retrying(`ens:${action}`, budget, (_, budget) =>
        this.send<Record<string, unknown> & { Page?: { TotalCount?: number } }>(
          ref,
          'describe',
          ensRpc(action),
          { query: { ...query, PageNumber: String(page), PageSize: String(this.pageSize) } },
          budget,
          sent,
        ),
      );
      const items = (body[itemsKey] as unknown[] | undefined) ?? [];
      for (const item of items.map(map)) {
        if (seen.has(item.id)) continue;
        seen.add(item.id);
        out.push(item);
      }
      // TotalCount decides; a server that pages smaller than asked must not end the walk early.
      const total = body.Page?.TotalCount;
      if (items.length === 0) break;
      if (typeof total === 'number' ? out.length >= total : items.length < this.pageSize) break;
    }
    return out;
  }

  /**
   * The pool with this name, if the cluster has one. ACK filters by name on the server. ENS
   * cannot, so an ENS look-up lists the cluster; look-ups of one cluster that arrive while a
   * listing of it waits for its first call share that listing: it is sent after each of them
   * asked, so it shows every pool created before any of them asked (the freshness a look-up
   * before a create needs), for one call instead of one each.
   */
  async findNodePool(ref: Cluster, name: string, budget: Budget): Promise<NodePool | undefined> {
    const pools = ref.provider === 'ack' ? await this.listNodePools(ref, budget, { name }) : await this.ensListingNotYetSent(ref, budget);
    return pools.find((p) => p.name === name);
  }

  /** The listing of an ENS cluster that has not yet sent its first call, or a new one. */
  private ensListingNotYetSent(ref: Cluster, budget: Budget): Promise<NodePool[]> {
    const key = ref.clusterId;
    const waiting = this.unsentListings.get(key);
    if (waiting) return waiting;
    const listing: { promise?: Promise<NodePool[]> } = {};
    const leave = () => {
      if (this.unsentListings.get(key) === listing.promise) this.unsentListings.delete(key);
    };
    listing.promise = this.ensPages(
      ref,
      'DescribeClusterNodePools',
      { ClusterId: ref.clusterId },
      'NodePools',
      (raw) => fromEns(raw, ref.clusterId),
      budget,
      leave,
    );
    this.unsentListings.set(key, listing.promise);
    listing.promise.then(leave, leave);
    return listing.promise;
  }

  /** ACK DescribeTaskInfo: the state of a creation task, and its error when it failed. */
  async describeTask(ref: Extract<Cluster, { provider: 'ack' }>, taskId: string, budget: Budget): Promise<AckTask> {
    const body = await this.retrying(`ack:DescribeTaskInfo`, budget, (_, budget) =>
      this.send<Record<string, unknown>>(
        ref,
        'describe',
        {
          action: 'DescribeTaskInfo',
          version: ACK_VERSION,
          style: 'ROA',
          method: 'GET',
          pathname: `/tasks/${encodeURIComponent(taskId)}`,
          reqBodyType: 'json',
          bodyType: 'json',
        },
        {},
        budget,
      ),
    );
    const error = body.error as { code?: unknown; message?: unknown } | undefined;
    const state = String(body.state ?? '');
    const ran = Date.parse(String(body.updated ?? '')) - Date.parse(String(body.created ?? ''));
    return {
      id: String(body.task_id ?? taskId),
      state,
      durationMs: state !== 'running' && ran >= 0 ? ran : undefined,
      type: typeof body.task_type === 'string' ? body.task_type : undefined,
      error: error && (error.code || error.message) ? { code: String(error.code ?? ''), message: String(error.message ?? '') } : undefined,
    };
  }

  // ---------------------------------------------------------------- internals

  private async createOnce(ref: Cluster, request: EnsCreateRequest | AckCreateBody, budget: AttemptBudget): Promise<CreateOutcome> {
    if (ref.provider === 'ens') {
      const r = request as EnsCreateRequest;
      // Nested objects travel as JSON strings in the query, as the generated SDKs send them.
      const query: Record<string, string> = {
        ClusterId: ref.clusterId,
        NodepoolInfo: JSON.stringify(r.NodepoolInfo),
        ScalingGroup: JSON.stringify(r.ScalingGroup),
      };
      if (r.KubernetesConfig) query.KubernetesConfig = JSON.stringify(r.KubernetesConfig);
      const body = await this.send<{ RequestId?: string; Nodepool?: unknown }>(ref, 'create', ensRpc('CreateClusterNodePool'), { query }, budget);
      const pool = fromEns(body.Nodepool, ref.clusterId);
      if (!pool.id) throw missingPoolId('NodepoolId', body.RequestId);
      return { nodepoolId: pool.id, requestId: body.RequestId, adopted: false, attempts: 1 };
    }
    const body = await this.send<{ nodepool_id?: string; request_id?: string; task_id?: string }>(
      ref,
      'create',
      {
        action: 'CreateClusterNodePool',
        version: ACK_VERSION,
        style: 'ROA',
        method: 'POST',
        pathname: `/clusters/${encodeURIComponent(ref.clusterId)}/nodepools`,
        reqBodyType: 'json',
        bodyType: 'json',
      },
      { body: request },
      budget,
    );
    if (!body.nodepool_id) throw missingPoolId('nodepool_id', body.request_id);
    return { nodepoolId: body.nodepool_id, requestId: body.request_id, taskId: body.task_id, adopted: false, attempts: 1 };
  }

  private async send<T>(
    ref: Cluster,
    kind: 'create' | 'describe',
    spec: ApiSpec,
    request: { query?: Record<string, string>; body?: unknown },
    budget: AttemptBudget,
    /** Called as the call goes out (after the rate limit admitted it). */
    sent?: () => void,
    /** Another product than the cluster's own (VPC, ECS), in the cluster's region. */
    product?: ReadProduct,
  ): Promise<T> {
    await this.limiter(`${product ?? ref.provider}:${spec.action}`, kind).acquire(budget.retry);
    sent?.();
    const remaining = budget.deadline - this.clock.now();
    // A call started with almost no time left can only time out, hiding what the cloud last said.
    if (remaining < MIN_CALL_MS) {
      const e = new CloudError({ code: 'BudgetExhausted', message: `no time left in the budget for ${spec.action}`, kind: 'timeout', ambiguous: false });
      e.budgetExhausted = true;
      throw e;
    }
    this.metrics.calls++;
    const api = `${product ?? ref.provider}:${spec.action}`;
    try {
      const res = await this.transport(ref, product).call<T>(spec, request, { readTimeoutMs: remaining });
      this.count(api, 'OK', 'ok');
      return res.body;
    } catch (err) {
      const e = err as CloudError;
      this.count(api, e.code, e.kind);
      this.metrics.errors++;
      if (e.kind === 'throttled') this.metrics.throttled++;
      throw e;
    }
  }

  private count(api: string, outcome: string, kind: string): void {
    const key = `${api}\u0000${outcome}\u0000${kind}`;
    const c = this.counts.get(key);
    if (c) c.calls++;
    else this.counts.set(key, { api, outcome, kind, calls: 1 });
  }

  /** The calls counted since the last take, by API and outcome (for /metrics); counting starts again from zero. */
  takeCallCounts(): CallCount[] {
    const out = [...this.counts.values()];
    this.counts.clear();
    return out;
  }

  private retrying<T>(
    api: string,
    budget: Budget,
    op: (attempt: number, budget: AttemptBudget) => Promise<T>,
    beforeRetry?: (err: CloudError) => Promise<T | undefined>,
    decorate: (e: CloudError) => CloudError = (e) => e,
    shouldRetry?: (e: CloudError) => boolean,
  ): Promise<T> {
    const policy = this.options.retry ?? defaultRetryPolicy;
    return withRetry((attempt) => op(attempt, { ...budget, retry: attempt > 1 }), {
      clock: this.clock,
      deadline: budget.deadline,
      policy: budget.maxAttempts ? { ...policy, maxAttempts: Math.min(policy.maxAttempts, budget.maxAttempts) } : policy,
      random: this.options.random,
      beforeRetry,
      shouldRetry,
      onRetry: (err, attempt, delayMs) => {
        this.metrics.retries++;
        this.options.onRetry?.({ api, code: err.code, attempt, delayMs });
      },
    }).catch((err: CloudError) => {
      throw decorate(err);
    });
  }

  private limiter(key: string, kind: 'create' | 'describe'): Limiter {
    const rate = kind === 'create' ? (this.options.rateLimits?.create ?? 10) : (this.options.rateLimits?.describe ?? 100);
    const burst = burstCalls(rate, this.options.rateLimits?.burst ?? DEFAULT_BURST_SHARE);
    const l = this.limiters.get(key) ?? (this.options.limiters ? this.options.limiters(key, rate, burst) : new RateLimiter(rate, this.clock, burst));
    this.limiters.set(key, l);
    return l;
  }

  private transport(ref: Cluster, product?: ReadProduct): OpenApiTransport {
    const endpoint = product
      ? this.endpoints[product].replace('{region}', ref.provider === 'ack' ? ref.regionId : '')
      : ref.provider === 'ens'
        ? this.endpoints.ens
        : this.endpoints.ack.replace('{region}', ref.regionId);
    let t = this.transports.get(endpoint);
    if (!t) {
      t = new OpenApiTransport(endpoint, this.options.credentials, this.options.timeouts ?? defaultTimeouts);
      this.transports.set(endpoint, t);
    }
    return t;
  }
}
