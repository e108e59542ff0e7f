/**
 * The cos:// source against the strict COS test server: time-pruned listing (asserted from the request log),
 * the prefix cache, paging, raw keys with %3A/%2F, retries, integrity checks, credentials and foreign objects.
 */
import {createHash} from 'node:crypto'

import {expect} from 'chai'

import {AuthError, ConfigError, ExitCode, RemoteError} from '../../src/lib/errors.js'
import {readObject} from '../../src/lib/records/object.js'
import {HOUR_MS} from '../../src/lib/records/time.js'
import {createCosSource, type CosSourceOptions} from '../../src/lib/sources/cos.js'
import type {Source} from '../../src/lib/sources/types.js'
import type {CosSourceStats} from '../../src/lib/cos/listing.js'
import {type CosRequestLog, type CosServer, startCosServer} from '../servers/cos-server.js'
import {type FakeIam, startIam} from '../servers/iam.js'
import {generateObjects, type GeneratedObject, sampleObjects} from './fixtures.js'
import {collect, hmacS3, pool, seed, tempFlowlogHome} from './helpers.js'

const BUCKET = 'flowlogs-bucket'
const KEY_ID = 'test-access-key-id'
const SECRET = 'test-secret-access-key-0123456789'
const API_KEY = 'test-iam-api-key-0123456789abcdef'
const H0 = Date.UTC(2026, 2, 10, 6) // 06:00 UTC

type CosTestSource = Source & {stats: CosSourceStats}

