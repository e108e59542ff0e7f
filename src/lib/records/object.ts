import {gunzipSync} from 'node:zlib'

import {FlowlogError} from '../errors.js'
import {parseTimestamp} from './time.js'

/** A per-object error: the object is bad, the run goes on. */
export class ObjectFormatError extends FlowlogError {
  constructor(message: string) {
    super(message, 1, {code: 'object_format'})
  }
}

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

export function inflateObject(bytes: Uint8Array): InflatedObject {
  if (bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1) {
    try {
      // Output chunks sized for flow-log text (about ten times its gzip) spare zlib most of its chunk copying.
      return {bytes: gunzipSync(bytes, {chunkSize: Math.min(Math.max(bytes.length * 16, 64 * 1024), 64 * 1024 * 1024)}), gzip: true}
    } catch (error) {
      throw new ObjectFormatError(`corrupt gzip: ${(error as Error).message}`)
    }
  }
  return {bytes, gzip: false}
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

/** Parse an object's JSON text into header and records, tolerating what real objects do (flow-log-format.md §4). */
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
