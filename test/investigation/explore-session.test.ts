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
import {followInSession, openSession} from '../../src/lib/ui/explore/session.js'
import {FolderSource} from '../../src/lib/sources/folder.js'
import {runCli, tempHome} from '../support/cli.js'
import {homeAt, makeObject, makeRecord, makeV1Key, writeBucketFile} from '../support/fixtures.js'
import {generateDataset, loadDataset} from './helpers.js'

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

describe('explore --follow: rounds pull into the session index, new matches go on top', function () {
  this.timeout(120_000)

  it('new objects in the source appear at the top of the current view, the selection kept, the index opened once', async () => {
    const loaded = await loadDataset(generateDataset({objects: 3, perObject: 5, seed: 4}))
    const original = Store.open
    let opens = 0
    Store.open = (async (...args: Parameters<typeof Store.open>) => {
      opens++
      return original.apply(Store, args)
    }) as typeof Store.open
    try {
      const session = await openSession({home: loaded.home, write: true})
      const ctl = new ExploreController({data: session, c, fields: [], pageSize: 5})
      try {
        await ctl.start('target_port:==3389')
        await ctl.idle()
        const before = ctl.state.records.length
        ctl.key({name: 'down'})
        const selected = ctl.state.records[ctl.state.selected]
        const now = Date.now()
        const w = Math.floor(now / 300_000) * 300_000
        await followInSession({
          session,
          source: new FolderSource(loaded.bucket),
          intervalMs: 1000,
          signal: new AbortController().signal,
          maxRounds: 1,
          sleep: async () => {
            const recs = [makeRecord({initiator_ip: '203.0.113.7', target_port: 3389}, now - 30_000), makeRecord({initiator_ip: '203.0.113.8', target_port: 22}, now - 20_000)]
            writeBucketFile(loaded.bucket, {key: makeV1Key({time: w, sequence: 1001, stream_id: 'follow'}), body: makeObject(recs, {start: w})})
          },
          onRecords: (records, info) => ctl.live(records, `${info.newRecords} new`),
        })
        await ctl.idle()
        // Only the 3389 record matches the view; it is the newest, on top.
        expect(ctl.state.records).to.have.length(before + 1)
        expect(ctl.state.records[0].row.initiator_ip).to.equal('203.0.113.7')
        expect(ctl.state.records[ctl.state.selected]).to.equal(selected)
        expect(ctl.state.status).to.equal('2 new')
        // A query after the round sees the pulled records too (same open index).
        expect((await session.search({query: 'initiator_ip:==203.0.113.8'}, {seenAtTs: 0, offset: 0, limit: 5})).records).to.have.length(1)
      } finally {
        await session.close()
      }
      expect(opens).to.equal(1)
    } finally {
      Store.open = original
      loaded.cleanup()
    }
  })
})
