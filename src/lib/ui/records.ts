import type {ChalkInstance} from 'chalk'

import type {JsonObject, JsonValue} from '../records/object.js'
import {PROTOCOL_NAMES, ROW_FIELDS} from '../records/schema.js'
import {formatBytes} from './format.js'

/** Renderers for flattened rows: a table for people, ndjson/csv/json for machines. */
export type RecordOutput = 'table' | 'json' | 'ndjson' | 'csv'

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

/** The columns of the record table: time, direction, action (coloured), initiator, target, protocol, bytes; or chosen fields. */
export function recordColumns(c: ChalkInstance, fields?: string[], names?: Map<string, string>): TableColumn[] {
  const label = (ip: JsonValue | undefined) => {
    const n = typeof ip === 'string' ? names?.get(ip) : undefined
    return n ? ` ${c.dim(`(${n})`)}` : ''
  }
  return fields
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
}

export interface TableRow {
  row: JsonObject
  time: string
}

export interface TableStreamOptions {
  /** Rows read before the column widths are fixed (default 100): later rows are cut or padded to those widths. */
  firstPage?: number
  /** No cell wider than this (default 60 characters); longer values end in `…`. */
  maxCell?: number
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;]*m/g
const visible = (s: string) => (s.includes('\u001B') ? s.replace(ANSI, '') : s)

/**
 * A table that streams: the column widths come from the first page of rows, then every row is one line written as it
 * comes, so a table of millions of rows takes bounded memory and linear time. Same look as the cli-table3 tables
 * elsewhere (box lines, one space of padding, bold heads).
 */
export class TableStream {
  private readonly cells: string[][] = []
  private widths: number[] | undefined
  private readonly firstPage: number
  private readonly maxCell: number

  constructor(
    private readonly columns: TableColumn[],
    private readonly c: ChalkInstance,
    private readonly write: (text: string) => void,
    options: TableStreamOptions = {},
  ) {
    this.firstPage = Math.max(1, options.firstPage ?? 100)
    this.maxCell = Math.max(4, options.maxCell ?? 60)
  }

  push(row: JsonObject, time: string): void {
    const cells = this.columns.map((col) => col.value(row, time))
    if (this.widths) this.write(this.line(cells))
    else {
      this.cells.push(cells)
      if (this.cells.length >= this.firstPage) this.start()
    }
  }

  /** Ends the table (writes the bottom line); returns whether anything was written. */
  end(): boolean {
    if (!this.widths) {
      if (this.cells.length === 0) return false
      this.start()
    }
    this.write('└' + this.widths!.map((w) => '─'.repeat(w + 2)).join('┴') + '┘\n')
    return true
  }

  private start(): void {
    const widths = this.columns.map((col) => Math.min(this.maxCell, visible(col.head).length))
    for (const cells of this.cells) for (let i = 0; i < cells.length; i++) widths[i] = Math.max(widths[i], Math.min(this.maxCell, visible(cells[i]).length))
    this.widths = widths
    const head = this.columns.map((col) => this.c.bold(col.head))
    this.write('┌' + widths.map((w) => '─'.repeat(w + 2)).join('┬') + '┐\n' + this.line(head))
    for (const cells of this.cells) this.write(this.line(cells))
    this.cells.length = 0
  }

  private line(cells: string[]): string {
    let out = '│'
    for (let i = 0; i < cells.length; i++) {
      const w = this.widths![i]
      let cell = cells[i]
      let len = visible(cell).length
      if (len > w) {
        cell = visible(cell).slice(0, w - 1) + '…'
        len = w
      }
      out += ' ' + cell + ' '.repeat(w - len + 1) + '│'
    }
    return out + '\n'
  }
}

/** Write a table of rows as they come (see TableStream); returns how many rows were written. */
export async function writeTable(
  rows: AsyncIterable<TableRow> | Iterable<TableRow>,
  columns: TableColumn[],
  c: ChalkInstance,
  write: (text: string) => void,
  options?: TableStreamOptions,
): Promise<number> {
  const table = new TableStream(columns, c, write, options)
  let n = 0
  for await (const {row, time} of rows) {
    table.push(row, time)
    n++
  }
  table.end()
  return n
}

/** The record table as one string (small tables: explore, tests). */
export function recordTable(rows: TableRow[], c: ChalkInstance, fields?: string[], names?: Map<string, string>): string {
  const parts: string[] = []
  const table = new TableStream(recordColumns(c, fields, names), c, (t) => parts.push(t), {firstPage: Math.max(1, rows.length)})
  for (const {row, time} of rows) table.push(row, time)
  table.end()
  return parts.join('').replace(/\n$/, '')
}
