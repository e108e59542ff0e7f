/**
 * The shared base for flowlog's hand-written IBM Cloud clients (VPC, Code Engine, …), built on ibm-cloud-sdk-core:
 * an IAM authenticator, a BaseService subclass with one `request()` and one paging helper, and the ONE place that
 * turns HTTP failures into flowlog's typed errors (with secrets redacted).
 *
 * Error mapping (after the SDK's own retries of 429/5xx):
 *   IAM refuses the key (400/401/403 from the token service) → AuthError (exit 3)
 *   401/403                → ApiAuthError (an AuthError, exit 3), with status and body
 *   404                    → NotFoundError (a RemoteError, exit 4), with status and body
 *   409                    → ConflictError (a RemoteError, exit 4), with status and body (e.g. conflicts_with)
 *   other 4xx              → ApiError (a RemoteError, exit 4), with status and body
 *   429 / 5xx              → ApiError (exit 4)
 *   no answer (network)    → RemoteError (exit 4)
 */
import {BaseService, IamAuthenticator, type UserOptions} from 'ibm-cloud-sdk-core'

import {API_KEY_ENV, type CredentialOptions, resolveApiKey} from './credentials.js'
import {AuthError, ConfigError, type FlowlogErrorOptions, RemoteError, redact, registerSecret} from '../errors.js'

// The API key lives in credentials.ts (no SDK there: commands check for a key without loading it).
export {API_KEY_ENV, type CredentialOptions, hasApiKey, resolveApiKey} from './credentials.js'

export const DEFAULT_IAM_URL = 'https://iam.cloud.ibm.com'
export const IAM_URL_ENV = 'FLOWLOG_IAM_URL'
/** Optional: how many times the SDK retries 429/5xx/network failures (default 4). Tests set it low. */
export const MAX_RETRIES_ENV = 'FLOWLOG_HTTP_MAX_RETRIES'
/** Optional: ceiling of one retry delay, in seconds (default 30). */
export const RETRY_INTERVAL_ENV = 'FLOWLOG_HTTP_RETRY_INTERVAL'

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/** What every API error carries besides its message. */
export interface ApiErrorInfo {
  /** HTTP status. */
  status?: number
  /** The service's own error code (VPC/CE `errors[0].code`, IAM `errorCode`). */
  apiCode?: string
  /** The service's trace id, for support tickets. */
  trace?: string
  /** The parsed error body (redacted copy), e.g. IAM policy `errors[0].details.conflicts_with.policy.id`. */
  body?: unknown
  /** Which service and call failed, e.g. `VPC GET /instances`. */
  operation?: string
}

/** A non-2xx answer that is not 401/403/404/409 (400, 412, 422, 429, 5xx …): exit 4. */
export class ApiError extends RemoteError {
  readonly apiCode?: string
  readonly trace?: string
  readonly body?: unknown
  readonly operation?: string
  constructor(message: string, info: ApiErrorInfo = {}, options: FlowlogErrorOptions = {}) {
    super(message, {code: options.code ?? 'remote', ...options, status: info.status})
    this.apiCode = info.apiCode
    this.trace = info.trace
    this.body = info.body
    this.operation = info.operation
  }
}

/** 404: the resource does not exist (or is not visible to this key). */
export class NotFoundError extends ApiError {
  constructor(message: string, info: ApiErrorInfo = {}, options: FlowlogErrorOptions = {}) {
    super(message, {...info, status: info.status ?? 404}, {code: 'not_found', ...options})
  }
}

/** 409: the resource already exists or is in a conflicting state. */
export class ConflictError extends ApiError {
  constructor(message: string, info: ApiErrorInfo = {}, options: FlowlogErrorOptions = {}) {
    super(message, {...info, status: info.status ?? 409}, {code: 'conflict', ...options})
  }
}

/** 401/403 from a service (not from IAM): exit 3. */
export class ApiAuthError extends AuthError {
  readonly status?: number
  readonly apiCode?: string
  readonly trace?: string
  readonly body?: unknown
  readonly operation?: string
  constructor(message: string, info: ApiErrorInfo = {}, options: FlowlogErrorOptions = {}) {
    super(message, options)
    this.status = info.status
    this.apiCode = info.apiCode
    this.trace = info.trace
    this.body = info.body
    this.operation = info.operation
  }
}

/** Whether an error is a 404 from an IBM Cloud API (teardown and undo treat it as "already gone"). */
export function isNotFound(error: unknown): error is NotFoundError {
  return error instanceof NotFoundError
}

export function isConflict(error: unknown): error is ConflictError {
  return error instanceof ConflictError
}

/** The HTTP status of any error thrown by this module (undefined for network errors and non-API errors). */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof ApiError || error instanceof ApiAuthError) return error.status
  return undefined
}

