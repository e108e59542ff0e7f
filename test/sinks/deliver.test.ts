import {expect} from 'chai'

import {payloadOf} from '../../src/lib/sinks/batch.js'
import {deliverBatch, SinkAuthError} from '../../src/lib/sinks/deliver.js'
import {createHttpClient} from '../../src/lib/sinks/http.js'
import {LogdnaSink} from '../../src/lib/sinks/logdna.js'
import {Backoff, parseRetryAfter} from '../../src/lib/sinks/retry.js'
import {type FakeLogdna, startLogdna} from '../servers/ingest-logdna.js'
import {recordingSleep} from './helpers.js'

const KEY = 'ingest-key-0123456789'

function entries(n: number, prefix = 'id'): string[] {
  return Array.from({length: n}, (_, i) =>
    JSON.stringify({line: JSON.stringify({n: i, pad: 'x'.repeat(100)}), timestamp: Date.now(), app: 'vpc-flowlogs', level: 'INFO', meta: {record_id: `${prefix}-${i}`}}),
  )
}

const pay = (list: string[]) => payloadOf({prefix: '{"lines":[', suffix: ']}'}, list)

describe('sinks: delivery of one batch (retries, splitting, 207, auth)', () => {
  let fake: FakeLogdna
  let sink: LogdnaSink

  const makeSink = (options: {timeoutMs?: number; auth?: 'apikey' | 'basic'; key?: string} = {}) =>
    new LogdnaSink({
      url: fake.url,
      ingestionKey: options.key ?? KEY,
      auth: options.auth,
      hostname: 'flowlog',
      tags: ['vpc', 'test'],
      http: createHttpClient({maxSockets: 4}),
      userAgent: 'flowlog/test',
      timeoutMs: options.timeoutMs ?? 5000,
    })

  afterEach(async () => {
    sink?.close()
    await fake?.close()
  })

  it('200: every line accepted once, with hostname, now and tags as query parameters and the apikey header', async () => {
    fake = await startLogdna({ingestionKeys: [KEY]})
    sink = makeSink()
    const before = Date.now()
    const r = await deliverBatch(sink, pay(entries(10)))
    expect(r.acked).to.have.length(10)
    expect(r.failed).to.deep.equal([])
    expect(r.requests).to.equal(1)
    expect(fake.ids).to.deep.equal(entries(10).map((_, i) => `id-${i}`))
    const req = fake.requests[0]
    expect(req).to.include({status: 200, auth: 'apikey', hostname: 'flowlog', userAgent: 'flowlog/test'})
    expect(req.tags).to.deep.equal(['vpc', 'test'])
    expect(req.now).to.be.at.least(before)
  })

  it('HTTP basic auth (--auth basic) is accepted; a wrong key is a 401 that stops everything', async () => {
    fake = await startLogdna({ingestionKeys: [KEY]})
    sink = makeSink({auth: 'basic'})
    await deliverBatch(sink, pay(entries(2)))
    expect(fake.requests[0].auth).to.equal('basic')
    sink.close()
    sink = makeSink({key: 'wrong-key-000000'})
    let error: unknown
    try {
      await deliverBatch(sink, pay(entries(2)), {maxAttempts: 8})
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(SinkAuthError)
    expect((error as SinkAuthError).status).to.equal(401)
    expect((error as Error).message).not.to.contain('wrong-key')
    expect(fake.requests).to.have.length(2)
  })

  it('429 with Retry-After: waits at least that long, then succeeds; now is recomputed per attempt', async () => {
    fake = await startLogdna({ingestionKeys: [KEY], faults: [{status: 429, retryAfter: 3}, {status: 429}]})
    sink = makeSink()
    const {sleeps, sleep} = recordingSleep()
    let t = 1_700_000_000_000
    const timed = new LogdnaSink({url: fake.url, ingestionKey: KEY, hostname: 'flowlog', http: createHttpClient(), userAgent: 'x', now: () => (t += 1000)})
    const r = await deliverBatch(timed, pay(entries(3)), {sleep, backoff: {baseMs: 10, capMs: 50}})
    timed.close()
    expect(r.acked).to.have.length(3)
    expect(r.retries).to.equal(2)
    expect(sleeps[0]).to.equal(3000)
    expect(sleeps[1]).to.be.within(10, 50)
    const nows = fake.requests.map((q) => q.now)
    expect(new Set(nows).size).to.equal(3)
    expect(fake.accepted).to.equal(3)
  })

  it('503 and dropped connections (before and after the body) are retried; nothing is lost or doubled', async () => {
    fake = await startLogdna({ingestionKeys: [KEY], faults: [{status: 503}, {drop: 'after-body'}, {drop: 'before-body'}, {status: 500}]})
    sink = makeSink()
    const {sleeps, sleep} = recordingSleep()
    const r = await deliverBatch(sink, pay(entries(50)), {sleep, backoff: {baseMs: 1, capMs: 5}})
    expect(r.acked).to.have.length(50)
    expect(r.retries).to.equal(4)
    expect(sleeps).to.have.length(4)
    expect(fake.accepted).to.equal(50)
    expect([...fake.counts().values()].every((c) => c === 1)).to.equal(true)
  })

  it('a slow answer within the timeout is waited for; beyond the timeout the request is retried', async () => {
    fake = await startLogdna({ingestionKeys: [KEY], faults: [{delayMs: 300}, {delayMs: 3000}]})
    sink = makeSink({timeoutMs: 20_000})
    const {sleep} = recordingSleep()
    const first = await deliverBatch(sink, pay(entries(2, 'a')), {sleep})
    expect(first.retries).to.equal(0)
    sink.close()
    sink = makeSink({timeoutMs: 300})
    const second = await deliverBatch(sink, pay(entries(2, 'b')), {sleep, backoff: {baseMs: 1, capMs: 2}})
    expect(second.retries).to.equal(1)
    expect(second.acked).to.have.length(2)
    expect(fake.ids).to.deep.equal(['a-0', 'a-1', 'b-0', 'b-1'])
  })

  it('207: lines marked 200 are never resent; 429/5xx lines are resent alone; others fail', async () => {
    fake = await startLogdna({
      ingestionKeys: [KEY],
      faults: [{partial: (i) => (i % 4 === 1 ? 503 : i % 4 === 2 ? 429 : i % 4 === 3 ? 400 : 200)}],
    })
    sink = makeSink()
    const {sleep} = recordingSleep()
    const r = await deliverBatch(sink, pay(entries(8)), {sleep, backoff: {baseMs: 1, capMs: 2}})
    expect(r.acked.sort()).to.deep.equal([0, 1, 2, 4, 5, 6])
    expect(r.failed).to.have.length(1)
    expect(r.failed[0].positions).to.deep.equal([3, 7])
    expect(r.failed[0].reason).to.contain('400')
    expect(fake.requests[1].lines).to.equal(4)
    const counts = fake.counts()
    expect([...counts.values()].every((c) => c === 1)).to.equal(true)
    expect(counts.size).to.equal(6)
  })

  it('400 "too large" splits the batch in half until the halves fit', async () => {
    const list = entries(40)
    const bytes = Buffer.byteLength('{"lines":[' + list.join(',') + ']}')
    fake = await startLogdna({ingestionKeys: [KEY], maxBodyBytes: Math.floor(bytes / 3)})
    sink = makeSink()
    const r = await deliverBatch(sink, pay(list))
    expect(r.acked).to.have.length(40)
    expect(r.splits).to.be.at.least(3)
    expect(fake.requests.filter((q) => q.status === 400)).to.have.length(r.splits)
    expect(fake.ids).to.deep.equal(list.map((_, i) => `id-${i}`))
  })

  it('a single line too large for the service fails (reported), without looping', async () => {
    fake = await startLogdna({ingestionKeys: [KEY], maxBodyBytes: 50})
    sink = makeSink()
    const r = await deliverBatch(sink, pay(entries(2)))
    expect(r.acked).to.deep.equal([])
    expect(r.failed.map((f) => f.positions)).to.deep.equal([[0], [1]])
    expect(r.failed[0].reason).to.match(/too large/)
  })

  it('other 4xx fail the batch without retries; retries stop after maxAttempts', async () => {
    fake = await startLogdna({ingestionKeys: [KEY], faults: [{status: 404}]})
    sink = makeSink()
    const r = await deliverBatch(sink, pay(entries(3)))
    expect(r.acked).to.deep.equal([])
    expect(r.retries).to.equal(0)
    expect(r.failed[0].reason).to.contain('404')
    fake.setFaults({fault: () => ({status: 503})})
    const {sleeps, sleep} = recordingSleep()
    const r2 = await deliverBatch(sink, pay(entries(3)), {sleep, maxAttempts: 4, backoff: {baseMs: 1, capMs: 3}})
    expect(r2.failed[0].reason).to.match(/gave up after 4 attempts/)
    expect(sleeps).to.have.length(3)
    expect(fake.accepted).to.equal(0)
  })

  it('the fake is strict: no hostname → 400, the legacy {"e":"ls"} body → 400, unknown line keys → 400', async () => {
    fake = await startLogdna({ingestionKeys: [KEY]})
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(fake.url + path, {method: 'POST', headers: {apikey: KEY, 'content-type': 'application/json', ...headers}, body: JSON.stringify(body)})
    expect((await post('/logs/ingest', {lines: [{line: 'x'}]})).status).to.equal(400)
    expect((await post('/logs/ingest?hostname=h', {e: 'ls', ls: [{line: 'x'}]})).status).to.equal(400)
    expect((await post('/logs/ingest?hostname=h', {lines: [{line: 'x', foo: 1}]})).status).to.equal(400)
    expect((await post('/logs/ingest?hostname=h', {lines: [{timestamp: 1}]})).status).to.equal(400)
    expect((await post('/logs/ingest?hostname=h', {lines: [{line: 'x'}]}, {apikey: 'nope'})).status).to.equal(401)
    const old = await post('/logs/ingest?hostname=h', {lines: [{line: 'x', timestamp: Date.now() - 3 * 86_400_000}]})
    expect(old.status).to.equal(200)
    expect(fake.lines[0].shownTime).to.equal(fake.lines[0].arrival)
  })
})

describe('sinks: backoff and Retry-After', () => {
  it('decorrelated jitter stays within [base, cap] and grows from the previous sleep', () => {
    const b = new Backoff({baseMs: 1000, capMs: 30_000, random: () => 1})
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).to.deep.equal([3000, 9000, 27_000, 30_000, 30_000])
    const low = new Backoff({baseMs: 1000, capMs: 30_000, random: () => 0})
    expect(low.next()).to.equal(1000)
    const seeded = new Backoff({baseMs: 100, capMs: 400})
    for (let i = 0; i < 50; i++) expect(seeded.next()).to.be.within(100, 400)
    expect(new Backoff({baseMs: 10, capMs: 20, random: () => 0}).next(5000)).to.equal(5000)
  })

  it('Retry-After: seconds or an HTTP date, clamped', () => {
    expect(parseRetryAfter('2')).to.equal(2000)
    expect(parseRetryAfter(undefined)).to.equal(undefined)
    expect(parseRetryAfter('soon')).to.equal(undefined)
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).to.equal(5000)
    expect(parseRetryAfter('99999')).to.equal(300_000)
  })
})

