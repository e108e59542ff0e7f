/**
 * Where COS is and how to authenticate (docs/ibm-cloud-apis.md §1.3, §4). Precedence everywhere: option (flag) >
 * environment > config file. Secrets are registered for redaction and never appear in messages.
 */
import type {FlowlogConfig} from '../config/settings.js'
import {ConfigError, registerSecret, UsageError} from '../errors.js'

export type CosEndpointType = 'public' | 'private' | 'direct'

export const DEFAULT_IAM_TOKEN_URL = 'https://iam.cloud.ibm.com/identity/token'

export type CosAuth =
  | {kind: 'hmac'; accessKeyId: string; secretAccessKey: string; source: 'env' | 'config'}
  | {kind: 'iam'; apiKey: string; instanceId?: string; tokenUrl: string; source: 'env' | 'config'}

export interface CosConnection {
  /** Endpoint URL with scheme, no trailing slash. */
  endpoint: string
  /** Where the endpoint came from (for messages). */
  endpointSource: 'flag' | 'env' | 'config' | 'region'
  /** Path-style addressing: IP and localhost endpoints cannot serve bucket.host names. */
  pathStyle: boolean
  auth: CosAuth
}

export interface CosConnectionOptions {
  env?: NodeJS.ProcessEnv
  config?: FlowlogConfig
  endpoint?: string
  region?: string
  endpointType?: CosEndpointType
  instanceId?: string
}

const ENDPOINT_TYPES: readonly CosEndpointType[] = ['public', 'private', 'direct']

/** The regional COS endpoint host: public `s3.<region>…`, private `s3.private.<region>…`, direct `s3.direct.<region>…`. */
export function regionalEndpoint(region: string, type: CosEndpointType = 'public'): string {
  if (!/^[a-z]{2}(-[a-z]+)?(-\d)?$/.test(region) && !/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(region)) {
    throw new UsageError(`${JSON.stringify(region)} is not a COS region`, {suggestions: ['Use a region such as us-south, eu-de or jp-tok']})
  }
  if (!ENDPOINT_TYPES.includes(type)) {
    throw new UsageError(`unknown COS endpoint type ${JSON.stringify(type)}`, {suggestions: ['Use public, private or direct']})
  }
  const infix = type === 'public' ? '' : `${type}.`
  return `https://s3.${infix}${region}.cloud-object-storage.appdomain.cloud`
}

/** Add https:// to a bare host, check the URL, strip the trailing slash. */
export function normaliseEndpoint(raw: string, from: string): string {
  const text = raw.trim()
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new ConfigError(`${from} ${JSON.stringify(raw)} is not a valid COS endpoint`, {
      suggestions: ['Use a host such as s3.us-south.cloud-object-storage.appdomain.cloud or a URL such as http://127.0.0.1:9000'],
    })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${from} ${JSON.stringify(raw)}: only http and https endpoints are supported`)
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.username || url.password) {
    throw new ConfigError(`${from} ${JSON.stringify(raw)} must be a scheme and host (and port) only, with no path, query or user`)
  }
  return `${url.protocol}//${url.host}`
}

