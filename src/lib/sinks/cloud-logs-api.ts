import type {FlowlogConfig} from '../config/settings.js'
import {AuthError, ConfigError, errorMessage, redact, registerSecret, RemoteError, UsageError} from '../errors.js'
import type {AlertSummary, TriggerInterval} from './alerts.js'
import {iamTokenProvider, TokenError, type TokenProvider} from './cloud-logs.js'
import {DEFAULT_IAM_URL, isInsecureRemote, normaliseBaseUrl, resolveSinkSettings, type SinkFlags} from './settings.js'

/**
 * The IBM Cloud Logs management API (docs/sinks.md §8): `https://<instance>.api.<region>.logs.cloud.ibm.com`, an IAM
 * bearer token, alerts under `/v1/alerts` and queries at `POST /v1/query` (answers streamed as server-sent events).
 * Shapes follow the published SDK (IBM/logs-go-sdk `logsv0/logs_v0.go` CreateAlertOptions, `logs_v0_dataprime.go`
 * QueryOptions). Every path is appended to the base URL, so a base with a path (a proxy, the test fakes) keeps it.
 */
/** Also named in remote-flags.ts (kept apart for start-up); a test checks that both say the same. */
export const CLOUD_LOGS_API_URL_ENV = 'FLOWLOG_CLOUD_LOGS_API_URL'

/** `base` + `/v1/…`, keeping the base URL's own path (`new URL(path, base)` would drop it). */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`)
}

export interface CloudLogsApiFlags extends SinkFlags {
  cloudLogsApiUrl?: string
}

export interface CloudLogsApiSettings {
  baseUrl: string
  urlSource: string
  apiKey: string
  iamUrl: string
}

/**
 * The API base URL: --cloud-logs-api-url > FLOWLOG_CLOUD_LOGS_API_URL > --cloud-logs-instance ID --region R > the
 * ingress URL forward uses (`<id>.ingress.<region>.logs.cloud.ibm.com` → `<id>.api.…`; any other base, such as a
 * proxy, serves both). The API key is IBMCLOUD_API_KEY or the config file's, never a flag.
 */
export function resolveCloudLogsApi(flags: CloudLogsApiFlags, env: NodeJS.ProcessEnv, config: FlowlogConfig): CloudLogsApiSettings {
  let baseUrl: string | undefined
  let urlSource = ''
  const explicit = flags.cloudLogsApiUrl ?? (env[CLOUD_LOGS_API_URL_ENV]?.trim() ? env[CLOUD_LOGS_API_URL_ENV] : undefined)
  if (explicit !== undefined) {
    urlSource = flags.cloudLogsApiUrl !== undefined ? '--cloud-logs-api-url' : CLOUD_LOGS_API_URL_ENV
    baseUrl = normaliseBaseUrl(explicit, urlSource, '/v1')
  } else if (flags.cloudLogsInstance !== undefined && flags.cloudLogsUrl === undefined) {
    const ingress = resolveSinkSettings({...flags, sink: 'cloud-logs'}, env, config, {requireCredentials: false}).url
    baseUrl = ingressToApi(ingress)
    urlSource = '--cloud-logs-instance'
  } else {
    let ingress: string
    try {
      const s = resolveSinkSettings({...flags, sink: 'cloud-logs'}, env, config, {requireCredentials: false})
      ingress = s.url
      urlSource = `${s.urlSource} (ingress URL)`
    } catch (error) {
      if (error instanceof ConfigError) {
        throw new ConfigError('no IBM Cloud Logs API URL', {
          code: 'no_api_url',
          suggestions: [
            'Pass --cloud-logs-instance ID --region REGION, or --cloud-logs-api-url https://<INSTANCE_ID>.api.<REGION>.logs.cloud.ibm.com',
            `or set ${CLOUD_LOGS_API_URL_ENV} (or FLOWLOG_CLOUD_LOGS_URL, the ingress URL forward uses)`,
          ],
        })
      }
      throw error
    }
    baseUrl = ingressToApi(ingress)
  }
  const apiKey = env.IBMCLOUD_API_KEY?.trim() || config.apiKey?.trim()
  if (!apiKey) {
    throw new ConfigError('no IBM Cloud API key for Cloud Logs', {
      suggestions: ['Set IBMCLOUD_API_KEY (an identity with the Reader role to search, Manager to manage alerts)', 'or save it with `flowlog setup`'],
    })
  }
  registerSecret(apiKey)
  if (isInsecureRemote(baseUrl)) throw new UsageError(`${urlSource}: ${baseUrl} must use https (the bearer token would travel in the clear)`)
  const iamUrl = env.FLOWLOG_IAM_URL?.trim() ? normaliseBaseUrl(env.FLOWLOG_IAM_URL, 'FLOWLOG_IAM_URL', '/identity/token') : DEFAULT_IAM_URL
  return {baseUrl, urlSource, apiKey, iamUrl}
}

/** `https://<id>.ingress.<region>.logs.cloud.ibm.com[/p]` → `https://<id>.api.…`; other URLs unchanged. */
export function ingressToApi(ingress: string): string {
  const u = new URL(ingress)
  const host = u.hostname.replace(/^([^.]+)\.ingress\.((?:private\.)?[a-z]{2}-[a-z]+\.logs\.cloud\.ibm\.com)$/i, '$1.api.$2')
  return `${u.protocol}//${host}${u.port ? `:${u.port}` : ''}${u.pathname.replace(/\/+$/, '')}`
}