describe('sinks: delivery to IBM Cloud Logs', () => {
  it('bearer tokens from the fake IAM; 413 (over 2 MB) splits; a revoked token is a 401 that stops everything', async () => {
    const {startIam} = await import('../servers/iam.js')
    const {startCloudLogs} = await import('../servers/ingest-cloud-logs.js')
    const {CloudLogsSink, iamTokenProvider} = await import('../../src/lib/sinks/cloud-logs.js')
    const iam = await startIam({apiKeys: ['cl-api-key-123456']})
    const entry = (i: number) => JSON.stringify({applicationName: 'vpc-flowlogs', subsystemName: 'flowlog', text: {n: i, pad: 'y'.repeat(200)}, severity: 3, timestamp: Date.now(), category: `c-${i}`})
    const list = Array.from({length: 30}, (_, i) => entry(i))
    const framing = {prefix: '[', suffix: ']'}
    const logs = await startCloudLogs({verifyToken: (t) => iam.verify(t) !== undefined, maxBodyBytes: 3000})
    const sink = new CloudLogsSink({url: logs.url, tokens: iamTokenProvider('cl-api-key-123456', iam.url), http: createHttpClient(), userAgent: 'flowlog/test'})
    try {
      const r = await deliverBatch(sink, payloadOf(framing, list))
      expect(r.acked).to.have.length(30)
      expect(r.splits).to.be.greaterThan(0)
      expect(logs.requests.some((q) => q.status === 413)).to.equal(true)
      expect(logs.entries.map((e) => e.category)).to.deep.equal(list.map((_, i) => `c-${i}`))
      iam.revokeAll()
      let error: unknown
      try {
        await deliverBatch(sink, payloadOf(framing, [entry(99)]))
      } catch (e) {
        error = e
      }
      expect(error).to.be.instanceOf(SinkAuthError)
      expect((error as Error).message).to.match(/Sender role/)
    } finally {
      sink.close()
      await logs.close()
      await iam.close()
    }
  })
})
