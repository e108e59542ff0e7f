/**
 * A thin COS client on ibm-cos-sdk (S3 class): one page of ListObjectsV2, one GET, with SDK retries off (the source
 * retries with its own backoff) and errors mapped to flowlog's typed errors. Keys are always passed raw (`%3A` stays
 * `%3A`; the SDK percent-encodes it again on the wire).
 */
import {createHash} from 'node:crypto'
import {Agent as HttpAgent} from 'node:http'
import {Agent as HttpsAgent} from 'node:https'

import S3 from 'ibm-cos-sdk/clients/s3.js'

import {AuthError, ConfigError, FlowlogError, redact, RemoteError} from '../errors.js'
import type {CosConnection} from './config.js'

export interface ListPageParams {
  prefix: string
  delimiter?: string
  continuationToken?: string
  startAfter?: string
  maxKeys?: number
}

export interface ListedObject {
  key: string
  etag?: string
  size?: number
  mtime?: number
}

export interface ListPage {
  objects: ListedObject[]
  prefixes: string[]
  nextToken?: string
}

export interface GetResult {
  body: Buffer
  contentLength?: number
  etag?: string
  contentEncoding?: string
  /** Server-side encryption with a managed key: the ETag is then not the MD5 of the body. */
  encrypted: boolean
}

/** What the source needs from COS (an interface, so tests and other transports can stand in). */
export interface CosClient {
  readonly endpoint: string
  listPage(params: ListPageParams, signal?: AbortSignal): Promise<ListPage>
  getObject(key: string, signal?: AbortSignal): Promise<GetResult>
  /** PUT one whole object (the forward ledger kept in the bucket); optional for read-only stand-ins. */
  putObject?(key: string, body: Buffer, contentType?: string, signal?: AbortSignal): Promise<void>
  close(): void
}

export interface SdkClientOptions {
  bucket: string
  /** Socket idle timeout per request (default 30 s). */
  requestTimeoutMs?: number
  connectTimeoutMs?: number
  /** Parallel sockets (default 64). */
  maxSockets?: number
}

/** An error from the SDK, as far as we read it. */
interface SdkError {
  code?: string
  statusCode?: number
  message?: string
  retryable?: boolean
  originalError?: SdkError
  name?: string
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'TimeoutError',
  'NetworkingError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'ContentLengthMismatch',
  'StreamContentLengthMismatch',
  'ChecksumMismatch',
])

export class CosIntegrityError extends Error {
  constructor(
    readonly code: 'ContentLengthMismatch' | 'ChecksumMismatch',
    message: string,
  ) {
    super(message)
  }
}

function rawCode(error: unknown): string | undefined {
  const e = error as SdkError
  return e?.code ?? e?.originalError?.code
}

/** Worth another attempt: 5xx, 429, timeouts, dropped connections, integrity failures. */
export function isRetryableCosError(error: unknown): boolean {
  if (error instanceof FlowlogError) return error instanceof RemoteError && error.detail?.retryable === true
  if (error instanceof CosIntegrityError) return true
  const e = error as SdkError
  if (!e || typeof e !== 'object') return false
  const code = rawCode(error)
  if (code === 'RequestAbortedError' || e.name === 'AbortError') return false
  if (typeof e.statusCode === 'number' && (e.statusCode >= 500 || e.statusCode === 429)) return true
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return code === 'RequestTimeout' || code === 'RequestTimeTooSkewed'
  if (code && RETRYABLE_CODES.has(code)) return true
  if (e.originalError?.code && RETRYABLE_CODES.has(e.originalError.code)) return true
  return e.retryable === true
}

export interface CosErrorContext {
  endpoint: string
  bucket: string
  key?: string
  operation: 'list' | 'get' | 'put'
  authKind: 'hmac' | 'iam'
  /** IAM token URL (messages only). */
  iamUrl?: string
}

