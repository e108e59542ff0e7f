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
 * `OUT/date=YYYY-MM-DD/hour=HH/part-0.parquet`, written by DuckDB's COPY (zstd, 122,880-row groups), one COPY per hour.
 */
export interface ExportOptions {
  query?: string
  envelope?: EnvelopeOptions
  window?: TimeWindow
  /** Rows per row group (default 122,880, DuckDB's own group size: large enough for scans). */
  rowGroupSize?: number
  resources?: ExportResources
  /** Rows per sort and file at most (about; default 245,760, two row groups): a busier hour is written as several files. */
  maxRowsPerFile?: number
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

/** The export's FROM and WHERE over the index (`records r JOIN objects o`), with its parameters. */
function exportWhere(options: ExportOptions): {from: string; where: string; params: unknown[]} {
  const params: unknown[] = []
  let where = windowSql(options.window, params)
  const compiled = options.query ? compileSearch(options.query, options.envelope) : undefined
  if (compiled?.spec.where) {
    where += ` AND NOT r.irregular AND (${compiled.spec.where.sql})`
    params.push(...compiled.spec.where.params)
  }
  return {from: 'records r JOIN objects o ON o.oid = r.oid', where, params}
}

const HOUR = 3_600_000

/** The columns of a file: the typed fields, `record_id`, `ts_ms` (the partition columns live in the path). */
function fileColumns(): string {
  return `${EXPORT_FIELDS.map((f) => `r."${f.name}"`).join(', ')}, left(sha256(r.okey || '#' || CAST(r.idx AS VARCHAR)), 32) AS record_id, r.ts AS ts_ms`
}

/** The SELECT of the exported rows over the index with `date` and `hour` columns (one query, all partitions). */
export function exportSelect(options: ExportOptions): {sql: string; params: unknown[]} {
  const {from, where, params} = exportWhere(options)
  const time = `make_timestamp(r.ts * 1000)`
  const sql =
    `SELECT ${fileColumns()}, ` +
    `COALESCE(strftime(${time}, '%Y-%m-%d'), '1970-01-01') AS "date", COALESCE(strftime(${time}, '%H'), '00') AS "hour" ` +
    `FROM ${from} WHERE ${where} ORDER BY r.ts, r.krank, r.idx`
  return {sql, params}
}

/** `date=YYYY-MM-DD/hour=HH` of an hour number (hours since the epoch). */
export function partitionPath(hour: number): string {
  const d = new Date(hour * HOUR).toISOString()
  return `date=${d.slice(0, 10)}/hour=${d.slice(11, 13)}`
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

export interface ExportProgress {
  /** Partitions written so far, of `total`. */
  done: number
  total: number
  partition: string
  rows: number
}

/**
 * Memory (docs/lakehouse.md §4): one COPY per hour partition, each sorting only that hour, with DuckDB's memory
 * bounded and its sorts spilling to `tempDir`; threads kept low (the machine is shared with the loader's workers).
 */
export interface ExportResources {
  memoryLimit?: string
  threads?: number
  tempDir?: string
}

/** Write the Parquet files under `dir` (replacing what an earlier export left there). */
export async function exportParquet(
  store: Store,
  dir: string,
  options: ExportOptions = {},
  onProgress?: (p: ExportProgress) => void,
): Promise<ExportSummary> {
  const {from, where, params} = exportWhere(options)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const c = store.connection
  const res = options.resources ?? {}
  const tempDir = res.tempDir ?? join(dir, '.tmp')
  mkdirSync(tempDir, {recursive: true})
  await c.run(`SET memory_limit = ${sqlString(res.memoryLimit ?? '512MB')}`)
  await c.run(`SET threads = ${Math.max(1, Math.floor(res.threads ?? 2))}`)
  await c.run(`SET temp_directory = ${sqlString(tempDir)}`)
  await c.run(`SET preserve_insertion_order = false`)
  try {
    // Hours that hold rows (a record without a time goes to 1970-01-01/00, like hour 0), and how many.
    const hoursSql = `SELECT COALESCE(r.ts // ${HOUR}, 0)::BIGINT AS h, count(*)::BIGINT AS n FROM ${from} WHERE ${where} GROUP BY h ORDER BY h`
    const hours = (await c.runAndReadAll(inline('duckdb', hoursSql, params))).getRowObjects().map((x) => ({h: Number(x.h), n: Number(x.n)}))
    const maxRows = Math.max(1, options.maxRowsPerFile ?? 245_760)
    let rows = 0
    for (const [i, {h, n}] of hours.entries()) {
      const part = partitionPath(h)
      const target = join(dir, part)
      mkdirSync(target, {recursive: true})
      // A busy hour is cut into equal time slices, one file each, so that no sort holds more than ~maxRows rows.
      const slices = Math.ceil(n / maxRows)
      for (let k = 0; k < slices; k++) {
        const lo = h * HOUR + Math.floor((k * HOUR) / slices)
        const hi = k === slices - 1 ? (h + 1) * HOUR : h * HOUR + Math.floor(((k + 1) * HOUR) / slices)
        const inSlice = `(r.ts >= ${lo} AND r.ts < ${hi})${h === 0 && k === 0 ? ' OR r.ts IS NULL' : ''}`
        const copy =
          `COPY (SELECT ${fileColumns()} FROM ${from} WHERE ${where} AND (${inSlice}) ORDER BY r.ts, r.okey, r.idx) ` +
          `TO ${sqlString(join(target, `part-${k}.parquet`))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${options.rowGroupSize ?? 122_880})`
        rows += Number((await c.run(inline('duckdb', copy, params))).rowsChanged)
      }
      onProgress?.({done: i + 1, total: hours.length, partition: part, rows})
    }
    let skippedIrregular = 0
    if (options.query) {
      const r = await c.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM records WHERE irregular`)
      skippedIrregular = Number(r.getRowObjects()[0].n)
    }
    const list = listParquet(dir)
    return {out: dir, files: list.length, rows, bytes: list.reduce((s, f) => s + f.bytes, 0), skippedIrregular, list}
  } finally {
    for (const s of ['memory_limit', 'threads', 'temp_directory', 'preserve_insertion_order']) await c.run(`RESET ${s}`).catch(() => undefined)
    if (!res.tempDir) rmSync(tempDir, {recursive: true, force: true})
  }
}
