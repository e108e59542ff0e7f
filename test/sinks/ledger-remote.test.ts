/**
 * The forward ledger kept in the bucket (`--ledger remote`): the built CLI (npm run build first) against the strict
 * COS test server (HMAC over SigV4) and the fake Log Analysis ingestion server, each run with a fresh FLOWLOG_HOME
 * like a restarted Code Engine job. Plus the pure parts (mode resolution, merging) in-process.
 */
import {expect} from 'chai'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {pullRemoteLedger, remoteLedgerKey, type RemoteLedgerStore, resolveLedgerMode} from '../../src/lib/sinks/ledger-remote.js'
import {configMapData} from '../../src/lib/pipeline/forwarder.js'
import {generateObjects, type GeneratedObject} from '../cos/fixtures.js'
import {seed} from '../cos/helpers.js'
import {type CosServer, startCosServer} from '../servers/cos-server.js'
import {type FakeLogdna, startLogdna} from '../servers/ingest-logdna.js'
import {ROOT, runCli, tempHome} from '../support/cli.js'
import {tempDir} from './helpers.js'

const BUCKET = 'ledger-flowlogs'
const KEY_ID = 'ledger-access-key'
const SECRET = 'ledger-secret-access-key-000000'
const INGESTION_KEY = 'ledger-ingestion-key-5b1e0d'
const LEDGER_KEY = /^flowlog\/ledger\/forward-logdna-[0-9a-f]{16}\.jsonl$/

interface Summary {
  objects: {listed: number; sent: number; skipped: number; failed: number}
  lines: number
  ledger?: string
}

