/**
 * Stopping a real `flowlog forward` (needs `npm run build`): SIGTERM mid-run lets the requests in flight finish and
 * records them in the ledger, exits 130, and a re-run sends every record exactly once (docs/sinks.md, "Stopping
 * forward"). A ledger that cannot be written stops forward at once, saying why.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT, runCli} from '../support/cli.js'
import {type FakeLogdna, startLogdna} from '../servers/ingest-logdna.js'
import {allIds, synthObjects, tempDir, writeObjects} from '../sinks/helpers.js'

const KEY = 'stop-ingestion-key-4c2e1b'

describe('stopping forward (real processes)', function () {
  this.timeout(300_000)
  let fake: FakeLogdna
  let tmp: {dir: string; cleanup: () => void}
  let src: string
  let home: string
  beforeEach(() => {
    tmp = tempDir('flowlog-forward-stop-')
    src = join(tmp.dir, 'src')
    home = join(tmp.dir, 'home')
  })
  afterEach(async () => {
    await fake?.close()
    tmp.cleanup()
  })
  const env = (): NodeJS.ProcessEnv => ({...process.env, NO_COLOR: '1', FLOWLOG_HOME: home, FLOWLOG_LOGDNA_URL: fake.url, FLOWLOG_LOGDNA_INGESTION_KEY: KEY, CE_DATA: ''})

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} while requests are in flight: they finish, exit 130, the re-run sends the rest: every record exactly once`, async () => {
      const objects = synthObjects({objects: 60, recordsPerObject: 40})
      writeObjects(src, objects)
      // Every request takes 400 ms: at the signal, several are in flight.
      fake = await startLogdna({ingestionKeys: [KEY], record: 'ids', fault: () => ({delayMs: 400})})
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'forward', '--sink', 'logdna', '--source', src, '--batch-lines', '25', '--concurrency', '4'], {
        cwd: ROOT,
        env: env(),
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      let done = false
      void exited.then(() => (done = true))
      // The signal comes 2 s after the start (and once several requests went out), as Code Engine's SIGTERM would.
      const started = Date.now()
      while (!done && (fake.requests.length < 6 || Date.now() - started < 2000)) await new Promise((r) => setTimeout(r, 10))
      expect(done, stderr).to.equal(false)
      child.kill(signal)
      expect(await exited, stderr).to.equal(130)
      const first = fake.accepted
      expect(first).to.be.greaterThan(0)
      expect(first).to.be.below(60 * 40)
      // No request was cut off: every one that reached the server was answered and counted.
      expect(fake.requests.filter((r) => r.error !== undefined), JSON.stringify(fake.requests.slice(-3))).to.deep.equal([])
      fake.setFaults({})
      const again = await runCli(['forward', '--sink', 'logdna', '--source', src], {env: env()})
      expect(again.code, again.stderr).to.equal(0)
      const counts = fake.counts()
      expect([...counts.values()].filter((n) => n !== 1)).to.deep.equal([])
      expect([...counts.keys()].sort()).to.deep.equal(allIds(objects).sort())
    })
  }

  before(function () {
    if (!existsSync(join(ROOT, 'dist', 'commands', 'forward.js'))) throw new Error('run `npm run build` first')
  })
})
