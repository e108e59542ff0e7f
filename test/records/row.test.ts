/** The flattened row, its line, record_id and the envelope (docs/sinks.md §1). */
import {expect} from 'chai'
import {readFileSync} from 'node:fs'

import {buildEnvelope, envelopeLevel} from '../../src/lib/records/envelope.js'
import {type JsonObject, readObject} from '../../src/lib/records/object.js'
import {flattenObject, flattenRow, recordId, rowLine} from '../../src/lib/records/row.js'
import {ceEventKey, makeObject, makeRecord, SAMPLE, sampleBytes} from '../support/fixtures.js'

const HEADER_ORDER = [
  'version', 'collector_crn', 'attached_endpoint_type', 'network_interface_id', 'instance_crn', 'vpc_crn',
  'capture_start_time', 'capture_end_time', 'state',
]

describe('records/row: the flattened row', () => {
  it('header fields first (without flow_logs and number_of_flow_logs), then record fields, key last', () => {
    const o = readObject(sampleBytes(SAMPLE.threeRecords))
    const row = flattenRow(o.header, o.records[0], 'K')
    const keys = Object.keys(row)
    expect(keys.slice(0, 9)).to.deep.equal(HEADER_ORDER)
    expect(keys.slice(9, -1)).to.deep.equal(Object.keys(o.records[0]))
    expect(keys.at(-1)).to.equal('key')
    expect(keys).not.to.include('flow_logs')
    expect(keys).not.to.include('number_of_flow_logs')
    expect(row.key).to.equal('K')
  })

  it('is exactly the flattened row of docs/sinks.md §1.1 for record 1 of object-2records-empty-times', () => {
    const o = readObject(sampleBytes(SAMPLE.twoRecords))
    const key = 'ibm_vpc_flowlogs_v1/account=713c783d9a507a53135fe6793c37cc74/…/00000000.gz'
    const expected =
      '{"version":"0.0.1","collector_crn":"crn:v1:bluemix:public:is:us-south:a/713c783d9a507a53135fe6793c37cc74::flow-log-collector:r006-7fdc00bc-e7ff-4de2-b040-da5b024f298c","attached_endpoint_type":"vnic","network_interface_id":"0717-83c09614-8ba2-4911-bada-66cb04f004f5","instance_crn":"crn:v1:bluemix:public:is:us-south-1:a/713c783d9a507a53135fe6793c37cc74::instance:0717_2c984e95-b391-4a09-8e92-80feada442a3","vpc_crn":"crn:v1:bluemix:public:is:us-south:a/713c783d9a507a53135fe6793c37cc74::vpc:r006-fc3e66f3-2a98-4bd2-800a-1b4a971f3b78","capture_start_time":"2020-06-04T13:42:39Z","capture_end_time":"2020-06-04T13:45:57Z","state":"ok","start_time":"","end_time":"","connection_start_time":"2020-06-04T13:43:10Z","direction":"O","action":"accepted","initiator_ip":"10.240.0.5","target_ip":"10.240.0.1","initiator_port":68,"target_port":67,"transport_protocol":17,"ether_type":"IPv4","was_initiated":true,"was_terminated":false,"bytes_from_initiator":1358,"packets_from_initiator":4,"bytes_from_target":1280,"packets_from_target":4,"cumulative_bytes_from_initiator":1358,"cumulative_packets_from_initiator":4,"cumulative_bytes_from_target":1280,"cumulative_packets_from_target":4,"key":"ibm_vpc_flowlogs_v1/account=713c783d9a507a53135fe6793c37cc74/…/00000000.gz"}'
    expect(rowLine(flattenRow(o.header, o.records[1], key))).to.equal(expected)
    // The reference shows this very line.
    expect(readFileSync(new URL('../../docs/sinks.md', import.meta.url), 'utf8')).to.include(expected)
  })

  it('a record field with a header field name: the record value wins, at the header position', () => {
    const header = makeObject([]) as JsonObject
    delete header.flow_logs
    const row = flattenRow(header, makeRecord({state: 'skip data', capture_start_time: '2026-01-15T10:02:00Z', extra: 1}), 'K')
    const keys = Object.keys(row)
    expect(keys.slice(0, 9)).to.deep.equal(HEADER_ORDER)
    expect(row.state).to.equal('skip data')
    expect(row.capture_start_time).to.equal('2026-01-15T10:02:00Z')
    expect(keys.slice(-2)).to.deep.equal(['extra', 'key'])
  })

  it('`key` in the header or in the record is replaced by the real key, written once and last', () => {
    const row1 = flattenRow({key: 'old', version: '1'}, {a: 1}, 'REAL')
    expect(rowLine(row1)).to.equal('{"version":"1","a":1,"key":"REAL"}')
    const row2 = flattenRow({version: '1'}, {key: 'rec', a: 1}, 'REAL')
    expect(rowLine(row2)).to.equal('{"version":"1","a":1,"key":"REAL"}')
    const row3 = flattenRow({key: 'old'}, {key: 'rec'}, 'REAL')
    expect(rowLine(row3)).to.equal('{"key":"REAL"}')
  })

  it('values pass through unchanged: direction, empty strings, nulls, unknown nested values', () => {
    const rec = {direction: 'inbound', start_time: '', vpc_internal: null, nested: {a: [1, 'x']}}
    const row = flattenRow({}, rec, 'K')
    expect(row).to.deep.equal({...rec, key: 'K'})
  })

  it('does not modify the header or the record it was given', () => {
    const header: JsonObject = {version: '1', key: 'old', number_of_flow_logs: 2}
    const rec: JsonObject = {key: 'r', state: 'x'}
    flattenRow(header, rec, 'K')
    expect(header).to.deep.equal({version: '1', key: 'old', number_of_flow_logs: 2})
    expect(rec).to.deep.equal({key: 'r', state: 'x'})
  })

  it('the line is compact JSON (no spaces after , or :)', () => {
    const line = rowLine(flattenRow({version: '0.0.1'}, {target_port: 22, action: 'rejected'}, 'a b'))
    expect(line).to.equal('{"version":"0.0.1","target_port":22,"action":"rejected","key":"a b"}')
  })

  it('an object with an empty flow_logs produces no rows', () => {
    expect(flattenObject(readObject(sampleBytes(SAMPLE.emptyV0)), 'K')).to.deep.equal([])
  })
})

