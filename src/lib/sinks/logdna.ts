import {NetworkError, type HttpClient} from './http.js'
import {isRetryableNetworkCode} from './retry.js'
import {LOGDNA_INGEST_PATH} from './settings.js'
import {classifyResponse, parseMultiStatus, type SendOutcome, type Sink, type SinkLimits} from './sink.js'

/**
 * Log Analysis / Mezmo ingestion (docs/sinks.md §2): `POST {url}/logs/ingest?hostname=…&now=…[&tags=…]` with
 * `{"lines":[…]}`, the ingestion key in the `apikey` header (or HTTP Basic with `--auth basic`).
 */
export interface LogdnaSinkOptions {
  /** Ingestion base URL, without /logs/ingest. */
  url: string
  ingestionKey: string
  auth?: 'apikey' | 'basic'
  hostname: string
  tags?: string[]
  http: HttpClient
  userAgent: string
  timeoutMs?: number
  limits?: Partial<SinkLimits>
  /** Clock for `now` (recomputed on every attempt). */
  now?: () => number
}

/** Log Analysis limits: 10 MB per request; we flush at about 2 MiB or 5 000 lines. */
export const LOGDNA_LIMITS: SinkLimits = {batchBytes: 2 * 1024 * 1024, batchLines: 5000}
export const LOGDNA_MAX_REQUEST_BYTES = 10 * 1024 * 1024

export function networkOutcome(error: unknown, service: string): SendOutcome {
  const code = error instanceof NetworkError ? error.code : ((error as NodeJS.ErrnoException)?.code ?? 'ERROR')
  const message = error instanceof Error ? error.message : String(error)
  const reason = `${service} unreachable (${code}): ${message}`
  if (code === 'ABORTED') return {type: 'fail', reason: 'aborted'}
  if (isRetryableNetworkCode(code)) return {type: 'retry', reason}
  return {type: 'fail', reason}
}

export class LogdnaSink implements Sink {
  readonly kind = 'logdna' as const
  readonly destination: string
  readonly limits: SinkLimits
  private readonly options: LogdnaSinkOptions
  private readonly authHeader: Record<string, string>
  private readonly now: () => number

  constructor(options: LogdnaSinkOptions) {
    this.options = options
    this.destination = options.url + LOGDNA_INGEST_PATH
    this.limits = {...LOGDNA_LIMITS, ...options.limits}
    this.now = options.now ?? Date.now
    this.authHeader =
      options.auth === 'basic'
        ? {authorization: `Basic ${Buffer.from(`${options.ingestionKey}:`).toString('base64')}`}
        : {apikey: options.ingestionKey}
  }

  readonly framing = {prefix: '{"lines":[', suffix: ']}'}

  /** The request URL for one attempt: `now` is the client time at send time. */
  requestUrl(now: number): string {
    const q = new URLSearchParams({hostname: this.options.hostname, now: String(now)})
    if (this.options.tags && this.options.tags.length > 0) q.set('tags', this.options.tags.join(','))
    return `${this.destination}?${q.toString()}`
  }

  async send(body: Buffer, lines: number, signal?: AbortSignal): Promise<SendOutcome> {
    let res
    try {
      res = await this.options.http.post(
        this.requestUrl(this.now()),
        {
          ...this.authHeader,
          'content-type': 'application/json; charset=UTF-8',
          'user-agent': this.options.userAgent,
          accept: 'application/json',
        },
        body,
        {timeoutMs: this.options.timeoutMs ?? 30_000, signal},
      )
    } catch (error) {
      return networkOutcome(error, 'the ingestion endpoint')
    }
    if (res.status === 207) {
      const statuses = parseMultiStatus(res.text, lines)
      if (!statuses) return {type: 'retry', status: 207, reason: 'the ingestion endpoint answered 207 without one status per line'}
      return {type: 'partial', status: 207, statuses}
    }
    const outcome = classifyResponse(res, 'the ingestion endpoint', this.now())
    if (outcome.type === 'auth') {
      return {
        ...outcome,
        reason: `the ingestion endpoint refused the ingestion key (${res.status}): check FLOWLOG_LOGDNA_INGESTION_KEY or logdnaIngestionKey in the config file`,
      }
    }
    return outcome
  }

  close(): void {
    this.options.http.close()
  }
}
