/**
 * The emulator's admin API under /_sandbox/: a route table of (method, path pattern,
 * handler). JSON in and out, no signature. A handler's Error becomes a 400 with its message.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { clusterKey, clusterOf } from '../src/cloud/cluster.js';
import { redact } from '../src/redact.js';
import type { StsCredentials } from './auth.js';
import type { CallFault, FaultPlan, FlowControl, LatencyFault } from './faults.js';
import { unhandledRejections } from './guard.js';
import type { ScenarioCluster } from './scenario.js';
import type { CallRecord } from './steps.js';
import type { Cluster, ClusterFaults, World } from './world.js';

/** What the admin API works on: the emulator (cloud-emulator.ts), seen from here. */
interface CloudEmulator {
  readonly world: World;
  readonly faults: FaultPlan;
  readonly flow: FlowControl;
  readonly clock: { now(): number; offset: number };
  queueSink?: (queue: string, body: Buffer) => { messageId: string };
  callLog(filter?: { action?: string; product?: string; clusterId?: string; outcome?: string; since?: number }): CallRecord[];
  clearCallLog(): void;
  reset(options?: { seedData?: boolean }): void;
  addCluster(c: ScenarioCluster): Cluster;
  issueSts(role?: string): StsCredentials;
}

/** MNS MaximumMessageSize: 1,024 to 65,536 bytes, 65,536 by default (Alibaba Cloud MNS limits). */
const MAX_QUEUE_MESSAGE_BYTES = 65_536;

interface AdminInput {
  /** Path parameters by name (`:id` in the pattern). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body as JSON (an object), for every route but the queue's. */
  input: Record<string, unknown>;
  raw: Buffer;
}

interface AdminRoute {
  method: string;
  /** Segments after /_sandbox/; `:name` matches any one segment. */
  path: string;
  /** The body is not JSON: a queue message is any text. */
  rawBody?: boolean;
  run: (emu: CloudEmulator, req: AdminInput) => { status?: number; body: unknown };
}

