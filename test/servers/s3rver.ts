/**
 * s3rver 3.7.1 (a real S3-protocol server) on 127.0.0.1, port 0, with a temp directory and an HMAC key pair.
 *
 * Its listing is corrected in front of its router: s3rver leaves out CommonPrefixes for folders that hold only folders
 * (exactly the flow-log key shape) and walks the disk in directory order, so paging can skip keys. Every
 * GET-bucket listing is therefore answered from a full, sorted listing of the prefix, folded at the delimiter, with
 * CommonPrefixes counted toward max-keys and our own continuation tokens — after s3rver itself has checked the
 * request (auth, bucket, arguments). (s3rver's own tokens also fail on Node 20: its cipher is refused by OpenSSL 3.)
 * Everything else is s3rver as shipped.
 *
 * Note that s3rver does not verify SigV4 signatures (only that the access key id exists); the strict checks live in
 * test/servers/cos-server.ts.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const require = createRequire(import.meta.url)

export interface S3rverRequestLog {
  method: string
  path: string
  query: Record<string, string>
  status: number
}

export interface S3rverHarness {
  url: string
  accessKeyId: string
  secretAccessKey: string
  directory: string
  requests: S3rverRequestLog[]
  /** Errors s3rver raised while answering (500s), for debugging. */
  errors: Error[]
  close(): Promise<void>
}

interface KoaCtx {
  method: string
  path: string
  query: Record<string, string>
  status: number
  body: unknown
  store: {listObjects(bucket: string, options: {prefix?: string; maxKeys?: number; delimiter?: string}): Promise<{objects: S3rverObject[]}>}
}

interface S3rverObject {
  key: string
  size: number
  lastModifiedDate: Date
  metadata: Record<string, string>
}

type Middleware = (ctx: KoaCtx, next: () => Promise<void>) => Promise<void>

interface S3rverInstance {
  middleware: Middleware[]
  on(event: 'error', listener: (error: Error) => void): void
  run(): Promise<AddressInfo>
  close(): Promise<void>
  httpServer?: {closeAllConnections?: () => void}
}

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, unknown>) => Error

const LIST_PARAMS = new Set(['list-type', 'prefix', 'delimiter', 'max-keys', 'start-after', 'continuation-token', 'encoding-type', 'fetch-owner', 'marker'])

function encodeToken(after: string, isPrefix: boolean): string {
  return Buffer.from(JSON.stringify({a: after, p: isPrefix, t: 'harness'})).toString('base64url')
}

function decodeToken(token: string): {after: string; isPrefix: boolean} | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {a?: unknown; p?: unknown; t?: unknown}
    if (v.t !== 'harness' || typeof v.a !== 'string') return undefined
    return {after: v.a, isPrefix: v.p === true}
  } catch {
    return undefined
  }
}