// ---------------------------------------------------------------------------------------------------------------
// Alert bodies (CreateAlertOptions)
// ---------------------------------------------------------------------------------------------------------------

/** Alert severities as the API spells them (CreateAlertOptions_Severity_*). */
export const CLOUD_LOGS_SEVERITIES = {info: 'info_or_unspecified', warning: 'warning', error: 'error', critical: 'critical'} as const
export type AlertSeverityName = keyof typeof CLOUD_LOGS_SEVERITIES

/** The trigger intervals flowlog takes → AlertsV2ConditionParameters timeframes (30s and 25h have none). */
const TIMEFRAMES: Partial<Record<TriggerInterval, string>> = {
  '1m': 'timeframe_1_min',
  '5m': 'timeframe_5_min_or_unspecified',
  '15m': 'timeframe_15_min',
  '30m': 'timeframe_30_min',
  '1h': 'timeframe_1_h',
  '6h': 'timeframe_6_h',
  '12h': 'timeframe_12_h',
  '24h': 'timeframe_24_h',
}

export interface CloudLogsAlertSpec {
  name: string
  /** The flowlog query (kept in the description) and its Lucene translation (the filter). */
  query: string
  lucene: string
  app: string
  triggerLimit: number
  triggerInterval: TriggerInterval
  severity: AlertSeverityName
  /** The outbound integration (e.g. IBM Event Notifications routing to Slack) notified; none = no notification. */
  integrationId?: number
}

export interface CloudLogsAlertBody {
  name: string
  description: string
  is_active: boolean
  severity: string
  condition: {immediate: Record<string, never>} | {more_than: {parameters: {threshold: number; timeframe: string}; evaluation_window: string}}
  filters: {text: string; filter_type: 'text_or_unspecified'; metadata: {applications: string[]}}
  notification_groups?: {notifications: {integration_id: number; notify_on: 'triggered_only'; retriggering_period_seconds: number}[]}[]
}

/**
 * The `POST /v1/alerts` body: fire on every matching entry (limit 1) or when more than limit − 1 (at least limit)
 * match within the interval; filter `text` is the Lucene query, `metadata.applications` the app forward sends.
 */
