/**
 * The answers setup needs (from the wizard or from flags), their validation, defaults, and the names of everything
 * setup creates, all derived from the basename.
 */
import {UsageError} from '../errors.js'
import {REGIONS} from '../ibmcloud/endpoints.js'

export type SinkKind = 'cloud-logs' | 'logdna' | 'none'
export type TriggerKind = 'poll' | 'cos-subscription'
export const SINKS: readonly SinkKind[] = ['cloud-logs', 'logdna', 'none']
export const TRIGGERS: readonly TriggerKind[] = ['poll', 'cos-subscription']
export const DEFAULT_BASENAME = 'flowlog'
export const DEFAULT_RESOURCE_GROUP = 'default'
/** Where the Log Analysis / Mezmo ingestion key is read from (never a flag). */
export const INGESTION_KEY_ENV = 'FLOWLOG_LOGDNA_INGESTION_KEY'

export interface SetupAnswers {
  region: string
  resourceGroup: string
  basename: string
  /** VPC name or id; optional when the region has exactly one VPC. */
  vpc?: string
  /** `vpc` (default), `subnet:<name|id>`, `instance:<name|id>`, or a bare subnet/instance name or id. */
  target: string
  /** Default: `<basename>-flowlogs-<first 8 of the account id>`. */
  bucket?: string
  sink: SinkKind
  trigger: TriggerKind
  /**
   * An image the user already pushed for the forwarder job. Without it setup builds this repository's Dockerfile
   * with a Code Engine build into the user's Container Registry namespace and pins the job to the digest.
   */
  image?: string
  /** Git URL the build takes the Dockerfile from (default: package.json `repository`). */
  sourceRepo?: string
  /** Container Registry namespace of the built image (default: `<basename>-<first 8 of the account id>`). */
  registryNamespace?: string
  /** Log Analysis / Mezmo ingestion key (secret: environment, config file or password prompt). */
  logdnaIngestionKey?: string
}

export function validateBasename(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,29}[a-z0-9]$/.test(name) && !/^[a-z]$/.test(name)) {
    throw new UsageError(`--basename ${JSON.stringify(name)} is not valid`, {
      suggestions: ['Use 1–31 lowercase letters, digits and hyphens, starting with a letter and not ending in a hyphen (e.g. flowlog)'],
    })
  }
  return name
}

export function validateRegion(region: string): string {
  if (!(REGIONS as readonly string[]).includes(region)) {
    throw new UsageError(`--region ${JSON.stringify(region)} is not a VPC region`, {suggestions: [`Use one of ${REGIONS.join(', ')}`]})
  }
  return region
}

export function validateBucketName(name: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new UsageError(`--bucket ${JSON.stringify(name)} is not a valid bucket name`, {
      suggestions: ['Use 3–63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit'],
    })
  }
  return name
}

export function validateSink(sink: string): SinkKind {
  if (!(SINKS as readonly string[]).includes(sink)) throw new UsageError(`--sink must be one of ${SINKS.join(', ')} (got ${JSON.stringify(sink)})`)
  return sink as SinkKind
}

export function validateTrigger(trigger: string): TriggerKind {
  if (!(TRIGGERS as readonly string[]).includes(trigger)) throw new UsageError(`--trigger must be one of ${TRIGGERS.join(', ')} (got ${JSON.stringify(trigger)})`)
  return trigger as TriggerKind
}

export function validateTarget(target: string): string {
  const t = target.trim()
  if (t === '' || (/^(subnet|instance):/.test(t) && t.split(':')[1] === '')) {
    throw new UsageError(`--target ${JSON.stringify(target)} is not valid`, {suggestions: ['Use vpc, subnet:<name|id>, instance:<name|id>, or a subnet/instance name or id']})
  }
  return t
}

