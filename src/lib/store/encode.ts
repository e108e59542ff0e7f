import {readFileSync, statSync} from 'node:fs'

import {parseKey} from '../records/key.js'
import {DEFAULT_MAX_OBJECT_BYTES, formatSize, inspectJsonBytes, MAX_LINE_BYTES, ObjectLimitError} from '../records/limits.js'
import {
  describeHeader,
  type FlowLogObject,
  type InflatedObject,
  countInflated,
  InflatedPastSize,
  inflateObject,
  type JsonObject,
  type JsonValue,
  objectText,
  parseObjectHeader,
  parseObjectText,
  setOwn,
} from '../records/object.js'
import {flattenRow} from '../records/row.js'
import {HEADER_FIELDS, RECORD_FIELDS, ROW_FIELD_MAP, fitsColumn, type FieldSpec} from '../records/schema.js'
import {parseTimestamp} from '../records/time.js'
import {findArray, NULL_TOKEN, scanRecords} from './scan.js'

/**
 * Turn one object into what the index stores (README.md): the objects row, and one TSV line per record:
 *   idx, ts, irregular, hdr, rec, <record fields>, <header fields>
 * `hdr` = 1: the header columns come from the object (they are \N in the line). TSV values never contain tabs or
 * newlines: strings that would need JSON escaping make the row irregular and their column NULL.
 */

export interface EncodedObject {
  key: string
  ord: number
  /** Records loaded (inside the window). */
  records: number
  /** Records in the object. */
  total: number
  /** Loaded records that are irregular (evaluated from their line, not the typed columns). */
  irregular: number
  state: string | null
  warnings: string[]
  prefix: string
  suffix: string
  layout: 'v1' | 'v0' | 'unrecognised'
  keyFields: Record<string, string | number | null>
  /** Header typed values (strings or null) in HEADER_FIELDS order. */
  header: (string | null)[]
  /** TSV lines without the leading ord column. */
  lines: string[]
  /** Or, from the scanner: canonical TSV lines, complete (README.md). */
  tsv?: Uint8Array
}

const RECORD_POSITION = new Map(RECORD_FIELDS.map((f, i) => [f.name, i]))

// With the u flag a surrogate pair (emoji) is one code point and passes; lone surrogates (escaped by JSON) do not.
const SAFE_STRING = /^[^\u0000-\u001f"\\\u007f\ud800-\udfff]*$/u
const HEADER_SPEC: ReadonlyMap<string, FieldSpec> = new Map(HEADER_FIELDS.map((f) => [f.name, f]))
/** Integer-like property names come first in a JavaScript object, so a record holding one cannot be composed. */
const INDEX_KEY = /^\d+$/

function cell(spec: FieldSpec, v: JsonValue | undefined): {text: string; ok: boolean} {
  if (v === undefined) return {text: NULL_TOKEN, ok: true}
  if (v === null || !fitsColumn(spec, v)) return {text: NULL_TOKEN, ok: false}
  if (spec.type === 'string') {
    const s = v as string
    if (s === NULL_TOKEN || !SAFE_STRING.test(s)) return {text: NULL_TOKEN, ok: false}
    return {text: s, ok: true}
  }
  return {text: String(v), ok: true}
}

function inner(json: string): string {
  return json.slice(1, -1)
}

const timeCache = new Map<string, number | undefined>()
function cachedTime(v: JsonValue | undefined): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined
  if (timeCache.has(v)) return timeCache.get(v)
  const t = parseTimestamp(v)
  if (timeCache.size > 100_000) timeCache.clear()
  timeCache.set(v, t)
  return t
}

const HEADER_NULLS = HEADER_FIELDS.map(() => NULL_TOKEN).join('\t')
const RECORD_TYPES = RECORD_FIELDS.map((f) => f.type)

/**
 * The common case, fast: a record whose fields are all known, in schema order, of the column's type, with strings that
 * need no escaping. Returns the record columns as TSV, or undefined when the general path must decide.
 */