/** Map an SDK error to flowlog's typed errors. Messages never carry secrets. */
export function mapCosError(error: unknown, ctx: CosErrorContext): FlowlogError {
  if (error instanceof FlowlogError) return error
  const e = (error ?? {}) as SdkError
  const code = rawCode(error)
  const status = e.statusCode
  const what = ctx.key === undefined ? `bucket "${ctx.bucket}"` : `object ${JSON.stringify(ctx.key)}`
  const detail = {code, status, endpoint: ctx.endpoint, bucket: ctx.bucket, key: ctx.key}
  if (error instanceof CosIntegrityError) {
    return new RemoteError(`download of ${what} failed its integrity check: ${error.message}`, {detail: {...detail, code: error.code}})
  }
  if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch') {
    return new AuthError(
      code === 'InvalidAccessKeyId'
        ? `COS at ${ctx.endpoint} does not know the HMAC access key id (InvalidAccessKeyId)`
        : `COS at ${ctx.endpoint} refused the HMAC signature (SignatureDoesNotMatch): the secret access key is wrong`,
      {
        code: 'cos_auth',
        detail,
        suggestions: ['Check FLOWLOG_COS_HMAC_ACCESS_KEY_ID and FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY (or the HMAC keys in the config file)'],
      },
    )
  }
  if (ctx.authKind === 'iam' && code === 'CredentialsError') {
    const iam = ctx.iamUrl ?? 'IAM'
    if (status === 400 || status === 401 || status === 403) {
      return new AuthError(`IAM (${iam}) refused the API key (HTTP ${status}): no token for COS`, {
        code: 'iam_auth',
        detail: {...detail, iam: true},
        suggestions: ['Check IBMCLOUD_API_KEY (or apiKey in the config file)', 'Create a new key with `ibmcloud iam api-key-create`'],
      })
    }
    const why = status ? `HTTP ${status}` : (e.originalError?.originalError?.code ?? e.originalError?.code ?? e.message ?? 'no answer')
    return new RemoteError(redact(`could not get an IAM token from ${iam} (${why})`), {status, detail: {...detail, iam: true}})
  }
  if (code === 'AccessDenied' || code === 'Forbidden' || status === 403 || status === 401) {
    return new AuthError(`COS denied access to ${what} (${code ?? status})`, {
      code: 'cos_auth',
      detail,
      suggestions:
        ctx.authKind === 'iam'
          ? ['Check that IBMCLOUD_API_KEY belongs to an identity with the Reader (or Writer) role on the bucket']
          : ['Check that the HMAC keys belong to a service credential with the Reader (or Writer) role on the bucket'],
    })
  }
  if (code === 'NoSuchBucket') {
    return new ConfigError(`bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}`, {
      code: 'cos_no_such_bucket',
      detail,
      suggestions: ['Check the bucket name in --source cos://BUCKET', 'and that the endpoint is in the bucket\'s region (--region / --cos-endpoint)'],
    })
  }
  if (code === 'NoSuchKey' || (status === 404 && ctx.key !== undefined)) {
    return new RemoteError(`${what} no longer exists in bucket "${ctx.bucket}"`, {status: 404, detail: {...detail, code: 'NoSuchKey'}})
  }
  if (code === 'PermanentRedirect' || status === 301) {
    return new ConfigError(`bucket "${ctx.bucket}" is not served by ${ctx.endpoint} (it lives in another region)`, {
      code: 'cos_wrong_region',
      detail,
      suggestions: ["Pass the bucket's region with --region, or its endpoint with --cos-endpoint"],
    })
  }
  const reason = e.message && e.message !== code ? `${code ?? 'error'}: ${e.message}` : (code ?? String(error))
  const network = code && RETRYABLE_CODES.has(code) && status === undefined
  const message = network
    ? `cannot reach COS at ${ctx.endpoint} (${reason}) while reading ${what}`
    : `COS ${ctx.operation} of ${what} failed${status ? ` with HTTP ${status}` : ''} (${reason})`
  return new RemoteError(redact(message), {status, detail})
}

