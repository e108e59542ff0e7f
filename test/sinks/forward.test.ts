import {expect} from 'chai'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {resolveHome} from '../../src/lib/config/home.js'
import {AuthError, ConfigError, FlowlogError, UsageError} from '../../src/lib/errors.js'
import {readObject} from '../../src/lib/records/object.js'
import {flattenRow, recordId} from '../../src/lib/records/row.js'
import {type ForwardContext, type ForwardRequest, type ForwardResult, runForward} from '../../src/lib/sinks/index.js'
import {Ledger} from '../../src/lib/sinks/ledger.js'
import {compileForwardQuery} from '../../src/lib/sinks/query.js'
import {startIam} from '../servers/iam.js'
import {startCloudLogs} from '../servers/ingest-cloud-logs.js'
import {type FakeLogdna, type ContentFault, startLogdna} from '../servers/ingest-logdna.js'
import {allIds, CE_SAMPLE, SAMPLE_KEY, synthObjects, tempDir, TWO_RECORDS, writeObjects} from './helpers.js'

const KEY = 'ingest-key-abcdef123456'

describe('sinks: forward pipeline (folder source → fake Log Analysis)', function () {
  this.timeout(60_000)
  let fake: FakeLogdna
  let tmp: {dir: string; cleanup: () => void}
  let src: string
  let homeDir: string

  beforeEach(() => {
    tmp = tempDir()
    src = join(tmp.dir, 'src')
    homeDir = join(tmp.dir, 'home')
  })
  afterEach(async () => {
    await fake?.close()
    tmp.cleanup()
  })

  const ctx = (extra: Partial<ForwardContext> = {}, env: NodeJS.ProcessEnv = {}): ForwardContext => ({
    home: resolveHome({env: {FLOWLOG_HOME: homeDir}}),
    config: {},
    env: {FLOWLOG_LOGDNA_URL: fake.url, FLOWLOG_LOGDNA_INGESTION_KEY: KEY, ...env},
    userAgent: 'flowlog/test',
    compileQuery: compileForwardQuery,
    sleep: async () => undefined,
    ...extra,
  })
  const run = (req: ForwardRequest, extra: Partial<ForwardContext> = {}, env: NodeJS.ProcessEnv = {}): Promise<ForwardResult> =>
    runForward({source: src, sink: 'logdna', retryBaseMs: 1, retryCapMs: 2, ...req}, ctx(extra, env))

  it('every record arrives exactly once, with its own time; a second run sends nothing', async () => {
    const objects = synthObjects({objects: 30, recordsPerObject: 40, emptyEvery: 7})
    writeObjects(src, objects)
    writeFileSync(join(src, 'README.txt'), 'not a flow log')
    fake = await startLogdna({ingestionKeys: [KEY]})
    const r = await run({batchLines: 100})
    const expected = allIds(objects)
    expect(r.objects).to.deep.include({listed: 30, sent: 25, skipped: 0, failed: 0, empty: 5})
    expect(r.records).to.equal(expected.length)
    expect(r.lines).to.equal(expected.length)
    expect(fake.ids.slice().sort()).to.deep.equal(expected.slice().sort())
    expect(r.batches).to.equal(Math.ceil(expected.length / 100))
    for (const q of fake.requests) expect(q.lines).to.be.at.most(100)
    // The line is the flattened row, the timestamp the record's start_time.
    const first = objects[1]
    const parsed = readObject(first.body)
    const sent = fake.lines.find((l) => l.meta?.record_id === recordId(first.key, 3))!
    expect(JSON.parse(sent.line)).to.deep.equal(flattenRow(parsed.header, parsed.records[3], first.key))
    expect(sent.timestamp).to.equal(Date.parse(parsed.records[3].start_time as string))
    expect(sent.hostname).to.equal('flowlog')
    expect(sent.app).to.equal('vpc-flowlogs')
    const again = await run({})
    expect(again.objects).to.deep.include({listed: 30, sent: 0, skipped: 30, failed: 0})
    expect(again.lines).to.equal(0)
    expect(fake.accepted).to.equal(expected.length)
    const ledgerFile = r.ledger!
    expect(statSync(ledgerFile).mode & 0o777).to.equal(0o600)
  })

  it('batches stay under the byte limit and the line limit', async () => {
    const objects = synthObjects({objects: 10, recordsPerObject: 100})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY]})
    const r = await run({batchBytes: 64 * 1024})
    for (const q of fake.requests) expect(q.bytes).to.be.at.most(64 * 1024)
    expect(r.batches).to.be.greaterThan(10)
    expect(fake.accepted).to.equal(1000)
  })

  it('faults on a schedule (429 with Retry-After, 503, drops, 207) still deliver every record exactly once', async () => {
    // A fixed window: the same objects, hence the same batches, on every run.
    const objects = synthObjects({objects: 40, recordsPerObject: 25, end: Date.UTC(2026, 0, 15, 12, 0)})
    writeObjects(src, objects)
    // The schedule is decided by what each request carries, not by when it arrives (three are in flight at once): a
    // batch's first send gets the fault of its place in the data, its first retry fails again for every fourth batch,
    // later attempts go through. So each batch meets at most two faults, whatever the interleaving.
    const ordinal = new Map(allIds(objects).map((id, i) => [id, i]))
    const batchOf = (lines: Record<string, unknown>[]) =>
      Math.floor(Math.min(...lines.map((l) => ordinal.get((l.meta as {record_id: string}).record_id)!)) / 50)
    const firstSend: (ContentFault | undefined)[] = [{status: 429, retryAfter: 1}, {status: 503}, {drop: 'after-body'}, {partial: (i) => (i % 3 === 0 ? 500 : 200)}]
    fake = await startLogdna({
      ingestionKeys: [KEY],
      byRequest: ({lines, attempt}) => {
        const b = batchOf(lines)
        if (attempt === 0) return firstSend[b % 5]
        if (attempt === 1 && b % 4 === 0) return {status: 503}
        return undefined
      },
    })
    const sleeps: number[] = []
    const r = await run({batchLines: 50, concurrency: 3}, {sleep: async (ms) => void sleeps.push(ms)})
    expect(r.failures).to.deep.equal([])
    expect(r.retries).to.be.greaterThan(10)
    expect(sleeps.filter((s) => s >= 1000).length).to.be.greaterThan(0)
    // Every kind of fault was met.
    const met = new Set(fake.requests.map((q) => q.fault))
    for (const kind of ['status 429', 'status 503', 'drop after-body', 'partial']) expect(met, kind).to.include(kind)
    const counts = fake.counts()
    expect(counts.size).to.equal(1000)
    expect([...counts.values()].every((c) => c === 1)).to.equal(true)
  })

  it('undeliverable batches: the objects are failures (retried by the next run), the others are done', async () => {
    const objects = synthObjects({objects: 6, recordsPerObject: 10})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY], faults: [undefined, {status: 404}]})
    const r = await run({batchLines: 10, concurrency: 1})
    expect(r.objects.failed).to.equal(1)
    expect(r.objects.sent).to.equal(5)
    expect(r.failures[0]).to.deep.equal({key: objects[1].key, error: r.failures[0].error})
    expect(r.failures[0].error).to.contain('404')
    const retry = JSON.parse(readFileSync(r.retryFile!, 'utf8')) as {failures: {key: string}[]}
    expect(retry.failures.map((f) => f.key)).to.deep.equal([objects[1].key])
    expect(statSync(r.retryFile!).mode & 0o777).to.equal(0o600)
    const again = await run({})
    expect(again.retryFile).to.equal(undefined)
    expect(again.objects).to.deep.include({sent: 1, skipped: 5, failed: 0})
    expect(new Set(fake.ids).size).to.equal(60)
    expect(fake.accepted).to.equal(60)
  })

  it('a service that keeps failing stops the run early: no hours of retries, every undelivered object is a failure', async () => {
    const objects = synthObjects({objects: 20, recordsPerObject: 10})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY], fault: () => ({status: 503})})
    const r = await run({batchLines: 10, concurrency: 1, maxAttempts: 3})
    expect(r.stoppedEarly).to.match(/503/)
    expect(fake.requests.length).to.be.at.most(3 + 3)
    expect(r.objects.sent).to.equal(0)
    expect(r.objects.failed).to.equal(r.objects.listed)
    expect(r.failures.some((f) => /not sent: the service kept failing/.test(f.error))).to.equal(true)
    fake.setFaults({})
    const again = await run({batchLines: 10})
    expect(again.objects.sent).to.equal(20)
    expect(fake.accepted).to.equal(200)
  })

  it('lines acknowledged before an interruption are not sent again (partial entries in the ledger)', async () => {
    const objects = synthObjects({objects: 1, recordsPerObject: 100})
    writeObjects(src, objects)
    // Batches of 10: the 4th request is refused, so 30 lines are acknowledged and the object is not done.
    fake = await startLogdna({ingestionKeys: [KEY], faults: [undefined, undefined, undefined, {status: 400, body: {status: 'not ok', errors: ['bad']}}]})
    const r = await run({batchLines: 10, concurrency: 1})
    expect(r.objects.failed).to.equal(1)
    const acceptedFirst = fake.accepted
    expect(acceptedFirst).to.equal(90)
    const again = await run({batchLines: 10})
    expect(again.resumed).to.equal(90)
    expect(again.lines).to.equal(10)
    expect(again.objects.sent).to.equal(1)
    expect(fake.counts().size).to.equal(100)
    expect([...fake.counts().values()].every((c) => c === 1)).to.equal(true)
  })

  it('401 stops at once with an AuthError (exit 3); what was acknowledged before stays in the ledger', async () => {
    const objects = synthObjects({objects: 5, recordsPerObject: 10})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY], faults: [undefined, {status: 401}]})
    let error: unknown
    try {
      await run({batchLines: 10, concurrency: 1})
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(AuthError)
    expect((error as AuthError).exitCode).to.equal(3)
    expect(fake.requests.length).to.equal(2)
    fake.setFaults({})
    const again = await run({})
    expect(again.objects.skipped).to.equal(1)
    expect(again.objects.sent).to.equal(4)
    expect(fake.accepted).to.equal(50)
  })

  it('--dry-run sends nothing, records nothing, shows counts and a sample line', async () => {
    writeObjects(src, synthObjects({objects: 4, recordsPerObject: 5}))
    fake = await startLogdna({ingestionKeys: [KEY]})
    const r = await run({dryRun: true, sink: 'logdna'}, {}, {FLOWLOG_LOGDNA_INGESTION_KEY: ''})
    expect(r.dryRun).to.equal(true)
    expect(r.lines).to.equal(20)
    expect(r.objects.sent).to.equal(4)
    expect(r.sample).to.have.property('line')
    expect(fake.requests).to.have.length(0)
    const real = await run({})
    expect(real.objects.sent).to.equal(4)
  })

  it('--query forwards only matching records (the query engine JavaScript back end)', async () => {
    const objects = synthObjects({objects: 3, recordsPerObject: 30})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY]})
    const r = await run({query: 'action:rejected -target_port:67'})
    const lines = fake.lines.map((l) => JSON.parse(l.line) as {action: string; target_port: number})
    expect(lines.length).to.be.greaterThan(0)
    expect(lines.every((l) => l.action === 'rejected' && l.target_port !== 67)).to.equal(true)
    const expected = objects.flatMap((o) => o.actions.filter((a, i) => a === 'rejected' && [22, 67, 443][i % 3] !== 67)).length
    expect(r.lines).to.equal(expected)
    expect(r.filtered).to.equal(90 - expected)
    let error: unknown
    try {
      await run({query: 'action:(rejected'})
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(UsageError)
  })

  it('--since/--until: only objects whose capture window overlaps the window are forwarded', async () => {
    const end = Math.floor(Date.now() / 300_000) * 300_000
    const objects = synthObjects({objects: 50, recordsPerObject: 2, end})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY]})
    const since = new Date(end - 60 * 60_000).toISOString()
    const r = await run({since})
    // Windows start at end - 50×5 min … end - 5 min; those ending at or after `since` are the last 13.
    expect(r.objects.sent).to.equal(13)
    expect(r.lines).to.equal(26)
    expect(r.objects.listed - r.objects.sent).to.equal(r.objects.outOfWindow)
    let error: unknown
    try {
      await run({since: 'yesterday-ish'})
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(UsageError)
  })

  it('--object forwards exactly one object, once', async () => {
    const objects = synthObjects({objects: 3, recordsPerObject: 4})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY]})
    const r = await run({object: objects[2].key})
    expect(r.mode).to.equal('object')
    expect(r.lines).to.equal(4)
    expect(fake.ids).to.deep.equal(allIds([objects[2]]))
    const again = await run({object: objects[2].key})
    expect(again.objects.skipped).to.equal(1)
    expect(fake.accepted).to.equal(4)
  })

  it('--follow polls for new objects every interval', async () => {
    const objects = synthObjects({objects: 4, recordsPerObject: 3})
    writeObjects(src, objects.slice(0, 2))
    fake = await startLogdna({ingestionKeys: [KEY]})
    const passes: ForwardResult[] = []
    const intervals: number[] = []
    const r = await run(
      {follow: true, intervalMs: 5000, maxPasses: 3},
      {
        sleep: async (ms) => {
          intervals.push(ms)
          if (intervals.length === 1) writeObjects(src, objects.slice(2))
        },
        onPass: (s) => passes.push(s),
      },
    )
    expect(passes.map((p) => p.objects.sent)).to.deep.equal([2, 2, 0])
    expect(intervals).to.include(5000)
    expect(r.passes).to.equal(3)
    expect(fake.accepted).to.equal(12)
  })

  describe('Code Engine event mode (CE_DATA)', () => {
    const event = (patch: Record<string, unknown> = {}) => JSON.stringify({...CE_SAMPLE, ...patch})

    it('a write event forwards exactly that object (the real sample event, served from a folder)', async () => {
      writeObjects(src, [{key: SAMPLE_KEY, body: gzipSync(TWO_RECORDS)}, ...synthObjects({objects: 2, recordsPerObject: 2})])
      fake = await startLogdna({ingestionKeys: [KEY]})
      const r = await run({}, {}, {CE_DATA: event(), CE_TYPE: 'com.ibm.cloud.cos.document.write'})
      expect(r.mode).to.equal('event')
      expect(r.event).to.deep.include({type: 'write', key: SAMPLE_KEY, result: 'forwarded', etag: 'e985738a2ef36a9ef8c79bc875355980'})
      expect(fake.ids).to.deep.equal(['5f0798c4533b8db1b7c4dd20a8c14de9', 'cfbe616ec260a1d2eab85260ba5a9b14'])
      expect(fake.lines[1].timestamp).to.equal(1591278190000)
      const again = await run({}, {}, {CE_DATA: event()})
      expect(again.event?.result).to.equal('already-sent')
      expect(fake.accepted).to.equal(2)
    })

    it('a delete event is acknowledged and ignored; a key outside ibm_vpc_flowlogs_ is skipped; a missing object is gone (exit 0)', async () => {
      fake = await startLogdna({ingestionKeys: [KEY]})
      const del = await run({}, {}, {CE_DATA: event({operation: 'Object:Delete'})})
      expect(del.event?.result).to.equal('ignored-delete')
      const del2 = await run({}, {}, {CE_DATA: event(), CE_TYPE: 'com.ibm.cloud.cos.document.delete'})
      expect(del2.event?.result).to.equal('ignored-delete')
      const foreign = await run({}, {}, {CE_DATA: event({key: 'flowlog/.checkpoint'})})
      expect(foreign.event?.result).to.equal('not-flow-log')
      const gone = await run({}, {}, {CE_DATA: event()})
      expect(gone.event?.result).to.equal('gone')
      expect(gone.objects.failed).to.equal(0)
      expect(fake.requests).to.have.length(0)
    })

    it('invalid JSON is an error with exit 1; the key falls back to notification.object_name', async () => {
      fake = await startLogdna({ingestionKeys: [KEY]})
      let error: unknown
      try {
        await run({}, {}, {CE_DATA: '{not json'})
      } catch (e) {
        error = e
      }
      expect(error).to.be.instanceOf(FlowlogError)
      expect((error as FlowlogError).exitCode).to.equal(1)
      writeObjects(src, [{key: SAMPLE_KEY, body: TWO_RECORDS}])
      const r = await run({}, {}, {CE_DATA: event({key: undefined})})
      expect(r.event?.key).to.equal(SAMPLE_KEY)
      expect(r.lines).to.equal(2)
    })

    it('a delivery failure is a failure of the event (non-zero exit)', async () => {
      writeObjects(src, [{key: SAMPLE_KEY, body: TWO_RECORDS}])
      fake = await startLogdna({ingestionKeys: [KEY], fault: () => ({status: 503})})
      const r = await run({maxAttempts: 3}, {}, {CE_DATA: event()})
      expect(r.event?.result).to.equal('failed')
      expect(r.objects.failed).to.equal(1)
      expect(r.failures[0].error).to.match(/503/)
    })

    it('the event bucket wins over the configured one, with a warning', async () => {
      fake = await startLogdna({ingestionKeys: [KEY]})
      const warnings: string[] = []
      const opened: (string | undefined)[] = []
      let error: unknown
      try {
        await runForward(
          {sink: 'logdna'},
          {
            ...ctx({onWarning: (w) => warnings.push(w)}, {CE_DATA: event({bucket: 'events-bucket'})}),
            config: {bucket: 'configured-bucket'},
            openSource: async (spec) => {
              opened.push(spec)
              throw new ConfigError('stop here')
            },
          },
        )
      } catch (e) {
        error = e
      }
      expect(error).to.be.instanceOf(ConfigError)
      expect(opened).to.deep.equal(['cos://events-bucket'])
      expect(warnings.join('\n')).to.match(/events-bucket.*configured-bucket/)
    })
  })

  it('a crash-torn last ledger line is ignored', async () => {
    const objects = synthObjects({objects: 3, recordsPerObject: 2})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY]})
    const r = await run({})
    const text = readFileSync(r.ledger!, 'utf8')
    writeFileSync(r.ledger!, text + '{"key":"ibm_vpc_flowlogs_v1/tor')
    const warnings: string[] = []
    const again = await run({}, {onWarning: (w) => warnings.push(w)})
    expect(again.objects.skipped).to.equal(3)
    expect(warnings.join()).to.match(/unreadable line/)
    const ledger = await Ledger.open(join(homeDir, 'checkpoints'), {sink: 'logdna', destination: `${fake.url}/logs/ingest`, credential: KEY}, {readOnly: true})
    expect(ledger.size).to.equal(3)
  })

  it('settings: missing ingestion key → ConfigError (exit 3); no sink → Cloud Logs, whose missing URL is a ConfigError', async () => {
    fake = await startLogdna({ingestionKeys: [KEY]})
    let error: unknown
    try {
      await run({sink: 'logdna'}, {}, {FLOWLOG_LOGDNA_INGESTION_KEY: ''})
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(ConfigError)
    try {
      await runForward({source: src}, {...ctx(), env: {}})
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(ConfigError)
    expect((error as ConfigError).message).to.contain('Cloud Logs')
  })
})

