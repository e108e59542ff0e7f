import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {ROOT, runCli} from '../support/cli.js'
import {type FakeLogdna, startLogdna} from '../servers/ingest-logdna.js'
import {allIds, CE_SAMPLE, SAMPLE_KEY, synthObjects, tempDir, TWO_RECORDS, writeObjects} from './helpers.js'

/**
 * `flowlog forward` as users run it: the built CLI (npm run build first) against the fake ingestion server.
 */
const KEY = 'cli-ingestion-key-7f3a9c'

describe('flowlog forward (CLI)', function () {
  this.timeout(180_000)
  let fake: FakeLogdna
  let tmp: {dir: string; cleanup: () => void}
  let src: string
  let home: string

  before(function () {
    if (!existsSync(join(ROOT, 'dist', 'commands', 'forward.js'))) throw new Error('run `npm run build` first (dist/commands/forward.js is missing)')
  })
  beforeEach(() => {
    tmp = tempDir('flowlog-forward-cli-')
    src = join(tmp.dir, 'src')
    home = join(tmp.dir, 'home')
  })
  afterEach(async () => {
    await fake?.close()
    tmp.cleanup()
  })

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    FLOWLOG_HOME: home,
    FLOWLOG_LOGDNA_URL: fake.url,
    FLOWLOG_LOGDNA_INGESTION_KEY: KEY,
    CE_DATA: '',
    ...extra,
  })
  const forward = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runCli(['forward', '--source', src, '--retry-base', '1', '--retry-cap', '5', ...(args.includes('--sink') ? [] : ['--sink', 'logdna']), ...args], {env: env(extra)})

  it('--json summary; every record once; a second run sends nothing; the key is never printed', async () => {
    const objects = synthObjects({objects: 12, recordsPerObject: 30, emptyEvery: 5})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY], faults: [{status: 503}, {drop: 'after-body'}, {status: 429, retryAfter: 0}]})
    const r = await forward(['--json', '--batch-lines', '40'])
    expect(r.code, r.stderr).to.equal(0)
    const s = JSON.parse(r.stdout) as Record<string, unknown> & {objects: Record<string, number>; failures: unknown[]}
    expect(s.objects).to.deep.include({listed: 12, sent: 9, skipped: 0, failed: 0, empty: 3})
    expect(s).to.include({records: 270, lines: 270, retries: 3})
    expect(s.batches).to.equal(7)
    expect(s.failures).to.deep.equal([])
    expect(fake.ids.slice().sort()).to.deep.equal(allIds(objects).sort())
    expect(r.stdout + r.stderr).not.to.contain(KEY)
    const again = await forward([])
    expect(again.code, again.stderr).to.equal(0)
    expect(again.stderr).to.match(/forward: 12 objects listed, 0 sent, 12 already sent/)
    expect(fake.accepted).to.equal(270)
  })

  it('401 stops at once: exit 3, a clear message, no key in the output', async () => {
    writeObjects(src, synthObjects({objects: 3, recordsPerObject: 5}))
    fake = await startLogdna({ingestionKeys: ['another-key-000000']})
    const r = await forward([])
    expect(r.code).to.equal(3)
    expect(r.stderr).to.match(/refused the ingestion key/)
    expect(r.stderr).not.to.contain(KEY)
    expect(fake.requests).to.have.length(1)
  })

  it('no ingestion key: exit 3 (ConfigError) naming where the key comes from', async () => {
    writeObjects(src, synthObjects({objects: 1, recordsPerObject: 1}))
    fake = await startLogdna({ingestionKeys: [KEY]})
    const r = await forward(['--sink', 'logdna'], {FLOWLOG_LOGDNA_INGESTION_KEY: ''})
    expect(r.code).to.equal(3)
    expect(r.stderr).to.match(/FLOWLOG_LOGDNA_INGESTION_KEY/)
    const bad = await forward(['--sink', 'logdna', '--region', 'mars-1'], {FLOWLOG_LOGDNA_URL: ''})
    expect(bad.code).to.equal(2)
  })

  it('undeliverable objects: exit 5, listed with their error, delivered by the next run', async () => {
    writeObjects(src, synthObjects({objects: 3, recordsPerObject: 5}))
    fake = await startLogdna({ingestionKeys: [KEY], fault: () => ({status: 503})})
    const r = await forward(['--max-attempts', '2', '--json'])
    expect(r.code).to.equal(5)
    const s = JSON.parse(r.stdout) as {objects: {failed: number}; failures: {key: string; error: string}[]}
    expect(s.objects.failed).to.equal(3)
    expect(s.failures[0].error).to.match(/503.*gave up after 2 attempts/)
    fake.setFaults({})
    const again = await forward([])
    expect(again.code).to.equal(0)
    expect(fake.accepted).to.equal(15)
  })

  it('kill -9 mid-run, then a re-run: no record missing, duplicates only from the batches in flight', async () => {
    const objects = synthObjects({objects: 60, recordsPerObject: 50})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY], record: 'ids', fault: () => ({delayMs: 40})})
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'run.js'), 'forward', '--source', src, '--sink', 'logdna', '--batch-lines', '50', '--concurrency', '4'],
      {env: {...process.env, NO_COLOR: '1', ...env()}, stdio: 'ignore'},
    )
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
    for (let i = 0; i < 6000 && fake.accepted < 1000; i++) await new Promise((r) => setTimeout(r, 5))
    expect(fake.accepted).to.be.at.least(1000)
    child.kill('SIGKILL')
    expect(await exited).to.equal('SIGKILL')
    const beforeRerun = fake.accepted
    expect(beforeRerun).to.be.below(3000)
    fake.setFaults({})
    const r = await forward(['--json'])
    expect(r.code, r.stderr).to.equal(0)
    const counts = fake.counts()
    const expected = allIds(objects)
    for (const id of expected) expect(counts.get(id) ?? 0, id).to.be.at.least(1)
    expect(counts.size).to.equal(expected.length)
    const duplicates = fake.accepted - expected.length
    // At most the batches in flight at the kill (concurrency × batch size) come twice.
    expect(duplicates).to.be.at.most(4 * 50)
    const s = JSON.parse(r.stdout) as {lines: number; resumed: number}
    expect(s.lines + s.resumed).to.be.at.least(expected.length - beforeRerun)
    const third = await forward(['--json'])
    expect((JSON.parse(third.stdout) as {lines: number}).lines).to.equal(0)
    expect(fake.accepted).to.equal(expected.length + duplicates)
  })

  describe('Code Engine event mode', () => {
    const ce = (patch: Record<string, unknown> = {}) => JSON.stringify({...CE_SAMPLE, ...patch})

    it('a write event forwards that object; the summary is one line on stderr', async () => {
      writeObjects(src, [{key: SAMPLE_KEY, body: gzipSync(TWO_RECORDS)}])
      fake = await startLogdna({ingestionKeys: [KEY]})
      const r = await forward([], {CE_DATA: ce(), CE_TYPE: 'com.ibm.cloud.cos.document.write'})
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stderr).to.match(/forward: event write key=ibm_vpc_flowlogs_v1\/\S+00000006\.gz result=forwarded records=2 lines=2/)
      expect(fake.ids).to.deep.equal(['5f0798c4533b8db1b7c4dd20a8c14de9', 'cfbe616ec260a1d2eab85260ba5a9b14'])
      expect(fake.lines.map((l) => l.timestamp)).to.deep.equal([Date.parse('2020-06-04T13:43:10Z'), 1591278190000])
    })

    it('delete → exit 0 and nothing sent; invalid JSON → exit 1; a missing object → exit 0; delivery failure → exit 5', async () => {
      fake = await startLogdna({ingestionKeys: [KEY], fault: () => ({status: 500})})
      const del = await forward([], {CE_DATA: ce({operation: 'Object:Delete'})})
      expect(del.code).to.equal(0)
      const bad = await forward([], {CE_DATA: '{"bucket":'})
      expect(bad.code).to.equal(1)
      expect(bad.stderr).to.match(/CE_DATA is not valid JSON/)
      const gone = await forward([], {CE_DATA: ce()})
      expect(gone.code).to.equal(0)
      expect(gone.stderr).to.match(/result=gone/)
      writeObjects(src, [{key: SAMPLE_KEY, body: TWO_RECORDS}])
      const failed = await forward(['--max-attempts', '2'], {CE_DATA: ce()})
      expect(failed.code).to.equal(5)
      expect(failed.stderr).to.match(/result=failed/)
      expect(fake.accepted).to.equal(0)
    })
  })

  it('--dry-run sends nothing and shows a sample line; --query filters', async () => {
    const objects = synthObjects({objects: 2, recordsPerObject: 9})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY]})
    const dry = await forward(['--dry-run'])
    expect(dry.code, dry.stderr).to.equal(0)
    expect(dry.stdout).to.match(/dry run: would send 18 lines in 1 batch/)
    expect(dry.stdout).to.match(/"meta": \{\s+"record_id"/)
    expect(fake.requests).to.have.length(0)
    const q = await forward(['--query', 'action:rejected', '--level-by-action', '--json'])
    expect(q.code, q.stderr).to.equal(0)
    const rejected = objects.flatMap((o) => o.actions).filter((a) => a === 'rejected').length
    expect(fake.accepted).to.equal(rejected)
    expect(fake.lines.every((l) => l.level === 'WARN' && (JSON.parse(l.line) as {action: string}).action === 'rejected')).to.equal(true)
    const syntax = await forward(['--query', 'action:(rejected'])
    expect(syntax.code).to.equal(2)
  })

  it('--sink cloud-logs: IAM token from FLOWLOG_IAM_URL, entries to FLOWLOG_CLOUD_LOGS_URL; a bad API key exits 3', async () => {
    const {startIam} = await import('../servers/iam.js')
    const {startCloudLogs} = await import('../servers/ingest-cloud-logs.js')
    const iam = await startIam({apiKeys: ['cli-ibm-api-key-000111']})
    const logs = await startCloudLogs({verifyToken: (t) => iam.verify(t) !== undefined})
    fake = await startLogdna({ingestionKeys: [KEY]})
    try {
      const objects = synthObjects({objects: 2, recordsPerObject: 4})
      writeObjects(src, objects)
      const cl = {FLOWLOG_IAM_URL: iam.url, FLOWLOG_CLOUD_LOGS_URL: logs.url, FLOWLOG_LOGDNA_INGESTION_KEY: ''}
      const r = await forward(['--sink', 'cloud-logs', '--json'], {...cl, IBMCLOUD_API_KEY: 'cli-ibm-api-key-000111'})
      expect(r.code, r.stderr).to.equal(0)
      expect((JSON.parse(r.stdout) as {lines: number}).lines).to.equal(8)
      expect(logs.entries.map((e) => e.category).sort()).to.deep.equal(allIds(objects).sort())
      const bad = await forward(['--sink', 'cloud-logs'], {...cl, IBMCLOUD_API_KEY: 'wrong-ibm-api-key-999', FLOWLOG_HOME: join(tmp.dir, 'home2')})
      expect(bad.code).to.equal(3)
      expect(bad.stderr).to.match(/IAM refused the API key/)
      expect(bad.stderr).not.to.contain('wrong-ibm-api-key-999')
    } finally {
      await logs.close()
      await iam.close()
    }
  })

  it('--follow keeps forwarding new objects until interrupted (SIGINT → 130)', async () => {
    const objects = synthObjects({objects: 4, recordsPerObject: 3})
    writeObjects(src, objects.slice(0, 2))
    fake = await startLogdna({ingestionKeys: [KEY]})
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'forward', '--source', src, '--sink', 'logdna', '--follow', '--interval', '1s'], {
      env: {...process.env, NO_COLOR: '1', ...env()},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const waitFor = async (n: number) => {
      for (let i = 0; i < 3000 && fake.accepted < n; i++) await new Promise((r) => setTimeout(r, 10))
    }
    await waitFor(6)
    expect(fake.accepted).to.equal(6)
    writeObjects(src, objects.slice(2))
    await waitFor(12)
    expect(fake.accepted).to.equal(12)
    child.kill('SIGINT')
    expect(await exited).to.equal(130)
    expect(stderr).to.match(/forward pass 1: 2 objects listed, 2 sent/)
  })

  it('SIGTERM (Code Engine stopping the job) stops --follow cleanly: exit 130, ledger saved, a restart sends nothing', async () => {
    const objects = synthObjects({objects: 3, recordsPerObject: 4})
    writeObjects(src, objects)
    fake = await startLogdna({ingestionKeys: [KEY]})
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'forward', '--source', src, '--sink', 'logdna', '--follow', '--interval', '1s'], {
      env: {...process.env, NO_COLOR: '1', ...env()},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    for (let i = 0; i < 3000 && fake.accepted < 12; i++) await new Promise((r) => setTimeout(r, 10))
    expect(fake.accepted).to.equal(12)
    child.kill('SIGTERM')
    expect(await exited, stderr).to.equal(130)
    expect(stderr).to.match(/interrupted/)
    const again = await forward([], env())
    expect(again.code, again.stderr).to.equal(0)
    expect(fake.accepted).to.equal(12)
  })
})