/** The listing s3rver should have given: sorted, folded at the delimiter, prefixes counted toward max-keys. */
function listingMiddleware(S3Error: S3ErrorClass): Middleware {
  return async (ctx, next) => {
    const parts = ctx.path.split('/')
    const bucketOnly = parts.length === 2 || (parts.length === 3 && parts[2] === '')
    if (ctx.method !== 'GET' || !bucketOnly || parts[1] === '' || !Object.keys(ctx.query).every((k) => LIST_PARAMS.has(k))) {
      return next()
    }
    const bucket = decodeURIComponent(parts[1])
    const v2 = ctx.query['list-type'] === '2'
    let state: {after: string; isPrefix: boolean} | undefined
    const token = ctx.query['continuation-token']
    if (v2 && token !== undefined) {
      state = decodeToken(token)
      if (!state) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {ArgumentName: 'continuation-token'})
      const q = {...ctx.query}
      delete q['continuation-token']
      ctx.query = q // s3rver would reject our token; it still checks everything else
    }
    const query = {...ctx.query}
    // s3rver's own continuation tokens use a cipher OpenSSL 3 refuses (ERR_OSSL_EVP_UNSUPPORTED) whenever its listing
    // is truncated: let it validate the request but list nothing (max-keys=0); the listing is ours anyway.
    if (query['max-keys'] === undefined || /^\d+$/.test(query['max-keys'])) ctx.query = {...ctx.query, 'max-keys': '0'}
    await next()
    const result = (ctx.body as {ListBucketResult?: Record<string, unknown>} | undefined)?.ListBucketResult
    if (!result || ctx.status !== 200) return
    const prefix = query.prefix ?? ''
    const delimiter = query.delimiter ?? ''
    const maxKeys = query['max-keys'] === undefined ? 1000 : Math.min(1000, Number(query['max-keys']))
    const after = state?.after ?? (v2 ? (query['start-after'] ?? '') : (query.marker ?? ''))
    const afterIsPrefix = state?.isPrefix ?? false
    const {objects} = await ctx.store.listObjects(bucket, {prefix, maxKeys: Infinity})
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    const contents: S3rverObject[] = []
    const prefixes: string[] = []
    let count = 0
    let truncated = false
    let last: {value: string; isPrefix: boolean} | undefined
    for (const o of objects) {
      if (!o.key.startsWith(prefix) || o.key <= after || (afterIsPrefix && o.key.startsWith(after))) continue
      let common: string | undefined
      if (delimiter !== '') {
        const j = o.key.indexOf(delimiter, prefix.length)
        if (j !== -1) common = o.key.slice(0, j + delimiter.length)
      }
      if (common !== undefined && last?.isPrefix && last.value === common) continue
      if (count >= maxKeys) {
        truncated = true
        break
      }
      count++
      if (common !== undefined) {
        prefixes.push(common)
        last = {value: common, isPrefix: true}
      } else {
        contents.push(o)
        last = {value: o.key, isPrefix: false}
      }
    }
    const owner = result.Contents && Array.isArray(result.Contents) && (result.Contents[0] as {Owner?: unknown} | undefined)?.Owner
    result.Contents = contents.map((o) => ({
      Key: o.key,
      LastModified: o.lastModifiedDate.toISOString(),
      ETag: o.metadata.etag,
      Size: o.size,
      Owner: owner || undefined,
      StorageClass: 'STANDARD',
    }))
    result.CommonPrefixes = prefixes.map((p) => ({Prefix: p}))
    result.IsTruncated = truncated
    if (v2) {
      result.KeyCount = count
      result.ContinuationToken = token
      result.NextContinuationToken = truncated && last ? encodeToken(last.value, last.isPrefix) : undefined
    } else {
      result.NextMarker = truncated && last && delimiter !== '' ? last.value : undefined
    }
  }
}

export interface StartS3rverOptions {
  accessKeyId?: string
  secretAccessKey?: string
  /** Buckets created at start. */
  buckets?: string[]
  /** Correct s3rver's listing (default true); false serves s3rver's own, incomplete delimiter listings. */
  fixListing?: boolean
}

export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rverHarness> {
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance
  const S3Error = require('s3rver/lib/models/error') as S3ErrorClass
  const AWSAccount = require('s3rver/lib/models/account') as {
    DUMMY_ACCOUNT: {createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void}
  }
  const accessKeyId = options.accessKeyId ?? `HARNESS${Math.random().toString(36).slice(2, 10).toUpperCase()}`
  const secretAccessKey = options.secretAccessKey ?? `secret-${Math.random().toString(36).slice(2)}`
  const directory = mkdtempSync(join(tmpdir(), 'flowlog-s3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({name})),
  })
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey)
  const requests: S3rverRequestLog[] = []
  const logMiddleware: Middleware = async (ctx, next) => {
    const entry: S3rverRequestLog = {method: ctx.method, path: ctx.path, query: {...ctx.query}, status: 0}
    requests.push(entry)
    try {
      await next()
    } finally {
      entry.status = ctx.status
    }
  }
  // [logger, xml encoder, mount, vhost, router]: the log goes first; the listing fix sits inside the XML encoder.
  server.middleware.unshift(logMiddleware)
  if (options.fixListing !== false) server.middleware.splice(3, 0, listingMiddleware(S3Error))
  const errors: Error[] = []
  server.on('error', (error) => errors.push(error))
  const address = await server.run()
  return {
    url: `http://127.0.0.1:${address.port}`,
    accessKeyId,
    secretAccessKey,
    directory,
    requests,
    errors,
    async close() {
      server.httpServer?.closeAllConnections?.()
      await server.close()
      AWSAccount.DUMMY_ACCOUNT.revokeAccessKey(accessKeyId)
      rmSync(directory, {recursive: true, force: true})
    },
  }
}
