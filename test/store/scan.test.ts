/**
 * The scanner (src/lib/store/scan.ts) reads the usual shape of object without JSON.parse. Whenever it takes an object,
 * it must give exactly what the general path (encodeObject over JSON.parse) gives: same header, warnings, state,
 * counts, and the same rows (its canonical TSV lines rewritten in the general layout). It may decline anything.
 * Random objects near the usual shape probe both: fields missing, reordered, duplicated or unknown, other JSON types,
 * escapes, control and non-ASCII characters, integers at the edges, timestamps of every form, whitespace, headers
 * after the array, windows.
 */
import {expect} from 'chai'
import fc from 'fast-check'
import {gzipSync} from 'node:zlib'

import {inflateObject, type JsonObject, type JsonValue, objectText, parseObjectText} from '../../src/lib/records/object.js'
import {HEADER_FIELDS, RECORD_FIELDS} from '../../src/lib/records/schema.js'
import {parseTimestamp} from '../../src/lib/records/time.js'
import {type EncodedObject, encodeBytes, encodeObject, encodeScanned, type EncodeWindow} from '../../src/lib/store/encode.js'
import {makeObject, makeRecords, makeV1Key} from '../support/fixtures.js'

const KEY = makeV1Key()
const HEADER_NULLS = HEADER_FIELDS.map(() => '\\N').join('\t')

/** The scanner's canonical lines (fields, ord, idx, ts) in the general layout (idx, ts, irregular, hdr, rec, fields, header). */
function generalLines(tsv: Uint8Array): string[] {
  const text = Buffer.from(tsv).toString('utf8')
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const cells = l.split('\t')
      expect(cells).to.have.length(RECORD_FIELDS.length + 3)
      const [, idx, ts] = cells.slice(RECORD_FIELDS.length)
      return `${idx}\t${ts}\tfalse\ttrue\t\\N\t${cells.slice(0, RECORD_FIELDS.length).join('\t')}\t${HEADER_NULLS}`
    })
}

function general(text: string, window?: EncodeWindow): EncodedObject {
  return encodeObject(KEY, 3, parseObjectText(objectText(inflateObject(Buffer.from(text)))), window)
}

/** Undefined when the scanner declines; else its result must equal the general one. */
function scannedMatches(text: string, window?: EncodeWindow, gzip = false): boolean | undefined {
  const bytes = gzip ? gzipSync(text) : Buffer.from(text)
  const fast = encodeScanned(KEY, 3, inflateObject(bytes), window)
  if (!fast) return undefined
  let slow: EncodedObject
  try {
    slow = general(text, window)
  } catch (error) {
    throw new Error(`the scanner took an object the general path rejects (${(error as Error).message}): ${text.slice(0, 300)}`)
  }
  expect(fast.tsv, 'canonical lines').to.not.equal(undefined)
  const {tsv, lines: _lines, ...fastRest} = fast
  const {lines, ...slowRest} = slow
  expect(fastRest).to.deep.equal(slowRest)
  expect(generalLines(tsv!)).to.deep.equal(lines)
  return true
}

