/**
 * The HTTP API: submit, status, list, health, alerts, silences, and the fleet (fleet.ts). Every answer is JSON; every error is an
 * RFC 9457 problem; nothing reaches the cloud unless the body validated.
 */
import { parseSilence, silenceMatches } from '../alerts/silence.js';
import type { ApiToken } from '../config.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonWithin } from '../json.js';
import type { Services } from '../pipeline/services.js';
import { acceptSubmission, dispatchCreation } from '../pipeline/submit.js';
import { REQUEST_ID_PATTERN } from '../requests/ids.js';
import type { Submission } from '../requests/model.js';
import type { Issue } from '../requests/schema.js';
import { REQUEST_STATES, type RequestState } from '../requests/state.js';
import { parseSubmission, ValidationError } from '../requests/validate.js';
import { StoreRejectedError, StoreUnavailableError } from '../store/errors.js';
import { type Authenticate, bearerAuthenticator, type Caller, isWrite } from './auth.js';
import { consoleRoute } from './console.js';
import { dryRunAnswer } from './dry-run.js';
import { CLUSTERS, fleetRoute } from './fleet.js';
import { metricsResponse } from './metrics.js';
import { openapiResponse } from './openapi.js';
import { problems } from './problem.js';
import { type HttpRequest, type HttpResponse, json } from './types.js';
import { alertView, requestView, silenceView, submitView } from './views.js';

const COLLECTION = '/v1/nodepool-requests';
const SILENCES = '/v1/silences';
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface ApiApp {
  handle(req: HttpRequest, services: Services): Promise<HttpResponse>;
}

export function createApiApp(options: { tokens: ApiToken[] }): ApiApp {
  const authenticate = bearerAuthenticator(options.tokens);
  return {
    async handle(req, services) {
      try {
        return await route(req, services, authenticate);
      } catch (err) {
        services.log.error('request failed', { error: err, method: req.method, path: req.path });
        if (err instanceof StoreUnavailableError) return problems.unavailable('the store cannot be reached; try again');
        // Validation lets nothing the store refuses through; should something slip by, it is still the client's value.
        if (err instanceof StoreRejectedError)
          return problems.validation([{ path: '', message: 'holds a value the store cannot keep (a NUL character or invalid Unicode)' }]);
        return problems.internal(req.requestId);
      }
    },
  };
}

async function route(req: HttpRequest, services: Services, authenticate: Authenticate): Promise<HttpResponse> {
  const path = req.path.replace(/\/+$/, '') || '/';
  if (path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return problems.methodNotAllowed(['GET']);
    return health(services);
  }
  // The console's page and script hold no data: they need no token (the views ask the API with one).
  const page = consoleRoute(path, req.method);
  if (page) return page;
  // The API's description needs no token, as a health check does not.
  if (path === '/v1/openapi.json') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return problems.methodNotAllowed(['GET']);
    return openapiResponse();
  }
  const known =
    path === COLLECTION ||
    path.startsWith(`${COLLECTION}/`) ||
    path === '/v1/alerts' ||
    path === SILENCES ||
    path.startsWith(`${SILENCES}/`) ||
    path === CLUSTERS ||
    path.startsWith(`${CLUSTERS}/`) ||
    path === '/metrics';
  if (!known) return problems.notFound(`no route ${req.method} ${req.path}`);

  const auth = authenticate(req.headers.authorization);
  if (!auth.ok) return problems.unauthorized(auth.reason);
  const caller = auth.caller;
  if (isWrite(req.method) && caller.scope !== 'write') {
    return problems.forbidden(`the token ${caller.name} may read only; ${req.method} ${path} needs a token with the write scope`);
  }

  if (path === '/metrics') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return problems.methodNotAllowed(['GET']);
    return metricsResponse(services);
  }
  const fleet = await fleetRoute(path, req, services);
  if (fleet) return fleet;
  if (path === '/v1/alerts') {
    if (req.method !== 'GET') return problems.methodNotAllowed(['GET']);
    return listAlerts(req, services);
  }
  if (path === SILENCES) {
    if (req.method === 'POST') return createSilence(req, services, caller);
    if (req.method === 'GET') return listSilences(services);
    return problems.methodNotAllowed(['GET', 'POST']);
  }
  if (path.startsWith(`${SILENCES}/`)) {
    const id = path.slice(SILENCES.length + 1);
    if (req.method !== 'DELETE') return problems.methodNotAllowed(['DELETE']);
    return expireSilence(id, services, caller);
  }
  const isCollection = path === COLLECTION;
  const item = isCollection ? undefined : path.slice(COLLECTION.length + 1);
  if (!isCollection && (!item || item.includes('/'))) return problems.notFound(`no route ${req.method} ${req.path}`);

  if (isCollection) {
    if (req.method === 'POST') return submit(req, services, caller);
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

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Why a Content-Type is not JSON in UTF-8, or undefined when it is. */
export function contentTypeProblem(header: string | undefined): string | undefined {
  if (!header) return 'is required: application/json';
  const [type = '', ...params] = header.split(';');
  if (type.trim().toLowerCase() !== 'application/json') return `must be application/json, not ${type.trim() || 'empty'}`;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (charset !== 'utf-8') return `charset must be UTF-8 (or left out), not ${charset || 'empty'}`;
  }
  return undefined;
}

