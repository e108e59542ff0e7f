import {expect} from 'chai'
import fc from 'fast-check'

import {readObject} from '../../src/lib/records/object.js'
import type {FlowLogObject, JsonObject, JsonValue} from '../../src/lib/records/object.js'
import {flattenRow, recordId} from '../../src/lib/records/row.js'
import {fastRecordId, fastTimestamp, LineEncoder, severityOf} from '../../src/lib/sinks/encode.js'
import {buildEnvelope} from '../../src/lib/records/envelope.js'
import {parseTimestamp} from '../../src/lib/records/time.js'
import {EMPTY_V0, SAMPLE_KEY, TWO_RECORDS} from './helpers.js'

const FIXED_NOW = Date.parse('2020-06-04T14:00:00Z')

function logdna(options: Partial<ConstructorParameters<typeof LineEncoder>[0]> = {}) {
  return new LineEncoder({kind: 'logdna', now: () => FIXED_NOW, ...options})
}

describe('sinks: line shape (docs/sinks.md §1)', () => {
  it('record_id follows the spec test vectors for the CE sample key', () => {
    const enc = logdna()
    const entries = enc.encodeObject(readObject(TWO_RECORDS), SAMPLE_KEY)
    const ids = entries.map((e) => (JSON.parse(e.text) as {meta: {record_id: string}}).meta.record_id)
    expect(ids).to.deep.equal(['5f0798c4533b8db1b7c4dd20a8c14de9', 'cfbe616ec260a1d2eab85260ba5a9b14'])
  })

  it('line is the compact JSON of the flattened row; timestamp is the record time (empty start_time → connection_start_time)', () => {
    const object = readObject(TWO_RECORDS)
    const entries = logdna().encodeObject(object, SAMPLE_KEY)
    expect(entries).to.have.length(2)
    for (const [i, e] of entries.entries()) {
      const parsed = JSON.parse(e.text) as Record<string, unknown>
      expect(Object.keys(parsed)).to.deep.equal(['line', 'timestamp', 'app', 'level', 'meta'])
      expect(parsed.line).to.equal(JSON.stringify(flattenRow(object.header, object.records[i], SAMPLE_KEY)))
      const row = JSON.parse(parsed.line as string) as Record<string, unknown>
      expect(row.key).to.equal(SAMPLE_KEY)
      expect(row).not.to.have.property('number_of_flow_logs')
      expect(row.direction).to.equal('O')
      expect(parsed.app).to.equal('vpc-flowlogs')
      expect(parsed.level).to.equal('INFO')
    }
    expect((JSON.parse(entries[0].text) as {timestamp: number}).timestamp).to.equal(Date.parse('2020-06-04T13:43:10Z'))
    const second = JSON.parse(entries[1].text) as {timestamp: number; line: string}
    expect(second.timestamp).to.equal(1591278190000)
    expect((JSON.parse(second.line) as {start_time: string}).start_time).to.equal('')
  })

  it('the row of record 1 is exactly the spec example (key aside)', () => {
    const entries = logdna().encodeObject(readObject(TWO_RECORDS), 'K')
    const line = (JSON.parse(entries[1].text) as {line: string}).line
    expect(line).to.match(/^\{"version":"0\.0\.1","collector_crn":"crn:v1:bluemix:public:is:us-south:a\/713c/)
    expect(line).to.contain('"state":"ok","start_time":"","end_time":"","connection_start_time":"2020-06-04T13:43:10Z","direction":"O"')
    expect(line.endsWith('"cumulative_packets_from_target":4,"key":"K"}')).to.equal(true)
    expect(line).not.to.match(/[,:] /)
  })

  it('the real COS key overrides a key field inside the object; empty objects give no lines', () => {
    const object = readObject(EMPTY_V0)
    expect(logdna().encodeObject(object, SAMPLE_KEY)).to.deep.equal([])
    const withRecord: FlowLogObject = {...object, records: [{start_time: '2020-06-08T13:18:00Z', action: 'accepted'}]}
    const [e] = logdna().encodeObject(withRecord, SAMPLE_KEY)
    const row = JSON.parse((JSON.parse(e.text) as {line: string}).line) as Record<string, unknown>
    expect(row.key).to.equal(SAMPLE_KEY)
    expect(Object.keys(row).at(-1)).to.equal('key')
  })

  it('level: INFO by default, --level, --level-by-action (WARN for rejected); hostname, app, tags do not touch the line', () => {
    const object: FlowLogObject = {
      header: {capture_start_time: '2020-06-04T13:42:39Z', state: 'ok'},
      records: [
        {action: 'rejected', start_time: '2020-06-04T13:43:00Z'},
        {action: 'accepted', start_time: '2020-06-04T13:43:01Z'},
      ],
      warnings: [],
      state: 'ok',
    }
    const levels = (enc: LineEncoder) => enc.encodeObject(object, 'K').map((e) => (JSON.parse(e.text) as {level: string}).level)
    expect(levels(logdna())).to.deep.equal(['INFO', 'INFO'])
    expect(levels(logdna({level: 'DEBUG'}))).to.deep.equal(['DEBUG', 'DEBUG'])
    expect(levels(logdna({levelByAction: true}))).to.deep.equal(['WARN', 'INFO'])
    const [e] = logdna({app: 'my-app', hostname: 'h1', tags: ['a']}).encodeObject(object, 'K')
    const parsed = JSON.parse(e.text) as Record<string, unknown>
    expect(parsed.app).to.equal('my-app')
    expect(parsed).not.to.have.property('hostname')
  })

  it('timestamp falls back to capture_start_time, is omitted and counted when nothing parses; old lines are counted', () => {
    const object: FlowLogObject = {
      header: {capture_start_time: '2020-06-04T13:42:39Z'},
      records: [{start_time: '', connection_start_time: 'garbage'}, {start_time: 'nope'}],
      warnings: [],
      state: 'missing',
    }
    const enc = logdna()
    const [a] = enc.encodeObject(object, 'K')
    expect((JSON.parse(a.text) as {timestamp: number}).timestamp).to.equal(Date.parse('2020-06-04T13:42:39Z'))
    const noTime: FlowLogObject = {header: {capture_start_time: ''}, records: [{start_time: ''}], warnings: [], state: 'missing'}
    const [b] = enc.encodeObject(noTime, 'K')
    expect(JSON.parse(b.text)).not.to.have.property('timestamp')
    expect(enc.stats.noTimestamp).to.equal(1)
    const late = logdna({now: () => FIXED_NOW + 2 * 86_400_000})
    late.encodeObject(readObject(TWO_RECORDS), SAMPLE_KEY)
    expect(late.stats.outsideWindow).to.equal(2)
    expect(logdna().stats.outsideWindow).to.equal(0)
  })

  it('Cloud Logs entries: applicationName, subsystemName, text = the row object, severity 3/4, timestamp, category = record_id', () => {
    const object = readObject(TWO_RECORDS)
    const enc = new LineEncoder({kind: 'cloud-logs', hostname: 'edge-1', levelByAction: true, now: () => FIXED_NOW})
    const entries = enc.encodeObject(object, SAMPLE_KEY)
    const e = JSON.parse(entries[1].text) as Record<string, unknown>
    expect(e).to.deep.equal({
      applicationName: 'vpc-flowlogs',
      subsystemName: 'edge-1',
      text: flattenRow(object.header, object.records[1], SAMPLE_KEY),
      severity: 3,
      timestamp: 1591278190000,
      category: 'cfbe616ec260a1d2eab85260ba5a9b14',
    })
    expect(entries[1].text).to.contain(`"text":${JSON.stringify(flattenRow(object.header, object.records[1], SAMPLE_KEY))}`)
    expect(severityOf('WARN')).to.equal(4)
    expect(severityOf('INFO')).to.equal(3)
    expect(severityOf('DEBUG')).to.equal(1)
    expect(severityOf('ERROR')).to.equal(5)
    expect(severityOf('FATAL')).to.equal(6)
  })

  it('--query filter: only matching rows become lines, the index (record_id) stays the flow_logs index', () => {
    const object = readObject(TWO_RECORDS)
    const enc = logdna({filter: (row, _key, index) => index === 1 && row.start_time === ''})
    const entries = enc.encodeObject(object, SAMPLE_KEY)
    expect(entries.map((e) => e.index)).to.deep.equal([1])
    expect((JSON.parse(entries[0].text) as {meta: {record_id: string}}).meta.record_id).to.equal(recordId(SAMPLE_KEY, 1))
    expect(enc.stats.filtered).to.equal(1)
    expect(enc.stats.records).to.equal(2)
    expect(enc.stats.lines).to.equal(1)
  })

  it('the fast text builder equals JSON.stringify(flattenRow(...)) for arbitrary headers and records (property)', () => {
    const keyArb = fc.oneof(
      fc.constantFrom('version', 'state', 'key', 'action', 'start_time', 'target_ip', '0', '12', 'a"b', 'k\\n', 'é', 'x\u0001', '__proto__', 'number_of_flow_logs'),
      fc.string({maxLength: 6}),
    )
    const valueArb: fc.Arbitrary<JsonValue> = fc.oneof(
      fc.string({maxLength: 8}),
      fc.constantFrom('', '"', '\\', '\n', '\u2028', '\ud83d\ude00', '\ud800', 'rejected', 'accepted', '2020-06-04T13:43:10Z'),
      fc.integer(),
      fc.double({noNaN: true, noDefaultInfinity: true}),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), {maxLength: 2}),
      fc.dictionary(fc.string({maxLength: 3}), fc.string({maxLength: 3}), {maxKeys: 2}),
    )
    const objArb = fc.array(fc.tuple(keyArb, valueArb), {maxLength: 8}).map((pairs) => {
      // Built the way JSON.parse builds objects (own properties, even __proto__).
      return JSON.parse('{' + pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',') + '}') as JsonObject
    })
    fc.assert(
      fc.property(objArb, fc.array(objArb, {minLength: 1, maxLength: 3}), fc.string({maxLength: 10}), (header, records, key) => {
        if ('flow_logs' in header) delete header.flow_logs
        const object: FlowLogObject = {header, records, warnings: [], state: 'ok'}
        for (const kind of ['logdna', 'cloud-logs'] as const) {
          const entries = new LineEncoder({kind, now: () => FIXED_NOW}).encodeObject(object, key)
          entries.forEach((e, i) => {
            const parsed = JSON.parse(e.text) as {line?: string; text?: unknown}
            const expected = JSON.stringify(flattenRow(header, records[i], key))
            if (kind === 'logdna') expect(parsed.line).to.equal(expected)
            else expect(JSON.stringify(parsed.text)).to.equal(expected)
          })
        }
      }),
      {numRuns: 400},
    )
  })

  it('the envelope of every line is the one buildEnvelope gives (the local search envelope, D17)', () => {
    const object = readObject(TWO_RECORDS)
    object.records[0].action = 'rejected'
    for (const options of [{}, {levelByAction: true}, {level: 'DEBUG', app: 'a1', hostname: 'h1', tags: ['t']}]) {
      const entries = logdna(options).encodeObject(object, SAMPLE_KEY)
      entries.forEach((e, i) => {
        const parsed = JSON.parse(e.text) as {app: string; level: string; meta: unknown}
        const env = buildEnvelope(flattenRow(object.header, object.records[i], SAMPLE_KEY), SAMPLE_KEY, i, options)
        expect({app: parsed.app, level: parsed.level, meta: parsed.meta}).to.deep.equal({app: env.app, level: env.level, meta: env.meta})
      })
    }
  })

  it('fast record_id and timestamp parsing agree with records/row.ts and records/time.ts (property)', () => {
    fc.assert(
      fc.property(fc.string({maxLength: 40}), fc.nat(100_000), (key, index) => {
        expect(fastRecordId(key, index)).to.equal(recordId(key, index))
      }),
    )
    const pad = (n: number, w: number) => String(n).padStart(w, '0')
    fc.assert(
      fc.property(fc.integer({min: 1900, max: 2200}), fc.integer({min: 0, max: 13}), fc.integer({min: 0, max: 32}), fc.integer({min: 0, max: 25}), fc.integer({min: 0, max: 61}), fc.integer({min: 0, max: 61}), (y, mo, d, h, mi, s) => {
        const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}Z`
        expect(fastTimestamp(text)).to.equal(parseTimestamp(text))
      }),
      {numRuns: 500},
    )
    fc.assert(fc.property(fc.string({maxLength: 24}), (text) => void expect(fastTimestamp(text)).to.equal(parseTimestamp(text))))
    for (const v of ['', '2020-06-04T13:43:10Z', '2020-06-04T13:43:10', '2020-06-04 13:43:10Z', '2020-06-04T13:43:10.5Z', 'x', 5, null]) {
      expect(fastTimestamp(v)).to.equal(parseTimestamp(v))
    }
  })
})
