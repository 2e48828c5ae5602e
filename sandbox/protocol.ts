/**
 * The emulator's first step: what kind of call a request is. RPC (ENS: `/` with
 * Action/Version in the query, the form or the ACS3 headers), ROA (ACK: resource paths), or
 * FC InvokeFunction (3.0 or 2.0 paths). The answer names the product, the action, the
 * cluster it is about, what the call log shows of its parameters (secrets masked), and the
 * handler that carries it out. Handlers are found in the products' dispatch tables
 * (`ensActions` in ens.ts, `routeAck` in ack.ts): adding an action touches only those.
 */
import { redact } from '../src/redact.js';
import { ACK_VERSION, routeAck } from './ack.js';
import type { RawRequest } from './auth.js';
import type { RoaContext, RpcContext } from './context.js';
import { ENS_VERSION, ensActions } from './ens.js';
import { ensOperationActions } from './ens-operations.js';
import { errors } from './errors.js';
import { ECS_VERSION, ecsActions, ensRegionActions, VPC_VERSION, vpcActions } from './region-calls.js';
import type { World } from './world.js';

type Style = 'rpc' | 'roa' | 'fc2' | 'fc3';
type Product = 'ens' | 'vpc' | 'ecs' | 'ack' | 'fc' | 'unknown';

/** The RPC products the emulator answers, by API version, with their actions. */
const RPC_PRODUCTS: Record<string, { name: Product; actions: Record<string, (ctx: RpcContext) => unknown> }> = {
  [ENS_VERSION]: { name: 'ens', actions: { ...ensActions, ...ensOperationActions, ...ensRegionActions } },
  [VPC_VERSION]: { name: 'vpc', actions: vpcActions },
  [ECS_VERSION]: { name: 'ecs', actions: ecsActions },
};

/** What a function host is handed for one FC InvokeFunction call. */
export interface FcInvocation {
  functionName: string;
  qualifier?: string;
  invocationType: 'Sync' | 'Async';
  body: Buffer;
  headers: Record<string, string>;
  requestId: string;
}

type Handler = { kind: 'api'; run: () => unknown } | { kind: 'fc'; invocation: FcInvocation };

export interface Call {
  requestId: string;
  raw: RawRequest;
  style: Style;
  product: Product;
  action: string;
  clusterId?: string;
  /** The parameters as the call log shows them, secrets masked. */
  params: unknown;
  handler: Handler;
}

const RPC_PROTOCOL_PARAMS = new Set([
  'Action',
  'Version',
  'Format',
  'Timestamp',
  'SignatureNonce',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureType',
  'AccessKeyId',
  'Signature',
  'SecurityToken',
  'RegionId',
]);
const INVALID_JSON = Symbol.for('invalid-json');

const fail = (err: Error): Handler => ({
  kind: 'api',
  run: () => {
    throw err;
  },
});

export function classify(raw: RawRequest, world: World, requestId: string): Call {
  const header = (name: string) => {
    const v = raw.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  if (raw.pathname === '/') {
    const action = header('x-acs-action') ?? raw.query.Action ?? raw.form.Action ?? '';
    const version = header('x-acs-version') ?? raw.query.Version ?? raw.form.Version ?? '';
    const product = RPC_PRODUCTS[version];
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...raw.query, ...raw.form })) {
      // ENS takes no region (its calls name ENS regions in their own parameters); VPC and ECS do.
      if (!RPC_PROTOCOL_PARAMS.has(k) || (k === 'RegionId' && product && product.name !== 'ens')) params[k] = v;
    }
    const run = product?.actions[action];
    const handler: Handler = !product
      ? fail(errors.unsupportedVersion(version))
      : !run
        ? fail(errors.notImplemented(`the ${product.name.toUpperCase()} action ${action || '(none)'}`))
        : { kind: 'api', run: () => run({ world, requestId, params }) };
    return {
      requestId,
      raw,
      style: 'rpc',
      product: product?.name ?? 'ens',
      action: action || 'Unknown',
      clusterId: params.ClusterId,
      params: redact(parseJsonValues(params)),
      handler,
    };
  }

  const segments = raw.pathname.split('/').slice(1).map(safeDecode);
  const fc3 = segments[0] === '2023-03-30' && segments[1] === 'functions' && segments[3] === 'invocations' && segments.length === 4;
  const fc2 =
    segments[0] === '2016-08-15' && segments[1] === 'services' && segments[3] === 'functions' && segments[5] === 'invocations' && segments.length === 6;
  if ((fc3 || fc2) && raw.method === 'POST') {
    const functionName = (fc3 ? segments[2] : segments[4]) ?? '';
    const invocationType = (header('x-fc-invocation-type') ?? 'Sync') === 'Async' ? 'Async' : 'Sync';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.headers)) if (typeof v === 'string') headers[k] = v;
    return {
      requestId,
      raw,
      style: fc2 ? 'fc2' : 'fc3',
      product: 'fc',
      action: 'InvokeFunction',
      params: { functionName, invocationType, qualifier: raw.query.qualifier },
      handler: { kind: 'fc', invocation: { functionName, qualifier: raw.query.qualifier, invocationType, body: raw.body, headers, requestId } },
    };
  }

  let body: unknown;
  if (raw.body.length && String(raw.headers['content-type'] ?? '').includes('json')) {
    try {
      body = JSON.parse(raw.body.toString('utf8'));
    } catch {
      body = INVALID_JSON;
    }
  }
  const ctx: RoaContext = { world, requestId, method: raw.method, segments, query: raw.query, body };
  const route = routeAck(ctx);
  if (!route)
    return {
      requestId,
      raw,
      style: 'roa',
      product: 'ack',
      action: 'Unknown',
      params: {},
      handler: fail(errors.notImplemented(`${raw.method} ${raw.pathname}`)),
    };
  const version = header('x-acs-version');
  const handler: Handler =
    version && version !== ACK_VERSION
      ? fail(errors.unsupportedVersion(version))
      : body === INVALID_JSON
        ? fail(errors.ackInvalidParameter('request body is not valid JSON'))
        : { kind: 'api', run: route.run };
  return {
    requestId,
    raw,
    style: 'roa',
    product: 'ack',
    action: route.action,
    clusterId: route.clusterId,
    params: redact({ path: raw.pathname, query: raw.query, body }),
    handler,
  };
}

/** RPC parameters that hold JSON (nested objects, as the SDKs send them), parsed for the call log. */
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

export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