const plainTime = fc
  .record({
    y: fc.integer({min: 0, max: 9999}),
    mo: fc.integer({min: 0, max: 13}),
    d: fc.integer({min: 0, max: 32}),
    h: fc.integer({min: 0, max: 24}),
    mi: fc.integer({min: 0, max: 60}),
    s: fc.integer({min: 0, max: 60}),
  })
  .map(({y, mo, d, h, mi, s}) => {
    const p = (n: number, w = 2) => String(n).padStart(w, '0')
    return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}Z`
  })

const timeString = fc.oneof(
  {weight: 6, arbitrary: plainTime},
  {weight: 1, arbitrary: fc.constantFrom('', '2026-01-15T10:01:00.5Z', '2026-01-15 10:01:00', '2026-01-15T10:01:00+02:00', '2026-01-15', 'yesterday', '2026-1-5T1:2:3Z', '2026-01-15t10:01:00z')},
)

const plainString = fc.stringMatching(/^[A-Za-z0-9.:_ -]{0,12}$/)
const oddString = fc.oneof(
  fc.constantFrom('\\N', 'a"b', 'a\\b', 'tab\there', 'line\nbreak', '\u007f', 'é', '😀', '\ud800', '\u0000', ']', '}', ',"x":1'),
  fc.string({maxLength: 6}),
)
const integer = fc.oneof(
  {weight: 6, arbitrary: fc.integer({min: -5, max: 70_000})},
  {weight: 1, arbitrary: fc.constantFrom(0, -0, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 123_456_789_012_345, 1e21, 999_999_999_999_999_9)},
)

function valueFor(type: string): fc.Arbitrary<JsonValue> {
  const base =
    type === 'string' ? fc.oneof({weight: 8, arbitrary: plainString}, {weight: 1, arbitrary: oddString}) : type === 'integer' ? integer : fc.boolean()
  return fc.oneof({weight: 12, arbitrary: base as fc.Arbitrary<JsonValue>}, {weight: 1, arbitrary: fc.constantFrom<JsonValue>(null, 'x', 7, true, [1], {a: 1})})
}

/** A record: the schema's fields (some missing), sometimes reordered, with an unknown or duplicated field. */
const recordArb: fc.Arbitrary<[string, JsonValue][]> = fc
  .tuple(
    fc.tuple(...RECORD_FIELDS.map((f) => fc.tuple(fc.double({min: 0, max: 1, noNaN: true}), f.name.endsWith('time') ? timeString : valueFor(f.type)))),
    fc.double({min: 0, max: 1, noNaN: true}),
    fc.oneof({weight: 10, arbitrary: fc.constant('none')}, {weight: 1, arbitrary: fc.constantFrom('shuffle', 'unknown', 'duplicate', 'key', 'header', 'empty')}),
  )
  .map(([cells, missing, twist]) => {
    let entries: [string, JsonValue][] = []
    RECORD_FIELDS.forEach((f, i) => {
      if (cells[i][0] >= missing * 0.3) entries.push([f.name, cells[i][1]])
    })
    if (twist === 'shuffle' && entries.length > 1) entries = [entries[entries.length - 1], ...entries.slice(0, -1)]
    if (twist === 'unknown') entries.splice(Math.floor(entries.length / 2), 0, ['extra', 1])
    if (twist === 'duplicate' && entries.length) entries.push([entries[0][0], entries[0][1]])
    if (twist === 'key') entries.push(['key', 'k'])
    if (twist === 'header') entries.push(['state', 'ok'])
    if (twist === 'empty') entries = []
    return entries
  })

function entriesJson(entries: [string, JsonValue][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`
}

const headerArb = fc.tuple(
  fc.tuple(...HEADER_FIELDS.map((f) => fc.tuple(fc.double({min: 0, max: 1, noNaN: true}), f.name.endsWith('time') ? timeString : valueFor(f.type)))),
  fc.oneof({weight: 8, arbitrary: fc.constant('none')}, {weight: 1, arbitrary: fc.constantFrom('unknown', 'after', 'bracket-after', 'nested', 'count', 'escape')}),
)

