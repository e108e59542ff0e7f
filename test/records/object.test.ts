/**
 * The object reader (docs/flow-log-format.md §3, §4): every real sample, gzip sniffing, and a clear per-object error for
 * every kind of bad input.
 */
import {expect} from 'chai'
import {gzipSync} from 'node:zlib'

import {FlowlogError} from '../../src/lib/errors.js'
import {decodeObjectBytes, type JsonObject, ObjectFormatError, readObject, recordTime} from '../../src/lib/records/object.js'
import {flattenObject, flattenRow} from '../../src/lib/records/row.js'
import {ceEventKey, gzip, makeObject, makeRecord, SAMPLE, sampleBytes, sampleJson} from '../support/fixtures.js'

function expectFormatError(bytes: Uint8Array, reason: RegExp): ObjectFormatError {
  let caught: unknown
  try {
    readObject(bytes)
  } catch (error) {
    caught = error
  }
  expect(caught, 'readObject should throw').to.be.instanceOf(ObjectFormatError)
  const e = caught as ObjectFormatError
  expect(e).to.be.instanceOf(FlowlogError)
  expect(e.code).to.equal('object_format')
  expect(e.message).to.match(reason)
  return e
}

describe('records/object: reading real samples', () => {
  it('object-2records-empty-times: 2 records although number_of_flow_logs says 1 (warned, not fatal)', () => {
    const o = readObject(sampleBytes(SAMPLE.twoRecords))
    expect(o.records).to.have.length(2)
    expect(o.countMismatch).to.deep.equal({declared: 1, actual: 2})
    expect(o.warnings.some((w) => /number_of_flow_logs is 1 but flow_logs has 2 records/.test(w))).to.equal(true)
    expect(o.state).to.equal('ok')
    expect(o.header.state).to.equal('ok') // raw value kept
    expect(o.header).not.to.have.property('flow_logs')
    expect(o.header.number_of_flow_logs).to.equal(1)
  })

  it('object-2records-empty-times: record 1 has empty times; its time is connection_start_time (Q1)', () => {
    const o = readObject(sampleBytes(SAMPLE.twoRecords))
    const key = ceEventKey()
    const row1 = flattenRow(o.header, o.records[1], key)
    expect(row1.start_time).to.equal('') // passed through unchanged
    expect(row1.end_time).to.equal('')
    expect(recordTime(row1)).to.equal(1591278190000)
    expect(recordTime(flattenRow(o.header, o.records[0], key))).to.equal(Date.parse('2020-06-04T13:43:10Z'))
    // Both are separate records even though they are identical apart from the times.
    expect(flattenObject(o, key)).to.have.length(2)
  })

  it('record time falls back to capture_start_time, and is undefined when nothing parses', () => {
    const o = readObject(sampleBytes(SAMPLE.twoRecords))
    const rec = {...o.records[1], connection_start_time: ''}
    expect(recordTime(flattenRow(o.header, rec, 'k'))).to.equal(Date.parse('2020-06-04T13:42:39Z'))
    expect(recordTime(flattenRow(o.header, {...rec, start_time: 'garbage', connection_start_time: 'x'}, 'k'))).to.equal(
      Date.parse('2020-06-04T13:42:39Z'),
    )
    expect(recordTime({start_time: '', capture_start_time: 'not a time'})).to.equal(undefined)
  })

  it('object-empty-with-v0-key: no records, no lines; its embedded key kept in the header', () => {
    const o = readObject(sampleBytes(SAMPLE.emptyV0))
    const embedded = sampleJson<{key: string}>(SAMPLE.emptyV0).key
    expect(o.records).to.deep.equal([])
    expect(o.countMismatch).to.equal(undefined)
    expect(o.warnings).to.deep.equal([])
    expect(o.header.key).to.equal(embedded)
    expect(Object.keys(o.header).at(-1)).to.equal('key')
    expect(flattenObject(o, 'real/key.gz')).to.deep.equal([])
  })

  it('object-empty-with-v0-key: in a flattened row the real key replaces the embedded one and comes last', () => {
    const o = readObject(sampleBytes(SAMPLE.emptyV0))
    const row = flattenRow(o.header, makeRecord(), 'ibm_vpc_flowlogs_v1/real.gz')
    const keys = Object.keys(row)
    expect(keys.at(-1)).to.equal('key')
    expect(keys.filter((k) => k === 'key')).to.have.length(1)
    expect(row.key).to.equal('ibm_vpc_flowlogs_v1/real.gz')
    expect(keys.slice(0, 9)).to.deep.equal([
      'version', 'collector_crn', 'attached_endpoint_type', 'network_interface_id', 'instance_crn', 'vpc_crn',
      'capture_start_time', 'capture_end_time', 'state',
    ])
  })

  it('object-3records-weak-provenance: the clean case, 3 records, no warnings', () => {
    const o = readObject(sampleBytes(SAMPLE.threeRecords))
    expect(o.records).to.have.length(3)
    expect(o.countMismatch).to.equal(undefined)
    expect(o.warnings).to.deep.equal([])
    expect(o.state).to.equal('ok')
    expect(o.records[2]).to.include({initiator_ip: '0.0.0.0', target_ip: '255.255.255.255', bytes_from_target: 0})
    expect(o.records.map((r) => r.direction)).to.deep.equal(['O', 'O', 'O'])
  })
})

