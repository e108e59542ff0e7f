import type {FlowlogConfig} from '../config/settings.js'
import {ConfigError, registerSecret, UsageError} from '../errors.js'
import type {SinkKind} from './encode.js'

/**
 * Where forward sends lines and with which credentials (docs/sinks.md §2.1, §2.2, §3).
 * Precedence: flag > environment > config file > default. Secrets come only from the environment or the config file.
 */

/** IBM Log Analysis regions (the final endpoints page, plus kr-seo from the 2021 agent docs). */
export const LOGDNA_REGIONS = ['au-syd', 'br-sao', 'ca-tor', 'eu-de', 'eu-es', 'eu-gb', 'in-che', 'jp-osa', 'jp-tok', 'kr-seo', 'us-east', 'us-south'] as const

/** Named ingestion hosts accepted by --logdna-url. */
export const LOGDNA_PRESETS: Record<string, string> = {
  mezmo: 'https://logs.mezmo.com',
  logdna: 'https://logs.logdna.com',
}

export const LOGDNA_INGEST_PATH = '/logs/ingest'
export const CLOUD_LOGS_INGEST_PATH = '/logs/v1/singles'
export const DEFAULT_IAM_URL = 'https://iam.cloud.ibm.com'
/** Mezmo's public ingestion host: what `--sink logdna` uses with no URL (IBM Log Analysis is retired). */
export const MEZMO_INGEST_URL = LOGDNA_PRESETS.mezmo

/** IBM Log Analysis hosts (`logs.<region>.logging.cloud.ibm.com`, `api.…`): retired in March 2025 (docs/sinks.md §8.1). */
export function isRetiredLogAnalysisUrl(url: string): boolean {
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return false
  }
  return host === 'logging.cloud.ibm.com' || host.endsWith('.logging.cloud.ibm.com')
}

/** A ConfigError (exit 3) for an IBM Log Analysis URL: the service is gone; say where to go instead. */
export function retiredLogAnalysisError(url: string, source: string): ConfigError {
  return new ConfigError(`IBM Log Analysis was retired in March 2025: ${url} (from ${source}) no longer accepts lines or API calls`, {
    code: 'log_analysis_retired',
    suggestions: [
      'Send to IBM Cloud Logs instead: --sink cloud-logs (the default) with --cloud-logs-url or --cloud-logs-instance ID --region REGION',
      'or, for Mezmo SaaS or a self-hosted LogDNA, --sink logdna --logdna-url mezmo (or the URL of your LogDNA)',
    ],
  })
}

export function logdnaRegionUrl(region: string, privateEndpoint = false): string {
  if (!(LOGDNA_REGIONS as readonly string[]).includes(region)) {
    throw new UsageError(`unknown Log Analysis region ${JSON.stringify(region)}`, {
      suggestions: [`Use one of ${LOGDNA_REGIONS.join(', ')}`, 'or pass --logdna-url URL (e.g. --logdna-url mezmo)'],
    })
  }
  return `https://logs.${privateEndpoint ? 'private.' : ''}${region}.logging.cloud.ibm.com`
}

export function cloudLogsRegionUrl(instanceId: string, region: string, privateEndpoint = false): string {
  if (!/^[0-9a-f-]{8,64}$/i.test(instanceId)) {
    throw new UsageError(`--cloud-logs-instance ${JSON.stringify(instanceId)} is not an instance ID (a GUID)`)
  }
  if (!/^[a-z]{2}-[a-z]+$/.test(region)) throw new UsageError(`--region ${JSON.stringify(region)} is not a region name such as us-south`)
  return `https://${instanceId}.ingress.${privateEndpoint ? 'private.' : ''}${region}.logs.cloud.ibm.com`
}

