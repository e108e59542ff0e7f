import {MAX_LINE_BYTES, MAX_VALUE_BYTES} from '../records/limits.js'
import {RECORD_FIELDS} from '../records/schema.js'

/**
 * A scanner for the usual shape of a flow-log object: compact JSON whose records hold only known fields, in schema
 * order, with plain ASCII strings, plain integers and booleans. It reads the flow_logs array straight from the decoded
 * bytes, without building strings or JavaScript objects, and writes each record's typed cells as a line of "canonical"
 * TSV (README.md). Anything else — whitespace, escapes, unknown or out-of-order fields, null, fractions or exponents,
 * control or non-ASCII characters — makes it decline, and the general path (JSON.parse, encode.ts) decides.
 *
 * Canonical TSV line: <record fields, RECORD_FIELDS order> \t ord \t idx \t ts \n   (absent: \N)
 */

export const NULL_TOKEN = '\\N'

const enum C {
  Tab = 9,
  Newline = 10,
  Quote = 34,
  Comma = 44,
  Minus = 45,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  T = 84,
  Z = 90,
  Backslash = 92,
  CloseBracket = 93,
  LowerT = 116,
  LowerF = 102,
  OpenBrace = 123,
  CloseBrace = 125,
  Del = 127,
}

const encoder = new TextEncoder()
const ARRAY_OPEN = encoder.encode('"flow_logs":[')
const FLOW_LOGS_KEY = '"flow_logs"'
/** `"name":` for every record field, in schema order. */
const KEYS = RECORD_FIELDS.map((f) => encoder.encode(`${JSON.stringify(f.name)}:`))
/** The same keys as little-endian 32-bit words (the tail of a key that is not a whole word is compared by bytes). */
const KEY_WORDS = KEYS.map((k) => {
  const view = new DataView(k.buffer, k.byteOffset, k.byteLength)
  return Array.from({length: Math.floor(k.length / 4)}, (_, i) => view.getUint32(i * 4, true))
})
const KINDS = RECORD_FIELDS.map((f) => (f.type === 'string' ? 0 : f.type === 'integer' ? 1 : 2))
const FIELD_COUNT = RECORD_FIELDS.length
const START_TIME = RECORD_FIELDS.findIndex((f) => f.name === 'start_time')
const CONNECTION_START_TIME = RECORD_FIELDS.findIndex((f) => f.name === 'connection_start_time')
const TRUE = encoder.encode('true')
const FALSE = encoder.encode('false')

/** Where the flow_logs array lies: `[` of `"flow_logs":[` and its closing `]`, as far as can be told without parsing. */
export interface ArraySpan {
  /** Position of `"flow_logs":[`. */
  key: number
  /** Position of the `]` expected to close the array (checked by the scan). */
  close: number
}

/**
 * Find the flow_logs array of the usual shape: `"flow_logs":[`, the array closed by the last `]` of the text (true
 * unless a later header value holds a `]`; the scan checks it), no other `"flow_logs"` in the header (inside the array
 * the scan takes only record fields).
 */
export function findArray(buf: Uint8Array): ArraySpan | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const key = b.indexOf(FLOW_LOGS_KEY)
  if (key < 0 || b.indexOf(ARRAY_OPEN, key) !== key) return undefined
  const close = b.lastIndexOf(C.CloseBracket)
  if (close < key + ARRAY_OPEN.length) return undefined
  if (b.indexOf(FLOW_LOGS_KEY, close) >= 0) return undefined
  return {key, close}
}

export interface ScanOptions {
  /** The object's ordinal, written in every line. */
  ord: number
  /** Record time to use when a record has neither start_time nor connection_start_time (the header's capture_start_time). */
  headerTime: number | undefined
  since?: number
  until?: number
  /** Record times of strings that are not in the plain `YYYY-MM-DDTHH:MM:SSZ` form. */
  parseTime: (text: string) => number | undefined
}

export interface ScanResult {
  /** Records in the array. */
  total: number
  /** Lines written (records inside the window). */
  rows: number
  tsv: Uint8Array
}

