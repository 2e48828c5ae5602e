/**
 * The node-pool request: what was asked (a Submission), and what the system keeps of it (a
 * NodepoolRequest). Its states and their transitions are in state.ts.
 */
import type { NodeCounts, NodePool, Provider } from '../cloud/nodepool.js';
import type { Labels } from '../labels.js';
import type { RequestState } from './state.js';

/** What the cloud said when it refused or failed a request. */
export interface CloudFailure {
  code: string;
  message: string;
  requestId?: string;
  /** NodePoolAlreadyExists: the pool that holds the name, and our request that created it, if one did. */
  existing?: { nodepoolId: string; nodepoolRequestId?: string };
}

/** Node counts and cloud state seen at the last sweep. */
export type ObservedStatus = NodeCounts & Pick<NodePool, 'cloudState'> & { at: string };

/** What a request does to its pool. */
export type Operation = 'create' | 'scale' | 'delete';
export const OPERATIONS: readonly Operation[] = ['create', 'scale', 'delete'];

/** A validated request, before it is stored. */
export interface Submission {
  operation: Operation;
  provider: Provider;
  regionId?: string;
  clusterId: string;
  nodepoolName: string;
  /**
   * create: the provider's CreateClusterNodePool parameters exactly as given, secrets included;
   * scale and delete: the operation's own fields (desiredSize, confirm, force).
   */
  createParams: Record<string, unknown>;
  /** scale and delete: the pool's id, when the caller named it (the name is always given). */
  nodepoolId?: string;
  /** scale: the desired size asked for. */
  targetSize?: number;
  deadlineMinutes?: number;
  idempotencyKey?: string;
  /** The caller's labels (labels.ts), copied onto the pool's alerts. */
  labels?: Labels;
}

export interface NodepoolRequest {
  id: string;
  /** Empty only on a rejected message that named no valid pool. */
  provider: Provider;
  regionId?: string;
  clusterId: string;
  nodepoolName: string;
  operation: Operation;
  /** scale: the desired size asked for. */
  targetSize?: number;
  /** Who sent it: the API token's name, or `queue`. */
  createdBy?: string;
  /** The caller's labels, copied onto the pool's alerts. */
  labels?: Labels;
  state: RequestState;
  /** The CreateClusterNodePool parameters (or a scale's or delete's fields), with secrets masked. */
  createParams: Record<string, unknown>;
  /** AES-256-GCM sealed secrets, kept only while a retry may need them. */
  sealedSecrets?: string;
  idempotencyKey?: string;
  bodyHash: string;
  source: 'http' | 'queue';
  nodepoolId?: string;
  taskId?: string;
  attempts: number;
  /** Set, and committed, before each write call (create, scale, delete): it may have happened. */
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
