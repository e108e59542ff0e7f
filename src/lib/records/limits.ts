import {isUtf8} from 'node:buffer'

import {FlowlogError} from '../errors.js'

/**
 * Bounds on what one object may hold (docs/flow-log-format.md, "What pull accepts and rejects"). An object past one of
 * them is a per-object failure naming the limit; the other objects load.
 */
export const DEFAULT_MAX_OBJECT_BYTES = 512 * 1024 * 1024
/** The longest string value (header or record, any depth), in bytes of its JSON text. */
export const MAX_VALUE_BYTES = 64 * 1024
/** The longest TSV line handed to DuckDB (its own line limit is 2 MB). */
export const MAX_LINE_BYTES = 1024 * 1024
/** The deepest nesting of arrays and objects (a flow-log object nests 3 levels). */
export const MAX_DEPTH = 64

/** A per-object error: the object is bad, the run goes on. */
export class ObjectFormatError extends FlowlogError {
  constructor(message: string) {
    super(message, 1, {code: 'object_format'})
  }
}

/** An object beyond a limit of docs/flow-log-format.md ("What pull accepts and rejects"). */
export class ObjectLimitError extends ObjectFormatError {}

export function formatSize(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MB`
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KB`
  return `${n} bytes`
}

/** `512`, `512MB`, `2g`, `100kb`, `1048576b`: bytes (a bare number is megabytes). */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(text)
  if (!m) return undefined
  const unit = (m[2] ?? 'mb').toLowerCase()[0]
  const scale = unit === 'b' ? 1 : unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : 1024 ** 3
  const n = Math.floor(Number(m[1]) * scale)
  return n > 0 ? n : undefined
}

/** A message cut to `max` characters (error lines name the problem, never repeat a huge value). */
export function cut(text: string, max = 200): string {
  const oneLine = text.length > max ? text.slice(0, max) : text
  return oneLine.length < text.length ? `${oneLine.slice(0, max - 1)}…` : oneLine
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * Check the JSON text of an object before JSON.parse builds it: every string value at most MAX_VALUE_BYTES, nesting
 * at most MAX_DEPTH, every integer exact in a double (beyond 2^53 JSON.parse would silently round most of them).
 * Throws ObjectLimitError naming the first problem. Returns the warnings (invalid UTF-8).
 */
export function inspectJsonBytes(bytes: Uint8Array, maxValue = MAX_VALUE_BYTES): string[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = b.length
  let depth = 0
  let i = 0
  while (i < n) {
    const c = b[i]
    if (c === 0x22) {
      // A string: find its closing quote (one not escaped by an odd run of backslashes).
      const start = i + 1
      let q = start
      for (;;) {
        q = b.indexOf(0x22, q)
        if (q < 0) return utf8Warnings(b) // unterminated: JSON.parse names it
        let s = q - 1
        while (s >= start && b[s] === 0x5c) s--
        if ((q - 1 - s) % 2 === 0) break
        q++
      }
      if (q - start > maxValue) throw new ObjectLimitError(`a string of ${formatSize(q - start)} at byte ${start} is over the ${formatSize(maxValue)} value limit`)
      i = q + 1
      continue
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) throw new ObjectLimitError(`nested deeper than ${MAX_DEPTH} levels (at byte ${i})`)
    } else if (c === 0x7d || c === 0x5d) depth--
    else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
      const s = i
      i++
      while (i < n && b[i] >= 0x30 && b[i] <= 0x39) i++
      const digits = i - s - (c === 0x2d ? 1 : 0)
      const next = i < n ? b[i] : 0
      // Fractions and exponents are decimals, not integers: JSON.parse reads them as doubles by definition.
      if (digits >= 16 && next !== 0x2e && next !== 0x65 && next !== 0x45) {
        const text = b.toString('latin1', s, i)
        const v = BigInt(text)
        // Beyond 2^53 a double holds only some integers: one it would round is refused, not silently changed.
        if ((v > MAX_SAFE || v < -MAX_SAFE) && (digits > 400 || BigInt(Number(text)) !== v)) {
          throw new ObjectLimitError(`the integer ${cut(text, 40)} (at byte ${s}) is beyond 2^53 and would not be kept exact`)
        }
      }
      continue
    }
    i++
  }
  return utf8Warnings(b)
}

function utf8Warnings(b: Buffer): string[] {
  return isUtf8(b) ? [] : ['holds invalid UTF-8: the bad bytes were replaced by U+FFFD']
}
