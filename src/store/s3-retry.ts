/**
 * Retries with exponential backoff and full jitter (the AWS Architecture Blog's "Exponential Backoff
 * and Jitter"): many clients failing together do not come back together. The SDK's own retry is off
 * (maxAttempts: 1) because its token bucket gives up after a burst of faults, and because a retried
 * download must resume from the bytes already hashed, which only the caller knows.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable } from './s3-errors.js';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Delay before attempt `attempt + 1` (attempt counts from 1). */
export const backoffDelay = (attempt: number, policy: RetryPolicy, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));

/**
 * Run `fn` until it succeeds, a non-retryable error occurs, or `maxAttempts` is spent; the last
 * error is thrown as is (the caller maps it).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, retryable: (error: unknown) => boolean = isRetryable): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.maxAttempts || !retryable(error)) throw error;
      await sleep(backoffDelay(attempt, policy));
    }
  }
}