export function cloudLogsAlertBody(spec: CloudLogsAlertSpec): CloudLogsAlertBody {
  if (spec.name.trim() === '') throw new UsageError('the alert name must not be empty')
  if (spec.query.trim() === '' || spec.lucene === '*') throw new UsageError('--query must not be empty: an alert on every line is not useful')
  if (!Number.isInteger(spec.triggerLimit) || spec.triggerLimit < 1) throw new UsageError('--trigger-limit must be a whole number of at least 1')
  let condition: CloudLogsAlertBody['condition']
  if (spec.triggerLimit === 1) condition = {immediate: {}}
  else {
    const timeframe = TIMEFRAMES[spec.triggerInterval]
    if (!timeframe) {
      throw new UsageError(`--trigger-interval ${spec.triggerInterval === '30' ? '30s' : spec.triggerInterval} has no Cloud Logs timeframe`, {
        suggestions: ['Use 1m, 5m, 15m, 30m, 1h, 6h, 12h or 24h with --sink cloud-logs (or --trigger-limit 1: every match alerts)'],
      })
    }
    condition = {more_than: {parameters: {threshold: spec.triggerLimit - 1, timeframe}, evaluation_window: 'rolling_or_unspecified'}}
  }
  const body: CloudLogsAlertBody = {
    name: spec.name,
    description: `flowlog: ${spec.query}`,
    is_active: true,
    severity: CLOUD_LOGS_SEVERITIES[spec.severity],
    condition,
    filters: {text: spec.lucene, filter_type: 'text_or_unspecified', metadata: {applications: [spec.app]}},
  }
  if (spec.integrationId !== undefined) {
    body.notification_groups = [{notifications: [{integration_id: spec.integrationId, notify_on: 'triggered_only', retriggering_period_seconds: 600}]}]
  }
  return body
}

/** An alert as the API returns it (Alert). */
export interface CloudLogsAlert {
  id: string
  name: string
  description?: string
  is_active?: boolean
  severity?: string
  condition?: Record<string, unknown>
  filters?: {text?: string; metadata?: {applications?: string[]}}
  notification_groups?: {notifications?: {integration_id?: number; recipients?: {emails?: string[]}}[]}[]
}

const TIMEFRAME_LABEL = Object.fromEntries(Object.entries(TIMEFRAMES).map(([k, v]) => [v, k]))

/** A line of `alert list`, the same shape as for Log Analysis (viewid is the alert id). */
export function summariseCloudLogsAlert(alert: Pick<CloudLogsAlert, 'name' | 'condition' | 'filters' | 'notification_groups' | 'description'> & {id?: string}): AlertSummary {
  const cond = alert.condition ?? {}
  let trigger = '(no condition)'
  if ('immediate' in cond) trigger = 'presence ≥ 1 (every match)'
  else if ('more_than' in cond) {
    const p = ((cond.more_than as {parameters?: {threshold?: number; timeframe?: string}}).parameters ?? {}) as {threshold?: number; timeframe?: string}
    trigger = `presence ≥ ${(p.threshold ?? 0) + 1} in ${TIMEFRAME_LABEL[p.timeframe ?? ''] ?? p.timeframe ?? '?'}`
  } else trigger = Object.keys(cond)[0] ?? trigger
  const channels: string[] = []
  for (const g of alert.notification_groups ?? []) {
    for (const n of g.notifications ?? []) {
      if (n.integration_id !== undefined) channels.push(`integration ${n.integration_id}`)
      else if (n.recipients?.emails) channels.push(`email ${n.recipients.emails.join(', ')}`)
    }
  }
  return {
    viewid: alert.id ?? '',
    name: alert.name,
    query: alert.description?.startsWith('flowlog: ') ? alert.description.slice('flowlog: '.length) : (alert.filters?.text ?? ''),
    category: alert.filters?.metadata?.applications ?? [],
    trigger,
    channels,
  }
}

