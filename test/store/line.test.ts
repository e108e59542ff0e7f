/**
 * The index stores each record's line in three parts (src/lib/store/README.md): line = o.prefix || r.rec || o.suffix.
 * That line must be exactly JSON.stringify(flattenRow(header, record, key)) (docs/sinks.md §1.1), the typed columns of
 * a regular row must say exactly what the row says, and `irregular` must be set exactly when the README says.
 */
import {expect} from 'chai'

import {type JsonObject, readObject} from '../../src/lib/records/object.js'
import {flattenRow} from '../../src/lib/records/row.js'
import {ROW_FIELDS} from '../../src/lib/records/schema.js'
import {parseTimestamp} from '../../src/lib/records/time.js'
import {encodeObject} from '../../src/lib/store/encode.js'
import {ceEventKey, makeObject, makeRecord, makeV1Key, SAMPLE, sampleBytes, sampleJson} from '../support/fixtures.js'
import {loadEntries, type Sandbox, sandbox, withReader} from './helpers.js'

interface StoredRow {
  line: string
  okey: string
  idx: number
  irregular: boolean
  ts: number | null
  cols: Record<string, unknown>
}

const COLS = ROW_FIELDS.map((f) => `r."${f.name}" AS "c_${f.name}"`).join(', ')

async function storedRows(homeDir: string): Promise<StoredRow[]> {
  return withReader(homeDir, async (store) => {
    const rows = await store.all(
      `SELECT o.prefix || r.rec || o.suffix AS line, r.okey, r.idx, r.irregular, r.ts, ${COLS}
       FROM records r JOIN objects o ON o.oid = r.oid ORDER BY r.okey, r.idx`,
    )
    return rows.map((r) => {
      const cols: Record<string, unknown> = {}
      for (const f of ROW_FIELDS) cols[f.name] = r[`c_${f.name}`]
      return {line: String(r.line), okey: String(r.okey), idx: Number(r.idx), irregular: Boolean(r.irregular), ts: r.ts as number | null, cols}
    })
  })
}

/** The record time of a flattened row (docs/sinks.md §1.2). */
function expectedTs(row: JsonObject): number | null {
  return parseTimestamp(row.start_time) ?? parseTimestamp(row.connection_start_time) ?? parseTimestamp(row.capture_start_time) ?? null
}

/** What the typed columns of a regular row must hold: the row's value, NULL when absent. */
function expectedCols(row: JsonObject): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of ROW_FIELDS) out[f.name] = Object.hasOwn(row, f.name) ? row[f.name] : null
  return out
}

