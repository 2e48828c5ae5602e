/**
 * GET /v1/openapi.json: the API as an OpenAPI 3.1 document. Request bodies come from the
 * schemas that validate them (requests/json-schema.ts, silenceBodySchema), so the document
 * cannot drift from the checks; the answers are described here, beside the views that make
 * them, and the API tests check every answer they receive against this document.
 */
import { silenceBodySchema } from '../alerts/silence.js';
import { REQUEST_ID_PATTERN } from '../requests/ids.js';
import { type JsonSchema, toJsonSchema } from '../requests/json-schema.js';
import { OPERATIONS } from '../requests/model.js';
import { REQUEST_STATES } from '../requests/state.js';
import { submissionSchemas } from '../requests/validate.js';
import { type HttpResponse, json } from './types.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (s: JsonSchema): JsonSchema => ({ oneOf: [s, { type: 'null' }] });
const str: JsonSchema = { type: 'string' };
const time: JsonSchema = { type: 'string', format: 'date-time' };
const count: JsonSchema = { type: 'integer', minimum: 0 };
const object = (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  required,
});
const links = (...names: string[]) => object(Object.fromEntries(names.map((n) => [n, str])));

const nodeCounts = {
  desired: count,
  total: count,
  serving: count,
  initial: count,
  failed: nullable(count),
  offline: nullable(count),
};