/** Shape of the errors ibm-cloud-sdk-core's RequestWrapper.formatError produces. */
interface SdkError {
  message?: string
  status?: number
  statusText?: string
  result?: unknown
  body?: unknown
  code?: unknown
}

function redactDeep(value: unknown): unknown {
  if (value === undefined) return undefined
  try {
    return JSON.parse(redact(JSON.stringify(value)))
  } catch {
    return undefined
  }
}

function firstServiceError(body: unknown): {code?: string; message?: string; trace?: string; moreInfo?: string} {
  if (!body || typeof body !== 'object') return {}
  const b = body as Record<string, unknown>
  const out: {code?: string; message?: string; trace?: string; moreInfo?: string} = {}
  if (typeof b.trace === 'string') out.trace = b.trace
  if (Array.isArray(b.errors) && b.errors.length > 0 && b.errors[0] && typeof b.errors[0] === 'object') {
    const e = b.errors[0] as Record<string, unknown>
    if (typeof e.code === 'string') out.code = e.code
    if (typeof e.message === 'string') out.message = e.message
    if (typeof e.more_info === 'string') out.moreInfo = e.more_info
  }
  if (typeof b.errorCode === 'string') out.code ??= b.errorCode
  if (typeof b.errorMessage === 'string') out.message ??= b.errorMessage
  if (typeof b.message === 'string') out.message ??= b.message
  if (typeof b.error === 'string') out.message ??= b.error
  if (typeof b.code === 'string') out.code ??= b.code
  return out
}

export interface MapErrorContext {
  /** Human name of the service, e.g. `VPC`, `Code Engine`. */
  service: string
  method: string
  /** Path without query (never contains secrets). */
  path: string
  /** Base URL, for network errors. */
  serviceUrl?: string
}

/**
 * The one mapping from an HTTP failure (as thrown by ibm-cloud-sdk-core, or any error with `status`/`result`) to
 * flowlog's typed errors. Messages are redacted.
 */
export function mapHttpError(error: unknown, ctx: MapErrorContext): Error {
  if (error instanceof ApiError || error instanceof ApiAuthError || error instanceof AuthError || error instanceof ConfigError) {
    return error
  }
  const e = (error ?? {}) as SdkError
  const operation = `${ctx.service} ${ctx.method.toUpperCase()} ${ctx.path}`
  const status = typeof e.status === 'number' ? e.status : undefined
  if (status === undefined) {
    const reason = redact(e.message || String(error))
    return new RemoteError(`cannot reach ${ctx.service}${ctx.serviceUrl ? ` at ${ctx.serviceUrl}` : ''}: ${reason}`, {
      code: 'network',
      cause: error,
      suggestions: ['Check the network connection and the endpoint URL, then try again'],
    })
  }
  const body = redactDeep(e.result)
  const svc = firstServiceError(e.result)
  const serviceMessage = redact(svc.message || e.message || e.statusText || `HTTP ${status}`)
  const info: ApiErrorInfo = {status, apiCode: svc.code, trace: svc.trace, body, operation}
  const detail: Record<string, unknown> = {status, operation}
  if (svc.code) detail.apiCode = svc.code
  if (svc.trace) detail.trace = svc.trace
  const text = `${operation} failed (${status}${svc.code ? ` ${svc.code}` : ''}): ${serviceMessage}`
  if (status === 401) {
    return new ApiAuthError(text, info, {
      detail,
      suggestions: [`Check the API key (${API_KEY_ENV} or the config file); it may be wrong, expired or deleted`],
    })
  }
  if (status === 403) {
    return new ApiAuthError(text, info, {
      detail,
      suggestions: ['The API key is valid but lacks the IAM access this call needs; ask an account administrator'],
    })
  }
  if (status === 404) return new NotFoundError(text, info, {detail})
  if (status === 409) return new ConflictError(text, info, {detail})
  if (status === 429 || status >= 500) {
    return new ApiError(text, info, {
      detail,
      suggestions: [status === 429 ? 'The service is rate limiting; wait a minute and try again' : 'The service failed; try again later'],
    })
  }
  return new ApiError(text, info, {code: status === 400 ? 'bad_request' : 'remote', detail})
}

// ---------------------------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------------------------

/** The IAM base URL (without `/identity/token`): `FLOWLOG_IAM_URL`, else https://iam.cloud.ibm.com. */
export function resolveIamUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env[IAM_URL_ENV]
  const base = url && url.trim() !== '' ? url.trim() : DEFAULT_IAM_URL
  return base.replace(/\/+$/, '').replace(/\/identity\/token$/, '')
}

