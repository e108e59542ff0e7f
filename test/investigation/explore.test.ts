/**
 * explore's logic without a terminal: pivots, the query line (history, completion), and the state machine driven by
 * keys through the controller over a fake index (state.ts, controller.ts). The real app in a pseudo-terminal is in
 * explore-pty.test.ts; the session over a real index in explore-session.test.ts.
 */
import {expect} from 'chai'
import {Chalk} from 'chalk'

import type {GroupResult} from '../../src/lib/analysis/aggregate.js'
import type {WhyRejectedResult} from '../../src/lib/analysis/why-rejected.js'
import {ExploreController} from '../../src/lib/ui/explore/controller.js'
import * as L from '../../src/lib/ui/explore/line.js'
import {around, type ExploreRecord, filterIn, filterOut, pivotItems, sameConnection, type View, whyRejectedArgs, whyRejectedQuestion} from '../../src/lib/ui/explore/pivots.js'
import type {ExploreData} from '../../src/lib/ui/explore/session.js'
import {detailFields, type Key} from '../../src/lib/ui/explore/state.js'
import {queryLines, PROMPT} from '../../src/lib/ui/explore/view.js'
import {makeRecord} from '../support/fixtures.js'

const c = new Chalk({level: 0})
const T = Date.UTC(2026, 0, 15, 10, 0)

function rec(i: number, fields: Record<string, unknown> = {}): ExploreRecord {
  return {row: makeRecord({initiator_ip: `192.0.2.${i % 250}`, target_ip: '10.240.0.4', target_port: 22, action: 'rejected', ...fields} as never, T + i * 1000), ts: T + i * 1000, okey: 'k', idx: i}
}

/** A fake index: `n` records newest first, queries recorded, the match of a view decided by a tiny matcher. */
function fakeData(n: number): ExploreData & {calls: {view: View; after?: ExploreRecord; limit: number}[]; counts: number} {
  const all = Array.from({length: n}, (_, i) => rec(n - i)) // newest first
  const matches = (view: View, r: ExploreRecord) => {
    if (view.window && (r.ts! < (view.window.since ?? -Infinity) || r.ts! >= (view.window.until ?? Infinity))) return false
    const m = /initiator_ip:==(\S+)/.exec(view.query)
    const not = /-initiator_ip:==(\S+)/.exec(view.query)
    if (not) return r.row.initiator_ip !== not[1]
    return m ? r.row.initiator_ip === m[1] : true
  }
  const data = {
    calls: [] as {view: View; after?: ExploreRecord; limit: number}[],
    counts: 0,
    async search(view: View, page: {after?: ExploreRecord; seenAtTs: number; offset: number; limit: number}) {
      data.calls.push({view, after: page.after, limit: page.limit})
      const list = all.filter((r) => matches(view, r))
      const from = page.after ? list.indexOf(page.after) + 1 : 0
      const records = list.slice(from, from + page.limit)
      return {records, exhausted: records.length < page.limit, warnings: []}
    },
    async count(view: View) {
      data.counts++
      return all.filter((r) => matches(view, r)).length
    },
    async top(view: View, field: string): Promise<GroupResult> {
      return {by: field, rows: [{value: '192.0.2.7', flows: 3, bytes: 100}], missing: 0, records: 3, groups: 1, merged: 0}
    },
    async why(): Promise<WhyRejectedResult> {
      throw new Error('no VPC configuration in this test')
    },
    filter: (view: View, records: ExploreRecord[]) => records.filter((r) => matches(view, r)),
    async close() {},
  }
  return data
}

const K = (name: string): Key => (name.length === 1 ? {name: 'char', ch: name} : ({name} as Key))

async function press(ctl: ExploreController, ...keys: (string | Key)[]): Promise<void> {
  for (const k of keys) {
    if (typeof k === 'string' && k.length > 1 && !['up', 'down', 'left', 'right', 'pageup', 'pagedown', 'home', 'end', 'enter', 'escape', 'tab', 'backspace', 'delete'].includes(k)) {
      ctl.key({name: 'char', ch: k})
    } else ctl.key(typeof k === 'string' ? K(k) : k)
    await ctl.idle()
  }
}