/** By id, else by exact name; an ambiguous name is an error (as for Log Analysis views). */
export function findCloudLogsAlert(alerts: CloudLogsAlert[], nameOrId: string): CloudLogsAlert {
  const byId = alerts.find((a) => a.id === nameOrId)
  if (byId) return byId
  const byName = alerts.filter((a) => a.name === nameOrId)
  if (byName.length === 1) return byName[0]
  if (byName.length > 1) {
    throw new UsageError(`${byName.length} alerts are named ${JSON.stringify(nameOrId)}`, {suggestions: byName.map((a) => `flowlog alert delete ${a.id} --sink cloud-logs`)})
  }
  throw new UsageError(`no Cloud Logs alert named or with id ${JSON.stringify(nameOrId)}`, {
    code: 'not_found',
    suggestions: ['List them with: flowlog alert list --sink cloud-logs'],
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------------------------

export interface CloudLogsApiClientOptions {
  baseUrl: string
  tokens: TokenProvider
  fetch?: typeof fetch
  userAgent?: string
  timeoutMs?: number
}

/** One query result (ApisDataprimeV1DataprimeResults): metadata and labels as key/value lists, the entry text. */
export interface QueryResult {
  metadata: {key: string; value: string}[]
  labels: {key: string; value: string}[]
  user_data: string
}

export interface QueryRequest {
  lucene: string
  startDate?: number
  endDate?: number
  limit: number
  tier?: 'frequent_search' | 'archive'
  signal?: AbortSignal
}

export class CloudLogsApiClient {
  private readonly fetch: typeof fetch
  constructor(private readonly options: CloudLogsApiClientOptions) {
    this.fetch = options.fetch ?? fetch
  }

  static fromSettings(settings: CloudLogsApiSettings, userAgent?: string): CloudLogsApiClient {
    return new CloudLogsApiClient({baseUrl: settings.baseUrl, tokens: iamTokenProvider(settings.apiKey, settings.iamUrl), userAgent})
  }

  private async send(method: string, path: string, body: unknown, accept: string, signal?: AbortSignal): Promise<Response> {
    let token: string
    try {
      token = await this.options.tokens.token()
    } catch (error) {
      if (error instanceof TokenError && error.auth) throw new AuthError(error.message, {code: 'auth'})
      throw new RemoteError(`IBM Cloud IAM: ${errorMessage(error)}`, {code: 'iam'})
    }
    const url = joinUrl(this.options.baseUrl, path)
    let res: Response
    try {
      res = await this.fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept,
          ...(body === undefined ? {} : {'content-type': 'application/json'}),
          ...(this.options.userAgent ? {'user-agent': this.options.userAgent} : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ?? AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      })
    } catch (error) {
      throw new RemoteError(redact(`cannot reach the Cloud Logs API at ${this.options.baseUrl}: ${errorMessage(error)}`), {code: 'network'})
    }
    if (res.ok) return res
    const text = await res.text().catch(() => '')
    const message = apiError(text, res.status)
    if (res.status === 401 || res.status === 403) {
      throw new AuthError(`Cloud Logs refused the request (${res.status}): ${message}`, {
        code: 'auth',
        suggestions: ['The identity behind IBMCLOUD_API_KEY needs the Reader role on the instance to search, Manager to manage alerts'],
      })
    }
    throw new RemoteError(`Cloud Logs ${method} ${path} failed (${res.status}): ${message}`, {status: res.status, code: res.status === 404 ? 'not_found' : 'remote'})
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, 'application/json')
    const text = await res.text()
    if (text === '') return undefined as T
    try {
      return JSON.parse(text) as T
    } catch {
      throw new RemoteError(`Cloud Logs ${method} ${path}: the answer is not JSON`)
    }
  }

  async createAlert(body: CloudLogsAlertBody): Promise<CloudLogsAlert> {
    const alert = await this.json<CloudLogsAlert>('POST', '/v1/alerts', body)
    if (!alert || typeof alert.id !== 'string') throw new RemoteError('Cloud Logs created the alert but returned no id')
    return alert
  }

  async listAlerts(): Promise<CloudLogsAlert[]> {
    const data = await this.json<{alerts?: CloudLogsAlert[]}>('GET', '/v1/alerts')
    if (!data || (data.alerts !== undefined && !Array.isArray(data.alerts))) throw new RemoteError('unexpected answer to GET /v1/alerts')
    return data.alerts ?? []
  }

  async deleteAlert(id: string): Promise<void> {
    await this.json('DELETE', `/v1/alerts/${encodeURIComponent(id)}`)
  }

  /** `POST /v1/query` with Lucene syntax: the results as they stream in (server-sent events). */
  async *query(req: QueryRequest): AsyncGenerator<QueryResult> {
    const metadata: Record<string, unknown> = {tier: req.tier ?? 'frequent_search', syntax: 'lucene', limit: req.limit}
    if (req.startDate !== undefined) metadata.start_date = new Date(req.startDate).toISOString()
    if (req.endDate !== undefined) metadata.end_date = new Date(req.endDate).toISOString()
    const res = await this.send('POST', '/v1/query', {query: req.lucene, metadata}, 'text/event-stream', req.signal)
    if (!res.body) return
    const decoder = new TextDecoder()
    let buffer = ''
    let data: string[] = []
    const handle = function* (payload: string): Generator<QueryResult> {
      let item: {error?: {message?: string}; errors?: {message?: string}[]; result?: {results?: QueryResult[]}}
      try {
        item = JSON.parse(payload)
      } catch {
        throw new RemoteError(`Cloud Logs query: an event is not JSON: ${payload.slice(0, 200)}`)
      }
      if (item.error) throw new RemoteError(`Cloud Logs query failed: ${item.error.message ?? 'error'}`, {code: 'query_error'})
      if (item.errors?.length) throw new RemoteError(`Cloud Logs query failed: ${item.errors.map((e) => e.message).join('; ')}`, {code: 'query_error'})
      for (const r of item.result?.results ?? []) yield r
    }
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, {stream: true})
      let nl: number
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl).replace(/\r$/, '')
        buffer = buffer.slice(nl + 1)
        if (line === '') {
          if (data.length > 0) yield* handle(data.join('\n'))
          data = []
        } else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
        // `: …` comments are keep-alives; other fields (event:, id:) carry nothing we use.
      }
    }
    if (data.length > 0) yield* handle(data.join('\n'))
  }
}