class Out {
  buf: Uint8Array
  pos = 0
  constructor(size: number) {
    this.buf = new Uint8Array(Math.max(size, 1024))
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  /** A non-negative safe integer in decimal (room for it ensured by the caller). */
  digits(n: number): void {
    const buf = this.buf
    if (n === 0) {
      buf[this.pos++] = C.Zero
      return
    }
    let len = 0
    for (let m = n; m >= 1; m = Math.floor(m / 10)) len++
    let p = this.pos + len
    this.pos = p
    for (let m = n; m >= 1; ) {
      const q = Math.floor(m / 10)
      buf[--p] = C.Zero + (m - q * 10)
      m = q
    }
  }

  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i)
  }
}

function digit(buf: Uint8Array, p: number): number {
  const d = buf[p] - C.Zero
  return d >= 0 && d <= 9 ? d : -1000
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

/**
 * The time of a plain `YYYY-MM-DDTHH:MM:SSZ` value, or NaN when the value has another form or a field out of the
 * range where Date.parse and plain arithmetic agree (the caller then asks parseTimestamp).
 */
function plainTime(buf: Uint8Array, a: number, b: number): number {
  if (b - a !== 20 || buf[a + 4] !== C.Minus || buf[a + 7] !== C.Minus || buf[a + 10] !== C.T || buf[a + 13] !== C.Colon || buf[a + 16] !== C.Colon || buf[a + 19] !== C.Z) return Number.NaN
  const y = digit(buf, a) * 1000 + digit(buf, a + 1) * 100 + digit(buf, a + 2) * 10 + digit(buf, a + 3)
  const mo = digit(buf, a + 5) * 10 + digit(buf, a + 6)
  const d = digit(buf, a + 8) * 10 + digit(buf, a + 9)
  const h = digit(buf, a + 11) * 10 + digit(buf, a + 12)
  const mi = digit(buf, a + 14) * 10 + digit(buf, a + 15)
  const s = digit(buf, a + 17) * 10 + digit(buf, a + 18)
  // Date.parse takes days up to 31 in every month and rolls over (02-30 is 03-02), as the arithmetic does.
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return Number.NaN
  return ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60_000 + s * 1000
}

function latin1(buf: Uint8Array, a: number, b: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + a, b - a).toString('latin1')
}

/** Room kept free in the output before each record and each value: the widest cells, nulls and trailer. */
const RECORD_ROOM = 1024
const VALUE_ROOM = 512

/**
 * Scan the records of the array found by findArray and write their canonical TSV lines. Undefined unless every record
 * is in the usual shape and the array ends exactly at span.close.
 */
