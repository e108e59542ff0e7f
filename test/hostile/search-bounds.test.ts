/**
 * Searches that cost too much (needs `npm run build`): queries past the size or clause bound are refused with exit 2
 * before anything runs; a long query is interrupted by SIGTERM/SIGINT (`timeout`, Ctrl-C) through DuckDB's
 * interrupt(): exit 130 long before the query would have ended (docs/query-language.md, "Bounds").
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {join} from 'node:path'

import {ROOT, runCli} from '../support/cli.js'
import {makeSeries, tempDir, writeBucketFolder} from '../support/fixtures.js'

describe('search bounds and interruption (real processes)', function () {
  this.timeout(300_000)
  let t: {dir: string; cleanup: () => void}
  let home: string
  before(async () => {
    t = tempDir('flowlog-search-bounds-')
    home = join(t.dir, 'home')
    const folder = join(t.dir, 'bucket')
    writeBucketFolder(folder, makeSeries(1000, 200).map((o) => ({key: o.key, body: o.doc})))
    const r = await runCli(['pull', '--source', folder], {env: {FLOWLOG_HOME: home}})
    expect(r.code, r.stderr).to.equal(0)
  })
  after(() => t.cleanup())

  it('a 4,761-term query and a 100,000-clause query (as many words) exit 2 at once, naming the bound', async () => {
    const terms = Array.from({length: 4761}, (_, i) => `t${i}`).join(' OR ')
    const r = await runCli(['search', terms], {env: {FLOWLOG_HOME: home}})
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.match(/the query has 4761 clauses, more than 500/)
    const words = Array.from({length: 100_000}, (_, i) => `a:${i}`)
    const big = await runCli(['search', ...words], {env: {FLOWLOG_HOME: home}})
    expect(big.code, big.stderr.slice(0, 300)).to.equal(2)
    expect(big.stderr).to.match(/characters long, more than 65536/)
    expect(big.stderr.length).to.be.below(2000)
  })

  it('the 4,761-term query under `timeout 10` ends within 12 s (refused, exit 2)', async () => {
    const terms = Array.from({length: 4761}, (_, i) => `t${i}`).join(' OR ')
    const started = Date.now()
    const child = spawn('timeout', ['10', process.execPath, join(ROOT, 'bin', 'run.js'), 'search', terms], {
      cwd: ROOT,
      env: {...process.env, FLOWLOG_HOME: home, NO_COLOR: '1'},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    expect(Date.now() - started, 'ms until the process ended').to.be.below(12_000)
    expect(code, stderr).to.equal(2)
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} during a long query: exit 130 within a few seconds, not when the query ends`, async () => {
      // 400 bare terms over 200,000 records: many seconds of DuckDB work.
      const query = Array.from({length: 400}, (_, i) => `zz${i}q`).join(' OR ')
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'search', query, '--limit', '5'], {
        cwd: ROOT,
        env: {...process.env, FLOWLOG_HOME: home, NO_COLOR: '1'},
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      let done = false
      void exited.then(() => (done = true))
      await new Promise((r) => setTimeout(r, 2500))
      expect(done, `the query ended before the signal: ${stderr}`).to.equal(false)
      const sent = Date.now()
      child.kill(signal)
      expect(await exited, stderr).to.equal(130)
      expect(Date.now() - sent, 'ms from the signal to the exit').to.be.below(5000)
    })
  }
})