/** Size, media type, encoding and JSON checks every body goes through; a response means the body was refused. */
function readJson(req: HttpRequest, services: Services): { ok: true; body: unknown } | { ok: false; response: HttpResponse } {
  const limit = services.config.maxBodyBytes;
  if (req.body.length > limit) return { ok: false, response: problems.tooLarge(limit) };
  const typeProblem = contentTypeProblem(req.headers['content-type']);
  if (typeProblem) return { ok: false, response: problems.unsupportedMediaType(typeProblem) };
  let text: string;
  try {
    text = UTF8.decode(req.body);
  } catch {
    return { ok: false, response: problems.malformedJson('the body is not valid UTF-8') };
  }
  const parsed = parseJsonWithin(text, { maxBytes: limit, maxDepth: DEFAULT_MAX_JSON_DEPTH });
  if (!parsed.ok) return { ok: false, response: problems.malformedJson(parsed.reason) };
  return { ok: true, body: parsed.value };
}

/** A query parameter that must be a plain decimal integer in [min, max]; undefined when absent. */
function queryInt(req: HttpRequest, name: string, min: number, max: number, errors: Issue[]): number | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  const n = /^[0-9]{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) {
    errors.push({ path: `query.${name}`, message: `must be a whole number from ${min} to ${max}, written in decimal digits` });
    return undefined;
  }
  return n;
}