const objectArb = fc
  .tuple(headerArb, fc.array(recordArb, {maxLength: 6}), fc.constantFrom('compact', 'compact', 'compact', 'spaced'))
  .map(([[cells, twist], records, layout]) => {
    const head: [string, JsonValue][] = []
    HEADER_FIELDS.forEach((f, i) => {
      if (cells[i][0] > 0.1) head.push([f.name, cells[i][1]])
    })
    const tail: [string, JsonValue][] = []
    if (twist === 'unknown') head.push(['extra', 'x'])
    if (twist === 'after') tail.push(['state', 'ok'])
    if (twist === 'bracket-after') tail.push(['note', 'a]b'])
    if (twist === 'nested') head.push(['meta', {flow_logs: []}])
    head.push(['number_of_flow_logs', twist === 'count' ? records.length + 1 : records.length])
    const members = [...head.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)]
    members.push(`"flow_logs":[${records.map(entriesJson).join(',')}]`)
    for (const [k, v] of tail) members.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`)
    let text = `{${members.join(',')}}`
    if (twist === 'escape') text = text.replace('"version"', '"vers\\u0069on"')
    if (layout === 'spaced') text = JSON.stringify(JSON.parse(text), null, 1)
    return text
  })

const windowArb = fc.option(
  fc.record({since: fc.option(fc.integer({min: 0, max: 2 ** 42}), {nil: undefined}), until: fc.option(fc.integer({min: 0, max: 2 ** 42}), {nil: undefined})}),
  {nil: undefined},
)

describe('store: the scanner agrees with the general path', () => {
  it('on random objects near the usual shape: it declines or gives exactly the same result', () => {
    let taken = 0
    fc.assert(
      fc.property(objectArb, windowArb, fc.boolean(), (text, window, gzip) => {
        let valid = true
        try {
          general(text, window)
        } catch {
          valid = false
        }
        const r = valid ? scannedMatches(text, window, gzip) : encodeScanned(KEY, 3, inflateObject(Buffer.from(text)), window)
        if (!valid) expect(r, 'the scanner took an invalid object').to.equal(undefined)
        if (r === true) taken++
      }),
      {numRuns: 3000},
    )
    // The property means little if the scanner never takes an object.
    expect(taken).to.be.greaterThan(100)
  })

  it('takes the usual objects (compact, known fields, plain values), gzip or not, whole or windowed', () => {
    const records = makeRecords(50)
    const text = JSON.stringify(makeObject(records))
    expect(scannedMatches(text)).to.equal(true)
    expect(scannedMatches(text, undefined, true)).to.equal(true)
    const times = records.map((r) => parseTimestamp(r.start_time)!).sort((a, b) => a - b)
    expect(scannedMatches(text, {since: times[10], until: times[40]})).to.equal(true)
    const windowed = encodeScanned(KEY, 3, inflateObject(Buffer.from(text)), {since: times[10], until: times[40]})!
    expect(windowed.records).to.equal(30)
    expect(windowed.total).to.equal(50)
  })

  it('plain times: the arithmetic agrees with parseTimestamp for every day and time of the field ranges', () => {
    fc.assert(
      fc.property(plainTime, (t) => {
        const text = JSON.stringify(makeObject([{start_time: t, action: 'accepted'} as JsonObject]))
        const fast = encodeScanned(KEY, 3, inflateObject(Buffer.from(text)))
        expect(fast, t).to.not.equal(undefined)
        const ts = Buffer.from(fast!.tsv!).toString().trim().split('\t').at(-1)
        const expected = parseTimestamp(t) ?? parseTimestamp(makeObject([]).capture_start_time)
        expect(ts, t).to.equal(expected === undefined ? '\\N' : String(expected))
      }),
      {numRuns: 3000},
    )
  })

  it('declines what it must leave to the general path', () => {
    const usual = JSON.parse(JSON.stringify(makeObject(makeRecords(2)))) as JsonObject
    const cases: Record<string, string> = {
      'pretty-printed': JSON.stringify(usual, null, 2),
      'an escape in a record': JSON.stringify(usual).replace('"rejected"', '"rej\\u0065cted"'),
      'a fraction': JSON.stringify(usual).replace('"target_port":22', '"target_port":22.0'),
      'an exponent': JSON.stringify(usual).replace('"target_port":22', '"target_port":2.2e1'),
      'minus zero': JSON.stringify(usual).replace('"target_port":22', '"target_port":-0'),
      'null': JSON.stringify(usual).replace('"target_port":22', '"target_port":null'),
      'a field after the last known one': JSON.stringify(usual).replace('"cumulative_packets_from_target":', '"cumulative_packets_from_target":1,"zz":'),
      'non-ASCII': JSON.stringify(usual).replace('"IPv4"', '"IPv4é"'),
      'an empty record': JSON.stringify(usual).replace('"flow_logs":[', '"flow_logs":[{},'),
      'a second flow_logs': JSON.stringify(usual).replace('"state":"ok"', '"state":"ok","x":{"flow_logs":[]}'),
    }
    for (const [name, text] of Object.entries(cases)) {
      expect(encodeScanned(KEY, 3, inflateObject(Buffer.from(text))), name).to.equal(undefined)
      // ...and the general path still loads it (or names what is wrong), as before.
      const r = encodeBytes({key: KEY, ord: 3, bytes: Buffer.from(text)})
      if (r.ok) expect(r.object.tsv, name).to.equal(undefined)
    }
  })
})
