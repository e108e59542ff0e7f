import type {ChalkInstance} from 'chalk'

import type {JsonObject, JsonValue} from '../records/object.js'
import {PROTOCOL_NAMES, ROW_FIELDS} from '../records/schema.js'
import {formatBytes, formatCount, formatTime, portLabel, type TimeOptions} from './format.js'
import {BoxRenderer, type Column, fitLayout, type Step, visibleLength} from './table.js'

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

/** `ip:port` (`?` for a missing address); `service`: the port with its name, `22/ssh`. */
export function endpoint(ip: JsonValue | undefined, port: JsonValue | undefined, service = false): string {
  const i = ip === undefined || ip === null ? '?' : String(ip)
  return port === undefined || port === null ? i : `${i}:${service ? portLabel(port) : port}`
}

export interface TableColumn extends Column<TableRow> {
  /** The cell in its first (longest) form. */
  value: (row: JsonObject, time: string) => string
}

function column(col: Omit<TableColumn, 'value' | 'cell'> & {cell: (row: JsonObject, time: string, form: number) => string}): TableColumn {
  return {...col, cell: (r, form) => col.cell(r.row, r.time, form), value: (row, time) => col.cell(row, time, 0)}
}

/** A time cell (`2026-12-07T14:45:32Z`, or local `…+01:00`) in its forms: whole, without the year, the time of day. */
export function timeForm(time: string, form: number): string {
  if (form === 0 || time.length < 19) return time
  return form === 1 ? `${time.slice(5, 10)} ${time.slice(11, 19)}` : time.slice(11, 19)
}

/** The action, red when rejected, green when accepted. */
export function actionCell(action: JsonValue | undefined, c: ChalkInstance): string {
  return action === 'rejected' ? c.red('rejected') : action === 'accepted' ? c.green('accepted') : String(action ?? '')
}

const num = (v: JsonValue | undefined) => (typeof v === 'number' ? v : 0)

/**
 * The columns of the record table — time, direction, action (coloured), initiator, target (service ports named:
 * 22/ssh; instance names beside IPs), protocol, bytes and packets each way (↑ from the initiator, ↓ from the target) —
 * or the chosen fields.
 */
export function recordColumns(c: ChalkInstance, fields?: string[], names?: Map<string, string>, options: {local?: boolean} = {}): TableColumn[] {
  const label = (ip: JsonValue | undefined) => {
    const n = typeof ip === 'string' ? names?.get(ip) : undefined
    return n ? ` ${c.dim(`(${n})`)}` : ''
  }
  if (fields) {
    return fields.map((f) =>
      column({id: f, head: f, min: 4, cell: (row) => (row[f] === undefined ? '' : typeof row[f] === 'object' ? JSON.stringify(row[f]) : String(row[f]))}),
    )
  }
  return [
    column({id: 'time', head: (form) => (form === 0 ? 'time' : options.local ? 'time local' : 'time UTC'), forms: 3, cell: (_r, t, form) => timeForm(t, form)}),
    column({id: 'dir', head: 'dir', cell: (r) => (r.direction === undefined ? '' : String(r.direction))}),
    column({
      id: 'action',
      head: 'action',
      cell: (r) => actionCell(r.action, c),
    }),
    column({id: 'initiator', head: 'initiator', forms: 2, min: 15, cell: (r, _t, form) => endpoint(r.initiator_ip, r.initiator_port) + (form === 0 ? label(r.initiator_ip) : '')}),
    column({id: 'target', head: 'target', forms: 2, min: 15, cell: (r, _t, form) => endpoint(r.target_ip, r.target_port, true) + (form === 0 ? label(r.target_ip) : '')}),
    column({id: 'proto', head: 'proto', cell: (r) => protocolName(r.transport_protocol)}),
    column({id: 'bytes', head: 'bytes ↑/↓', align: 'right', cell: (r) => `${formatBytes(num(r.bytes_from_initiator))}/${formatBytes(num(r.bytes_from_target))}`}),
    column({id: 'packets', head: 'pkts ↑/↓', align: 'right', cell: (r) => `${formatCount(num(r.packets_from_initiator))}/${formatCount(num(r.packets_from_target))}`}),
  ]
}

/**
 * What gives way first when the record table is too wide (docs/cli.md): names beside IPs, packets, direction, the
 * year of the time, bytes, protocol, the date; then initiator and target are cut.
 */
export const RECORD_TABLE_STEPS: Step[] = [
  {shorten: 'target'},
  {shorten: 'initiator'},
  {drop: 'packets'},
  {drop: 'dir'},
  {shorten: 'time'},
  {drop: 'bytes'},
  {drop: 'proto'},
  {shorten: 'time'},
  {cut: 'initiator'},
  {cut: 'target'},
]

export interface TableRow {
  row: JsonObject
  time: string
}

export interface TableStreamOptions {
  /** Rows read before the column widths are fixed (default 100): later rows are cut or padded to those widths. */
  firstPage?: number
  /** No cell wider than this (default 60 characters); longer values end in `…`. */
  maxCell?: number
  /** The width to fit (default Infinity). */
  width?: number
  /** Reduction steps when the width is too small (default: RECORD_TABLE_STEPS for the record columns). */
  steps?: Step[]
}

