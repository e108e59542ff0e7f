import {createGunzip, gunzipSync} from 'node:zlib'

import {DEFAULT_MAX_OBJECT_BYTES, formatSize, ObjectFormatError, ObjectLimitError} from './limits.js'
import {parseTimestamp} from './time.js'

export {ObjectFormatError, ObjectLimitError} from './limits.js'

export type JsonValue = string | number | boolean | null | JsonValue[] | {[k: string]: JsonValue}
export type JsonObject = {[k: string]: JsonValue}

export interface FlowLogObject {
  /** Header fields in the object's order, without `flow_logs` (`number_of_flow_logs` is kept here, raw). */
  header: JsonObject
  records: JsonObject[]
  warnings: string[]
  /** Normalised state: ok, skip data (data lost: counts are lower bounds), or unknown. */
  state: 'ok' | 'skip data' | 'unknown' | 'missing'
  /** The value of number_of_flow_logs when it disagrees with the array. */
  countMismatch?: {declared: unknown; actual: number}
}

const GZIP_MAGIC_0 = 0x1f
const GZIP_MAGIC_1 = 0x8b

/** An object's bytes after gunzip (when they start with the gzip magic; multi-member works), else as they are. */
export interface InflatedObject {
  bytes: Uint8Array
  gzip: boolean
}

function tooBig(limit: number, what: string): ObjectLimitError {
  return new ObjectLimitError(`${what} more than ${formatSize(limit)}, the limit per object (pull --max-object-size)`)
}

/** Thrown by inflateObject when `exact` is set and the gzip inflates past `exact` bytes. */
export class InflatedPastSize extends Error {}

/**
 * Inflate with a bound: never more than `limit` bytes out (a gzip bomb fails as its object, it does not take the
 * process). The expected size — `exact` when the caller counted it (countInflated), else the gzip trailer's ISIZE (the
 * last member's size mod 2^32) — sizes the output in one allocation. A stream that inflates past its trailer (several members, or a lying trailer) is inflated again bounded
 * by the limit itself — or, with `recount`, InflatedPastSize is thrown so that the caller counts it first
 * (countInflated, which keeps nothing).
 */
export function inflateObject(bytes: Uint8Array, limit = DEFAULT_MAX_OBJECT_BYTES, options: {exact?: number; recount?: boolean} = {}): InflatedObject {
  if (isGzip(bytes)) {
    const trailer = bytes.length >= 18 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32LE(bytes.length - 4) : 0
    const expected = options.exact ?? trailer
    if (options.exact !== undefined && expected > limit) throw tooBig(limit, 'inflates to')
    const bounded = (max: number, chunkSize: number) => gunzipSync(bytes, {chunkSize, maxOutputLength: max})
    try {
      // A trailer above the limit may be a bomb's or a truncated object's: counted (or bounded by the limit) below.
      if (expected <= limit) {
        try {
          return {bytes: bounded(Math.max(expected, 1), Math.max(expected + 64, 64)), gzip: true}
        } catch (error) {
          if ((error as {code?: string}).code !== 'ERR_BUFFER_TOO_LARGE') throw error
          if (options.exact !== undefined) throw tooBig(limit, 'inflates to')
        }
      }
      if (options.recount) throw new InflatedPastSize()
      try {
        return {bytes: bounded(limit, Math.min(Math.max(bytes.length * 16, 64 * 1024), 64 * 1024 * 1024)), gzip: true}
      } catch (error) {
        if ((error as {code?: string}).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig(limit, 'inflates to')
        throw error
      }
    } catch (error) {
      if (error instanceof ObjectLimitError || error instanceof InflatedPastSize) throw error
      throw new ObjectFormatError(`corrupt gzip: ${(error as Error).message}`)
    }
  }
  if (bytes.length > limit) throw tooBig(limit, `holds ${formatSize(bytes.length)},`)
  return {bytes, gzip: false}
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1
}

/** The inflated size of a gzip, counted in 1 MB chunks that are dropped at once; undefined past `limit`. */
export function countInflated(bytes: Uint8Array, limit: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const gz = createGunzip({chunkSize: 1024 * 1024})
    let n = 0
    gz.on('data', (chunk: Buffer) => {
      n += chunk.length
      if (n > limit) {
        gz.destroy()
        resolve(undefined)
      }
    })
    gz.on('end', () => resolve(n))
    gz.on('error', (error) => reject(new ObjectFormatError(`corrupt gzip: ${error.message}`)))
    gz.end(bytes)
  })
}

