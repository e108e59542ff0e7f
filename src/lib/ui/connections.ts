import type {ChalkInstance} from 'chalk'
import Table from 'cli-table3'

import type {Connection} from '../analysis/connections.js'
import type {JsonObject} from '../records/object.js'
import {csvCell} from './records.js'
import {formatBytes, formatCount} from './format.js'
import {protocolName} from './records.js'

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

const endpoint = (ip: string | null, port: number | null) => `${ip ?? '?'}${port === null ? '' : `:${port}`}`

/** Where it was seen: each interface by its name (from the VPC snapshot), else its address, else its id. */
export function interfaceLabels(c: Connection, names?: Map<string, string>): string {
  return c.interfaces.map((i) => (i.ip ? names?.get(i.ip) ?? i.ip : i.id)).join(', ')
}

export function connectionTable(rows: Connection[], c: ChalkInstance, names?: Map<string, string>): string {
  const table = new Table({
    head: ['first', 'action', 'initiator', 'target', 'proto', 'bytes →/←', 'packets →/←', 'seen at', 'records'].map((h) => c.bold(h)),
    colAligns: ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'left', 'right'],
    style: {head: [], border: [], compact: true},
    chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
  })
  for (const x of rows) {
    const action = x.action === 'rejected' ? c.red(x.action) : x.action === 'accepted' ? c.green(x.action) : String(x.action ?? '')
    table.push([
      x.first_time ?? '',
      action,
      endpoint(x.initiator_ip, x.initiator_port),
      endpoint(x.target_ip, x.target_port),
      protocolName(x.transport_protocol ?? undefined),
      `${formatBytes(x.bytes_from_initiator)} / ${formatBytes(x.bytes_from_target)}`,
      `${formatCount(x.packets_from_initiator)} / ${formatCount(x.packets_from_target)}`,
      interfaceLabels(x, names),
      formatCount(x.records),
    ])
  }
  return table.toString()
}
