/**
 * Every failure of a cloud call becomes a CloudError. The openapi-client's errors, Node's
 * network errors and httpx's timeouts are translated here and only here.
 */
import { scrubMessage } from '../redact.js';

/** What went wrong, which decides whether and how to retry. */
export type CloudErrorKind =
  | 'throttled' // flow control: the request was refused before it ran
  | 'busy' // the cluster is running another node-pool operation
  | 'server' // 5xx: the request may or may not have run
  | 'timeout' // no answer in time: the request may or may not have run
  | 'network' // the connection failed
  | 'client'; // the cloud refused the request: final

export class CloudError extends Error {
  override name = 'CloudError';
  readonly code: string;
  readonly requestId?: string;
  readonly statusCode?: number;
  readonly kind: CloudErrorKind;
  /** True when calling again later can succeed. */
  readonly retryable: boolean;
  /**
   * True when the request may have been carried out although no answer says so
   * (timeouts, resets, 5xx). A create must look before it leaps again.
   */
  readonly ambiguous: boolean;
  /** Set when retries stopped because the caller's time budget ran out. */
  budgetExhausted = false;
  attempts = 1;

  constructor(init: { code: string; message: string; kind: CloudErrorKind; requestId?: string; statusCode?: number; ambiguous?: boolean; cause?: unknown }) {
    super(scrubMessage(init.message), { cause: init.cause });
    this.code = init.code;
    this.kind = init.kind;
    this.requestId = init.requestId;
    this.statusCode = init.statusCode;
    this.retryable = init.kind !== 'client';
    this.ambiguous = init.ambiguous ?? (init.kind === 'server' || init.kind === 'timeout');
  }

  /** The shape stored on a failed request and put into alerts. */
  toJSON(): { code: string; message: string; requestId?: string; statusCode?: number; retryable: boolean } {
    return { code: this.code, message: this.message, requestId: this.requestId, statusCode: this.statusCode, retryable: this.retryable };
  }
}

const BUSY_CODES = new Set(['InvalidStatus.Forbidden', 'ErrorClusterStateInvalid', 'IncorrectClusterStatus', 'Operation.Conflict']);
const BUSY_MESSAGE = /cannot operate cluster where state is|cluster is (busy|updating|scaling)|operation.*in progress/i;
/** Connection errors that prove the request never reached the server. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const NETWORK_CODES = new Set([...NEVER_SENT, 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

/** The cloud's answer to a create whose pool name is already used in the cluster. */
export function isNameTaken(e: CloudError): boolean {
  return e.kind === 'client' && /already exist/i.test(e.message);
}

function isThrottlingCode(code: string): boolean {
  return /Throttling/i.test(code);
}

function isBusy(code: string, message: string): boolean {
  return BUSY_CODES.has(code) || BUSY_MESSAGE.test(message);
}

interface TeaLikeError {
  name?: string;
  code?: string;
  message?: string;
  statusCode?: number;
  data?: Record<string, unknown>;
}

/** Translates whatever the openapi-client threw into a CloudError. */
export function toCloudError(err: unknown): CloudError {
  if (err instanceof CloudError) return err;
  const e = (err ?? {}) as TeaLikeError;
  const data = e.data ?? {};
  const requestId = str(data.RequestId) ?? str(data.requestId) ?? str(data.requestid) ?? str(data.request_id);
  const statusCode = typeof e.statusCode === 'number' && Number.isFinite(e.statusCode) ? e.statusCode : undefined;

  if (e.name === 'ConnectTimeoutError') {
    // No connection was made: the request never went out.
    return new CloudError({ code: 'ConnectTimeout', message: e.message ?? 'no connection in time', kind: 'network', ambiguous: false, cause: err });
  }
  if (e.name === 'RequestTimeoutError') {
    return new CloudError({ code: 'RequestTimeout', message: e.message ?? 'the request timed out', kind: 'timeout', cause: err });
  }
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code) && statusCode === undefined) {
    return new CloudError({
      code: e.code,
      message: e.message ?? e.code,
      kind: 'network',
      ambiguous: !NEVER_SENT.has(e.code),
      cause: err,
    });
  }
  if (e.name === 'SyntaxError') {
    // A body that is not JSON: typically a proxy's error page. What happened is unknown.
    return new CloudError({ code: 'InvalidResponse', message: `the cloud answered with a body that is not JSON: ${e.message}`, kind: 'server', cause: err });
  }
  if (statusCode !== undefined) {
    const code = typeof e.code === 'string' && e.code ? e.code : `HTTP${statusCode}`;
    const message = cloudMessage(e, data);
    let kind: CloudErrorKind = 'client';
    if (isThrottlingCode(code)) kind = 'throttled';
    else if (isBusy(code, message)) kind = 'busy';
    else if (statusCode >= 500 || code === 'ServiceUnavailable') kind = 'server';
    return new CloudError({ code, message, kind, requestId, statusCode, cause: err });
  }
  if (e.code === 'InvalidCredentials' || /credential/i.test(e.message ?? '')) {
    return new CloudError({ code: e.code ?? 'InvalidCredentials', message: e.message ?? 'no usable credentials', kind: 'client', cause: err });
  }
  // Unclassified: the request may have gone out, so a create must look before it retries.
  return new CloudError({ code: e.code ?? 'NetworkError', message: e.message ?? String(err), kind: 'network', ambiguous: true, cause: err });
}

/** The cloud's own message, without the SDK's "code: 400, ... request id: ..." wrapping. */
function cloudMessage(e: TeaLikeError, data: Record<string, unknown>): string {
  return str(data.Message) ?? str(data.message) ?? e.message ?? '';
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
