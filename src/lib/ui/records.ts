import type TableClass from 'cli-table3'
import {createRequire} from 'node:module'
import type {ChalkInstance} from 'chalk'

import type {JsonObject, JsonValue} from '../records/object.js'
import {PROTOCOL_NAMES, ROW_FIELDS} from '../records/schema.js'
import {formatBytes} from './format.js'

/** Renderers for flattened rows: a table for people, ndjson/csv/json for machines. */
export type RecordOutput = 'table' | 'json' | 'ndjson' | 'csv'

/** cli-table3 is loaded when a table is drawn: machine output (ndjson, csv, json) never pays for it. */
function tableClass(): typeof TableClass {
  return createRequire(import.meta.url)('cli-table3') as typeof TableClass
}

export const DEFAULT_CSV_FIELDS = ROW_FIELDS.map((f) => f.name)

export function protocolName(p: JsonValue | undefined): string {
  if (typeof p !== 'number') return p === undefined || p === null ? '' : String(p)
  return PROTOCOL_NAMES[p] ?? `proto ${p}`
}

export function project(row: JsonObject, fields: string[] | undefined): JsonObject {
  if (!fields) return row
  const out: JsonObject = {}
  for (const f of fields) if (Object.hasOwn(row, f)) out[f] = row[f]
  return out
}

export function csvCell(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return ''
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function csvHeader(fields: string[]): string {
  return fields.map((f) => csvCell(f)).join(',')
}

export function csvRow(row: JsonObject, fields: string[]): string {
  return fields.map((f) => csvCell(row[f])).join(',')
}

function endpoint(ip: JsonValue | undefined, port: JsonValue | undefined): string {
  const i = ip === undefined || ip === null ? '?' : String(ip)
  return port === undefined || port === null ? i : `${i}:${port}`
}

export interface TableColumn {
  head: string
  value: (row: JsonObject, time: string) => string
}

/** The record table: time, direction, action (coloured), initiator, target, protocol, bytes; or chosen fields. */
export function recordTable(rows: {row: JsonObject; time: string}[], c: ChalkInstance, fields?: string[], names?: Map<string, string>): string {
  const label = (ip: JsonValue | undefined) => {
    const n = typeof ip === 'string' ? names?.get(ip) : undefined
    return n ? ` ${c.dim(`(${n})`)}` : ''
  }
  const columns: TableColumn[] = fields
    ? fields.map((f) => ({head: f, value: (row) => (row[f] === undefined ? '' : typeof row[f] === 'object' ? JSON.stringify(row[f]) : String(row[f]))}))
    : [
        {head: 'time', value: (_r, t) => t},
        {head: 'dir', value: (r) => (r.direction === undefined ? '' : String(r.direction))},
        {
          head: 'action',
          value: (r) => (r.action === 'rejected' ? c.red('rejected') : r.action === 'accepted' ? c.green('accepted') : String(r.action ?? '')),
        },
        {head: 'initiator', value: (r) => endpoint(r.initiator_ip, r.initiator_port) + label(r.initiator_ip)},
        {head: 'target', value: (r) => endpoint(r.target_ip, r.target_port) + label(r.target_ip)},
        {head: 'proto', value: (r) => protocolName(r.transport_protocol)},
        {
          head: 'bytes',
          value: (r) => {
            const a = typeof r.bytes_from_initiator === 'number' ? r.bytes_from_initiator : 0
            const b = typeof r.bytes_from_target === 'number' ? r.bytes_from_target : 0
            return formatBytes(a + b)
          },
        },
      ]
  const Table = tableClass()
  const table = new Table({
    head: columns.map((col) => c.bold(col.head)),
    style: {head: [], border: [], compact: true},
    chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
  })
  for (const {row, time} of rows) table.push(columns.map((col) => col.value(row, time)))
  return table.toString()
}