describe('records/object: gzip sniffing (§3.1)', () => {
  const plain = sampleBytes(SAMPLE.twoRecords)
  const expected = readObject(plain)

  it('the same bytes gzipped read the same', () => {
    expect(readObject(gzipSync(plain))).to.deep.equal(expected)
  })

  it('a multi-member gzip (two members whose concatenation is the JSON)', () => {
    const cut = Math.floor(plain.length / 3)
    const twoMembers = Buffer.concat([gzipSync(plain.subarray(0, cut)), gzipSync(plain.subarray(cut))])
    expect(readObject(twoMembers)).to.deep.equal(expected)
    const threeMembers = Buffer.concat([gzipSync(plain.subarray(0, 5)), gzipSync(Buffer.alloc(0)), gzipSync(plain.subarray(5))])
    expect(readObject(threeMembers)).to.deep.equal(expected)
  })

  it('plain JSON under a .gz name (the pretty-printed v0 sample) is read without gunzip', () => {
    const o = readObject(sampleBytes(SAMPLE.emptyV0))
    expect(o.header.version).to.equal('0.0.1')
  })

  it('plain JSON with leading whitespace', () => {
    expect(readObject(Buffer.concat([Buffer.from(' \n\r\t\n  '), plain]))).to.deep.equal(expected)
  })

  it('plain JSON with a UTF-8 byte order mark, alone or before whitespace', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    expect(readObject(Buffer.concat([bom, plain]))).to.deep.equal(expected)
    expect(readObject(Buffer.concat([bom, Buffer.from('\n  '), plain]))).to.deep.equal(expected)
    expect(readObject(gzipSync(Buffer.concat([bom, plain])))).to.deep.equal(expected)
  })

  it('a Uint8Array view into a larger buffer is decoded from its own bytes only', () => {
    const big = Buffer.concat([Buffer.from('xxxx'), plain, Buffer.from('yyyy')])
    const view = new Uint8Array(big.buffer, big.byteOffset + 4, plain.length)
    expect(readObject(view)).to.deep.equal(expected)
  })

  it('the decoder is chosen by the bytes, never by the name: a gzip body that is JSON text after gunzip', () => {
    expect(decodeObjectBytes(gzip('{"flow_logs":[]}'))).to.equal('{"flow_logs":[]}')
  })
})

