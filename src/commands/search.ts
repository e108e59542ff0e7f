import {Args, Flags} from '@oclif/core'
import {fstatSync} from 'node:fs'

import {BaseCommand} from '../base-command.js'
import {type FlagShape, protectQueryWords, strictFlag} from '../query-argv.js'
import {checkSearchInput} from '../lib/store/query-fields.js'
import {readConfig} from '../lib/config/settings.js'
import type {JsonObject} from '../lib/records/object.js'
import {formatCount} from '../lib/ui/format.js'
import {checkQueryLength} from '../lib/query/index.js'
import {parseWindow, type TimeWindow} from '../lib/records/time.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {compileSearch, ipPrefixHint} from '../lib/store/query-search.js'
import {parseSort} from '../lib/store/search.js'
import {defaultSort, runSearch} from '../lib/store/search-run.js'
import {openStore} from '../lib/store/store.js'
import {type RecordOutput, RecordWriter} from '../lib/ui/records.js'
import {tableFlags, timeFlags} from '../lib/ui/flags.js'
import {loadNames} from '../lib/names.js'
import {phase} from '../lib/profile.js'
import {remoteFlags, remoteOptions} from '../lib/sinks/remote-flags.js'

/** Whether stdout is a pipe (then DuckDB may write to /dev/stdout without truncating anything). */
function stdoutIsPipe(): boolean {
  try {
    return fstatSync(1).isFIFO()
  } catch {
    return false
  }
}

export interface SearchResult {
  records: JsonObject[]
  truncated: boolean
  total: number
}

export default class Search extends BaseCommand {
  static readsIndex = true

  static summary = 'Search flow-log records with the Log Analysis query language, locally'

  static description = `Runs a Log Analysis (LogDNA/Mezmo) query over the records in the local index, with the same results Log Analysis
gives on the lines flowlog forward sends. Field clauses (target_ip:10.240.0.4), operators : := :== :===,
lists [a,b], groups target_port:(>=1024 <49152 -3389), comparators, existence f:*, bare words over the whole line,
and CIDR blocks on IP fields (initiator_ip:92.63.0.0/16, local only).
Newest records first; --sort time:asc for oldest first (an export, --limit 0 as ndjson or csv, is oldest first).
The table fits the terminal (or $COLUMNS): names, packets, direction, bytes and protocol give way first; --wide
shows every column.
Note: OR binds tighter than AND here, as in Log Analysis: 'a b OR c' means a AND (b OR c).
A value matches by word prefix: target_ip:10.240.0.4 also matches 10.240.0.45; use target_ip:==10.240.0.4 for
an exact match.`

  static examples = [
    {description: "The blog's query: rejected flows to vsi1, DHCP left out", command: `<%= config.bin %> search 'target_ip:10.240.0.4 action:rejected -target_port:67'`},
    {description: 'What vsi2 talks to, infrastructure noise removed', command: `<%= config.bin %> search 'initiator_ip:10.240.64.4 -target_port:67 -target_port:123 -target_port:53'`},
    {description: 'Rejected SSH or RDP in the last hour, as NDJSON', command: `<%= config.bin %> search 'target_port:(22 OR 3389) action:rejected' --since 1h --output ndjson --limit 0`},
    {description: 'Pull new objects from a folder (or cos://BUCKET) first, then search', command: `<%= config.bin %> search 'initiator_ip:92.63.0.0/16' --source ./flowlogs --since 2h`},
    {description: 'Search what forward sent to IBM Cloud Logs (the query is translated to Lucene)', command: `<%= config.bin %> search 'action:rejected target_port:22' --remote cloud-logs --since 24h`},
  ]

  // Several words are one query: `flowlog search -target_port:67 -target_port:53` works unquoted.
  static strict = false

  static args = {
    query: Args.string({description: "the query (quote it for the shell); '' or '*' matches everything", default: ''}),
  }

  static flags = {
    ...sourceFlags,
    ...windowFlags,
    limit: Flags.integer({description: 'at most this many records (0 = no limit)', default: 100, min: 0}),
    fields: Flags.string({description: 'only these fields, comma-separated', helpValue: 'a,b,c'}),
    sort: Flags.string({description: 'sort by a field; default newest first (time:desc), oldest first (time:asc) for --limit 0 as ndjson or csv', helpValue: 'FIELD[:asc|desc]'}),
    output: Flags.string({char: 'o', description: 'output format', options: ['table', 'json', 'ndjson', 'csv'], default: 'table'}),
    hostname: Flags.string({description: 'the envelope host records get (as forward sends them)', default: 'flowlog'}),
    app: Flags.string({description: 'the envelope app records get (as forward sends them)', default: 'vpc-flowlogs'}),
    tags: Flags.string({description: 'the envelope tags records get, comma-separated (as forward sends them)'}),
    'level-by-action': Flags.boolean({description: 'envelope level WARN for rejected and INFO for accepted (as forward --level-by-action)'}),
    follow: Flags.boolean({char: 'f', description: 'print the latest --limit matches, then keep pulling new objects from the source and print new matches until Ctrl-C'}),
    interval: Flags.string({description: 'with --follow: how often to pull new objects (default 30s)', helpValue: 'DURATION', dependsOn: ['follow']}),
    ...tableFlags,
    ...timeFlags,
    ...strictFlag,
    sql: Flags.string({description: 'print the SQL the query compiles to over the exported Parquet table (flowlog export) instead of searching', options: ['duckdb', 'presto', 'spark']}),
    table: Flags.string({description: 'with --sql: the table name (default flow_logs)', helpValue: 'NAME', dependsOn: ['sql']}),
    ...remoteFlags,
  }

