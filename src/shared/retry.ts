/**
 * The one retry helper: exponential backoff with decorrelated jitter (cockatiel), so instances
 * that failed together do not retry in lockstep. Every transient-dependency wait in the service
 * goes through here; what counts as transient is the caller's `shouldRetry` (usually
 * `isRetriable` from failure policy), never a blanket catch.
 */
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';

export interface RetryOptions {
  /** Mean first delay, ms (jittered). */
  readonly initialDelayMs: number;
  /** Cap on one delay, ms. */
  readonly maxDelayMs: number;
  /** Retries after the first attempt; Infinity retries for as long as `shouldRetry` agrees. */
  readonly maxRetries: number;
  /** True when `e` is worth another attempt. Checked after every failure. */
  readonly shouldRetry: (e: unknown) => boolean;
  /** Called before each wait (logs, metrics); `attempt` counts retries from 1. */
  readonly onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, `shouldRetry` says no, or the retries run out; then throws the
 * last error unchanged. `fn` gets the retry number (0 for the first attempt), e.g. to heartbeat
 * before a retry.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const policy = retry(
    handleWhen((e) => o.shouldRetry(e)),
    {
      maxAttempts: o.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: o.initialDelayMs, maxDelay: o.maxDelayMs }),
    },
  );
  const onRetry = o.onRetry;
  const listener = onRetry
    ? policy.onRetry((r) => onRetry('error' in r ? r.error : r.value, r.attempt, r.delay))
    : null;
  try {
    return await policy.execute(({ attempt }) => fn(attempt));
  } finally {
    listener?.dispose();
  }
}