describe('records/object: bad inputs give ObjectFormatError with a useful reason', () => {
  const good = sampleBytes(SAMPLE.threeRecords)

  it('random bytes', () => {
    // fixed "random" bytes (a PNG-like header and noise), neither gzip magic nor JSON
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x13, 0xf7, 0x00, 0x42, 0x9c, 0xde, 0x01, 0x7b])
    expectFormatError(bytes, /not a flow-log object.*neither gzip nor JSON/)
  })

  it('an empty body', () => {
    expectFormatError(Buffer.alloc(0), /not a flow-log object/)
    expectFormatError(Buffer.from('   \n'), /not a flow-log object/)
  })

  it('truncated gzip', () => {
    const gz = gzipSync(good)
    expectFormatError(gz.subarray(0, Math.floor(gz.length / 2)), /corrupt gzip: .*(unexpected end|end of file)/i)
    expectFormatError(gz.subarray(0, 2), /corrupt gzip/)
  })

  it('gzip whose payload is damaged', () => {
    const gz = Buffer.from(gzipSync(good))
    gz[gz.length - 6] ^= 0xff // CRC/size trailer
    expectFormatError(gz, /corrupt gzip/)
  })

  it('gzip of non-JSON', () => {
    expectFormatError(gzipSync('hello, this is not json'), /invalid JSON/)
  })

  it('invalid JSON (the docs-example style: trailing comma, truncated)', () => {
    expectFormatError(Buffer.from('{"version":"0.0.1","flow_logs":[],}'), /invalid JSON/)
    expectFormatError(good.subarray(0, 200), /invalid JSON/)
  })

  it('a JSON array, plain and gzipped', () => {
    expectFormatError(Buffer.from('[{"flow_logs":[]}]'), /not a flow-log object/)
    expectFormatError(gzipSync('[{"flow_logs":[]}]'), /not a flow-log object: the JSON document is not an object/)
    expectFormatError(gzipSync('"just a string"'), /not a flow-log object/)
    expectFormatError(gzipSync('null'), /not a flow-log object/)
  })

  it('an object without flow_logs', () => {
    expectFormatError(Buffer.from('{"version":"0.0.1","state":"ok"}'), /no flow_logs/)
  })

  it('flow_logs that is not an array', () => {
    expectFormatError(Buffer.from('{"flow_logs":{"0":{}}}'), /flow_logs is not an array/)
    expectFormatError(Buffer.from('{"flow_logs":null}'), /flow_logs is not an array/)
    expectFormatError(Buffer.from('{"flow_logs":"[]"}'), /flow_logs is not an array/)
  })

  it('a flow_logs element that is not an object names its index', () => {
    expectFormatError(Buffer.from(JSON.stringify({flow_logs: [makeRecord(), 42]})), /flow_logs\[1\] is not an object/)
    expectFormatError(Buffer.from(JSON.stringify({flow_logs: [null]})), /flow_logs\[0\] is not an object/)
    expectFormatError(Buffer.from(JSON.stringify({flow_logs: [makeRecord(), makeRecord(), [1]]})), /flow_logs\[2\] is not an object/)
  })

  it('the error is a per-object error (exit 1), not a usage or config error', () => {
    const e = expectFormatError(Buffer.from('nope'), /not a flow-log object/)
    expect(e.exitCode).to.equal(1)
  })
})