describe('sinks: forward to IBM Cloud Logs (fake IAM + fake ingress)', function () {
  this.timeout(60_000)

  it('entries carry the row as text, severity by action, record_id in category; IAM tokens are used', async () => {
    const tmp = tempDir()
    const iam = await startIam({apiKeys: ['ibm-api-key-0123456789']})
    const logs = await startCloudLogs({verifyToken: (t) => iam.verify(t) !== undefined, faults: [{status: 503}]})
    try {
      const src = join(tmp.dir, 'src')
      const objects = synthObjects({objects: 3, recordsPerObject: 6})
      writeObjects(src, objects)
      const r = await runForward(
        {source: src, sink: 'cloud-logs', levelByAction: true, hostname: 'edge', retryBaseMs: 1, retryCapMs: 2},
        {
          home: resolveHome({env: {FLOWLOG_HOME: join(tmp.dir, 'home')}}),
          config: {},
          env: {IBMCLOUD_API_KEY: 'ibm-api-key-0123456789', FLOWLOG_IAM_URL: iam.url, FLOWLOG_CLOUD_LOGS_URL: logs.url},
          userAgent: 'flowlog/test',
          sleep: async () => undefined,
        },
      )
      expect(r.sink).to.equal('cloud-logs')
      expect(r.lines).to.equal(18)
      expect(r.retries).to.equal(1)
      expect(logs.entries).to.have.length(18)
      const byId = new Map(logs.entries.map((e) => [e.category, e]))
      const o = objects[0]
      const parsed = readObject(o.body)
      for (let i = 0; i < o.records; i++) {
        const e = byId.get(recordId(o.key, i))!
        expect(e.text).to.deep.equal(flattenRow(parsed.header, parsed.records[i], o.key))
        expect(e.severity).to.equal(o.actions[i] === 'rejected' ? 4 : 3)
        expect(e.subsystemName).to.equal('edge')
        expect(e.applicationName).to.equal('vpc-flowlogs')
        expect(e.timestamp).to.equal(Date.parse(parsed.records[i].start_time as string))
      }
      expect(iam.requests.filter((q) => q.status === 200).length).to.be.at.least(1)
      // A wrong API key is an AuthError (exit 3) from IAM's 400.
      let error: unknown
      try {
        await runForward(
          {source: src, sink: 'cloud-logs', object: objects[0].key},
          {
            home: resolveHome({env: {FLOWLOG_HOME: join(tmp.dir, 'home2')}}),
            config: {},
            env: {IBMCLOUD_API_KEY: 'not-a-known-key-000', FLOWLOG_IAM_URL: iam.url, FLOWLOG_CLOUD_LOGS_URL: logs.url},
            userAgent: 'flowlog/test',
          },
        )
      } catch (e) {
        error = e
      }
      expect(error).to.be.instanceOf(AuthError)
      expect((error as Error).message).not.to.contain('not-a-known-key')
    } finally {
      await logs.close()
      await iam.close()
      tmp.cleanup()
    }
  })
})

