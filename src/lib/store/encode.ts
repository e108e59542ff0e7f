import {parseKey} from '../records/key.js'
import {type FlowLogObject, type JsonObject, type JsonValue, readObject, setOwn} from '../records/object.js'
import {flattenRow} from '../records/row.js'
import {HEADER_FIELDS, RECORD_FIELDS, ROW_FIELD_MAP, fitsColumn, type FieldSpec} from '../records/schema.js'
import {parseTimestamp} from '../records/time.js'

/**
 * Turn one object into what the index stores (README.md): the objects row, and one TSV line per record:
 *   idx, ts, irregular, hdr, rec, <record fields>, <header fields>
 * `hdr` = 1: the header columns come from the object (they are \N in the line). TSV values never contain tabs or
 * newlines: strings that would need JSON escaping make the row irregular and their column NULL.
 */
export const NULL_TOKEN = '\\N'

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

/** Encode an object; with a window, only records whose time lies in it (since <= t < until) are kept. */
export function encodeObject(key: string, ord: number, object: FlowLogObject, window?: EncodeWindow): EncodedObject {
  const parsed = parseKey(key)
  const header: JsonObject = {}
  for (const k in object.header) if (k !== 'number_of_flow_logs' && k !== 'flow_logs' && k !== 'key') setOwn(header, k, object.header[k])
  const headerKeys = Object.keys(header)
  // Header regularity: every header field known and fitting.
  let headerRegular = true
  for (const k of headerKeys) {
    const spec = ROW_FIELD_MAP.get(k)
    if (!spec || spec.name === 'key' || HEADER_FIELDS.indexOf(spec) === -1) {
      headerRegular = false
      break
    }
  }
  const headerCells = HEADER_FIELDS.map((f) => cell(f, header[f.name]))
  if (headerCells.some((c) => !c.ok)) headerRegular = false
  // Composed unless a record collides with the header or with `key`, or a part is empty.
  let composed = headerKeys.length > 0 && !('__proto__' in header && Object.hasOwn(header, '__proto__'))
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
  const prefix = composed ? `{${inner(JSON.stringify(header))},` : '{'
  const suffix = composed ? `,"key":${JSON.stringify(key)}}` : '}'
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
        lines.push(`${i}\t${ts === undefined ? NULL_TOKEN : ts}\tfalse\ttrue\t${NULL_TOKEN}\t${fast}\t${HEADER_NULLS}`)
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
    lines.push(`${i}\t${ts === undefined ? NULL_TOKEN : ts}\t${irregular ? 'true' : 'false'}\t${useHeader ? 'true' : 'false'}\t${rec}\t${parts.join('\t')}\t${headerPart}`)
  }
  return {
    key,
    ord,
    records: lines.length,
    total: records.length,
    irregular: irregularCount,
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
    header: headerCells.map((c) => (c.ok && c.text !== NULL_TOKEN ? c.text : c.ok ? null : null)),
    lines,
  }
}

export interface EncodeInput {
  key: string
  ord: number
  bytes: Uint8Array
  window?: EncodeWindow
}

export type EncodeResult = {ok: true; object: EncodedObject} | {ok: false; key: string; ord: number; error: string}

export function encodeBytes(input: EncodeInput): EncodeResult {
  try {
    return {ok: true, object: encodeObject(input.key, input.ord, readObject(input.bytes), input.window)}
  } catch (error) {
    return {ok: false, key: input.key, ord: input.ord, error: (error as Error).message}
  }
}
