/**
 * issue 17's small things as users meet them, as real processes (dist/: `npm run build` first): no spinner under
 * NO_COLOR on a real terminal (and one without it, so the check can fail), what `pull` says when it finds no flow-log
 * object, `connections` within $COLUMNS, and one number format in the summaries.
 */
import {expect} from 'chai'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {PullSummary} from '../../src/lib/sources/pull.js'
import type {ForwardResult} from '../../src/lib/sinks/index.js'
import {forwardProgressText, forwardSummaryLine} from '../../src/lib/ui/forward.js'
import {pullProgressText, renderPull} from '../../src/lib/ui/pull.js'
import {makeChalk} from '../../src/lib/ui/colour.js'
import {generateObjects} from '../cos/fixtures.js'
import {seed} from '../cos/helpers.js'
import {type CosServer, startCosServer} from '../servers/cos-server.js'
import {ROOT, runCli, tempHome} from '../support/cli.js'
import {loadPty, start} from '../support/pty.js'

const widest = (text: string) => Math.max(0, ...text.split('\n').map((l) => [...l].length))
// ora's frames (dots) and its hide-cursor sequence.
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\u001b\[\?25l/

describe('small things (issue 17)', function () {
  this.timeout(180_000)

  describe('the spinner on a real terminal', () => {
    const BUCKET = 'spin-flowlogs'
    const KEY_ID = 'spin-access-key'
    const SECRET = 'spin-secret-access-key-0000'
    let cos: CosServer
    let home: ReturnType<typeof tempHome>

    beforeEach(async () => {
      cos = await startCosServer({hmacKeys: {[KEY_ID]: SECRET}, buckets: [BUCKET]})
      seed(cos, BUCKET, generateObjects({start: Date.UTC(2026, 5, 1), hours: 1, vnics: 1, recordsPerObject: 2, perHour: 2}))
      // Listing takes a while, so a spinner (where one is allowed) has time to draw.
      cos.addFault({method: 'GET', match: (r) => r.key === undefined, times: Number.POSITIVE_INFINITY, action: {delayMs: 700}})
      home = tempHome('flowlog-spin-')
    })
    afterEach(async () => {
      await cos.close()
      home.cleanup()
    })

    async function pullInTerminal(extra: NodeJS.ProcessEnv): Promise<{code: number; raw: string}> {
      const pty = loadPty()
      if (!pty) throw new Error('@lydell/node-pty (a devDependency) did not load')
      const env = {
        FLOWLOG_HOME: home.dir, FLOWLOG_COS_ENDPOINT: cos.url, FLOWLOG_COS_HMAC_ACCESS_KEY_ID: KEY_ID,
        FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: SECRET, IBMCLOUD_API_KEY: '', NO_COLOR: '', FORCE_COLOR: '', ...extra,
      }
      let raw = ''
      const t = start(pty, [join(ROOT, 'bin', 'run.js'), 'pull', '--source', `cos://${BUCKET}`], env)
      t.p.onData((d) => (raw += d))
      const {exitCode} = await t.exited
      return {code: exitCode, raw}
    }

    it('NO_COLOR=1: no spinner frame and no escape code, only the summary; without it the spinner shows', async () => {
      const plain = await pullInTerminal({NO_COLOR: '1'})
      expect(plain.code, plain.raw).to.equal(0)
      expect(plain.raw).to.match(/objects listed/)
      expect(plain.raw).not.to.match(SPINNER)
      // eslint-disable-next-line no-control-regex
      expect(plain.raw).not.to.match(/\u001b\[/)
      const coloured = await pullInTerminal({})
      expect(coloured.code, coloured.raw).to.equal(0)
      expect(coloured.raw).to.match(SPINNER)
    })
  })

  describe('connections at 80 columns, pull that finds nothing (which then reads your own index)', () => {
    const home = tempHome('flowlog-small-')
    const env = {FLOWLOG_HOME: home.dir}
    before(async () => {
      const r = await runCli(['demo', '--hours', '2'], {env})
      expect(r.code, r.stderr).to.equal(0)
    })
    after(() => home.cleanup())

    it('connections: COLUMNS=80 keeps every line within 80 with time, action, initiator and target; --wide shows where it was seen', async () => {
      const narrow = await runCli(['connections', '--limit', '20'], {env: {...env, COLUMNS: '80'}})
      expect(narrow.code, narrow.stderr).to.equal(0)
      expect(widest(narrow.stdout)).to.be.at.most(80)
      for (const head of ['first', 'action', 'initiator', 'target']) expect(narrow.stdout).to.contain(head)
      // Addresses are whole: only the initiator's (ephemeral) port gives way.
      expect(narrow.stdout).not.to.match(/\d…/)
      const wide = await runCli(['connections', '--limit', '20', '--wide'], {env: {...env, COLUMNS: '80'}})
      expect(widest(wide.stdout)).to.be.greaterThan(80)
      expect(wide.stdout).to.contain('seen at').and.contain('packets →/←')
    })

    it('pull of a folder with no flow-log layout says where it looked, what it skipped and the layout it expects; --json has `looked`', async () => {
      const dir = join(home.dir, 'wrong')
      mkdirSync(join(dir, 'logs', '2026'), {recursive: true})
      writeFileSync(join(dir, 'logs', '2026', '00000001.gz'), 'x')
      writeFileSync(join(dir, 'notes.txt'), 'x')
      const r = await runCli(['pull', '--source', dir], {env})
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stderr).to.contain(`no flow-log objects in ${dir}: 2 objects not under ibm_vpc_flowlogs_`)
      expect(r.stderr).to.match(/ibm_vpc_flowlogs_v1\/account=…\/.*hour=HH.*, or _v0/)
      expect(r.stderr).to.contain('check --source')
      // The hint's lines fit 80 columns.
      const hint = r.stderr.split('\n').filter((l) => /reads keys|ibm_vpc_flowlogs_v1|check --source/.test(l))
      expect(hint).to.have.length(3)
      expect(widest(hint.join('\n'))).to.be.at.most(80)
      const json = await runCli(['pull', '--source', dir, '--json'], {env})
      expect(JSON.parse(json.stdout).looked).to.deep.equal({where: dir, foreign: 2, outsideWindow: 0})
      // A folder that does not exist is not "0 objects".
      const old = await runCli(['pull', '--source', join(home.dir, 'demo-flowlogs-missing'), '--json'], {env})
      expect(old.code).to.not.equal(0)
    })
  })

  describe('one number format', () => {
    const big = /\d{4,}/ // a count of 1,000 or more is always grouped

    it('pull and forward summaries and progress group thousands the same way', () => {
      const s: PullSummary = {
        objects: {listed: 16_128, downloaded: 16_000, loaded: 15_990, skipped: 128, failed: 10}, records: 2_000_000,
        failures: [], skipData: 0, unrecognisedKeys: 0, warnings: [], skippedPaths: [], seconds: 3, bytes: 0,
        looked: {where: 'x', foreign: 0, outsideWindow: 0},
      }
      const c = makeChalk(false)
      const pull = renderPull(s, {c, ce: c}).map((l) => l.text).join('\n')
      expect(pull).to.contain('16,128 objects listed, 16,000 downloaded, 15,990 loaded, 128 already loaded, 10 failed; 2,000,000 records')
      expect(pull).not.to.match(big)
      const progress = pullProgressText({listed: 16_128, downloaded: 13_350, loaded: 13_000, skipped: 0, failed: 0, records: 61_840, bytes: 0, elapsedMs: 2000})
      expect(progress).to.contain('13,350 downloaded (6,675 objects/s').and.contain('61,840 records')
      expect(forwardProgressText({listed: 4000, skipped: 1000, sent: 3000, failed: 0, lines: 2_000_000, retries: 0} as never)).not.to.match(big)
      const forward = forwardSummaryLine({
        dryRun: false, objects: {listed: 4000, sent: 3000, skipped: 1000, empty: 0, failed: 0, outOfWindow: 0}, records: 2_000_000, lines: 2_000_000,
        filtered: 0, resumed: 0, batches: 2000, retries: 0, destination: 'cloud-logs', seconds: 10,
      } as unknown as ForwardResult)
      expect(forward).to.contain('4,000 objects listed, 3,000 sent, 1,000 already sent')
      expect(forward).not.to.match(big)
    })
  })
})
