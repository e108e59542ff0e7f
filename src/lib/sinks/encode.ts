import {createHash, hash} from 'node:crypto'

import type {FlowLogObject, JsonObject, JsonValue} from '../records/object.js'
import {recordTime} from '../records/object.js'
import {buildEnvelope, envelopeLevel, type EnvelopeOptions} from '../records/envelope.js'
import {flattenRow} from '../records/row.js'
import {parseTimestamp} from '../records/time.js'

/**
 * Turning one flow-log object into the JSON text of ingestion entries (docs/sinks.md §1): one entry per record.
 *
 * Log Analysis / Mezmo entry: `{"line":"<compact JSON of the flattened row>","timestamp":<ms>,"app":…,"level":…,
 * "meta":{"record_id":…}}` (hostname and tags travel as query parameters).
 * IBM Cloud Logs entry: `{"applicationName":…,"subsystemName":…,"text":{row},"severity":3|4,"timestamp":<ms>,
 * "category":"<record_id>"}`.
 *
 * The hot path builds the text directly (the header part once per object), and falls back to
 * `JSON.stringify(flattenRow(...))` for anything unusual, so the output is always exactly the flattened row's JSON.
 */
export type SinkKind = 'logdna' | 'cloud-logs'

export const DAY_MS = 86_400_000
/** Log Analysis truncates longer lines (docs/sinks.md §2.4). */
export const MAX_LINE_BYTES = 16 * 1024

export interface EncodedEntry {
  /** The entry's JSON text. */
  text: string
  /** 0-based index in the object's flow_logs (the record_id index). */
  index: number
}

export interface EncodeStats {
  records: number
  /** Records the --query filter left out. */
  filtered: number
  lines: number
  /** Lines without a timestamp (no record time parsed; the service uses the arrival time). */
  noTimestamp: number
  /** Lines whose time is more than 24 h away from now (the service may replace it with the arrival time). */
  outsideWindow: number
  /** Lines longer than 16 KB (Log Analysis truncates them). */
  oversized: number
}

export interface EncoderOptions extends EnvelopeOptions {
  kind: SinkKind
  /** Keep only rows for which this returns true (the --query predicate). */
  filter?: (row: JsonObject, key: string, index: number) => boolean
  /** Clock for the 24-hour window check. */
  now?: () => number
}

/** Cloud Logs severity for a Log Analysis level name (docs/sinks.md §3). */
export function severityOf(level: string): number {
  switch (level.toUpperCase()) {
    case 'DEBUG':
      return 1
    case 'TRACE':
    case 'VERBOSE':
      return 2
    case 'WARN':
    case 'WARNING':
      return 4
    case 'ERROR':
    case 'ERR':
      return 5
    case 'FATAL':
    case 'CRITICAL':
    case 'CRIT':
    case 'EMERGENCY':
      return 6
    default:
      return 3
  }
}

/**
 * record_id (docs/sinks.md §1.2) with the one-shot hash when the runtime has it; equal to records/row.ts recordId,
 * which the tests check. The envelope is the one records/envelope.ts buildEnvelope builds (host, app, level, tags,
 * meta.record_id), computed here without an object per record.
 */
const oneShot = typeof hash === 'function'
export function fastRecordId(key: string, index: number): string {
  const text = `${key}#${index}`
  return (oneShot ? hash('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex')).slice(0, 32)
}

/**
 * A flow-log time (RFC 3339): the canonical `YYYY-MM-DDTHH:MM:SSZ` is computed directly, anything else goes through
 * records/time.ts parseTimestamp (the same value either way).
 */
