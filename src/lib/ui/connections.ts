import type {ChalkInstance} from 'chalk'

import type {Connection} from '../analysis/connections.js'
import type {JsonObject} from '../records/object.js'
import {csvCell} from './records.js'
import {formatBytes, formatCount, formatTime, type TimeOptions} from './format.js'
import {actionCell, endpoint, protocolName, timeForm} from './records.js'
import {type Column, renderTable, type Step} from './table.js'

/** Renderers for `flowlog connections`: a table for people, csv/ndjson rows for machines. */

export const CONNECTION_CSV_FIELDS = [
  'first_time', 'last_time', 'action', 'initiator_ip', 'initiator_port', 'target_ip', 'target_port', 'transport_protocol',
  'bytes_from_initiator', 'packets_from_initiator', 'bytes_from_target', 'packets_from_target', 'interfaces', 'records',
] as const

export function connectionCsvHeader(): string {
  return CONNECTION_CSV_FIELDS.join(',')
}

/** One CSV line; `interfaces` is the interface ids separated by spaces. */
export function connectionCsvRow(c: Connection): string {
  return CONNECTION_CSV_FIELDS.map((f) => csvCell(f === 'interfaces' ? c.interfaces.map((i) => i.id).join(' ') : (c[f] as JsonObject[string]))).join(',')
}

/** Where it was seen: each interface by its name (from the VPC snapshot), else its address, else its id. */
export function interfaceLabels(c: Connection, names?: Map<string, string>): string {
  return c.interfaces.map((i) => (i.ip ? names?.get(i.ip) ?? i.ip : i.id)).join(', ')
}

export interface ConnectionTableOptions {
  /** The width to fit (Infinity: natural widths, --wide or not a terminal). */
  width?: number
  names?: Map<string, string>
  time?: TimeOptions
}

/**
 * `flowlog connections` for people, fitted to the width (src/lib/ui/table.ts): first, action, initiator, target
 * (service ports named: 22/ssh), proto, bytes and packets each way, where it was seen, records. What gives way first,
 * in the order of docs/cli.md "Tables": the interfaces cut, the year out of the time, packets, the interfaces and the
 * records count dropped, the time of day only, the initiator's port, bytes, proto; the endpoints are cut last.
 */
export function connectionTable(rows: Connection[], c: ChalkInstance, options: ConnectionTableOptions = {}): string {
  const time = (x: Connection) => (x.first_time ? formatTime(Date.parse(x.first_time), options.time) : '')
  const columns: Column<Connection>[] = [
    {id: 'first', head: (form) => (form === 0 ? 'first' : options.time?.local ? 'first local' : 'first UTC'), forms: 3, cell: (x, form) => timeForm(time(x), form)},
    {id: 'action', head: 'action', cell: (x) => actionCell(x.action, c)},
    // Form 1 leaves out the initiator's port (most often ephemeral) before anything of the address is cut.
    {id: 'initiator', head: 'initiator', forms: 2, min: 12, cell: (x, form) => (form === 0 ? endpoint(x.initiator_ip, x.initiator_port) : endpoint(x.initiator_ip, null))},
    {id: 'target', head: 'target', min: 12, cell: (x) => endpoint(x.target_ip, x.target_port, true)},
    {id: 'proto', head: 'proto', cell: (x) => protocolName(x.transport_protocol ?? undefined)},
    {id: 'bytes', head: 'bytes →/←', align: 'right', cell: (x) => `${formatBytes(x.bytes_from_initiator)} / ${formatBytes(x.bytes_from_target)}`},
    {id: 'packets', head: 'packets →/←', align: 'right', cell: (x) => `${formatCount(x.packets_from_initiator)} / ${formatCount(x.packets_from_target)}`},
    {id: 'seen', head: 'seen at', min: 10, cell: (x) => interfaceLabels(x, options.names)},
    {id: 'records', head: 'records', align: 'right', cell: (x) => formatCount(x.records)},
  ]
  const steps: Step[] = [
    {cut: 'seen'}, {shorten: 'first'}, {drop: 'packets'}, {drop: 'seen'}, {drop: 'records'}, {shorten: 'first'},
    {shorten: 'initiator'}, {drop: 'bytes'}, {drop: 'proto'}, {cut: 'target'}, {cut: 'initiator'},
  ]
  return renderTable(columns, rows, c, {width: options.width, steps})
}
