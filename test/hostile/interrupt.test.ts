/**
 * Ctrl-C during a real `flowlog pull` (needs `npm run build`): SIGINT mid-pull finishes or drops the objects in
 * progress, commits every whole object loaded, says how many were kept, exits 130; the next pull loads the rest and
 * the index ends with exactly the folder's records (docs/flow-log-format.md, "What pull accepts and rejects").
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT, runCli} from '../support/cli.js'
import {makeSeries, tempDir, writeBucketFolder} from '../support/fixtures.js'
import {countRecords} from '../store/helpers.js'

function filesUnder(dir: string): number {
  return existsSync(dir) ? readdirSync(dir).length : 0
}

const OBJECTS = 2000
const PER_OBJECT = 60

describe('SIGINT / SIGTERM during pull (real processes)', function () {
  this.timeout(600_000)
  let t: {dir: string; cleanup: () => void}
  let folder: string
  before(() => {
    t = tempDir('flowlog-sigint-')
    folder = join(t.dir, 'bucket')
    writeBucketFolder(folder, makeSeries(OBJECTS, PER_OBJECT).map((o) => ({key: o.key, body: o.doc})))
  })
  after(() => t.cleanup())

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} once objects are loaded: exit 130, the kept objects are in the index, the rerun ends with every record once`, async () => {
      const home = join(t.dir, `home-${signal}`)
      const env = {...process.env, FLOWLOG_HOME: home, NO_COLOR: '1'}
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'pull', '--source', folder], {cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe']})
      let stderr = ''
      let done = false
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      void exited.then(() => (done = true))
      // Parse batches are being written (cache/load holds their files): objects are on their way into the index.
      while (!done && filesUnder(join(home, 'cache', 'load')) < 2) await new Promise((r) => setTimeout(r, 10))
      const sent = !done
      child.kill(signal)
      const code = await exited
      expect(sent, `the pull ended before it could be interrupted: ${stderr.slice(-500)}`).to.equal(true)
      expect(code, stderr.slice(-2000)).to.equal(130)
      const m = /interrupted: kept (\d+) objects \((\d+) records\) loaded before the signal; the next pull continues/.exec(stderr)
      expect(m, stderr.slice(-1000)).to.not.equal(null)
      const kept = await countRecords(home)
      expect(kept.records).to.be.greaterThan(0)
      expect(kept).to.deep.equal({objects: Number(m![1]), records: Number(m![2])})
      expect(kept.objects).to.be.below(OBJECTS)
      const rerun = await runCli(['pull', '--source', folder, '--json'], {env: {FLOWLOG_HOME: home}})
      expect(rerun.code, rerun.stderr).to.equal(0)
      expect((JSON.parse(rerun.stdout) as {objects: {skipped: number}}).objects.skipped).to.equal(kept.objects)
      expect(await countRecords(home)).to.deep.equal({objects: OBJECTS, records: OBJECTS * PER_OBJECT})
    })
  }
})
