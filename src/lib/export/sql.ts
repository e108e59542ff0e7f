import {UsageError} from '../errors.js'
import {isMatchAll, parseQuery, toSql} from '../query/index.js'
import type {EnvelopeOptions} from '../records/envelope.js'
import type {TimeWindow} from '../records/time.js'
import {DIALECTS, EXPORT_FIELDS, LAKE_DIALECTS, type LakeDialectName, inline, literal, quoteIdent} from './dialects.js'

/** docs/lakehouse.md §3: `flowlog search QUERY --sql DIALECT` and `flowlog export --ddl DIALECT`. */
export const DEFAULT_TABLE = 'flow_logs'

export function checkDialect(name: string): LakeDialectName {
  if (!(LAKE_DIALECTS as string[]).includes(name)) throw new UsageError(`unknown SQL dialect ${JSON.stringify(name)} (one of ${LAKE_DIALECTS.join(', ')})`)
  return name as LakeDialectName
}

/** A table name, optionally catalog.schema.table; each part quoted for the dialect. */
export function tableName(dialect: LakeDialectName, name: string = DEFAULT_TABLE): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$/.test(name)) throw new UsageError(`--table ${JSON.stringify(name)} is not [catalog.][schema.]name`)
  return name.split('.').map((p) => quoteIdent(dialect, p)).join('.')
}

export interface LakeSqlOptions {
  dialect: LakeDialectName
  table?: string
  envelope?: EnvelopeOptions
  /** --since/--until: the partitions they touch (pruning) and the exact bounds on `ts_ms`. */
  window?: TimeWindow
}

/**
 * The window over the exported table (docs/lakehouse.md §3): `date` bounds let the engine skip partitions, `ts_ms`
 * (the record time flowlog's --since/--until compare) makes it exact. Records without a time fall outside any window.
 */
export function windowWhere(dialect: LakeDialectName, window: TimeWindow | undefined): string[] {
  const out: string[] = []
  const day = (ms: number) => literal(dialect, new Date(ms).toISOString().slice(0, 10))
  const date = quoteIdent(dialect, 'date')
  const ts = quoteIdent(dialect, 'ts_ms')
  if (window?.since !== undefined) out.push(`${date} >= ${day(window.since)}`)
  if (window?.until !== undefined) out.push(`${date} <= ${day(window.until - 1)}`)
  if (window?.since !== undefined) out.push(`${ts} >= ${window.since}`)
  if (window?.until !== undefined) out.push(`${ts} < ${window.until}`)
  return out
}

/** The SELECT the query compiles to over the exported table (records in time order, like flowlog search). */
export function lakeSql(query: string, options: LakeSqlOptions): string {
  const d = options.dialect
  const {ast} = parseQuery(query)
  const parts = windowWhere(d, options.window)
  if (!isMatchAll(ast)) parts.push(`(${inline(d, ...(Object.values(toSql(ast, options.envelope ?? {}, DIALECTS[d])) as [string, unknown[]]))})`)
  return `SELECT * FROM ${tableName(d, options.table)} WHERE ${parts.length ? parts.join(' AND ') : 'TRUE'}`
}

export interface DdlOptions {
  dialect: 'presto' | 'spark'
  /** cos://BUCKET/PREFIX or s3a://BUCKET/PREFIX */
  location: string
  table?: string
}

const SQL_TYPES = {presto: {string: 'VARCHAR', integer: 'BIGINT', boolean: 'BOOLEAN'}, spark: {string: 'STRING', integer: 'BIGINT', boolean: 'BOOLEAN'}}

/** s3a://BUCKET/PREFIX for cos://BUCKET/PREFIX (watsonx.data reads COS buckets through the s3a scheme). */
export function s3aLocation(location: string): string {
  const m = /^(?:cos|s3a?):\/\/([^/]+)\/?(.*)$/.exec(location)
  if (!m) throw new UsageError(`--out ${JSON.stringify(location)}: the DDL needs the COS location, cos://BUCKET/PREFIX`)
  const prefix = m[2].replace(/\/+$/, '')
  return `s3a://${m[1]}/${prefix ? prefix + '/' : ''}`
}

/** CREATE TABLE over the Hive layout of docs/lakehouse.md §2. */
export function ddl(options: DdlOptions): string {
  const d = options.dialect
  const types = SQL_TYPES[d]
  const cols = [...EXPORT_FIELDS.map((f) => [f.name, types[f.type]]), ['record_id', types.string], ['ts_ms', types.integer]]
  const part = [['date', types.string], ['hour', types.string]]
  const loc = s3aLocation(options.location)
  const t = tableName(d, options.table)
  if (d === 'presto') {
    const all = [...cols, ...part].map(([n, ty]) => `  ${quoteIdent(d, n)} ${ty}`).join(',\n')
    return `CREATE TABLE ${t} (\n${all}\n)\nWITH (\n  format = 'PARQUET',\n  partitioned_by = ARRAY['date', 'hour'],\n  external_location = '${loc}'\n);\n` +
      `-- then register the partitions: CALL system.sync_partition_metadata('<schema>', '${(options.table ?? DEFAULT_TABLE).split('.').pop()}', 'FULL');\n`
  }
  const all = [...cols, ...part].map(([n, ty]) => `  ${quoteIdent(d, n)} ${ty}`).join(',\n')
  return `CREATE TABLE ${t} (\n${all}\n)\nUSING parquet\nPARTITIONED BY (${quoteIdent(d, 'date')}, ${quoteIdent(d, 'hour')})\nLOCATION '${loc}';\n` +
    `-- then register the partitions: MSCK REPAIR TABLE ${t};\n`
}
