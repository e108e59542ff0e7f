/**
 * The duplicate mark of a load (docs/architecture.md §7): after a pull, a records_data row is marked `dup` when
 * another row of the index has its connection key, and meta.dup_below says which rows were checked. top, stats and
 * connections count the unmarked rows as connections of their own, without the merge; these tests hold that fast
 * path to the slow one (every row merged), across an incremental pull that gives an old single its copy, and a load
 * killed before its check.
 */
import {expect} from 'chai'

import {compileQuery, computeStats, topBy} from '../../src/lib/analysis/aggregate.js'
import {listConnections} from '../../src/lib/analysis/connections.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {FolderSource} from '../../src/lib/sources/folder.js'
import {pullObjects} from '../../src/lib/sources/pull.js'
import {openStore, type Store} from '../../src/lib/store/store.js'
import type {Home} from '../../src/lib/config/home.js'
import {homeAt, makeObject, makeRecord, makeV1Key, tempDir, VNIC_ID, writeBucketFolder} from '../support/fixtures.js'

const T0 = Date.UTC(2026, 0, 15, 10, 0)
const VNIC2 = '0727-c9ce1904-48ef-4c94-b41f-51c48ccfbee4'

/** A small PRNG, so the data is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/**
 * Objects of two interfaces over several windows; initiator ports from a small range, so keys repeat: copies at the
 * other interface, later windows of the same 5-tuple, and many keys seen once.
 */
function bucketObjects(seed: number, windows: number[], sequenceBase: number): {key: string; body: JsonObject}[] {
  const next = rng(seed)
  const out: {key: string; body: JsonObject}[] = []
  let seq = sequenceBase
  for (const w of windows) {
    for (const vnic of [VNIC_ID, VNIC2]) {
      const start = T0 + w * 5 * 60_000
      const records: JsonObject[] = []
      for (let i = 0; i < 40; i++) {
        const port = 40_000 + Math.floor(next() * 60)
        records.push(
          makeRecord(
            {
              direction: vnic === VNIC_ID ? 'O' : 'I',
              action: next() < 0.2 ? 'rejected' : 'accepted',
              initiator_ip: '10.240.0.4',
              target_ip: next() < 0.5 ? '10.240.64.4' : '10.240.64.5',
              initiator_port: port,
              target_port: next() < 0.5 ? 22 : 443,
              bytes_from_initiator: Math.floor(next() * 5000),
              bytes_from_target: Math.floor(next() * 5000),
              packets_from_initiator: 3,
              packets_from_target: 4,
            },
            start + Math.floor(next() * 240_000),
          ),
        )
      }
      const end = new Date(start + 5 * 60_000).toISOString().replace('.000Z', 'Z')
      out.push({
        key: makeV1Key({vnic_id: vnic, record_type: vnic === VNIC_ID ? 'egress' : 'ingress', time: start, sequence: ++seq}),
        body: makeObject(records, {start, header: {network_interface_id: vnic, capture_end_time: end}}),
      })
    }
  }
  return out
}

async function pull(home: Home, dir: string): Promise<void> {
  const w = await openStore(home)
  try {
    await pullObjects(new FolderSource(dir), w, {workers: 1})
  } finally {
    await w.close()
  }
}

/** Everything the merge decides, in one value: top, stats and the full connection list. */
async function counted(store: Store): Promise<unknown> {
  const all = compileQuery('').spec
  const rejected = compileQuery('action:rejected').spec
  const list = await listConnections(store, {limit: 0, sort: 'bytes'})
  const page = await listConnections(store, {limit: 7, sort: 'time'})
  return {
    top: await topBy(store, {...rejected, by: 'initiator_port', limit: 0, connections: true}),
    talkers: await topBy(store, {...all, by: 'target_ip', sort: 'bytes', limit: 0, connections: true}),
    stats: await computeStats(store, {...all, intervalMs: 300_000, connections: true}),
    list: list.connections,
    totals: [list.total, list.records, list.merged],
    page: page.connections,
  }
}

