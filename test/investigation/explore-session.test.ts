/**
 * explore's session over the demo's index (needs `npm run build` for `flowlog demo`): the index is opened once for
 * every query, count, top and why-rejected of a session; pages newest first join up exactly to the whole result;
 * why-rejected from a scanner's record gives the triage verdict and no fix, as src/lib/analysis does.
 */
import {expect} from 'chai'
import {Chalk} from 'chalk'

import {DEMO_INSTANCES, DEMO_LAPTOP_IP, DEMO_SCANNERS} from '../../src/lib/demo/scenario.js'
import {countMatches, searchRecords} from '../../src/lib/store/search.js'
import {compileSearch} from '../../src/lib/store/query-search.js'
import {openStore, Store} from '../../src/lib/store/store.js'
import {ExploreController} from '../../src/lib/ui/explore/controller.js'
import type {ExploreRecord} from '../../src/lib/ui/explore/pivots.js'
import {openSession} from '../../src/lib/ui/explore/session.js'
import {runCli, tempHome} from '../support/cli.js'
import {homeAt} from '../support/fixtures.js'

const c = new Chalk({level: 0})

describe('explore: the session over the demo index', function () {
  this.timeout(120_000)
  let home: {dir: string; cleanup: () => void}

  before(async () => {
    home = tempHome()
    const r = await runCli(['demo'], {env: {FLOWLOG_HOME: home.dir}, timeoutMs: 110_000})
    expect(r.code, r.stderr).to.equal(0)
  })

  after(() => home?.cleanup())

  it('opens the index once for a whole session of queries, pages, counts, tops and why-rejected', async () => {
    const original = Store.open
    let opens = 0
    Store.open = (async (...args: Parameters<typeof Store.open>) => {
      opens++
      return original.apply(Store, args)
    }) as typeof Store.open
    try {
      const session = await openSession({home: homeAt(home.dir)})
      try {
        const ctl = new ExploreController({data: session, c, fields: [], pageSize: 10, chunk: 20})
        await ctl.start('action:rejected')
        await ctl.idle()
        for (const k of ['pagedown', 'pagedown', 'pagedown', 'pagedown'] as const) {
          ctl.key({name: k})
          await ctl.idle()
        }
        ctl.key({name: 'char', ch: 'c'})
        await ctl.idle()
        ctl.key({name: 'escape'})
        ctl.key({name: 'char', ch: 's'})
        await ctl.idle()
        ctl.key({name: 'escape'})
        ctl.key({name: 'char', ch: 'w'})
        await ctl.idle()
        expect(ctl.state.pane?.lines?.length, ctl.state.pane?.error).to.be.greaterThan(3)
        expect(session.stats.queries).to.be.at.least(4)
      } finally {
        await session.close()
      }
      expect(opens).to.equal(1)
    } finally {
      Store.open = original
    }
  })

  it('pages newest first join up to exactly the whole result (keyset on time, ties included)', async () => {
    const query = `target_ip:==${DEMO_INSTANCES.vsi1.ip}`
    const store = await openStore(homeAt(home.dir), {readOnly: true})
    const compiled = compileSearch(query)
    const whole: string[] = []
    let total: number
    try {
      for await (const m of searchRecords(store, {...compiled.spec, sort: {field: 'time', desc: true}})) whole.push(`${m.okey}#${m.idx}`)
      total = await countMatches(store, compiled.spec)
    } finally {
      await store.close()
    }
    const session = await openSession({home: homeAt(home.dir)})
    try {
      const paged: ExploreRecord[] = []
      for (;;) {
        const last = paged[paged.length - 1]
        const page = await session.search({query}, {after: last, seenAtTs: last ? paged.filter((r) => r.ts === last.ts).length : 0, offset: paged.length, limit: 7})
        paged.push(...page.records)
        if (page.exhausted) break
      }
      expect(paged.map((r) => `${r.okey}#${r.idx}`)).to.deep.equal(whole)
      expect(await session.count({query})).to.equal(total)
      for (let i = 1; i < paged.length; i++) expect(paged[i - 1].ts! >= paged[i].ts!).to.equal(true)
    } finally {
      await session.close()
    }
  })

  it("why-rejected from a scanner's record: the triage verdict, no fix; from the laptop's: the fix", async () => {
    const session = await openSession({home: homeAt(home.dir)})
    try {
      const scanner = DEMO_SCANNERS[0]
      const [rec] = (await session.search({query: `initiator_ip:==${scanner} action:rejected`}, {seenAtTs: 0, offset: 0, limit: 1})).records
      const ctl = new ExploreController({data: session, c, fields: [], pageSize: 10})
      await ctl.start(`initiator_ip:==${scanner} action:rejected`)
      await ctl.idle()
      expect(ctl.state.records[0].row.initiator_ip).to.equal(rec.row.initiator_ip)
      ctl.key({name: 'char', ch: 'w'})
      await ctl.idle()
      const text = ctl.state.pane!.lines!.join('\n')
      expect(text).to.contain(`${scanner} → ${rec.row.target_ip}:${rec.row.target_port}`)
      expect(text).to.match(/triage: scanning · no fix: a scanner/)
      expect(text).to.contain('fix: none proposed')
      const laptop = await session.why({ip: DEMO_LAPTOP_IP, port: 22, protocol: 'tcp', targetIp: DEMO_INSTANCES.vsi1.ip})
      expect(laptop.findings[0].triage.verdict).to.not.equal('scanning')
      expect(laptop.findings[0].fix?.length).to.be.greaterThan(0)
    } finally {
      await session.close()
    }
  })
})
