import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type FlagShape, protectQueryWords, strictFlag} from '../query-argv.js'
import {InterruptedError, UsageError} from '../lib/errors.js'
import {sourceFlags} from '../lib/sources/flags.js'
import {KNOWN_FIELDS, unknownQueryFields} from '../lib/store/query-fields.js'
import {nearest} from '../lib/suggest.js'
import type {ExploreSummary} from '../lib/ui/explore/run.js'

export default class Explore extends BaseCommand {
  static readsIndex = true

  static summary = 'Investigate in a full-screen terminal app: query, scroll, look at a record, pivot'

  static description = `A full-screen app over the local index (it needs a terminal; use search in scripts and pipes). Type a query
(Log Analysis syntax; Up/Down: past queries, Tab: complete a field name), scroll the matches newest first
(PgUp/PgDn; more load as you go), look at the selected record's fields, and pivot on any of them: filter in (+),
filter out (-), the same connection (c), ± 5 minutes (t), why it was rejected (w: the triage verdict, and the fix
unless the source is a scanner), the top values of a field (s). Esc goes back, ? shows the keys, q quits.
The index is opened once for the session; with --follow new objects are pulled from the source into it every
--interval and new matches appear on top (the index is then held for writing until you quit).`

  static examples = [
    '<%= config.bin %> explore',
    {description: 'Start from a query', command: `<%= config.bin %> explore 'action:rejected target_port:22'`},
    {description: 'Live: pull new objects from the folder `flowlog demo --dir ./flowlogs` wrote, every minute', command: '<%= config.bin %> explore --follow --source ./flowlogs --interval 1m'},
  ]

  // A query may start with '-' and span several words (see src/query-argv.ts).
  static strict = false

  static args = {
    query: Args.string({description: 'a first query to run'}),
  }

  static flags = {
    limit: Flags.integer({description: 'records fetched at a time (more load as you scroll)', default: 200, min: 10, max: 5000}),
    names: Flags.boolean({description: 'show instance and interface names beside IPs', default: true, allowNo: true}),
    follow: Flags.boolean({char: 'f', description: 'pull new objects from the source every --interval; new matches appear on top'}),
    interval: Flags.string({description: 'with --follow: how often to pull (default 30s)', helpValue: 'DURATION', dependsOn: ['follow']}),
    'vpc-config': Flags.string({description: 'VPC configuration snapshot for why-rejected (see flowlog vpc export)', helpValue: 'FILE'}),
    ...sourceFlags,
    ...strictFlag,
  }

  async run(): Promise<ExploreSummary> {
    const {argv, flags} = await this.parse(Explore, protectQueryWords(this.argv, Explore.flags as Record<string, FlagShape>, 'flowlog explore'))
    const query = (argv as string[]).length ? (argv as string[]).join(' ') : undefined
    const unknown = query === undefined ? [] : unknownQueryFields(query)
    if (flags.strict && unknown.length) {
      const n = nearest(unknown[0], KNOWN_FIELDS)
      throw new UsageError(`no record has a field ${unknown[0]}${n ? ` (did you mean ${n}?)` : ''}`, {suggestions: ['without --strict the query runs']})
    }
    const {runExplore} = await import('../lib/ui/explore/run.js')
    const summary = await runExplore({
      home: this.home,
      query,
      names: flags.names,
      follow: flags.follow,
      interval: flags.interval,
      chunk: flags.limit,
      vpcConfig: flags['vpc-config'],
      sourceFlags: flags,
      onEmpty: () => {
        this.term.warn('the index is empty')
        this.term.hint('  load data first: flowlog pull --source DIR|cos://BUCKET   (or try flowlog demo)')
      },
    })
    if (summary.exit_code === 130) throw new InterruptedError('interrupted', {...summary})
    return summary
  }
}