describe('store: the duplicate mark of a load (fast path = merge of every row)', function () {
  this.timeout(120_000)
  const cleanups: (() => void)[] = []
  after(() => {
    for (const c of cleanups) c()
  })

  it('marks the rows whose key another row has, also an old single that a later pull gives its copy', async () => {
    const home = tempDir('flowlog-dup-home-')
    const bucket = tempDir('flowlog-dup-bucket-')
    cleanups.push(home.cleanup, bucket.cleanup)
    const h = homeAt(home.dir)
    const single = makeRecord({direction: 'O', action: 'accepted', initiator_ip: '10.240.0.4', target_ip: '10.240.64.4', initiator_port: 51_000, target_port: 3000}, T0 + 60_000)
    const end = (t: number) => new Date(t + 5 * 60_000).toISOString().replace('.000Z', 'Z')
    writeBucketFolder(bucket.dir, [
      {key: makeV1Key({vnic_id: VNIC_ID, record_type: 'egress', time: T0, sequence: 1}), body: makeObject([single], {start: T0, header: {capture_end_time: end(T0)}})},
    ])
    await pull(h, bucket.dir)
    let store = await openStore(h, {readOnly: true})
    try {
      const [row] = await store.all(`SELECT dup, oid < (SELECT CAST(value AS BIGINT) FROM meta WHERE name = 'dup_below') AS checked FROM records_data`)
      expect(row).to.deep.equal({dup: false, checked: true})
    } finally {
      await store.close()
    }
    // Its copy at the target's interface comes with the next pull: both rows are marked, and it is one connection.
    writeBucketFolder(bucket.dir, [
      {
        key: makeV1Key({vnic_id: VNIC2, record_type: 'ingress', time: T0, sequence: 2}),
        body: makeObject([{...single, direction: 'I'}], {start: T0, header: {network_interface_id: VNIC2, capture_end_time: end(T0)}}),
      },
    ])
    await pull(h, bucket.dir)
    store = await openStore(h, {readOnly: true})
    try {
      const rows = await store.all(`SELECT dup, oid < (SELECT CAST(value AS BIGINT) FROM meta WHERE name = 'dup_below') AS checked FROM records_data`)
      expect(rows).to.deep.equal([{dup: true, checked: true}, {dup: true, checked: true}])
      const list = await listConnections(store, {limit: 0})
      expect([list.total, list.records]).to.deep.equal([1, 2])
      expect(list.connections[0].interfaces.map((i) => i.id).sort()).to.deep.equal([VNIC_ID, VNIC2].sort())
    } finally {
      await store.close()
    }
  })

  it('top, stats and connections count the same with the mark as with every row merged (two pulls, then none checked)', async () => {
    const home = tempDir('flowlog-dup-home-')
    const bucket = tempDir('flowlog-dup-bucket-')
    cleanups.push(home.cleanup, bucket.cleanup)
    const h = homeAt(home.dir)
    writeBucketFolder(bucket.dir, bucketObjects(7, [0, 1, 2], 0))
    await pull(h, bucket.dir)
    // The second pull's windows touch and overlap the first's: its keys meet old rows.
    writeBucketFolder(bucket.dir, bucketObjects(8, [2, 3], 100))
    await pull(h, bucket.dir)
    let store = await openStore(h, {readOnly: true})
    let fast: unknown
    try {
      const [marks] = await store.all(`SELECT count(*) FILTER (WHERE dup) AS dup, count(*) FILTER (WHERE NOT dup) AS single FROM records_data`)
      // The data has both kinds, else the comparison below would not test the fast path.
      expect(Number(marks.dup)).to.be.greaterThan(20)
      expect(Number(marks.single)).to.be.greaterThan(20)
      // records_dup holds exactly the marked rows, whole.
      const [diff] = await store.all(
        `SELECT (SELECT count(*) FROM (SELECT * FROM records_data WHERE dup EXCEPT ALL SELECT * FROM records_dup)) AS missing, ` +
          `(SELECT count(*) FROM (SELECT * FROM records_dup EXCEPT ALL SELECT * FROM records_data WHERE dup)) AS extra`,
      )
      expect(diff).to.deep.equal({missing: 0, extra: 0})
      fast = await counted(store)
    } finally {
      await store.close()
    }
    // A load killed before its check leaves rows above the mark: they (here: all) go through the merge.
    const w = await openStore(h)
    try {
      await w.run(`DELETE FROM meta WHERE name = 'dup_below'`)
    } finally {
      await w.close()
    }
    store = await openStore(h, {readOnly: true})
    try {
      const slow = await counted(store)
      expect(slow).to.deep.equal(fast)
      const stats = (slow as {stats: {merged: number}}).stats
      expect(stats.merged).to.be.greaterThan(0)
    } finally {
      await store.close()
    }
    // The next load checks what was left and sets the mark again.
    await pull(h, bucket.dir)
    store = await openStore(h, {readOnly: true})
    try {
      const [m] = await store.all(`SELECT value FROM meta WHERE name = 'dup_below'`)
      expect(m).to.not.equal(undefined)
      expect(await counted(store)).to.deep.equal(fast)
    } finally {
      await store.close()
    }
  })
})