function apiError(text: string, status: number): string {
  try {
    const d = JSON.parse(text) as {errors?: {message?: string; code?: string}[]; message?: string; error?: {message?: string}}
    if (Array.isArray(d.errors) && d.errors.length) return redact(d.errors.map((e) => e.message ?? e.code ?? '').join('; '))
    if (typeof d.message === 'string') return redact(d.message)
    if (d.error?.message) return redact(d.error.message)
  } catch {
    // not JSON
  }
  return text.trim() ? redact(text.trim().slice(0, 300)) : `HTTP ${status}`
}

/** The sink of `flowlog alert`: --sink, else the config file's sink, else IBM Cloud Logs. */
export function resolveAlertSink(flag: string | undefined, config: FlowlogConfig): 'logdna' | 'cloud-logs' {
  if (flag === 'logdna' || flag === 'cloud-logs') return flag
  if (flag !== undefined) throw new UsageError(`--sink must be cloud-logs or logdna, not ${JSON.stringify(flag)}`)
  return config.sink === 'logdna' ? 'logdna' : 'cloud-logs'
}

/** The flags `flowlog alert … --sink cloud-logs` shares (docs/sinks.md §8.4). */
export interface CloudLogsAlertFlags {
  region?: string
  'cloud-logs-instance'?: string
  'cloud-logs-url'?: string
  'cloud-logs-api-url'?: string
}

export function alertApiFlags(flags: CloudLogsAlertFlags): CloudLogsApiFlags {
  return {region: flags.region, cloudLogsInstance: flags['cloud-logs-instance'], cloudLogsUrl: flags['cloud-logs-url'], cloudLogsApiUrl: flags['cloud-logs-api-url']}
}