function isGzip(body: Buffer): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b
}

export function stripEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '')
}

/** ibm-cos-sdk S3 with our settings. */
export class SdkCosClient implements CosClient {
  readonly endpoint: string
  private readonly s3: S3
  private readonly agent: HttpAgent | HttpsAgent
  private readonly bucket: string

  constructor(connection: CosConnection, options: SdkClientOptions) {
    this.endpoint = connection.endpoint
    this.bucket = options.bucket
    const https = connection.endpoint.startsWith('https:')
    const agentOptions = {keepAlive: true, maxSockets: options.maxSockets ?? 64}
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)
    const common: S3.Types.ClientConfiguration = {
      endpoint: connection.endpoint,
      s3ForcePathStyle: connection.pathStyle,
      sslEnabled: https,
      maxRetries: 0,
      httpOptions: {
        agent: this.agent,
        timeout: options.requestTimeoutMs ?? 30_000,
        connectTimeout: options.connectTimeoutMs ?? Math.min(10_000, options.requestTimeoutMs ?? 10_000),
      },
    }
    const auth = connection.auth
    if (auth.kind === 'hmac') {
      this.s3 = new S3({...common, accessKeyId: auth.accessKeyId, secretAccessKey: auth.secretAccessKey, signatureVersion: 'v4'})
    } else {
      this.s3 = new S3({
        ...common,
        apiKeyId: auth.apiKey,
        serviceInstanceId: auth.instanceId,
        ibmAuthEndpoint: auth.tokenUrl,
      })
    }
  }

  private send<T>(request: {promise(): Promise<T>; abort(): void}, signal?: AbortSignal): Promise<T> {
    if (!signal) return request.promise()
    signal.throwIfAborted()
    const onAbort = () => request.abort()
    signal.addEventListener('abort', onAbort, {once: true})
    return request.promise().finally(() => signal.removeEventListener('abort', onAbort))
  }

  async listPage(params: ListPageParams, signal?: AbortSignal): Promise<ListPage> {
    const out = await this.send(
      this.s3.listObjectsV2({
        Bucket: this.bucket,
        Prefix: params.prefix,
        Delimiter: params.delimiter,
        ContinuationToken: params.continuationToken,
        StartAfter: params.continuationToken ? undefined : params.startAfter,
        MaxKeys: params.maxKeys,
        EncodingType: 'url',
      }),
      signal,
    )
    // Servers that honour encoding-type=url say so; decode only then (a server that ignores it sends raw keys, and
    // decoding those would turn a literal %3A into ':').
    const encoded = out.EncodingType === 'url'
    const dec = (s: string) => (encoded ? decodeURIComponent(s.replace(/\+/g, ' ')) : s)
    return {
      objects: (out.Contents ?? []).map((c) => ({
        key: dec(c.Key ?? ''),
        etag: stripEtag(c.ETag),
        size: c.Size,
        mtime: c.LastModified ? c.LastModified.getTime() : undefined,
      })),
      prefixes: (out.CommonPrefixes ?? []).map((p) => dec(p.Prefix ?? '')).filter((p) => p !== ''),
      nextToken: out.IsTruncated ? out.NextContinuationToken : undefined,
    }
  }

  /**
   * GET streamed into a Buffer. The SDK's buffered mode never notices a connection dropped mid-body (it waits for the
   * idle timeout); its stream mode fails at once, and checks the length against Content-Length.
   */
  async getObject(key: string, signal?: AbortSignal): Promise<GetResult> {
    signal?.throwIfAborted()
    const request = this.s3.getObject({Bucket: this.bucket, Key: key})
    let headers: Record<string, string> = {}
    request.on('httpHeaders', (_status, h) => {
      headers = h
    })
    const onAbort = () => request.abort()
    signal?.addEventListener('abort', onAbort, {once: true})
    try {
      const chunks: Buffer[] = []
      for await (const chunk of request.createReadStream()) chunks.push(chunk as Buffer)
      const length = headers['content-length']
      return {
        body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
        contentLength: length === undefined ? undefined : Number(length),
        etag: stripEtag(headers.etag),
        contentEncoding: headers['content-encoding'],
        encrypted:
          headers['x-amz-server-side-encryption'] === 'aws:kms' || headers['x-amz-server-side-encryption-customer-algorithm'] !== undefined,
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  async putObject(key: string, body: Buffer, contentType = 'application/octet-stream', signal?: AbortSignal): Promise<void> {
    await this.send(this.s3.putObject({Bucket: this.bucket, Key: key, Body: body, ContentType: contentType}), signal)
  }

  // ---- uploads (flowlog export --out cos://): docs/lakehouse.md §5 ----

  async createMultipartUpload(key: string, contentType = 'application/octet-stream', signal?: AbortSignal): Promise<string> {
    const out = await this.send(this.s3.createMultipartUpload({Bucket: this.bucket, Key: key, ContentType: contentType}), signal)
    if (!out.UploadId) throw new RemoteError(`COS did not return an upload id for ${JSON.stringify(key)}`)
    return out.UploadId
  }

  /** One part; returns its ETag (unquoted). */
  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, signal?: AbortSignal): Promise<string> {
    const out = await this.send(this.s3.uploadPart({Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body}), signal)
    return stripEtag(out.ETag) ?? ''
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: {partNumber: number; etag: string}[], signal?: AbortSignal): Promise<void> {
    await this.send(
      this.s3.completeMultipartUpload({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {Parts: parts.map((p) => ({PartNumber: p.partNumber, ETag: `"${p.etag}"`}))},
      }),
      signal,
    )
  }

  async abortMultipartUpload(key: string, uploadId: string, signal?: AbortSignal): Promise<void> {
    await this.send(this.s3.abortMultipartUpload({Bucket: this.bucket, Key: key, UploadId: uploadId}), signal)
  }

  /** DeleteObjects, up to 1,000 keys a request. */
  async deleteObjects(keys: string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000)
      await this.send(this.s3.deleteObjects({Bucket: this.bucket, Delete: {Objects: chunk.map((Key) => ({Key})), Quiet: true}}), signal)
    }
  }

  close(): void {
    this.agent.destroy()
  }
}