describe('cos:// source', function () {
  this.timeout(120_000)
  let cos: CosServer
  let iam: FakeIam
  let homeDir: ReturnType<typeof tempFlowlogHome>

  const open = (spec = `cos://${BUCKET}`, extra: Partial<CosSourceOptions> = {}, env: NodeJS.ProcessEnv = {}): Promise<CosTestSource> =>
    createCosSource(spec, {
      home: homeDir.home,
      env: {FLOWLOG_COS_ENDPOINT: cos.url, FLOWLOG_COS_HMAC_ACCESS_KEY_ID: KEY_ID, FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: SECRET, ...env},
      retryBaseDelayMs: 5,
      ...extra,
    })

  const lists = (from = 0): CosRequestLog[] => cos.requests.slice(from).filter((r) => r.method === 'GET' && r.key === undefined)
  const gets = (from = 0): CosRequestLog[] => cos.requests.slice(from).filter((r) => r.method === 'GET' && r.key !== undefined)

  beforeEach(async () => {
    iam = await startIam({apiKeys: [API_KEY]})
    cos = await startCosServer({hmacKeys: {[KEY_ID]: SECRET}, iam, buckets: [BUCKET]})
    homeDir = tempFlowlogHome()
  })
  afterEach(async () => {
    await cos.close()
    await iam.close()
    homeDir.cleanup()
  })

  describe('a one-hour window', () => {
    let objects: GeneratedObject[]
    const since = H0 + 3 * HOUR_MS // 09:00
    const until = since + HOUR_MS // 10:00

    beforeEach(() => {
      objects = generateObjects({start: H0, hours: 6, vnics: 3, recordsPerObject: 2})
      seed(cos, BUCKET, objects)
      cos.putObject(BUCKET, 'marker.txt', 'not a flow log')
      cos.putObject(BUCKET, 'flowlog/checkpoints/egress.json', '{}')
    })

    it('lists only the record-type prefixes and the window hours, never the whole bucket, and reads what can hold records', async () => {
      const source = await open()
      const listed = await collect(source.list({since, until}))
      // Never a listing of the whole bucket, no listing of foreign folders.
      for (const r of lists()) {
        expect(r.query.prefix !== '' || r.query.delimiter === '/', `whole-bucket listing ${JSON.stringify(r.query)}`).to.equal(true)
        expect(r.query.prefix ?? '').to.not.match(/^flowlog\//)
      }
      // Flat listings are hour prefixes of 08 (since − 5 min) and 09 only.
      const flat = lists().filter((r) => r.query.delimiter === undefined)
      expect(flat).to.have.length(6 * 2) // 3 vNICs × 2 record types × 2 hours
      for (const r of flat) expect(r.query.prefix).to.match(/\/record-type=(egress|ingress)\/year=2026\/month=03\/day=10\/hour=(08|09)\/$/)
      // Delimiter listings walk down to record-type=.
      const walk = lists().filter((r) => r.query.delimiter === '/')
      expect(walk.map((r) => r.query.prefix)).to.include('')
      expect(walk.every((r) => !/record-type=/.test(r.query.prefix ?? ''))).to.equal(true)
      // Hour 09 in full, plus the objects of hour 08 written after since − 5 min (08:50 and 08:55); the rest of 08
      // is pruned by LastModified.
      const expected = objects.filter((o) => o.written >= since - 5 * 60_000 && o.captureStart < until).map((o) => o.key)
      expect(listed.map((o) => o.key).sort()).to.deep.equal(expected.sort())
      expect(listed).to.have.length(6 * 14)
      expect(source.stats).to.include({skippedForeign: 1, recordTypePrefixes: 6, listed: 84, prunedByLastModified: 6 * 10, prefixCache: 'miss'})
      expect(source.stats.listRequests).to.equal(lists().length)
      // Listed objects carry ETag (no quotes), size and LastModified.
      const first = objects.find((o) => o.key === listed[0].key)!
      expect(listed[0]).to.deep.include({etag: createHash('md5').update(first.body).digest('hex'), size: first.body.length, mtime: first.written - (first.written % 1000)})
      await source.close?.()
    })

    it('caches the record-type prefixes in the home: the next pull lists the root and the hours only', async () => {
      const first = await open()
      await collect(first.list({since, until}))
      const mark = cos.requests.length
      const second = await open()
      const again = await collect(second.list({since, until}))
      expect(again).to.have.length(84)
      expect(second.stats.prefixCache).to.equal('hit')
      expect(lists(mark).filter((r) => r.query.delimiter === '/').map((r) => r.query.prefix)).to.deep.equal([''])
      expect(second.stats.listRequests).to.equal(1 + 12)
      // Stale after the TTL, or on request: walked again.
      const later = await open(undefined, {now: () => Date.now() + 11 * 60_000})
      await collect(later.list({since, until}))
      expect(later.stats.prefixCache).to.equal('miss')
      const refreshed = await open(undefined, {refreshPrefixes: true})
      await collect(refreshed.list({since, until}))
      expect(refreshed.stats.prefixCache).to.equal('miss')
    })

    it('pages every listing with continuation tokens (max-keys small) and yields the same objects', async () => {
      const big = await open(undefined, {refreshPrefixes: true})
      const expected = (await collect(big.list({since, until}))).map((o) => o.key)
      const mark = cos.requests.length
      const small = await open(undefined, {listPageSize: 2, refreshPrefixes: true})
      const got = (await collect(small.list({since, until}))).map((o) => o.key)
      expect(got).to.deep.equal(expected)
      const paged = lists(mark)
      expect(paged.every((r) => r.query['max-keys'] === '2')).to.equal(true)
      expect(paged.filter((r) => r.query['continuation-token']).length).to.be.greaterThan(30)
      expect(small.stats.listRequests).to.be.greaterThan(big.stats.listRequests)
    })

    it('reads back exactly the stored bytes, and the records parse', async () => {
      const source = await open()
      const listed = await collect(source.list({since, until}))
      let records = 0
      for (const obj of listed) {
        const bytes = await source.read(obj)
        const stored = objects.find((o) => o.key === obj.key)!
        expect(Buffer.compare(Buffer.from(bytes), stored.body)).to.equal(0)
        records += readObject(bytes).records.length
      }
      expect(records).to.equal(84 * 2)
      expect(source.stats.getRequests).to.equal(84)
      expect(source.stats.retries).to.equal(0)
    })

    it('walks year/month/day/hour folders for long or open windows, pruning each level', async () => {
      const source = await open()
      const longSince = H0 - 3 * 86_400_000
      const got = await collect(source.list({since: longSince + 4 * HOUR_MS + 3 * 86_400_000}))
      // since = 10:00 → hour 09 objects written after 09:55, and hours 10, 11.
      expect(got.map((o) => o.key).sort()).to.deep.equal(
        objects.filter((o) => o.written >= H0 + 4 * HOUR_MS - 5 * 60_000).map((o) => o.key).sort(),
      )
      const untilOnly = await open()
      const early = await collect(untilOnly.list({until: H0 + 2 * HOUR_MS}))
      expect(early.map((o) => o.key).sort()).to.deep.equal(objects.filter((o) => o.captureStart < H0 + 2 * HOUR_MS).map((o) => o.key).sort())
      // The date walk lists below record-type= with a delimiter, and only hours 06 and 07 flat.
      const flat = lists().filter((r) => r.query.delimiter === undefined).map((r) => r.query.prefix ?? '')
      expect(flat.filter((p) => /hour=(08|09|10|11)\/$/.test(p))).to.have.length(6 * 3) // the first (since-only) walk: 09, 10, 11
      expect(lists().some((r) => r.query.delimiter === '/' && /record-type=[a-z]+\/year=2026\/$/.test(r.query.prefix ?? ''))).to.equal(true)
    })

    it('lists everything with one flat listing when no window is given, counting foreign keys', async () => {
      const source = await open(undefined, {listPageSize: 100})
      const got = await collect(source.list({}))
      expect(got).to.have.length(objects.length)
      expect(source.stats.skippedForeign).to.equal(2)
      expect(lists().every((r) => r.query.delimiter === undefined && r.query.prefix === '')).to.equal(true)
      expect(source.stats.listRequests).to.equal(Math.ceil((objects.length + 2) / 100))
      // …and it refreshes the prefix cache for the next windowed pull.
      const next = await open()
      await collect(next.list({since, until}))
      expect(next.stats.prefixCache).to.equal('hit')
    })
  })

  it('lists and reads 10,000 objects', async () => {
    const objects = generateObjects({start: H0, hours: 10, vnics: 42, recordsPerObject: 1})
    expect(objects.length).to.be.at.least(10_000)
    seed(cos, BUCKET, objects)
    const source = await open()
    const listed = await collect(source.list({}))
    expect(listed).to.have.length(objects.length)
    const byKey = new Map(objects.map((o) => [o.key, o]))
    let bytes = 0
    await pool(listed, 16, async (obj) => {
      const body = await source.read(obj)
      expect(Buffer.compare(Buffer.from(body), byKey.get(obj.key)!.body)).to.equal(0)
      bytes += body.byteLength
    })
    expect(source.stats.getRequests).to.equal(objects.length)
    expect(source.stats.bytes).to.equal(bytes)
    expect(source.stats.listRequests).to.equal(Math.ceil(objects.length / 1000))
    await source.close?.()
  })

  it('round-trips the real sample keys with %3A and %2F (list, get, head) and reads gzip, plain and v0 objects', async () => {
    const samples = sampleObjects()
    for (const s of samples) cos.putObject(BUCKET, s.key, s.body, {contentEncoding: s.body[0] === 0x1f ? 'gzip' : undefined})
    const source = await open()
    const listed = await collect(source.list({}))
    expect(listed.map((o) => o.key).sort()).to.deep.equal(samples.map((s) => s.key).sort())
    expect(listed.some((o) => o.key.includes('%3A') && o.key.includes('%2F'))).to.equal(true)
    for (const obj of listed) {
      const sample = samples.find((s) => s.key === obj.key)!
      const bytes = await source.read(obj)
      expect(Buffer.compare(Buffer.from(bytes), sample.body)).to.equal(0)
      expect(readObject(bytes).records).to.have.length(sample.records)
      // The raw key went over the wire encoded once more: %3A as %253A.
      const get = gets().at(-1)!
      expect(get.key).to.equal(obj.key)
      if (obj.key.includes('%3A')) expect(get.path).to.contain('%253A')
      const head = await hmacS3(cos.url, KEY_ID, SECRET).headObject({Bucket: BUCKET, Key: obj.key}).promise()
      expect(head.ContentLength).to.equal(sample.body.length)
    }
    // The v0 object is yielded for a window too (the store filters its records by time); the v1 ones of 2021 are not.
    const windowed = await collect((await open()).list({since: Date.UTC(2026, 0, 1), until: Date.UTC(2026, 0, 2)}))
    expect(windowed.map((o) => o.key)).to.deep.equal([samples[2].key])
    const v1hour = await collect((await open()).list({since: Date.UTC(2021, 10, 23, 20, 30), until: Date.UTC(2021, 10, 23, 20, 40)}))
    expect(v1hour.map((o) => o.key).sort()).to.deep.equal([samples[2].key, samples[0].key, samples[1].key].sort())
  })

  it('yields unrecognised layouts under ibm_vpc_flowlogs_, skips foreign objects, and honours a folder prefix', async () => {
    const [gen] = generateObjects({start: H0, hours: 1, vnics: 1, recordsPerObject: 1, perHour: 1, recordTypes: ['all']})
    cos.putObject(BUCKET, `archive/${gen.key}`, gen.body)
    cos.putObject(BUCKET, 'archive/ibm_vpc_flowlogs_v2/some/new/layout.gz', gen.body)
    cos.putObject(BUCKET, 'archive/notes.txt', 'foreign')
    cos.putObject(BUCKET, gen.key, gen.body) // outside the prefix
    const source = await open(`cos://${BUCKET}/archive`)
    const got = await collect(source.list({since: H0, until: H0 + HOUR_MS}))
    expect(got.map((o) => o.key).sort()).to.deep.equal([`archive/${gen.key}`, 'archive/ibm_vpc_flowlogs_v2/some/new/layout.gz'])
    expect(source.stats.skippedForeign).to.equal(1)
    expect(source.id).to.equal(`cos://${BUCKET}/archive`)
    expect(lists().every((r) => (r.query.prefix ?? '').startsWith('archive/'))).to.equal(true)
    // A prefix inside the hierarchy (down to one vNIC's record type) works too.
    const rt = gen.key.slice(0, gen.key.indexOf('year='))
    const narrow = await open(`cos://${BUCKET}/${rt}`)
    expect((await collect(narrow.list({since: H0, until: H0 + HOUR_MS}))).map((o) => o.key)).to.deep.equal([gen.key])
  })

  describe('reads', () => {
    let obj: GeneratedObject
    beforeEach(() => {
      ;[obj] = generateObjects({start: H0, hours: 1, vnics: 1, recordsPerObject: 50, perHour: 1})
      seed(cos, BUCKET, [obj])
    })
    const read = async (source: CosTestSource) => Buffer.from(await source.read({key: obj.key}))

    it('retries 500s and dropped connections mid-download, and succeeds', async () => {
      cos.addFault({method: 'GET', key: obj.key, times: 2, action: {status: 500}})
      cos.addFault({method: 'GET', key: obj.key, nth: 3, action: {drop: 'mid-body'}})
      const source = await open()
      expect(Buffer.compare(await read(source), obj.body)).to.equal(0)
      expect(gets().map((r) => r.status)).to.deep.equal([500, 500, 200, 200])
      expect(source.stats.retries).to.equal(3)
    })

    it('retries a stalled download after the request timeout', async () => {
      cos.addFault({method: 'GET', key: obj.key, action: {stallMidBodyMs: 3000}})
      const source = await open(undefined, {requestTimeoutMs: 200})
      expect(Buffer.compare(await read(source), obj.body)).to.equal(0)
      expect(source.stats.retries).to.equal(1)
    })

    it('retries a body that fails its MD5 check; accepts an ETag that is simply not an MD5 after two identical downloads', async () => {
      cos.addFault({method: 'GET', key: obj.key, action: {corrupt: true}})
      const source = await open()
      expect(Buffer.compare(await read(source), obj.body)).to.equal(0)
      expect(source.stats.retries).to.equal(1)
      cos.putObject(BUCKET, obj.key, obj.body, {etag: 'ffffffffffffffffffffffffffffffff'})
      const other = await open()
      expect(Buffer.compare(await read(other), obj.body)).to.equal(0)
      expect(other.stats).to.include({retries: 1, etagNotMd5: 1})
    })

    it('gives up after maxAttempts with a RemoteError (exit 4)', async () => {
      cos.addFault({method: 'GET', key: obj.key, times: Infinity, action: {status: 503, code: 'ServiceUnavailable'}})
      const source = await open(undefined, {maxAttempts: 3})
      const error = await source.read({key: obj.key}).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(RemoteError)
      expect((error as RemoteError).exitCode).to.equal(ExitCode.remote)
      expect((error as RemoteError).message).to.contain('503')
      expect(gets()).to.have.length(3)
    })

    it('does not retry a missing object', async () => {
      const source = await open()
      const error = await source.read({key: 'ibm_vpc_flowlogs_v1/gone.gz'}).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(RemoteError)
      expect((error as Error).message).to.match(/no longer exists/)
      expect(gets()).to.have.length(1)
    })

    it('accepts objects served with Content-Encoding: gzip, as stored or already decompressed by the client side', async () => {
      const [sample] = sampleObjects()
      cos.putObject(BUCKET, sample.key, sample.body, {contentEncoding: 'gzip'})
      const source = await open()
      const asStored = await source.read({key: sample.key})
      expect(Buffer.compare(Buffer.from(asStored), sample.body)).to.equal(0)
      cos.addFault({method: 'GET', key: sample.key, action: {serveGunzipped: true}})
      const decoded = await source.read({key: sample.key})
      expect(Buffer.from(decoded).toString('utf8')).to.equal(sample.json)
      expect(readObject(decoded).records).to.have.length(2)
      expect(source.stats.retries).to.equal(0)
    })

    it('stops at once when the signal aborts', async () => {
      cos.addFault({method: 'GET', key: obj.key, action: {delayMs: 5000}})
      const source = await open()
      const controller = new AbortController()
      const pending = source.read({key: obj.key}, controller.signal)
      setTimeout(() => controller.abort(new Error('stop')), 50)
      const error = await pending.catch((e: unknown) => e)
      expect((error as Error).message).to.equal('stop')
      expect(source.stats.retries).to.equal(0)
    })
  })

  describe('credentials', () => {
    it('a wrong HMAC secret is an AuthError (exit 3), not retried, and the secret is never echoed', async () => {
      const wrong = 'wrong-secret-that-must-not-leak-42'
      const source = await open(undefined, {}, {FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: wrong})
      const error = await collect(source.list({})).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(AuthError)
      expect((error as AuthError).exitCode).to.equal(ExitCode.config)
      expect((error as AuthError).message).to.match(/SignatureDoesNotMatch/)
      expect(JSON.stringify({m: (error as AuthError).message, s: (error as AuthError).suggestions, d: (error as AuthError).detail})).to.not.contain(wrong)
      expect(cos.requests).to.have.length(1)
    })

    it('an unknown HMAC access key id is an AuthError', async () => {
      const source = await open(undefined, {}, {FLOWLOG_COS_HMAC_ACCESS_KEY_ID: 'nobody'})
      const error = await source.read({key: 'ibm_vpc_flowlogs_v1/x.gz'}).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(AuthError)
      expect((error as Error).message).to.match(/InvalidAccessKeyId/)
    })

    it('IAM: an API key exchanged at FLOWLOG_IAM_URL gives bearer access; a wrong key is an AuthError (exit 3)', async () => {
      const objects = generateObjects({start: H0, hours: 1, vnics: 1, recordsPerObject: 1, perHour: 2})
      seed(cos, BUCKET, objects)
      const env = {FLOWLOG_COS_ENDPOINT: cos.url, IBMCLOUD_API_KEY: API_KEY, FLOWLOG_IAM_URL: iam.url}
      const source = await createCosSource(`cos://${BUCKET}`, {home: homeDir.home, env})
      const listed = await collect(source.list({since: H0, until: H0 + HOUR_MS}))
      expect(listed).to.have.length(4)
      expect(Buffer.compare(Buffer.from(await source.read(listed[0])), objects.find((o) => o.key === listed[0].key)!.body)).to.equal(0)
      expect(cos.requests.every((r) => r.auth === 'bearer' && r.status === 200)).to.equal(true)
      expect(iam.requests.filter((r) => r.status === 200)).to.have.length(1) // one token, reused
      const bad = await createCosSource(`cos://${BUCKET}`, {home: homeDir.home, env: {...env, IBMCLOUD_API_KEY: 'not-a-valid-key-xyz'}})
      const error = await collect(bad.list({})).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(AuthError)
      expect((error as AuthError).exitCode).to.equal(ExitCode.config)
      expect((error as Error).message).to.match(/IAM.*refused the API key/)
      expect((error as Error).message).to.not.contain('not-a-valid-key-xyz')
    })

    it('an unreachable IAM is a RemoteError, not an AuthError', async () => {
      const url = iam.url
      await iam.close()
      const source = await createCosSource(`cos://${BUCKET}`, {
        home: homeDir.home,
        env: {FLOWLOG_COS_ENDPOINT: cos.url, IBMCLOUD_API_KEY: API_KEY, FLOWLOG_IAM_URL: url},
        maxAttempts: 2,
        retryBaseDelayMs: 5,
      })
      const error = await collect(source.list({})).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(RemoteError)
      expect((error as Error).message).to.match(/IAM token/)
      iam = await startIam({apiKeys: [API_KEY]}) // for afterEach
    })

    it('a missing bucket is a ConfigError naming it; missing credentials say what to set', async () => {
      const source = await open('cos://no-such-bucket')
      const error = await collect(source.list({since: H0})).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(ConfigError)
      expect((error as Error).message).to.contain('"no-such-bucket" does not exist')
      const noCreds = await createCosSource(`cos://${BUCKET}`, {home: homeDir.home, env: {FLOWLOG_COS_ENDPOINT: cos.url}}).catch((e: unknown) => e)
      expect(noCreds).to.be.instanceOf(ConfigError)
      expect((noCreds as ConfigError).suggestions.join(' ')).to.contain('FLOWLOG_COS_HMAC_ACCESS_KEY_ID')
    })
  })

  it('retries a listing that fails with 500, and reports each list request to the progress callback', async () => {
    seed(cos, BUCKET, generateObjects({start: H0, hours: 1, vnics: 1, recordsPerObject: 1, perHour: 3}))
    cos.addFault({method: 'GET', match: (r) => r.key === undefined, nth: 2, action: {status: 500}})
    const source = await open()
    const prefixes: string[] = []
    const got = await collect(source.list({since: H0, until: H0 + HOUR_MS}, {onListRequest: (p) => prefixes.push(p)}))
    expect(got).to.have.length(6)
    expect(source.stats.retries).to.equal(1)
    expect(prefixes).to.have.length(source.stats.listRequests)
    expect(lists().filter((r) => r.status === 500)).to.have.length(1)
  })
})