describe('store: the reconstructed line and typed columns', function () {
  this.timeout(120_000)
  let s: Sandbox
  beforeEach(() => {
    s = sandbox()
  })
  afterEach(() => s.cleanup())

  /**
   * Load one object (raw JSON text, gzipped) at `key`, then check every stored record against the reference:
   * line, record time, and (for regular rows) the typed columns. Returns the stored rows.
   */
  async function roundTrip(text: string, key = makeV1Key()): Promise<StoredRow[]> {
    await loadEntries(s, [{key, body: text}])
    const object = readObject(Buffer.from(text))
    const stored = await storedRows(s.homeDir)
    expect(stored).to.have.length(object.records.length)
    stored.forEach((r, i) => {
      const row = flattenRow(object.header, object.records[i], key)
      expect(r.okey).to.equal(key)
      expect(r.idx).to.equal(i)
      expect(r.line, `line of record ${i}`).to.equal(JSON.stringify(row))
      expect(r.ts, `ts of record ${i}`).to.equal(expectedTs(row))
      if (!r.irregular) expect(r.cols, `typed columns of regular record ${i}`).to.deep.equal(expectedCols(row))
    })
    return stored
  }

  it('normal objects: the real samples (2 and 3 records), regular rows', async () => {
    const two = await roundTrip(sampleBytes(SAMPLE.twoRecords).toString('utf8'), ceEventKey())
    expect(two.map((r) => r.irregular)).to.deep.equal([false, false])
    // Record 1 has start_time "": the row keeps "", the typed column holds "" (not NULL: NULL means absent).
    expect(two[1].cols.start_time).to.equal('')
    expect(two[1].ts).to.equal(1591278190000)
  })

  it('the 3-record sample', async () => {
    const three = await roundTrip(sampleBytes(SAMPLE.threeRecords).toString('utf8'))
    expect(three.map((r) => r.irregular)).to.deep.equal([false, false, false])
  })

  it('an object whose header carries its own `key` (the v0 sample header) keeps the real key last', async () => {
    const header = sampleJson(SAMPLE.emptyV0)
    const doc = {...header, number_of_flow_logs: 1, flow_logs: [makeRecord()]}
    // move `key` after flow_logs, as in the sample, and keep the order
    const text = JSON.stringify(doc)
    const realKey = makeV1Key()
    const [r] = await roundTrip(text, realKey)
    const row = JSON.parse(r.line) as JsonObject
    expect(Object.keys(row).at(-1)).to.equal('key')
    expect(row.key).to.equal(realKey)
    expect(r.line).not.to.contain('ibm_vpc_flowlogs_v0')
    expect(r.irregular).to.equal(false)
    expect(r.cols.key).to.equal(realKey)
  })

  it('a record field colliding with a header field: record value, header position; typed column follows', async () => {
    const doc = makeObject([makeRecord({state: 'skip data', version: '9.9.9'}), makeRecord({target_port: 3000})])
    const stored = await roundTrip(JSON.stringify(doc))
    const row = JSON.parse(stored[0].line) as JsonObject
    expect(Object.keys(row).slice(0, 2)).to.deep.equal(['version', 'collector_crn'])
    expect(row.version).to.equal('9.9.9')
    expect(row.state).to.equal('skip data')
    // Typed columns still describe these rows fully (README): regular, and the state column is the record's.
    expect(stored.map((r) => r.irregular)).to.deep.equal([false, false])
    expect(stored[0].cols.state).to.equal('skip data')
    expect(stored[1].cols.state).to.equal('ok')
  })

  it('a colliding field of the wrong type makes the row irregular', async () => {
    const stored = await roundTrip(JSON.stringify(makeObject([makeRecord({state: 7})])))
    expect(stored[0].irregular).to.equal(true)
  })

  it('a record with its own `key`: replaced by the real key, written last', async () => {
    const key = makeV1Key({sequence: 3})
    const stored = await roundTrip(JSON.stringify(makeObject([makeRecord({key: 'not-the-key', target_port: 1})])), key)
    const row = JSON.parse(stored[0].line) as JsonObject
    expect(row.key).to.equal(key)
    expect(Object.keys(row).at(-1)).to.equal('key')
    expect(stored[0].line).not.to.contain('not-the-key')
    expect(stored[0].irregular).to.equal(false)
  })

  it('an empty record {} is the header plus key; other records of the object are unaffected', async () => {
    const stored = await roundTrip(JSON.stringify(makeObject([{}, makeRecord()])))
    expect(JSON.parse(stored[0].line)).to.have.property('state', 'ok')
    expect(stored.map((r) => r.irregular)).to.deep.equal([false, false])
    // record time of {} falls back to capture_start_time
    expect(stored[0].ts).to.equal(Date.UTC(2026, 0, 15, 10, 0))
  })

  it('an object with no header fields at all', async () => {
    const stored = await roundTrip(JSON.stringify({flow_logs: [makeRecord(), {}]}))
    expect(stored.map((r) => r.irregular)).to.deep.equal([false, false])
    expect(stored[1].line).to.equal(JSON.stringify({key: makeV1Key()}))
    expect(stored[1].ts).to.equal(null)
  })

  it('unknown fields (header and record) are kept in place and make the row irregular', async () => {
    const doc = makeObject([makeRecord({vpc_internal: true, ip_protocol: 'tcp'}), makeRecord()], {header: {new_ibm_field: {a: [1, 2]}}})
    const stored = await roundTrip(JSON.stringify(doc))
    const row = JSON.parse(stored[0].line) as JsonObject
    expect(row.new_ibm_field).to.deep.equal({a: [1, 2]})
    expect(row.vpc_internal).to.equal(true)
    // the header's unknown field makes every row of the object irregular
    expect(stored.map((r) => r.irregular)).to.deep.equal([true, true])
  })

  it('an unknown record field alone makes only that row irregular', async () => {
    const stored = await roundTrip(JSON.stringify(makeObject([makeRecord({vsi_crn: 'x'}), makeRecord()])))
    expect(stored.map((r) => r.irregular)).to.deep.equal([true, false])
  })

  it('strings with quotes, backslashes and control characters: exact line, irregular', async () => {
    const nasty = ['a"b', 'back\\slash', 'tab\there', 'new\nline', 'cr\rx', '\u0000nul', '\u001f', '\\N']
    const doc = makeObject(nasty.map((v, i) => makeRecord({initiator_ip: v, target_port: i})))
    const stored = await roundTrip(JSON.stringify(doc))
    expect(stored.map((r) => r.irregular)).to.deep.equal(nasty.map(() => true))
    stored.forEach((r, i) => expect((JSON.parse(r.line) as JsonObject).initiator_ip).to.equal(nasty[i]))
  })

  it('unicode that JSON does not escape stays regular and typed exactly (é, ✓, emoji, U+2028, spaces)', async () => {
    const fine = ['é', 'naïve ✓', 'emoji 😀', 'ls\u2028ps\u2029', '  padded  ', '', 'comma,brace}{']
    const doc = makeObject(fine.map((v, i) => makeRecord({initiator_ip: v, target_port: i})))
    const stored = await roundTrip(JSON.stringify(doc))
    stored.forEach((r, i) => {
      expect(r.cols.initiator_ip, JSON.stringify(fine[i])).to.equal(fine[i])
    })
    // lone surrogates are escaped by JSON.stringify: irregular
    const lone = await (async () => {
      s.cleanup()
      s = sandbox()
      return roundTrip(JSON.stringify(makeObject([makeRecord({initiator_ip: 'x\ud800y'})])))
    })()
    expect(lone[0].irregular).to.equal(true)
  })

  it('JSON null values (header and record) are kept as null in the line and make rows irregular', async () => {
    const doc = makeObject([makeRecord({bytes_from_target: null}), makeRecord()], {header: {instance_crn: null}})
    const stored = await roundTrip(JSON.stringify(doc))
    expect((JSON.parse(stored[0].line) as JsonObject).bytes_from_target).to.equal(null)
    expect((JSON.parse(stored[1].line) as JsonObject).instance_crn).to.equal(null)
    expect(stored.map((r) => r.irregular)).to.deep.equal([true, true])
  })

  it('values of other JSON types are irregular: numeric strings, floats, unsafe integers, string booleans, arrays', async () => {
    const odd: JsonObject[] = [
      {target_port: '22'},
      {bytes_from_initiator: 1.5},
      // 2^53: unsafe but exact in its text (texts a double would round are refused: test/hostile/limits.test.ts).
      {bytes_from_initiator: 2 ** 53},
      {was_initiated: 'true'},
      {direction: ['I']},
      {transport_protocol: -1},
    ]
    const stored = await roundTrip(JSON.stringify(makeObject(odd.map((o) => makeRecord(o)))))
    expect(stored.map((r) => r.irregular)).to.deep.equal([true, true, true, true, true, false])
    expect(stored[5].cols.transport_protocol).to.equal(-1)
  })

  it('missing numeric fields are NULL in typed columns and absent from the line; the row stays regular', async () => {
    const r = makeRecord()
    delete r.packets_from_initiator
    delete r.cumulative_packets_from_target
    const stored = await roundTrip(JSON.stringify(makeObject([r])))
    expect(stored[0].irregular).to.equal(false)
    expect(stored[0].cols.packets_from_initiator).to.equal(null)
    const row = JSON.parse(stored[0].line) as JsonObject
    expect(Object.hasOwn(row, 'packets_from_initiator')).to.equal(false)
    expect(Object.hasOwn(row, 'cumulative_packets_from_target')).to.equal(false)
  })

  it('record fields in another order than the schema, or with some missing: the line keeps the record order', async () => {
    const r = makeRecord()
    const shuffled: JsonObject = {}
    for (const k of Object.keys(r).reverse()) shuffled[k] = r[k]
    const partial: JsonObject = {action: 'accepted', target_port: 443, start_time: ''}
    const stored = await roundTrip(JSON.stringify(makeObject([shuffled, partial, r])))
    expect(Object.keys(JSON.parse(stored[0].line) as JsonObject).slice(9, 11)).to.deep.equal(['cumulative_packets_from_target', 'cumulative_bytes_from_target'])
    expect(stored.map((x) => x.irregular)).to.deep.equal([false, false, false])
  })

  it('record fields whose names are array indices ("0", "12") keep JavaScript property order in the line', async () => {
    const stored = await roundTrip(JSON.stringify(makeObject([makeRecord({'12': 'x', '0': 1})])))
    expect(stored[0].irregular).to.equal(true)
    expect(Object.keys(JSON.parse(stored[0].line) as JsonObject).slice(0, 2)).to.deep.equal(['0', '12'])
  })

  it('a field named __proto__ (header or record) is an ordinary field, never a prototype', async () => {
    const text =
      '{"version":"0.0.1","__proto__":{"polluted":1},"state":"ok","flow_logs":[' +
      '{"target_port":22,"__proto__":{"x":2}},{"target_port":23}]}'
    const stored = await roundTrip(text)
    const row = JSON.parse(stored[0].line) as JsonObject
    expect(Object.hasOwn(row, '__proto__')).to.equal(true)
    expect(stored[0].line).to.equal(
      `{"version":"0.0.1","__proto__":{"x":2},"state":"ok","target_port":22,"key":${JSON.stringify(makeV1Key())}}`,
    )
    expect(stored[1].line).to.equal(
      `{"version":"0.0.1","__proto__":{"polluted":1},"state":"ok","target_port":23,"key":${JSON.stringify(makeV1Key())}}`,
    )
    expect(stored.map((r) => r.irregular)).to.deep.equal([true, true])
    expect(stored[1].line).not.to.contain('"polluted":1,"state"') // the header field is not lost or moved
  })

  it('encodeObject: composed objects share one prefix/suffix, raw objects carry the whole row in rec', () => {
    const key = makeV1Key()
    const composed = encodeObject(key, 1, readObject(Buffer.from(JSON.stringify(makeObject([makeRecord()])))))
    expect(composed.prefix.startsWith('{"version":"0.0.1",')).to.equal(true)
    expect(composed.suffix).to.equal(`,"key":${JSON.stringify(key)}}`)
    const raw = encodeObject(key, 1, readObject(Buffer.from(JSON.stringify(makeObject([{}])))))
    expect([raw.prefix, raw.suffix]).to.deep.equal(['{', '}'])
  })
})