/**
 * Check a downloaded body against its ContentLength and (single-part) MD5 ETag. A body that a client already
 * gunzipped (Content-Encoding: gzip, bytes no longer gzip) cannot be checked and is accepted as is.
 * `previousBadMd5` lets a body whose ETag is simply not an MD5 (e.g. encrypted buckets) through on the second identical
 * download. Returns the md5 when it mismatched, for the caller to pass back on the next attempt.
 */
export function verifyBody(got: GetResult, previousBadMd5?: string): {ok: true; checked: boolean} | {ok: false; error: CosIntegrityError; md5?: string} {
  const {body} = got
  if (/gzip/i.test(got.contentEncoding ?? '') && !isGzip(body)) return {ok: true, checked: false}
  if (got.contentLength !== undefined && body.length !== got.contentLength) {
    return {ok: false, error: new CosIntegrityError('ContentLengthMismatch', `got ${body.length} bytes, expected ${got.contentLength}`)}
  }
  if (got.encrypted || !got.etag || !/^[0-9a-f]{32}$/i.test(got.etag)) return {ok: true, checked: false}
  const md5 = md5Hex(body)
  if (md5 === got.etag.toLowerCase()) return {ok: true, checked: true}
  if (previousBadMd5 === md5) return {ok: true, checked: false}
  return {ok: false, error: new CosIntegrityError('ChecksumMismatch', `MD5 ${md5} does not match ETag ${got.etag}`), md5}
}

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex')
}
