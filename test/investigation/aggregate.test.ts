import {expect} from 'chai'

import {bucketsOverTime, chooseInterval, compileQuery, computeStats, groupBy, matchTimes, replayPresenceAlert, sortGroups, topBy} from '../../src/lib/analysis/aggregate.js'
import {parseQuery, toPredicate} from '../../src/lib/query/index.js'
import {openStore, type Store} from '../../src/lib/store/store.js'
import {type Dataset, generateDataset, independentTop, loadDataset, type LoadedHome} from './helpers.js'

describe('investigation: aggregations (top, stats) match an independent count', function () {
  this.timeout(120_000)
  let data: Dataset
  let loaded: LoadedHome
  let store: Store

  before(async () => {
    data = generateDataset({objects: 30, perObject: 40, seed: 11, irregularShare: 0.2})
    loaded = await loadDataset(data)
    store = await openStore(loaded.home, {readOnly: true})
  })

  after(async () => {
    await store?.close()
    loaded?.cleanup()
  })

  it('the data really mixes regular and irregular rows', async () => {
    const [row] = await store.all(`SELECT count(*) FILTER (WHERE irregular) AS irr, count(*) AS n FROM records`)
    expect(Number(row.n)).to.equal(data.rows.length)
    expect(Number(row.irr)).to.be.greaterThan(20)
    expect(Number(row.irr)).to.be.lessThan(Number(row.n))
  })

  const cases: {query: string; by: string}[] = [
    {query: 'action:rejected', by: 'initiator_ip'},
    {query: 'action:rejected', by: 'target_port'},
    {query: '', by: 'initiator_ip'},
    {query: '', by: 'target_port'},
    {query: '-target_port:67 -target_port:53', by: 'target_ip'},
    {query: 'initiator_ip:10.240.0.0/16', by: 'target_port'},
    {query: '', by: 'action'},
    {query: '', by: 'tcp_flags'}, // only irregular rows have it
    {query: 'action:accepted', by: 'note'},
  ]

  for (const c of cases) {
    it(`top --by ${c.by} --query '${c.query}': every value's flows and bytes, and the order`, async () => {
      const compiled = compileQuery(c.query)
      const predicate = toPredicate(parseQuery(c.query).ast)
      const expected = independentTop(data.rows, c.by, (row, key, idx) => predicate(row, key, idx))
      const got = await topBy(store, {...compiled.spec, by: c.by, limit: 0})
      expect(got.rows).to.deep.equal(expected.rows)
      expect(got.missing).to.equal(expected.missing)
      expect(got.records).to.equal(expected.rows.reduce((s, r) => s + r.flows, 0) + expected.missing)
    })
  }

  it('--limit keeps the first N in order; ties are broken by the value, ascending', async () => {
    const compiled = compileQuery('action:rejected')
    const all = await topBy(store, {...compiled.spec, by: 'target_port', limit: 0})
    const five = await topBy(store, {...compiled.spec, by: 'target_port', limit: 5})
    expect(five.rows).to.deep.equal(all.rows.slice(0, 5))
    expect(five.groups).to.equal(all.groups)
    expect(
      sortGroups([
        {value: 'b', flows: 2, bytes: 1},
        {value: 22, flows: 2, bytes: 9},
        {value: 'a', flows: 2, bytes: 5},
        {value: 3, flows: 2, bytes: 0},
        {value: 'z', flows: 3, bytes: 0},
      ]).map((r) => r.value),
    ).to.deep.equal(['z', 3, 22, 'a', 'b'])
  })

  it('keeps values in their JSON type: the number 22 and the string "22" are separate rows', async () => {
    const got = await topBy(store, {by: 'target_port', limit: 0})
    const values = got.rows.map((r) => r.value)
    expect(values).to.include(22)
    expect(values.some((v) => typeof v === 'string')).to.equal(true)
    expect(values.filter((v) => typeof v === 'number').length).to.be.greaterThan(3)
  })

  it('a time window counts only the records inside it, as search does', async () => {
    const since = Date.UTC(2026, 0, 15, 10, 30)
    const until = Date.UTC(2026, 0, 15, 11, 30)
    const compiled = compileQuery('action:rejected')
    const predicate = toPredicate(parseQuery('action:rejected').ast)
    const inside = data.rows.filter((r) => r.ts !== undefined && r.ts >= since && r.ts < until)
    expect(inside.length).to.be.lessThan(data.rows.length)
    const expected = independentTop(inside, 'initiator_ip', (row, key, idx) => predicate(row, key, idx))
    const got = await topBy(store, {...compiled.spec, window: {since, until}, by: 'initiator_ip', limit: 0})
    expect(got.rows).to.deep.equal(expected.rows)
  })

  it('groupBy with an action filter and bytes order (stats top lists)', async () => {
    const [bytes, rejectedPorts] = await groupBy(store, {}, [
      {field: 'initiator_ip', sort: 'bytes', limit: 0},
      {field: 'target_port', action: 'rejected', limit: 0},
    ])
    const byBytes = independentTop(data.rows, 'initiator_ip', () => true).rows.sort((a, b) => b.bytes - a.bytes || b.flows - a.flows)
    expect(bytes.rows.map((r) => [r.value, r.bytes])).to.deep.equal(byBytes.map((r) => [r.value, r.bytes]))
    const exact = independentTop(data.rows, 'target_port', (row) => row.action === 'rejected')
    expect(rejectedPorts.rows).to.deep.equal(exact.rows)
  })

  it('buckets accepted and rejected per interval exactly, empty buckets filled in', async () => {
    const interval = 10 * 60_000
    const got = await bucketsOverTime(store, {intervalMs: interval})
    const expected = new Map<number, {accepted: number; rejected: number}>()
    let untimed = 0
    for (const r of data.rows) {
      if (r.ts === undefined) {
        untimed++
        continue
      }
      const b = Math.floor(r.ts / interval) * interval
      const e = expected.get(b) ?? {accepted: 0, rejected: 0}
      if (r.row.action === 'accepted') e.accepted++
      if (r.row.action === 'rejected') e.rejected++
      expected.set(b, e)
    }
    expect(got.untimed).to.equal(untimed)
    const starts = [...expected.keys()].sort((a, b) => a - b)
    expect(got.buckets[0].start).to.equal(starts[0])
    expect(got.buckets.at(-1)!.start).to.equal(starts.at(-1))
    expect(got.buckets.length).to.equal((starts.at(-1)! - starts[0]) / interval + 1)
    for (const b of got.buckets) {
      const e = expected.get(b.start) ?? {accepted: 0, rejected: 0}
      expect({start: b.start, accepted: b.accepted, rejected: b.rejected}).to.deep.equal({start: b.start, ...e})
    }
    expect(got.totals.records).to.equal(data.rows.length)
    expect(got.totals.accepted + got.totals.rejected + got.totals.other).to.equal(data.rows.length)
  })

  it('with a window, buckets cover the whole window', async () => {
    const since = Date.UTC(2026, 0, 15, 9, 0)
    const until = Date.UTC(2026, 0, 15, 13, 0)
    const got = await bucketsOverTime(store, {intervalMs: 3_600_000, window: {since, until}})
    expect(got.buckets.map((b) => b.start)).to.deep.equal([0, 1, 2, 3].map((i) => since + i * 3_600_000))
    expect(got.buckets[0].accepted + got.buckets[0].rejected).to.equal(0)
  })

  it('refuses an interval that would make too many buckets', async () => {
    let error: unknown
    try {
      await bucketsOverTime(store, {intervalMs: 1000, maxBuckets: 100})
    } catch (e) {
      error = e
    }
    expect((error as {exitCode?: number})?.exitCode).to.equal(2)
  })

  it('chooses a wider round interval for long spans', () => {
    expect(chooseInterval({min: 0, max: 2 * 3_600_000}, 300_000, 288)).to.equal(300_000)
    expect(chooseInterval({min: 0, max: 7 * 86_400_000}, 300_000, 288)).to.equal(3_600_000)
    expect(chooseInterval({min: 0, max: 30 * 86_400_000}, 300_000, 288)).to.equal(3 * 3_600_000)
  })

  it('computeStats: the JSON numbers agree with the parts', async () => {
    const stats = await computeStats(store, {intervalMs: 15 * 60_000, top: 3})
    expect(stats.interval_ms).to.equal(15 * 60_000)
    expect(stats.buckets.reduce((s, b) => s + b.accepted, 0) + stats.buckets.reduce((s, b) => s + b.rejected, 0)).to.equal(
      data.rows.filter((r) => r.ts !== undefined && (r.row.action === 'accepted' || r.row.action === 'rejected')).length,
    )
    expect(stats.top_rejected_sources).to.deep.equal(independentTop(data.rows, 'initiator_ip', (row) => row.action === 'rejected').rows.slice(0, 3))
    expect(stats.top_rejected_ports).to.have.length(3)
    expect(stats.buckets[0].start).to.match(/^2026-01-15T\d\d:\d\d:00Z$/)
  })

  it('matchTimes gives every matching record time', async () => {
    const predicate = toPredicate(parseQuery('target_port:22').ast)
    const {times} = await matchTimes(store, compileQuery('target_port:22').spec)
    const expected = data.rows.filter((r) => predicate(r.row, r.key, r.idx) && r.ts !== undefined).map((r) => r.ts!).sort((a, b) => a - b)
    expect(times).to.deep.equal(expected)
  })

  it('replays a presence alert on the last hour, else on the newest hour of data', async () => {
    const q = 'action:rejected target_port:22'
    const predicate = toPredicate(parseQuery(q).ast)
    const matches = data.rows.filter((r) => r.ts !== undefined && predicate(r.row, r.key, r.idx)).map((r) => r.ts!)
    const fires = (times: number[], interval: number, limit: number) => {
      const counts = new Map<number, number>()
      for (const t of times) counts.set(Math.floor(t / interval), (counts.get(Math.floor(t / interval)) ?? 0) + 1)
      return [...counts.values()].filter((n) => n >= limit).length
    }
    const now = Date.UTC(2026, 0, 15, 11, 0)
    const inHour = matches.filter((t) => t >= now - 3_600_000 && t < now)
    const last = await replayPresenceAlert(store, compileQuery(q).spec, {intervalMs: 300_000, limit: 2, now})
    expect(last).to.deep.equal({basis: 'last-hour', window_start: '2026-01-15T10:00:00Z', window_end: '2026-01-15T11:00:00Z', matches: inHour.length, fires: fires(inHour, 300_000, 2)})
    expect(last.fires).to.be.greaterThan(0)
    const newest = Math.max(...data.rows.filter((r) => r.ts !== undefined).map((r) => r.ts!))
    const late = await replayPresenceAlert(store, compileQuery(q).spec, {intervalMs: 30_000, limit: 1, now: Date.UTC(2027, 0, 1)})
    const lastHourOfData = matches.filter((t) => t > newest - 3_600_000)
    expect(late).to.deep.include({basis: 'latest-data', matches: lastHourOfData.length, fires: fires(lastHourOfData, 30_000, 1)})
  })

  it('rejects a --by that is not a field name', async () => {
    let error: unknown
    try {
      await topBy(store, {by: 'a b'})
    } catch (e) {
      error = e
    }
    expect((error as {exitCode?: number})?.exitCode).to.equal(2)
  })
})
