/**
 * The strict COS test server behaves like COS where flowlog depends on it: real SigV4 checks, bearer tokens from the
 * fake IAM, S3 listing semantics, metadata, exact bytes, S3 XML errors.
 */
import {createHash} from 'node:crypto'
import {request} from 'node:http'

import {expect} from 'chai'
import type S3 from 'ibm-cos-sdk/clients/s3.js'

import {type CosServer, startCosServer} from '../servers/cos-server.js'
import {type FakeIam, startIam} from '../servers/iam.js'
import {hmacS3, iamS3} from './helpers.js'

const BUCKET = 'flowlogs-bucket'
const KEY_ID = 'hmac-access-key-id'
const SECRET = 'hmac-secret-access-key-value'
const API_KEY = 'api-key-for-tests-0123456789'

async function code(p: Promise<unknown>): Promise<{code?: string; statusCode?: number}> {
  try {
    await p
  } catch (error) {
    return error as {code?: string; statusCode?: number}
  }
  throw new Error('expected the request to fail')
}

function raw(url: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {method, headers}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('cos test server (strict S3 API)', () => {
  let iam: FakeIam
  let cos: CosServer
  let s3: S3

  beforeEach(async () => {
    iam = await startIam({apiKeys: [API_KEY]})
    cos = await startCosServer({hmacKeys: {[KEY_ID]: SECRET}, iam, buckets: [BUCKET]})
    s3 = hmacS3(cos.url, KEY_ID, SECRET)
  })
  afterEach(async () => {
    await cos.close()
    await iam.close()
  })

  it('verifies SigV4 for real: a wrong secret is SignatureDoesNotMatch, an unknown key InvalidAccessKeyId', async () => {
    expect((await s3.listObjectsV2({Bucket: BUCKET}).promise()).KeyCount).to.equal(0)
    const wrongSecret = await code(hmacS3(cos.url, KEY_ID, 'not-the-secret').listObjectsV2({Bucket: BUCKET}).promise())
    expect(wrongSecret).to.include({code: 'SignatureDoesNotMatch', statusCode: 403})
    const unknown = await code(hmacS3(cos.url, 'nobody', SECRET).listObjectsV2({Bucket: BUCKET}).promise())
    expect(unknown).to.include({code: 'InvalidAccessKeyId', statusCode: 403})
    // Anonymous requests are refused.
    const anonymous = await raw(cos.url, `/${BUCKET}?list-type=2`)
    expect(anonymous.status).to.equal(403)
    expect(anonymous.body).to.contain('<Code>AccessDenied</Code>')
    expect(cos.requests.map((r) => r.errorCode)).to.deep.equal([undefined, 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied'])
  })

  it('accepts bearer tokens issued by the fake IAM and refuses others; IAM refuses unknown API keys with 400', async () => {
    const client = iamS3(cos.url, API_KEY, iam.tokenUrl)
    await client.putObject({Bucket: BUCKET, Key: 'a', Body: 'x'}).promise()
    expect(cos.requests.at(-1)).to.include({auth: 'bearer', status: 200})
    const forged = await raw(cos.url, `/${BUCKET}?list-type=2`, 'GET', {authorization: 'Bearer abc.def.ghi'})
    expect(forged.status).to.equal(403)
    const bad = await code(iamS3(cos.url, 'wrong-api-key-000000', iam.tokenUrl).listObjectsV2({Bucket: BUCKET}).promise())
    expect(bad.statusCode).to.equal(400)
    expect(iam.requests.at(-1)).to.include({status: 400, grantType: 'urn:ibm:params:oauth:grant-type:apikey'})
    // The token is a decodable JWT with account.bss, iat and exp.
    const token = iam.issue(API_KEY)
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as {account: {bss: string}; iat: number; exp: number}
    expect(payload.account.bss).to.have.length(32)
    expect(payload.exp - payload.iat).to.equal(3600)
    // Creating a bucket with IAM needs the service instance header (the SDK sends it).
    await client.createBucket({Bucket: 'second-bucket'}).promise()
    expect(cos.requests.at(-1)).to.include({method: 'PUT', status: 200})
  })

  it('round-trips keys with %3A and %2F, metadata, content-encoding and the exact bytes (ETag = MD5)', async () => {
    const key = 'ibm_vpc_flowlogs_v1/account=a/vpc-id=crn%3Av1%3Abluemix%3Apublic%3Ais%3Aus-south%3Aa%2F713c%3A%3Avpc%3Ar006/00000001.gz'
    const body = Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 255, 0, 10])
    await s3.putObject({Bucket: BUCKET, Key: key, Body: body, ContentEncoding: 'gzip', Metadata: {state: 'ok', number_of_flow_logs: '1'}}).promise()
    expect(cos.requests.at(-1)!.path).to.contain('crn%253Av1%253A') // the raw key, encoded once more on the wire
    expect(cos.requests.at(-1)!.key).to.equal(key)
    const head = await s3.headObject({Bucket: BUCKET, Key: key}).promise()
    expect(head.Metadata).to.deep.equal({state: 'ok', number_of_flow_logs: '1'})
    expect(head.ContentEncoding).to.equal('gzip')
    expect(head.ETag).to.equal(`"${createHash('md5').update(body).digest('hex')}"`)
    const got = await s3.getObject({Bucket: BUCKET, Key: key}).promise()
    expect(Buffer.compare(got.Body as Buffer, body)).to.equal(0)
    const listed = await s3.listObjectsV2({Bucket: BUCKET, Prefix: 'ibm_vpc_flowlogs_v1/account=a/vpc-id=crn%3Av1'}).promise()
    expect(listed.Contents!.map((c) => c.Key)).to.deep.equal([key])
    // encoding-type=url: keys come back encoded, and say so.
    const enc = await s3.listObjectsV2({Bucket: BUCKET, EncodingType: 'url'}).promise()
    expect(enc.EncodingType).to.equal('url')
    expect(decodeURIComponent(enc.Contents![0].Key!)).to.equal(key)
    const ranged = await s3.getObject({Bucket: BUCKET, Key: key, Range: 'bytes=2-4'}).promise()
    expect([...(ranged.Body as Buffer)]).to.deep.equal([8, 0, 1])
  })

  it('lists like S3: common prefixes folded and counted toward max-keys, continuation tokens, start-after', async () => {
    const keys = ['a/1/x', 'a/1/y', 'a/2/x', 'a/3', 'b/1/x', 'c', 'd/e/f/g']
    for (const k of keys) cos.putObject(BUCKET, k, k)
    const top = await s3.listObjectsV2({Bucket: BUCKET, Delimiter: '/'}).promise()
    expect(top.CommonPrefixes!.map((p) => p.Prefix)).to.deep.equal(['a/', 'b/', 'd/'])
    expect(top.Contents!.map((c) => c.Key)).to.deep.equal(['c'])
    const underA = await s3.listObjectsV2({Bucket: BUCKET, Delimiter: '/', Prefix: 'a/'}).promise()
    expect(underA.CommonPrefixes!.map((p) => p.Prefix)).to.deep.equal(['a/1/', 'a/2/'])
    expect(underA.Contents!.map((c) => c.Key)).to.deep.equal(['a/3'])
    // Paging two at a time through a mix of prefixes and keys.
    const seen: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const page = await s3.listObjectsV2({Bucket: BUCKET, Delimiter: '/', MaxKeys: 2, ContinuationToken: token}).promise()
      pages++
      expect(page.KeyCount).to.be.at.most(2)
      seen.push(...page.CommonPrefixes!.map((p) => p.Prefix!), ...page.Contents!.map((c) => c.Key!))
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    expect(seen.sort()).to.deep.equal(['a/', 'b/', 'c', 'd/'])
    expect(pages).to.equal(2)
    const after = await s3.listObjectsV2({Bucket: BUCKET, StartAfter: 'a/3'}).promise()
    expect(after.Contents!.map((c) => c.Key)).to.deep.equal(['b/1/x', 'c', 'd/e/f/g'])
    const badToken = await code(s3.listObjectsV2({Bucket: BUCKET, ContinuationToken: 'forged'}).promise())
    expect(badToken).to.include({code: 'InvalidArgument', statusCode: 400})
    const badMax = await raw(cos.url, `/${BUCKET}?list-type=2&max-keys=lots`)
    expect(badMax.status).to.equal(403) // anonymous: auth is checked before arguments
    const v1 = await s3.listObjects({Bucket: BUCKET, Delimiter: '/', MaxKeys: 2}).promise()
    expect(v1.IsTruncated).to.equal(true)
    expect(v1.NextMarker).to.equal('b/')
  })

  it('answers S3 XML errors: NoSuchKey, NoSuchBucket, BucketNotEmpty, InvalidBucketName', async () => {
    expect(await code(s3.getObject({Bucket: BUCKET, Key: 'missing'}).promise())).to.include({code: 'NoSuchKey', statusCode: 404})
    expect(await code(s3.listObjectsV2({Bucket: 'no-such-bucket'}).promise())).to.include({code: 'NoSuchBucket', statusCode: 404})
    expect(await code(s3.headObject({Bucket: BUCKET, Key: 'missing'}).promise())).to.include({statusCode: 404})
    cos.putObject(BUCKET, 'k', 'v')
    expect(await code(s3.deleteBucket({Bucket: BUCKET}).promise())).to.include({code: 'BucketNotEmpty', statusCode: 409})
    expect(await code(s3.createBucket({Bucket: 'Bad_Name'}).promise())).to.include({statusCode: 400})
    expect(await code(s3.createBucket({Bucket: BUCKET}).promise())).to.include({code: 'BucketAlreadyOwnedByYou', statusCode: 409})
  })

  it('creates, heads and deletes buckets; DeleteObjects removes keys in one POST ?delete', async () => {
    await s3.createBucket({Bucket: 'new-bucket', CreateBucketConfiguration: {LocationConstraint: 'us-south-smart'}}).promise()
    await s3.headBucket({Bucket: 'new-bucket'}).promise()
    for (const k of ['x/1', 'x/2', 'x/%3A']) cos.putObject('new-bucket', k, k)
    const out = await s3.deleteObjects({Bucket: 'new-bucket', Delete: {Objects: [{Key: 'x/1'}, {Key: 'x/%3A'}]}}).promise()
    expect(out.Deleted!.map((d) => d.Key)).to.deep.equal(['x/1', 'x/%3A'])
    expect(cos.requests.at(-1)).to.deep.include({method: 'POST', query: {delete: ''}})
    expect(cos.keys('new-bucket')).to.deep.equal(['x/2'])
    await s3.deleteObject({Bucket: 'new-bucket', Key: 'x/2'}).promise()
    await s3.deleteBucket({Bucket: 'new-bucket'}).promise()
    expect(await code(s3.headBucket({Bucket: 'new-bucket'}).promise())).to.include({statusCode: 404})
  })

  it('injects faults: a status on the Nth GET of a key, a dropped connection mid-body', async () => {
    cos.putObject(BUCKET, 'k', Buffer.alloc(4096, 7))
    cos.addFault({method: 'GET', key: 'k', nth: 2, action: {status: 500}})
    await s3.getObject({Bucket: BUCKET, Key: 'k'}).promise()
    expect(await code(s3.getObject({Bucket: BUCKET, Key: 'k'}).promise())).to.include({statusCode: 500, code: 'InternalError'})
    await s3.getObject({Bucket: BUCKET, Key: 'k'}).promise()
    cos.addFault({method: 'GET', key: 'k', action: {drop: 'mid-body'}})
    const dropped = await new Promise<string>((resolve) => {
      const stream = s3.getObject({Bucket: BUCKET, Key: 'k'}).createReadStream()
      let bytes = 0
      stream.on('data', (d: Buffer) => (bytes += d.length))
      stream.on('error', (e: {code?: string}) => resolve(`error ${e.code} after ${bytes} bytes`))
      stream.on('end', () => resolve('end'))
    })
    expect(dropped).to.match(/^error .* after 2048 bytes$/)
    expect(cos.requests.filter((r) => r.fault).length).to.equal(2)
  })
})
