/**
 * Retry rules shared by the sinks (docs/sinks.md §2.5): decorrelated jitter, Retry-After, which failures are transient.
 */
export interface BackoffOptions {
  /** First sleep and lower bound, ms (default 1000). */
  baseMs?: number
  /** Upper bound, ms (default 30000). */
  capMs?: number
  /** Random number in [0, 1) (tests pass a fixed one). */
  random?: () => number
}

/** Decorrelated jitter: sleep = min(cap, random_between(base, 3 × previous sleep)). */
export class Backoff {
  private readonly base: number
  private readonly cap: number
  private readonly random: () => number
  private previous: number

  constructor(options: BackoffOptions = {}) {
    this.base = Math.max(0, options.baseMs ?? 1000)
    this.cap = Math.max(this.base, options.capMs ?? 30_000)
    this.random = options.random ?? Math.random
    this.previous = this.base
  }

  /** The next sleep; at least `atLeast` ms (Retry-After), which also becomes the new "previous". */
  next(atLeast = 0): number {
    const high = Math.max(this.base, 3 * this.previous)
    let sleep = Math.min(this.cap, this.base + this.random() * (high - this.base))
    if (atLeast > sleep) sleep = atLeast
    this.previous = sleep
    return Math.round(sleep)
  }
}

/** Longest Retry-After honoured (ms): a larger value is clamped to this. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000

/** Retry-After: delay-seconds or an HTTP date; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value
  if (v === undefined || v.trim() === '') return undefined
  const text = v.trim()
  let ms: number
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000
  else {
    const t = Date.parse(text)
    if (Number.isNaN(t)) return undefined
    ms = t - now
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)))
}

/** Network failures worth another attempt (logger-node / python client lists, plus undici/socket variants). */
const RETRYABLE_NETWORK = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'HPE_INVALID_CONSTANT',
  'HPE_INVALID_EOF_STATE',
])

export function isRetryableNetworkCode(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE_NETWORK.has(code)
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599)
}
