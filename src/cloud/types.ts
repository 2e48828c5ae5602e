/** The shapes the cloud client takes and answers (see client.ts). */
import type { Clock } from '../clock.js';
import type { LimiterFactory } from './rate-limiter.js';
import type { RetryPolicy } from './retry.js';
import type { CredentialSource, Timeouts } from './transport.js';

/** ENS CreateClusterNodePool parameters, as the API reference names them. */
export interface EnsCreateRequest {
  ClusterId: string;
  NodepoolInfo: { Name: string };
  ScalingGroup: Record<string, unknown>;
  KubernetesConfig?: Record<string, unknown>;
}

/** ACK CreateClusterNodePool body (snake_case), with at least `nodepool_info.name`. */
export type AckCreateBody = Record<string, unknown> & { nodepool_info: { name: string } & Record<string, unknown> };

export interface CreateOutcome {
  nodepoolId: string;
  requestId?: string;
  taskId?: string;
  /** True when the pool was found by name after an unanswered attempt, not created by an answered one. */
  adopted: boolean;
  attempts: number;
}

export interface AckTask {
  id: string;
  state: string;
  type?: string;
  error?: { code: string; message: string };
  requestId?: string;
  /** How long the task ran by the cloud's own clock (`updated` − `created`), once it has ended. */
  durationMs?: number;
}

export interface Budget {
  /** Absolute time on the client's clock after which no new attempt starts. */
  deadline: number;
  /** Caps the attempts of each call (a sweep fails a cluster fast rather than wait on it). */
  maxAttempts?: number;
}

/** A budget as one attempt of a call is sent under it: `retry` once an earlier attempt failed (the rate limit lets it go first). */
export type AttemptBudget = Budget & { retry?: boolean };

/** Cloud calls of one API (`ens:CreateClusterNodePool`) with one outcome (`OK` or the error code) and its kind. */
export interface CallCount {
  api: string;
  outcome: string;
  kind: string;
  calls: number;
}

export interface CloudClientOptions {
  credentials: CredentialSource;
  endpoints?: Partial<{ ens: string; ack: string; vpc: string; ecs: string }>;
  timeouts?: Timeouts;
  /** Calls per second per API (the documented limits are 10 for creates and 100 for listings), and the share of one second's calls that may go at once. */
  rateLimits?: { create?: number; describe?: number; burst?: number };
  /** Where each API's limiter comes from; by default one in this process (see store/rate-limits.ts for one shared by every instance). */
  limiters?: LimiterFactory;
  retry?: RetryPolicy;
  ensPageSize?: number;
  clock?: Clock;
  random?: () => number;
  onRetry?: (event: { api: string; code: string; attempt: number; delayMs: number }) => void;
}

/** Counters a sweep reports in its summary line. */
export interface CloudMetrics {
  calls: number;
  throttled: number;
  retries: number;
  errors: number;
}
