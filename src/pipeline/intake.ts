/**
 * Queue intake: each message of a batch is validated, stored once and provisioned. A bad
 * message is stored as rejected and acknowledged; it never fails the batch. A transient
 * failure (the store is down) is raised after the batch, so that the queue redelivers it;
 * what was already done is then found again through the idempotency key.
 */
import type { QueueMessage } from '../fc/provision-events.js';
import { ValidationError, parseSubmission } from '../requests/validate.js';
import { provisionRequest, type ProvisionOutcome } from './provision.js';
import type { Services } from './services.js';
import { acceptSubmission, rejectMessage } from './submit.js';

export interface MessageResult {
  messageId?: string;
  requestId?: string;
  outcome: ProvisionOutcome | 'rejected' | 'error';
  reason?: string;
}

export class BatchRetryError extends Error {
  override name = 'BatchRetryError';
  constructor(readonly failures: Array<{ messageId?: string; error: unknown }>) {
    super(`${failures.length} message(s) hit a transient failure; the batch will be redelivered`);
  }
}

/** SQLSTATE classes that no retry can fix: bad data (22) and program limits (54). */
function isPermanentStoreError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|54)[0-9A-Z]{3}$/.test(code);
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
      if (isPermanentStoreError(error)) {
        const out = await rejectMessage(services, {
          body: undefined,
          reasons: [{ path: '', message: 'the store cannot hold this message' }],
          idempotencyKey: msg.messageId ? `mns:${msg.messageId}` : undefined,
          rawLength: msg.body.length,
        }).catch(() => undefined);
        if (out) {
          services.log.warn('rejected a message the store cannot hold', { messageId: msg.messageId, error });
          results.push({ messageId: msg.messageId, requestId: out.request.id, outcome: 'rejected', reason: 'unstorable' });
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
  let body: unknown;
  try {
    body = JSON.parse(msg.body);
  } catch {
    const out = await rejectMessage(services, { body: undefined, reasons: [{ path: '', message: 'the message body is not JSON' }], idempotencyKey: implicitKey, rawLength: msg.body.length });
    services.log.warn('rejected a message that is not JSON', { messageId: msg.messageId, nodepoolRequestId: out.request.id });
    return { messageId: msg.messageId, requestId: out.request.id, outcome: 'rejected', reason: 'not JSON' };
  }
  let submission;
  try {
    submission = parseSubmission(body, 'queue');
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // The message's own key may be what is wrong with it: a rejection is keyed by the message id.
    const out = await rejectMessage(services, { body, reasons: err.errors, idempotencyKey: implicitKey, rawLength: msg.body.length });
    services.log.warn('rejected an invalid message', { messageId: msg.messageId, nodepoolRequestId: out.request.id, errors: err.errors });
    return { messageId: msg.messageId, requestId: out.request.id, outcome: 'rejected', reason: err.message };
  }
  const key = submission.idempotencyKey ?? implicitKey;
  const accepted = await acceptSubmission(services, submission, { source: 'queue', idempotencyKey: key, body });
  if (accepted.kind === 'key-conflict' || accepted.kind === 'pool-conflict') {
    const reason =
      accepted.kind === 'key-conflict'
        ? `idempotency key ${key} was already used for request ${accepted.request.id} with a different body`
        : `request ${accepted.request.id} is already ${accepted.request.state} for this node pool`;
    const out = await rejectMessage(services, { body, reasons: [{ path: accepted.kind === 'key-conflict' ? 'idempotencyKey' : 'request', message: reason }], idempotencyKey: implicitKey, rawLength: msg.body.length });
    services.log.warn('rejected a conflicting message', { messageId: msg.messageId, nodepoolRequestId: out.request.id, existing: accepted.request.id });
    return { messageId: msg.messageId, requestId: out.request.id, outcome: 'rejected', reason };
  }
  if (accepted.kind === 'created') {
    services.log.info('accepted from the queue', { messageId: msg.messageId, nodepoolRequestId: accepted.request.id });
  }
  // Created or replayed: drive it. The lease makes a duplicate delivery a no-op.
  const budgetMs = options.deadline - services.clock.now();
  if (budgetMs < 1_000) {
    services.log.info('no time left in this invocation; the sweep will drive the request', { nodepoolRequestId: accepted.request.id });
    return { messageId: msg.messageId, requestId: accepted.request.id, outcome: 'skipped' };
  }
  const out = await provisionRequest(services, accepted.request.id, { owner: options.owner, budgetMs });
  return { messageId: msg.messageId, requestId: accepted.request.id, outcome: out.outcome };
}
