/** Rendering of `flowlog alert create | list | delete` (docs/sinks.md §8.4). */
import Table from 'cli-table3'

import type {AlertSummary} from '../sinks/alerts.js'
import type {AlertCreated, AlertDeleted} from '../sinks/alert-ops.js'
import {hint, info, type Line, out, type Palette} from './lines.js'

export function renderAlertCreated({result: r, webhook, lucene, category}: AlertCreated, options: {json?: boolean} = {}): Line[] {
  const lines: Line[] = []
  const data = (text: string) => {
    if (!options.json) lines.push(out(text))
  }
  const name = JSON.stringify(r.name)
  if (r.sink === 'cloud-logs') {
    if (r.dry_run) {
      lines.push(info(`dry run: would create Cloud Logs alert ${name} with the Lucene filter ${lucene}`))
      data(JSON.stringify(r.body, null, 2))
    } else {
      data(`created Cloud Logs alert ${name}: id ${r.viewid}`)
      lines.push(hint(`  it fires when ${r.trigger}; delete it with: flowlog alert delete ${r.viewid} --sink cloud-logs`))
    }
  } else if (r.dry_run) {
    lines.push(info(`dry run: would create view ${name} in category ${category}, posting to ${webhook}`))
  } else {
    data(`created alert ${name}: viewid ${r.viewid}`)
    lines.push(hint(`  it posts to ${webhook} when ${r.trigger}; delete it with: flowlog alert delete ${r.viewid}`))
  }
  return lines
}

export function renderAlertList(alerts: AlertSummary[], palette: Palette, options: {all?: boolean} = {}): Line[] {
  if (alerts.length === 0) return [info(options.all ? 'no views' : 'no alerts (flowlog alert create makes one)')]
  const c = palette.c
  const table = new Table({
    head: ['viewid', 'name', 'query', 'trigger', 'channels'].map((h) => c.bold(h)),
    style: {head: [], border: [], compact: true},
    chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
  })
  for (const a of alerts) table.push([a.viewid, a.name, a.query, a.trigger, a.channels.join('\n')])
  return [out(table.toString())]
}

export function renderAlertDeleted(d: AlertDeleted): Line[] {
  const name = JSON.stringify(d.deleted.name)
  return [out(d.sink === 'cloud-logs' ? `deleted Cloud Logs alert ${name} (id ${d.deleted.viewid})` : `deleted alert ${name} (viewid ${d.deleted.viewid})`)]
}
