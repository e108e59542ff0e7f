import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type FlagShape, protectQueryWords, strictFlag} from '../query-argv.js'
import {checkQueryFields} from '../lib/store/query-fields.js'
import {compileQuery, computeStats, type StatsResult} from '../lib/analysis/aggregate.js'
import {mergedNote} from '../lib/analysis/connections.js'
import {readConfig} from '../lib/config/settings.js'
import {parseInterval} from '../lib/follow/follow.js'
import {loadNames, type NameMap} from '../lib/names.js'
import {parseWindow} from '../lib/records/time.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {openStore} from '../lib/store/store.js'
import {durationLabel, statsReport} from '../lib/ui/aggregates.js'
import {unicodeEnabled} from '../lib/ui/bars.js'
import {tableFlags, timeFlags} from '../lib/ui/flags.js'

export default class Stats extends BaseCommand {
  static readsIndex = true

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
    ...tableFlags,
    ...timeFlags,
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
      this.render(result, flags, names?.names)
    }
    return result
  }

  private render(r: StatsResult, flags: {wide: boolean; local: boolean}, names?: NameMap): void {
    if (r.totals.records === 0) {
      this.term.info('no records match')
      return
    }
    const t = this.term
    for (const line of statsReport(r, {c: t.c, unicode: unicodeEnabled(), width: t.tableWidth(flags.wide), names, time: {local: flags.local}})) t.out(line)
  }
}
