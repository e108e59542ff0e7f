/**
 * A minimal, strict COS S3 API (path-style): buckets (create with LocationConstraint, head, location, list v1/v2,
 * delete, multi-delete) and objects (put/get/head/delete with user metadata). Auth: an IAM bearer token from the fake
 * IAM (bucket creation then needs `ibm-service-instance-id`) or any AWS4-HMAC-SHA256 signature whose access key id
 * is a known HMAC key. Buckets belong to a Resource Controller instance; HEAD on someone else's bucket is 403.
 */
import {createHash} from 'node:crypto'

import {type Ctx, type Handler, bearer, makeService, q, sendEmpty, sendXml} from './http.js'
import type {Bucket, FakeCloudState} from './state.js'

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const CLASSES = ['standard', 'vault', 'cold', 'smart', 'onerate_active', 'flex']
const LOCATIONS = ['us-south', 'us-east', 'eu-de', 'eu-gb', 'eu-es', 'jp-tok', 'jp-osa', 'au-syd', 'ca-tor', 'br-sao', 'us', 'eu', 'ap']

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function s3Error(ctx: Ctx, status: number, code: string, message: string, resource = ctx.url.pathname): void {
  if (ctx.method === 'HEAD') {
    sendEmpty(ctx.res, status, {'x-amz-error-code': code})
    return
  }
  sendXml(
    ctx.res,
    status,
    `<Error><Code>${code}</Code><Message>${esc(message)}</Message><Resource>${esc(resource)}</Resource><RequestId>fake-${Date.now()}</RequestId><httpStatusCode>${status}</httpStatusCode></Error>`,
  )
}

interface Caller {
  accountId?: string
  /** HMAC callers act for one instance. */
  instanceGuid?: string
}

function authenticate(state: FakeCloudState, ctx: Ctx): Caller | undefined {
  const token = bearer(ctx.req)
  if (token) {
    const t = state.tokens.get(token)
    return t ? {accountId: t.accountId} : undefined
  }
  const h = String(ctx.req.headers.authorization ?? '')
  const m = /^AWS4-HMAC-SHA256\s+Credential=([^/]+)\//.exec(h)
  if (m) {
    const k = state.hmac.get(m[1])
    return k ? {accountId: state.accountId, instanceGuid: k.instanceGuid} : undefined
  }
  return undefined
}

function owns(state: FakeCloudState, caller: Caller, bucket: Bucket): boolean {
  if (caller.instanceGuid) return caller.instanceGuid === bucket.instanceGuid
  const inst = state.instances.get(bucket.instanceGuid)
  return Boolean(inst) && caller.accountId === state.accountId
}

function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !/\.\./.test(name) && !/^\d+\.\d+\.\d+\.\d+$/.test(name)
}

function listXml(ctx: Ctx, bucket: Bucket): string {
  const v2 = q(ctx, 'list-type') === '2'
  const urlEnc = q(ctx, 'encoding-type') === 'url'
  const enc = (k: string) => esc(urlEnc ? encodeURIComponent(k).replace(/%2F/g, '/') : k)
  const prefix = q(ctx, 'prefix') ?? ''
  const delimiter = q(ctx, 'delimiter')
  const maxKeys = Math.min(1000, Number(q(ctx, 'max-keys') ?? '1000'))
  const after = v2 ? (q(ctx, 'continuation-token') ? Buffer.from(q(ctx, 'continuation-token')!, 'base64url').toString() : q(ctx, 'start-after') ?? '') : q(ctx, 'marker') ?? ''
  const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort()
  const contents: string[] = []
  const prefixes: string[] = []
  let last = ''
  let truncated = false
  for (const k of keys) {
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = true
      break
    }
    if (delimiter) {
      const i = k.indexOf(delimiter, prefix.length)
      if (i >= 0) {
        const p = k.slice(0, i + delimiter.length)
        if (!prefixes.includes(p)) prefixes.push(p)
        last = k
        continue
      }
    }
    contents.push(k)
    last = k
  }
  // Skip past keys rolled into the last common prefix.
  if (delimiter && prefixes.length > 0 && last) {
    const p = prefixes[prefixes.length - 1]
    const rest = keys.filter((k) => k.startsWith(p))
    last = rest[rest.length - 1] ?? last
  }
  const objs = contents
    .map((k) => {
      const o = bucket.objects.get(k)!
      return `<Contents><Key>${enc(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>&quot;${o.etag}&quot;</ETag><Size>${o.body.length}</Size><Owner><ID>fake</ID><DisplayName>fake</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>`
    })
    .join('')
  const cps = prefixes.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`).join('')
  if (v2) {
    return `<ListBucketResult xmlns="${NS}"><Name>${esc(bucket.name)}</Name><Prefix>${enc(prefix)}</Prefix>${urlEnc ? '<EncodingType>url</EncodingType>' : ''}${delimiter ? `<Delimiter>${esc(delimiter)}</Delimiter>` : ''}<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount>${q(ctx, 'continuation-token') ? `<ContinuationToken>${esc(q(ctx, 'continuation-token')!)}</ContinuationToken>` : ''}${truncated ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>` : ''}<IsTruncated>${truncated}</IsTruncated>${objs}${cps}</ListBucketResult>`
  }
  return `<ListBucketResult xmlns="${NS}"><Name>${esc(bucket.name)}</Name><Prefix>${esc(prefix)}</Prefix><Marker>${esc(after)}</Marker>${truncated ? `<NextMarker>${esc(last)}</NextMarker>` : ''}<MaxKeys>${maxKeys}</MaxKeys>${delimiter ? `<Delimiter>${esc(delimiter)}</Delimiter>` : ''}<IsTruncated>${truncated}</IsTruncated>${objs}${cps}</ListBucketResult>`
}