function encodeCanonical(r: JsonObject): string | undefined {
  const cells: string[] = new Array(RECORD_FIELDS.length).fill(NULL_TOKEN)
  let last = -1
  for (const k in r) {
    const pos = RECORD_POSITION.get(k)
    if (pos === undefined || pos <= last) return undefined
    last = pos
    const v = r[k]
    switch (RECORD_TYPES[pos]) {
      case 'string':
        if (typeof v !== 'string' || v === NULL_TOKEN || !SAFE_STRING.test(v)) return undefined
        cells[pos] = v
        break
      case 'integer':
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) return undefined
        cells[pos] = String(v)
        break
      default:
        if (typeof v !== 'boolean') return undefined
        cells[pos] = v ? 'true' : 'false'
    }
  }
  return cells.join('\t')
}

export interface EncodeWindow {
  since?: number
  until?: number
}

interface PreparedHeader {
  header: JsonObject
  headerCells: {text: string; ok: boolean}[]
  /** Every header field known and fitting its column. */
  headerRegular: boolean
}

/** The object's header as the index stores it (without number_of_flow_logs, flow_logs and key). */
function prepareHeader(objectHeader: JsonObject): PreparedHeader {
  const header: JsonObject = {}
  for (const k in objectHeader) if (k !== 'number_of_flow_logs' && k !== 'flow_logs' && k !== 'key') setOwn(header, k, objectHeader[k])
  let headerRegular = true
  for (const k of Object.keys(header)) {
    const spec = ROW_FIELD_MAP.get(k)
    if (!spec || spec.name === 'key' || HEADER_FIELDS.indexOf(spec) === -1) {
      headerRegular = false
      break
    }
  }
  const headerCells = HEADER_FIELDS.map((f) => cell(f, header[f.name]))
  if (headerCells.some((c) => !c.ok)) headerRegular = false
  return {header, headerCells, headerRegular}
}

/** Whether records can be composed with this header (line = prefix + rec + suffix), before looking at the records. */
function composable(header: JsonObject): boolean {
  return Object.keys(header).length > 0 && !('__proto__' in header && Object.hasOwn(header, '__proto__'))
}

function composedPrefix(header: JsonObject): string {
  return `{${inner(JSON.stringify(header))},`
}

function composedSuffix(key: string): string {
  return `,"key":${JSON.stringify(key)}}`
}

/** A record's line, or an ObjectLimitError when it is longer than DuckDB is asked to read (MAX_LINE_BYTES). */
function checkLine(line: string, i: number): string {
  if (line.length > MAX_LINE_BYTES / 3) {
    const size = Buffer.byteLength(line)
    if (size > MAX_LINE_BYTES) throw new ObjectLimitError(`flow_logs[${i}] takes ${formatSize(size)}, over the ${formatSize(MAX_LINE_BYTES)} limit per record`)
  }
  return line
}

