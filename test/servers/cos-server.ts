/**
 * A strict, in-memory IBM Cloud Object Storage (S3 API) test server on 127.0.0.1, path-style only
 * (docs/ibm-cloud-apis.md §4, §11; docs/flow-log-format.md §2.4, §3.1, §5).
 *
 * - ListObjectsV2 (prefix, delimiter, start-after, continuation-token, max-keys, encoding-type=url, fetch-owner) and
 *   ListObjects v1 (marker); CommonPrefixes folded at the delimiter and counted toward max-keys, like S3.
 * - Get/Head/Put/Delete object with x-amz-meta-* metadata, Content-Encoding kept, ETag = MD5, bytes served exactly
 *   as stored, single byte ranges.
 * - Multipart uploads (initiate, upload part, complete with the md5-of-md5s ETag, abort; parts ≥ 5 MiB but the last).
 * - Bucket create/head/delete/list, DeleteObjects (POST ?delete, Content-MD5 required, ≤ 1000 keys).
 * - Auth: `Authorization: Bearer <token>` checked with the fake IAM (test/servers/iam.ts), or AWS SigV4 with the
 *   signature verified for real against the configured HMAC secret. Anonymous requests are refused.
 * - S3 XML errors: NoSuchKey, NoSuchBucket, AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, …
 * - Fault injection: a status on the Nth matching request, a connection dropped mid-body, slow or stalled responses,
 *   a body served already gunzipped (a client that decompresses transparently), a corrupted byte.
 * - A request log the tests assert on.
 */
import {createHash, createHmac, randomBytes} from 'node:crypto'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import querystring from 'node:querystring'
import {gunzipSync} from 'node:zlib'

export interface CosRequestLog {
  method: string
  /** The raw request path (still percent-encoded). */
  path: string
  /** Decoded query parameters (the last value when one repeats). */
  query: Record<string, string>
  bucket?: string
  /** The decoded object key (the raw key as stored). */
  key?: string
  auth: 'bearer' | 'hmac' | 'none'
  status: number
  /** S3 error code when the request failed. */
  errorCode?: string
  /** Set when a fault was applied. */
  fault?: string
}

export type CosFaultAction =
  | {status: number; code?: string; message?: string}
  | {drop: 'before-headers' | 'mid-body'}
  | {delayMs: number}
  | {stallMidBodyMs: number}
  | {serveGunzipped: true}
  | {corrupt: true}

export interface CosFault {
  method?: string
  bucket?: string
  /** Exact key, or a pattern. */
  key?: string | RegExp
  match?: (request: CosRequestLog) => boolean
  /** Apply from the Nth matching request (1-based, default 1) … */
  nth?: number
  /** … for this many matching requests (default 1; Infinity = every later one). */
  times?: number
  action: CosFaultAction
}

export interface StoredObject {
  body: Buffer
  etag: string
  lastModified: Date
  contentType: string
  contentEncoding?: string
  metadata: Record<string, string>
}

export interface PutOptions {
  metadata?: Record<string, string>
  contentType?: string
  contentEncoding?: string
  lastModified?: Date
  /** Override the ETag (e.g. one that is not the MD5, like encrypted or multipart objects). */
  etag?: string
}

export interface StartCosServerOptions {
  /** HMAC key pairs: access key id → secret access key. */
  hmacKeys?: Record<string, string>
  /** Bearer-token check: the fake IAM (or anything with verify()). */
  iam?: {verify(token: string): unknown}
  /** Buckets that exist from the start. */
  buckets?: string[]
  /** Clock for SigV4 skew checks and LastModified (epoch ms). */
  now?: () => number
}

export interface CosServer {
  url: string
  /** 127.0.0.1:PORT */
  host: string
  requests: CosRequestLog[]
  /** Direct access to the store (seeding fixtures without HTTP). */
  createBucket(bucket: string): void
  putObject(bucket: string, key: string, body: Buffer | string, options?: PutOptions): StoredObject
  getObject(bucket: string, key: string): StoredObject | undefined
  keys(bucket: string): string[]
  addFault(fault: CosFault): void
  clearFaults(): void
  clearLog(): void
  /** Multipart uploads initiated and neither completed nor aborted. */
  pendingUploads(): number
  close(): Promise<void>
}

