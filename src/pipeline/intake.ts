/**
 * Queue intake: each message of a batch is validated, stored once and provisioned. A bad
 * message is stored as rejected and acknowledged; it never fails the batch. A transient
 * failure (the store, the cloud or the network) is raised after the batch, so that the queue
 * redelivers it, and what was already done is then found again through the idempotency key.
 * Any other error would recur on every delivery: that message is stored as rejected instead.
 */

import { CloudError } from '../cloud/errors.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonWithin } from '../json.js';
import type { Submission } from '../requests/model.js';
import { parseSubmission, ValidationError } from '../requests/validate.js';
import { StaleUpdateError, StoreRejectedError, StoreUnavailableError, translateDriverError } from '../store/errors.js';
import { type ProvisionOutcome, provisionRequest } from './provision.js';
import type { Services } from './services.js';
import { acceptSubmission, rejectMessage } from './submit.js';

/** One queue message, whatever trigger format carried it. */
export interface QueueMessage {
  /** The queue's message id, when the format carries one. */
  messageId?: string;
  /** The message body as text. */
  body: string;
}

export interface MessageResult {
  messageId?: string;
  nodepoolRequestId?: string;
  outcome: ProvisionOutcome | 'rejected' | 'error';
  reason?: string;
}

class BatchRetryError extends Error {
  override name = 'BatchRetryError';
  constructor(readonly failures: Array<{ messageId?: string; error: unknown }>) {
    super(`${failures.length} message(s) hit a transient failure; the batch will be redelivered`);
  }
}

/** What can pass with time: the store being unavailable or racing us, and the cloud or the network. */
function isTransient(error: unknown): boolean {
  // A driver error that reached here untranslated is judged as the store would judge it.
  const err = translateDriverError(error);
  if (err instanceof StoreUnavailableError || err instanceof StaleUpdateError) return true;
  if (err instanceof CloudError) return err.retryable;
  return false;
}

export async function handleMessages(services: Services, messages: QueueMessage[], options: { owner: string; budgetMs: number }): Promise<MessageResult[]> {
  const results: MessageResult[] = [];
  const failures: Array<{ messageId?: string; error: unknown }> = [];
  // One budget for the whole batch: each message gets what is left of it.
  const deadline = services.clock.now() + options.budgetMs;
  for (const msg of messages) {
    try {
      results.push(await handleMessage(services, msg, { owner: options.owner, deadline }));
    } catch (error) {
      if (!isTransient(error)) {
        // Nothing was stored for it, and redelivering would meet the same error: the message is
        // stored as rejected, with why, once.
        const reason =
          translateDriverError(error) instanceof StoreRejectedError
            ? 'the store cannot hold this message'
            : `the message could not be processed (${(error as Error)?.name ?? 'error'})`;
        const out = await rejectMessage(services, {
          body: undefined,
          reasons: [{ path: '', message: reason }],
          idempotencyKey: msg.messageId ? `mns:${msg.messageId}` : undefined,
          rawLength: msg.body.length,
        }).catch(() => undefined);
        if (out) {
          services.log.warn('rejected a message that cannot be processed', { messageId: msg.messageId, nodepoolRequestId: out.request.id, error });
          results.push({ messageId: msg.messageId, nodepoolRequestId: out.request.id, outcome: 'rejected', reason });
          continue;
        }
      }
      services.log.error('message failed; it will be redelivered', { messageId: msg.messageId, error });
      failures.push({ messageId: msg.messageId, error });
      results.push({ messageId: msg.messageId, outcome: 'error' });
    }
  }
  if (failures.length) throw new BatchRetryError(failures);
  return results;
}

