/**
 * The node-pool request and its state machine:
 * accepted -> submitting -> creating -> active, and from any live state to failed or
 * timed_out; a timed-out request whose pool turns up active later becomes active. A queue
 * message that does not validate is stored as rejected.
 */
import type { NodePool, Provider } from '../cloud/nodepool.js';

export type RequestState = 'accepted' | 'submitting' | 'creating' | 'active' | 'failed' | 'timed_out' | 'rejected';

export const REQUEST_STATES: readonly RequestState[] = ['accepted', 'submitting', 'creating', 'active', 'failed', 'timed_out', 'rejected'];
export const LIVE_STATES: readonly RequestState[] = ['accepted', 'submitting', 'creating'];
export const FINAL_STATES: readonly RequestState[] = ['active', 'failed', 'timed_out', 'rejected'];

const NEXT: Record<RequestState, readonly RequestState[]> = {
  accepted: ['submitting', 'creating', 'failed', 'timed_out'],
  // submitting -> submitting records a deferred attempt (cluster busy, throttled, 5xx).
  submitting: ['submitting', 'creating', 'failed', 'timed_out'],
  creating: ['active', 'failed', 'timed_out'],
  active: [],
  failed: [],
  // The pool turned up active after the deadline (the cloud was unreachable, or slow).
  timed_out: ['active'],
  rejected: [],
};

export function canTransition(from: RequestState, to: RequestState): boolean {
  return NEXT[from].includes(to);
}

export function isLive(state: RequestState): boolean {
  return LIVE_STATES.includes(state);
}

/** What the cloud said when it refused or failed a request. */
export interface CloudFailure {
  code: string;
  message: string;
  requestId?: string;
  /** NodePoolAlreadyExists: the pool that holds the name, and our request that created it, if one did. */
  existing?: { nodepoolId: string; nodepoolRequestId?: string };
}

/** Node counts and cloud state seen at the last sweep. */
export type ObservedStatus = Pick<NodePool, 'cloudState' | 'desired' | 'total' | 'serving' | 'healthy' | 'initial' | 'failed' | 'offline' | 'removing'> & {
  at: string;
};

/** A validated create request, before it is stored. */
export interface Submission {
  provider: Provider;
  regionId?: string;
  clusterId: string;
  nodepoolName: string;
  /** The provider's create parameters exactly as given, secrets included. */
  request: Record<string, unknown>;
  deadlineMinutes?: number;
  idempotencyKey?: string;
}

export interface NodepoolRequest {
  id: string;
  /** Empty only on a rejected message that named no valid pool. */
  provider: Provider;
  regionId?: string;
  clusterId: string;
  nodepoolName: string;
  state: RequestState;
  /** The create parameters with secrets masked. */
  request: Record<string, unknown>;
  /** AES-256-GCM sealed secrets, kept only while a retry may need them. */
  sealedSecrets?: string;
  idempotencyKey?: string;
  bodyHash: string;
  source: 'http' | 'queue';
  nodepoolId?: string;
  taskId?: string;
  attempts: number;
  /** Set, and committed, before each CreateClusterNodePool call: a create may have happened. */
  createStartedAt?: Date;
  deadlineAt: Date;
  nextAttemptAt?: Date;
  leaseOwner?: string;
  leaseExpiresAt?: Date;
  lastError?: CloudFailure;
  observed?: ObservedStatus;
  rejectReasons?: Array<{ path: string; message: string }>;
  createdAt: Date;
  updatedAt: Date;
}

export interface HistoryEntry {
  at: Date;
  state: RequestState;
  note: string;
  cloudRequestId?: string;
}
