import type {FlowlogConfig} from '../config/settings.js'
import {AuthError, ConfigError, errorMessage, redact, registerSecret, RemoteError, UsageError} from '../errors.js'
import {isInsecureRemote, isRetiredLogAnalysisUrl, LOGDNA_REGIONS, retiredLogAnalysisError} from './settings.js'
import {maskWebhookUrl} from './slack.js'

/**
 * The Log Analysis / Mezmo configuration API (docs/sinks.md §4.5): categories, views and view-specific alerts.
 * Authenticated with a service key (`servicekey` header) from FLOWLOG_LOGDNA_SERVICE_KEY or the config file — never a
 * flag. `flowlog alert create` makes one view per alert in the `flowlog` category, with one presence channel: a
 * webhook pointed at a Slack Incoming Webhook (§4.6).
 */
export const SERVICE_KEY_ENV = 'FLOWLOG_LOGDNA_SERVICE_KEY'
export const API_URL_ENV = 'FLOWLOG_LOGDNA_API_URL'
export const DEFAULT_CATEGORY = 'flowlog'

/** Named API hosts accepted by --api-url besides IBM region names. */
export const CONFIG_API_PRESETS: Record<string, string> = {
  mezmo: 'https://api.mezmo.com',
  logdna: 'https://api.logdna.com',
}

export const TRIGGER_INTERVALS = ['30', '1m', '5m', '15m', '30m', '1h', '6h', '12h', '24h', '25h'] as const
export type TriggerInterval = (typeof TRIGGER_INTERVALS)[number]

const INTERVAL_MS: Record<TriggerInterval, number> = {
  '30': 30_000,
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '12h': 43_200_000,
  '24h': 86_400_000,
  '25h': 90_000_000,
}

/** `30`, `30s`, `1m`, … → the API's spelling. */
export function parseTriggerInterval(text: string): TriggerInterval {
  const t = text.trim().toLowerCase()
  const v = t === '30s' ? '30' : t === '60s' ? '1m' : t === '1d' ? '24h' : t
  if (!(TRIGGER_INTERVALS as readonly string[]).includes(v)) {
    throw new UsageError(`--trigger-interval ${JSON.stringify(text)} is not one the service accepts`, {
      suggestions: [`Use one of 30s, ${TRIGGER_INTERVALS.slice(1, -1).join(', ')}`],
    })
  }
  return v as TriggerInterval
}

export function triggerIntervalMs(interval: TriggerInterval): number {
  return INTERVAL_MS[interval]
}

// ---------------------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------------------

/** A region name (`us-south`, `private.us-south`), a preset (`mezmo`) or an http(s) URL → the API base URL. */
export function normaliseApiUrl(value: string, what = '--api-url'): string {
  const v = value.trim()
  const preset = CONFIG_API_PRESETS[v.toLowerCase()]
  if (preset) return preset
  const region = /^(private\.)?([a-z]{2}-[a-z]+)$/.exec(v)
  if (region) {
    if (!(LOGDNA_REGIONS as readonly string[]).includes(region[2])) {
      throw new UsageError(`unknown Log Analysis region ${JSON.stringify(region[2])}`, {suggestions: [`Use one of ${LOGDNA_REGIONS.join(', ')}, mezmo, or a URL`]})
    }
    return `https://api.${region[1] ? 'private.' : ''}${region[2]}.logging.cloud.ibm.com`
  }
  let url: URL
  try {
    url = new URL(v)
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(value)} is neither a URL, a region nor a preset`, {
      suggestions: [`Use e.g. https://api.us-south.logging.cloud.ibm.com, us-south, or mezmo`],
    })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${what} must be an http(s) URL`)
  if (url.username || url.password) throw new UsageError(`${what} must not carry credentials; set ${SERVICE_KEY_ENV}`)
  if (url.search || url.hash) throw new UsageError(`${what} must not have a query or fragment`)
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`
  if (isInsecureRemote(base)) throw new UsageError(`${what} must use https: the service key would travel in the clear`)
  return base
}

export interface ConfigApiSettings {
  baseUrl: string
  serviceKey: string
}

/**
 * flag > FLOWLOG_LOGDNA_API_URL > config logdnaApiUrl > Mezmo's public API; an IBM Log Analysis host is refused (retired
 * March 2025). Service key from FLOWLOG_LOGDNA_SERVICE_KEY > config.
 */