/** The JSON text of inflated bytes: UTF-8; a gzip'd text loses its byte order mark, a plain one what precedes its `{`. */
export function objectText({bytes, gzip}: InflatedObject): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  if (gzip) return stripBom(text)
  let i = 0
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t' || text[i] === '\uFEFF')) i++
  if (text[i] !== '{') throw new ObjectFormatError('not a flow-log object (neither gzip nor JSON)')
  // JSON.parse accepts leading whitespace but not a byte order mark.
  return text.slice(i)
}

/** Decode the bytes of an object: gunzip when they start with the gzip magic (multi-member works), else UTF-8 text. */
export function decodeObjectBytes(bytes: Uint8Array): string {
  return objectText(inflateObject(bytes))
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

/** Set an own property, also for a JSON key named `__proto__` (plain assignment would replace the prototype). */
export function setOwn(target: JsonObject, k: string, v: JsonValue): void {
  if (k === '__proto__') Object.defineProperty(target, k, {value: v, enumerable: true, writable: true, configurable: true})
  else target[k] = v
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Parse an object's JSON text into header and records, tolerating what real objects do (docs/flow-log-format.md §4). */
export function parseObjectText(text: string): FlowLogObject {
  const doc = parseDocument(text)
  const flowLogs = doc.flow_logs as JsonValue[]
  const records: JsonObject[] = []
  for (let i = 0; i < flowLogs.length; i++) {
    const r = flowLogs[i]
    if (!isPlainObject(r)) throw new ObjectFormatError(`wrong shape: flow_logs[${i}] is not an object`)
    records.push(r)
  }
  return describeObject(doc, records, records.length)
}

/**
 * The header of an object whose flow_logs array is read by other means (store/scan.ts): `text` is the object with an
 * empty flow_logs array. describeHeader then gives the same header, warnings and state as parseObjectText gives for
 * the whole text, once the number of records is known.
 */
export function parseObjectHeader(text: string): JsonObject {
  const doc = parseDocument(text)
  if ((doc.flow_logs as JsonValue[]).length !== 0) throw new ObjectFormatError('wrong shape: flow_logs is not the array that was read')
  return doc
}

export function describeHeader(doc: JsonObject, recordCount: number): FlowLogObject {
  return describeObject(doc, [], recordCount)
}

function parseDocument(text: string): JsonObject {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    throw new ObjectFormatError(`invalid JSON: ${(error as Error).message}`)
  }
  if (!isPlainObject(doc)) throw new ObjectFormatError('not a flow-log object: the JSON document is not an object')
  if (!('flow_logs' in doc)) throw new ObjectFormatError('not a flow-log object: no flow_logs array')
  if (!Array.isArray(doc.flow_logs)) throw new ObjectFormatError('wrong shape: flow_logs is not an array')
  return doc
}

function describeObject(doc: JsonObject, records: JsonObject[], recordCount: number): FlowLogObject {
  const warnings: string[] = []
  const header: JsonObject = {}
  for (const [k, v] of Object.entries(doc)) if (k !== 'flow_logs') setOwn(header, k, v)
  let countMismatch: FlowLogObject['countMismatch']
  if ('number_of_flow_logs' in header && Number(header.number_of_flow_logs) !== recordCount) {
    countMismatch = {declared: header.number_of_flow_logs, actual: recordCount}
    warnings.push(`number_of_flow_logs is ${JSON.stringify(header.number_of_flow_logs)} but flow_logs has ${recordCount} records`)
  }
  let state: FlowLogObject['state'] = 'missing'
  if (typeof header.state === 'string') {
    const s = header.state.toLowerCase()
    if (s === 'ok') state = 'ok'
    else if (s === 'skip data') {
      state = 'skip data'
      warnings.push('state is "skip data": the collector lost data in this window, counts are lower bounds')
    } else {
      state = 'unknown'
      warnings.push(`unknown state ${JSON.stringify(header.state)}`)
    }
  } else if (Object.hasOwn(header, 'state')) {
    // Present but not a string (a number, null, …): "any other value" is an unknown state (Q3), not a missing one.
    state = 'unknown'
    warnings.push(`unknown state ${JSON.stringify(header.state)}`)
  }
  return {header, records, warnings, state, countMismatch}
}

/** Read one object's bytes (gzip or JSON, sniffed) into its header and records. */
export function readObject(bytes: Uint8Array): FlowLogObject {
  return parseObjectText(decodeObjectBytes(bytes))
}

/**
 * A record's time (epoch ms): start_time, else connection_start_time, else capture_start_time (of the row, which holds
 * the header's fields). Undefined when none parses.
 */
export function recordTime(row: JsonObject): number | undefined {
  return parseTimestamp(row.start_time) ?? parseTimestamp(row.connection_start_time) ?? parseTimestamp(row.capture_start_time)
}
