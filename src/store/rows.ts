/**
 * How a request is kept in its table: the row as a NodepoolRequest, and the columns a
 * transition may set besides the state.
 */
import type { Provider } from '../cloud/nodepool.js';
import type { CloudFailure, NodepoolRequest, ObservedStatus, Operation } from '../requests/model.js';
import type { RequestState } from '../requests/state.js';

export interface RequestPatch {
  nodepoolId?: string;
  taskId?: string;
  attempts?: number;
  createStartedAt?: Date | null;
  nextAttemptAt?: Date | null;
  lastError?: CloudFailure | null;
  observed?: ObservedStatus;
  sealedSecrets?: null;
}

export type Row = Record<string, unknown>;

export const COLUMNS: Record<keyof RequestPatch, string> = {
  nodepoolId: 'nodepool_id',
  taskId: 'task_id',
  attempts: 'attempts',
  createStartedAt: 'create_started_at',
  nextAttemptAt: 'next_attempt_at',
  lastError: 'last_error',
  observed: 'observed',
  sealedSecrets: 'sealed_secrets',
};
export const JSON_COLUMNS = new Set(['last_error', 'observed']);

export function date(v: unknown): Date | undefined {
  if (v === null || v === undefined) return undefined;
  return v instanceof Date ? v : new Date(String(v));
}

function json<T>(v: unknown): T | undefined {
  if (v === null || v === undefined) return undefined;
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

export function toRequest(r: Row): NodepoolRequest {
  return {
    id: r.id as string,
    provider: (r.provider ?? '') as Provider,
    regionId: (r.region_id as string | null) ?? undefined,
    clusterId: (r.cluster_id as string | null) ?? '',
    nodepoolName: (r.nodepool_name as string | null) ?? '',
    operation: ((r.operation as string | null) ?? 'create') as Operation,
    createdBy: (r.created_by as string | null) ?? undefined,
    labels: json<Record<string, string>>(r.labels),
    targetSize: (r.target_size as number | null) ?? undefined,
    state: r.state as RequestState,
    createParams: json<Record<string, unknown>>(r.request) ?? {},
    sealedSecrets: (r.sealed_secrets as string | null) ?? undefined,
    idempotencyKey: (r.idempotency_key as string | null) ?? undefined,
    bodyHash: r.body_hash as string,
    source: r.source as 'http' | 'queue',
    nodepoolId: (r.nodepool_id as string | null) ?? undefined,
    taskId: (r.task_id as string | null) ?? undefined,
    attempts: Number(r.attempts ?? 0),
    createStartedAt: date(r.create_started_at),
    deadlineAt: date(r.deadline_at)!,
    nextAttemptAt: date(r.next_attempt_at),
    leaseOwner: (r.lease_owner as string | null) ?? undefined,
    leaseExpiresAt: date(r.lease_expires_at),
    lastError: json<CloudFailure>(r.last_error),
    observed: json<ObservedStatus>(r.observed),
    rejectReasons: json(r.reject_reasons),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  };
}

export interface NewRequest {
  id: string;
  /** Absent only on a rejected message that named no valid pool. */
  provider?: Provider;
  regionId?: string;
  clusterId?: string;
  nodepoolName?: string;
  state: 'accepted' | 'rejected';
  operation?: Operation;
  createdBy?: string;
  labels?: Record<string, string>;
  nodepoolId?: string;
  targetSize?: number;
  /** The create parameters with secrets lifted out; for a rejected message, what it held (redacted). */
  createParams: Record<string, unknown>;
  sealedSecrets?: string;
  idempotencyKey?: string;
  bodyHash: string;
  source: 'http' | 'queue';
  deadlineAt: Date;
  rejectReasons?: Array<{ path: string; message: string }>;
  createdAt: Date;
  note: string;
  /**
   * An ACK request to be driven takes its place in its cluster's line as it is stored: with a
   * request of ours ahead, it is stored waiting, due at `waitUntil` unless the end of the one
   * ahead wakes it sooner, with `waitNote` (a format: `%s` the id, then `%s` the state of the one
   * ahead) in its history.
   */
  turn?: { waitNote: string; waitUntil: Date };
  /** Stored leased to this worker, unless it waits (the queue intake drives it at once). */
  lease?: { owner: string; until: Date };
}

export type InsertOutcome =
  /** Stored; `waitingFor`, when it is stored waiting for that request on its ACK cluster. */
  | { kind: 'created'; request: NodepoolRequest; waitingFor?: Pick<NodepoolRequest, 'id' | 'state'> }
  /** Same idempotency key and same body: the earlier request. */
  | { kind: 'replayed'; request: NodepoolRequest }
  /** Same idempotency key, different body. */
  | { kind: 'key-conflict'; request: NodepoolRequest }
  /** Another live request for the same pool. */
  | { kind: 'pool-conflict'; request: NodepoolRequest }
  /** The cluster's last listing has a pool of that name; `request` is ours that created it, if any. */
  | { kind: 'name-taken'; nodepoolId: string; seenAt: Date; request?: NodepoolRequest };

export interface ListFilter {
  state?: RequestState;
  clusterId?: string;
  limit: number;
  /** The id of the last item of the previous page. */
  cursor?: string;
}
