/**
 * A full disk under a real `flowlog pull` (needs `npm run build`, and root to mount a small tmpfs as FLOWLOG_HOME; the
 * tests skip, saying why, where mounting is not permitted): exit 5 saying "no space left on …", what was committed
 * before stays usable, no temporary file is left, and the next pull on a larger disk loads the rest. An index holding
 * nothing but the blocks of rolled-back loads is started again by the next writer (src/lib/store/store.ts).
 */
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {runCli} from '../support/cli.js'
import {homeAt, makeSeries, tempDir, writeBucketFolder} from '../support/fixtures.js'
import {openStore} from '../../src/lib/store/store.js'
import {countRecords} from '../store/helpers.js'

function mount(dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], {stdio: 'pipe'})
    return undefined
  } catch (error) {
    return `cannot mount a tmpfs here (${String((error as {stderr?: Buffer}).stderr ?? error).trim() || 'not permitted'})`
  }
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

describe('disk full during pull (real processes, a small tmpfs)', function () {
  this.timeout(300_000)
  let t: {dir: string; cleanup: () => void}
  let home: string
  let small: string
  let big: string
  let mounted = false
  before(function () {
    t = tempDir('flowlog-disk-full-')
    home = join(t.dir, 'home')
    mkdirSync(home)
    const why = mount(home, '20m')
    if (why) {
      t.cleanup()
      console.warn(`disk-full tests skipped: ${why}`)
      this.skip()
    }
    mounted = true
    small = join(t.dir, 'small')
    big = join(t.dir, 'big')
    writeBucketFolder(small, makeSeries(20, 50).map((o) => ({key: o.key, body: o.doc})))
    // 120,000 records: their batch files and the index need more than the 20 MB left.
    writeBucketFolder(big, makeSeries(400, 300, {start: Date.UTC(2026, 1, 1)}).map((o) => ({key: o.key, body: o.doc})))
  })
  after(() => {
    if (!mounted) return
    // Lazily: a failed test may leave a file open there.
    execFileSync('umount', ['-l', home])
    t.cleanup()
  })

  it('exit 5 "no space left on …"; the committed objects stay searchable; no temp file left; a larger disk takes the rest', async () => {
    const first = await runCli(['pull', '--source', small], {env: {FLOWLOG_HOME: home}})
    expect(first.code, first.stderr).to.equal(0)
    const full = await runCli(['pull', '--source', big], {env: {FLOWLOG_HOME: home}})
    expect(full.code, full.stderr).to.equal(5)
    expect(full.stderr).to.match(/no space left on the disk holding .*: kept \d+ objects? \(\d+ records\) committed before it/)
    expect(full.stderr).not.to.match(/internal error|this is a bug/)
    expect(filesUnder(join(home, 'cache')), 'temporary files').to.deep.equal([])
    expect(readdirSync(home).filter((f) => !['index.duckdb', 'index.duckdb.wal', 'cache'].includes(f))).to.deep.equal([])
    // What was committed stays usable, on the full disk, by a reader.
    const search = await runCli(['search', 'action:rejected', '--limit', '1', '--json'], {env: {FLOWLOG_HOME: home}})
    expect(search.code, search.stderr).to.equal(0)
    const kept = await countRecords(home)
    expect(kept.records).to.be.at.least(1000)
    execFileSync('mount', ['-o', 'remount,size=200m', home])
    const again = await runCli(['pull', '--source', big], {env: {FLOWLOG_HOME: home}})
    expect(again.code, again.stderr).to.equal(0)
    expect(await countRecords(home)).to.deep.equal({objects: 420, records: 1000 + 120_000})
  })

  it('the next writer starts again an index that holds nothing but space', async () => {
    execFileSync('mount', ['-o', 'remount,size=200m', home])
    // What a load cut short by a full disk leaves: no object, yet blocks of rows nothing points at.
    const store = await openStore(homeAt(home))
    try {
      await store.clear()
      await store.run(`INSERT INTO records_data (oid, idx, ts) SELECT (hash(i) % 1000000007)::BIGINT, i, (hash(i + 1) % 1000000007)::BIGINT FROM range(1000000) t(i)`)
    } finally {
      await store.close()
    }
    const bloated = statSync(join(home, 'index.duckdb')).size
    expect(bloated).to.be.above(4 * 1024 * 1024)
    const r = await runCli(['pull', '--source', small, '--force'], {env: {FLOWLOG_HOME: home}})
    expect(r.code, r.stderr).to.equal(0)
    expect(await countRecords(home)).to.deep.equal({objects: 20, records: 1000})
    const size = statSync(join(home, 'index.duckdb')).size + (existsSync(join(home, 'index.duckdb.wal')) ? statSync(join(home, 'index.duckdb.wal')).size : 0)
    expect(size, 'bytes of the index after the next writer').to.be.below(bloated / 2)
  })
})