const ROUTES: AdminRoute[] = [
  { method: 'GET', path: 'state', run: (emu) => ({ body: snapshot(emu) }) },
  {
    method: 'POST',
    path: 'queues/:queue/messages',
    rawBody: true,
    run: (emu, { params, raw }) => {
      if (!emu.queueSink) return { status: 503, body: { error: 'no function consumes sandbox queues: start the whole system with npm start' } };
      if (raw.length === 0) return { status: 400, body: { error: 'the message body is empty' } };
      if (raw.length > MAX_QUEUE_MESSAGE_BYTES)
        return { status: 413, body: { error: `the message is ${raw.length} bytes; a queue message is at most ${MAX_QUEUE_MESSAGE_BYTES} bytes` } };
      const { messageId } = emu.queueSink(params.queue!, raw);
      return { status: 201, body: { MessageId: messageId, MessageBodyMD5: createHash('md5').update(raw).digest('hex').toUpperCase() } };
    },
  },
  {
    method: 'GET',
    path: 'calls',
    run: (emu, { query }) => {
      const since = query.get('since');
      const filter = { action: query.get('action'), product: query.get('product'), clusterId: query.get('clusterId'), outcome: query.get('outcome') };
      return {
        body: { calls: emu.callLog({ ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== null)), since: since ? Number(since) : undefined }) },
      };
    },
  },
  {
    method: 'DELETE',
    path: 'calls',
    run: (emu) => {
      emu.clearCallLog();
      return { body: { cleared: true } };
    },
  },
  {
    method: 'POST',
    path: 'reset',
    run: (emu, { input }) => {
      emu.reset({ seedData: input.seedData !== false });
      return { body: snapshot(emu) };
    },
  },
  {
    method: 'POST',
    path: 'vswitches',
    run: (emu, { input }) => {
      if (input.provider !== 'ens' && input.provider !== 'ack') throw new Error('provider must be "ens" or "ack"');
      if (typeof input.id !== 'string' || !/^vsw-[a-z0-9]{1,40}$/.test(input.id)) throw new Error('id must be a vSwitch id such as vsw-abc123');
      if (typeof input.regionId !== 'string' || !input.regionId) throw new Error('regionId is required');
      if (input.zoneId !== undefined && typeof input.zoneId !== 'string') throw new Error('zoneId must be a string');
      const { provider, id, regionId, zoneId } = input as { provider: 'ens' | 'ack'; id: string; regionId: string; zoneId?: string };
      return { status: 201, body: emu.world.catalog.addVSwitch({ provider, id, regionId, zoneId }) };
    },
  },
  {
    method: 'PUT',
    path: 'offers/:provider/:region',
    run: (emu, { params, input }) => {
      if (params.provider !== 'ens' && params.provider !== 'ack') throw new Error('provider must be "ens" or "ack"');
      const list = (k: string) => {
        const v = input[k];
        if (v === undefined) return undefined;
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${k} must be an array of strings`);
        return v as string[];
      };
      const offers = { instanceTypes: list('instanceTypes'), diskCategories: list('diskCategories') };
      const given = Object.fromEntries(Object.entries(offers).filter(([, v]) => v !== undefined));
      return { body: emu.world.catalog.setOffers(params.provider, params.region!, given) };
    },
  },
  {
    method: 'POST',
    path: 'clusters',
    run: (emu, { input }) => {
      if (input.provider !== 'ens' && input.provider !== 'ack') throw new Error('provider must be "ens" or "ack"');
      return { status: 201, body: clusterView(emu, emu.addCluster(input as unknown as ScenarioCluster)) };
    },
  },
  {
    method: 'PATCH',
    path: 'clusters/:id',
    run: (emu, { params, input }) => {
      const cluster = emu.world.clusters.get(params.id!);
      if (!cluster) throw new Error(`no cluster ${params.id}`);
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
      if (input.state !== undefined) {
        if (typeof input.state !== 'string' || !/^[a-z_]{1,32}$/.test(input.state)) throw new Error('state must be a word such as "running" or "updating"');
        cluster.state = input.state;
      }
      return { body: clusterView(emu, cluster) };
    },
  },
  {
    method: 'PATCH',
    path: 'clusters/:id/nodepools/:pool',
    run: (emu, { params, input }) => {
      const pool = [...emu.world.pools.values()].find((p) => p.clusterId === params.id && (p.id === params.pool || p.name === params.pool));
      if (!pool) throw new Error(`no node pool ${params.pool} in cluster ${params.id}`);
      emu.world.setPoolFaults(pool, checkPoolFaults(input.faults));
      return { body: poolView(emu, pool.id) };
    },
  },
  {
    method: 'PATCH',
    path: 'nodepools/:pool',
    run: (emu, { params, input }) => {
      const pool = emu.world.pools.get(params.pool!);
      if (!pool) throw new Error(`no node pool ${params.pool}`);
      emu.world.setPoolFaults(pool, checkPoolFaults(input.faults));
      return { body: poolView(emu, pool.id) };
    },
  },
  { method: 'GET', path: 'faults', run: (emu) => ({ body: faultView(emu) }) },
  {
    method: 'DELETE',
    path: 'faults',
    run: (emu) => {
      emu.faults.clear();
      return { body: faultView(emu) };
    },
  },
  { method: 'POST', path: 'faults', run: (emu, { input }) => addFaults(emu, input, false) },
  { method: 'PUT', path: 'faults', run: (emu, { input }) => addFaults(emu, input, true) },
  {
    method: 'PUT',
    path: 'rate-limits',
    run: (emu, { input }) => {
      for (const [k, v] of Object.entries(input)) {
        if (typeof v !== 'number' || v < 0) throw new Error(`rate limit ${k} must be a non-negative number`);
        emu.flow.limits[k] = v;
      }
      return { body: emu.flow.limits };
    },
  },
  {
    method: 'PUT',
    path: 'timing',
    run: (emu, { input }) => {
      Object.assign(emu.world.timing, input);
      return { body: emu.world.timing };
    },
  },
  {
    method: 'POST',
    path: 'time',
    run: (emu, { input }) => {
      const advance = Number(input.advanceMs ?? 0);
      if (!Number.isFinite(advance) || advance < 0) throw new Error('advanceMs must be a non-negative number');
      emu.clock.offset += advance;
      return { body: { now: new Date(emu.clock.now()).toISOString(), offsetMs: emu.clock.offset } };
    },
  },
  { method: 'POST', path: 'sts', run: (emu, { input }) => ({ status: 201, body: emu.issueSts(typeof input.role === 'string' ? input.role : undefined) }) },
];

function match(route: AdminRoute, method: string, parts: string[]): Record<string, string> | undefined {
  const pattern = route.path.split('/');
  if (route.method !== method || pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) {
      if (!parts[i]) return undefined;
      params[p.slice(1)] = parts[i]!;
    } else if (p !== parts[i]) return undefined;
  }
  return params;
}

/** Answers one admin request: `parts` are the decoded segments after /_sandbox/. */
export function admin(emu: CloudEmulator, req: Pick<IncomingMessage, 'method'>, url: URL, parts: string[], raw: Buffer): { status: number; body: unknown } {
  const method = (req.method ?? 'GET').toUpperCase();
  for (const route of ROUTES) {
    const params = match(route, method, parts);
    if (!params) continue;
    let input: Record<string, unknown> = {};
    if (raw.length && !route.rawBody) {
      try {
        input = JSON.parse(raw.toString('utf8'));
      } catch {
        return { status: 400, body: { error: 'the body must be JSON' } };
      }
      if (!input || typeof input !== 'object' || Array.isArray(input)) return { status: 400, body: { error: 'the body must be a JSON object' } };
    }
    try {
      const out = route.run(emu, { params, query: url.searchParams, input, raw });
      return { status: out.status ?? 200, body: out.body };
    } catch (err) {
      return { status: 400, body: { error: (err as Error).message } };
    }
  }
  return { status: 404, body: { error: `no admin endpoint ${method} ${url.pathname}` } };
}

function addFaults(emu: CloudEmulator, input: Record<string, unknown>, replace: boolean): { body: unknown } {
  const calls = (input.calls ?? []) as CallFault[];
  for (const f of calls) {
    if (!['5xx', 'throttling', 'timeout'].includes(f.kind)) throw new Error('calls[].kind must be "5xx", "throttling" or "timeout"');
    if (f.rate !== undefined && (typeof f.rate !== 'number' || f.rate < 0 || f.rate > 1)) throw new Error('calls[].rate must be from 0 to 1');
  }
  if (replace) emu.faults.clear();
  emu.faults.calls.push(...calls.map((f) => ({ ...f })));
  emu.faults.latency.push(...((input.latency ?? []) as LatencyFault[]));
  if (typeof input.duplicateDelivery === 'number') emu.faults.duplicateDelivery = input.duplicateDelivery;
  if (typeof input.seed === 'number') emu.faults.reseed(input.seed);
  return { body: faultView(emu) };
}

type PoolFaultsInput = Parameters<World['setPoolFaults']>[1];

function checkPoolFaults(raw: unknown): PoolFaultsInput {
  if (!raw || typeof raw !== 'object') throw new Error('faults must be an object');
  const f = raw as Record<string, unknown>;
  const allowed = ['failedNodes', 'offlineNodes', 'stuck', 'deleted', 'creationFails', 'operationFails', 'operationFailedNodes'];
  for (const k of Object.keys(f)) if (!allowed.includes(k)) throw new Error(`unknown pool fault ${k}; allowed: ${allowed.join(', ')}`);
  for (const k of ['creationFails', 'operationFails']) {
    const e = f[k] as { code?: unknown; message?: unknown } | undefined | null;
    if (e !== undefined && e !== null && (typeof e !== 'object' || typeof e.code !== 'string' || typeof e.message !== 'string'))
      throw new Error(`${k} must be {"code": "...", "message": "..."} or null`);
  }
  for (const k of ['failedNodes', 'offlineNodes', 'operationFailedNodes']) {
    if (f[k] !== undefined && (typeof f[k] !== 'number' || !Number.isInteger(f[k]) || (f[k] as number) < 0))
      throw new Error(`${k} must be a non-negative integer`);
  }
  if (f.stuck !== undefined && f.stuck !== null && !['scaling', 'removing', 'updating'].includes(f.stuck as string)) {
    throw new Error('stuck must be "scaling", "removing", "updating" or null');
  }
  return f as PoolFaultsInput;
}

function clusterView(emu: CloudEmulator, c: Cluster): unknown {
  // `key` is the system's own identity for the cluster (src/cloud/cluster.ts), as its alerts and store use it.
  const key = clusterKey(clusterOf({ provider: c.provider, clusterId: c.id, regionId: c.regionId }));
  return { key, ...c, createdAt: new Date(c.createdAt).toISOString(), pools: emu.world.listedPools(c.id).map((p) => poolView(emu, p.id)) };
}

function poolView(emu: CloudEmulator, id: string): unknown {
  const p = emu.world.pools.get(id)!;
  const { spec, createdAt, ...rest } = p;
  return { ...rest, createdAt: new Date(createdAt).toISOString(), status: emu.world.status(p), spec: redact(spec) };
}

function faultView(emu: CloudEmulator): unknown {
  return { calls: emu.faults.calls, latency: emu.faults.latency, duplicateDelivery: emu.faults.duplicateDelivery };
}

/** Everything the emulator holds: clusters and pools with their status and faults, tasks, faults, limits, timing. */
function snapshot(emu: CloudEmulator): unknown {
  return {
    now: new Date(emu.clock.now()).toISOString(),
    clusters: [...emu.world.clusters.values()].map((c) => ({
      ...(clusterView(emu, c) as object),
      pools: [...emu.world.pools.values()].filter((p) => p.clusterId === c.id).map((p) => poolView(emu, p.id)),
    })),
    tasks: [...emu.world.tasks.values()].map((t) => ({ ...t, createdAt: new Date(t.createdAt).toISOString(), ...emu.world.taskView(t) })),
    faults: faultView(emu),
    rateLimits: emu.flow.limits,
    timing: emu.world.timing,
    catalog: emu.world.catalog.view(),
    calls: emu.callLog().length,
    // Rejections the process guard caught instead of dying (npm start / npm run sandbox).
    unhandledRejections: unhandledRejections(),
  };
}
