/** Exponential backoff with jitter for COS calls. */
import {sleep} from '../sleep.js'

export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  maxAttempts?: number
  /** First backoff in ms (default 250); doubles each time, with jitter, capped at maxDelayMs. */
  baseDelayMs?: number
  maxDelayMs?: number
  signal?: AbortSignal
  /** Whether this error is worth another attempt. */
  retryable: (error: unknown) => boolean
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
  /** Random source in [0,1) (tests). */
  random?: () => number
}

export function backoffDelay(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** (attempt - 1))
  // "Equal jitter": at least half the ceiling, so retries never bunch up at zero.
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/** Run `fn(attempt)` until it succeeds, the error is not retryable, or the attempts are used up (last error thrown). */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5)
  const base = options.baseDelayMs ?? 250
  const max = options.maxDelayMs ?? 8000
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted()
    try {
      return await fn(attempt)
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error
      if (attempt >= maxAttempts || !options.retryable(error)) throw error
      const delay = backoffDelay(attempt, base, max, options.random)
      options.onRetry?.(error, attempt, delay)
      await sleep(delay, options.signal)
    }
  }
}