export interface AuthenticatorOptions extends CredentialOptions {
  /** Explicit key (from resolveApiKey); otherwise resolved from env/config. */
  apiKey?: string
  /** Explicit IAM base URL; otherwise resolved from env. */
  iamUrl?: string
}

/** An IamAuthenticator for the key and IAM URL (the key is registered for redaction). */
export function createAuthenticator(options: AuthenticatorOptions = {}): IamAuthenticator {
  const apikey = options.apiKey ?? resolveApiKey(options)
  registerSecret(apikey)
  const url = options.iamUrl ?? resolveIamUrl(options.env)
  try {
    return new IamAuthenticator({apikey, url})
  } catch (error) {
    throw new ConfigError(`the IBM Cloud API key is not usable: ${redact((error as Error).message)}`, {code: 'bad_api_key'})
  }
}

/** Map a failure of the IAM token exchange. */
export function mapIamError(error: unknown, iamUrl?: string): Error {
  const e = (error ?? {}) as SdkError
  if (typeof e.status === 'number') {
    const svc = firstServiceError(e.result)
    const message = redact(svc.message || e.message || `HTTP ${e.status}`)
    if (e.status === 400 || e.status === 401 || e.status === 403) {
      return new AuthError(`IAM refused the API key (${e.status}${svc.code ? ` ${svc.code}` : ''}): ${message}`, {
        code: 'iam',
        detail: {status: e.status, ...(svc.code ? {apiCode: svc.code} : {})},
        suggestions: [`Check ${API_KEY_ENV} (or the apiKey in the config file): it may be wrong, deleted or for another account`],
      })
    }
    return new RemoteError(`IAM token request failed (${e.status}): ${message}`, {status: e.status, code: 'iam'})
  }
  return new RemoteError(`cannot reach IAM${iamUrl ? ` at ${iamUrl}` : ''}: ${redact(e.message || String(error))}`, {
    code: 'network',
    cause: error,
  })
}

// ---------------------------------------------------------------------------------------------------------------
// The service base
// ---------------------------------------------------------------------------------------------------------------

export type QueryValue = string | number | boolean | undefined | null
export type Query = Record<string, QueryValue>

export interface RequestOptions {
  query?: Query
  body?: unknown
  headers?: Record<string, string>
}

export interface RawResponse<T> {
  status: number
  headers: Record<string, string>
  result: T
}

export interface RetryConfig {
  /** Retries of 429/5xx/network failures (default 4, as in the SDK). 0 disables retries. */
  maxRetries?: number
  /** Ceiling of one retry delay in seconds (default 30). */
  maxRetryInterval?: number
}

export interface IbmServiceOptions {
  /** Human name for messages: `VPC`, `Code Engine`, … */
  serviceName: string
  /** Base URL, e.g. https://us-south.iaas.cloud.ibm.com/v1 */
  serviceUrl: string
  /** An authenticator from createAuthenticator() (or any ibm-cloud-sdk-core authenticator). */
  authenticator: UserOptions['authenticator']
  /** Query parameters sent with every call (e.g. VPC `version` and `generation`). */
  defaultQuery?: Query
  /** Headers sent with every call. */
  headers?: Record<string, string>
  retry?: RetryConfig
  /** Read retry settings from this environment (FLOWLOG_HTTP_MAX_RETRIES, FLOWLOG_HTTP_RETRY_INTERVAL). */
  env?: NodeJS.ProcessEnv
}

/** Retry settings: explicit options > environment > SDK defaults. */
export function resolveRetry(retry: RetryConfig | undefined, env: NodeJS.ProcessEnv = process.env): Required<RetryConfig> {
  const num = (s: string | undefined) => (s !== undefined && s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : undefined)
  return {
    maxRetries: retry?.maxRetries ?? num(env[MAX_RETRIES_ENV]) ?? 4,
    maxRetryInterval: retry?.maxRetryInterval ?? num(env[RETRY_INTERVAL_ENV]) ?? 30,
  }
}

function cleanQuery(query: Query | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!query) return out
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) out[k] = String(v)
  return out
}

/**
 * A hand-written IBM Cloud REST client: `request()` authenticates with IAM, sends JSON, retries 429/5xx through the
 * SDK, and throws the typed errors of mapHttpError(). Subclass it per service.
 */
export class IbmService extends BaseService {
  static DEFAULT_SERVICE_URL = 'https://cloud.ibm.com'
  readonly serviceName: string
  private readonly defaultQuery: Record<string, string>
  private readonly extraHeaders: Record<string, string>

