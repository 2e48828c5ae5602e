/**
 * Parses a submit body (HTTP POST or queue message) into a Submission, or throws a
 * ValidationError listing every bad field by path.
 */
import { ackCreateSchema } from './ack-schema.js';
import { ensCreateSchema } from './ens-schema.js';
import type { Submission } from './model.js';
import { check, type Issue, int, obj, str } from './schema.js';

export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(readonly errors: Issue[]) {
    super(`invalid request: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
}

const deadline = int({ min: 1, max: 1440 });
const idempotencyKey = str({ minLength: 1, maxLength: 255, pattern: /^[\x21-\x7e]+$/, patternHint: 'must be printable ASCII without spaces' });

const ensEnvelope = (source: 'http' | 'queue') =>
  obj({
    provider: { type: 'const', value: 'ens', required: true },
    request: ensCreateSchema,
    deadlineMinutes: deadline,
    ...(source === 'queue' ? { idempotencyKey } : {}),
  });

const ackEnvelope = (source: 'http' | 'queue') =>
  obj({
    provider: { type: 'const', value: 'ack', required: true },
    regionId: str({ required: true, pattern: /^[a-z]{2}(-[a-z0-9]+)+$/, patternHint: 'must be a region ID such as cn-beijing' }),
    clusterId: str({
      required: true,
      maxLength: 64,
      pattern: /^[A-Za-z0-9-]+$/,
      patternHint: 'must be a cluster ID such as c82e6987e2961451182edacd74faf****',
    }),
    request: ackCreateSchema,
    deadlineMinutes: deadline,
    ...(source === 'queue' ? { idempotencyKey } : {}),
  });

/** The bodies a submission takes, by provider, as they are checked (the OpenAPI document describes these). */
export const submissionSchemas = (source: 'http' | 'queue') => ({ ens: ensEnvelope(source), ack: ackEnvelope(source) });

export function parseSubmission(body: unknown, source: 'http' | 'queue'): Submission {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError([{ path: '', message: 'the body must be a JSON object' }]);
  }
  const b = body as Record<string, unknown>;
  if (b.provider !== 'ens' && b.provider !== 'ack') {
    throw new ValidationError([{ path: 'provider', message: b.provider === undefined ? 'is required: "ens" or "ack"' : 'must be "ens" or "ack"' }]);
  }
  const issues: Issue[] = [];
  check(b.provider === 'ens' ? ensEnvelope(source) : ackEnvelope(source), b, '', issues);
  if (issues.length) throw new ValidationError(issues);

  const createParams = b.request as Record<string, unknown>;
  if (b.provider === 'ens') {
    return {
      provider: 'ens',
      clusterId: createParams.ClusterId as string,
      nodepoolName: (createParams.NodepoolInfo as { Name: string }).Name,
      createParams,
      deadlineMinutes: b.deadlineMinutes as number | undefined,
      idempotencyKey: b.idempotencyKey as string | undefined,
    };
  }
  return {
    provider: 'ack',
    regionId: b.regionId as string,
    clusterId: b.clusterId as string,
    nodepoolName: (createParams.nodepool_info as { name: string }).name,
    createParams,
    deadlineMinutes: b.deadlineMinutes as number | undefined,
    idempotencyKey: b.idempotencyKey as string | undefined,
  };
}