describe('records/object: state, counters and unknown fields (§4)', () => {
  const withState = (state: unknown) => Buffer.from(JSON.stringify(makeObject([makeRecord()], {header: {state: state as string}})))

  it('"skip data" (any case) is reported: counts are lower bounds', () => {
    for (const s of ['skip data', 'SKIP DATA', 'Skip Data']) {
      const o = readObject(withState(s))
      expect(o.state, s).to.equal('skip data')
      expect(o.header.state).to.equal(s) // the raw value is kept for forwarded lines
      expect(o.warnings.join('\n')).to.match(/skip data.*lower bounds/)
    }
  })

  it('OK / ok are normal, without warnings', () => {
    for (const s of ['OK', 'ok', 'Ok']) {
      const o = readObject(withState(s))
      expect(o.state).to.equal('ok')
      expect(o.warnings).to.deep.equal([])
    }
  })

  it('an unknown state (any other value, also non-strings) is reported with its value; a missing state is not fatal', () => {
    const o = readObject(withState('degraded'))
    expect(o.state).to.equal('unknown')
    expect(o.warnings.join('\n')).to.contain('unknown state "degraded"')
    const doc = makeObject([makeRecord()])
    delete doc.state
    expect(readObject(Buffer.from(JSON.stringify(doc))).state).to.equal('missing')
    for (const odd of [3, null, {}]) {
      const x = readObject(withState(odd))
      expect(x.records).to.have.length(1)
      expect(x.state, JSON.stringify(odd)).to.equal('unknown')
      expect(x.warnings).to.deep.equal([`unknown state ${JSON.stringify(odd)}`])
    }
  })

  it('number_of_flow_logs "0" (a string) with records: records are read, the mismatch is counted (Q2)', () => {
    const o = readObject(Buffer.from(JSON.stringify(makeObject([makeRecord(), makeRecord()], {header: {number_of_flow_logs: '0'}}))))
    expect(o.records).to.have.length(2)
    expect(o.countMismatch).to.deep.equal({declared: '0', actual: 2})
  })

  it('number_of_flow_logs as a matching string, or absent, is no mismatch', () => {
    expect(readObject(Buffer.from(JSON.stringify(makeObject([makeRecord()], {header: {number_of_flow_logs: '1'}})))).countMismatch).to.equal(undefined)
    const doc = makeObject([makeRecord()])
    delete doc.number_of_flow_logs
    const o = readObject(Buffer.from(JSON.stringify(doc)))
    expect(o.countMismatch).to.equal(undefined)
    expect(o.warnings).to.deep.equal([])
  })

  it('missing counters are tolerated and stay missing (Q10)', () => {
    const r = makeRecord()
    for (const k of ['packets_from_initiator', 'packets_from_target', 'cumulative_packets_from_initiator', 'bytes_from_target']) delete r[k]
    const o = readObject(gzip(makeObject([r])))
    expect(o.records[0]).not.to.have.property('packets_from_initiator')
    const row = flattenRow(o.header, o.records[0], 'k')
    expect(row).not.to.have.property('bytes_from_target')
    expect(row.bytes_from_initiator).to.equal(180)
  })

  it('unknown extra fields are kept, in place, in header and records (Q11)', () => {
    const doc = makeObject([makeRecord({vpc_internal: false, ip_protocol: 'tcp', vsi_crn: 'crn:x'})], {header: {new_field: {nested: [1, null]}}})
    const o = readObject(gzip(doc))
    expect(o.header.new_field).to.deep.equal({nested: [1, null]})
    expect(o.records[0]).to.include({vpc_internal: false, ip_protocol: 'tcp', vsi_crn: 'crn:x'})
    const keys = Object.keys(flattenRow(o.header, o.records[0], 'k'))
    expect(keys.indexOf('new_field')).to.be.lessThan(keys.indexOf('start_time'))
    expect(keys.slice(-4)).to.deep.equal(['vpc_internal', 'ip_protocol', 'vsi_crn', 'key'])
  })

  it('a header field named __proto__ stays an ordinary own field and pollutes nothing', () => {
    const o = readObject(Buffer.from('{"version":"0.0.1","__proto__":{"polluted":true},"flow_logs":[{"a":1}]}'))
    expect(Object.keys(o.header)).to.deep.equal(['version', '__proto__'])
    expect(Object.getPrototypeOf(o.header)).to.equal(Object.prototype)
    const row = flattenRow(o.header, o.records[0], 'k') as JsonObject
    expect(JSON.stringify(row)).to.equal('{"version":"0.0.1","__proto__":{"polluted":true},"a":1,"key":"k"}')
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined)
  })
})
