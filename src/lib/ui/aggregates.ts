import type {ChalkInstance} from 'chalk'

import type {GroupRow, StatsResult} from '../analysis/aggregate.js'
import type {JsonValue} from '../records/object.js'
import {bar} from './bars.js'
import {formatBytes, formatCount, formatTime, portLabel, type TimeOptions} from './format.js'
import {chunk, sparkline} from './sparkline.js'
import {timeForm} from './records.js'
import {type Column, renderTable, type Step} from './table.js'

/** The tables of `flowlog top` and `flowlog stats`, fitted to the width (src/lib/ui/table.ts). */
export interface AggregateRenderOptions {
  c: ChalkInstance
  unicode: boolean
  /** The width to fit (Infinity: natural widths). */
  width: number
  names?: Map<string, string>
  time?: TimeOptions
}

const PORT_FIELDS = new Set(['target_port', 'initiator_port'])

/** A grouped value as a cell: ports with their service name (22/ssh), IPs with their instance name when known. */
export function valueLabel(field: string, value: JsonValue, names: Map<string, string> | undefined, c: ChalkInstance, withName = true): string {
  if (PORT_FIELDS.has(field) && typeof value === 'number') return portLabel(value)
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  const name = withName && typeof value === 'string' ? names?.get(value) : undefined
  return name ? `${text} ${c.dim(`(${name})`)}` : text
}

export function durationLabel(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  return `${ms / 1000}s`
}

interface TopRow extends GroupRow {
  rank: number
}

/** `flowlog top`: rank, value, flows, share, bytes, and a bar of the sorted measure (its head names it). */
export function topTable(by: string, rows: GroupRow[], total: number, sort: 'flows' | 'bytes', o: AggregateRenderOptions): string {
  const max = Math.max(...rows.map((r) => r[sort]))
  const columns: Column<TopRow>[] = [
    {id: '#', head: '#', align: 'right', cell: (r) => String(r.rank)},
    {id: 'value', head: by, forms: 2, min: 8, cell: (r, form) => valueLabel(by, r.value, o.names, o.c, form === 0)},
    {id: 'flows', head: 'flows', align: 'right', cell: (r) => formatCount(r.flows)},
    {id: '%', head: '%', align: 'right', cell: (r) => (total > 0 ? `${((100 * r.flows) / total).toFixed(1)}` : '')},
    {id: 'bytes', head: 'bytes', align: 'right', cell: (r) => formatBytes(r.bytes)},
    {id: 'bar', head: `${sort} bar`, fill: {min: 8, max: 30, render: (r, w) => o.c.cyan(bar(r[sort], max, w, {unicode: o.unicode}))}},
  ]
  const steps: Step[] = [{cut: 'bar'}, {shorten: 'value'}, {drop: 'bar'}, {drop: '%'}, {cut: 'value'}, {drop: 'bytes'}]
  return renderTable(columns, rows.map((r, i) => ({...r, rank: i + 1})), o.c, {width: o.width, steps})
}

/** `flowlog stats`: the totals line, sparklines with their scale, the per-bucket table, the three top lists. */
export function statsReport(r: StatsResult, o: AggregateRenderOptions): string[] {
  const {c, unicode} = o
  const out: string[] = []
  const time = (iso: string | null) => (iso ? formatTime(Date.parse(iso), o.time) : '')
  out.push(
    `${c.bold(formatCount(r.totals.records))} records: ${c.green(formatCount(r.totals.accepted))} accepted, ` +
      `${c.red(formatCount(r.totals.rejected))} rejected` +
      (r.totals.other ? `, ${formatCount(r.totals.other)} other` : '') +
      (r.totals.untimed ? `, ${formatCount(r.totals.untimed)} without a time` : ''),
  )
  const every = durationLabel(r.interval_ms)
  if (r.buckets.length) {
    const labelWidth = '  accepted │'.length + 1
    const width = Math.max(10, Math.min(60, (Number.isFinite(o.width) ? o.width : 80) - labelWidth))
    const max = Math.max(1, ...r.buckets.map((b) => Math.max(b.accepted, b.rejected)))
    out.push('', `${c.bold(`per ${every}`)} ${c.dim(`(${time(r.since)} → ${time(r.until)})`)}`)
    for (const part of chunk(r.buckets, width)) {
      out.push(c.dim(time(part[0].start)))
      out.push(`  accepted │${c.green(sparkline(part.map((b) => b.accepted), {unicode, max}))}│`)
      out.push(`  rejected │${c.red(sparkline(part.map((b) => b.rejected), {unicode, max}))}│`)
    }
    const [low, high] = unicode ? ['▁', '█'] : ['.', '@']
    out.push(c.dim(`  scale: ${low} 1 … ${high} ${formatCount(max)} flows per ${every}; blank: none`))
    if (r.buckets.length <= 48) {
      type B = StatsResult['buckets'][number]
      const columns: Column<B>[] = [
        {id: 'start', head: (form) => (form === 0 ? 'start' : o.time?.local ? 'start local' : 'start UTC'), forms: 3, cell: (b, form) => timeForm(time(b.start), form)},
        {id: 'accepted', head: 'accepted', align: 'right', cell: (b) => formatCount(b.accepted)},
        {id: 'abar', head: 'accepted bar', fill: {min: 6, max: 20, render: (b, w) => c.green(bar(b.accepted, max, w, {unicode}))}},
        {id: 'rejected', head: 'rejected', align: 'right', cell: (b) => formatCount(b.rejected)},
        {id: 'rbar', head: 'rejected bar', fill: {min: 6, max: 20, render: (b, w) => c.red(bar(b.rejected, max, w, {unicode}))}},
      ]
      const steps: Step[] = [{cut: 'rbar'}, {cut: 'abar'}, {shorten: 'start'}, {shorten: 'start'}, {drop: 'rbar'}, {drop: 'abar'}]
      out.push(renderTable(columns, r.buckets, c, {width: o.width, steps}))
    }
  }
  const list = (title: string, field: string, rows: GroupRow[], measure: 'flows' | 'bytes') => {
    out.push('', c.bold(title))
    if (rows.length === 0) {
      out.push(c.dim('  (none)'))
      return
    }
    const max = Math.max(...rows.map((x) => x[measure]))
    const columns: Column<GroupRow>[] = [
      {id: 'value', head: field, forms: 2, min: 8, cell: (x, form) => valueLabel(field, x.value, o.names, c, form === 0)},
      {id: 'flows', head: 'flows', align: 'right', cell: (x) => formatCount(x.flows)},
      {id: 'bytes', head: 'bytes', align: 'right', cell: (x) => formatBytes(x.bytes)},
      {id: 'bar', head: `${measure} bar`, fill: {min: 8, max: 20, render: (x, w) => c.cyan(bar(x[measure], max, w, {unicode}))}},
    ]
    out.push(renderTable(columns, rows, c, {width: o.width, steps: [{cut: 'bar'}, {shorten: 'value'}, {drop: 'bar'}, {cut: 'value'}]}))
  }
  list('Top talkers (by bytes)', 'initiator_ip', r.top_talkers, 'bytes')
  list('Top rejected target ports', 'target_port', r.top_rejected_ports, 'flows')
  list('Top rejected sources', 'initiator_ip', r.top_rejected_sources, 'flows')
  return out
}
