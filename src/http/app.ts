/**
 * The HTTP API: submit, status, list, health. Every answer is JSON; every error is an
 * RFC 9457 problem; nothing reaches the cloud unless the body validated.
 */
import { REQUEST_ID_PATTERN } from '../requests/ids.js';
import { REQUEST_STATES, type RequestState } from '../requests/model.js';
import type { Issue } from '../requests/schema.js';
import { parseSubmission, ValidationError } from '../requests/validate.js';
import { acceptSubmission, dispatchCreation } from '../pipeline/submit.js';
import type { Services } from '../pipeline/services.js';
import { bearerAuthenticator, type Authenticate } from './auth.js';
import { problems } from './problem.js';
import { json, type HttpRequest, type HttpResponse } from './types.js';
import { requestView, submitView } from './views.js';

const COLLECTION = '/v1/nodepool-requests';
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface ApiApp {
  handle(req: HttpRequest, services: Services): Promise<HttpResponse>;
}

export function createApiApp(options: { tokens: string[] }): ApiApp {
  const authenticate = bearerAuthenticator(options.tokens);
  return {
    async handle(req, services) {
      try {
        return await route(req, services, authenticate);
      } catch (err) {
        services.log.error('request failed', { error: err, method: req.method, path: req.path });
        if ((err as Error)?.name === 'StoreUnavailableError' || isConnectionError(err)) return problems.unavailable('the store cannot be reached; try again');
        return problems.internal(req.requestId);
      }
    },
  };
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001'].includes(code);
}

async function route(req: HttpRequest, services: Services, authenticate: Authenticate): Promise<HttpResponse> {
  const path = req.path.replace(/\/+$/, '') || '/';
  if (path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return problems.methodNotAllowed(['GET']);
    return health(services);
  }
  const isCollection = path === COLLECTION;
  const item = path.startsWith(`${COLLECTION}/`) ? path.slice(COLLECTION.length + 1) : undefined;
  if (!isCollection && (item === undefined || item.includes('/'))) return problems.notFound(`no route ${req.method} ${req.path}`);

  const auth = authenticate(req.headers.authorization);
  if (!auth.ok) return problems.unauthorized(auth.reason);

  if (isCollection) {
    if (req.method === 'POST') return submit(req, services);
    if (req.method === 'GET') return list(req, services);
    return problems.methodNotAllowed(['GET', 'POST']);
  }
  if (req.method !== 'GET') return problems.methodNotAllowed(['GET']);
  return get(item!, services);
}

async function health(services: Services): Promise<HttpResponse> {
  try {
    await services.store.db.query('SELECT 1');
    return json(200, { status: 'ok', store: services.store.db.kind });
  } catch {
    return problems.unavailable('the store cannot be reached');
  }
}

async function submit(req: HttpRequest, services: Services): Promise<HttpResponse> {
  const limit = services.config.maxBodyBytes;
  if (req.body.length > limit) return problems.tooLarge(limit);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return problems.unsupportedMediaType(type);
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    return problems.malformedJson((err as Error).message);
  }
  const key = req.headers['idempotency-key'];
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    return problems.validation([{ path: 'header.Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters without spaces' }]);
  }
  let submission;
  try {
    submission = parseSubmission(body, 'http');
  } catch (err) {
    if (err instanceof ValidationError) return problems.validation(err.errors);
    throw err;
  }
  const outcome = await acceptSubmission(services, submission, { source: 'http', idempotencyKey: key, body });
  const base = services.config.publicBaseUrl;
  switch (outcome.kind) {
    case 'created':
      services.log.info('accepted', { nodepoolRequestId: outcome.request.id, provider: outcome.request.provider, clusterId: outcome.request.clusterId, nodepoolName: outcome.request.nodepoolName });
      await dispatchCreation(services, outcome.request);
      return json(202, submitView(outcome.request, base), { location: submitView(outcome.request, base).links.self });
    case 'replayed':
      return json(202, submitView(outcome.request, base), { location: submitView(outcome.request, base).links.self, 'idempotent-replayed': 'true' });
    case 'key-conflict':
      return problems.conflict('idempotency-key-reused', `Idempotency-Key was already used for request ${outcome.request.id} with a different body`, {
        existingId: outcome.request.id,
        links: { existing: submitView(outcome.request, base).links.self },
      });
    case 'pool-conflict':
      return problems.conflict('live-request-exists', `request ${outcome.request.id} is already ${outcome.request.state} for node pool ${outcome.request.nodepoolName} in cluster ${outcome.request.clusterId}`, {
        existingId: outcome.request.id,
        links: { existing: submitView(outcome.request, base).links.self },
      });
  }
}

async function get(id: string, services: Services): Promise<HttpResponse> {
  if (!REQUEST_ID_PATTERN.test(id)) return problems.notFound(`no request ${id}`);
  const r = await services.store.get(id);
  if (!r) return problems.notFound(`no request ${id}`);
  return json(200, requestView(r, await services.store.history(id), services.config.publicBaseUrl));
}

async function list(req: HttpRequest, services: Services): Promise<HttpResponse> {
  const errors: Issue[] = [];
  const allowed = ['state', 'clusterId', 'limit', 'cursor'];
  for (const k of Object.keys(req.query)) if (!allowed.includes(k)) errors.push({ path: `query.${k}`, message: `is not a known parameter (${allowed.join(', ')})` });
  const { state, clusterId, cursor } = req.query;
  if (state !== undefined && !REQUEST_STATES.includes(state as RequestState)) errors.push({ path: 'query.state', message: `must be one of: ${REQUEST_STATES.join(', ')}` });
  if (clusterId !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(clusterId)) errors.push({ path: 'query.clusterId', message: 'must be a cluster ID' });
  if (cursor !== undefined && !REQUEST_ID_PATTERN.test(cursor)) errors.push({ path: 'query.cursor', message: 'must be the nextCursor of a previous page' });
  let limit = 20;
  if (req.query.limit !== undefined) {
    limit = Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) errors.push({ path: 'query.limit', message: 'must be an integer from 1 to 100' });
  }
  if (errors.length) return problems.validation(errors);
  const page = await services.store.list({ state: state as RequestState | undefined, clusterId, cursor, limit });
  return json(200, {
    items: page.items.map((r) => requestView(r, undefined, services.config.publicBaseUrl)),
    nextCursor: page.nextCursor ?? null,
  });
}
