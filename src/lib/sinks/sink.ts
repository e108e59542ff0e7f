import type {IncomingHttpHeaders} from 'node:http'

import {redact} from '../errors.js'
import type {Framing} from './batch.js'
import type {SinkKind} from './encode.js'
import type {HttpResponse} from './http.js'
import {isRetryableStatus, parseRetryAfter} from './retry.js'

/** What one request to an ingestion API came back with, classified by the retry rules (docs/sinks.md §2.5). */
export type SendOutcome =
  | {type: 'ok'; status: number}
  /** 207: one status per line, in order. */
  | {type: 'partial'; status: 207; statuses: number[]}
  /** 429, 5xx or a network error: try again later. */
  | {type: 'retry'; status?: number; retryAfterMs?: number; reason: string}
  /** 400 "too large" (or 413): split the batch. */
  | {type: 'too-large'; status: number; reason: string}
  /** 401/403: stop everything. */
  | {type: 'auth'; status: number; reason: string}
  /** Any other client error: the batch fails. */
  | {type: 'fail'; status?: number; reason: string}

export interface SinkLimits {
  /** Flush a batch at this many body bytes. */
  batchBytes: number
  /** … or at this many lines. */
  batchLines: number
}

/** One ingestion API: how to wrap entries into a body, and one attempt at sending it. */
export interface Sink {
  readonly kind: SinkKind
  /** The ingestion endpoint (no query string): the ledger's identity and what messages name. */
  readonly destination: string
  readonly limits: SinkLimits
  /** What goes around the comma-separated entries of a request body. */
  readonly framing: Framing
  /** One attempt; never throws for HTTP or network failures (they are outcomes). */
  send(body: Buffer, lines: number, signal?: AbortSignal): Promise<SendOutcome>
  close(): void
}

const TOO_LARGE = /too large|too big|size limit|exceeds? (?:the )?(?:max|limit)/i

/** A short, credential-free description of an error body. */
export function describeBody(text: string): string {
  let detail = text.trim()
  try {
    const json = JSON.parse(detail) as Record<string, unknown>
    const parts: string[] = []
    for (const k of ['error', 'errors', 'message', 'errorMessage', 'details']) {
      const v = json[k]
      if (v === undefined) continue
      parts.push(typeof v === 'string' ? v : JSON.stringify(v))
    }
    if (parts.length > 0) detail = parts.join('; ')
  } catch {
    // plain text body
  }
  detail = redact(detail.replace(/\s+/g, ' '))
  return detail.length > 300 ? detail.slice(0, 300) + '…' : detail
}

/** The common classification of an HTTP answer (207 handling is left to the caller). */
export function classifyResponse(res: HttpResponse, service: string, now: number = Date.now()): SendOutcome {
  const {status} = res
  if (status >= 200 && status < 300) return {type: 'ok', status}
  const detail = describeBody(res.text)
  const reason = `${service} answered ${status}${detail ? `: ${detail}` : ''}`
  if (status === 401 || status === 403) return {type: 'auth', status, reason}
  if (isRetryableStatus(status)) return {type: 'retry', status, retryAfterMs: retryAfter(res.headers, now), reason}
  if (status === 413 || (status === 400 && TOO_LARGE.test(res.text))) return {type: 'too-large', status, reason}
  return {type: 'fail', status, reason}
}

function retryAfter(headers: IncomingHttpHeaders, now: number): number | undefined {
  return parseRetryAfter(headers['retry-after'], now)
}

/** Parse a 207 body `{"status":[200,400,…]}`; undefined when it is not one status per line. */
export function parseMultiStatus(text: string, lines: number): number[] | undefined {
  try {
    const json = JSON.parse(text) as {status?: unknown}
    if (!Array.isArray(json.status) || json.status.length !== lines) return undefined
    const out: number[] = []
    for (const s of json.status) {
      const n = typeof s === 'number' ? s : typeof s === 'string' ? Number(s) : typeof s === 'object' && s !== null ? Number((s as {status?: unknown}).status) : NaN
      if (!Number.isInteger(n)) return undefined
      out.push(n)
    }
    return out
  } catch {
    return undefined
  }
}