  /** --sql: docs/lakehouse.md §3. */
  private async printSql(query: string, window: TimeWindow, flags: {sql?: string; table?: string; hostname: string; app: string; tags?: string; 'level-by-action': boolean}): Promise<SearchResult> {
    const {lakeSql, checkDialect} = await import('../lib/export/index.js')
    const tags = flags.tags ? flags.tags.split(',').map((t) => t.trim()).filter(Boolean) : []
    const envelope = {hostname: flags.hostname, app: flags.app, tags, levelByAction: flags['level-by-action']}
    this.term.out(lakeSql(query, {dialect: checkDialect(flags.sql as string), table: flags.table, envelope, window}))
    return {records: [], truncated: false, total: 0}
  }

  async run(): Promise<SearchResult> {
    // Refused before the words are parsed as flags (a huge query would take long there): docs/query-language.md, "Bounds".
    checkQueryLength(this.argv.join(' '))
    const {argv, flags} = await this.parse(Search, protectQueryWords(this.argv, Search.flags as Record<string, FlagShape>, 'flowlog search'))
    const args = {query: (argv as string[]).join(' ')}
    const window = parseWindow(flags)
    if (flags.sql) return this.printSql(args.query, window, flags)
    const fields = flags.fields ? flags.fields.split(',').map((f) => f.trim()).filter(Boolean) : undefined
    const compiled = compileSearch(args.query ?? '', {
      hostname: flags.hostname,
      app: flags.app,
      tags: flags.tags ? flags.tags.split(',').map((t) => t.trim()).filter(Boolean) : [],
      levelByAction: flags['level-by-action'],
    })
    for (const w of compiled.warnings) this.term.warn(w)
    for (const w of await checkSearchInput(this.home, {query: args.query, strict: flags.strict, fields, sortField: parseSort(flags.sort)?.field})) this.term.warn(w)
    if (flags.follow) await this.useOwnIndex()
    // --follow and --remote load their modules only when asked for (start-up of every search, docs/architecture.md §4).
    if (flags.follow) return (await import('../lib/follow/search.js')).runSearchFollow(this.term, this.home, compiled, window, {...flags, fields, json: this.jsonEnabled()})
    const sort = parseSort(flags.sort) ?? defaultSort(this.jsonEnabled() ? 'json' : flags.output, flags.limit)
    // --remote cloud-logs: the records come from Cloud Logs instead of the index (docs/sinks.md §8.3).
    const remote = flags.remote ? await (await import('../lib/sinks/remote.js')).remoteSearch({...remoteOptions(flags), query: args.query, window, sort, limit: flags.limit, env: process.env, config: await readConfig(this.home), userAgent: `flowlog/${this.config.version}`}) : undefined
    if (remote?.capped) this.term.warn(`Cloud Logs returned its maximum of results: narrow --since/--until for the rest`)
    if (flags.source && !remote) await this.pullSourceFirst(flags, window, 'searching')
    // Names (for the table) load while the index opens and the query runs.
    const names = flags.output === 'table' && !fields && !this.jsonEnabled()
      ? readConfig(this.home).then((config) => loadNames(this.home, {config})).then((r) => r.names, () => undefined)
      : undefined
    phase('parsed')
    const store = remote ? undefined : await openStore(this.home, {readOnly: true})
    phase('index open')
    const output = (this.jsonEnabled() ? 'json-doc' : flags.output) as RecordOutput | 'json-doc'
    const result: SearchResult = {records: [], truncated: false, total: 0}
    try {
      const totals = store ? await store.totals() : {records: 1, irregular: 0}
      if (store && totals.records === 0 && (await this.indexIsEmpty(store))) return result
      const out = this.term.bufferedWriter()
      const writer = new RecordWriter({output, fields, c: this.term.c, write: out.write, names, width: this.term.tableWidth(flags.wide), wide: flags.wide, time: {local: flags.local}})
      const hint = ipPrefixHint(compiled)
      const ran = await runSearch({
        store,
        remote,
        spec: {...compiled.spec, window, sort, limit: flags.limit, hasIrregular: totals.irregular > 0},
        writer,
        directTo: store && output === 'ndjson' && !fields && stdoutIsPipe() ? '/dev/stdout' : undefined,
        hint,
        prefixClauses: compiled.ipPrefixClauses,
        limit: flags.limit,
      })
      out.flush()
      if (ran.closed) return result
      Object.assign(result, {records: writer.records, total: ran.total, truncated: ran.truncated})
      if (ran.emitted === 0) this.term.info('no records match')
      else if (ran.truncated) this.term.info(`showing ${formatCount(ran.emitted)} of ${formatCount(ran.total)} records, ${sort.desc ? 'newest' : 'oldest'} first (raise --limit, or --limit 0 for all)`)
      if (ran.prefixSeen && hint) this.term.hint(hint.message)
    } finally {
      await store?.close()
    }
    return result
  }
}
