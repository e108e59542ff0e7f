/**
 * `cos://BUCKET[/PREFIX]`: flow-log objects in IBM Cloud Object Storage, through ibm-cos-sdk.
 * Listing is pruned by time (src/lib/cos/listing.ts); reads are retried with backoff and checked against
 * ContentLength and the MD5 ETag. Keys are kept raw (`%3A`, `%2F` included) for every call.
 */
import type {Home} from '../config/home.js'
import type {FlowlogConfig} from '../config/settings.js'
import {type CosClient, type CosErrorContext, isRetryableCosError, mapCosError, SdkCosClient, verifyBody} from '../cos/client.js'
import {type CosConnection, type CosEndpointType, resolveCosConnection} from '../cos/config.js'
import {CosLister, type CosSourceStats, emptyCosStats} from '../cos/listing.js'
import {withRetry} from '../cos/retry.js'
import {UsageError} from '../errors.js'
import type {TimeWindow} from '../records/time.js'
import type {Source, SourceObject, SourceProgress} from './types.js'

export type {CosSourceStats} from '../cos/listing.js'

export interface CosSourceOptions {
  /** IBMCLOUD_API_KEY, FLOWLOG_COS_HMAC_ACCESS_KEY_ID, FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY, FLOWLOG_COS_ENDPOINT, FLOWLOG_IAM_URL */
  env?: NodeJS.ProcessEnv
  config?: FlowlogConfig
  /** The discovered record-type prefixes are cached under home.cacheDir. */
  home: Home
  /** --cos-endpoint */
  endpoint?: string
  region?: string
  endpointType?: CosEndpointType
  /** COS service instance id (IAM auth; needed only for bucket creation and listing buckets). */
  instanceId?: string
  /** Attempts per request (default 5). */
  maxAttempts?: number
  /** Socket idle timeout per request (default 30 s). */
  requestTimeoutMs?: number
  /** First retry delay (default 250 ms, doubling with jitter). */
  retryBaseDelayMs?: number
  /** How long cached record-type prefixes are trusted (default 10 min). */
  prefixCacheTtlMs?: number
  /** Re-walk the bucket even if the prefix cache is fresh. */
  refreshPrefixes?: boolean
  /** Parallel list requests (default 8). */
  listConcurrency?: number
  /** Keys per list request (max-keys; default: the server's 1000). */
  listPageSize?: number
  /** Parallel sockets (default 64). */
  maxSockets?: number
  /** Clock (epoch ms). */
  now?: () => number
  /** Stand-in client (tests, other transports); default: ibm-cos-sdk. */
  client?: CosClient
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/** `cos://BUCKET[/PREFIX]` → bucket and prefix ('' or a folder ending in '/'; raw, never decoded). */
export function parseCosSpec(spec: string): {bucket: string; prefix: string} {
  const m = /^cos:\/\/([^/]*)(?:\/(.*))?$/i.exec(spec.trim())
  if (!m || !spec.trim().startsWith('cos://')) {
    throw new UsageError(`${JSON.stringify(spec)} is not a COS source`, {suggestions: ['Use cos://BUCKET or cos://BUCKET/PREFIX']})
  }
  const bucket = m[1]
  if (bucket === '') throw new UsageError(`${JSON.stringify(spec)} names no bucket`, {suggestions: ['Use cos://BUCKET or cos://BUCKET/PREFIX']})
  if (!BUCKET_RE.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new UsageError(`${JSON.stringify(bucket)} is not a valid bucket name`, {
      suggestions: ['Bucket names are 3-63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit'],
    })
  }
  let prefix = m[2] ?? ''
  if (prefix.split('/').some((seg, i, all) => seg === '' && i < all.length - 1)) {
    throw new UsageError(`${JSON.stringify(spec)} has an empty folder name (//) in its prefix`)
  }
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/'
  return {bucket, prefix}
}

export class CosSource implements Source {
  readonly id: string
  readonly keySpace: string
  readonly description: string
  readonly stats: CosSourceStats = emptyCosStats()
  readonly bucket: string
  readonly prefix: string
  readonly connection?: CosConnection
  private readonly client: CosClient
  private readonly options: CosSourceOptions
  private readonly authKind: 'hmac' | 'iam'

  constructor(spec: string, options: CosSourceOptions, client: CosClient, connection?: CosConnection) {
    const {bucket, prefix} = parseCosSpec(spec)
    this.bucket = bucket
    this.prefix = prefix
    this.options = options
    this.client = client
    this.connection = connection
    this.authKind = connection?.auth.kind ?? 'hmac'
    this.id = `cos://${bucket}${prefix ? `/${prefix.replace(/\/$/, '')}` : ''}`
    this.keySpace = `cos://${bucket}`
    this.description = `COS bucket "${bucket}"${prefix ? ` under ${prefix}` : ''} at ${client.endpoint}`
  }