export function fastTimestamp(value: unknown): number | undefined {
  if (typeof value === 'string' && value.length === 20 && value.charCodeAt(10) === 84 && value.charCodeAt(19) === 90) {
    const n = (at: number, len: number) => {
      let v = 0
      for (let i = at; i < at + len; i++) {
        const c = value.charCodeAt(i) - 48
        if (c < 0 || c > 9) return -1
        v = v * 10 + c
      }
      return v
    }
    if (value[4] === '-' && value[7] === '-' && value[13] === ':' && value[16] === ':') {
      const y = n(0, 4)
      const mo = n(5, 2)
      const d = n(8, 2)
      const h = n(11, 2)
      const mi = n(14, 2)
      const s = n(17, 2)
      const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
      const days = mo === 2 ? (leap ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31
      if (y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 59) {
        return Date.UTC(y, mo - 1, d, h, mi, s)
      }
    }
  }
  return parseTimestamp(value)
}

const RELEASED: JsonObject = Object.freeze({}) as JsonObject

/** Characters that make a string's JSON form differ from `"` + s + `"` (quote, backslash, controls, surrogates). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/
const INDEX_KEY = /^(?:0|[1-9]\d*)$/

/** `JSON.stringify(JSON.stringify(x))` without the outer quotes, for one `"k":v` pair. */
function doubleEscapedPair(k: string, v: JsonValue): string {
  const inner = JSON.stringify(k) + ':' + JSON.stringify(v)
  const outer = JSON.stringify(inner)
  return outer.slice(1, -1)
}

/** The pair `"k":v` escaped once (as inside a JSON object) and twice (as inside a JSON string holding that object). */
function pairText(k: string, v: JsonValue, twice: boolean): string {
  const t = typeof v
  if (!NEEDS_ESCAPE.test(k)) {
    if (t === 'string' && !NEEDS_ESCAPE.test(v as string)) return twice ? `\\"${k}\\":\\"${v as string}\\"` : `"${k}":"${v as string}"`
    if (t === 'number' && Number.isFinite(v)) return twice ? `\\"${k}\\":${v as number}` : `"${k}":${v as number}`
    if (t === 'boolean' || v === null) return twice ? `\\"${k}\\":${String(v)}` : `"${k}":${String(v)}`
  }
  return twice ? doubleEscapedPair(k, v) : JSON.stringify(k) + ':' + JSON.stringify(v)
}

interface ObjectContext {
  key: string
  header: JsonObject
  headerKeys: Set<string>
  /** Whether the fast path may be used for this object at all. */
  fast: boolean
  /** The header's pairs, escaped (once or twice), each already followed by nothing: joined with ','. */
  headerText: string
  /** `"key":"<K>"` escaped the same way. */
  keyText: string
}

/** Builds entries for one sink kind; keeps the run's counters. */
export class LineEncoder {
  readonly stats: EncodeStats = {records: 0, filtered: 0, lines: 0, noTimestamp: 0, outsideWindow: 0, oversized: 0}
  private readonly options: EncoderOptions
  private readonly twice: boolean
  private readonly appJson: string
  private readonly hostJson: string
  private readonly now: () => number

  constructor(options: EncoderOptions) {
    this.options = options
    this.twice = options.kind === 'logdna'
    const env = buildEnvelope({}, '', 0, options)
    this.appJson = JSON.stringify(env.app)
    this.hostJson = JSON.stringify(env.host)
    this.now = options.now ?? Date.now
  }

  /** The entries of one object (the records the filter keeps), in flow_logs order. */
  encodeObject(object: FlowLogObject, key: string): EncodedEntry[] {
    return [...this.entries(object, key)]
  }

  /**
   * The same, one at a time (a large object never has all its entries in memory). With `release`, each record is
   * dropped from `object.records` once encoded, so the garbage collector need not keep (and promote) what is done.
   */
  *entries(object: FlowLogObject, key: string, release = false): Generator<EncodedEntry> {
    const ctx = this.context(object.header, key)
    const now = this.now()
    const filter = this.options.filter
    for (let i = 0; i < object.records.length; i++) {
      const record = object.records[i]
      if (release) object.records[i] = RELEASED
      this.stats.records++
      let row: JsonObject | undefined
      if (filter) {
        row = flattenRow(object.header, record, key)
        if (!filter(row, key, i)) {
          this.stats.filtered++
          continue
        }
      }
      const level = envelopeLevel('action' in record ? record : object.header, this.options)
      const time = row ? recordTime(row) : this.recordTime(object.header, record)
      const rowText = this.rowText(ctx, record, row)
      const text = this.entryText(rowText, time, level, fastRecordId(key, i))
      if (time === undefined) this.stats.noTimestamp++
      else if (Math.abs(now - time) > DAY_MS) this.stats.outsideWindow++
      if (text.length * 3 > MAX_LINE_BYTES) {
        const line = this.twice ? (JSON.parse(`"${rowText}"`) as string) : rowText
        if (Buffer.byteLength(line) > MAX_LINE_BYTES) this.stats.oversized++
      }
      this.stats.lines++
      yield {text, index: i}
    }
  }

  /** The record time without building the row: the row's field is the record's when it has it, else the header's. */
  private recordTime(header: JsonObject, record: JsonObject): number | undefined {
    const pick = (name: string) => (name in record ? record[name] : header[name])
    return fastTimestamp(pick('start_time')) ?? fastTimestamp(pick('connection_start_time')) ?? fastTimestamp(pick('capture_start_time'))
  }

  private context(header: JsonObject, key: string): ObjectContext {
    const headerKeys = new Set<string>()
    const parts: string[] = []
    let fast = true
    for (const k in header) {
      if (k === 'number_of_flow_logs' || k === 'flow_logs' || k === 'key') continue
      if (k === '__proto__' || INDEX_KEY.test(k) || !Object.prototype.hasOwnProperty.call(header, k)) fast = false
      headerKeys.add(k)
      parts.push(pairText(k, header[k], this.twice))
    }
    return {key, header, headerKeys, fast, headerText: parts.join(','), keyText: pairText('key', key, this.twice)}
  }

  /**
   * The flattened row's compact JSON: escaped once more (without the outer quotes) for Log Analysis, as is for Cloud
   * Logs. Equal, character for character, to JSON.stringify of flattenRow's result (and to JSON.stringify of that).
   */
  private rowText(ctx: ObjectContext, record: JsonObject, row: JsonObject | undefined): string {
    if (ctx.fast) {
      let text = ctx.headerText
      let ok = true
      for (const k in record) {
        if (ctx.headerKeys.has(k) || k === 'key' || k === '__proto__' || INDEX_KEY.test(k)) {
          ok = false
          break
        }
        const pair = pairText(k, record[k], this.twice)
        text = text === '' ? pair : text + ',' + pair
      }
      if (ok) {
        text = text === '' ? ctx.keyText : text + ',' + ctx.keyText
        return '{' + text + '}'
      }
    }
    const json = JSON.stringify(row ?? flattenRow(ctx.header, record, ctx.key))
    return this.twice ? JSON.stringify(json).slice(1, -1) : json
  }

  private entryText(rowText: string, time: number | undefined, level: string, id: string): string {
    const ts = time === undefined ? '' : `,"timestamp":${time}`
    if (this.twice) {
      return `{"line":"${rowText}"${ts},"app":${this.appJson},"level":${this.levelJson(level)},"meta":{"record_id":"${id}"}}`
    }
    return `{"applicationName":${this.appJson},"subsystemName":${this.hostJson},"text":${rowText},"severity":${severityOf(level)}${ts},"category":"${id}"}`
  }

  private levelJson(level: string): string {
    return level === 'INFO' ? '"INFO"' : level === 'WARN' ? '"WARN"' : JSON.stringify(level)
  }
}