export function cosService(state: FakeCloudState): Handler {
  const handle = (ctx: Ctx): void => {
    const caller = authenticate(state, ctx)
    if (!caller) return s3Error(ctx, 403, 'AccessDenied', 'Access Denied')
    const segments = ctx.url.pathname.split('/')
    const bucketName = decodeURIComponent(segments[1] ?? '')
    const key = segments.length > 2 ? decodeURIComponent(segments.slice(2).join('/')) : ''
    const sp = ctx.url.searchParams

    if (!bucketName) {
      if (ctx.method !== 'GET') return s3Error(ctx, 405, 'MethodNotAllowed', 'The specified method is not allowed')
      const inst = caller.instanceGuid ?? String(ctx.req.headers['ibm-service-instance-id'] ?? '')
      const guid = [...state.instances.values()].find((i) => i.guid === inst || i.crn === inst)?.guid
      if (!guid) return s3Error(ctx, 400, 'InvalidArgument', 'ibm-service-instance-id must name a service instance')
      const list = [...state.buckets.values()].filter((b) => b.instanceGuid === guid)
      sendXml(
        ctx.res,
        200,
        `<ListAllMyBucketsResult xmlns="${NS}"><Owner><ID>${guid}</ID><DisplayName>${guid}</DisplayName></Owner><Buckets>${list
          .map((b) => `<Bucket><Name>${esc(b.name)}</Name><CreationDate>${b.created.toISOString()}</CreationDate></Bucket>`)
          .join('')}</Buckets></ListAllMyBucketsResult>`,
      )
      return
    }

    const bucket = state.buckets.get(bucketName)
    if (!key) {
      if (ctx.method === 'PUT' && [...sp.keys()].length === 0) {
        if (!validBucketName(bucketName)) return s3Error(ctx, 400, 'InvalidBucketName', 'The specified bucket is not valid.')
        let guid = caller.instanceGuid
        if (!guid) {
          const header = String(ctx.req.headers['ibm-service-instance-id'] ?? '')
          if (!header) return s3Error(ctx, 400, 'InvalidArgument', 'The ibm-service-instance-id header is required to create a bucket with IAM credentials')
          const inst = [...state.instances.values()].find((i) => i.guid === header || i.crn === header)
          if (!inst || inst.resource_id !== 'dff97f5c-bc5e-4455-b470-411c3edbe49c') return s3Error(ctx, 403, 'AccessDenied', 'Access Denied')
          if (inst.state !== 'active') return s3Error(ctx, 409, 'OperationAborted', `Service instance is ${inst.state}`)
          guid = inst.guid
        }
        if (bucket) {
          if (owns(state, caller, bucket)) return s3Error(ctx, 409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.')
          return s3Error(ctx, 409, 'BucketAlreadyExists', 'The requested bucket name is not available.')
        }
        const text = ctx.body.toString('utf8')
        let location = `${state.region}-standard`
        if (text.trim()) {
          const m = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(text)
          if (!m) return s3Error(ctx, 400, 'MalformedXML', 'The XML you provided was not well-formed')
          location = m[1]
        }
        const lm = /^([a-z]+(?:-[a-z]+)?)-([a-z_]+)$/.exec(location)
        if (!lm || !LOCATIONS.includes(lm[1]) || !CLASSES.includes(lm[2])) {
          return s3Error(ctx, 400, 'InvalidLocationConstraint', `The specified location-constraint ${location} is not valid`)
        }
        state.buckets.set(bucketName, {name: bucketName, instanceGuid: guid, location, created: new Date(), objects: new Map()})
        const after = state.takeAfterFault('cos', 'PUT', ctx.url.pathname + ctx.url.search)
        if (after) return s3Error(ctx, after.status, 'InternalError', `injected ${after.status} after create`)
        sendEmpty(ctx.res, 200, {location: `/${bucketName}`})
        return
      }
      if (!bucket) return s3Error(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist.', `/${bucketName}`)
      if (!owns(state, caller, bucket)) return s3Error(ctx, 403, 'AccessDenied', 'Access Denied')
      if (ctx.method === 'HEAD') {
        sendEmpty(ctx.res, 200, {'ibm-sse-kp-enabled': 'false'})
        return
      }
      if (ctx.method === 'GET' && sp.has('location')) {
        sendXml(ctx.res, 200, `<LocationConstraint xmlns="${NS}">${esc(bucket.location)}</LocationConstraint>`)
        return
      }
      if (ctx.method === 'GET') {
        sendXml(ctx.res, 200, listXml(ctx, bucket))
        return
      }
      if (ctx.method === 'DELETE') {
        if (bucket.objects.size > 0) return s3Error(ctx, 409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty.')
        state.buckets.delete(bucketName)
        sendEmpty(ctx.res, 204)
        return
      }
      if (ctx.method === 'POST' && sp.has('delete')) {
        const text = ctx.body.toString('utf8')
        const keys = [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) =>
          m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&'),
        )
        if (keys.length > 1000) return s3Error(ctx, 400, 'MalformedXML', 'at most 1000 keys per request')
        const quiet = /<Quiet>true<\/Quiet>/.test(text)
        for (const k of keys) bucket.objects.delete(k)
        sendXml(ctx.res, 200, `<DeleteResult xmlns="${NS}">${quiet ? '' : keys.map((k) => `<Deleted><Key>${esc(k)}</Key></Deleted>`).join('')}</DeleteResult>`)
        return
      }
      return s3Error(ctx, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
    }

    if (!bucket) return s3Error(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist.', `/${bucketName}`)
    if (!owns(state, caller, bucket)) return s3Error(ctx, 403, 'AccessDenied', 'Access Denied')
    if (ctx.method === 'PUT') {
      const metadata: Record<string, string> = {}
      for (const [h, v] of Object.entries(ctx.req.headers)) if (h.startsWith('x-amz-meta-')) metadata[h.slice(11)] = String(v)
      const etag = createHash('md5').update(ctx.body).digest('hex')
      bucket.objects.set(key, {key, body: ctx.body, etag, lastModified: new Date(), metadata, contentType: ctx.req.headers['content-type']})
      sendEmpty(ctx.res, 200, {etag: `"${etag}"`})
      return
    }
    const obj = bucket.objects.get(key)
    if (ctx.method === 'DELETE') {
      bucket.objects.delete(key)
      sendEmpty(ctx.res, 204)
      return
    }
    if (!obj) return s3Error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.', `/${bucketName}/${key}`)
    const headers: Record<string, string> = {
      etag: `"${obj.etag}"`,
      'last-modified': obj.lastModified.toUTCString(),
      'content-type': obj.contentType ?? 'application/octet-stream',
      'content-length': String(obj.body.length),
    }
    for (const [k, v] of Object.entries(obj.metadata)) headers[`x-amz-meta-${k}`] = v
    if (ctx.method === 'HEAD') {
      ctx.res.writeHead(200, headers)
      ctx.res.end()
      return
    }
    if (ctx.method === 'GET') {
      ctx.res.writeHead(200, headers)
      ctx.res.end(obj.body)
      return
    }
    s3Error(ctx, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
  }
  return makeService('cos', state, [], {requireAuth: false, notFound: handle})
}

/** Put an object straight into the fake's bucket (tests: pretend the collector wrote something). */
export function putObject(state: FakeCloudState, bucket: string, key: string, body: Buffer | string, lastModified = new Date()): void {
  const b = state.buckets.get(bucket)
  if (!b) throw new Error(`no bucket ${bucket}`)
  const buf = typeof body === 'string' ? Buffer.from(body) : body
  b.objects.set(key, {key, body: buf, etag: createHash('md5').update(buf).digest('hex'), lastModified, metadata: {}})
}