  private ctx(operation: 'list' | 'get' | 'put', key?: string): CosErrorContext {
    const auth = this.connection?.auth
    return {
      endpoint: this.client.endpoint,
      bucket: this.bucket,
      key,
      operation,
      authKind: this.authKind,
      iamUrl: auth?.kind === 'iam' ? auth.tokenUrl : undefined,
    }
  }

  private retryOptions(signal?: AbortSignal) {
    return {
      maxAttempts: this.options.maxAttempts ?? 5,
      baseDelayMs: this.options.retryBaseDelayMs ?? 250,
      signal,
      retryable: isRetryableCosError,
      onRetry: () => {
        this.stats.retries++
      },
    }
  }

  list(window: TimeWindow, progress?: SourceProgress): AsyncIterable<SourceObject> {
    const lister = new CosLister({
      bucket: this.bucket,
      prefix: this.prefix,
      endpoint: this.client.endpoint,
      stats: this.stats,
      home: this.options.home,
      cacheTtlMs: this.options.prefixCacheTtlMs,
      refreshCache: this.options.refreshPrefixes,
      concurrency: this.options.listConcurrency,
      now: this.options.now,
      page: async (params, prog) => {
        try {
          return await withRetry(() => {
            this.stats.listRequests++
            prog?.onListRequest?.(params.prefix)
            return this.client.listPage({...params, maxKeys: params.maxKeys ?? this.options.listPageSize})
          }, this.retryOptions())
        } catch (error) {
          throw mapCosError(error, this.ctx('list'))
        }
      },
    })
    return lister.list(window, progress)
  }

  async read(object: SourceObject, signal?: AbortSignal): Promise<Uint8Array> {
    let badMd5: string | undefined
    try {
      return await withRetry(async () => {
        this.stats.getRequests++
        const got = await this.client.getObject(object.key, signal)
        const check = verifyBody(got, badMd5)
        if (!check.ok) {
          badMd5 = check.md5
          throw check.error
        }
        if (badMd5 !== undefined) this.stats.etagNotMd5++
        this.stats.bytes += got.body.length
        return new Uint8Array(got.body.buffer, got.body.byteOffset, got.body.byteLength)
      }, this.retryOptions(signal))
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error
      throw mapCosError(error, this.ctx('get', object.key))
    }
  }

  /**
   * One whole object outside the flow-log listing (the forward ledger under flowlog/), read with the same client,
   * retries and error mapping as the flow logs. A missing object is a RemoteError with detail.code 'NoSuchKey'.
   */
  async getRawObject(key: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      return await withRetry(async () => {
        const got = await this.client.getObject(key, signal)
        const check = verifyBody(got)
        if (!check.ok) throw check.error
        return got.body
      }, this.retryOptions(signal))
    } catch (error) {
      throw mapCosError(error, this.ctx('get', key))
    }
  }

  /** PUT one whole object (a single request: readers see the old or the new body, never a mix). */
  async putRawObject(key: string, body: Buffer, contentType?: string, signal?: AbortSignal): Promise<void> {
    const put = this.client.putObject?.bind(this.client)
    if (!put) throw new UsageError(`this COS client cannot write objects (${this.client.endpoint})`)
    try {
      await withRetry(() => put(key, body, contentType, signal), {...this.retryOptions(signal), maxAttempts: Math.min(3, this.options.maxAttempts ?? 3)})
    } catch (error) {
      throw mapCosError(error, this.ctx('put', key))
    }
  }

  async close(): Promise<void> {
    this.client.close()
  }
}

/** Open `cos://BUCKET[/PREFIX]`: resolve endpoint and credentials (ConfigError says what to set) and build the client. */
export async function createCosSource(spec: string, options: CosSourceOptions): Promise<Source & {stats: CosSourceStats}> {
  const {bucket} = parseCosSpec(spec)
  if (options.client) return new CosSource(spec, options, options.client)
  const connection = resolveCosConnection({
    env: options.env ?? process.env,
    config: options.config,
    endpoint: options.endpoint,
    region: options.region,
    endpointType: options.endpointType,
    instanceId: options.instanceId,
  })
  const client = new SdkCosClient(connection, {
    bucket,
    requestTimeoutMs: options.requestTimeoutMs,
    maxSockets: options.maxSockets,
  })
  return new CosSource(spec, options, client, connection)
}
