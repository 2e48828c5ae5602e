/**
 * Accepting a create request: validate, seal its secrets, store it once (idempotency key,
 * one live request per pool), then hand the creation to `provision`.
 */
import { redact } from '../redact.js';
import { newRequestId } from '../requests/ids.js';
import { type NodepoolRequest, OPERATIONS, type Operation, type Submission } from '../requests/model.js';
import { isStorableText } from '../requests/schema.js';
import { canonicalJson, liftSecrets } from '../requests/secrets.js';
import type { InsertOutcome } from '../store/requests.js';
import { turnFallback, waitingNote } from './deferral.js';
import type { Services } from './services.js';

export type SubmitOutcome = InsertOutcome;

/** A keyed hash of what was asked, secrets included; the key makes it unguessable. */
function bodyHash(services: Pick<Services, 'secrets'>, body: unknown): string {
  const { idempotencyKey: _ignored, ...rest } = (body ?? {}) as Record<string, unknown>;
  return services.secrets.mac(canonicalJson(rest));
}

export async function acceptSubmission(
  services: Services,
  submission: Submission,
  meta: {
    source: 'http' | 'queue';
    idempotencyKey?: string;
    body: unknown;
    /** The API token's name; a queue message is `queue`. */
    createdBy?: string;
    /** The worker that drives the request as soon as it is stored (the queue intake): it is stored leased to it, unless it waits its turn. */
    leaseOwner?: string;
  },
): Promise<SubmitOutcome> {
  const now = services.clock.now();
  // Only a create carries secrets (a password); a scale or delete carries none.
  const { masked, secrets } =
    submission.operation === 'create' ? liftSecrets(submission.provider, submission.createParams) : { masked: submission.createParams, secrets: {} };
  const minutes = submission.deadlineMinutes ?? services.config.defaultDeadlineMinutes;
  const deadlineAt = new Date(now + minutes * 60_000);
  return services.store.insert({
    id: newRequestId(now),
    operation: submission.operation,
    createdBy: meta.createdBy ?? meta.source,
    labels: submission.labels,
    nodepoolId: submission.nodepoolId,
    targetSize: submission.targetSize,
    provider: submission.provider,
    regionId: submission.regionId,
    clusterId: submission.clusterId,
    nodepoolName: submission.nodepoolName,
    state: 'accepted',
    createParams: masked,
    sealedSecrets: Object.keys(secrets).length ? services.secrets.seal(secrets) : undefined,
    idempotencyKey: meta.idempotencyKey,
    bodyHash: bodyHash(services, meta.body),
    source: meta.source,
    deadlineAt,
    createdAt: new Date(now),
    note: `${submission.operation} accepted from ${meta.source === 'http' ? `the HTTP API, sent by ${meta.createdBy ?? 'an unnamed caller'}` : 'the queue'}; deadline in ${minutes} min`,
    // On an ACK cluster, a request with one of ours ahead is stored waiting: nothing drives it until that one ends.
    turn: { waitNote: waitingNote('request %s (%s)'), waitUntil: turnFallback(now, deadlineAt) },
    ...(meta.leaseOwner ? { lease: { owner: meta.leaseOwner, until: new Date(now + services.config.leaseSeconds * 1000) } } : {}),
  });
}

/** Stores a queue message that did not validate, so that it is visible and never retried. */
export async function rejectMessage(
  services: Services,
  input: { body: unknown; reasons: Array<{ path: string; message: string }>; idempotencyKey?: string; rawLength: number },
): Promise<{ request: NodepoolRequest }> {
  const now = services.clock.now();
  const b = (input.body && typeof input.body === 'object' ? input.body : {}) as Record<string, unknown>;
  const req = (b.request && typeof b.request === 'object' ? b.request : {}) as Record<string, unknown>;
  const provider = b.provider === 'ens' || b.provider === 'ack' ? b.provider : undefined;
  // A scale or delete names its pool at the top; a create, in its parameters (ENS: the cluster too).
  const clusterId = b.clusterId ?? (provider === 'ens' ? req.ClusterId : undefined);
  const name =
    b.nodepoolName ??
    (provider === 'ens' ? (req.NodepoolInfo as { Name?: unknown } | undefined)?.Name : (req.nodepool_info as { name?: unknown } | undefined)?.name);
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 128 && isStorableText(v) ? v : undefined);
  // A rejection is never checked against pool names, so it always comes back with a request.
  return (await services.store.insert({
    id: newRequestId(now),
    operation: OPERATIONS.includes(b.operation as Operation) ? (b.operation as Operation) : undefined,
    createdBy: 'queue',
    provider,
    clusterId: str(clusterId),
    nodepoolName: str(name),
    regionId: str(b.regionId),
    state: 'rejected',
    // A rejection keeps the message as it came, if it is recognisably JSON and storable, redacted;
    // raw text could hold anything.
    createParams:
      input.body && typeof input.body === 'object' && isStorableText(JSON.stringify(input.body))
        ? redact(input.body as Record<string, unknown>)
        : { unparsed: { bytes: input.rawLength } },
    idempotencyKey: input.idempotencyKey,
    bodyHash: bodyHash(services, input.body),
    source: 'queue',
    deadlineAt: new Date(now),
    rejectReasons: input.reasons.map((r) => (isStorableText(r.path) ? r : { ...r, path: '(unprintable field)' })),
    createdAt: new Date(now),
    note: `rejected: ${input.reasons.map((r) => `${isStorableText(r.path) ? r.path || 'body' : '(unprintable field)'} ${r.message}`).join('; ')}`.slice(
      0,
      2000,
    ),
  })) as { request: NodepoolRequest };
}

/** Dispatch after commit; a failed dispatch leaves the request accepted for the sweep to re-drive. */
export async function dispatchCreation(services: Services, request: NodepoolRequest): Promise<boolean> {
  try {
    await services.dispatcher.dispatch(request.id, services.log);
    return true;
  } catch (err) {
    services.log.warn('dispatch failed; the watch sweep will re-drive the request', { nodepoolRequestId: request.id, error: err });
    return false;
  }
}