async function submit(req: HttpRequest, services: Services, caller: Caller): Promise<HttpResponse> {
  const read = readJson(req, services);
  if (!read.ok) return read.response;
  const body = read.body;
  const key = req.headers['idempotency-key'];
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    return problems.validation([{ path: 'header.Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters without spaces' }]);
  }
  const dryRun = req.query.dryRun;
  const unknownQuery = Object.keys(req.query).filter((k) => k !== 'dryRun');
  if (unknownQuery.length || (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false')) {
    return problems.validation([
      ...unknownQuery.map((k) => ({ path: `query.${k}`, message: 'is not a known parameter (dryRun)' })),
      ...(dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false' ? [{ path: 'query.dryRun', message: 'must be true or false' }] : []),
    ]);
  }
  let submission: Submission;
  try {
    submission = parseSubmission(body, 'http');
  } catch (err) {
    if (err instanceof ValidationError) return problems.validation(err.errors);
    throw err;
  }
  // Nothing stored, nothing changed: the checks and the exact call.
  if (dryRun === 'true' || (body as { dryRun?: unknown }).dryRun === true) return dryRunAnswer(services, submission);
  const outcome = await acceptSubmission(services, submission, { source: 'http', idempotencyKey: key, body, createdBy: caller.name });
  const base = services.config.publicBaseUrl;
  switch (outcome.kind) {
    case 'created':
      services.log.info('accepted', {
        nodepoolRequestId: outcome.request.id,
        provider: outcome.request.provider,
        clusterId: outcome.request.clusterId,
        nodepoolName: outcome.request.nodepoolName,
        operation: outcome.request.operation,
        createdBy: caller.name,
      });
      // One stored waiting its ACK cluster's turn is driven when the one ahead ends, not now.
      if (!outcome.waitingFor) await dispatchCreation(services, outcome.request);
      return json(202, submitView(outcome.request, base), { location: submitView(outcome.request, base).links.self });
    case 'replayed':
      return json(202, submitView(outcome.request, base), { location: submitView(outcome.request, base).links.self, 'idempotent-replayed': 'true' });
    case 'key-conflict':
      return problems.conflict('idempotency-key-reused', `Idempotency-Key was already used for request ${outcome.request.id} with a different body`, {
        existingId: outcome.request.id,
        links: { existing: submitView(outcome.request, base).links.self },
      });
    case 'pool-conflict':
      return problems.conflict(
        'live-request-exists',
        `request ${outcome.request.id} is already ${outcome.request.state} for node pool ${outcome.request.nodepoolName} in cluster ${outcome.request.clusterId}`,
        {
          existingId: outcome.request.id,
          links: { existing: submitView(outcome.request, base).links.self },
        },
      );
    case 'name-taken':
      return problems.conflict(
        'nodepool-name-taken',
        `cluster ${submission.clusterId} already has a node pool named ${submission.nodepoolName} (${outcome.nodepoolId}, listed at ${outcome.seenAt.toISOString()})` +
          (outcome.request ? `, created by request ${outcome.request.id}` : ', not created by this system'),
        {
          nodepoolId: outcome.nodepoolId,
          ...(outcome.request ? { existingId: outcome.request.id, links: { existing: submitView(outcome.request, base).links.self } } : {}),
        },
      );
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
  for (const k of Object.keys(req.query))
    if (!allowed.includes(k)) errors.push({ path: `query.${k}`, message: `is not a known parameter (${allowed.join(', ')})` });
  const { state, clusterId, cursor } = req.query;
  if (state !== undefined && !REQUEST_STATES.includes(state as RequestState))
    errors.push({ path: 'query.state', message: `must be one of: ${REQUEST_STATES.join(', ')}` });
  if (clusterId !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(clusterId)) errors.push({ path: 'query.clusterId', message: 'must be a cluster ID' });
  if (cursor !== undefined && !REQUEST_ID_PATTERN.test(cursor)) errors.push({ path: 'query.cursor', message: 'must be the nextCursor of a previous page' });
  const limit = queryInt(req, 'limit', 1, 100, errors) ?? 20;
  if (errors.length) return problems.validation(errors);
  const page = await services.store.list({ state: state as RequestState | undefined, clusterId, cursor, limit });
  return json(200, {
    items: page.items.map((r) => requestView(r, undefined, services.config.publicBaseUrl)),
    nextCursor: page.nextCursor ?? null,
  });
}

async function listAlerts(req: HttpRequest, services: Services): Promise<HttpResponse> {
  const errors: Issue[] = [];
  for (const k of Object.keys(req.query))
    if (!['state', 'limit', 'cursor'].includes(k)) errors.push({ path: `query.${k}`, message: 'is not a known parameter (state, limit, cursor)' });
  const { state, cursor } = req.query;
  if (state !== undefined && state !== 'firing' && state !== 'resolved') errors.push({ path: 'query.state', message: 'must be firing or resolved' });
  const limit = queryInt(req, 'limit', 1, 500, errors) ?? 50;
  if (cursor !== undefined && !/^[1-9][0-9]{0,17}$/.test(cursor)) errors.push({ path: 'query.cursor', message: 'must be the nextCursor of a previous page' });
  if (errors.length) return problems.validation(errors);
  const { alerts } = services;
  const now = new Date(services.clock.now());
  const items = await alerts.listAlerts({ state: state as 'firing' | 'resolved' | undefined, limit, before: cursor ? Number(cursor) : undefined });
  const silences = await alerts.activeSilences(now);
  return json(200, {
    // Inhibition is decided by the sweep that last evaluated the alert.
    items: items.map((a) =>
      alertView(a, {
        silenced: silences.some((s) => silenceMatches(s, a)),
        inhibited: a.state === 'firing' && a.inhibitedBy !== undefined,
        base: services.config.publicBaseUrl,
      }),
    ),
    nextCursor: items.length === limit ? String(items[items.length - 1]!.id) : null,
  });
}

async function createSilence(req: HttpRequest, services: Services, caller: Caller): Promise<HttpResponse> {
  const read = readJson(req, services);
  if (!read.ok) return read.response;
  const now = services.clock.now();
  const parsed = parseSilence(read.body, now, caller.name);
  if (!parsed.ok) return problems.validation(parsed.errors);
  const silence = await services.alerts.createSilence(parsed.silence, new Date(now));
  services.log.info('silence created', { silenceId: silence.id, matchers: silence.matchers, endsAt: silence.endsAt.toISOString(), createdBy: caller.name });
  return json(201, silenceView(silence, now), { location: `${SILENCES}/${silence.id}` });
}

async function listSilences(services: Services): Promise<HttpResponse> {
  const now = services.clock.now();
  return json(200, { items: (await services.alerts.listSilences()).map((s) => silenceView(s, now)) });
}

async function expireSilence(id: string, services: Services, caller: Caller): Promise<HttpResponse> {
  if (!/^sil_[0-9a-f]{20}$/.test(id)) return problems.notFound(`no silence ${id}`);
  const now = services.clock.now();
  const s = await services.alerts.expireSilence(id, new Date(now));
  if (!s) return problems.notFound(`no silence ${id}`);
  services.log.info('silence expired', { silenceId: s.id, expiredBy: caller.name });
  return json(200, silenceView(s, now));
}
