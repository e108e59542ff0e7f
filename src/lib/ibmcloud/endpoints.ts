/**
 * Every IBM Cloud base URL flowlog talks to, each overridable by its own variable holding the service's base URL as
 * IBM documents it. One service's URL is never derived from another's.
 *
 * | variable                          | default                                                  |
 * |-----------------------------------|----------------------------------------------------------|
 * | FLOWLOG_IAM_URL                   | https://iam.cloud.ibm.com (without /identity/token)      |
 * | FLOWLOG_IAM_IDENTITY_URL          | https://iam.cloud.ibm.com (service IDs and API keys)     |
 * | FLOWLOG_RESOURCE_CONTROLLER_URL   | https://resource-controller.cloud.ibm.com                |
 * | FLOWLOG_RESOURCE_MANAGER_URL      | https://resource-controller.cloud.ibm.com                |
 * | FLOWLOG_GLOBAL_CATALOG_URL        | https://globalcatalog.cloud.ibm.com/api/v1               |
 * | FLOWLOG_IAM_POLICY_URL            | https://iam.cloud.ibm.com                                |
 * | FLOWLOG_VPC_URL                   | https://<region>.iaas.cloud.ibm.com/v1                   |
 * | FLOWLOG_CODE_ENGINE_URL           | https://api.<region>.codeengine.cloud.ibm.com/v2         |
 * | FLOWLOG_CONTAINER_REGISTRY_URL    | https://<registry>.icr.io (us.icr.io for us-south)      |
 * | FLOWLOG_COS_ENDPOINT              | https://s3.<region>.cloud-object-storage.appdomain.cloud |
 * | FLOWLOG_LOGDNA_URL                | https://logs.mezmo.com (Mezmo SaaS; IBM Log Analysis was retired in March 2025) |
 * | FLOWLOG_CLOUD_LOGS_URL            | https://<instance>.ingress.<region>.logs.cloud.ibm.com   |
 *
 * A base URL may carry a path (a gateway, a proxy, the fake cloud): every client appends its API path to the base
 * (joinUrl), never resolves it against the host (`new URL('/x', base)` would drop the base's path).
 */
import {ConfigError, UsageError} from '../errors.js'
import {resolveIamUrl} from './http.js'
import {registryServer} from './registry.js'
import {resolveVpcUrl} from './vpc.js'

export const ENDPOINT_ENV = {
  iam: 'FLOWLOG_IAM_URL',
  iamIdentity: 'FLOWLOG_IAM_IDENTITY_URL',
  resourceController: 'FLOWLOG_RESOURCE_CONTROLLER_URL',
  resourceManager: 'FLOWLOG_RESOURCE_MANAGER_URL',
  globalCatalog: 'FLOWLOG_GLOBAL_CATALOG_URL',
  iamPolicy: 'FLOWLOG_IAM_POLICY_URL',
  vpc: 'FLOWLOG_VPC_URL',
  codeEngine: 'FLOWLOG_CODE_ENGINE_URL',
  containerRegistry: 'FLOWLOG_CONTAINER_REGISTRY_URL',
  cos: 'FLOWLOG_COS_ENDPOINT',
  logdna: 'FLOWLOG_LOGDNA_URL',
  cloudLogs: 'FLOWLOG_CLOUD_LOGS_URL',
} as const

/** The IBM Cloud regions setup offers (VPC, Code Engine, COS regional buckets and Cloud Logs are all there). */
export const REGIONS = ['us-south', 'us-east', 'eu-de', 'eu-gb', 'eu-es', 'jp-tok', 'jp-osa', 'au-syd', 'ca-tor', 'br-sao'] as const

export function checkRegion(region: string): string {
  if (!/^[a-z]{2}-[a-z]+$/.test(region)) {
    throw new UsageError(`not a region: ${JSON.stringify(region)}`, {suggestions: [`Use one of ${REGIONS.join(', ')}`]})
  }
  return region
}

function override(env: NodeJS.ProcessEnv, name: string, mustEndWith?: string): string | undefined {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return undefined
  const url = raw.trim().replace(/\/+$/, '')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`${name} is not a URL: ${JSON.stringify(raw)}`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${name} must be an http or https URL`)
  if (mustEndWith && !url.endsWith(mustEndWith)) {
    throw new ConfigError(`${name} must end in ${mustEndWith} (got ${url})`, {suggestions: [`Set ${name} to the service's base URL, ending in ${mustEndWith}`]})
  }
  return url
}

