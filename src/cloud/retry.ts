/**
 * Capped exponential backoff with full jitter, bounded by the caller's time budget
 * (an absolute deadline on the injected clock).
 */
import type { Clock } from '../clock.js';
import { type CloudError, toCloudError } from './errors.js';

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseDelayMs: 200, maxDelayMs: 5_000, maxAttempts: 20 };

/** Full jitter: a uniform delay between zero and the capped exponential step. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryOptions<T> {
  clock: Clock;
  /** Absolute time (clock ms) after which no new attempt starts. */
  deadline: number;
  policy?: RetryPolicy;
  random?: () => number;
  /**
   * Runs before each new attempt. Returning a value ends the retry loop with it: a create
   * uses this to adopt a pool that an ambiguous earlier attempt did create.
   */
  beforeRetry?: (err: CloudError, attempt: number) => Promise<T | undefined>;
  onRetry?: (err: CloudError, attempt: number, delayMs: number) => void;
  /** Narrows which retryable errors are retried here; the rest go back to the caller at once. */
  shouldRetry?: (err: CloudError) => boolean;
}

export async function withRetry<T>(op: (attempt: number) => Promise<T>, opts: RetryOptions<T>): Promise<T> {
  const policy = opts.policy ?? defaultRetryPolicy;
  let last: CloudError | undefined;
  for (let attempt = 1; ; attempt++) {
    let error: CloudError;
    try {
      return await op(attempt);
    } catch (err) {
      error = toCloudError(err);
      error.attempts = attempt;
    }
    // An attempt that found no time left says nothing about the cloud: report what the cloud last said.
    if (error.code === 'BudgetExhausted' && last) {
      last.budgetExhausted = true;
      throw last;
    }
    last = error;
    if (!error.retryable || attempt >= policy.maxAttempts || opts.shouldRetry?.(error) === false) throw error;
    const delay = backoffDelay(attempt, policy, opts.random);
    if (opts.clock.now() + delay >= opts.deadline) {
      error.budgetExhausted = true;
      throw error;
    }
    opts.onRetry?.(error, attempt, delay);
    await opts.clock.sleep(delay);
    if (opts.beforeRetry) {
      const settled = await opts.beforeRetry(error, attempt);
      if (settled !== undefined) return settled;
    }
  }
}