interface Bucket {
  name: string
  created: Date
  objects: Map<string, StoredObject>
  sorted?: string[]
}

class S3Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message)
  }
}

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const MAX_SKEW_MS = 15 * 60_000

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;'})[c]!)
}

function xmlUnescape(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (m, e: string) => {
    const named: Record<string, string> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"}
    if (named[e.toLowerCase()]) return named[e.toLowerCase()]
    if (e[1] === 'x' || e[1] === 'X') return String.fromCodePoint(parseInt(e.slice(2), 16))
    if (e[0] === '#') return String.fromCodePoint(parseInt(e.slice(1), 10))
    return m
  })
}

/** S3's encoding-type=url: percent-encode, space as '+'. */
function urlEncodeKey(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+')
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function lowerBound(arr: string[], value: string): number {
  let lo = 0
  let hi = arr.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid] < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

function upperBound(arr: string[], value: string): number {
  let lo = 0
  let hi = arr.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid] <= value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The first index ≥ from whose key does not start with `prefix` (keys are sorted). */
function skipPrefix(arr: string[], from: number, prefix: string): number {
  let i = from
  // Gallop: keys under one prefix are contiguous.
  let step = 1
  while (i + step < arr.length && arr[i + step].startsWith(prefix)) {
    i += step
    step *= 2
  }
  while (i < arr.length && arr[i].startsWith(prefix)) i++
  return i
}

interface ContinuationState {
  after: string
  isPrefix: boolean
  bucket: string
}

function encodeToken(state: ContinuationState, secret: Buffer): string {
  const body = Buffer.from(JSON.stringify(state)).toString('base64url')
  const mac = createHmac('sha256', secret).update(body).digest('base64url').slice(0, 16)
  return `${body}.${mac}`
}

function decodeToken(token: string, bucket: string, secret: Buffer): ContinuationState {
  const [body, mac] = token.split('.')
  const bad = () => new S3Failure(400, 'InvalidArgument', 'The continuation token provided is incorrect', {ArgumentName: 'continuation-token'})
  if (!body || !mac) throw bad()
  const expected = createHmac('sha256', secret).update(body).digest('base64url').slice(0, 16)
  if (expected !== mac) throw bad()
  let state: ContinuationState
  try {
    state = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ContinuationState
  } catch {
    throw bad()
  }
  if (state.bucket !== bucket || typeof state.after !== 'string') throw bad()
  return state
}

export async function startCosServer(options: StartCosServerOptions = {}): Promise<CosServer> {
  const now = options.now ?? Date.now
  const hmacKeys = new Map(Object.entries(options.hmacKeys ?? {}))
  const buckets = new Map<string, Bucket>()
  const requests: CosRequestLog[] = []
  const faults: {fault: CosFault; seen: number}[] = []
  const tokenSecret = randomBytes(16)
  const sockets = new Set<import('node:net').Socket>()

  // Multipart uploads in progress: upload id → what they hold.
  const uploads = new Map<string, {bucket: string; key: string; contentType?: string; parts: Map<number, {body: Buffer; etag: string}>}>()
  const needUpload = (id: string, bucket: string, key: string) => {
    const u = uploads.get(id)
    if (!u || u.bucket !== bucket || u.key !== key) {
      throw new S3Failure(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {UploadId: id})
    }
    return u
  }

  const createBucket = (name: string) => {
    if (!buckets.has(name)) buckets.set(name, {name, created: new Date(now()), objects: new Map()})
  }
  for (const b of options.buckets ?? []) createBucket(b)

  const store = (bucket: Bucket, key: string, body: Buffer, opts: PutOptions = {}): StoredObject => {
    const obj: StoredObject = {
      body,
      etag: opts.etag ?? createHash('md5').update(body).digest('hex'),
      lastModified: opts.lastModified ?? new Date(Math.floor(now() / 1000) * 1000),
      contentType: opts.contentType ?? 'binary/octet-stream',
      contentEncoding: opts.contentEncoding,
      metadata: Object.fromEntries(Object.entries(opts.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    }
    if (!bucket.objects.has(key)) bucket.sorted = undefined
    bucket.objects.set(key, obj)
    return obj
  }

  const sortedKeys = (bucket: Bucket): string[] => {
    bucket.sorted ??= [...bucket.objects.keys()].sort()
    return bucket.sorted
  }

  /** Every fault counts every request it matches; the first one whose turn it is applies. */
  const pickFault = (log: CosRequestLog): CosFault | undefined => {
    let chosen: CosFault | undefined
    for (const f of faults) {
      const {fault} = f
      if (fault.method && fault.method !== log.method) continue
      if (fault.bucket && fault.bucket !== log.bucket) continue
      if (fault.key !== undefined) {
        if (log.key === undefined) continue
        if (typeof fault.key === 'string' ? fault.key !== log.key : !fault.key.test(log.key)) continue
      }
      if (fault.match && !fault.match(log)) continue
      f.seen++
      const nth = fault.nth ?? 1
      const times = fault.times ?? 1
      if (!chosen && f.seen >= nth && f.seen < nth + times) chosen = fault
    }
    return chosen
  }

  // ---- auth ----

  const authenticate = (req: IncomingMessage, url: string, body: Buffer, log: CosRequestLog): void => {
    const header = req.headers.authorization
    if (!header) {
      throw new S3Failure(403, 'AccessDenied', 'Access Denied')
    }
    if (/^bearer\s/i.test(header)) {
      log.auth = 'bearer'
      const token = header.replace(/^bearer\s+/i, '').trim()
      if (!options.iam || !options.iam.verify(token)) throw new S3Failure(403, 'AccessDenied', 'Access Denied')
      return
    }
    if (header.startsWith('AWS4-HMAC-SHA256 ')) {
      log.auth = 'hmac'
      verifySigV4(req, url, body, header)
      return
    }
    if (header.startsWith('AWS ')) {
      throw new S3Failure(400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.')
    }
    throw new S3Failure(400, 'InvalidArgument', 'Unsupported Authorization Type', {ArgumentName: 'Authorization'})
  }

  const verifySigV4 = (req: IncomingMessage, url: string, body: Buffer, header: string): void => {
    const fields = new Map<string, string>()
    for (const part of header.slice('AWS4-HMAC-SHA256 '.length).split(',')) {
      const i = part.indexOf('=')
      if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim())
    }
    const credential = fields.get('Credential')
    const signedHeaders = fields.get('SignedHeaders')
    const signature = fields.get('Signature')
    if (!credential || !signedHeaders || !signature) {
      throw new S3Failure(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; it requires Credential, SignedHeaders and Signature.')
    }
    const [accessKeyId, date, region, service, terminator] = credential.split('/')
    if (!accessKeyId || !date || !region || service !== 's3' || terminator !== 'aws4_request') {
      throw new S3Failure(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the Credential is mal-formed.`)
    }
    const secret = hmacKeys.get(accessKeyId)
    if (secret === undefined) {
      throw new S3Failure(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {AWSAccessKeyId: accessKeyId})
    }
    const amzDate = String(req.headers['x-amz-date'] ?? '')
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
    if (!m) throw new S3Failure(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header')
    const requestTime = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
    if (Math.abs(now() - requestTime) > MAX_SKEW_MS) {
      throw new S3Failure(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.')
    }
    if (amzDate.slice(0, 8) !== date) {
      throw new S3Failure(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; the date does not match x-amz-date.')
    }
    const payloadHash = req.headers['x-amz-content-sha256']
    if (typeof payloadHash !== 'string') {
      throw new S3Failure(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256')
    }
    if (/^[0-9a-f]{64}$/i.test(payloadHash)) {
      if (sha256Hex(body) !== payloadHash.toLowerCase()) {
        throw new S3Failure(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.")
      }
    } else if (payloadHash !== 'UNSIGNED-PAYLOAD') {
      throw new S3Failure(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.')
    }
    const names = signedHeaders.split(';')
    if (!names.includes('host')) {
      throw new S3Failure(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; SignedHeaders must include host.')
    }
    const canonicalHeaders = names
      .map((name) => {
        const raw = req.headers[name]
        const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '')
        return `${name}:${String(value).trim().replace(/\s+/g, ' ')}\n`
      })
      .join('')
    const q = url.indexOf('?')
    const rawPath = q === -1 ? url : url.slice(0, q)
    const rawQuery = q === -1 ? '' : url.slice(q + 1)
    const parsed = querystring.parse(rawQuery)
    const canonicalQuery = Object.keys(parsed)
      .sort()
      .map((name) => {
        const v = parsed[name]
        if (Array.isArray(v)) return v.map((x) => rfc3986(x)).sort().map((x) => `${rfc3986(name)}=${x}`).join('&')
        return `${rfc3986(name)}=${rfc3986(v ?? '')}`
      })
      .join('&')
    const canonicalRequest = [req.method, rawPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n')
    const scope = `${date}/${region}/s3/aws4_request`
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n')
    const kDate = hmac(`AWS4${secret}`, date)
    const kRegion = hmac(kDate, region)
    const kService = hmac(kRegion, 's3')
    const kSigning = hmac(kService, 'aws4_request')
    const expected = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex')
    if (expected !== signature) {
      throw new S3Failure(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        {AWSAccessKeyId: accessKeyId},
      )
    }
  }

  // ---- responses ----

  const requestId = () => randomBytes(8).toString('hex')

  const sendXml = (res: ServerResponse, status: number, xml: string, headers: Record<string, string> = {}) => {
    const text = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${xml}`
    res.writeHead(status, {
      'content-type': 'application/xml',
      'content-length': String(Buffer.byteLength(text)),
      'x-amz-request-id': requestId(),
      ...headers,
    })
    res.end(text)
  }

  const sendEmpty = (res: ServerResponse, status: number, headers: Record<string, string> = {}) => {
    res.writeHead(status, {'content-length': '0', 'x-amz-request-id': requestId(), ...headers})
    res.end()
  }

  const sendError = (res: ServerResponse, req: IncomingMessage, failure: S3Failure, resource: string) => {
    if (req.method === 'HEAD') return sendEmpty(res, failure.status)
    const extra = Object.entries(failure.extra)
      .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
      .join('')
    sendXml(
      res,
      failure.status,
      `<Error><Code>${failure.code}</Code><Message>${xmlEscape(failure.message)}</Message>${extra}<Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId()}</RequestId></Error>`,
    )
  }

  const needBucket = (name: string): Bucket => {
    const b = buckets.get(name)
    if (!b) throw new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist.', {BucketName: name})
    return b
  }

  // ---- listing ----

  const listObjects = (bucket: Bucket, query: Record<string, string>, v2: boolean): string => {
    const prefix = query.prefix ?? ''
    const delimiter = query.delimiter ?? ''
    const encodingType = query['encoding-type']
    if (encodingType !== undefined && encodingType !== 'url') {
      throw new S3Failure(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request', {ArgumentName: 'encoding-type', ArgumentValue: encodingType})
    }
    let maxKeys = 1000
    if (query['max-keys'] !== undefined) {
      if (!/^\d+$/.test(query['max-keys'])) {
        throw new S3Failure(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range', {ArgumentName: 'max-keys'})
      }
      maxKeys = Math.min(1000, Number(query['max-keys']))
    }
    let after = ''
    let afterIsPrefix = false
    if (v2) {
      if ('marker' in query) throw new S3Failure(400, 'InvalidArgument', 'Marker unsupported with REST.GET.BUCKET in list-type=2', {ArgumentName: 'marker'})
      if (query['continuation-token'] !== undefined) {
        if (query['continuation-token'] === '') {
          throw new S3Failure(400, 'InvalidArgument', 'The continuation token provided is incorrect', {ArgumentName: 'continuation-token'})
        }
        const state = decodeToken(query['continuation-token'], bucket.name, tokenSecret)
        after = state.after
        afterIsPrefix = state.isPrefix
      } else if (query['start-after']) {
        after = query['start-after']
      }
    } else {
      if ('continuation-token' in query) {
        throw new S3Failure(400, 'InvalidArgument', 'continuation-token only supported in REST.GET.BUCKET with list-type=2', {ArgumentName: 'continuation-token'})
      }
      if ('start-after' in query) {
        throw new S3Failure(400, 'InvalidArgument', 'startAfter only supported in REST.GET.BUCKET with list-type=2', {ArgumentName: 'start-after'})
      }
      after = query.marker ?? ''
    }
    const keys = sortedKeys(bucket)
    let i = lowerBound(keys, prefix)
    if (after !== '') {
      i = Math.max(i, upperBound(keys, after))
      if (afterIsPrefix) i = skipPrefix(keys, i, after)
    }
    const contents: string[] = []
    const prefixes: string[] = []
    let count = 0
    let truncated = false
    let last: {value: string; isPrefix: boolean} | undefined
    while (i < keys.length && keys[i].startsWith(prefix)) {
      const key = keys[i]
      let common: string | undefined
      if (delimiter !== '') {
        const j = key.indexOf(delimiter, prefix.length)
        if (j !== -1) common = key.slice(0, j + delimiter.length)
      }
      if (count >= maxKeys) {
        truncated = true
        break
      }
      count++
      if (common !== undefined) {
        prefixes.push(common)
        last = {value: common, isPrefix: true}
        i = skipPrefix(keys, i, common)
      } else {
        contents.push(key)
        last = {value: key, isPrefix: false}
        i++
      }
    }
    const enc = (s: string) => xmlEscape(encodingType === 'url' ? urlEncodeKey(s) : s)
    const parts: string[] = [`<Name>${xmlEscape(bucket.name)}</Name>`, `<Prefix>${enc(prefix)}</Prefix>`]
    if (v2) {
      if (query['continuation-token']) parts.push(`<ContinuationToken>${xmlEscape(query['continuation-token'])}</ContinuationToken>`)
      if (query['start-after']) parts.push(`<StartAfter>${enc(query['start-after'])}</StartAfter>`)
      parts.push(`<KeyCount>${count}</KeyCount>`)
    } else {
      parts.push(`<Marker>${enc(after)}</Marker>`)
    }
    parts.push(`<MaxKeys>${maxKeys}</MaxKeys>`)
    if (delimiter !== '') parts.push(`<Delimiter>${enc(delimiter)}</Delimiter>`)
    parts.push(`<IsTruncated>${truncated}</IsTruncated>`)
    if (encodingType) parts.push(`<EncodingType>${encodingType}</EncodingType>`)
    for (const key of contents) {
      const o = bucket.objects.get(key)!
      const owner =
        !v2 || query['fetch-owner'] === 'true' ? `<Owner><ID>fake-owner</ID><DisplayName>fake-owner</DisplayName></Owner>` : ''
      parts.push(
        `<Contents><Key>${enc(key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>&quot;${o.etag}&quot;</ETag><Size>${o.body.length}</Size>${owner}<StorageClass>STANDARD</StorageClass></Contents>`,
      )
    }
    for (const p of prefixes) parts.push(`<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`)
    if (truncated && last) {
      if (v2) parts.push(`<NextContinuationToken>${encodeToken({after: last.value, isPrefix: last.isPrefix, bucket: bucket.name}, tokenSecret)}</NextContinuationToken>`)
      else if (delimiter !== '') parts.push(`<NextMarker>${enc(last.value)}</NextMarker>`)
    }
    return `<ListBucketResult xmlns="${XMLNS}">${parts.join('')}</ListBucketResult>`
  }

  // ---- object responses ----

  const objectHeaders = (o: StoredObject): Record<string, string> => {
    const h: Record<string, string> = {
      etag: `"${o.etag}"`,
      'last-modified': o.lastModified.toUTCString(),
      'content-type': o.contentType,
      'accept-ranges': 'bytes',
    }
    if (o.contentEncoding) h['content-encoding'] = o.contentEncoding
    for (const [k, v] of Object.entries(o.metadata)) h[`x-amz-meta-${k}`] = v
    return h
  }

  const sendObject = async (req: IncomingMessage, res: ServerResponse, o: StoredObject, fault: CosFault | undefined) => {
    let body = o.body
    let status = 200
    const headers = objectHeaders(o)
    if (fault && 'serveGunzipped' in fault.action) {
      body = gunzipSync(o.body)
    }
    if (fault && 'corrupt' in fault.action && body.length > 0) {
      body = Buffer.from(body)
      body[body.length - 1] ^= 0xff
    }
    const range = req.headers.range
    if (range && req.method === 'GET') {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range)
      if (m && (m[1] !== '' || m[2] !== '')) {
        let start: number
        let end: number
        if (m[1] === '') {
          start = Math.max(0, body.length - Number(m[2]))
          end = body.length - 1
        } else {
          start = Number(m[1])
          end = m[2] === '' ? body.length - 1 : Math.min(Number(m[2]), body.length - 1)
        }
        if (start >= body.length || start > end) {
          throw new S3Failure(416, 'InvalidRange', 'The requested range is not satisfiable', {ActualObjectSize: String(body.length)})
        }
        headers['content-range'] = `bytes ${start}-${end}/${body.length}`
        body = body.subarray(start, end + 1)
        status = 206
      }
    }
    headers['content-length'] = String(body.length)
    headers['x-amz-request-id'] = requestId()
    if (req.method === 'HEAD') {
      res.writeHead(status, headers)
      res.end()
      return
    }
    if (fault && 'drop' in fault.action && fault.action.drop === 'mid-body') {
      res.writeHead(status, headers)
      res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))))
      await new Promise((r) => setTimeout(r, 5))
      res.socket?.destroy()
      return
    }
    if (fault && 'stallMidBodyMs' in fault.action) {
      res.writeHead(status, headers)
      res.write(body.subarray(0, Math.floor(body.length / 2)))
      await new Promise((r) => setTimeout(r, (fault.action as {stallMidBodyMs: number}).stallMidBodyMs))
      if (!res.destroyed) res.end(body.subarray(Math.floor(body.length / 2)))
      return
    }
    res.writeHead(status, headers)
    res.end(body)
  }

  // ---- dispatch ----

  const handle = async (req: IncomingMessage, res: ServerResponse, log: CosRequestLog, url: string): Promise<void> => {
    const q = url.indexOf('?')
    const rawPath = q === -1 ? url : url.slice(0, q)
    const rawQuery = q === -1 ? '' : url.slice(q + 1)
    const parsedQuery = querystring.parse(rawQuery)
    const query: Record<string, string> = {}
    for (const [k, v] of Object.entries(parsedQuery)) query[k] = Array.isArray(v) ? v[v.length - 1] : (v ?? '')
    log.query = query
    const segments = rawPath.split('/')
    // '', bucket, ...key
    let bucketName = ''
    let key: string | undefined
    try {
      bucketName = decodeURIComponent(segments[1] ?? '')
      if (segments.length > 2 && !(segments.length === 3 && segments[2] === '')) key = decodeURIComponent(segments.slice(2).join('/'))
    } catch {
      throw new S3Failure(400, 'InvalidURI', "Couldn't parse the specified URI.")
    }
    if (bucketName) log.bucket = bucketName
    if (key !== undefined) log.key = key
    const body = await readBody(req)
    authenticate(req, url, body, log)

    const fault = pickFault(log)
    if (fault) {
      log.fault = JSON.stringify(fault.action)
      const a = fault.action
      if ('delayMs' in a) await new Promise((r) => setTimeout(r, a.delayMs))
      if ('status' in a) {
        throw new S3Failure(a.status, a.code ?? (a.status >= 500 ? 'InternalError' : 'InvalidRequest'), a.message ?? 'We encountered an internal error. Please try again.')
      }
      if ('drop' in a && a.drop === 'before-headers') {
        req.socket.destroy()
        return
      }
    }

    const method = req.method ?? 'GET'
    if (!bucketName) {
      if (method !== 'GET') throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
      const list = [...buckets.values()]
        .map((b) => `<Bucket><Name>${xmlEscape(b.name)}</Name><CreationDate>${b.created.toISOString()}</CreationDate></Bucket>`)
        .join('')
      return sendXml(res, 200, `<ListAllMyBucketsResult xmlns="${XMLNS}"><Owner><ID>fake-owner</ID><DisplayName>fake-owner</DisplayName></Owner><Buckets>${list}</Buckets></ListAllMyBucketsResult>`)
    }

    if (key === undefined) {
      // Bucket operations.
      switch (method) {
        case 'PUT': {
          if (!BUCKET_NAME.test(bucketName) || bucketName.includes('..')) {
            throw new S3Failure(400, 'InvalidBucketName', 'The specified bucket is not valid.', {BucketName: bucketName})
          }
          if (log.auth === 'bearer' && !req.headers['ibm-service-instance-id']) {
            throw new S3Failure(400, 'InvalidArgument', 'The ibm-service-instance-id header is required to create a bucket.')
          }
          if (body.length > 0 && !/<CreateBucketConfiguration[\s>]/.test(body.toString('utf8'))) {
            throw new S3Failure(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
          }
          if (buckets.has(bucketName)) {
            throw new S3Failure(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', {BucketName: bucketName})
          }
          createBucket(bucketName)
          return sendEmpty(res, 200, {location: `/${bucketName}`})
        }
        case 'HEAD':
          needBucket(bucketName)
          return sendEmpty(res, 200)
        case 'DELETE': {
          const b = needBucket(bucketName)
          if (b.objects.size > 0) throw new S3Failure(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty.', {BucketName: bucketName})
          buckets.delete(bucketName)
          return sendEmpty(res, 204)
        }
        case 'POST': {
          if (!('delete' in query)) throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
          const b = needBucket(bucketName)
          const md5 = req.headers['content-md5']
          if (!md5) throw new S3Failure(400, 'InvalidRequest', 'Missing required header for this request: Content-MD5')
          if (createHash('md5').update(body).digest('base64') !== md5) {
            throw new S3Failure(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.')
          }
          const xml = body.toString('utf8')
          if (!/<Delete[\s>]/.test(xml)) throw new S3Failure(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
          const objects = [...xml.matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map((m) => {
            const k = /<Key>([\s\S]*?)<\/Key>/.exec(m[1])
            return k ? xmlUnescape(k[1]) : undefined
          })
          if (objects.length === 0 || objects.length > 1000 || objects.some((k) => k === undefined)) {
            throw new S3Failure(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
          }
          const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(xml)
          const deleted: string[] = []
          for (const k of objects as string[]) {
            if (b.objects.delete(k)) b.sorted = undefined
            if (!quiet) deleted.push(`<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`)
          }
          return sendXml(res, 200, `<DeleteResult xmlns="${XMLNS}">${deleted.join('')}</DeleteResult>`)
        }
        case 'GET': {
          const b = needBucket(bucketName)
          if ('location' in query) {
            return sendXml(res, 200, `<LocationConstraint xmlns="${XMLNS}">us-south-smart</LocationConstraint>`)
          }
          const sub = ['acl', 'cors', 'lifecycle', 'versioning', 'website', 'policy', 'tagging', 'uploads', 'versions', 'replication']
          for (const s of sub) if (s in query) throw new S3Failure(501, 'NotImplemented', `?${s} is not implemented by this test server`)
          return sendXml(res, 200, listObjects(b, query, query['list-type'] === '2'))
        }
        default:
          throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
      }
    }

    // Object operations.
    const b = needBucket(bucketName)
    if (Buffer.byteLength(key) > 1024) throw new S3Failure(400, 'KeyTooLongError', 'Your key is too long')
    // Multipart upload (S3 API): initiate, upload part, complete, abort. Parts other than the last must be ≥ 5 MiB.
    if (method === 'POST' && 'uploads' in query) {
      const id = randomBytes(12).toString('hex')
      uploads.set(id, {bucket: bucketName, key, contentType: req.headers['content-type'], parts: new Map()})
      return sendXml(res, 200, `<InitiateMultipartUploadResult xmlns="${XMLNS}"><Bucket>${xmlEscape(bucketName)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`)
    }
    if (query.uploadId !== undefined) {
      const u = needUpload(query.uploadId, bucketName, key)
      if (method === 'PUT') {
        const n = Number(query.partNumber)
        if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new S3Failure(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {ArgumentName: 'partNumber'})
        const etag = createHash('md5').update(body).digest('hex')
        u.parts.set(n, {body, etag})
        return sendEmpty(res, 200, {etag: `"${etag}"`})
      }
      if (method === 'DELETE') {
        uploads.delete(query.uploadId)
        return sendEmpty(res, 204)
      }
      if (method === 'POST') {
        const xml = body.toString('utf8')
        const listed = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
          n: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1])?.[1]),
          etag: xmlUnescape(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1])?.[1] ?? '').replace(/^"|"$/g, ''),
        }))
        if (listed.length === 0) throw new S3Failure(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
        for (let i = 0; i < listed.length; i++) {
          if (i > 0 && listed[i].n <= listed[i - 1].n) throw new S3Failure(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.')
          const part = u.parts.get(listed[i].n)
          if (!part || part.etag !== listed[i].etag) throw new S3Failure(400, 'InvalidPart', 'One or more of the specified parts could not be found.')
          if (i < listed.length - 1 && part.body.length < 5 * 1024 * 1024) throw new S3Failure(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.')
        }
        const parts = listed.map((l) => u.parts.get(l.n)!)
        const etag = `${createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p.etag, 'hex')))).digest('hex')}-${parts.length}`
        store(b, key, Buffer.concat(parts.map((p) => p.body)), {contentType: u.contentType, etag})
        uploads.delete(query.uploadId)
        return sendXml(res, 200, `<CompleteMultipartUploadResult xmlns="${XMLNS}"><Bucket>${xmlEscape(bucketName)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>&quot;${etag}&quot;</ETag></CompleteMultipartUploadResult>`)
      }
      throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
    }
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const o = b.objects.get(key)
        if (!o) throw new S3Failure(404, 'NoSuchKey', 'The specified key does not exist.', {Key: key})
        return sendObject(req, res, o, fault)
      }
      case 'PUT': {
        if (req.headers['x-amz-copy-source']) throw new S3Failure(501, 'NotImplemented', 'CopyObject is not implemented by this test server')
        const md5 = req.headers['content-md5']
        if (typeof md5 === 'string' && createHash('md5').update(body).digest('base64') !== md5) {
          throw new S3Failure(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.')
        }
        const metadata: Record<string, string> = {}
        for (const [k, v] of Object.entries(req.headers)) {
          if (k.startsWith('x-amz-meta-') && v !== undefined) metadata[k.slice('x-amz-meta-'.length)] = Array.isArray(v) ? v.join(',') : v
        }
        const o = store(b, key, body, {
          metadata,
          contentType: req.headers['content-type'],
          contentEncoding: req.headers['content-encoding'],
        })
        return sendEmpty(res, 200, {etag: `"${o.etag}"`})
      }
      case 'DELETE':
        if (b.objects.delete(key)) b.sorted = undefined
        return sendEmpty(res, 204)
      default:
        throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
    }
  }

  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    const log: CosRequestLog = {method: req.method ?? '', path: url.split('?')[0], query: {}, auth: 'none', status: 0}
    requests.push(log)
    res.on('finish', () => {
      log.status = res.statusCode
    })
    res.on('close', () => {
      // A connection dropped after the headers still answered with that status.
      if (log.status === 0 && res.headersSent) log.status = res.statusCode
    })
    handle(req, res, log, url).catch((error: unknown) => {
      const failure =
        error instanceof S3Failure ? error : new S3Failure(500, 'InternalError', `We encountered an internal error: ${String(error)}`)
      log.status = failure.status
      log.errorCode = failure.code
      if (res.headersSent || res.destroyed) {
        res.destroy()
        return
      }
      const resource = log.bucket ? `/${log.bucket}${log.key !== undefined ? `/${log.key}` : ''}` : '/'
      sendError(res, req, failure, resource)
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    createBucket,
    putObject(bucket, key, body, opts) {
      createBucket(bucket)
      return store(buckets.get(bucket)!, key, typeof body === 'string' ? Buffer.from(body) : body, opts)
    },
    getObject: (bucket, key) => buckets.get(bucket)?.objects.get(key),
    keys: (bucket) => [...sortedKeys(needBucketOrEmpty(buckets, bucket))],
    addFault(fault) {
      faults.push({fault, seen: 0})
    },
    clearFaults() {
      faults.length = 0
    },
    clearLog() {
      requests.length = 0
    },
    pendingUploads: () => uploads.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

function needBucketOrEmpty(buckets: Map<string, Bucket>, name: string): Bucket {
  return buckets.get(name) ?? {name, created: new Date(0), objects: new Map()}
}