export interface Endpoints {
  iam: string
  iamIdentity: string
  resourceController: string
  resourceManager: string
  globalCatalog: string
  iamPolicy: string
  vpc: string
  codeEngine: string
  /** Container Registry API base. */
  containerRegistry: string
  /** Registry host images are pushed to and pulled from (`us.icr.io`). */
  registryServer: string
  /** COS S3 endpoint for this machine (public unless overridden). */
  cos: string
  /** Whether FLOWLOG_COS_ENDPOINT overrides the regional endpoint. */
  cosOverridden: boolean
  /** Mezmo / self-hosted LogDNA ingestion base URL. */
  logdna: string
  /** Whether FLOWLOG_CLOUD_LOGS_URL is set (it then replaces the per-instance ingress host). */
  cloudLogsOverride?: string
}

export function resolveEndpoints(region: string, env: NodeJS.ProcessEnv = process.env): Endpoints {
  checkRegion(region)
  const cos = override(env, ENDPOINT_ENV.cos)
  return {
    iam: resolveIamUrl(env),
    iamIdentity: override(env, ENDPOINT_ENV.iamIdentity) ?? 'https://iam.cloud.ibm.com',
    resourceController: override(env, ENDPOINT_ENV.resourceController) ?? 'https://resource-controller.cloud.ibm.com',
    resourceManager: override(env, ENDPOINT_ENV.resourceManager) ?? 'https://resource-controller.cloud.ibm.com',
    globalCatalog: override(env, ENDPOINT_ENV.globalCatalog, '/api/v1') ?? 'https://globalcatalog.cloud.ibm.com/api/v1',
    iamPolicy: override(env, ENDPOINT_ENV.iamPolicy) ?? 'https://iam.cloud.ibm.com',
    vpc: resolveVpcUrl({env, region}),
    codeEngine: override(env, ENDPOINT_ENV.codeEngine, '/v2') ?? `https://api.${region}.codeengine.cloud.ibm.com/v2`,
    containerRegistry: override(env, ENDPOINT_ENV.containerRegistry) ?? `https://${registryServer(region)}`,
    registryServer: registryServer(region),
    cos: cos ?? cosRegionalEndpoint(region, 'public'),
    cosOverridden: cos !== undefined,
    logdna: override(env, ENDPOINT_ENV.logdna) ?? MEZMO_INGEST_URL,
    cloudLogsOverride: override(env, ENDPOINT_ENV.cloudLogs),
  }
}

/** Mezmo's public ingestion endpoint (the default of --sink logdna). */
export const MEZMO_INGEST_URL = 'https://logs.mezmo.com'

/** Whether a URL is one of IBM Log Analysis's retired hosts (`*.logging.cloud.ibm.com`, gone since March 2025). */
export function isRetiredLogAnalysisUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.toLowerCase()
    return host === 'logging.cloud.ibm.com' || host.endsWith('.logging.cloud.ibm.com')
  } catch {
    return false
  }
}

/** The error for a retired Log Analysis URL (exit 3). */
export function retiredLogAnalysisError(url: string): ConfigError {
  return new ConfigError(`${url} is an IBM Log Analysis endpoint: Log Analysis was retired in March 2025 and its endpoints are gone`, {
    code: 'log_analysis_retired',
    suggestions: ['Use IBM Cloud Logs: --sink cloud-logs', 'or Mezmo SaaS: --sink logdna --logdna-url mezmo'],
  })
}

/** `base` + `path`, keeping the base's own path (`https://h/prefix` + `/logs/v1/singles` → `https://h/prefix/logs/v1/singles`). */
export function joinUrl(base: string, path: string): URL {
  const b = base.replace(/\/+$/, '')
  const p = path.startsWith('/') ? path : `/${path}`
  return new URL(`${b}${p}`)
}

export function cosRegionalEndpoint(region: string, type: 'public' | 'private' | 'direct'): string {
  return `https://s3.${type === 'public' ? '' : `${type}.`}${region}.cloud-object-storage.appdomain.cloud`
}

/** The Cloud Logs ingress host of one instance (or the override). */
export function cloudLogsIngressUrl(endpoints: Endpoints, instanceGuid: string, region: string): string {
  return endpoints.cloudLogsOverride ?? `https://${instanceGuid}.ingress.${region}.logs.cloud.ibm.com`
}