describe('records/row: record_id (docs/sinks.md §1.2)', () => {
  it('test vectors for the ce-data key', () => {
    const key = ceEventKey()
    expect(recordId(key, 0)).to.equal('5f0798c4533b8db1b7c4dd20a8c14de9')
    expect(recordId(key, 1)).to.equal('cfbe616ec260a1d2eab85260ba5a9b14')
  })

  it('is 32 lowercase hex characters and depends on the raw key (not the decoded one) and the index', () => {
    const key = ceEventKey()
    const id = recordId(key, 2)
    expect(id).to.match(/^[0-9a-f]{32}$/)
    expect(recordId(decodeURIComponent(key), 0)).not.to.equal('5f0798c4533b8db1b7c4dd20a8c14de9')
    expect(new Set([0, 1, 2, 3].map((i) => recordId(key, i))).size).to.equal(4)
  })

  it('hashes UTF-8 bytes (vector computed independently with Python hashlib)', () => {
    expect(recordId('é', 0)).to.equal('cd0092b97ef48de1798215731c375be2')
    expect(recordId('é', 0)).not.to.equal('4292c1753709c0f3549a0429b53f8c97') // the Latin-1 hash
  })
})

describe('records/envelope (docs/sinks.md §1.2, docs/query-language.md §11 D17)', () => {
  const key = ceEventKey()

  it('defaults: host flowlog, app vpc-flowlogs, level INFO, no tags, meta.record_id', () => {
    expect(buildEnvelope({action: 'rejected'}, key, 1)).to.deep.equal({
      host: 'flowlog',
      app: 'vpc-flowlogs',
      level: 'INFO',
      tags: [],
      meta: {record_id: 'cfbe616ec260a1d2eab85260ba5a9b14'},
    })
  })

  it('level by action: WARN for rejected, INFO for accepted, overriding --level', () => {
    expect(envelopeLevel({action: 'rejected'}, {levelByAction: true, level: 'DEBUG'})).to.equal('WARN')
    expect(envelopeLevel({action: 'accepted'}, {levelByAction: true, level: 'DEBUG'})).to.equal('INFO')
    expect(envelopeLevel({action: 'accepted'}, {level: 'DEBUG'})).to.equal('DEBUG')
  })

  it('hostname, app and tags are configurable', () => {
    const e = buildEnvelope({}, key, 0, {hostname: 'h', app: 'a', tags: ['x', 'y']})
    expect(e).to.include({host: 'h', app: 'a'})
    expect(e.tags).to.deep.equal(['x', 'y'])
    expect(e.meta.record_id).to.equal('5f0798c4533b8db1b7c4dd20a8c14de9')
  })
})