function schemas(): Record<string, JsonSchema> {
  const { ens, ack, ensScale, ackScale, ensDelete, ackDelete } = submissionSchemas('http');
  const summary = {
    id: { type: 'string', pattern: REQUEST_ID_PATTERN.source },
    operation: { enum: [...OPERATIONS] },
    state: { enum: [...REQUEST_STATES] },
    // Empty only for a queue message rejected before its provider, cluster or pool name could be read.
    provider: { enum: ['ens', 'ack', ''] },
    regionId: str,
    clusterId: str,
    nodepoolName: str,
    links: links('self'),
  };
  const summaryRequired = ['id', 'operation', 'state', 'provider', 'clusterId', 'nodepoolName', 'links'];
  const cloudError = object({ code: str, message: str, requestId: str, existing: { type: 'object' } }, ['code', 'message']);
  return {
    EnsSubmission: toJsonSchema(ens),
    AckSubmission: toJsonSchema(ack),
    EnsScale: toJsonSchema(ensScale),
    AckScale: toJsonSchema(ackScale),
    EnsDelete: toJsonSchema(ensDelete),
    AckDelete: toJsonSchema(ackDelete),
    Submission: {
      description: 'a create (the default operation), a scale or a delete, for ENS or ACK',
      oneOf: ['EnsSubmission', 'AckSubmission', 'EnsScale', 'AckScale', 'EnsDelete', 'AckDelete'].map(ref),
    },
    SilenceInput: silenceBodySchema(),
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details',
      properties: {
        type: str,
        title: str,
        status: { type: 'integer' },
        detail: str,
        errors: { type: 'array', items: object({ path: str, message: str }) },
        existingId: str,
        nodepoolId: str,
        links: { type: 'object' },
      },
      required: ['type', 'title', 'status'],
    },
    Accepted: object(summary, summaryRequired),
    DryRun: object(
      {
        dryRun: { const: true },
        ok: { type: 'boolean', description: 'every check passed or only warned' },
        operation: { enum: [...OPERATIONS] },
        provider: { enum: ['ens', 'ack'] },
        regionId: str,
        clusterId: str,
        nodepoolName: str,
        checks: {
          type: 'array',
          items: object({ name: str, status: { enum: ['passed', 'failed', 'warning', 'error'] }, detail: str, code: str }, ['name', 'status', 'detail']),
        },
        call: nullable(
          object({ action: str, version: str, style: { enum: ['RPC', 'ROA'] }, method: str, pathname: str, query: { type: 'object' }, body: {} }, [
            'action',
            'version',
            'style',
            'method',
            'pathname',
          ]),
        ),
      },
      ['dryRun', 'ok', 'operation', 'provider', 'clusterId', 'nodepoolName', 'checks', 'call'],
    ),
    Request: object(
      {
        ...summary,
        nodepoolId: nullable(str),
        desiredSize: count,
        labels: { type: 'object', additionalProperties: str, description: "the labels the request was sent with, copied onto its pool's alerts" },
        createdBy: { ...nullable(str), description: 'the name of the API token that sent it, or `queue`; null for requests older than named tokens' },
        taskId: str,
        attempts: count,
        deadlineAt: time,
        nextAttemptAt: nullable(time),
        lastError: nullable(cloudError),
        observed: {
          ...nullable(object({ ...nodeCounts, healthy: nullable(count), removing: count, cloudState: str, at: time }, ['cloudState', 'at'])),
          description:
            'the pool as the sweeps last saw it; `at`: when it was first seen so (active and timed-out requests), or the last sweep (creating and applying ones)',
        },
        rejectReasons: { type: 'array', items: object({ path: str, message: str }) },
        source: { enum: ['http', 'queue'] },
        createdAt: time,
        updatedAt: time,
        request: {
          description:
            "the create parameters, secrets masked (a scale's desiredSize, a delete's confirm and force); for a rejected message, whatever JSON it carried there (masked the same way), or null",
        },
        history: { type: 'array', items: object({ at: time, state: str, note: str, cloudRequestId: str }, ['at', 'state', 'note']) },
      },
      [...summaryRequired, 'nodepoolId', 'attempts', 'deadlineAt', 'nextAttemptAt', 'lastError', 'observed', 'source', 'createdAt', 'updatedAt', 'request'],
    ),
    RequestPage: object({ items: { type: 'array', items: ref('Request') }, nextCursor: nullable(str) }),
    Alert: object(
      {
        id: str,
        fingerprint: str,
        rule: str,
        severity: { enum: ['info', 'warning', 'critical'] },
        state: { enum: ['firing', 'resolved'] },
        labels: object({ provider: str, regionId: str, clusterId: str, nodepoolName: str, nodepoolId: str }, ['provider', 'clusterId']),
        annotations: { type: 'object' },
        startsAt: time,
        endsAt: nullable(time),
        lastNotifiedAt: nullable(time),
        silenced: { type: 'boolean' },
        inhibited: { type: 'boolean' },
        requestId: str,
        links: links('request'),
      },
      ['id', 'fingerprint', 'rule', 'severity', 'state', 'labels', 'annotations', 'startsAt', 'endsAt', 'lastNotifiedAt', 'silenced', 'inhibited'],
    ),
    AlertPage: object({ items: { type: 'array', items: ref('Alert') }, nextCursor: nullable(str) }),
    Silence: object(
      {
        id: str,
        state: { enum: ['active', 'pending', 'expired'] },
        matchers: { type: 'object' },
        startsAt: time,
        endsAt: time,
        comment: str,
        createdBy: str,
        createdAt: time,
      },
      ['id', 'state', 'matchers', 'startsAt', 'endsAt', 'createdAt'],
    ),
    SilenceList: object({ items: { type: 'array', items: ref('Silence') } }),
    Cluster: object({
      provider: { enum: ['ens', 'ack'] },
      regionId: nullable(str),
      clusterId: str,
      reachable: { type: 'boolean' },
      consecutiveFailures: count,
      lastError: nullable(object({ code: str, message: str })),
      lastListedAt: nullable(time),
      lastAttemptAt: time,
      pools: object({ failed: count, degraded: count, unknown: count, progressing: count, healthy: count, total: count }),
      firingAlerts: count,
      links: links('nodepools'),
    }),
    ClusterList: object({ items: { type: 'array', items: ref('Cluster') }, lastSweepAt: nullable(time) }),
    Pool: object({
      id: str,
      name: str,
      health: { enum: ['failed', 'degraded', 'unknown', 'progressing', 'healthy'] },
      state: nullable(str),
      cloudState: nullable(str),
      ...Object.fromEntries(Object.keys(nodeCounts).map((k) => [k, nullable(count)])),
      isDefault: nullable({ type: 'boolean' }),
      stateSince: nullable(time),
      seenAt: time,
      request: nullable(object({ id: str, state: str, links: links('self') })),
      alerts: { type: 'array', items: ref('Alert') },
    }),
    PoolList: object({ cluster: ref('Cluster'), items: { type: 'array', items: ref('Pool') } }),
    Health: object({ status: { const: 'ok' }, store: str }),
  };
}

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const ok = (schema: string, description = 'OK', status = '200') => ({ [status]: { description, content: { 'application/json': { schema: ref(schema) } } } });
/** A write route: a token with the read scope is refused. */
const forbidden = { '403': problem('the token may read only: this route needs one with the write scope') };
const guarded = {
  '400': problem('a parameter or field is not valid; `errors` names each'),
  '401': problem('no token, or one the API does not know'),
  '405': problem('the method is not allowed here'),
  '503': problem('the store cannot be reached; retry after Retry-After'),
};
const query = (name: string, schema: JsonSchema, description?: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  ...(description ? { description } : {}),
});
const path = (name: string, schema: JsonSchema) => ({ name, in: 'path', required: true, schema });
const body = (schema: string, description?: string) => ({
  required: true,
  content: { 'application/json': { schema: ref(schema) } },
  ...(description ? { description } : {}),
});

