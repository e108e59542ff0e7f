/**
 * The index as `pull` fills it: idempotent incremental loads, reloads of rewritten objects without duplicates,
 * --force, per-object failures, what the objects table records, and the writer lock.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {PartialFailureError} from '../../src/lib/errors.js'
import {parseKey} from '../../src/lib/records/key.js'
import {commitDue, type PullSummary} from '../../src/lib/sources/pull.js'
import {acquireLock, IndexBusyError, parseHolder} from '../../src/lib/store/lock.js'
import {openStore} from '../../src/lib/store/store.js'
import {ceEventKey, homeAt, makeObject, makeRecords, makeSeries, makeV1Key, SAMPLE, sampleBytes, writeBucketFile, writeBucketFolder} from '../support/fixtures.js'
import {countRecords, pullFolder, type Sandbox, sandbox, withReader} from './helpers.js'

async function recordsOf(homeDir: string, key: string): Promise<{n: number; ports: number[]}> {
  return withReader(homeDir, async (store) => {
    const rows = await store.all(`SELECT idx, target_port FROM records WHERE okey = ? ORDER BY idx`, [key])
    return {n: rows.length, ports: rows.map((r) => Number(r.target_port))}
  })
}

async function duplicates(homeDir: string): Promise<number> {
  return withReader(homeDir, async (store) => {
    const [r] = await store.all(`SELECT count(*) - count(DISTINCT (okey, idx)) AS d FROM records`)
    return Number(r.d)
  })
}

describe('store: incremental, idempotent loading', function () {
  this.timeout(120_000)
  let s: Sandbox
  const series = makeSeries(12, 5)
  beforeEach(() => {
    s = sandbox()
    writeBucketFolder(s.folder, series.map((o) => ({key: o.key, body: o.doc})))
  })
  afterEach(() => s.cleanup())

  it('pulling a folder twice: the second run loads nothing and skips all; counts unchanged', async () => {
    const first = await pullFolder(s.homeDir, s.folder)
    expect(first.objects).to.deep.equal({listed: 12, downloaded: 12, loaded: 12, skipped: 0, failed: 0})
    expect(first.records).to.equal(60)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    const second = await pullFolder(s.homeDir, s.folder)
    expect(second.objects).to.deep.equal({listed: 12, downloaded: 0, loaded: 0, skipped: 12, failed: 0})
    expect(second.records).to.equal(0)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
  })

  it('an object rewritten (size and mtime change) is reloaded and its old records replaced, not duplicated', async () => {
    await pullFolder(s.homeDir, s.folder)
    const target = series[3]
    const start = Date.parse(String(target.doc.capture_start_time))
    const newRecords = makeRecords(2, start, 99).map((r) => ({...r, target_port: 8443}))
    writeBucketFile(s.folder, {key: target.key, body: makeObject(newRecords, {start}), mtime: Date.now() + 60_000})
    const second = await pullFolder(s.homeDir, s.folder)
    expect(second.objects).to.deep.equal({listed: 12, downloaded: 1, loaded: 1, skipped: 11, failed: 0})
    expect(second.records).to.equal(2)
    expect(await recordsOf(s.homeDir, target.key)).to.deep.equal({n: 2, ports: [8443, 8443]})
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 57})
    expect(await duplicates(s.homeDir)).to.equal(0)
    const [obj] = await withReader(s.homeDir, (st) => st.all(`SELECT records FROM objects WHERE key = ?`, [target.key]))
    expect(obj.records).to.equal(2)
  })

  it('an object whose mtime alone changed (same bytes) is reloaded without duplicates', async () => {
    await pullFolder(s.homeDir, s.folder)
    const path = join(s.folder, ...series[0].key.split('/'))
    const t = (Date.now() + 120_000) / 1000
    utimesSync(path, t, t)
    const second = await pullFolder(s.homeDir, s.folder)
    expect(second.objects.loaded).to.equal(1)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    expect(await duplicates(s.homeDir)).to.equal(0)
  })

  it('force reloads every object, replacing, never duplicating', async () => {
    await pullFolder(s.homeDir, s.folder)
    const forced = await pullFolder(s.homeDir, s.folder, {force: true})
    expect(forced.objects).to.deep.equal({listed: 12, downloaded: 12, loaded: 12, skipped: 0, failed: 0})
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    expect(await duplicates(s.homeDir)).to.equal(0)
  })

  it('small batches and several workers load the same thing (batches split across transactions)', async () => {
    const summary = await pullFolder(s.homeDir, s.folder, {batchObjects: 1, workers: 2, concurrency: 3})
    expect(summary.objects.loaded).to.equal(12)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    expect(await duplicates(s.homeDir)).to.equal(0)
  })

  it('commitDue: a lane is committed past two row groups with the last one more than half full, or at commitRows', () => {
    const G = 122_880
    expect(commitDue(10, 10)).to.equal(true)
    expect(commitDue(9, 10)).to.equal(false)
    expect(commitDue(2 * G + G / 2 + 1, 500_000)).to.equal(true)
    expect(commitDue(2 * G + G / 2, 500_000)).to.equal(false)
    expect(commitDue(3 * G + 10, 500_000)).to.equal(false)
    expect(commitDue(G + G * 0.9, 500_000)).to.equal(false)
    expect(commitDue(500_000, 500_000)).to.equal(true)
    // Whatever the commit points, no k+1 consecutive row groups of the committed transactions fit in k (k <= 3: the
    // checkpoint would merge and rewrite them): simulate appends of 500 rows.
    const groups: number[] = []
    let rows = 0
    for (let i = 0; i < 20_000; i++) {
      rows += 500
      if (commitDue(rows, 500_000)) {
        for (let r = rows; r > 0; r -= G) groups.push(Math.min(G, r))
        rows = 0
      }
    }
    for (let k = 1; k <= 3; k++) {
      for (let i = 0; i + k + 1 <= groups.length; i++) expect(groups.slice(i, i + k + 1).reduce((a, b) => a + b, 0)).to.be.greaterThan(k * G)
    }
  })

  it('commits every few rows, the two lanes taking turns (one commits while the other appends): everything once, in place', async () => {
    // 12 objects × 5 records, a commit every 10 rows: six commits alternating between the lanes.
    const progress: {loaded: number; records: number}[] = []
    const summary = await pullFolder(s.homeDir, s.folder, {batchObjects: 1, workers: 2, commitRows: 10, onProgress: (p) => progress.push({loaded: p.loaded, records: p.records})})
    expect(summary.objects.loaded).to.equal(12)
    expect(summary.records).to.equal(60)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    expect(await duplicates(s.homeDir)).to.equal(0)
    // Every record is there with its own object's values, and object ids are unique.
    for (const o of series) expect((await recordsOf(s.homeDir, o.key)).n).to.equal(5)
    await withReader(s.homeDir, async (store) => {
      const [r] = await store.all(`SELECT count(DISTINCT oid) AS n, count(*) AS m FROM objects`)
      expect(Number(r.n)).to.equal(Number(r.m))
    })
    expect(progress.at(-1)).to.deep.equal({loaded: 12, records: 60})
    // A second run with the same settings adds nothing.
    const again = await pullFolder(s.homeDir, s.folder, {batchObjects: 1, workers: 2, commitRows: 10})
    expect(again.objects.skipped).to.equal(12)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    // --force replaces through both lanes too: deletes and inserts in turn, never a duplicate.
    const forced = await pullFolder(s.homeDir, s.folder, {batchObjects: 1, workers: 2, commitRows: 10, force: true})
    expect(forced.objects.loaded).to.equal(12)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    expect(await duplicates(s.homeDir)).to.equal(0)
  })

  it('an aborted pull (follow mode stops) keeps what it appended, whole objects only; the next pull loads the rest', async () => {
    const controller = new AbortController()
    let error: unknown
    try {
      await pullFolder(s.homeDir, s.folder, {
        batchObjects: 1,
        workers: 1,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.loaded >= 3) controller.abort()
        },
      })
    } catch (e) {
      error = e
    }
    expect((error as Error)?.name).to.equal('AbortError')
    const kept = await countRecords(s.homeDir)
    expect(kept.objects).to.be.within(3, 11)
    expect(kept.records).to.equal(kept.objects * 5)
    const rest = await pullFolder(s.homeDir, s.folder)
    expect(rest.objects.loaded).to.equal(12 - kept.objects)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    expect(await duplicates(s.homeDir)).to.equal(0)
  })

  it('a windowed load keeps only the records inside the window; widening it later loads the rest exactly once', async () => {
    const since = Date.UTC(2026, 0, 15, 0, 30)
    const first = await pullFolder(s.homeDir, s.folder, {window: {since}})
    expect(first.objects.listed).to.equal(12) // all in hour 00
    expect(first.records).to.equal(30) // windows 00:30 … 00:55
    const early = await withReader(s.homeDir, (st) => st.all(`SELECT count(*) AS n FROM records WHERE ts < ?`, [since]))
    expect(early[0].n).to.equal(0)
    // the same window again: nothing to do
    expect((await pullFolder(s.homeDir, s.folder, {window: {since}})).objects.skipped).to.equal(12)
    // no window: everything, no duplicates
    await pullFolder(s.homeDir, s.folder)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 12, records: 60})
    expect(await duplicates(s.homeDir)).to.equal(0)
    expect((await pullFolder(s.homeDir, s.folder)).objects.skipped).to.equal(12)
  })

  it('a window prunes objects by their key hour', async () => {
    // series: 12 windows from 00:00 → hours 00 only; add an hour-02 object
    const late = makeSeries(1, 4, {start: Date.UTC(2026, 0, 15, 2, 30)})[0]
    writeBucketFile(s.folder, {key: late.key, body: late.doc})
    const summary = await pullFolder(s.homeDir, s.folder, {window: {since: Date.UTC(2026, 0, 15, 2, 0)}})
    expect(summary.objects.listed).to.equal(1)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 1, records: 4})
  })
})

describe('store: per-object failures and what the objects table holds', function () {
  this.timeout(120_000)
  let s: Sandbox
  beforeEach(() => {
    s = sandbox()
  })
  afterEach(() => s.cleanup())

  it('bad objects fail with their key and reason (PartialFailureError carries the summary); good ones are loaded', async () => {
    const good = makeSeries(3, 4)
    writeBucketFolder(s.folder, good.map((o) => ({key: o.key, body: o.doc})))
    const badKey = makeV1Key({sequence: 77})
    writeBucketFile(s.folder, {key: badKey, body: 'not json at all'})
    let caught: unknown
    try {
      await pullFolder(s.homeDir, s.folder)
    } catch (error) {
      caught = error
    }
    expect(caught).to.be.instanceOf(PartialFailureError)
    const e = caught as PartialFailureError
    expect(e.exitCode).to.equal(5)
    const summary = e.result as PullSummary
    expect(summary.objects).to.deep.equal({listed: 4, downloaded: 4, loaded: 3, skipped: 0, failed: 1})
    expect(summary.failures).to.have.length(1)
    expect(summary.failures[0].key).to.equal(badKey)
    expect(summary.failures[0].error).to.match(/invalid JSON/)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 3, records: 12})
    // A failed object is not recorded as loaded: fixing it makes the next pull load it.
    writeBucketFile(s.folder, {key: badKey, body: makeObject(makeRecords(2))})
    const again = await pullFolder(s.homeDir, s.folder)
    expect(again.objects).to.include({loaded: 1, skipped: 3, failed: 0})
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 4, records: 14})
  })

  it('objects rows carry the source, the key fields, the raw state and the warnings', async () => {
    const key = ceEventKey()
    writeBucketFile(s.folder, {key, body: sampleBytes(SAMPLE.twoRecords), gzip: false})
    const odd = 'ibm_vpc_flowlogs_v1/odd/layout.gz'
    writeBucketFile(s.folder, {key: odd, body: makeObject(makeRecords(1), {header: {state: 'SKIP DATA'}})})
    const summary = await pullFolder(s.homeDir, s.folder)
    expect(summary.skipData).to.equal(1)
    expect(summary.unrecognisedKeys).to.equal(1)
    expect(summary.warnings.some((w) => w.startsWith(`${key}: number_of_flow_logs is 1`))).to.equal(true)
    const rows = await withReader(s.homeDir, (st) =>
      st.all(`SELECT key, source, records, state, warnings, layout, account, region, zone, subnet_id, instance_id, vnic_id, record_type, hour_dir, size FROM objects ORDER BY key`),
    )
    const byKey = new Map(rows.map((r) => [String(r.key), r]))
    const v1 = byKey.get(key)!
    const p = parseKey(key)!
    expect(v1).to.include({
      source: `dir:${s.folder}`,
      records: 2,
      state: 'ok',
      layout: 'v1',
      account: p.account,
      region: 'us-south',
      zone: 'us-south-2',
      subnet_id: p.subnet_id,
      instance_id: p.instance_id,
      vnic_id: p.vnic_id,
      record_type: 'egress',
      hour_dir: Date.UTC(2021, 10, 23, 20),
      size: sampleBytes(SAMPLE.twoRecords).length,
    })
    expect(JSON.parse(String(v1.warnings))).to.deep.equal(['number_of_flow_logs is 1 but flow_logs has 2 records'])
    const u = byKey.get(odd)!
    expect(u).to.include({layout: 'unrecognised', state: 'SKIP DATA', account: null, hour_dir: null})
    // without a parsed key the vNIC comes from the header
    expect(u.vnic_id).to.equal('0717-83c09614-8ba2-4911-bada-66cb04f004f5')
  })

  it('a v0 key (raw CRNs with "/" and ":") works as a folder path and keeps its layout', async () => {
    const v0 = (JSON.parse(sampleBytes(SAMPLE.emptyV0).toString('utf8')) as {key: string}).key
    writeBucketFile(s.folder, {key: v0, body: makeObject(makeRecords(3))})
    const summary = await pullFolder(s.homeDir, s.folder)
    expect(summary.objects.loaded).to.equal(1)
    const [row] = await withReader(s.homeDir, (st) => st.all(`SELECT key, layout, zone, region, record_type, hour_dir FROM objects`))
    expect(row).to.deep.equal({key: v0, layout: 'v0', zone: 'us-south-2', region: 'us-south', record_type: 'ingress', hour_dir: null})
    // v0 keys have no hour: a window never prunes them (records are filtered by time when searched)
    const again = await pullFolder(s.homeDir, s.folder, {window: {since: Date.UTC(2030, 0, 1)}, force: true})
    expect(again.objects.listed).to.equal(1)
  })

  it('an empty object (no traffic) is recorded with 0 records and produces no record rows', async () => {
    writeBucketFile(s.folder, {key: makeV1Key(), body: sampleBytes(SAMPLE.emptyV0), gzip: false})
    const summary = await pullFolder(s.homeDir, s.folder)
    expect(summary.objects.loaded).to.equal(1)
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 1, records: 0})
    // and it is not reloaded next time
    expect((await pullFolder(s.homeDir, s.folder)).objects.skipped).to.equal(1)
  })

  it('a read-only store on a fresh home sees empty tables', async () => {
    expect(await countRecords(s.homeDir)).to.deep.equal({objects: 0, records: 0})
  })
})

describe('store: the writer lock', function () {
  this.timeout(60_000)
  let s: Sandbox
  beforeEach(() => {
    s = sandbox()
  })
  afterEach(() => s.cleanup())

  /** A live process that is not us, to own a lock file. */
  function sleeper(): {pid: number; kill: () => Promise<void>} {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {stdio: 'ignore'})
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    return {
      pid: child.pid!,
      kill: async () => {
        child.kill('SIGKILL')
        await exited
      },
    }
  }

  async function deadPid(): Promise<number> {
    const child = spawn(process.execPath, ['-e', '0'], {stdio: 'ignore'})
    await new Promise<void>((r) => child.once('exit', () => r()))
    return child.pid!
  }

  it('a stale lock (dead pid) is taken over at once', async () => {
    const home = homeAt(s.homeDir)
    const pid = await deadPid()
    writeBucketFile(s.root, {key: 'home/index.lock', body: String(pid), gzip: false})
    let waited = false
    const lock = await acquireLock(home.lockPath, {waitMs: 5000, onWait: () => (waited = true)})
    expect(waited).to.equal(false)
    expect(parseHolder(readFileSync(home.lockPath, 'utf8'), 'write')?.pid).to.equal(process.pid)
    await lock.release()
    expect(existsSync(home.lockPath)).to.equal(false)
  })

  it('garbage in the lock file is treated as stale', async () => {
    const home = homeAt(s.homeDir)
    writeBucketFile(s.root, {key: 'home/index.lock', body: 'not a pid', gzip: false})
    const lock = await acquireLock(home.lockPath, {waitMs: 2000})
    expect(parseHolder(readFileSync(home.lockPath, 'utf8'), 'write')?.pid).to.equal(process.pid)
    await lock.release()
  })

  it('a second writer waits for a live owner, says so once, and gets the lock when the owner goes', async () => {
    const home = homeAt(s.homeDir)
    const owner = sleeper()
    try {
      writeBucketFile(s.root, {key: 'home/index.lock', body: String(owner.pid), gzip: false})
      const waits: number[] = []
      let acquired = false
      const pending = acquireLock(home.lockPath, {waitMs: 30_000, onWait: (h) => waits.push(h.pid)}).then((l) => {
        acquired = true
        return l
      })
      // It must be waiting (not acquired) while the owner lives.
      while (waits.length === 0) await new Promise((r) => setTimeout(r, 20))
      expect(acquired).to.equal(false)
      expect(readFileSync(home.lockPath, 'utf8')).to.equal(String(owner.pid))
      await owner.kill()
      const lock = await pending
      expect(waits).to.deep.equal([owner.pid])
      expect(parseHolder(readFileSync(home.lockPath, 'utf8'), 'write')?.pid).to.equal(process.pid)
      await lock.release()
    } finally {
      await owner.kill()
    }
  })

  it('a live owner that stays past the wait gives IndexBusyError naming its pid', async () => {
    const home = homeAt(s.homeDir)
    const owner = sleeper()
    try {
      writeBucketFile(s.root, {key: 'home/index.lock', body: String(owner.pid), gzip: false})
      let caught: unknown
      try {
        await acquireLock(home.lockPath, {waitMs: 300})
      } catch (error) {
        caught = error
      }
      expect(caught).to.be.instanceOf(IndexBusyError)
      expect((caught as Error).message).to.contain(`pid ${owner.pid}`)
      // the owner's lock is left alone
      expect(readFileSync(home.lockPath, 'utf8')).to.equal(String(owner.pid))
    } finally {
      await owner.kill()
    }
  })

  it('release does not remove a lock that another process owns now', async () => {
    const home = homeAt(s.homeDir)
    mkdirSync(home.root, {recursive: true})
    const lock = await acquireLock(home.lockPath)
    writeFileSync(home.lockPath, '999999999')
    await lock.release()
    expect(readFileSync(home.lockPath, 'utf8')).to.equal('999999999')
  })

  it('openStore takes the lock for writers and releases it on close; readers take none', async () => {
    const home = homeAt(s.homeDir)
    const store = await openStore(home)
    expect(parseHolder(readFileSync(home.lockPath, 'utf8'), 'write')?.pid).to.equal(process.pid)
    await store.close()
    expect(existsSync(home.lockPath)).to.equal(false)
    const reader = await openStore(home, {readOnly: true})
    expect(existsSync(home.lockPath)).to.equal(false)
    await reader.close()
  })
})
