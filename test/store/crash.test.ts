/**
 * Crash safety (needs `npm run build`): a real `flowlog pull` killed with SIGKILL in the middle of a big load never
 * leaves half an object in the index, its stale lock is taken over, and a re-run loads everything exactly once.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {parseHolder} from '../../src/lib/store/lock.js'
import {ROOT, runCli} from '../support/cli.js'
import {makeSeries, writeBucketFolder} from '../support/fixtures.js'
import {type Sandbox, sandbox, withReader} from './helpers.js'

const OBJECTS = 400
const PER_OBJECT = 500

function filesUnder(dir: string): number {
  if (!existsSync(dir)) return 0
  return readdirSync(dir, {recursive: true}).length
}

describe('store: crash safety and concurrent writers (real pull processes)', function () {
  this.timeout(600_000)
  let s: Sandbox
  before(() => {
    s = sandbox()
    writeBucketFolder(
      s.folder,
      makeSeries(OBJECTS, PER_OBJECT).map((o) => ({key: o.key, body: o.doc})),
    )
  })
  after(() => s?.cleanup())

  /** Bytes the index files hold on disk now. */
  function indexBytes(homeDir: string): number {
    let n = 0
    for (const f of ['index.duckdb', 'index.duckdb.wal']) if (existsSync(join(homeDir, f))) n += statSync(join(homeDir, f)).size
    return n
  }

  const triggers: {name: string; ready: (homeDir: string) => boolean}[] = [
    // Parse batches are being written under the home's cache: downloading and parsing, before any commit.
    {name: 'while parsing', ready: (homeDir) => filesUnder(join(homeDir, 'cache', 'load')) >= 2},
    // The index files (an empty index is a few KB) pass a megabyte: DuckDB is writing the load's rows, inside the
    // transaction or committing it.
    {name: 'while writing the index', ready: (homeDir) => indexBytes(homeDir) > 1_000_000},
  ]

  for (const trigger of triggers) {
    it(`killed ${trigger.name}: no half object; the re-run completes and loads every record exactly once`, async () => {
      const homeDir = join(s.root, `home-${triggers.indexOf(trigger)}`)
      const env = {...process.env, FLOWLOG_HOME: homeDir, NO_COLOR: '1'}
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'pull', '--source', s.folder], {cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe']})
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) =>
        child.once('exit', (code, signal) => resolve({code, signal})),
      )
      let done = false
      void exited.then(() => (done = true))
      while (!done && !trigger.ready(homeDir)) await new Promise((r) => setTimeout(r, 10))
      expect(done, `pull finished before it could be killed: ${stderr}`).to.equal(false)
      child.kill('SIGKILL')
      const result = await exited
      expect(result.signal).to.equal('SIGKILL')
      // The dead writer's lock is still there...
      expect(parseHolder(readFileSync(join(homeDir, 'index.lock'), 'utf8'), 'write')?.pid).to.equal(child.pid)

      // ...and the index holds only whole objects.
      const afterKill = await withReader(homeDir, async (store) => {
        const [half] = await store.all(
          `SELECT count(*) AS n FROM objects o WHERE o.records <> (SELECT count(*) FROM records r WHERE r.oid = o.oid)`,
        )
        // Orphans are looked for in the table that stores the records (`records` may be a view joining objects).
        const tables = await store.all(`SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'`)
        const base = tables.some((t) => t.table_name === 'records_data') ? 'records_data' : 'records'
        const cols = await store.all(`SELECT column_name FROM information_schema.columns WHERE table_name = '${base}'`)
        const byId = cols.some((c) => c.column_name === 'oid')
        const [orphans] = await store.all(
          byId ? `SELECT count(*) AS n FROM ${base} r WHERE r.oid NOT IN (SELECT oid FROM objects)` : `SELECT count(*) AS n FROM ${base} r WHERE r.okey NOT IN (SELECT key FROM objects)`,
        )
        return {half: Number(half.n), orphans: Number(orphans.n), ...(await store.counts())}
      })
      if (process.env.FLOWLOG_TEST_DEBUG) console.log(afterKill)
      expect(afterKill.half, 'objects whose records are not all there').to.equal(0)
      expect(afterKill.orphans, 'records without their object').to.equal(0)
      expect(afterKill.records).to.equal(afterKill.objects * PER_OBJECT)

      // The re-run takes over the stale lock and completes.
      const rerun = await runCli(['pull', '--source', s.folder, '--json'], {env: {FLOWLOG_HOME: homeDir}, timeoutMs: 540_000})
      expect(rerun.code, rerun.stderr).to.equal(0)
      const summary = JSON.parse(rerun.stdout) as {objects: {listed: number; loaded: number; skipped: number; failed: number}; records: number}
      expect(summary.objects.listed).to.equal(OBJECTS)
      expect(summary.objects.skipped).to.equal(afterKill.objects)
      expect(summary.objects.loaded).to.equal(OBJECTS - afterKill.objects)
      expect(summary.objects.failed).to.equal(0)
      expect(summary.records).to.equal((OBJECTS - afterKill.objects) * PER_OBJECT)
      expect(existsSync(join(homeDir, 'index.lock'))).to.equal(false)

      const final = await withReader(homeDir, async (store) => {
        const [dups] = await store.all(`SELECT count(*) - count(DISTINCT (okey, idx)) AS n FROM records`)
        const [perObject] = await store.all(
          `SELECT count(*) AS n FROM (SELECT okey, count(*) AS c, max(idx) AS m FROM records GROUP BY okey) WHERE c <> ${PER_OBJECT} OR m <> ${PER_OBJECT - 1}`,
        )
        return {dups: Number(dups.n), badObjects: Number(perObject.n), ...(await store.counts())}
      })
      expect(final).to.deep.equal({dups: 0, badObjects: 0, objects: OBJECTS, records: OBJECTS * PER_OBJECT})
    })
  }

  it('a second pull on the same home waits for the first (the lock), then finds everything loaded', async () => {
    const homeDir = join(s.root, 'home-concurrent')
    const env = {...process.env, FLOWLOG_HOME: homeDir, NO_COLOR: '1'}
    const first = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'pull', '--source', s.folder, '--json'], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
    let out1 = ''
    first.stdout.setEncoding('utf8').on('data', (d: string) => (out1 += d))
    const firstExit = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)))
    let firstDone = false
    void firstExit.then(() => (firstDone = true))
    const lockPath = join(homeDir, 'index.lock')
    while (!firstDone && !(existsSync(lockPath) && parseHolder(readFileSync(lockPath, 'utf8'), 'write')?.pid === first.pid)) await new Promise((r) => setTimeout(r, 10))
    expect(firstDone, 'the first pull ended before the second started').to.equal(false)
    const second = await runCli(['pull', '--source', s.folder], {env: {FLOWLOG_HOME: homeDir}, timeoutMs: 540_000})
    expect(await firstExit).to.equal(0)
    expect(second.code, second.stderr).to.equal(0)
    expect(second.stderr).to.contain(`waiting for the index: \`flowlog pull\` (pid ${first.pid}) is writing it`)
    expect(second.stderr).to.match(new RegExp(`${OBJECTS} objects listed, 0 downloaded, 0 loaded, ${OBJECTS} already loaded, 0 failed`))
    expect((JSON.parse(out1) as {records: number}).records).to.equal(OBJECTS * PER_OBJECT)
    const counts = await withReader(homeDir, (store) => store.counts())
    expect(counts).to.deep.equal({objects: OBJECTS, records: OBJECTS * PER_OBJECT})
  })
})