/** Path-style for IP addresses and localhost (virtual-host style cannot be served there). */
export function needsPathStyle(endpoint: string): boolean {
  const host = new URL(endpoint).hostname
  return host === 'localhost' || host.endsWith('.localhost') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[')
}

/** IAM base URL (FLOWLOG_IAM_URL) → the full token URL ibm-cos-sdk's ibmAuthEndpoint wants. */
export function iamTokenUrl(base: string | undefined): string {
  if (base === undefined || base.trim() === '') return DEFAULT_IAM_TOKEN_URL
  let url: URL
  try {
    url = new URL(base.trim())
  } catch {
    throw new ConfigError(`FLOWLOG_IAM_URL ${JSON.stringify(base)} is not a URL`, {suggestions: ['Use e.g. https://iam.cloud.ibm.com']})
  }
  const path = url.pathname.replace(/\/+$/, '')
  url.pathname = path.endsWith('/identity/token') ? path : `${path}/identity/token`
  return url.toString().replace(/\/$/, '')
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined
}

function resolveAuth(options: CosConnectionOptions): CosAuth {
  const env = options.env ?? {}
  const config = options.config ?? {}
  const tokenUrl = iamTokenUrl(env.FLOWLOG_IAM_URL)
  const instanceId = nonEmpty(options.instanceId) ?? nonEmpty(env.FLOWLOG_COS_INSTANCE_ID) ?? nonEmpty(config.cosInstanceId)

  const envId = nonEmpty(env.FLOWLOG_COS_HMAC_ACCESS_KEY_ID)
  const envSecret = nonEmpty(env.FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY)
  if (envId || envSecret) {
    if (!envId || !envSecret) {
      const missing = envId ? 'FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY' : 'FLOWLOG_COS_HMAC_ACCESS_KEY_ID'
      throw new ConfigError(`incomplete HMAC credentials: ${missing} is not set`, {
        suggestions: ['Set both FLOWLOG_COS_HMAC_ACCESS_KEY_ID and FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY, or neither'],
      })
    }
    registerSecret(envSecret)
    return {kind: 'hmac', accessKeyId: envId, secretAccessKey: envSecret, source: 'env'}
  }
  const envKey = nonEmpty(env.IBMCLOUD_API_KEY)
  if (envKey) {
    registerSecret(envKey)
    return {kind: 'iam', apiKey: envKey, instanceId, tokenUrl, source: 'env'}
  }
  const cfgId = nonEmpty(config.cosHmacAccessKeyId)
  const cfgSecret = nonEmpty(config.cosHmacSecretAccessKey)
  if (cfgId && cfgSecret) {
    registerSecret(cfgSecret)
    return {kind: 'hmac', accessKeyId: cfgId, secretAccessKey: cfgSecret, source: 'config'}
  }
  const cfgKey = nonEmpty(config.apiKey)
  if (cfgKey) {
    registerSecret(cfgKey)
    return {kind: 'iam', apiKey: cfgKey, instanceId, tokenUrl, source: 'config'}
  }
  throw new ConfigError('no COS credentials', {
    code: 'cos_credentials_missing',
    suggestions: [
      'Set IBMCLOUD_API_KEY (IAM), or FLOWLOG_COS_HMAC_ACCESS_KEY_ID and FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY (HMAC)',
      'or run `flowlog setup`, which stores them in the config file',
    ],
  })
}

function resolveEndpoint(options: CosConnectionOptions): {endpoint: string; source: CosConnection['endpointSource']} {
  const env = options.env ?? {}
  const config = options.config ?? {}
  const flag = nonEmpty(options.endpoint)
  if (flag) return {endpoint: normaliseEndpoint(flag, '--cos-endpoint'), source: 'flag'}
  const fromEnv = nonEmpty(env.FLOWLOG_COS_ENDPOINT)
  if (fromEnv) return {endpoint: normaliseEndpoint(fromEnv, 'FLOWLOG_COS_ENDPOINT'), source: 'env'}
  const type = options.endpointType ?? config.cosEndpointType ?? 'public'
  const flagRegion = nonEmpty(options.region)
  if (flagRegion) return {endpoint: regionalEndpoint(flagRegion, type), source: 'region'}
  const cfgEndpoint = nonEmpty(config.cosEndpoint)
  if (cfgEndpoint) return {endpoint: normaliseEndpoint(cfgEndpoint, `cosEndpoint in the config file`), source: 'config'}
  const cfgRegion = nonEmpty(config.region)
  if (cfgRegion) return {endpoint: regionalEndpoint(cfgRegion, type), source: 'region'}
  throw new ConfigError('no COS endpoint', {
    code: 'cos_endpoint_missing',
    suggestions: [
      'Pass --cos-endpoint or --region, or set FLOWLOG_COS_ENDPOINT',
      'or run `flowlog setup`, which stores the region in the config file',
    ],
  })
}

/** Resolve endpoint and credentials; ConfigError says what to set when something is missing. */
export function resolveCosConnection(options: CosConnectionOptions): CosConnection {
  const {endpoint, source} = resolveEndpoint(options)
  const auth = resolveAuth(options)
  return {endpoint, endpointSource: source, pathStyle: needsPathStyle(endpoint), auth}
}