export function scanRecords(buf: Uint8Array, span: ArraySpan, options: ScanOptions): ScanResult | undefined {
  const {since, until, ord, headerTime} = options
  const windowed = since !== undefined || until !== undefined
  const close = span.close
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const out = new Out(close - span.key + RECORD_ROOM)
  let ob = out.buf
  let o = 0
  let p = span.key + ARRAY_OPEN.length
  let total = 0
  let rows = 0
  const timeOf = (a: number, b: number): number | undefined => {
    if (a < 0) return undefined
    const t = plainTime(buf, a, b)
    if (!Number.isNaN(t)) return t
    return options.parseTime(latin1(buf, a, b))
  }
  const grow = () => {
    out.pos = o
    out.ensure(RECORD_ROOM * 4)
    ob = out.buf
  }
  if (buf[p] === C.CloseBracket) return p === close ? {total, rows, tsv: ob.subarray(0, 0)} : undefined
  for (;;) {
    if (buf[p] !== C.OpenBrace) return undefined
    p++
    if (o + RECORD_ROOM > ob.length) grow()
    const lineStart = o
    let field = 0
    let stA = -1
    let stB = -1
    let cstA = -1
    let cstB = -1
    for (;;) {
      // The next key: the field at `field` or a later one (absent fields are NULL).
      let f = field
      if (f === FIELD_COUNT) return undefined
      let k = KEYS[f]
      for (;;) {
        const words = KEY_WORDS[f]
        const n = k.length
        let i = 0
        if (p + n <= close) {
          for (let w = 0; w < words.length && view.getUint32(p + i, true) === words[w]; w++) i += 4
          if (i === words.length * 4) while (i < n && buf[p + i] === k[i]) i++
        }
        if (i === n) break
        if (++f === FIELD_COUNT) return undefined
        k = KEYS[f]
      }
      for (; field < f; field++) {
        ob[o++] = C.Backslash
        ob[o++] = 78 // N
        ob[o++] = C.Tab
      }
      p += k.length
      const kind = KINDS[f]
      if (kind === 0) {
        if (buf[p] !== C.Quote) return undefined
        const a = ++p
        let c = buf[p]
        while (c !== C.Quote) {
          // Control characters, DEL, escapes and anything beyond ASCII: the general path.
          if (c < 0x20 || c >= C.Del || c === C.Backslash || p >= close) return undefined
          if (o + VALUE_ROOM > ob.length) grow()
          ob[o++] = c
          c = buf[++p]
        }
        // A value over the limit: the general path names it.
        if (p - a > MAX_VALUE_BYTES) return undefined
        if (f === START_TIME) {
          stA = a
          stB = p
        } else if (f === CONNECTION_START_TIME) {
          cstA = a
          cstB = p
        }
        p++
      } else if (kind === 1) {
        let c = buf[p]
        if (c === C.Minus) {
          ob[o++] = c
          c = buf[++p]
        }
        const digitsFrom = p
        if (c < C.Zero || c > C.Nine) return undefined
        ob[o++] = c
        p++
        if (c === C.Zero) {
          // "0" alone: "-0" is not written back as itself, and leading zeros are not JSON.
          if (buf[digitsFrom - 1] === C.Minus) return undefined
        } else {
          c = buf[p]
          while (c >= C.Zero && c <= C.Nine) {
            ob[o++] = c
            c = buf[++p]
          }
          // Beyond 15 digits an integer may not be safe: the general path checks.
          if (p - digitsFrom > 15) return undefined
        }
      } else {
        const word = buf[p] === C.LowerT ? TRUE : buf[p] === C.LowerF ? FALSE : undefined
        if (!word) return undefined
        for (let i = 0; i < word.length; i++) {
          if (buf[p + i] !== word[i]) return undefined
          ob[o++] = word[i]
        }
        p += word.length
      }
      ob[o++] = C.Tab
      field = f + 1
      const c = buf[p]
      if (c === C.Comma) {
        p++
        if (buf[p] !== C.Quote) return undefined
        continue
      }
      if (c === C.CloseBrace) {
        p++
        break
      }
      return undefined
    }
    for (; field < FIELD_COUNT; field++) {
      ob[o++] = C.Backslash
      ob[o++] = 78 // N
      ob[o++] = C.Tab
    }
    if (o - lineStart > MAX_LINE_BYTES) return undefined
    const ts = timeOf(stA, stB) ?? timeOf(cstA, cstB) ?? headerTime
    if (windowed && (ts === undefined || (since !== undefined && ts < since) || (until !== undefined && ts >= until))) {
      o = lineStart
    } else {
      out.pos = o
      out.digits(ord)
      out.buf[out.pos++] = C.Tab
      out.digits(total)
      out.buf[out.pos++] = C.Tab
      if (ts === undefined) out.text(NULL_TOKEN)
      else if (ts >= 0 && Number.isSafeInteger(ts)) out.digits(ts)
      else out.text(String(ts))
      out.buf[out.pos++] = C.Newline
      o = out.pos
      rows++
    }
    total++
    const c = buf[p]
    if (c === C.Comma) {
      p++
      continue
    }
    if (c === C.CloseBracket) break
    return undefined
  }
  if (p !== close) return undefined
  return {total, rows, tsv: ob.subarray(0, o)}
}
