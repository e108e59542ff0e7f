import type {HttpClient} from './http.js'
import {networkOutcome} from './logdna.js'
import {CLOUD_LOGS_INGEST_PATH} from './settings.js'
import {classifyResponse, describeBody, type SendOutcome, type Sink, type SinkLimits} from './sink.js'

/**
 * IBM Cloud Logs ingestion (docs/sinks.md §3): `POST {url}/logs/v1/singles` with a JSON array of entries and an IAM
 * bearer token. Tokens come from a TokenProvider (IamAuthenticator by default: cached, refreshed before `exp`).
 */
export interface TokenProvider {
  /** A valid access token (cached and refreshed by the provider). */
  token(): Promise<string>
}

/** An IAM failure: `auth` when IAM refused the API key (no point retrying), else transient. */
export class TokenError extends Error {
  readonly auth: boolean
  constructor(message: string, auth: boolean) {
    super(message)
    this.name = 'TokenError'
    this.auth = auth
  }
}

/** IamAuthenticator from ibm-cloud-sdk-core, loaded on first use. `iamUrl` is the IAM base (no /identity/token). */
export function iamTokenProvider(apiKey: string, iamUrl: string): TokenProvider {
  let authenticator: {authenticate(o: {headers?: Record<string, string>}): Promise<void>} | undefined
  return {
    async token() {
      if (!authenticator) {
        const {IamAuthenticator} = await import('ibm-cloud-sdk-core')
        authenticator = new IamAuthenticator({apikey: apiKey, url: iamUrl})
      }
      const request: {headers: Record<string, string>} = {headers: {}}
      try {
        await authenticator.authenticate(request)
      } catch (error) {
        const e = error as {status?: number; statusText?: string; message?: string; body?: string}
        const status = e.status
        const detail = e.body ? describeBody(String(e.body)) : describeBody(e.message ?? String(error))
        if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
          throw new TokenError(`IBM Cloud IAM refused the API key (${status}${detail ? `: ${detail}` : ''}); check IBMCLOUD_API_KEY`, true)
        }
        throw new TokenError(`IBM Cloud IAM is unreachable or failing${status ? ` (${status})` : ''}: ${detail}`, false)
      }
      const header = request.headers.Authorization ?? ''
      const token = header.replace(/^Bearer\s+/i, '')
      if (!token) throw new TokenError('IBM Cloud IAM returned no access token', false)
      return token
    },
  }
}

export interface CloudLogsSinkOptions {
  /** Ingress base URL, without /logs/v1/singles. */
  url: string
  tokens: TokenProvider
  http: HttpClient
  userAgent: string
  timeoutMs?: number
  limits?: Partial<SinkLimits>
  now?: () => number
}

/** Cloud Logs: at most 2 MB per request; we flush at 1 MiB or 5 000 entries. */
export const CLOUD_LOGS_LIMITS: SinkLimits = {batchBytes: 1024 * 1024, batchLines: 5000}
export const CLOUD_LOGS_MAX_REQUEST_BYTES = 2 * 1024 * 1024

export class CloudLogsSink implements Sink {
  readonly kind = 'cloud-logs' as const
  readonly destination: string
  readonly limits: SinkLimits
  private readonly options: CloudLogsSinkOptions

  constructor(options: CloudLogsSinkOptions) {
    this.options = options
    this.destination = options.url + CLOUD_LOGS_INGEST_PATH
    this.limits = {...CLOUD_LOGS_LIMITS, ...options.limits}
  }

  readonly framing = {prefix: '[', suffix: ']'}

  async send(body: Buffer, _lines: number, signal?: AbortSignal): Promise<SendOutcome> {
    let token: string
    try {
      token = await this.options.tokens.token()
    } catch (error) {
      if (error instanceof TokenError) return error.auth ? {type: 'auth', status: 401, reason: error.message} : {type: 'retry', reason: error.message}
      return {type: 'retry', reason: `IBM Cloud IAM: ${(error as Error).message}`}
    }
    let res
    try {
      res = await this.options.http.post(
        this.destination,
        {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'user-agent': this.options.userAgent,
          accept: 'application/json',
        },
        body,
        {timeoutMs: this.options.timeoutMs ?? 30_000, signal},
      )
    } catch (error) {
      return networkOutcome(error, 'the Cloud Logs ingress endpoint')
    }
    const outcome = classifyResponse(res, 'the Cloud Logs ingress endpoint', (this.options.now ?? Date.now)())
    if (outcome.type === 'auth') {
      return {
        ...outcome,
        reason: `Cloud Logs refused the bearer token (${res.status}): the identity behind IBMCLOUD_API_KEY needs the Sender role on the instance`,
      }
    }
    return outcome
  }

  close(): void {
    this.options.http.close()
  }
}
