import {createHash} from 'node:crypto'

import type {FlowLogObject, JsonObject} from './object.js'

/**
 * The flattened row (docs/sinks.md §1.1): the header's fields without flow_logs and number_of_flow_logs, then the
 * record's fields (a record field with a header field's name wins, in the header's position), then `key` (the raw COS
 * key, set last so it replaces any `key` in the object).
 */
export function flattenRow(header: JsonObject, record: JsonObject, key: string): JsonObject {
  const row: JsonObject = {}
  for (const k in header) if (k !== 'number_of_flow_logs' && k !== 'flow_logs') setField(row, k, header[k])
  for (const k in record) setField(row, k, record[k])
  if ('key' in row) delete row.key
  row.key = key
  return row
}

/** Assign own properties safely: a JSON key named `__proto__` stays an ordinary field. */
function setField(row: JsonObject, k: string, v: JsonObject[string]): void {
  if (k === '__proto__') Object.defineProperty(row, k, {value: v, enumerable: true, writable: true, configurable: true})
  else row[k] = v
}

export function flattenObject(object: FlowLogObject, key: string): JsonObject[] {
  return object.records.map((r) => flattenRow(object.header, r, key))
}

/** `line`: the compact JSON of the flattened row. */
export function rowLine(row: JsonObject): string {
  return JSON.stringify(row)
}

/** record_id = first 32 hex chars of SHA-256 over `key#index` (docs/sinks.md §1.2). */
export function recordId(key: string, index: number): string {
  return createHash('sha256').update(`${key}#${index}`, 'utf8').digest('hex').slice(0, 32)
}