/** Encode an object; with a window, only records whose time lies in it (since <= t < until) are kept. */
export function encodeObject(key: string, ord: number, object: FlowLogObject, window?: EncodeWindow): EncodedObject {
  const {header, headerCells, headerRegular} = prepareHeader(object.header)
  // Composed unless a record collides with the header or with `key`, or a part is empty.
  let composed = composable(header)
  if (composed) {
    for (const r of object.records) {
      let n = 0
      for (const k in r) {
        n++
        if (k === 'key' || k === '__proto__' || Object.hasOwn(header, k) || INDEX_KEY.test(k)) {
          composed = false
          break
        }
      }
      if (n === 0) composed = false
      if (!composed) break
    }
  }
  const prefix = composed ? composedPrefix(header) : '{'
  const suffix = composed ? composedSuffix(key) : '}'
  const hs = header.capture_start_time
  const lines: string[] = []
  const records = object.records
  const since = window?.since
  const until = window?.until
  const windowed = since !== undefined || until !== undefined
  let irregularCount = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    const ts = cachedTime(r.start_time) ?? cachedTime(r.connection_start_time) ?? cachedTime(Object.hasOwn(r, 'capture_start_time') ? r.capture_start_time : hs)
    if (windowed && (ts === undefined || (since !== undefined && ts < since) || (until !== undefined && ts >= until))) continue
    if (composed && headerRegular) {
      const fast = encodeCanonical(r)
      if (fast !== undefined) {
        lines.push(checkLine(`${i}\t${ts === undefined ? NULL_TOKEN : ts}\tfalse\ttrue\t${NULL_TOKEN}\t${fast}\t${HEADER_NULLS}`, i))
        continue
      }
    }
    let irregular = !headerRegular
    let useHeader = composed
    const parts: string[] = new Array(RECORD_FIELDS.length)
    // Canonical: every field known, in RECORD_FIELDS order; then rec can be rebuilt from the columns (README).
    let canonical = composed
    let last = -1
    for (const k in r) {
      const pos = RECORD_POSITION.get(k)
      if (pos === undefined || pos <= last) {
        canonical = false
        break
      }
      last = pos
    }
    for (let f = 0; f < RECORD_FIELDS.length; f++) {
      const spec = RECORD_FIELDS[f]
      const v = r[spec.name]
      const c = cell(spec, v)
      if (!c.ok) irregular = true
      parts[f] = c.text
    }
    if (!irregular) {
      for (const k in r) {
        if (RECORD_POSITION.has(k)) continue
        // Raw rows: `key` is replaced by the real key, and a header field that fits its column is in the header columns.
        const h = HEADER_SPEC.get(k)
        if (!composed && (k === 'key' || (h !== undefined && cell(h, r[k]).ok))) continue
        irregular = true // unknown record field
        break
      }
    }
    let rec: string
    if (composed) rec = canonical && !irregular ? NULL_TOKEN : inner(JSON.stringify(r))
    else rec = inner(JSON.stringify(flattenRow(object.header, r, key)))
    let headerPart: string
    if (useHeader) headerPart = HEADER_FIELDS.map(() => NULL_TOKEN).join('\t')
    else {
      // Raw mode: a record value may override a header value of the same name.
      headerPart = HEADER_FIELDS.map((f, h) => {
        if (Object.hasOwn(r, f.name)) {
          const c = cell(f, r[f.name])
          return c.text
        }
        return headerCells[h].text
      }).join('\t')
    }
    if (irregular) irregularCount++
    lines.push(checkLine(`${i}\t${ts === undefined ? NULL_TOKEN : ts}\t${irregular ? 'true' : 'false'}\t${useHeader ? 'true' : 'false'}\t${rec}\t${parts.join('\t')}\t${headerPart}`, i))
  }
  return describeEncoded(key, ord, object, header, headerCells, prefix, suffix, lines, records.length, irregularCount)
}

function describeEncoded(
  key: string,
  ord: number,
  object: FlowLogObject,
  header: JsonObject,
  headerCells: {text: string; ok: boolean}[],
  prefix: string,
  suffix: string,
  lines: string[],
  total: number,
  irregular: number,
): EncodedObject {
  const parsed = parseKey(key)
  return {
    key,
    ord,
    records: lines.length,
    total,
    irregular,
    state: typeof object.header.state === 'string' ? object.header.state : null,
    warnings: object.warnings,
    prefix,
    suffix,
    layout: parsed ? parsed.layout : 'unrecognised',
    keyFields: {
      account: parsed?.account ?? null,
      region: parsed?.region ?? null,
      zone: parsed?.zone ?? null,
      subnet_id: parsed?.subnet_id ?? null,
      instance_id: parsed?.instance_id ?? null,
      vnic_id: parsed?.vnic_id ?? (typeof header.network_interface_id === 'string' ? header.network_interface_id : null),
      record_type: parsed?.record_type ?? null,
      hour_dir: parsed?.hour_dir ?? null,
    },
    header: headerCells.map((c) => (c.ok && c.text !== NULL_TOKEN ? c.text : null)),
    lines,
  }
}

/**
 * The usual case without JSON.parse of the records (scan.ts): undefined unless the object is compact JSON whose
 * records are all canonical and whose header is regular, i.e. exactly when encodeObject would take its fast path for
 * every record. The records then come as canonical TSV lines (`tsv`, README.md) instead of `lines`.
 */
