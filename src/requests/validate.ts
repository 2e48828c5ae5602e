/**
 * Parses a submit body (HTTP POST or queue message) into a Submission, or throws a
 * ValidationError listing every bad field by path. A body is a create (today's bodies, with or
 * without `"operation": "create"`), a scale or a delete; scale and delete name the pool by its
 * cluster and name (and, if the caller knows it, its id).
 */

import { labelIssues } from '../labels.js';
import { ackCreateSchema } from './ack-schema.js';
import { ensCreateSchema } from './ens-schema.js';
import { OPERATIONS, type Operation, type Submission } from './model.js';
import { ACK_NODEPOOL_NAME, ACK_NODEPOOL_NAME_HINT, bool, check, ensNodepoolNameProblem, type Issue, int, map, obj, type Schema, str } from './schema.js';

export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(readonly errors: Issue[]) {
    super(`invalid request: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
}

const deadline = int({ min: 1, max: 1440 });
/** Our bound on a scale's desired size: the ENS create reference's DesiredSize bound, which ACK's pools also stay within. */
const MAX_DESIRED_SIZE = 10_000;
const idempotencyKey = str({ minLength: 1, maxLength: 255, pattern: /^[\x21-\x7e]+$/, patternHint: 'must be printable ASCII without spaces' });

/** Dry runs answer over HTTP: a queue message has no one to answer. */
const dryRun = (source: 'http' | 'queue'): Record<string, Schema> => (source === 'http' ? { dryRun: bool() } : {});
const operationField = (value: Operation, required: boolean): Schema => ({ type: 'const', value, required });

const regionId = str({ required: true, pattern: /^[a-z]{2}(-[a-z0-9]+)+$/, patternHint: 'must be a region ID such as cn-beijing' });
const ackClusterId = str({
  required: true,
  maxLength: 64,
  pattern: /^[A-Za-z0-9-]+$/,
  patternHint: 'must be a cluster ID such as c82e6987e2961451182edacd74faf****',
});
const nodepoolId = str({ maxLength: 64, pattern: /^[A-Za-z0-9-]+$/, patternHint: 'must be a node pool ID such as np1f6779297c4444a3a1cdd29be8e2****' });

/** How a scale or delete names its pool, by provider. */
const poolAddress = {
  ens: {
    provider: { type: 'const', value: 'ens', required: true },
    clusterId: str({ required: true, maxLength: 64, pattern: /^[A-Za-z0-9-]+$/, patternHint: 'must be a cluster ID such as eck-xxxxxxxx' }),
    nodepoolName: str({ required: true, maxLength: 128, problem: ensNodepoolNameProblem }),
    nodepoolId,
  },
  ack: {
    provider: { type: 'const', value: 'ack', required: true },
    regionId,
    clusterId: ackClusterId,
    nodepoolName: str({ required: true, pattern: ACK_NODEPOOL_NAME, patternHint: ACK_NODEPOOL_NAME_HINT }),
    nodepoolId,
  },
} satisfies Record<'ens' | 'ack', Record<string, Schema>>;

const scaleEnvelope = (provider: 'ens' | 'ack', source: 'http' | 'queue') =>
  obj({
    operation: operationField('scale', true),
    ...poolAddress[provider],
    desiredSize: int({ required: true, min: 0, max: MAX_DESIRED_SIZE }),
    deadlineMinutes: deadline,
    labels: map(),
    ...dryRun(source),
    ...(source === 'queue' ? { idempotencyKey } : {}),
  });

const deleteEnvelope = (provider: 'ens' | 'ack', source: 'http' | 'queue') =>
  obj(
    {
      operation: operationField('delete', true),
      ...poolAddress[provider],
      confirm: str({ required: true, maxLength: 128 }),
      force: bool(),
      deadlineMinutes: deadline,
      labels: map(),
      ...dryRun(source),
      ...(source === 'queue' ? { idempotencyKey } : {}),
    },
    {
      check: (b, path, issues) => {
        if (typeof b.confirm === 'string' && typeof b.nodepoolName === 'string' && b.confirm !== b.nodepoolName) {
          issues.push({ path: path ? `${path}.confirm` : 'confirm', message: 'must equal nodepoolName exactly: a delete names the pool it removes twice' });
        }
      },
    },
  );

const ensEnvelope = (source: 'http' | 'queue') =>
  obj({
    operation: operationField('create', false),
    provider: { type: 'const', value: 'ens', required: true },
    request: ensCreateSchema,
    deadlineMinutes: deadline,
    labels: map(),
    ...dryRun(source),
    ...(source === 'queue' ? { idempotencyKey } : {}),
  });

const ackEnvelope = (source: 'http' | 'queue') =>
  obj({
    operation: operationField('create', false),
    provider: { type: 'const', value: 'ack', required: true },
    regionId,
    clusterId: ackClusterId,
    request: ackCreateSchema,
    deadlineMinutes: deadline,
    labels: map(),
    ...dryRun(source),
    ...(source === 'queue' ? { idempotencyKey } : {}),
  });

/** The bodies a submission takes, by operation and provider, as they are checked (the OpenAPI document describes these). */
export const submissionSchemas = (source: 'http' | 'queue') => ({
  ens: ensEnvelope(source),
  ack: ackEnvelope(source),
  ensScale: scaleEnvelope('ens', source),
  ackScale: scaleEnvelope('ack', source),
  ensDelete: deleteEnvelope('ens', source),
  ackDelete: deleteEnvelope('ack', source),
});

function envelope(operation: Operation, provider: 'ens' | 'ack', source: 'http' | 'queue'): Schema {
  if (operation === 'scale') return scaleEnvelope(provider, source);
  if (operation === 'delete') return deleteEnvelope(provider, source);
  return provider === 'ens' ? ensEnvelope(source) : ackEnvelope(source);
}

export function parseSubmission(body: unknown, source: 'http' | 'queue'): Submission {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError([{ path: '', message: 'the body must be a JSON object' }]);
  }
  const b = body as Record<string, unknown>;
  if (b.provider !== 'ens' && b.provider !== 'ack') {
    throw new ValidationError([{ path: 'provider', message: b.provider === undefined ? 'is required: "ens" or "ack"' : 'must be "ens" or "ack"' }]);
  }
  const operation = b.operation ?? 'create';
  if (!OPERATIONS.includes(operation as Operation)) {
    throw new ValidationError([{ path: 'operation', message: `must be one of: ${OPERATIONS.join(', ')}` }]);
  }
  if (source === 'queue' && b.dryRun !== undefined) {
    throw new ValidationError([{ path: 'dryRun', message: 'is answered over HTTP only: a queue message has no one to answer' }]);
  }
  const issues: Issue[] = [];
  check(envelope(operation as Operation, b.provider, source), b, '', issues);
  if (!issues.some((i) => i.path === 'labels' || i.path.startsWith('labels.'))) issues.push(...labelIssues(b.labels, 'labels'));
  if (issues.length) throw new ValidationError(issues);
  const labels = b.labels as Record<string, string> | undefined;

  if (operation !== 'create') {
    return {
      operation: operation as Operation,
      provider: b.provider,
      regionId: b.regionId as string | undefined,
      clusterId: b.clusterId as string,
      nodepoolName: b.nodepoolName as string,
      nodepoolId: b.nodepoolId as string | undefined,
      targetSize: b.desiredSize as number | undefined,
      createParams: operation === 'scale' ? { desiredSize: b.desiredSize } : { confirm: b.confirm, force: b.force === true },
      deadlineMinutes: b.deadlineMinutes as number | undefined,
      idempotencyKey: b.idempotencyKey as string | undefined,
      labels,
    };
  }
  const createParams = b.request as Record<string, unknown>;
  if (b.provider === 'ens') {
    return {
      operation: 'create',
      provider: 'ens',
      clusterId: createParams.ClusterId as string,
      nodepoolName: (createParams.NodepoolInfo as { Name: string }).Name,
      createParams,
      deadlineMinutes: b.deadlineMinutes as number | undefined,
      idempotencyKey: b.idempotencyKey as string | undefined,
      labels,
    };
  }
  return {
    operation: 'create',
    provider: 'ack',
    regionId: b.regionId as string,
    clusterId: b.clusterId as string,
    nodepoolName: (createParams.nodepool_info as { name: string }).name,
    createParams,
    deadlineMinutes: b.deadlineMinutes as number | undefined,
    idempotencyKey: b.idempotencyKey as string | undefined,
    labels,
  };
}
