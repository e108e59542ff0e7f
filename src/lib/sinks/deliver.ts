import type {Payload} from './batch.js'
import {sleep as defaultSleep} from '../sleep.js'
import {Backoff, type BackoffOptions} from './retry.js'
import type {Sink} from './sink.js'

/**
 * Delivering one batch with the retry rules of docs/sinks.md §2.5: 429/5xx/network errors are retried with
 * decorrelated jitter (Retry-After honoured) up to maxAttempts; a "too large" answer splits the batch in half; a 207
 * resends only the lines marked 429/5xx; 401/403 stop everything (SinkAuthError); other client errors fail the batch.
 */
export class SinkAuthError extends Error {
  readonly status: number
  constructor(message: string, status: number) {
    super(message)
    this.name = 'SinkAuthError'
    this.status = status
  }
}

export interface RetryInfo {
  attempt: number
  sleepMs: number
  reason: string
  lines: number
}

export interface DeliverOptions {
  maxAttempts?: number
  backoff?: BackoffOptions
  /** Injected for tests (default: a real timer that stops on abort). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  signal?: AbortSignal
  onRetry?: (info: RetryInfo) => void
}

export interface BatchFailure {
  /** Positions in the batch. */
  positions: number[]
  reason: string
  /** Transient failures (429/5xx/network) that outlasted every attempt: the service is down or overloaded. */
  exhausted?: boolean
}

export interface BatchResult {
  /** Positions (in the batch's entries) acknowledged by the service. */
  acked: number[]
  failed: BatchFailure[]
  requests: number
  retries: number
  splits: number
}

interface Work {
  positions: number[]
  attempt: number
  backoff: Backoff
}

export async function deliverBatch(sink: Sink, payload: Payload, options: DeliverOptions = {}): Promise<BatchResult> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 8)
  const sleep = options.sleep ?? defaultSleep
  const signal = options.signal
  const result: BatchResult = {acked: [], failed: [], requests: 0, retries: 0, splits: 0}
  const all = Array.from({length: payload.count}, (_, i) => i)
  const stack: Work[] = [{positions: all, attempt: 1, backoff: new Backoff(options.backoff)}]
  const throwIfAborted = () => {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted')
  }
  const retryLater = async (work: Work, positions: number[], reason: string, retryAfterMs?: number): Promise<void> => {
    if (work.attempt >= maxAttempts) {
      result.failed.push({positions, reason: `${reason} (gave up after ${maxAttempts} attempts)`, exhausted: true})
      return
    }
    const sleepMs = work.backoff.next(retryAfterMs ?? 0)
    options.onRetry?.({attempt: work.attempt, sleepMs, reason, lines: positions.length})
    result.retries++
    await sleep(sleepMs, signal)
    stack.push({positions, attempt: work.attempt + 1, backoff: work.backoff})
  }

  while (stack.length > 0) {
    throwIfAborted()
    const work = stack.pop()!
    const body = payload.body(work.positions)
    result.requests++
    const outcome = await sink.send(body, work.positions.length, signal)
    throwIfAborted()
    switch (outcome.type) {
      case 'ok': {
        for (const p of work.positions) result.acked.push(p)
        break
      }
      case 'partial': {
        const again: number[] = []
        const rejected = new Map<number, number[]>()
        outcome.statuses.forEach((status, i) => {
          const p = work.positions[i]
          if (status >= 200 && status < 300) result.acked.push(p)
          else if (status === 429 || (status >= 500 && status <= 599)) again.push(p)
          else {
            const list = rejected.get(status) ?? []
            list.push(p)
            rejected.set(status, list)
          }
        })
        for (const [status, positions] of rejected) result.failed.push({positions, reason: `the service rejected the line (${status} in a 207 answer)`})
        if (again.length > 0) await retryLater(work, again, `${again.length} line(s) answered 429/5xx in a 207`)
        break
      }
      case 'retry': {
        await retryLater(work, work.positions, outcome.reason, outcome.retryAfterMs)
        break
      }
      case 'too-large': {
        if (work.positions.length > 1) {
          const half = Math.ceil(work.positions.length / 2)
          result.splits++
          // Second half pushed first so the first half goes out first.
          stack.push({positions: work.positions.slice(half), attempt: 1, backoff: new Backoff(options.backoff)})
          stack.push({positions: work.positions.slice(0, half), attempt: 1, backoff: new Backoff(options.backoff)})
        } else {
          result.failed.push({positions: work.positions, reason: `a single line is too large for the service: ${outcome.reason}`})
        }
        break
      }
      case 'auth':
        throw new SinkAuthError(outcome.reason, outcome.status)
      case 'fail': {
        throwIfAborted()
        result.failed.push({positions: work.positions, reason: outcome.reason})
        break
      }
    }
  }
  return result
}