describe('explore: pivots', () => {
  const r = rec(3, {initiator_port: 51234, transport_protocol: 6})

  it('filter in / out add an exact clause to the query (a missing value: existence)', () => {
    expect(filterIn({query: 'action:rejected'}, 'initiator_ip', '192.0.2.3').query).to.equal('action:rejected initiator_ip:==192.0.2.3')
    expect(filterIn({query: ''}, 'target_port', 22).query).to.equal('target_port:==22')
    expect(filterIn({query: '*'}, 'state', 'skip data').query).to.equal('state:=="skip data"')
    expect(filterOut({query: 'a'}, 'target_port', 67).query).to.equal('a -target_port:==67')
    expect(filterIn({query: ''}, 'x', null).query).to.equal('-x:*')
    expect(filterOut({query: ''}, 'x', undefined).query).to.equal('x:*')
    // The window of the view is kept.
    expect(filterIn({query: '', window: {since: 1, until: 2}}, 'a', 'b').window).to.deep.equal({since: 1, until: 2})
  })

  it('same connection is the 5-tuple; ± 5 minutes is a window around the record', () => {
    expect(sameConnection(r.row)?.query).to.equal('initiator_ip:==192.0.2.3 initiator_port:==51234 target_ip:==10.240.0.4 target_port:==22 transport_protocol:==6')
    const w = around(r)!
    expect(w.query).to.equal('')
    expect(w.window).to.deep.equal({since: r.ts! - 300_000, until: r.ts! + 300_001})
    expect(around({ts: null})).to.equal(undefined)
  })

  it('why-rejected asks about the other end: the initiator inbound, the target outbound; only for rejected records', () => {
    expect(whyRejectedQuestion(r.row)).to.deep.equal({ip: '192.0.2.3', port: 22, protocol: 'tcp', targetIp: '10.240.0.4'})
    const out = makeRecord({direction: 'O', initiator_ip: '10.0.0.1', target_ip: '161.26.0.6', target_port: 123, transport_protocol: 17, action: 'rejected'})
    expect(whyRejectedArgs(whyRejectedQuestion(out)!)).to.deep.equal(['--ip', '161.26.0.6', '--port', '123', '--protocol', 'udp', '--target-ip', '10.0.0.1'])
    expect(whyRejectedQuestion(makeRecord({action: 'accepted'}))).to.equal(undefined)
    const items = pivotItems(rec(1, {action: 'accepted'}), 'target_port', {query: ''})
    expect(items.map((i) => i.key)).to.deep.equal(['+', '-', 'c', 't', 'w', 's'])
    expect(items.find((i) => i.key === 'w')).to.include({unavailable: 'only for rejected records'})
  })
})

describe('explore: the query line', () => {
  it('Up/Down walk the history and come back to the draft', () => {
    let s = L.lineState('', ['b', 'a'])
    s = L.insert(s, 'dra')
    s = L.historyUp(s)
    expect(s.text).to.equal('b')
    s = L.historyUp(s)
    expect(s.text).to.equal('a')
    expect(L.historyUp(s).text).to.equal('a')
    s = L.historyDown(L.historyDown(s))
    expect(s.text).to.equal('dra')
    expect(L.remember(['a', 'b'], 'b')).to.deep.equal(['b', 'a'])
  })

  it('Tab completes field names, not values; several candidates: common prefix, then cycling', () => {
    const fields = ['initiator_ip', 'initiator_port', 'target_ip', 'action']
    let {line, candidates} = L.complete(L.lineState('act'), fields)
    expect(line.text).to.equal('action:')
    ;({line} = L.complete(L.lineState('x -tar'), fields))
    expect(line.text).to.equal('x -target_ip:')
    ;({line, candidates} = L.complete(L.lineState('ini'), fields))
    expect(line.text).to.equal('initiator_')
    expect(candidates).to.deep.equal(['initiator_ip', 'initiator_port'])
    ;({line} = L.complete(line, fields))
    ;({line} = L.complete(line, fields))
    expect(line.text).to.equal('initiator_ip:')
    ;({line} = L.complete(line, fields))
    expect(line.text).to.equal('initiator_port:')
    // After `field:` it is a value.
    expect(L.complete(L.lineState('action:ac'), fields).line.text).to.equal('action:ac')
  })
})

