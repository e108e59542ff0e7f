/**
 * The merge rule of connections.ts (docs/connections.md): records of one connection at two interfaces of the VPC
 * (same 5-tuple and action, overlapping capture windows) are one connection; records that do not overlap, or differ
 * in action, or lack a key field, stay apart. Objects are written like a bucket and pulled into a throwaway index.
 */
import {expect} from 'chai'

import {compileQuery, computeStats, topBy} from '../../src/lib/analysis/aggregate.js'
import {type Connection, listConnections, parseConnectionSort} from '../../src/lib/analysis/connections.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {FolderSource} from '../../src/lib/sources/folder.js'
import {pullObjects} from '../../src/lib/sources/pull.js'
import {openStore, type Store} from '../../src/lib/store/store.js'
import {homeAt, makeObject, makeRecord, makeV1Key, tempDir, VNIC_ID, writeBucketFolder} from '../support/fixtures.js'
import {sharedParsePool} from '../support/pool.js'

const T = (h: number, m: number, s = 0) => Date.UTC(2026, 0, 15, h, m, s)
const VSI1 = '10.240.0.4'
const VSI2 = '10.240.64.4'
const VNIC2 = '0727-c9ce1904-48ef-4c94-b41f-51c48ccfbee4'

/** vsi1 → vsi2:3000 from `port`: egress at vsi1 (direction O), ingress at vsi2 (I). */
function call(port: number, start: number, over: JsonObject = {}): JsonObject {
  return makeRecord({direction: 'O', action: 'accepted', initiator_ip: VSI1, target_ip: VSI2, initiator_port: port, target_port: 3000, bytes_from_initiator: 500, packets_from_initiator: 5, bytes_from_target: 2000, packets_from_target: 6, ...over}, start)
}
const atVsi2 = (r: JsonObject, over: JsonObject = {}): JsonObject => ({...r, direction: 'I', ...over})

interface Obj {
  vnic: 'vsi1' | 'vsi2'
  /** Capture window start; the window is `minutes` long. */
  start: number
  minutes?: number
  records: JsonObject[]
}

function objects(list: Obj[]): {key: string; body: JsonObject}[] {
  return list.map((o, i) => {
    const vnic = o.vnic === 'vsi1' ? VNIC_ID : VNIC2
    const doc = makeObject(o.records, {start: o.start, header: {network_interface_id: vnic, capture_end_time: new Date(o.start + (o.minutes ?? 5) * 60_000).toISOString().replace('.000Z', 'Z')}})
    return {key: makeV1Key({vnic_id: vnic, record_type: o.vnic === 'vsi1' ? 'egress' : 'ingress', time: o.start, sequence: i + 1}), body: doc}
  })
}