export function encodeScanned(
  key: string,
  ord: number,
  inflated: InflatedObject,
  window?: EncodeWindow,
): EncodedObject | undefined {
  const {bytes} = inflated
  const span = findArray(bytes)
  if (!span) return undefined
  let doc: JsonObject
  try {
    const headerBytes = Buffer.concat([bytes.subarray(0, span.key), EMPTY_ARRAY, bytes.subarray(span.close + 1)])
    // Values and nesting of the header within the limits (the general path names what is over).
    inspectJsonBytes(headerBytes)
    const text = objectText({bytes: headerBytes, gzip: inflated.gzip})
    // An escape in the header could spell another "flow_logs": JSON.parse must see the whole text.
    if (text.includes('\\')) return undefined
    doc = parseObjectHeader(text)
  } catch {
    return undefined // the general path names what is wrong
  }
  const {header, headerCells, headerRegular} = prepareHeader(doc)
  // Record fields are never header fields, `key` or integer-like: records compose whenever the header allows.
  if (!headerRegular || !composable(header)) return undefined
  const scanned = scanRecords(bytes, span, {
    ord,
    headerTime: cachedTime(header.capture_start_time),
    since: window?.since,
    until: window?.until,
    parseTime: cachedTime,
  })
  if (!scanned) return undefined
  const object = describeHeader(doc, scanned.total)
  const prefix = composedPrefix(header)
  const encoded = describeEncoded(key, ord, object, header, headerCells, prefix, composedSuffix(key), [], scanned.total, 0)
  encoded.records = scanned.rows
  encoded.tsv = scanned.tsv
  return encoded
}

const EMPTY_ARRAY = Buffer.from('"flow_logs":[]')

export interface EncodeInput {
  key: string
  ord: number
  /** The object's bytes, or the path of a local file holding them (read by the worker). */
  bytes?: Uint8Array
  path?: string
  window?: EncodeWindow
  /** Inflated bytes allowed (default DEFAULT_MAX_OBJECT_BYTES, pull --max-object-size). */
  maxBytes?: number
}

/** `read`: bytes read from `path` (0 when reading failed or bytes were given). */
export type EncodeResult = ({ok: true; object: EncodedObject} | {ok: false; key: string; ord: number; error: string}) & {read?: number}

/**
 * encodeBytes for the parse workers: a gzip that inflates past its trailer is counted first (countInflated keeps
 * nothing), so that a bomb with a lying trailer never takes more memory than the objects within the limit.
 */
export async function encodeBytesBounded(input: EncodeInput): Promise<EncodeResult> {
  const first = encodeBytes(input, true)
  if (first.ok || !first.recount) return first
  const limit = input.maxBytes ?? DEFAULT_MAX_OBJECT_BYTES
  try {
    const bytes = input.bytes ?? readFileSync(input.path ?? '')
    const exact = await countInflated(bytes, limit)
    if (exact === undefined) throw new ObjectLimitError(`inflates to more than ${formatSize(limit)}, the limit per object (pull --max-object-size)`)
    const result = encodeRead(input, bytes, {exact})
    if (first.read) result.read = first.read
    return result
  } catch (error) {
    return {ok: false, key: input.key, ord: input.ord, error: (error as Error).message, read: first.read}
  }
}

export function encodeBytes(input: EncodeInput, recount = false): EncodeResult & {recount?: boolean} {
  let bytes = input.bytes
  let read = 0
  if (!bytes) {
    try {
      const limit = input.maxBytes ?? DEFAULT_MAX_OBJECT_BYTES
      const size = statSync(input.path ?? '').size
      if (size > limit) throw new ObjectLimitError(`holds ${formatSize(size)}, more than ${formatSize(limit)}, the limit per object (pull --max-object-size)`)
      bytes = readFileSync(input.path ?? '')
      read = bytes.byteLength
    } catch (error) {
      return {ok: false, key: input.key, ord: input.ord, error: (error as Error).message}
    }
  }
  const result: EncodeResult & {recount?: boolean} = encodeRead(input, bytes, {recount})
  if (read) result.read = read
  return result
}

function encodeRead(input: EncodeInput, bytes: Uint8Array, inflate: {exact?: number; recount?: boolean}): EncodeResult & {recount?: boolean} {
  try {
    const inflated = inflateObject(bytes, input.maxBytes, inflate)
    const fast = encodeScanned(input.key, input.ord, inflated, input.window)
    if (fast) return {ok: true, object: fast}
    // The general path: limits checked on the text before JSON.parse builds it (records/limits.ts).
    const warnings = inspectJsonBytes(inflated.bytes)
    const object = parseObjectText(objectText(inflated))
    object.warnings.push(...warnings)
    return {ok: true, object: encodeObject(input.key, input.ord, object, input.window)}
  } catch (error) {
    if (error instanceof InflatedPastSize) return {ok: false, key: input.key, ord: input.ord, error: 'inflates past its gzip trailer', recount: true}
    return {ok: false, key: input.key, ord: input.ord, error: (error as Error).message}
  }
}