describe('sinks: forward from a local COS server (cos:// source, Code Engine events)', function () {
  this.timeout(60_000)

  it('an event for the real sample key (with %3A/%2F) is read from the event bucket; NoSuchKey is "gone"; a poll run skips it', async () => {
    const {startCosServer} = await import('../servers/cos-server.js')
    const tmp = tempDir()
    const cos = await startCosServer({hmacKeys: {AKIDFORWARD: 'secret-forward-0123456789'}, buckets: ['flowlogs-events']})
    const fake = await startLogdna({ingestionKeys: [KEY]})
    try {
      const stored = cos.putObject('flowlogs-events', SAMPLE_KEY, gzipSync(TWO_RECORDS))
      cos.putObject('flowlogs-events', 'flowlog/.checkpoint', '{}')
      const env = {
        FLOWLOG_LOGDNA_URL: fake.url,
        FLOWLOG_LOGDNA_INGESTION_KEY: KEY,
        FLOWLOG_COS_ENDPOINT: cos.url,
        FLOWLOG_COS_HMAC_ACCESS_KEY_ID: 'AKIDFORWARD',
        FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: 'secret-forward-0123456789',
      }
      const home = resolveHome({env: {FLOWLOG_HOME: join(tmp.dir, 'home')}})
      const base = {home, config: {bucket: 'flowlogs-events'}, userAgent: 'flowlog/test', sleep: async () => undefined}
      const event = {...CE_SAMPLE, bucket: 'flowlogs-events', notification: {...CE_SAMPLE.notification, bucket_name: 'flowlogs-events', object_etag: stored.etag, object_length: String(stored.body.length)}}
      const r = await runForward({sink: 'logdna'}, {...base, env: {...env, CE_DATA: JSON.stringify(event)}})
      expect(r.event).to.deep.include({result: 'forwarded', bucket: 'flowlogs-events'})
      expect(fake.ids).to.deep.equal(['5f0798c4533b8db1b7c4dd20a8c14de9', 'cfbe616ec260a1d2eab85260ba5a9b14'])
      expect(cos.requests.some((q) => q.method === 'GET' && q.key === SAMPLE_KEY && q.status === 200)).to.equal(true)
      const gone = await runForward({sink: 'logdna'}, {...base, env: {...env, CE_DATA: JSON.stringify({...event, key: SAMPLE_KEY.replace('00000006', '00000099')})}})
      expect(gone.event?.result).to.equal('gone')
      expect(gone.objects.failed).to.equal(0)
      // Poll mode over the bucket: the object announced by the event is already in the ledger (same ETag).
      const poll = await runForward({source: 'cos://flowlogs-events', sink: 'logdna'}, {...base, env})
      expect(poll.objects).to.deep.include({listed: 1, skipped: 1, sent: 0})
      expect(fake.accepted).to.equal(2)
    } finally {
      await fake.close()
      await cos.close()
      tmp.cleanup()
    }
  })
})
