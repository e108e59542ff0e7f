import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {compileQuery, topBy} from '../lib/analysis/aggregate.js'
import {mergedNote} from '../lib/analysis/connections.js'
import {readConfig} from '../lib/config/settings.js'
import {loadNames} from '../lib/names.js'
import type {JsonValue} from '../lib/records/object.js'
import {parseWindow} from '../lib/records/time.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {checkQueryFields, requireKnownField} from '../lib/store/query-fields.js'
import {openStore} from '../lib/store/store.js'
import {strictFlag} from '../query-argv.js'
import {remoteFlags, remoteOptions} from '../lib/sinks/remote-flags.js'
import {topTable} from '../lib/ui/aggregates.js'
import {unicodeEnabled} from '../lib/ui/bars.js'
import {tableFlags} from '../lib/ui/flags.js'
import {formatCount, plural} from '../lib/ui/format.js'

export interface TopResult {
  by: string
  rows: {value: JsonValue; flows: number; bytes: number}[]
  /** Matching records without the field (left out of rows). */
  missing: number
  /** Matching records in all. */
  records: number
  /** Distinct values before --limit. */
  groups: number
  /** Records merged into connections (copies at a second interface, later windows); 0 with --raw or --remote. */
  merged?: number
}

export default class Top extends BaseCommand {
  static readsIndex = true

  static summary = 'Top values of any field: flows and bytes per value'

  static description = `Counts the records that match a query per value of a field, with their bytes
(bytes_from_initiator + bytes_from_target; a missing value counts as 0), largest first. Ties are broken by the
value. Records without the field are left out (their number is said on stderr). Values keep their JSON type in
--json (ports stay numbers). Names of instances and interfaces are shown beside IPs when a VPC snapshot
(flowlog demo, flowlog vpc export) or an API key is available.
A flow is a connection: its records at two interfaces of the VPC (and over consecutive windows) are merged and
stderr says how many (docs/connections.md); --raw counts records.`

  static examples = [
    {description: 'Who is knocking: top rejected sources', command: `<%= config.bin %> top --by initiator_ip --query 'action:rejected'`},
    {description: 'Most rejected target ports, as JSON', command: `<%= config.bin %> top --by target_port --query 'action:rejected' --limit 5 --json`},
    {description: 'Top talkers by bytes in the last hour', command: '<%= config.bin %> top --by initiator_ip --sort bytes --since 1h'},
    {description: 'Top rejected sources in what forward sent to IBM Cloud Logs', command: `<%= config.bin %> top --by initiator_ip -q 'action:rejected' --remote cloud-logs --since 24h`},
  ]

  static flags = {
    ...sourceFlags,
    ...windowFlags,
    by: Flags.string({description: 'the field to group by (initiator_ip, target_ip, target_port, action, …)', required: true, helpValue: 'FIELD'}),
    query: Flags.string({char: 'q', description: "only records matching this query (Log Analysis syntax); default: all", default: '', helpValue: 'QUERY'}),
    limit: Flags.integer({description: 'at most this many values (0 = all)', default: 10, min: 0}),
    sort: Flags.string({description: 'order by flows or by bytes', options: ['flows', 'bytes'], default: 'flows'}),
    names: Flags.boolean({description: 'show instance and interface names beside IPs', default: true, allowNo: true}),
    raw: Flags.boolean({description: 'count records: a connection logged at two interfaces counts twice (default: connections)'}),
    ...tableFlags,
    ...strictFlag,
    ...remoteFlags,
  }

  async run(): Promise<TopResult> {
    const {flags} = await this.parse(Top)
    const window = parseWindow(flags)
    requireKnownField(flags.by, '--by')
    const compiled = compileQuery(flags.query)
    for (const w of compiled.warnings) this.term.warn(w)
    for (const w of await checkQueryFields(this.home, flags.query, {strict: flags.strict})) this.term.warn(w)
    let result: TopResult
    if (flags.remote) {
      // --remote cloud-logs: count what Cloud Logs holds (docs/sinks.md §8.3).
      const {remoteTop} = await import('../lib/sinks/remote.js')
      const {capped, lucene: _lucene, ...counted} = await remoteTop({...remoteOptions(flags), query: flags.query, window, by: flags.by, limit: flags.limit, sort: flags.sort as 'flows' | 'bytes', env: process.env, config: await readConfig(this.home), userAgent: `flowlog/${this.config.version}`})
      if (capped) this.term.warn('Cloud Logs returned its maximum of results: narrow --since/--until for exact counts')
      result = {by: flags.by, ...counted}
    } else {
      if (flags.source) await this.pullSourceFirst(flags, window, 'counting')
      const store = await openStore(this.home, {readOnly: true})
      try {
        if (await this.indexIsEmpty(store)) {
          return {by: flags.by, rows: [], missing: 0, records: 0, groups: 0, merged: 0}
        }
        result = await topBy(store, {...compiled.spec, window, by: flags.by, limit: flags.limit, sort: flags.sort as 'flows' | 'bytes', connections: !flags.raw})
        if (result.merged) this.term.info(mergedNote(result.merged, result.records))
      } finally {
        await store.close()
      }
    }
    if (result.missing > 0) this.term.info(`${plural(result.missing, 'matching record')} without ${flags.by} left out`)
    if (!this.jsonEnabled()) await this.render(result, flags.names, flags.sort as 'flows' | 'bytes', flags.wide)
    return result
  }

  private async render(result: TopResult, withNames: boolean, sort: 'flows' | 'bytes', wide: boolean): Promise<void> {
    const t = this.term
    if (result.rows.length === 0) {
      t.info(result.records === 0 ? 'no records match' : `no matching record has ${result.by}`)
      return
    }
    const names = withNames && result.rows.some((r) => typeof r.value === 'string') ? (await loadNames(this.home, {config: await readConfig(this.home)})) : undefined
    for (const w of names?.warnings ?? []) t.warn(w)
    const width = this.term.tableWidth(wide)
    t.out(topTable(result.by, result.rows, result.records - result.missing, sort, {c: t.c, unicode: unicodeEnabled(), width, names: names?.names}))
    const shown = result.rows.length
    if (result.groups > shown) t.info(`top ${shown} of ${formatCount(result.groups)} values of ${result.by} (raise --limit, or --limit 0 for all)`)
  }
}