export function resolveConfigApi(options: {apiUrl?: string; env?: NodeJS.ProcessEnv; config?: FlowlogConfig}): ConfigApiSettings {
  const env = options.env ?? process.env
  const rawUrl = options.apiUrl ?? (env[API_URL_ENV] && env[API_URL_ENV]!.trim() !== '' ? env[API_URL_ENV] : undefined) ?? (options.config?.logdnaApiUrl as string | undefined)
  const source = rawUrl === undefined ? 'default (Mezmo)' : options.apiUrl ? '--api-url' : env[API_URL_ENV] ? API_URL_ENV : 'config logdnaApiUrl'
  const baseUrl = rawUrl === undefined ? CONFIG_API_PRESETS.mezmo : normaliseApiUrl(rawUrl, options.apiUrl ? '--api-url' : API_URL_ENV)
  if (isRetiredLogAnalysisUrl(baseUrl)) throw retiredLogAnalysisError(baseUrl, source)
  const fromEnv = env[SERVICE_KEY_ENV]
  const serviceKey = fromEnv && fromEnv.trim() !== '' ? fromEnv.trim() : (options.config?.logdnaServiceKey as string | undefined)
  if (!serviceKey) {
    throw new ConfigError('no Log Analysis service key', {
      code: 'no_service_key',
      suggestions: [`Set ${SERVICE_KEY_ENV} (Settings → Organization → API keys → Service keys); it is never taken as a flag`],
    })
  }
  registerSecret(serviceKey)
  return {baseUrl, serviceKey}
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------------------------

export interface WebhookChannel {
  integration: 'webhook'
  url: string
  method: 'post' | 'put' | 'patch' | 'get' | 'delete'
  headers?: Record<string, string>
  bodyTemplate?: Record<string, unknown>
  operator: 'presence' | 'absence'
  triggerlimit: number
  triggerinterval: TriggerInterval
  immediate: boolean
  terminal: boolean
  timezone?: string
}

export interface ViewPrototype {
  name: string
  category: string[]
  query?: string
  apps?: string[]
  hosts?: string[]
  levels?: string[]
  tags?: string[]
  channels?: WebhookChannel[]
}

/** A view as the API returns it (ids spelled viewID or viewid depending on the call). */
export interface View {
  viewid: string
  name: string
  query?: string
  apps?: string[]
  hosts?: string[]
  levels?: string[]
  tags?: string[]
  category?: string[]
  channels: Record<string, unknown>[]
}

export interface Category {
  id?: string
  name: string
  type?: string
}

function normaliseView(raw: unknown): View {
  const v = (raw ?? {}) as Record<string, unknown>
  const id = v.viewid ?? v.viewID ?? v.viewId ?? v.id
  return {
    ...(v as object),
    viewid: typeof id === 'string' ? id : String(id ?? ''),
    name: typeof v.name === 'string' ? v.name : '',
    channels: Array.isArray(v.channels) ? (v.channels as Record<string, unknown>[]) : [],
  } as View
}

// ---------------------------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------------------------

export interface ConfigClientOptions extends ConfigApiSettings {
  fetch?: typeof fetch
  timeoutMs?: number
  userAgent?: string
  /** Attempts for GET on 429/5xx/network failures (default 3); writes are tried once. */
  maxAttempts?: number
  sleep?: (ms: number) => Promise<void>
}

export class LogdnaConfigClient {
  private readonly fetch: typeof fetch
  constructor(private readonly options: ConfigClientOptions) {
    this.fetch = options.fetch ?? fetch
  }

  get baseUrl(): string {
    return this.options.baseUrl
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<{status: number; data: T}> {
    const attempts = method === 'GET' ? Math.max(1, this.options.maxAttempts ?? 3) : 1
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
    let lastError = ''
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let res: Response
      try {
        res = await this.fetch(`${this.options.baseUrl}${path}`, {
          method,
          headers: {
            servicekey: this.options.serviceKey,
            Accept: 'application/json',
            ...(body === undefined ? {} : {'Content-Type': 'application/json'}),
            ...(this.options.userAgent ? {'User-Agent': this.options.userAgent} : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        })
      } catch (error) {
        lastError = `cannot reach ${this.options.baseUrl}: ${errorMessage(error)}`
        if (attempt < attempts) {
          await sleep(500 * attempt)
          continue
        }
        throw new RemoteError(redact(lastError), {code: 'network'})
      }
      const text = await res.text()
      let data: unknown
      try {
        data = text === '' ? undefined : JSON.parse(text)
      } catch {
        data = text
      }
      if (res.ok) return {status: res.status, data: data as T}
      const message = apiErrorMessage(data, res.status)
      if ((res.status === 429 || res.status >= 500) && attempt < attempts) {
        lastError = message
        await sleep(500 * attempt)
        continue
      }
      if (res.status === 401 || res.status === 403) {
        throw new AuthError(`Log Analysis refused the service key (${res.status}): ${message}`, {
          code: 'auth',
          suggestions: [`Check ${SERVICE_KEY_ENV}: it must be a service key (not an ingestion key) of this instance`],
        })
      }
      throw new RemoteError(`Log Analysis ${method} ${path} failed (${res.status}): ${message}`, {status: res.status, code: res.status === 404 ? 'not_found' : 'remote'})
    }
    throw new RemoteError(redact(lastError))
  }

  async listCategories(type: 'views' | 'boards' | 'screens' = 'views'): Promise<Category[]> {
    const {data} = await this.request<unknown>('GET', `/v1/config/categories/${type}`)
    if (!Array.isArray(data)) throw new RemoteError(`unexpected answer to GET /v1/config/categories/${type}: not a list`)
    return data as Category[]
  }

  async createCategory(name: string, type: 'views' | 'boards' | 'screens' = 'views'): Promise<Category> {
    const {data} = await this.request<Category>('POST', `/v1/config/categories/${type}`, {name})
    return data
  }

  /** Create the category unless it exists (the API needs it before the view). */
  async ensureCategory(name: string): Promise<{created: boolean}> {
    const existing = await this.listCategories('views')
    if (existing.some((c) => c.name === name)) return {created: false}
    await this.createCategory(name, 'views')
    return {created: true}
  }

  async createView(view: ViewPrototype): Promise<View> {
    const {data} = await this.request<unknown>('POST', '/v1/config/view', view)
    const created = normaliseView(data)
    if (!created.viewid) throw new RemoteError('Log Analysis created the view but returned no viewid')
    return {...normaliseView(view), ...created}
  }

  async listViews(): Promise<View[]> {
    const {data} = await this.request<unknown>('GET', '/v1/config/view')
    if (!Array.isArray(data)) throw new RemoteError('unexpected answer to GET /v1/config/view: not a list')
    return data.map(normaliseView)
  }

  async deleteView(viewid: string): Promise<void> {
    await this.request('DELETE', `/v1/config/view/${encodeURIComponent(viewid)}`)
  }
}

function apiErrorMessage(data: unknown, status: number): string {
  if (data && typeof data === 'object') {
    const d = data as Record<string, unknown>
    if (typeof d.error === 'string') return redact(d.error)
    if (typeof d.message === 'string') return redact(d.message)
  }
  if (typeof data === 'string' && data.trim() !== '') return redact(data.trim().slice(0, 300))
  return `HTTP ${status}`
}

// ---------------------------------------------------------------------------------------------------------------
// Alerts: one view + one presence webhook channel
// ---------------------------------------------------------------------------------------------------------------

export interface AlertSpec {
  name: string
  query: string
  webhookUrl: string
  triggerLimit?: number
  triggerInterval?: TriggerInterval
  category?: string
  /** The envelope app forward sends (default vpc-flowlogs): the view's app filter. */
  app?: string
  /** Slack message template (Log Analysis tokens: {{ matches }}, {{ name }}, {{ url }}, {{ query }}, …). */
  text?: string
}

export const DEFAULT_ALERT_TEXT = '{{ matches }} flow(s) matched view {{ name }} (query: {{ query }}): {{ url }}'

/** The POST /v1/config/view body for an alert (docs/sinks.md §4.6). */
export function alertView(spec: AlertSpec): ViewPrototype {
  if (spec.name.trim() === '') throw new UsageError('the alert name must not be empty')
  if (spec.query.trim() === '') throw new UsageError('--query must not be empty: an alert on every line is not useful')
  const limit = spec.triggerLimit ?? 1
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--trigger-limit must be a whole number of at least 1')
  return {
    name: spec.name,
    category: [spec.category ?? DEFAULT_CATEGORY],
    apps: [spec.app ?? 'vpc-flowlogs'],
    query: spec.query,
    channels: [
      {
        integration: 'webhook',
        url: spec.webhookUrl,
        method: 'post',
        headers: {'Content-Type': 'application/json'},
        bodyTemplate: {text: spec.text ?? DEFAULT_ALERT_TEXT},
        operator: 'presence',
        triggerlimit: limit,
        triggerinterval: spec.triggerInterval ?? '30',
        immediate: true,
        terminal: false,
      },
    ],
  }
}

export interface AlertSummary {
  viewid: string
  name: string
  query: string
  category: string[]
  /** e.g. "presence ≥ 1 in 30s" */
  trigger: string
  /** Channel kinds with their (masked) targets. */
  channels: string[]
}

function intervalLabel(v: unknown): string {
  return v === '30' || v === 30 ? '30s' : String(v ?? '?')
}

/** A view as a line of `alert list` (webhook URLs masked: they are credentials). */
export function summariseView(view: View): AlertSummary {
  const first = view.channels[0] ?? {}
  const trigger = view.channels.length
    ? `${String(first.operator ?? '?')} ≥ ${String(first.triggerlimit ?? '?')} in ${intervalLabel(first.triggerinterval)}`
    : '(no alert)'
  return {
    viewid: view.viewid,
    name: view.name,
    query: view.query ?? '',
    category: view.category ?? [],
    trigger,
    channels: view.channels.map((c) => {
      const kind = String(c.integration ?? '?')
      if (typeof c.url === 'string') return `${kind} ${maskWebhookUrl(c.url)}`
      if (Array.isArray(c.emails)) return `${kind} ${c.emails.join(', ')}`
      return kind
    }),
  }
}

/** Find a view by id, else by exact name; an ambiguous name is an error. */
export function findView(views: View[], nameOrId: string): View {
  const byId = views.find((v) => v.viewid === nameOrId)
  if (byId) return byId
  const byName = views.filter((v) => v.name === nameOrId)
  if (byName.length === 1) return byName[0]
  if (byName.length > 1) {
    throw new UsageError(`${byName.length} views are named ${JSON.stringify(nameOrId)}`, {
      suggestions: byName.map((v) => `flowlog alert delete ${v.viewid}`),
    })
  }
  throw new UsageError(`no alert or view named or with id ${JSON.stringify(nameOrId)}`, {
    code: 'not_found',
    suggestions: ['List them with: flowlog alert list'],
  })
}
