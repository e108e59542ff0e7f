/**
 * docs/lakehouse.md §5: `flowlog export --out cos://BUCKET/PREFIX` stages the Parquet tree and uploads it through
 * ibm-cos-sdk (HMAC, SigV4 checked by the strict COS test server; s3rver as a second, real S3 implementation).
 * Resumable: a run that fails (or is killed) part-way leaves what reached the bucket; the re-run sends only the rest —
 * whole files by key + size + ETag, multipart files from their next part. Needs `npm run build` for the CLI case.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {resolveHome} from '../../src/lib/config/home.js'
import {SdkCosClient} from '../../src/lib/cos/client.js'
import {resolveCosConnection} from '../../src/lib/cos/config.js'
import {AuthError, RemoteError} from '../../src/lib/errors.js'
import {exportIndex, MANIFEST_NAME, uploadTree} from '../../src/lib/export/index.js'
import {HOUR_MS} from '../../src/lib/records/time.js'
import {generateObjects} from '../cos/fixtures.js'
import {type CosServer, startCosServer} from '../servers/cos-server.js'
import {type S3rverHarness, startS3rver} from '../servers/s3rver.js'
import {ROOT, runCli, tempHome} from '../support/cli.js'
import {pullFolder, type Sandbox, sandbox} from '../store/helpers.js'

const BUCKET = 'lake-bucket'
const KEY_ID = 'export-access-key'
const SECRET = 'export-secret-access-key-0000'
const H0 = Date.UTC(2026, 4, 10, 20)
const LAYOUT = /^flow\/logs\/date=\d{4}-\d\d-\d\d\/hour=\d\d\/part-\d+\.parquet$/

function writeBucket(dir: string, hours: number): void {
  for (const o of generateObjects({start: H0, hours, vnics: 2, recordsPerObject: 20, perHour: 2})) {
    const path = join(dir, ...o.key.split('/'))
    mkdirSync(dirname(path), {recursive: true})
    writeFileSync(path, o.body)
  }
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

describe('export --out cos://: staged Parquet uploaded through ibm-cos-sdk, resumable', function () {
  this.timeout(120_000)
  let s: Sandbox
  let cos: CosServer
  const env = () => ({FLOWLOG_COS_ENDPOINT: cos.url, FLOWLOG_COS_HMAC_ACCESS_KEY_ID: KEY_ID, FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: SECRET})
  const home = () => resolveHome({env: {FLOWLOG_HOME: s.homeDir}})
  const puts = () => cos.requests.filter((r) => r.method === 'PUT' && r.key !== undefined && r.status === 200).map((r) => r.key!)

  before(async () => {
    s = sandbox()
    writeBucket(s.folder, 5)
    await pullFolder(s.homeDir, s.folder)
  })
  after(() => s.cleanup())
  beforeEach(async () => {
    cos = await startCosServer({hmacKeys: {[KEY_ID]: SECRET}, buckets: [BUCKET]})
  })
  afterEach(async () => cos.close())

  it('uploads every file of the layout and the manifest; the objects are the bytes a local export writes', async () => {
    const r = await exportIndex(home(), `cos://${BUCKET}/flow/logs/`, {cos: {env: env()}})
    expect(r.files).to.equal(5)
    expect(r.rows).to.equal(800)
    expect(r.upload).to.include({uploaded: 5, skipped: 0, deleted: 0, reusedStaging: false})
    const keys = cos.keys(BUCKET)
    expect(keys.filter((k) => LAYOUT.test(k))).to.have.length(5)
    expect(keys).to.include(`flow/logs/${MANIFEST_NAME}`)
    const manifest = JSON.parse(cos.getObject(BUCKET, `flow/logs/${MANIFEST_NAME}`)!.body.toString()) as {rows: number; files: {key: string}[]}
    expect(manifest.rows).to.equal(800)
    expect(manifest.files.map((f) => f.key).sort()).to.deep.equal(keys.filter((k) => LAYOUT.test(k)))
    const local = join(s.root, 'local-parquet')
    const l = await exportIndex(home(), local)
    for (const f of l.list) expect(md5(cos.getObject(BUCKET, `flow/logs/${f.path}`)!.body), f.path).to.equal(md5(readFileSync(join(local, f.path))))
    // The staging copy is gone once the upload is complete.
    expect(() => readFileSync(join(home().cacheDir, 'export'))).to.throw()
  })

  it('a run that fails on the 4th file leaves 3; the re-run (staging reused) uploads only the other 2', async () => {
    cos.addFault({method: 'PUT', key: LAYOUT, nth: 4, times: 1, action: {status: 403, code: 'AccessDenied', message: 'Access Denied'}})
    let failed: unknown
    await exportIndex(home(), `cos://${BUCKET}/flow/logs`, {cos: {env: env(), maxAttempts: 1}}).catch((e: unknown) => (failed = e))
    expect(failed).to.be.instanceOf(AuthError)
    const first = puts()
    expect(first.filter((k) => LAYOUT.test(k))).to.have.length(3)
    expect(cos.keys(BUCKET)).to.not.include(`flow/logs/${MANIFEST_NAME}`)
    cos.clearLog()
    cos.clearFaults()
    const r = await exportIndex(home(), `cos://${BUCKET}/flow/logs`, {cos: {env: env()}})
    expect(r.upload).to.include({uploaded: 2, skipped: 3, reusedStaging: true})
    const second = puts().filter((k) => LAYOUT.test(k))
    expect(second).to.have.length(2)
    for (const k of second) expect(first).to.not.include(k)
    expect(cos.keys(BUCKET).filter((k) => LAYOUT.test(k))).to.have.length(5)
  })

  it('a re-run after a finished export uploads nothing (same bytes); stale files of the layout are deleted', async () => {
    await exportIndex(home(), `cos://${BUCKET}/flow/logs`, {cos: {env: env()}})
    cos.putObject(BUCKET, 'flow/logs/date=2020-01-01/hour=00/part-0.parquet', 'old')
    cos.putObject(BUCKET, 'flow/logs/notes.txt', 'kept')
    cos.clearLog()
    const r = await exportIndex(home(), `cos://${BUCKET}/flow/logs`, {cos: {env: env()}})
    expect(r.upload).to.include({uploaded: 0, skipped: 5, deleted: 1, reusedStaging: false})
    expect(puts().filter((k) => LAYOUT.test(k))).to.deep.equal([])
    expect(cos.keys(BUCKET)).to.not.include('flow/logs/date=2020-01-01/hour=00/part-0.parquet')
    expect(cos.keys(BUCKET)).to.include('flow/logs/notes.txt')
  })

  it('a query and a window select the uploaded rows', async () => {
    const window = {since: H0 + HOUR_MS, until: H0 + 3 * HOUR_MS}
    const r = await exportIndex(home(), `cos://${BUCKET}/q`, {query: 'action:rejected', window, cos: {env: env()}})
    const local = await exportIndex(home(), join(s.root, 'q-local'), {query: 'action:rejected', window})
    expect(r.rows).to.equal(local.rows).and.to.be.greaterThan(0).and.lessThan(800)
    expect(r.files).to.equal(2)
  })

  it('multipart: a part that fails stops the run; the re-run sends only the missing parts, then completes', async () => {
    const dir = join(s.root, 'big')
    const big = randomBytes(12 * 1024 * 1024)
    mkdirSync(join(dir, 'date=2026-05-10/hour=20'), {recursive: true})
    writeFileSync(join(dir, 'date=2026-05-10/hour=20/part-0.parquet'), big)
    const files = [{path: 'date=2026-05-10/hour=20/part-0.parquet', bytes: big.length}]
    const client = new SdkCosClient(resolveCosConnection({env: env()}), {bucket: BUCKET})
    const opts = {bucket: BUCKET, prefix: 'mp/', statePath: join(s.root, 'mp-state.json'), multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024, manifest: {}, maxAttempts: 2, baseDelayMs: 1}
    try {
      cos.addFault({method: 'PUT', match: (q) => q.query.partNumber === '2', times: Infinity, action: {status: 500}})
      let failed: unknown
      await uploadTree(client, dir, files, opts).catch((e: unknown) => (failed = e))
      expect(failed).to.be.instanceOf(RemoteError)
      expect(cos.pendingUploads()).to.equal(1)
      cos.clearFaults()
      cos.clearLog()
      const r = await uploadTree(client, dir, files, opts)
      expect(r).to.include({uploaded: 1, parts: 2})
      expect(cos.requests.filter((q) => q.method === 'PUT' && q.query.partNumber).map((q) => q.query.partNumber)).to.deep.equal(['2', '3'])
      expect(cos.requests.some((q) => q.method === 'POST' && 'uploads' in q.query)).to.equal(false)
      const o = cos.getObject(BUCKET, 'mp/date=2026-05-10/hour=20/part-0.parquet')!
      expect(md5(o.body)).to.equal(md5(big))
      expect(o.etag).to.match(/^[0-9a-f]{32}-3$/)
      expect(cos.pendingUploads()).to.equal(0)
      // And a third run finds it there (size + multipart ETag computed locally).
      cos.clearLog()
      expect(await uploadTree(client, dir, files, opts)).to.include({uploaded: 0, skipped: 1, parts: 0})
    } finally {
      client.close()
    }
  })

  it('built CLI: killed (SIGKILL) while a file is in flight, the re-run uploads only what is missing; --json summary', async () => {
    const h = tempHome('flowlog-export-kill-')
    try {
      writeBucket(join(h.dir, 'bucket'), 5)
      const cliEnv = {FLOWLOG_HOME: h.dir, ...env(), IBMCLOUD_API_KEY: ''}
      const pull = await runCli(['pull', '--source', join(h.dir, 'bucket')], {env: cliEnv})
      expect(pull.code, pull.stderr).to.equal(0)
      cos.addFault({method: 'PUT', key: LAYOUT, nth: 3, times: 1, action: {delayMs: 60_000}})
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'export', '--out', `cos://${BUCKET}/flow/logs`], {env: {...process.env, NO_COLOR: '1', ...cliEnv}, stdio: 'ignore'})
      const closed = new Promise((r) => child.on('close', r))
      for (let i = 0; i < 600 && !cos.requests.some((q) => q.fault); i++) await new Promise((r) => setTimeout(r, 100))
      expect(cos.requests.some((q) => q.fault)).to.equal(true)
      child.kill('SIGKILL')
      await closed
      const first = puts().filter((k) => LAYOUT.test(k))
      expect(first).to.have.length(2)
      cos.clearFaults()
      cos.clearLog()
      const r = await runCli(['export', '--out', `cos://${BUCKET}/flow/logs`, '--json'], {env: cliEnv})
      expect(r.code, r.stderr).to.equal(0)
      const summary = JSON.parse(r.stdout) as {files: number; rows: number; bytes: number; uploaded: number; skipped: number}
      expect(summary).to.include({files: 5, rows: 800, uploaded: 3, skipped: 2})
      expect(summary.bytes).to.be.greaterThan(0)
      const second = puts().filter((k) => LAYOUT.test(k))
      expect(second).to.have.length(3)
      for (const k of second) expect(first).to.not.include(k)
      expect(r.stderr).to.not.contain(SECRET)
    } finally {
      h.cleanup()
    }
  })
})

describe('export --out cos:// against s3rver', function () {
  this.timeout(120_000)
  let s: Sandbox
  let s3: S3rverHarness
  before(async () => {
    s = sandbox()
    writeBucket(s.folder, 3)
    await pullFolder(s.homeDir, s.folder)
    s3 = await startS3rver({buckets: [BUCKET]})
  })
  after(async () => {
    await s3.close()
    s.cleanup()
  })
  const env = () => ({FLOWLOG_COS_ENDPOINT: s3.url, FLOWLOG_COS_HMAC_ACCESS_KEY_ID: s3.accessKeyId, FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: s3.secretAccessKey})

  it('uploads the tree, and a re-run skips every file', async () => {
    const home = resolveHome({env: {FLOWLOG_HOME: s.homeDir}})
    const r = await exportIndex(home, `cos://${BUCKET}/lake`, {cos: {env: env()}})
    expect(r.upload).to.include({uploaded: 3, skipped: 0})
    const again = await exportIndex(home, `cos://${BUCKET}/lake`, {cos: {env: env()}})
    expect(again.upload).to.include({uploaded: 0, skipped: 3})
  })

  it('multipart interrupted after part 1 (the process dies): the re-run sends parts 2 and 3 only', async () => {
    const dir = join(s.root, 'big')
    const big = randomBytes(11 * 1024 * 1024)
    mkdirSync(join(dir, 'date=2026-05-10/hour=20'), {recursive: true})
    writeFileSync(join(dir, 'date=2026-05-10/hour=20/part-0.parquet'), big)
    const files = [{path: 'date=2026-05-10/hour=20/part-0.parquet', bytes: big.length}]
    const client = new SdkCosClient(resolveCosConnection({env: env()}), {bucket: BUCKET})
    const opts = {bucket: BUCKET, prefix: 'mp/', statePath: join(s.root, 'mp-state.json'), multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024, manifest: {}}
    try {
      let sent = 0
      const dying = Object.assign(Object.create(client) as SdkCosClient, {
        uploadPart: async (...a: Parameters<SdkCosClient['uploadPart']>) => {
          if (++sent > 1) throw Object.assign(new Error('killed'), {code: 'Killed'})
          return client.uploadPart(...a)
        },
      })
      let failed: unknown
      await uploadTree(dying, dir, files, opts).catch((e: unknown) => (failed = e))
      expect(failed).to.be.instanceOf(Error)
      s3.requests.length = 0
      const r = await uploadTree(client, dir, files, opts)
      expect(r).to.include({uploaded: 1, parts: 2})
      expect(s3.requests.filter((q) => q.method === 'PUT' && q.query.partNumber).map((q) => q.query.partNumber)).to.deep.equal(['2', '3'])
      expect(await uploadTree(client, dir, files, opts)).to.include({uploaded: 0, skipped: 1})
    } finally {
      client.close()
    }
  })
})