/**
 * A table that streams: the layout (which columns, in which form, how wide) comes from the first page of rows and the
 * width to fit, then every row is one line written as it comes, so a table of millions of rows takes bounded memory
 * and linear time. Same look as the other tables (src/lib/ui/table.ts).
 */
export class TableStream {
  private readonly rows: TableRow[] = []
  private box: BoxRenderer<TableRow> | undefined
  private readonly firstPage: number
  private readonly maxCell: number

  constructor(
    private readonly columns: TableColumn[],
    private readonly c: ChalkInstance,
    private readonly write: (text: string) => void,
    private readonly options: TableStreamOptions = {},
  ) {
    this.firstPage = Math.max(1, options.firstPage ?? 100)
    this.maxCell = Math.max(4, options.maxCell ?? 60)
  }

  push(row: JsonObject, time: string): void {
    if (this.box) this.write(this.box.row({row, time}))
    else {
      this.rows.push({row, time})
      if (this.rows.length >= this.firstPage) this.start()
    }
  }

  /** Ends the table (writes the bottom line); returns whether anything was written. */
  end(): boolean {
    if (!this.box) {
      if (this.rows.length === 0) return false
      this.start()
    }
    this.write(this.box!.bottom())
    return true
  }

  private start(): void {
    const natural = (i: number, form: number) => {
      const col = this.columns[i]
      let w = visibleLength(typeof col.head === 'function' ? col.head(form) : col.head)
      for (const r of this.rows) w = Math.max(w, visibleLength(col.cell!(r, form)))
      return w
    }
    const steps = this.options.steps ?? (this.columns.some((col) => col.id === 'initiator') ? RECORD_TABLE_STEPS : undefined)
    const layout = fitLayout(this.columns, natural, {width: this.options.width, maxCell: this.maxCell, steps})
    this.box = new BoxRenderer(this.columns, layout, this.c, this.options.width)
    this.write(this.box.top())
    for (const r of this.rows) this.write(this.box.row(r))
    this.rows.length = 0
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
export function recordTable(rows: TableRow[], c: ChalkInstance, fields?: string[], names?: Map<string, string>, width?: number): string {
  const parts: string[] = []
  const table = new TableStream(recordColumns(c, fields, names), c, (t) => parts.push(t), {firstPage: Math.max(1, rows.length), width})
  for (const {row, time} of rows) table.push(row, time)
  table.end()
  return parts.join('').replace(/\n$/, '')
}

export interface RecordWriterOptions {
  /** `json-doc`: the records are kept for the command's --json result instead of written. */
  output: RecordOutput | 'json-doc'
  fields?: string[]
  c: ChalkInstance
  write: (text: string) => void
  /** Names beside IPs in the table (awaited at the first row, so they load while the query runs). */
  names?: Promise<Map<string, string> | undefined>
  /** The table's width (Infinity: natural widths). */
  width?: number
  /** --wide: no cell is cut to 60 characters either. */
  wide?: boolean
  time?: TimeOptions
}

/**
 * Every record a command prints goes through this: the table (streaming, fitted to the width), JSON, NDJSON or CSV,
 * one record at a time.
 */
export class RecordWriter {
  readonly records: JsonObject[] = []
  private table: TableStream | undefined
  private count = 0
  private readonly o: RecordWriterOptions

  constructor(options: RecordWriterOptions) {
    this.o = options
    if (options.output === 'csv') options.write(csvHeader(options.fields ?? DEFAULT_CSV_FIELDS) + '\n')
    if (options.output === 'json') options.write('[')
  }

  /** Whether push needs the parsed row (ndjson without --fields writes the line as it is). */
  get needsRow(): boolean {
    return this.o.output !== 'ndjson' || this.o.fields !== undefined
  }

  async push(line: string, row: JsonObject | undefined, ts: number | null): Promise<void> {
    const o = this.o
    const get = () => row ?? (JSON.parse(line) as JsonObject)
    switch (o.output) {
      case 'ndjson':
        o.write((o.fields ? JSON.stringify(project(get(), o.fields)) : line) + '\n')
        break
      case 'json':
        o.write((this.count ? ',\n' : '\n') + JSON.stringify(project(get(), o.fields)))
        break
      case 'csv':
        o.write(csvRow(get(), o.fields ?? DEFAULT_CSV_FIELDS) + '\n')
        break
      case 'json-doc':
        this.records.push(project(get(), o.fields))
        break
      default:
        this.table ??= new TableStream(recordColumns(o.c, o.fields, await o.names, o.time), o.c, o.write, {width: o.width, maxCell: o.wide ? Number.POSITIVE_INFINITY : undefined})
        this.table.push(get(), formatTime(ts, o.time))
    }
    this.count++
  }

  /** Ends the output (the JSON array's bracket, the table's bottom line); `written` counts lines written elsewhere. */
  end(written = 0): void {
    if (this.o.output === 'json') this.o.write(this.count + written ? '\n]\n' : ']\n')
    this.table?.end()
  }
}