function document(): JsonSchema {
  const secured = { security: [{ bearer: [] }] };
  return {
    openapi: '3.1.0',
    info: {
      title: 'nodepool-pilot',
      version: '1',
      description: 'Creates node pools on Alibaba Cloud ENS and ACK exactly once, tracks them until they are up or failed, and alerts on them.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    components: { schemas: schemas(), securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from API_TOKENS' } } },
    paths: {
      '/v1/nodepool-requests': {
        post: {
          operationId: 'submit',
          ...secured,
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' } },
            query(
              'dryRun',
              { type: 'boolean' },
              'answer the pre-flight checks and the exact call instead of running the request (as `"dryRun": true` in the body)',
            ),
          ],
          requestBody: body(
            'Submission',
            'a create: the ENS CreateClusterNodePool parameters, or the ACK create body with its region and cluster; a scale or a delete: the pool by cluster and name',
          ),
          responses: {
            ...ok('Accepted', 'accepted; the same answer for a replayed Idempotency-Key', '202'),
            ...ok('DryRun', 'a dry run: the pre-flight checks and the exact call, nothing stored or changed'),
            ...guarded,
            ...forbidden,
            '409': problem('the key was used with another body, a live request exists for the pool, or the name is taken (`existingId`)'),
            '413': problem('the body is over MAX_BODY_BYTES'),
            '415': problem('the body is not application/json in UTF-8'),
          },
        },
        get: {
          operationId: 'listRequests',
          ...secured,
          parameters: [
            query('state', { enum: [...REQUEST_STATES] }),
            query('clusterId', { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' }),
            query('limit', { type: 'integer', minimum: 1, maximum: 100, default: 20 }),
            query('cursor', { type: 'string' }, 'the nextCursor of the previous page'),
          ],
          responses: { ...ok('RequestPage'), ...guarded },
        },
      },
      '/v1/nodepool-requests/{id}': {
        get: {
          operationId: 'getRequest',
          ...secured,
          parameters: [path('id', { type: 'string' })],
          responses: { ...ok('Request'), ...guarded, '404': problem('no such request') },
        },
      },
      '/v1/alerts': {
        get: {
          operationId: 'listAlerts',
          ...secured,
          parameters: [
            query('state', { enum: ['firing', 'resolved'] }),
            query('limit', { type: 'integer', minimum: 1, maximum: 500, default: 50 }),
            query('cursor', { type: 'string' }, 'the nextCursor of the previous page'),
          ],
          responses: { ...ok('AlertPage'), ...guarded },
        },
      },
      '/v1/silences': {
        post: {
          operationId: 'createSilence',
          ...secured,
          requestBody: body('SilenceInput'),
          responses: { ...ok('Silence', 'created', '201'), ...guarded, ...forbidden, '413': problem('the body is too large'), '415': problem('not JSON') },
        },
        get: { operationId: 'listSilences', ...secured, responses: { ...ok('SilenceList'), ...guarded } },
      },
      '/v1/silences/{id}': {
        delete: {
          operationId: 'expireSilence',
          ...secured,
          parameters: [path('id', { type: 'string', pattern: '^sil_[0-9a-f]{20}$' })],
          responses: { ...ok('Silence', 'the silence, expired now'), ...guarded, ...forbidden, '404': problem('no such silence') },
        },
      },
      '/v1/clusters': {
        get: { operationId: 'listClusters', ...secured, responses: { ...ok('ClusterList', 'the watched clusters as the last sweep saw them'), ...guarded } },
      },
      '/v1/clusters/{provider}/{clusterId}/nodepools': {
        get: {
          operationId: 'listPools',
          ...secured,
          parameters: [path('provider', { enum: ['ens', 'ack'] }), path('clusterId', { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' })],
          responses: {
            ...ok('PoolList', "one cluster's pools as the last sweep saw them"),
            ...guarded,
            '404': problem('the sweep does not watch this cluster'),
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          ...secured,
          responses: { '200': { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: str } } }, ...guarded },
        },
      },
      '/healthz': {
        get: { operationId: 'health', responses: { ...ok('Health'), '503': problem('the store cannot be reached') } },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openapi',
          responses: { '200': { description: 'this document', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
  };
}

let cached: HttpResponse | undefined;

/** The document, built on the first request for it (not at start: a cold start does not pay for it). */
export function openapiResponse(): HttpResponse {
  cached ??= json(200, document());
  return cached;
}