describe('explore: the state machine', () => {
  it('query → results (newest first) → move → filter in → Esc back (as it was) → q quits 0', async () => {
    const data = fakeData(30)
    const ctl = new ExploreController({data, c, fields: ['initiator_ip'], pageSize: 5, chunk: 10})
    await ctl.start()
    expect(ctl.state.focus).to.equal('query')
    await press(ctl, 'action:rejected', 'enter')
    expect(ctl.state.records.map((r) => r.idx).slice(0, 3)).to.deep.equal([30, 29, 28])
    expect(ctl.state.total).to.equal(30) // counted after the page
    await press(ctl, 'down', 'down')
    expect(ctl.state.selected).to.equal(2)
    // Into the detail pane, onto initiator_ip, filter in.
    await press(ctl, 'enter')
    const f = detailFields(ctl.state.records[2]).indexOf('initiator_ip')
    for (let i = ctl.state.field; i < f; i++) await press(ctl, 'down')
    await press(ctl, '+')
    expect(ctl.state.view.query).to.equal('action:rejected initiator_ip:==192.0.2.28')
    expect(ctl.state.records.map((r) => r.row.initiator_ip)).to.deep.equal(['192.0.2.28'])
    expect(ctl.state.line.text).to.equal('action:rejected initiator_ip:==192.0.2.28')
    await press(ctl, 'escape')
    expect(ctl.state.view.query).to.equal('action:rejected')
    expect(ctl.state.selected).to.equal(2)
    expect(ctl.state.records).to.have.length(10)
    // Nothing further back: Esc stays.
    await press(ctl, 'escape')
    expect(ctl.state.view.query).to.equal('action:rejected')
    await press(ctl, 'q')
    expect(await ctl.quitted).to.equal(0)
  })

  it('PgDn pages on, asking for the records after the last one shown', async () => {
    const data = fakeData(30)
    const ctl = new ExploreController({data, c, fields: [], pageSize: 5, chunk: 10})
    await ctl.start('')
    await press(ctl, 'pagedown')
    expect(data.calls).to.have.length(2)
    expect(data.calls[1].after?.idx).to.equal(21)
    expect(ctl.state.records).to.have.length(20)
    await press(ctl, 'pagedown', 'pagedown', 'pagedown', 'pagedown', 'pagedown')
    expect(ctl.state.records.map((r) => r.idx)).to.deep.equal(Array.from({length: 30}, (_, i) => 30 - i))
    expect(ctl.state.selected).to.equal(29)
    expect(ctl.state.exhausted).to.equal(true)
  })

  it('a syntax error keeps the typed query, the caret under the column', async () => {
    const data = fakeData(3)
    const ctl = new ExploreController({data, c, fields: [], pageSize: 5})
    await ctl.start()
    await press(ctl, 'target_port:(22 action', 'enter')
    expect(data.calls).to.have.length(0)
    expect(ctl.state.focus).to.equal('query')
    expect(ctl.state.line.text).to.equal('target_port:(22 action')
    const {query, under} = queryLines(ctl.state, 100, c)
    expect(query).to.equal(`${PROMPT}target_port:(22 action`)
    expect(ctl.state.line.cursor).to.equal('target_port:'.length)
    expect(under.indexOf('^')).to.equal(PROMPT.length + 'target_port:'.length)
    // Fixed in place and run.
    await press(ctl, 'end', ')', 'enter')
    expect(data.calls[0].view.query).to.equal('target_port:(22 action)')
    // Up on the line: the history, the newest first.
    await press(ctl, '/', {name: 'char', ch: 'u', ctrl: true}, 'up')
    expect(ctl.state.line.text).to.equal('target_port:(22 action)')
  })

  it('live records go on top; the selected record stays selected', async () => {
    const data = fakeData(10)
    const ctl = new ExploreController({data, c, fields: [], pageSize: 5})
    await ctl.start('')
    await press(ctl, 'down')
    const selected = ctl.state.records[1]
    ctl.live([rec(11), rec(12, {initiator_ip: '198.51.100.1'})])
    expect(ctl.state.records[0].idx).to.equal(12)
    expect(ctl.state.records[ctl.state.selected]).to.equal(selected)
    expect(ctl.state.total).to.equal(12)
  })

  it('top of a field, Enter on a value filters in; a failed why-rejected says why; ? then any key; Ctrl-C is 130', async () => {
    const data = fakeData(5)
    const ctl = new ExploreController({data, c, fields: [], pageSize: 5})
    await ctl.start('')
    await press(ctl, 'tab')
    const f = detailFields(ctl.state.records[0]).indexOf('initiator_ip')
    for (let i = 0; i < f; i++) await press(ctl, 'down')
    await press(ctl, 's')
    expect(ctl.state.pane?.lines?.join('\n')).to.match(/192\.0\.2\.7\s+3/)
    await press(ctl, 'enter')
    expect(ctl.state.view.query).to.equal('initiator_ip:==192.0.2.7')
    await press(ctl, 'escape', 'w')
    expect(ctl.state.pane?.error).to.equal('no VPC configuration in this test')
    await press(ctl, 'escape', '?')
    expect(ctl.state.help).to.equal(true)
    await press(ctl, 'x')
    expect(ctl.state.help).to.equal(false)
    await press(ctl, {name: 'char', ch: 'c', ctrl: true})
    expect(await ctl.quitted).to.equal(130)
  })
})
