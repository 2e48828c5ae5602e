/**
 * The node-pool request: what was asked (a Submission), and what the system keeps of it (a
 * NodepoolRequest). Its states and their transitions are in state.ts.
 */
import type { NodeCounts, NodePool, Provider } from '../cloud/nodepool.js';
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

/** A validated create request, before it is stored. */
export interface Submission {
  provider: Provider;
  regionId?: string;
  clusterId: string;
  nodepoolName: string;
  /** The provider's CreateClusterNodePool parameters exactly as given, secrets included. */
  createParams: Record<string, unknown>;
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
  /** The CreateClusterNodePool parameters, with secrets masked. */
  createParams: Record<string, unknown>;
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
