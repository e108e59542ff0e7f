import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type FlagShape, protectQueryWords, strictFlag} from '../query-argv.js'
import {compileQuery} from '../lib/analysis/aggregate.js'
import {type ConnectionList, listConnections, parseConnectionSort} from '../lib/analysis/connections.js'
import {readConfig} from '../lib/config/settings.js'
import {loadNames} from '../lib/names.js'
import {parseWindow} from '../lib/records/time.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {checkQueryFields} from '../lib/store/query-fields.js'
import {openStore} from '../lib/store/store.js'
import {connectionCsvHeader, connectionCsvRow, connectionTable} from '../lib/ui/connections.js'
import {tableFlags, timeFlags} from '../lib/ui/flags.js'
import {formatCount} from '../lib/ui/format.js'

export default class Connections extends BaseCommand {
  static summary = 'One row per connection: its ingress and egress records at two interfaces merged'

  static description = `A connection inside the VPC is logged twice (egress at the initiator's interface, ingress at the target's,
minutes apart) and a long one once per capture window. This lists each connection once: its 5-tuple and action,
first and last time, bytes and packets each way (each interface's total, counted once), the interfaces that saw
it and how many records were merged. Records merge when they share initiator and target address and port,
protocol and action, and their capture windows overlap (docs/connections.md). The query selects records first,
as in search. Newest first; --sort bytes|packets|records for the largest first.`

  static examples = [
    {description: "vsi1's calls to vsi2's app: each once, seen at both interfaces", command: `<%= config.bin %> connections 'target_ip:==10.240.64.4 target_port:3000'`},
    {description: 'The 5 largest connections as JSON', command: '<%= config.bin %> connections --sort bytes --limit 5 --json'},
    {description: 'Every rejected connection of the last 2 hours as CSV', command: `<%= config.bin %> connections 'action:rejected' --since 2h --limit 0 --output csv`},
  ]

  // A query may start with '-' and span several words (see src/query-argv.ts).
  static strict = false

  static args = {
    query: Args.string({description: "only records matching this query (as search); '' or '*' for all", default: ''}),
  }

  static flags = {
    ...sourceFlags,
    ...windowFlags,
    limit: Flags.integer({description: 'at most this many connections (0 = no limit)', default: 100, min: 0}),
    sort: Flags.string({description: 'time (newest first), bytes, packets or records (largest first); :asc reverses', default: 'time', helpValue: 'KEY[:asc|desc]'}),
    output: Flags.string({char: 'o', description: 'output format', options: ['table', 'json', 'ndjson', 'csv'], default: 'table'}),
    names: Flags.boolean({description: 'show interfaces by instance name when a VPC snapshot is available', default: true, allowNo: true}),
    ...tableFlags,
    ...timeFlags,
    ...strictFlag,
  }

  async run(): Promise<ConnectionList> {
    const {argv, flags} = await this.parse(Connections, protectQueryWords(this.argv, Connections.flags as Record<string, FlagShape>, 'flowlog connections'))
    const query = (argv as string[]).join(' ')
    const window = parseWindow(flags)
    const sort = parseConnectionSort(flags.sort)
    const compiled = compileQuery(query)
    for (const w of compiled.warnings) this.term.warn(w)
    for (const w of await checkQueryFields(this.home, query, {strict: flags.strict})) this.term.warn(w)
    if (flags.source) await this.pullSourceFirst(flags, window, 'listing')
    const store = await openStore(this.home, {readOnly: true})
    let result: ConnectionList
    try {
      if (await this.indexIsEmpty(store)) return {connections: [], total: 0, records: 0, merged: 0}
      result = await listConnections(store, {...compiled.spec, window, limit: flags.limit, ...sort})
    } finally {
      await store.close()
    }
    if (this.jsonEnabled()) return result
    const out = this.term.bufferedWriter()
    if (flags.output === 'json') out.write(JSON.stringify(result.connections, null, 2) + '\n')
    else if (flags.output === 'ndjson') for (const c of result.connections) out.write(JSON.stringify(c) + '\n')
    else if (flags.output === 'csv') out.write([connectionCsvHeader(), ...result.connections.map((c) => connectionCsvRow(c))].map((l) => l + '\n').join(''))
    else if (result.connections.length) {
      const names = flags.names ? await loadNames(this.home, {config: await readConfig(this.home)}) : undefined
      for (const w of names?.warnings ?? []) this.term.warn(w)
      out.write(connectionTable(result.connections, this.term.c, {width: this.term.tableWidth(flags.wide), names: names?.names, time: {local: flags.local}}) + '\n')
    }
    out.flush()
    if (result.total === 0) this.term.info('no records match')
    else {
      const shown = result.connections.length < result.total ? `showing ${formatCount(result.connections.length)} of ` : ''
      this.term.info(`${shown}${formatCount(result.total)} connections from ${formatCount(result.records)} records (${formatCount(result.merged)} merged)${shown ? '; raise --limit, or --limit 0 for all' : ''}`)
    }
    return result
  }
}