/** Normalise a container image reference: bare Docker Hub names get their registry (`node:20` → docker.io/library/node:20). */
export function normaliseImage(image: string): string {
  const ref = image.trim()
  if (ref === '' || /\s/.test(ref)) throw new UsageError(`--image ${JSON.stringify(image)} is not an image reference`)
  const first = ref.split('/')[0]
  const hasRegistry = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  if (hasRegistry) return ref
  return ref.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`
}

export function validateAnswers(a: SetupAnswers): SetupAnswers {
  validateRegion(a.region)
  validateBasename(a.basename)
  if (a.bucket !== undefined) validateBucketName(a.bucket)
  validateSink(a.sink)
  validateTrigger(a.trigger)
  validateTarget(a.target)
  if (!a.resourceGroup || a.resourceGroup.trim() === '') throw new UsageError('--resource-group must not be empty')
  if (a.image !== undefined) a.image = normaliseImage(a.image)
  if (a.sourceRepo !== undefined && !/^https:\/\/[^\s]+$/.test(a.sourceRepo)) {
    throw new UsageError(`--source-repo ${JSON.stringify(a.sourceRepo)} is not an https git URL`, {suggestions: ['For example --source-repo https://github.com/<owner>/flowlog']})
  }
  if (a.registryNamespace !== undefined && !/^[a-z0-9][-a-z0-9_]{3,29}$/.test(a.registryNamespace)) {
    throw new UsageError(`--registry-namespace ${JSON.stringify(a.registryNamespace)} is not valid`, {suggestions: ['Use 4–30 lowercase letters, digits, - and _, starting with a letter or digit']})
  }
  if (a.sink === 'logdna' && !a.logdnaIngestionKey) {
    throw new UsageError(`--sink logdna needs the ingestion key in ${INGESTION_KEY_ENV}`, {
      suggestions: [`export ${INGESTION_KEY_ENV}=<your Log Analysis / Mezmo ingestion key> (keys are never taken as flags)`],
    })
  }
  return a
}

/** Every name setup gives, derived from the basename. */
export function resourceNames(basename: string, accountId: string, bucket?: string) {
  return {
    cosInstance: `${basename}-cos`,
    cosKey: `${basename}-cos-key`,
    bucket: bucket ?? defaultBucketName(basename, accountId),
    logsInstance: `${basename}-logs`,
    project: `${basename}-project`,
    secret: `${basename}-secret`,
    configMap: `${basename}-config`,
    job: `${basename}-forward`,
    subscription: `${basename}-project-cos-to-job`,
    serviceId: `${basename}-forwarder`,
    jobApiKey: `${basename}-forwarder-key`,
    registrySecret: `${basename}-registry`,
    build: `${basename}-image`,
    registryNamespace: `${basename}-${accountId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8)}`.slice(0, 30),
  }
}

export function defaultBucketName(basename: string, accountId: string): string {
  return `${basename}-flowlogs-${accountId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8)}`
}

/** The https git URL of package.json's `repository` (string or {url}), the default of --source-repo. */
export function sourceRepoOf(repository: unknown): string | undefined {
  const raw = typeof repository === 'string' ? repository : (repository as {url?: unknown} | undefined)?.url
  if (typeof raw !== 'string' || raw.trim() === '') return undefined
  let url = raw.trim().replace(/^git\+/, '')
  if (/^github:/.test(url)) url = `https://github.com/${url.slice(7)}`
  else if (/^[\w.-]+\/[\w.-]+$/.test(url)) url = `https://github.com/${url}`
  return /^https:\/\//.test(url) ? url : undefined
}

/** The answers of a non-interactive run: flags, then defaults. */
export function answersFromFlags(f: Partial<SetupAnswers>, defaults: {sourceRepo?: string; logdnaIngestionKey?: string}): SetupAnswers {
  if (!f.region) {
    throw new UsageError('--region is required with --non-interactive (or without a terminal)', {
      suggestions: ['flowlog setup --non-interactive --region us-south [--resource-group default] [--basename flowlog]', 'or run `flowlog setup` on a terminal to answer questions'],
    })
  }
  return {
    region: f.region,
    resourceGroup: f.resourceGroup ?? DEFAULT_RESOURCE_GROUP,
    basename: f.basename ?? DEFAULT_BASENAME,
    vpc: f.vpc,
    target: f.target ?? 'vpc',
    bucket: f.bucket,
    sink: f.sink ?? 'cloud-logs',
    trigger: f.trigger ?? 'poll',
    image: f.image,
    sourceRepo: f.image ? undefined : (f.sourceRepo ?? defaults.sourceRepo),
    registryNamespace: f.registryNamespace,
    logdnaIngestionKey: defaults.logdnaIngestionKey,
  }
}
