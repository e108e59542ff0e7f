import {Args, Flags} from '@oclif/core'
import Table from 'cli-table3'

import {BaseCommand} from '../base-command.js'
import {type FlagShape, protectQueryWords, strictFlag} from '../query-argv.js'
import {checkQueryFields} from '../lib/store/query-fields.js'
import {compileQuery, computeStats, type GroupRow, type StatsResult} from '../lib/analysis/aggregate.js'
import {mergedNote} from '../lib/analysis/connections.js'
import {readConfig} from '../lib/config/settings.js'
import {parseInterval} from '../lib/follow/follow.js'
import {loadNames, type NameMap} from '../lib/names.js'
import {parseWindow} from '../lib/records/time.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {openStore} from '../lib/store/store.js'
import {bar, unicodeEnabled} from '../lib/ui/bars.js'
import {formatBytes, formatCount} from '../lib/ui/format.js'
import {chunk, sparkline} from '../lib/ui/sparkline.js'

function durationLabel(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  return `${ms / 1000}s`
}

export default class Stats extends BaseCommand {
  static summary = 'Accepted and rejected over time, top talkers, top rejected ports and sources'

  static description = `A summary of the records a query matches: accepted and rejected flows per interval as a sparkline and a
histogram, the top talkers (initiator IPs by bytes), the most rejected target ports and the most rejected sources.
Without --interval, buckets are 5 minutes wide, widened to a round interval when the time span is long.
--json gives the same numbers. Flows are connections: a connection's records at two interfaces of the VPC are
merged and stderr says how many (docs/connections.md); --raw counts records.`

  static examples = [
    '<%= config.bin %> stats',
    {description: 'The last 2 hours, 10-minute buckets', command: '<%= config.bin %> stats --since 2h --interval 10m'},
    {description: 'Only traffic to vsi1, as JSON', command: `<%= config.bin %> stats 'target_ip:==10.240.0.4' --json`},
    {description: 'Count records, not connections (vsi1 → vsi2 counts twice)', command: `<%= config.bin %> stats 'target_ip:==10.240.64.4' --raw`},
  ]

  // A query may start with '-' and span several words (see src/query-argv.ts).
  static strict = false

  static args = {
    query: Args.string({description: "only records matching this query; '' or '*' for all", default: ''}),
  }

  static flags = {
    ...sourceFlags,
    ...windowFlags,
    interval: Flags.string({description: 'bucket width (default 5m, widened for long spans)', helpValue: 'DURATION'}),
    top: Flags.integer({description: 'entries in each top list', default: 5, min: 1, max: 100}),
    names: Flags.boolean({description: 'show instance and interface names beside IPs', default: true, allowNo: true}),
    raw: Flags.boolean({description: 'count records: a connection logged at two interfaces counts twice (default: connections)'}),
    ...strictFlag,
  }

  async run(): Promise<StatsResult> {
    const {argv, flags} = await this.parse(Stats, protectQueryWords(this.argv, Stats.flags as Record<string, FlagShape>, 'flowlog stats'))
    const args = {query: (argv as string[]).join(' ')}
    const now = Date.now()
    const window = parseWindow(flags, now)
    const intervalMs = flags.interval === undefined ? undefined : parseInterval(flags.interval)
    const compiled = compileQuery(args.query ?? '')
    for (const w of compiled.warnings) this.term.warn(w)
    for (const w of await checkQueryFields(this.home, args.query, {strict: flags.strict})) this.term.warn(w)
    if (flags.source) await this.pullSourceFirst(flags, window, 'counting')
    const store = await openStore(this.home, {readOnly: true})
    let result: StatsResult
    try {
      await this.indexIsEmpty(store)
      result = await computeStats(store, {...compiled.spec, window, intervalMs, top: flags.top, now, connections: !flags.raw})
    } finally {
      await store.close()
    }
    if (result.merged) this.term.info(mergedNote(result.merged, result.totals.records))
    if (result.interval_widened) this.term.info(`buckets of ${durationLabel(result.interval_ms)} (pass --interval to choose)`)
    if (!this.jsonEnabled()) {
      const names = flags.names ? await loadNames(this.home, {config: await readConfig(this.home)}) : undefined
      for (const w of names?.warnings ?? []) this.term.warn(w)
      this.render(result, names?.names)
    }
    return result
  }

  private render(r: StatsResult, names?: NameMap): void {
    const t = this.term
    const c = t.c
    const unicode = unicodeEnabled()
    if (r.totals.records === 0) {
      t.info('no records match')
      return
    }
    t.out(
      `${c.bold(formatCount(r.totals.records))} records: ${c.green(formatCount(r.totals.accepted))} accepted, ` +
        `${c.red(formatCount(r.totals.rejected))} rejected` +
        (r.totals.other ? `, ${formatCount(r.totals.other)} other` : '') +
        (r.totals.untimed ? `, ${formatCount(r.totals.untimed)} without a time` : ''),
    )
    if (r.buckets.length) {
      const width = 60
      const max = Math.max(1, ...r.buckets.map((b) => Math.max(b.accepted, b.rejected)))
      t.out(`\n${c.bold(`per ${durationLabel(r.interval_ms)}`)} ${c.dim(`(${r.since} → ${r.until}; one mark per ${durationLabel(r.interval_ms)}, same scale)`)}`)
      for (const part of chunk(r.buckets, width)) {
        t.out(`${c.dim(part[0].start)}`)
        t.out(`  accepted │${c.green(sparkline(part.map((b) => b.accepted), {unicode, max}))}│`)
        t.out(`  rejected │${c.red(sparkline(part.map((b) => b.rejected), {unicode, max}))}│`)
      }
      if (r.buckets.length <= 48) {
        const table = new Table({
          head: ['start', 'accepted', '', 'rejected', ''].map((h) => c.bold(h)),
          colAligns: ['left', 'right', 'left', 'right', 'left'],
          style: {head: [], border: [], compact: true},
          chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
        })
        for (const b of r.buckets) {
          table.push([b.start, formatCount(b.accepted), c.green(bar(b.accepted, max, 20, {unicode})), formatCount(b.rejected), c.red(bar(b.rejected, max, 20, {unicode}))])
        }
        t.out(table.toString())
      }
    }
    const list = (title: string, head: string, rows: GroupRow[], measure: 'flows' | 'bytes') => {
      t.out(`\n${c.bold(title)}`)
      if (rows.length === 0) {
        t.out(c.dim('  (none)'))
        return
      }
      const max = Math.max(...rows.map((x) => x[measure]))
      const table = new Table({
        head: [head, 'flows', 'bytes', ''].map((h) => c.bold(h)),
        colAligns: ['left', 'right', 'right', 'left'],
        style: {head: [], border: [], compact: true},
        chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
      })
      for (const x of rows) {
        const value = typeof x.value === 'string' ? x.value : JSON.stringify(x.value)
        const name = typeof x.value === 'string' ? names?.get(x.value) : undefined
        table.push([name ? `${value} ${c.dim(`(${name})`)}` : value, formatCount(x.flows), formatBytes(x.bytes), c.cyan(bar(x[measure], max, 20, {unicode}))])
      }
      t.out(table.toString())
    }
    list('Top talkers (by bytes)', 'initiator_ip', r.top_talkers, 'bytes')
    list('Top rejected target ports', 'target_port', r.top_rejected_ports, 'flows')
    list('Top rejected sources', 'initiator_ip', r.top_rejected_sources, 'flows')
  }
}
