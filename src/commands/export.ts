import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type FlagShape, protectQueryWords} from '../query-argv.js'
import {parseWindow} from '../lib/records/time.js'
import {windowFlags} from '../lib/sources/flags.js'
import {formatBytes, formatCount} from '../lib/ui/format.js'

export interface ExportResult {
  files: number
  rows: number
  bytes: number
  out: string
  skippedIrregular: number
}

export default class Export extends BaseCommand {
  static summary = 'Export the index as Parquet (Hive layout date=/hour=) for lakehouse engines, or print their CREATE TABLE'

  static description = `Writes the records of the local index (or those a query and --since/--until select) as Parquet files
OUT/date=YYYY-MM-DD/hour=HH/part-N.parquet: one typed column per header and record field, key and record_id, zstd,
122,880-row groups. Query them with Presto or Spark in IBM watsonx.data (--ddl prints the CREATE TABLE;
flowlog search QUERY --sql presto|spark|duckdb prints the query's SQL) or with DuckDB. See docs/lakehouse.md.`

  static examples = [
    {description: 'Everything, as Parquet', command: `<%= config.bin %> export --out ./flow-parquet`},
    {description: "Last week's rejected flows", command: `<%= config.bin %> export 'action:rejected' --since 7d --out ./rejected`},
    {description: 'The Presto table over the uploaded prefix', command: `<%= config.bin %> export --ddl presto --out cos://my-lake/flow-logs`},
  ]

  static strict = false

  static args = {
    query: Args.string({description: "only the records this query selects ('' = all)", default: ''}),
  }

  static flags = {
    ...windowFlags,
    out: Flags.string({description: 'the output folder (for --ddl: the COS location, cos://BUCKET/PREFIX)', helpValue: 'DIR|cos://BUCKET/PREFIX'}),
    format: Flags.string({description: 'file format', options: ['parquet'], default: 'parquet'}),
    ddl: Flags.string({description: 'print the CREATE TABLE for this engine instead of exporting', options: ['presto', 'spark']}),
    table: Flags.string({description: 'the table name for --ddl', default: 'flow_logs', helpValue: 'NAME'}),
  }

  async run(): Promise<ExportResult | {ddl: string}> {
    const {argv, flags} = await this.parse(Export, protectQueryWords(this.argv, Export.flags as Record<string, FlagShape>, 'flowlog export'))
    const lib = await import('../lib/export/index.js')
    if (!flags.out) this.error('--out is required', {exit: 2})
    if (flags.ddl) {
      const text = lib.ddl({dialect: flags.ddl as 'presto' | 'spark', location: flags.out, table: flags.table})
      this.term.out(text.trimEnd())
      return {ddl: text}
    }
    this.term.progress(`exporting to ${flags.out} …`)
    const s = await lib.exportIndex(this.home, flags.out, {query: (argv as string[]).join(' '), window: parseWindow(flags)})
    this.term.info(`${formatCount(s.rows)} records in ${s.files} Parquet files (${formatBytes(s.bytes)}) under ${s.out}`)
    if (s.skippedIrregular) this.term.warn(`${s.skippedIrregular} irregular rows (fields outside the typed columns) are not in a filtered export`)
    return {files: s.files, rows: s.rows, bytes: s.bytes, out: s.out, skippedIrregular: s.skippedIrregular}
  }
}