  constructor(options: IbmServiceOptions) {
    if (!options.authenticator) throw new ConfigError(`${options.serviceName}: no authenticator`)
    super({authenticator: options.authenticator, serviceUrl: options.serviceUrl})
    this.serviceName = options.serviceName
    this.defaultQuery = cleanQuery(options.defaultQuery)
    this.extraHeaders = {...(options.headers ?? {})}
    const retry = resolveRetry(options.retry, options.env)
    if (retry.maxRetries > 0) this.enableRetries({maxRetries: retry.maxRetries, maxRetryInterval: retry.maxRetryInterval})
    else this.disableRetries()
  }

  get serviceUrl(): string {
    return String(this.baseOptions.serviceUrl)
  }

  /** Authenticate (fetching or reusing the IAM token), mapping IAM failures to AuthError/RemoteError. */
  async authenticate(): Promise<void> {
    const opts: {headers: Record<string, string>} = {headers: {}}
    try {
      await this.getAuthenticator().authenticate(opts)
    } catch (error) {
      const auth = this.getAuthenticator() as {tokenManager?: {url?: string}}
      throw mapIamError(error, auth.tokenManager?.url)
    }
  }

  /** One call, returning status, headers and the parsed body. */
  async requestRaw<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse<T>> {
    await this.authenticate()
    const qs = {...this.defaultQuery, ...cleanQuery(options.query)}
    const headers: Record<string, string> = {Accept: 'application/json', ...this.extraHeaders, ...(options.headers ?? {})}
    if (options.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json'
    }
    const parameters = {
      options: {url: path, method: method.toUpperCase(), qs, body: options.body, headers},
      defaultOptions: {serviceUrl: this.serviceUrl, headers: {}},
    }
    let response: {status: number; headers?: Record<string, unknown>; result?: unknown}
    try {
      response = await this.createRequest(parameters)
    } catch (error) {
      throw mapHttpError(error, {service: this.serviceName, method, path: path.split('?')[0], serviceUrl: this.serviceUrl})
    }
    const outHeaders: Record<string, string> = {}
    for (const [k, v] of Object.entries(response?.headers ?? {})) if (v !== undefined) outHeaders[k.toLowerCase()] = String(v)
    const result = (response?.result === '' ? undefined : response?.result) as T
    return {status: response?.status ?? 0, headers: outHeaders, result}
  }

  /** One call, returning the parsed body. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.requestRaw<T>(method, path, options)).result
  }

  /**
   * Every item of a paged collection, following `next.href` (VPC, IAM policies), `next.start` (Code Engine) or
   * `next_url` (Resource Controller). `itemsKey` is the collection's array field, e.g. `instances`.
   */
  async listAll<T = unknown>(path: string, itemsKey: string, query: Query = {}, options: {limit?: number; maxPages?: number} = {}): Promise<T[]> {
    const items: T[] = []
    for await (const page of this.pages<T>(path, itemsKey, query, options)) items.push(...page)
    return items
  }

  /** Page by page (see listAll). */
  async *pages<T = unknown>(path: string, itemsKey: string, query: Query = {}, options: {limit?: number; maxPages?: number} = {}): AsyncGenerator<T[]> {
    let start: string | undefined
    const seen = new Set<string>()
    const maxPages = options.maxPages ?? 10_000
    for (let page = 0; page < maxPages; page++) {
      const q: Query = {...query}
      if (options.limit !== undefined) q.limit = options.limit
      if (start !== undefined) q.start = start
      const body = await this.request<Record<string, unknown>>('GET', path, {query: q})
      const list = body?.[itemsKey]
      if (list !== undefined && !Array.isArray(list)) {
        throw new RemoteError(`${this.serviceName} GET ${path}: \`${itemsKey}\` is not an array`, {code: 'bad_response'})
      }
      yield (list ?? []) as T[]
      const next = nextStart(body)
      if (next === undefined) return
      if (seen.has(next)) throw new RemoteError(`${this.serviceName} GET ${path}: paging loops on start=${next}`, {code: 'bad_response'})
      seen.add(next)
      start = next
    }
  }
}

/** The `start` token of the next page of a collection body, or undefined on the last page. */
export function nextStart(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined
  const b = body as Record<string, unknown>
  const next = b.next as Record<string, unknown> | undefined | null
  if (next && typeof next === 'object') {
    if (typeof next.start === 'string' && next.start !== '') return next.start
    if (typeof next.href === 'string') return startFromHref(next.href)
  }
  if (typeof b.next_url === 'string' && b.next_url !== '') return startFromHref(b.next_url)
  return undefined
}

/** The `start` query parameter of an href (absolute or relative). */
export function startFromHref(href: string): string | undefined {
  try {
    const url = new URL(href, 'http://placeholder.invalid')
    const start = url.searchParams.get('start')
    return start === null || start === '' ? undefined : start
  } catch {
    return undefined
  }
}

/** Encode one path segment (ids may contain characters such as `:` in CRNs). */
export function seg(value: string): string {
  return encodeURIComponent(value)
}