describe('connections: the merge rule (same 5-tuple and action, overlapping windows)', function () {
  this.timeout(120_000)
  let store: Store
  const cleanups: (() => void)[] = []

  before(async () => {
    const home = tempDir('flowlog-conn-home-')
    const bucket = tempDir('flowlog-conn-bucket-')
    cleanups.push(home.cleanup, bucket.cleanup)
    const a1 = call(40001, T(10, 1))
    const b1 = call(40002, T(10, 1))
    const c1 = call(40003, T(10, 3))
    const d1 = call(40004, T(10, 1))
    const e1 = call(40005, T(10, 1))
    delete e1.initiator_port
    const f1 = call(40006, T(10, 1))
    const g1 = call(40007, T(10, 1))
    const h1 = call(40008, T(10, 4))
    writeBucketFolder(
      bucket.dir,
      objects([
        // vsi1's egress 10:00–10:05.
        {vnic: 'vsi1', start: T(10, 0), records: [a1, b1, c1, d1, e1, f1, g1, h1]},
        // vsi2's ingress 10:02–10:07 (windows of two interfaces are not aligned): the other copies, minutes later.
        {
          vnic: 'vsi2',
          start: T(10, 2),
          records: [
            atVsi2(a1, {start_time: '2026-01-15T10:04:00Z', end_time: '2026-01-15T10:04:10Z', connection_start_time: '2026-01-15T10:04:00Z', bytes_from_initiator: 480, packets_from_initiator: 4}),
            atVsi2(d1, {action: 'rejected', bytes_from_target: 0, packets_from_target: 0}),
            atVsi2(e1),
            atVsi2(f1, {tcp_flags: 18}), // an unknown field: an irregular row, merged all the same
            atVsi2(g1),
          ],
        },
        // vsi1's next window 10:05–10:10, touching the first: c continues (not initiated here), h is a new one.
        {vnic: 'vsi1', start: T(10, 5), records: [call(40003, T(10, 6), {was_initiated: false}), call(40008, T(10, 6), {was_initiated: true})]},
        // vsi2 10:06–10:11: overlaps vsi2's 10:02 window, not vsi1's 10:00 one; g chains through it.
        {vnic: 'vsi2', start: T(10, 6), records: [atVsi2(call(40007, T(10, 8)))]},
        // vsi2 10:20–10:25: the same 5-tuple as b, long after: another connection.
        {vnic: 'vsi2', start: T(10, 20), records: [atVsi2(call(40002, T(10, 21)))]},
      ]).map((o) => ({key: o.key, body: o.body})),
    )
    const h = homeAt(home.dir)
    const w = await openStore(h)
    try {
      await pullObjects(new FolderSource(bucket.dir), w, {pool: sharedParsePool()})
    } finally {
      await w.close()
    }
    store = await openStore(h, {readOnly: true})
  })

  after(async () => {
    await store?.close()
    for (const c of cleanups) c()
  })

  const list = async (query: string): Promise<Connection[]> => {
    const compiled = compileQuery(query)
    const r = await listConnections(store, {...compiled.spec, limit: 0, sort: 'time', ascending: true})
    expect(r.merged).to.equal(r.records - r.total)
    expect(r.connections.length).to.equal(r.total)
    return r.connections
  }

  it('two copies at two interfaces, windows overlapping, start times minutes apart: one connection', async () => {
    const [c, ...rest] = await list('initiator_port:40001')
    expect(rest).to.have.length(0)
    expect(c).to.include({initiator_ip: VSI1, initiator_port: 40001, target_ip: VSI2, target_port: 3000, transport_protocol: 6, action: 'accepted', records: 2})
    expect(c.interfaces).to.deep.equal([
      {id: VNIC_ID, ip: VSI1, records: 1},
      {id: VNIC2, ip: VSI2, records: 1},
    ])
    expect(c.first_time).to.equal('2026-01-15T10:01:00Z')
    expect(c.last_time).to.equal('2026-01-15T10:04:10Z')
    // Each direction: the larger interface's total (vsi2 missed a packet), not the sum of both copies.
    expect(c).to.include({bytes_from_initiator: 500, packets_from_initiator: 5, bytes_from_target: 2000, packets_from_target: 6})
  })

  it('the same 5-tuple in windows that do not overlap stays two connections', async () => {
    const got = await list('initiator_port:40002')
    expect(got.map((c) => [c.records, c.interfaces.map((i) => i.id)])).to.deep.equal([
      [1, [VNIC_ID]],
      [1, [VNIC2]],
    ])
  })

  it('touching windows at one interface: continued when not initiated there, a new connection when initiated', async () => {
    const c = await list('initiator_port:40003')
    expect(c).to.have.length(1)
    expect(c[0]).to.include({records: 2, bytes_from_initiator: 1000})
    expect(c[0].interfaces).to.deep.equal([{id: VNIC_ID, ip: VSI1, records: 2}])
    expect((await list('initiator_port:40008')).map((x) => x.records)).to.deep.equal([1, 1])
  })

  it('accepted at one interface and rejected at the other: two rows, each naming its interface', async () => {
    const got = await list('initiator_port:40004')
    expect(got.map((c) => [c.action, c.interfaces.map((i) => i.id)])).to.have.deep.members([
      ['accepted', [VNIC_ID]],
      ['rejected', [VNIC2]],
    ])
  })

  it('a record without a key field (initiator_port) is a connection of its own', async () => {
    const got = await list('target_port:3000 -initiator_port:*')
    expect(got).to.have.length(2)
    expect(got.every((c) => c.records === 1 && c.initiator_port === null)).to.equal(true)
  })

  it('an irregular row (an unknown field) merges with its regular copy', async () => {
    const c = await list('initiator_port:40006')
    expect(c).to.have.length(1)
    expect(c[0].records).to.equal(2)
    expect(c[0].interfaces.map((i) => i.id)).to.deep.equal([VNIC_ID, VNIC2])
  })

  it('overlap chains: A overlaps B, B overlaps C, A and C do not: one connection', async () => {
    const c = await list('initiator_port:40007')
    expect(c).to.have.length(1)
    expect(c[0].records).to.equal(3)
  })

  it('top counts connections (a value seen at two interfaces once), --raw (no connections option) records', async () => {
    const spec = compileQuery('target_port:3000').spec
    const merged = await topBy(store, {...spec, by: 'initiator_port', limit: 0, connections: true})
    const raw = await topBy(store, {...spec, by: 'initiator_port', limit: 0})
    const flows = (r: typeof raw, port: number) => r.rows.find((x) => x.value === port)?.flows
    expect([flows(merged, 40001), flows(raw, 40001)]).to.deep.equal([1, 2])
    expect([flows(merged, 40002), flows(raw, 40002)]).to.deep.equal([2, 2])
    expect([flows(merged, 40007), flows(raw, 40007)]).to.deep.equal([1, 3])
    // Bytes of a merged connection are counted once: 500 + 2000, not twice that.
    expect(merged.rows.find((x) => x.value === 40001)?.bytes).to.equal(2500)
    expect(raw.merged).to.equal(0)
    expect(merged.records + merged.merged).to.equal(raw.records)
    // 40001, 40003, 40006 merge 1 each, 40007 merges 2; the rows without initiator_port are missing, once each.
    expect(merged.merged).to.equal(5)
    expect(merged.missing).to.equal(2)
  })

  it('stats counts connections in the bucket of their first record, by action', async () => {
    const spec = compileQuery('target_port:3000').spec
    const merged = await computeStats(store, {...spec, intervalMs: 3_600_000, connections: true})
    const raw = await computeStats(store, {...spec, intervalMs: 3_600_000})
    expect(raw.merged).to.equal(0)
    expect(raw.totals.records).to.equal(17)
    expect(merged.totals.records).to.equal(12)
    expect(merged.merged).to.equal(5)
    expect(merged.totals).to.include({accepted: 11, rejected: 1})
    expect(merged.buckets.reduce((s, b) => s + b.accepted + b.rejected, 0)).to.equal(12)
  })

  it('--sort: time, bytes, packets or records, :asc or :desc; anything else is a usage error', () => {
    expect(parseConnectionSort('bytes')).to.deep.equal({sort: 'bytes', ascending: false})
    expect(parseConnectionSort('time:asc')).to.deep.equal({sort: 'time', ascending: true})
    expect(() => parseConnectionSort('size')).to.throw(/expected time, bytes, packets or records/)
  })
})
