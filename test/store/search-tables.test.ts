/**
 * Records live in two tables (README.md): canonical rows in records_data, the others (objects the scanner declines,
 * raw rows, irregular rows) in records_odd. A search must see both, in one order, with exact lines: searchRecords,
 * copyLines (DuckDB writing NDJSON itself) and countMatches against an independent evaluation of every row.
 */
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {JsonObject} from '../../src/lib/records/object.js'
import {flattenRow} from '../../src/lib/records/row.js'
import {parseTimestamp} from '../../src/lib/records/time.js'
import {compileSearch} from '../../src/lib/store/query-search.js'
import {copyLines, countMatches, searchRecords, type SearchSpec} from '../../src/lib/store/search.js'
import {homeAt, makeObject, makeRecords, makeV1Key} from '../support/fixtures.js'
import {openStore} from '../../src/lib/store/store.js'
import {loadEntries, type Sandbox, sandbox, withReader} from './helpers.js'

interface Expected {
  line: string
  ts: number | null
  okey: string
  idx: number
}

describe('store: searching canonical and odd rows together', function () {
  this.timeout(120_000)
  let s: Sandbox
  const objects: {key: string; doc: JsonObject; body: string}[] = []
  before(async () => {
    s = sandbox()
    const start = Date.UTC(2026, 0, 15, 10, 0)
    const key = (i: number) => makeV1Key({sequence: i + 1, time: start})
    // Compact (canonical rows, records_data).
    const compact = makeObject(makeRecords(20, start, 1))
    objects.push({key: key(0), doc: compact, body: JSON.stringify(compact)})
    // Pretty-printed: the scanner declines it, its regular rows go to records_odd.
    const pretty = makeObject(makeRecords(20, start + 1000, 2))
    objects.push({key: key(1), doc: pretty, body: JSON.stringify(pretty, null, 2)})
    // Raw rows (a record field named like a header field) and irregular ones (unknown field, null, escapes).
    const odd = makeObject([
      ...makeRecords(5, start + 2000, 3),
      {...makeRecords(1, start + 3000, 4)[0], state: 'skip data'},
      {...makeRecords(1, start + 4000, 5)[0], extra: {a: 1}},
      {...makeRecords(1, start + 5000, 6)[0], target_port: null},
      {...makeRecords(1, start + 6000, 7)[0], action: 'rej"ected'},
    ])
    objects.push({key: key(2), doc: odd, body: JSON.stringify(odd)})
    await loadEntries(s, objects.map((o) => ({key: o.key, body: o.body})))
  })
  after(() => s?.cleanup())

  /** Every row, evaluated on its own: the flattened row, its line and time, whether the query selects it. */
  function expected(query: string): Expected[] {
    const {spec} = compileSearch(query)
    const out: Expected[] = []
    for (const o of objects) {
      const records = o.doc.flow_logs as JsonObject[]
      const header = {...o.doc}
      delete header.flow_logs
      records.forEach((r, idx) => {
        const row = flattenRow(header, r, o.key)
        if (spec.predicate && !spec.predicate(row, o.key, idx)) return
        const ts = parseTimestamp(row.start_time) ?? parseTimestamp(row.connection_start_time) ?? parseTimestamp(row.capture_start_time) ?? null
        out.push({line: JSON.stringify(row), ts, okey: o.key, idx})
      })
    }
    // Record time, then key and index (the search's tie-break).
    return out.sort((a, b) => (a.ts ?? Infinity) - (b.ts ?? Infinity) || (a.okey < b.okey ? -1 : a.okey > b.okey ? 1 : 0) || a.idx - b.idx)
  }

  it('the rows are spread over both tables', async () => {
    await withReader(s.homeDir, async (store) => {
      const [d] = await store.all(`SELECT count(*) AS n FROM records_data`)
      const [x] = await store.all(`SELECT count(*) AS n, count(*) FILTER (WHERE irregular) AS irregular FROM records_odd`)
      expect(Number(d.n)).to.equal(20)
      expect(Number(x.n)).to.equal(29)
      expect(Number(x.irregular)).to.be.greaterThan(0)
    })
  })

  for (const query of ['action:rejected', 'target_port:(22 OR 3000)', '-target_port:443', '198.51', 'state:"skip data"', 'extra:*', 'rejected OR target_port:443']) {
    it(`${query}: searchRecords, copyLines and countMatches give exactly the independent evaluation`, async () => {
      const want = expected(query)
      expect(want.length, 'the query selects something').to.be.greaterThan(0)
      await withReader(s.homeDir, async (store) => {
        const {spec: compiled} = compileSearch(query)
        const spec: SearchSpec = {...compiled, hasIrregular: (await store.totals()).irregular > 0}
        const got: Expected[] = []
        for await (const m of searchRecords(store, spec)) got.push({line: m.line, ts: m.ts, okey: m.okey, idx: m.idx})
        expect(got).to.deep.equal(want)
        expect(await countMatches(store, spec)).to.equal(want.length)
        // With no irregular row selected, DuckDB writes the NDJSON itself; otherwise copyLines declines (undefined).
        const target = join(s.root, `copy-${want.length}-${query.length}.ndjson`)
        const n = await copyLines(store, spec, target)
        if (n !== undefined) {
          expect(n).to.equal(want.length)
          expect(readFileSync(target, 'utf8').split('\n').filter(Boolean)).to.deep.equal(want.map((w) => w.line))
        } else expect(want.some((w) => objects[2].key === w.okey && w.idx >= 6)).to.equal(true)
      })
    })
  }

  it('a limit and another sort order cut and order across both tables', async () => {
    const want = expected('action:rejected')
    await withReader(s.homeDir, async (store) => {
      const {spec: compiled} = compileSearch('action:rejected')
      const spec: SearchSpec = {...compiled, limit: 7, sort: {field: 'time', desc: true}, hasIrregular: true}
      const got: string[] = []
      for await (const m of searchRecords(store, spec)) got.push(m.line)
      const byTimeDesc = [...want].sort((a, b) => (b.ts ?? -Infinity) - (a.ts ?? -Infinity) || (a.okey < b.okey ? -1 : a.okey > b.okey ? 1 : 0) || a.idx - b.idx)
      expect(got).to.deep.equal(byTimeDesc.slice(0, 7).map((w) => w.line))
    })
  })

  it('the pull stores each object\'s rank in key order; with ranks missing (a pull under way) the order is the same', async () => {
    const order = async () =>
      withReader(s.homeDir, async (store) => {
        const {spec: compiled} = compileSearch('')
        const got: string[] = []
        for await (const m of searchRecords(store, {...compiled, hasIrregular: true})) got.push(`${m.okey}#${m.idx}`)
        const ranks = await store.all(`SELECT DISTINCT okey, krank FROM records ORDER BY okey`)
        return {got, ranks: ranks.map((r) => r.krank)}
      })
    const stored = await order()
    const keys = [...new Set(objects.map((o) => o.key))].sort()
    expect(stored.ranks).to.deep.equal(keys.map((_k, i) => i + 1))
    const w = await openStore(homeAt(s.homeDir))
    try {
      await w.run(`UPDATE objects SET krank = NULL WHERE key = ?`, [keys[0]])
    } finally {
      await w.close()
    }
    try {
      expect(await order()).to.deep.equal(stored)
    } finally {
      const again = await openStore(homeAt(s.homeDir))
      try {
        await again.rankObjects()
      } finally {
        await again.close()
      }
    }
  })

  // A small limit takes the time-cutoff path (search.ts timeCutoff: the page looked for in a growing stretch of time):
  // the page must be exactly the first rows of the full order, in both directions, and copyLines the same lines.
  for (const query of ['action:rejected', '-target_port:443', '198.51', '']) {
    for (const desc of [false, true]) {
      it(`first pages of '${query}' (time ${desc ? 'desc' : 'asc'}, limits 1..5) are the first rows of the full order`, async () => {
        const all = expected(query)
        const want = desc
          ? [...all].sort((a, b) => (b.ts ?? -Infinity) - (a.ts ?? -Infinity) || (a.okey < b.okey ? -1 : a.okey > b.okey ? 1 : 0) || a.idx - b.idx)
          : all
        await withReader(s.homeDir, async (store) => {
          const {spec: compiled} = compileSearch(query)
          for (const limit of [1, 2, 3, 5]) {
            const spec: SearchSpec = {...compiled, limit, sort: {field: 'time', desc}, hasIrregular: true}
            const got: string[] = []
            for await (const m of searchRecords(store, spec)) got.push(m.line)
            expect(got, `limit ${limit}`).to.deep.equal(want.slice(0, limit).map((w) => w.line))
            const target = join(s.root, `page-${limit}-${desc}-${query.length}.ndjson`)
            const n = await copyLines(store, spec, target)
            if (n !== undefined) expect(readFileSync(target, 'utf8').split('\n').filter(Boolean), `copyLines limit ${limit}`).to.deep.equal(want.slice(0, limit).map((w) => w.line))
          }
        })
      })
    }
  }
})