/** Normalise an ingestion base URL: a preset name, or an http(s) URL; a trailing ingest path is removed. */
export function normaliseBaseUrl(value: string, what: string, ingestPath: string, presets: Record<string, string> = {}): string {
  const trimmed = value.trim()
  const preset = presets[trimmed.toLowerCase()]
  if (preset) return preset
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(value)} is not a URL`, {
      suggestions: [`Give the ingestion host, e.g. https://logs.us-south.logging.cloud.ibm.com${Object.keys(presets).length ? `, or one of: ${Object.keys(presets).join(', ')}` : ''}`],
    })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${what} must be an http(s) URL, not ${url.protocol}`)
  if (url.username || url.password) throw new UsageError(`${what} must not carry credentials; use the environment or the config file`)
  if (url.search || url.hash) throw new UsageError(`${what} must be a host (and optional path) without query or fragment`)
  let path = url.pathname.replace(/\/+$/, '')
  if (path.endsWith(ingestPath)) path = path.slice(0, -ingestPath.length)
  return `${url.protocol}//${url.host}${path}`
}

/** Whether a URL sends credentials in the clear over a network (http to something other than loopback). */
export function isInsecureRemote(url: string): boolean {
  const u = new URL(url)
  if (u.protocol !== 'http:') return false
  return !['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) && !u.hostname.startsWith('127.')
}

export interface SinkFlags {
  sink?: string
  logdnaUrl?: string
  region?: string
  private?: boolean
  auth?: string
  cloudLogsUrl?: string
  cloudLogsInstance?: string
}

export interface LogdnaSettings {
  kind: 'logdna'
  /** Ingestion base URL (no path); /logs/ingest is appended. */
  url: string
  urlSource: string
  /** Undefined only when credentials were not required (dry run). */
  ingestionKey?: string
  auth: 'apikey' | 'basic'
}

export interface CloudLogsSettings {
  kind: 'cloud-logs'
  url: string
  urlSource: string
  apiKey?: string
  /** IAM base URL (no path). */
  iamUrl: string
}

export type SinkSettings = LogdnaSettings | CloudLogsSettings

const nonEmpty = (s: string | undefined): string | undefined => (s !== undefined && s.trim() !== '' ? s.trim() : undefined)

/**
 * The sink kind: --sink, else the config file's sink, else IBM Cloud Logs (the default: IBM Log Analysis was retired
 * in March 2025; `--sink logdna` is for Mezmo SaaS and self-hosted LogDNA).
 */
export function resolveSinkKind(flag: string | undefined, _env: NodeJS.ProcessEnv, config: FlowlogConfig): SinkKind {
  if (flag !== undefined) {
    if (flag !== 'logdna' && flag !== 'cloud-logs') throw new UsageError(`--sink must be logdna or cloud-logs, not ${JSON.stringify(flag)}`)
    return flag
  }
  if (config.sink === 'logdna' || config.sink === 'cloud-logs') return config.sink
  return 'cloud-logs'
}

export function resolveSinkSettings(
  flags: SinkFlags,
  env: NodeJS.ProcessEnv,
  config: FlowlogConfig,
  options: {requireCredentials?: boolean} = {},
): SinkSettings {
  const requireCredentials = options.requireCredentials ?? true
  const kind = resolveSinkKind(flags.sink, env, config)
  if (flags.private && !flags.region) throw new UsageError('--private needs --region (it picks the private endpoint of that region)')
  if (kind === 'logdna') {
    if (flags.cloudLogsUrl !== undefined || flags.cloudLogsInstance !== undefined) {
      throw new UsageError('--cloud-logs-url and --cloud-logs-instance are for --sink cloud-logs')
    }
    let url: string | undefined
    let urlSource = ''
    if (flags.logdnaUrl !== undefined) {
      url = normaliseBaseUrl(flags.logdnaUrl, '--logdna-url', LOGDNA_INGEST_PATH, LOGDNA_PRESETS)
      urlSource = '--logdna-url'
    } else if (nonEmpty(env.FLOWLOG_LOGDNA_URL)) {
      url = normaliseBaseUrl(env.FLOWLOG_LOGDNA_URL!, 'FLOWLOG_LOGDNA_URL', LOGDNA_INGEST_PATH, LOGDNA_PRESETS)
      urlSource = 'FLOWLOG_LOGDNA_URL'
    } else if (flags.region) {
      url = logdnaRegionUrl(flags.region, flags.private)
      urlSource = `--region ${flags.region}${flags.private ? ' --private' : ''}`
    } else if (nonEmpty(config.logdnaUrl)) {
      url = normaliseBaseUrl(config.logdnaUrl!, 'logdnaUrl in the config file', LOGDNA_INGEST_PATH, LOGDNA_PRESETS)
      urlSource = 'config logdnaUrl'
    }
    if (!url) {
      url = MEZMO_INGEST_URL
      urlSource = 'default (Mezmo)'
    }
    if (isRetiredLogAnalysisUrl(url)) throw retiredLogAnalysisError(url, urlSource)
    const auth = flags.auth ?? 'apikey'
    if (auth !== 'apikey' && auth !== 'basic') throw new UsageError(`--auth must be apikey or basic, not ${JSON.stringify(auth)}`)
    const ingestionKey = nonEmpty(env.FLOWLOG_LOGDNA_INGESTION_KEY) ?? nonEmpty(config.logdnaIngestionKey)
    registerSecret(ingestionKey)
    if (!ingestionKey && requireCredentials) {
      throw new ConfigError('no Log Analysis ingestion key', {
        suggestions: [
          'Set FLOWLOG_LOGDNA_INGESTION_KEY in the environment (from a secret in Code Engine)',
          'or save it with `flowlog setup` (config file key logdnaIngestionKey, mode 0600); it is never taken as a flag',
        ],
      })
    }
    return {kind, url, urlSource, ingestionKey, auth}
  }
  if (flags.logdnaUrl !== undefined) throw new UsageError('--logdna-url is for --sink logdna; use --cloud-logs-url')
  if (flags.auth !== undefined) throw new UsageError('--auth is for --sink logdna (Cloud Logs uses an IAM bearer token)')
  let url: string | undefined
  let urlSource = ''
  if (flags.cloudLogsUrl !== undefined) {
    url = normaliseBaseUrl(flags.cloudLogsUrl, '--cloud-logs-url', CLOUD_LOGS_INGEST_PATH)
    urlSource = '--cloud-logs-url'
  } else if (nonEmpty(env.FLOWLOG_CLOUD_LOGS_URL)) {
    url = normaliseBaseUrl(env.FLOWLOG_CLOUD_LOGS_URL!, 'FLOWLOG_CLOUD_LOGS_URL', CLOUD_LOGS_INGEST_PATH)
    urlSource = 'FLOWLOG_CLOUD_LOGS_URL'
  } else if (flags.cloudLogsInstance !== undefined) {
    const region = flags.region ?? config.region
    if (!region) throw new UsageError('--cloud-logs-instance needs --region')
    url = cloudLogsRegionUrl(flags.cloudLogsInstance, region, flags.private)
    urlSource = '--cloud-logs-instance'
  } else if (nonEmpty(config.cloudLogsUrl)) {
    url = normaliseBaseUrl(config.cloudLogsUrl!, 'cloudLogsUrl in the config file', CLOUD_LOGS_INGEST_PATH)
    urlSource = 'config cloudLogsUrl'
  }
  if (!url) {
    throw new ConfigError('no IBM Cloud Logs ingress URL', {
      suggestions: [
        'Pass --cloud-logs-url https://<INSTANCE_ID>.ingress.<REGION>.logs.cloud.ibm.com',
        'or set FLOWLOG_CLOUD_LOGS_URL, or pass --cloud-logs-instance ID --region REGION',
      ],
    })
  }
  const apiKey = nonEmpty(env.IBMCLOUD_API_KEY) ?? nonEmpty(config.apiKey)
  registerSecret(apiKey)
  if (!apiKey && requireCredentials) {
    throw new ConfigError('no IBM Cloud API key for Cloud Logs', {
      suggestions: ['Set IBMCLOUD_API_KEY (an identity with the Sender role on the Cloud Logs instance)', 'or save it with `flowlog setup`'],
    })
  }
  const iamUrl = nonEmpty(env.FLOWLOG_IAM_URL)
    ? normaliseBaseUrl(env.FLOWLOG_IAM_URL!, 'FLOWLOG_IAM_URL', '/identity/token')
    : DEFAULT_IAM_URL
  return {kind, url, urlSource, apiKey, iamUrl}
}
