/**
 * The emulator's steps, in the order a real gateway and service apply them: authenticate,
 * an unreachable cluster, flow control, injected faults, injected latency, then the action.
 * A step refuses a call by throwing an ApiError, holds it (a timeout) by returning `hold`,
 * or lets it pass. Each writes what it decided into the call's log record.
 */

import type { Authenticator } from './auth.js';
import { ApiError, errors } from './errors.js';
import type { CallFault, FaultPlan, FlowControl } from './faults.js';
import type { Call, FcInvocation } from './protocol.js';
import type { World } from './world.js';

/** One entry of the call log. */
export interface CallRecord {
  seq: number;
  at: string;
  product: Call['product'];
  action: string;
  method: string;
  path: string;
  clusterId?: string;
  principal?: string;
  signature?: 'ACS3-HMAC-SHA256' | 'RPC-HMAC-SHA1' | 'ROA-HMAC-SHA1' | 'FC-HMAC-SHA256';
  status: number;
  /** `OK`, or the error code answered. */
  outcome: string;
  requestId: string;
  /** Which injected fault shaped the answer, if any. */
  fault?: string;
  durationMs: number;
  params: unknown;
}

/** What hosts the functions that FC InvokeFunction calls (the local FC host). */
export type FcInvoker = (input: FcInvocation) => Promise<{ status: number; body: Buffer | string; headers?: Record<string, string> }>;

export interface StepContext {
  world: World;
  auth: Authenticator;
  flow: FlowControl;
  faults: FaultPlan;
  fcInvoker?: FcInvoker;
  /** FC async task ids already taken (x-fc-async-task-id). */
  fcTaskIds: Set<string>;
}

export type Answer =
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'raw'; status: number; body: Buffer | string; headers?: Record<string, string> }
  /** Keep the connection open without answering, then drop it (a timeout). */
  | { kind: 'hold' };

type Step = (call: Call, record: CallRecord, ctx: StepContext, state: { fault?: CallFault }) => Promise<Answer | undefined> | Answer | undefined;

const authenticate: Step = (call, record, ctx) => {
  const principal = ctx.auth.authenticate(call.raw);
  record.principal = principal.id;
  record.signature = principal.via;
  return undefined;
};

const unreachableCluster: Step = (call, record, ctx) => {
  const cluster = call.clusterId ? ctx.world.clusters.get(call.clusterId) : undefined;
  if (!cluster?.faults.unreachable) return undefined;
  record.fault = `unreachable:${cluster.faults.unreachable}`;
  if (cluster.faults.unreachable === 'timeout') return { kind: 'hold' };
  throw errors.serviceUnavailable();
};

const flowControl: Step = (call, record, ctx) => {
  if (ctx.flow.take(record.principal ?? '', `${call.product}:${call.action}`, call.action)) return undefined;
  record.fault = 'flow-control';
  throw errors.throttlingUser();
};

const injectedFault: Step = (call, record, ctx, state) => {
  const fault = ctx.faults.pick(call.action, call.clusterId);
  if (!fault) return undefined;
  state.fault = fault;
  record.fault = fault.kind + (fault.phase === 'after' ? ':after' : '');
  if (fault.kind === 'throttling') throw errors.throttlingUser();
  if (fault.kind === '5xx') {
    const status = fault.status ?? 503;
    throw status === 503
      ? errors.serviceUnavailable()
      : new ApiError(status, status === 500 ? 'InternalError' : 'ServiceUnavailable', errors.internalError().message);
  }
  if (fault.kind === 'timeout' && fault.phase !== 'after') return { kind: 'hold' };
  return undefined;
};

const injectedLatency: Step = async (call, _record, ctx) => {
  const ms = ctx.faults.latencyFor(call.action);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  return undefined;
};

const carryOut: Step = async (call, record, ctx, state) => {
  if (call.handler.kind === 'fc') {
    if (!ctx.fcInvoker) throw errors.notImplemented('FC InvokeFunction without a function host');
    const taskId = call.handler.invocation.headers['x-fc-async-task-id'];
    if (taskId && call.handler.invocation.invocationType === 'Async') {
      if (ctx.fcTaskIds.has(taskId)) throw errors.fcTaskExists(taskId);
      ctx.fcTaskIds.add(taskId);
    }
    const out = await ctx.fcInvoker(call.handler.invocation);
    record.status = out.status;
    const hasBody = out.body.length > 0;
    return {
      kind: 'raw',
      status: out.status,
      body: out.body,
      headers: { 'x-fc-request-id': call.requestId, ...(hasBody ? { 'content-type': 'application/json' } : {}), ...out.headers },
    };
  }
  const result = call.handler.run();
  // A timeout after the work: it was done, but no answer says so.
  if (state.fault?.kind === 'timeout') return { kind: 'hold' };
  record.status = 200;
  return { kind: 'json', status: 200, body: result };
};

const STEPS: readonly Step[] = [authenticate, unreachableCluster, flowControl, injectedFault, injectedLatency, carryOut];

/** Runs the steps in order until one answers; errors thrown by a step come out as they are. */
export async function runSteps(call: Call, record: CallRecord, ctx: StepContext): Promise<Answer> {
  const state: { fault?: CallFault } = {};
  for (const step of STEPS) {
    const answer = await step(call, record, ctx, state);
    if (answer) return answer;
  }
  throw new Error('no step answered');
}