describe('flowlog forward --ledger remote (built CLI, COS + Log Analysis fakes)', function () {
  this.timeout(180_000)
  let cos: CosServer
  let fake: FakeLogdna
  let objects: GeneratedObject[]
  let records: number
  const homes: ReturnType<typeof tempHome>[] = []

  before(function () {
    if (!existsSync(join(ROOT, 'dist', 'commands', 'forward.js'))) throw new Error('run `npm run build` first (dist/commands/forward.js is missing)')
  })
  beforeEach(async () => {
    cos = await startCosServer({hmacKeys: {[KEY_ID]: SECRET}, buckets: [BUCKET]})
    fake = await startLogdna({ingestionKeys: [INGESTION_KEY], record: 'ids'})
    const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000
    objects = generateObjects({start, hours: 2, vnics: 2, recordsPerObject: 4, perHour: 3})
    records = objects.reduce((n, o) => n + o.records, 0)
    seed(cos, BUCKET, objects)
  })
  afterEach(async () => {
    await cos.close()
    await fake.close()
    for (const h of homes.splice(0)) h.cleanup()
  })

  /** A fresh FLOWLOG_HOME each time: a restarted job. */
  const freshHome = () => {
    const h = tempHome('flowlog-ledger-remote-')
    homes.push(h)
    return h.dir
  }
  const env = (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    FLOWLOG_HOME: home,
    FLOWLOG_COS_ENDPOINT: cos.url,
    FLOWLOG_COS_HMAC_ACCESS_KEY_ID: KEY_ID,
    FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: SECRET,
    IBMCLOUD_API_KEY: '',
    FLOWLOG_LOGDNA_URL: fake.url,
    FLOWLOG_LOGDNA_INGESTION_KEY: INGESTION_KEY,
    FLOWLOG_LEDGER: '',
    CE_DATA: '',
    CE_JOB: '',
    CE_APP: '',
    ...extra,
  })
  const forward = (home: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runCli(['forward', '--source', `cos://${BUCKET}`, '--sink', 'logdna', '--retry-base', '1', '--retry-cap', '5', '--json', ...args], {env: env(home, extra)})
  const ledgerKeys = () => cos.keys(BUCKET).filter((k) => k.startsWith('flowlog/'))
  const puts = () => cos.requests.filter((q) => q.method === 'PUT' && q.key !== undefined && LEDGER_KEY.test(q.key))

  it('a restarted job (another fresh home) sends nothing; the ledger object sits outside ibm_vpc_flowlogs_', async () => {
    const first = await forward(freshHome(), ['--ledger', 'remote'])
    expect(first.code, first.stderr).to.equal(0)
    const s1 = JSON.parse(first.stdout) as Summary
    expect(s1.objects).to.include({listed: objects.length, sent: objects.length, failed: 0})
    expect(fake.accepted).to.equal(records)

    const keys = ledgerKeys()
    expect(keys).to.have.length(1)
    expect(keys[0]).to.match(LEDGER_KEY)
    expect(keys[0]).to.equal(remoteLedgerKey(s1.ledger!))
    const stored = cos.getObject(BUCKET, keys[0])!.body.toString('utf8')
    expect(stored.endsWith('\n')).to.equal(true)
    expect(stored.trim().split('\n')).to.have.length(objects.length + 1)
    // The default interval (30 s) is longer than the run: exactly one upload, at the end.
    expect(puts()).to.have.length(1)

    const second = await forward(freshHome(), ['--ledger', 'remote'])
    expect(second.code, second.stderr).to.equal(0)
    const s2 = JSON.parse(second.stdout) as Summary
    expect(s2.objects).to.include({listed: objects.length, sent: 0, skipped: objects.length, failed: 0})
    expect(fake.accepted, 'nothing sent again').to.equal(records)
    expect(cos.requests.filter((q) => q.method === 'GET' && q.key === keys[0] && q.status === 200), 'the ledger was read from the bucket').to.have.length(1)
    // Nothing new: the ledger object is not written again.
    expect(puts()).to.have.length(1)
  })

  it('FLOWLOG_LEDGER=auto is remote in Code Engine (CE_JOB set); --ledger local (the default) keeps nothing in the bucket', async () => {
    const local = await forward(freshHome(), [])
    expect(local.code, local.stderr).to.equal(0)
    expect(ledgerKeys()).to.deep.equal([])
    const again = await forward(freshHome(), [], {FLOWLOG_LEDGER: 'auto', CE_JOB: 'flowlog-forwarder'})
    expect(again.code, again.stderr).to.equal(0)
    // The local-only run left nothing in the bucket: the "restarted" run sends everything again, and keeps its ledger.
    expect(fake.accepted).to.equal(2 * records)
    expect(ledgerKeys()).to.have.length(1)
    const third = await forward(freshHome(), [], {FLOWLOG_LEDGER: 'remote'})
    expect(third.code, third.stderr).to.equal(0)
    expect((JSON.parse(third.stdout) as Summary).objects.sent).to.equal(0)
    expect(fake.accepted).to.equal(2 * records)
  })

  it('a pull of the bucket does not read the ledger object as a flow log', async () => {
    const r = await forward(freshHome(), ['--ledger', 'remote'])
    expect(r.code, r.stderr).to.equal(0)
    expect(ledgerKeys()).to.have.length(1)
    cos.clearLog()
    const pull = await runCli(['pull', '--source', `cos://${BUCKET}`, '--json'], {env: env(freshHome())})
    expect(pull.code, pull.stderr).to.equal(0)
    const s = JSON.parse(pull.stdout) as {objects: {listed: number; failed: number; loaded: number}; records: number}
    expect(s.objects).to.include({listed: objects.length, loaded: objects.length, failed: 0})
    expect(s.records).to.equal(records)
    expect(cos.requests.filter((q) => q.key !== undefined && q.key.startsWith('flowlog/'))).to.deep.equal([])
  })

  it('with a 0 s upload interval the ledger is uploaded after completed objects, not only at the end', async () => {
    const r = await forward(freshHome(), ['--ledger', 'remote', '--ledger-upload-interval', '0', '--batch-lines', '4', '--concurrency', '1'])
    expect(r.code, r.stderr).to.equal(0)
    expect(puts().length).to.be.greaterThan(1)
    const stored = cos.getObject(BUCKET, ledgerKeys()[0])!.body.toString('utf8')
    expect(stored.trim().split('\n')).to.have.length(objects.length + 1)
  })

  it('an upload failure (500 on every PUT of the ledger) is a warning: the run succeeds and the local ledger is kept', async () => {
    cos.addFault({method: 'PUT', key: LEDGER_KEY, times: Infinity, action: {status: 500}})
    const home = freshHome()
    const r = await forward(home, ['--ledger', 'remote'])
    expect(r.code, r.stderr).to.equal(0)
    const s = JSON.parse(r.stdout) as Summary
    expect(s.objects).to.include({sent: objects.length, failed: 0})
    expect(r.stderr).to.match(/cannot upload the forward ledger to cos:\/\/ledger-flowlogs\/flowlog\/ledger\/.*uploaded again next time/)
    expect(r.stderr).not.to.contain(SECRET)
    expect(ledgerKeys()).to.deep.equal([])
    expect(readFileSync(s.ledger!, 'utf8').trim().split('\n')).to.have.length(objects.length + 1)
    // The same home again, with COS healthy: nothing is sent, and the ledger reaches the bucket this time.
    cos.clearFaults()
    const again = await forward(home, ['--ledger', 'remote'])
    expect(again.code, again.stderr).to.equal(0)
    expect((JSON.parse(again.stdout) as Summary).objects.sent).to.equal(0)
    expect(fake.accepted).to.equal(records)
    expect(ledgerKeys()).to.have.length(1)
  })

  it('a download failure other than NoSuchKey stops the run (exit 4) before anything is sent', async () => {
    const r0 = await forward(freshHome(), ['--ledger', 'remote'])
    expect(r0.code, r0.stderr).to.equal(0)
    const sent = fake.accepted
    cos.addFault({method: 'GET', key: LEDGER_KEY, times: Infinity, action: {status: 500}})
    const r = await forward(freshHome(), ['--ledger', 'remote'])
    expect(r.code, r.stderr).to.equal(4)
    expect(r.stderr).to.match(/cannot read the forward ledger cos:\/\/ledger-flowlogs\/flowlog\/ledger\//)
    expect(fake.accepted).to.equal(sent)
  })

  it('--ledger remote needs a cos:// source (exit 2); a bad FLOWLOG_LEDGER is a usage error', async () => {
    const dir = tempDir('flowlog-ledger-remote-src-')
    try {
      const r = await runCli(['forward', '--source', dir.dir, '--sink', 'logdna', '--ledger', 'remote'], {env: env(freshHome())})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.match(/not cos:\/\//)
      const bad = await forward(freshHome(), [], {FLOWLOG_LEDGER: 'bucket'})
      expect(bad.code).to.equal(2)
      expect(bad.stderr).to.match(/FLOWLOG_LEDGER "bucket" is not local, remote or auto/)
      expect(fake.accepted).to.equal(0)
    } finally {
      dir.cleanup()
    }
  })
})

describe('remote ledger: mode and merge', () => {
  it('resolves --ledger, FLOWLOG_LEDGER and auto', () => {
    expect(resolveLedgerMode(undefined, {})).to.equal('local')
    expect(resolveLedgerMode('remote', {})).to.equal('remote')
    expect(resolveLedgerMode(undefined, {FLOWLOG_LEDGER: 'remote'})).to.equal('remote')
    expect(resolveLedgerMode('local', {FLOWLOG_LEDGER: 'remote'}), 'the flag wins').to.equal('local')
    expect(resolveLedgerMode('auto', {})).to.equal('local')
    expect(resolveLedgerMode('auto', {CE_JOB: 'j'})).to.equal('remote')
    expect(resolveLedgerMode(undefined, {FLOWLOG_LEDGER: 'auto', CE_APP: 'a'})).to.equal('remote')
    expect(() => resolveLedgerMode('s3', {})).to.throw(/--ledger "s3"/)
  })

  it('the Code Engine job is configured with FLOWLOG_LEDGER=remote', () => {
    const cm = configMapData({bucket: 'b', region: 'us-south', cosEndpoint: 'https://s3', cosInstanceId: 'i', sink: 'logdna'} as Parameters<typeof configMapData>[0])
    expect(cm.FLOWLOG_LEDGER).to.equal('remote')
  })

  const memoryStore = (objects: Map<string, Buffer>, failGet?: Error): RemoteLedgerStore => ({
    location: 'cos://mem',
    async get(key) {
      if (failGet) throw failGet
      return objects.get(key)
    },
    async put(key, body) {
      objects.set(key, body)
    },
  })
  const H = '{"ledger":1,"sink":"logdna","destination":"d","query":null,"created":"x"}'
  const e = (k: string) => JSON.stringify({key: k, etag: 'e', size: 1, mtime: null, lines: 1, done_at: 't'})

  it('replaces a missing local ledger, appends only the lines the local one lacks, and drops a torn remote tail', async () => {
    const dir = tempDir('flowlog-ledger-merge-')
    try {
      const path = join(dir.dir, 'cp', 'forward-logdna-0123456789abcdef.jsonl')
      const key = remoteLedgerKey(path)
      const objects = new Map([[key, Buffer.from(`${H}\n${e('a')}\n${e('b')}\n{"key":"tor`)]])
      const r1 = await pullRemoteLedger(memoryStore(objects), path)
      expect(r1).to.include({found: true, added: 3})
      expect(readFileSync(path, 'utf8')).to.equal(`${H}\n${e('a')}\n${e('b')}\n`)

      writeFileSync(path, `${H}\n${e('a')}\n${e('c')}`)
      objects.set(key, Buffer.from(`${H.replace('"x"', '"y"')}\n${e('a')}\n${e('b')}\n`))
      const r2 = await pullRemoteLedger(memoryStore(objects), path)
      expect(r2).to.include({found: true, added: 1})
      expect(readFileSync(path, 'utf8')).to.equal(`${H}\n${e('a')}\n${e('c')}\n${e('b')}\n`)

      const none = await pullRemoteLedger(memoryStore(new Map()), join(dir.dir, 'other.jsonl'))
      expect(none).to.include({found: false, added: 0})
      expect(existsSync(join(dir.dir, 'other.jsonl'))).to.equal(false)
    } finally {
      dir.cleanup()
    }
  })

  it('a failed download is a RemoteError (exit 4) and leaves the local ledger alone', async () => {
    const dir = tempDir('flowlog-ledger-merge-')
    try {
      mkdirSync(join(dir.dir, 'cp'))
      const path = join(dir.dir, 'cp', 'forward-logdna-0123456789abcdef.jsonl')
      writeFileSync(path, `${H}\n${e('a')}\n`)
      const err = await pullRemoteLedger(memoryStore(new Map(), new Error('HTTP 503')), path).then(
        () => undefined,
        (error: unknown) => error as {exitCode: number; message: string},
      )
      expect(err?.exitCode).to.equal(4)
      expect(err?.message).to.match(/cannot read the forward ledger cos:\/\/mem\/flowlog\/ledger\/forward-logdna-0123456789abcdef\.jsonl: HTTP 503/)
      expect(readFileSync(path, 'utf8')).to.equal(`${H}\n${e('a')}\n`)
    } finally {
      dir.cleanup()
    }
  })
})