async function handleMessage(services: Services, msg: QueueMessage, options: { owner: string; deadline: number }): Promise<MessageResult> {
  const implicitKey = msg.messageId ? `mns:${msg.messageId}` : undefined;
  // Size and depth are checked on the text, before any object is built.
  const parsed = parseJsonWithin(msg.body, { maxBytes: services.config.maxBodyBytes, maxDepth: DEFAULT_MAX_JSON_DEPTH });
  if (!parsed.ok) {
    const reason = parsed.kind === 'syntax' ? 'the message body is not JSON' : `the message body is out of bounds: ${parsed.reason}`;
    const out = await rejectMessage(services, {
      body: undefined,
      reasons: [{ path: '', message: reason }],
      idempotencyKey: implicitKey,
      rawLength: msg.body.length,
    });
    services.log.warn('rejected a message that is not acceptable JSON', { messageId: msg.messageId, nodepoolRequestId: out.request.id, reason: parsed.reason });
    return { messageId: msg.messageId, nodepoolRequestId: out.request.id, outcome: 'rejected', reason };
  }
  const body = parsed.value;
  let submission: Submission;
  try {
    submission = parseSubmission(body, 'queue');
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // The message's own key may be what is wrong with it: a rejection is keyed by the message id.
    const out = await rejectMessage(services, { body, reasons: err.errors, idempotencyKey: implicitKey, rawLength: msg.body.length });
    services.log.warn('rejected an invalid message', { messageId: msg.messageId, nodepoolRequestId: out.request.id, errors: err.errors });
    return { messageId: msg.messageId, nodepoolRequestId: out.request.id, outcome: 'rejected', reason: err.message };
  }
  const key = submission.idempotencyKey ?? implicitKey;
  const accepted = await acceptSubmission(services, submission, { source: 'queue', idempotencyKey: key, body, leaseOwner: options.owner });
  if (accepted.kind === 'key-conflict' || accepted.kind === 'pool-conflict' || accepted.kind === 'name-taken') {
    const reason =
      accepted.kind === 'key-conflict'
        ? `idempotency key ${key} was already used for request ${accepted.request.id} with a different body`
        : accepted.kind === 'pool-conflict'
          ? `request ${accepted.request.id} is already ${accepted.request.state} for this node pool`
          : `the cluster already has a node pool of this name (${accepted.nodepoolId})${accepted.request ? `, created by request ${accepted.request.id}` : ''}`;
    const path = accepted.kind === 'key-conflict' ? 'idempotencyKey' : 'request';
    const out = await rejectMessage(services, { body, reasons: [{ path, message: reason }], idempotencyKey: implicitKey, rawLength: msg.body.length });
    services.log.warn('rejected a conflicting message', { messageId: msg.messageId, nodepoolRequestId: out.request.id, existing: accepted.request?.id });
    return { messageId: msg.messageId, nodepoolRequestId: out.request.id, outcome: 'rejected', reason };
  }
  const id = accepted.request.id;
  if (accepted.kind === 'created') {
    services.log.info('accepted from the queue', { messageId: msg.messageId, nodepoolRequestId: id, waitingFor: accepted.waitingFor?.id });
    // Stored waiting for the request ahead on its ACK cluster: that one's end drives it.
    if (accepted.waitingFor) return { messageId: msg.messageId, nodepoolRequestId: id, outcome: 'deferred' };
  }
  // Stored leased to this invocation, or replayed (then the lease makes a duplicate delivery a no-op): drive it.
  const leased = accepted.kind === 'created' && accepted.request.leaseOwner === options.owner ? accepted.request : undefined;
  const budgetMs = options.deadline - services.clock.now();
  if (budgetMs < 1_000) {
    services.log.info('no time left in this invocation; the sweep will drive the request', { nodepoolRequestId: id });
    if (leased) await services.store.releaseLease(id, options.owner);
    return { messageId: msg.messageId, nodepoolRequestId: id, outcome: 'skipped' };
  }
  try {
    const out = await provisionRequest(services, id, { owner: options.owner, budgetMs, leased });
    return { messageId: msg.messageId, nodepoolRequestId: id, outcome: out.outcome };
  } catch (error) {
    if (isTransient(error)) throw error;
    // The request is stored: the message is done with, and the watch sweep drives the request.
    services.log.error('provisioning failed; the stored request is left to the watch sweep', {
      messageId: msg.messageId,
      nodepoolRequestId: id,
      error,
    });
    return {
      messageId: msg.messageId,
      nodepoolRequestId: id,
      outcome: 'skipped',
      reason: `provisioning failed (${(error as Error)?.name ?? 'error'})`,
    };
  }
}
