import {mkdirSync, readdirSync, rmSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

import {compileSearch} from '../store/query-search.js'
import {windowSql} from '../store/search.js'
import type {Store} from '../store/store.js'
import type {EnvelopeOptions} from '../records/envelope.js'
import type {TimeWindow} from '../records/time.js'
import {EXPORT_FIELDS, inline} from './dialects.js'

/**
 * `flowlog export` (docs/lakehouse.md §2): the index's records as Parquet in the Hive layout
 * `OUT/date=YYYY-MM-DD/hour=HH/part-N.parquet`, written by DuckDB's COPY (zstd, 122,880-row groups).
 */
export interface ExportOptions {
  query?: string
  envelope?: EnvelopeOptions
  window?: TimeWindow
  /** Rows per row group (default 122,880, DuckDB's own group size: large enough for scans). */
  rowGroupSize?: number
}

export interface ExportFile {
  path: string
  bytes: number
}

export interface ExportSummary {
  out: string
  files: number
  rows: number
  bytes: number
  /** Irregular rows left out (a query was given: their fields are not all typed columns). */
  skippedIrregular: number
  list: ExportFile[]
}

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`
}

/** The SELECT of the exported rows over the index (`records r JOIN objects o`), with its parameters. */
export function exportSelect(options: ExportOptions): {sql: string; params: unknown[]} {
  const params: unknown[] = []
  const cols = EXPORT_FIELDS.map((f) => `r."${f.name}"`).join(', ')
  const time = `make_timestamp(r.ts * 1000)`
  // The window's placeholders come first in the SQL, so its parameters go first too.
  const win = windowSql(options.window, params)
  let where = ''
  const compiled = options.query ? compileSearch(options.query, options.envelope) : undefined
  if (compiled?.spec.where) {
    where = ` AND NOT r.irregular AND (${compiled.spec.where.sql})`
    params.push(...compiled.spec.where.params)
  }
  const sql =
    `SELECT ${cols}, left(sha256(r.okey || '#' || CAST(r.idx AS VARCHAR)), 32) AS record_id, ` +
    `COALESCE(strftime(${time}, '%Y-%m-%d'), '1970-01-01') AS "date", COALESCE(strftime(${time}, '%H'), '00') AS "hour" ` +
    `FROM records r JOIN objects o ON o.oid = r.oid WHERE ${win}${where} ORDER BY r.ts, r.krank, r.idx`
  return {sql, params}
}

function listParquet(dir: string): ExportFile[] {
  const out: ExportFile[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.parquet')) out.push({path: relative(dir, p), bytes: statSync(p).size})
    }
  }
  walk(dir)
  return out.sort((a, b) => (a.path < b.path ? -1 : 1))
}

/** Write the Parquet files under `dir` (replacing what an earlier export left there). */
export async function exportParquet(store: Store, dir: string, options: ExportOptions = {}): Promise<ExportSummary> {
  const {sql, params} = exportSelect(options)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const copy =
    `COPY (${sql}) TO ${sqlString(dir)} (FORMAT parquet, PARTITION_BY ("date", "hour"), COMPRESSION zstd, ` +
    `ROW_GROUP_SIZE ${options.rowGroupSize ?? 122_880}, FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE)`
  const result = await store.connection.run(inline('duckdb', copy, params))
  const rows = Number(result.rowsChanged)
  let skippedIrregular = 0
  if (options.query) {
    const r = await store.connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM records WHERE irregular`)
    skippedIrregular = Number(r.getRowObjects()[0].n)
  }
  const list = listParquet(dir)
  return {out: dir, files: list.length, rows, bytes: list.reduce((s, f) => s + f.bytes, 0), skippedIrregular, list}
}
