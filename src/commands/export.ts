import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type FlagShape, protectQueryWords} from '../query-argv.js'
import type {ExportResult} from '../lib/export/index.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {formatBytes, formatCount} from '../lib/ui/format.js'

export type {ExportResult} from '../lib/export/index.js'

export default class Export extends BaseCommand {
  static readsIndex = true

  static summary = 'Export the index as Parquet (Hive layout date=/hour=) for lakehouse engines, or print their CREATE TABLE'

  static description = `Writes the records of the local index (or those a query and --since/--until select) as Parquet files
OUT/date=YYYY-MM-DD/hour=HH/part-N.parquet: one typed column per header and record field, key, record_id and ts_ms,
zstd, 122,880-row groups. --out cos://BUCKET/PREFIX uploads them through a local staging copy (resumable: a re-run
sends only what is missing). Query them with Presto or Spark in IBM watsonx.data (--ddl prints the CREATE TABLE;
flowlog search QUERY --sql presto|spark|duckdb prints the query's SQL) or with DuckDB. See docs/lakehouse.md.`

  static examples = [
    {description: 'Everything, as Parquet', command: '<%= config.bin %> export --out ./flow-parquet'},
    {description: "Last week's rejected flows", command: `<%= config.bin %> export 'action:rejected' --since 7d --out ./rejected`},
    {description: 'The Presto table over the uploaded prefix', command: '<%= config.bin %> export --ddl presto --out cos://my-lake/flow-logs'},
  ]

  static strict = false

  static args = {
    query: Args.string({description: "only the records this query selects ('' = all)", default: ''}),
  }

  static flags = {
    ...windowFlags,
    'cos-endpoint': sourceFlags['cos-endpoint'],
    region: sourceFlags.region,
    'endpoint-type': sourceFlags['endpoint-type'],
    out: Flags.string({description: 'the output folder, or cos://BUCKET/PREFIX (uploaded through a local staging copy; for --ddl: the COS location)', helpValue: 'DIR|cos://BUCKET/PREFIX'}),
    format: Flags.string({description: 'file format', options: ['parquet'], default: 'parquet'}),
    ddl: Flags.string({description: 'print the CREATE TABLE for this engine instead of exporting', options: ['presto', 'spark']}),
    table: Flags.string({description: 'the table name for --ddl', default: 'flow_logs', helpValue: 'NAME'}),
  }

  async run(): Promise<ExportResult | {ddl: string}> {
    const {argv, flags} = await this.parse(Export, protectQueryWords(this.argv, Export.flags as Record<string, FlagShape>, 'flowlog export'))
    const {exportFromFlags} = await import('../lib/export/index.js')
    const result = await exportFromFlags(this.home, {...flags, query: (argv as string[]).join(' ')}, {
      onStart: (out) => this.term.progress(`exporting to ${out} …`),
      onExport: (p) => this.term.progress(`  ${p.partition}: ${p.done}/${p.total} hours, ${formatCount(p.rows)} records`),
      onUpload: (p) => this.term.progress(`  ${p.skipped ? 'already there' : 'uploaded'} ${p.file} (${p.done}/${p.total}, ${formatBytes(p.uploadedBytes)} sent)`),
    })
    if ('ddl' in result) this.term.out(result.ddl.trimEnd())
    else {
      this.term.info(`${formatCount(result.rows)} records in ${result.files} Parquet files (${formatBytes(result.bytes)}) under ${result.out}`)
      if (result.uploaded !== undefined) {
        this.term.info(`uploaded ${result.uploaded} files (${formatBytes(result.uploadedBytes ?? 0)}), ${result.skipped} already there${result.deleted ? `, ${result.deleted} stale files deleted` : ''}`)
      }
      if (result.skippedIrregular) this.term.warn(`${result.skippedIrregular} irregular rows (fields outside the typed columns) are not in a filtered export`)
    }
    return result
  }
}
