import type {JsonObject, JsonValue} from '../records/object.js'
import type {TimeWindow} from '../records/time.js'
import {readsDataOnly, type RowPredicate, windowSql} from '../store/search.js'
import {oddRowsSql, type Store} from '../store/store.js'

/**
 * What the aggregations over the local index share (aggregate.ts for records, connections.ts for connections):
 * the query as SQL for regular rows and a predicate for irregular ones, and the scan of the irregular rows.
 */
export interface QuerySpec {
  /** WHERE fragment for regular rows (compileSearch(...).spec.where); undefined = all. */
  where?: {sql: string; params: unknown[]}
  /** Predicate for irregular rows; undefined = all. */
  predicate?: RowPredicate
  window?: TimeWindow
}

export const JOIN = `records r JOIN objects o ON o.oid = r.oid`

export function inWindow(ts: number | null, window: TimeWindow | undefined): boolean {
  if (!window || (window.since === undefined && window.until === undefined)) return true
  if (ts === null) return false
  if (window.since !== undefined && ts < window.since) return false
  if (window.until !== undefined && ts >= window.until) return false
  return true
}

type Table = 'records_data' | 'records'

/**
 * The regular rows a query matches, as a subquery selecting `columns` (expressions over `r`). When the filter and the
 * columns read only record columns, records_data is read itself (no join to the objects, no view), beside the few
 * regular rows of records_odd (oddRowsSql: `dup` is NULL only there); else the view joined to the objects.
 * `extra` is one more condition over `r` (with its parameters, after the query's) and a JOIN clause for the columns.
 * `columns` and the condition may differ by the table `r` is (records_data holds no header column: the view maps them
 * from the object); `dataTable` reads a table of records_data's shape in its place (records_dup).
 */
export function regularRows(
  spec: QuerySpec,
  columns: string | ((table: Table) => string),
  extra?: {sql: string | ((table: Table) => string); params?: unknown[]; join?: string; dataTable?: string},
): {sql: string; params: unknown[]} {
  const cols = (table: Table) => (typeof columns === 'string' ? columns : columns(table))
  const params: unknown[] = []
  const parts: string[] = []
  if (spec.where) {
    parts.push(`(${spec.where.sql})`)
    params.push(...spec.where.params)
  }
  parts.push(windowSql(spec.window, params))
  params.push(...(extra?.params ?? []))
  const cond = (table: Table) => {
    const more = extra === undefined ? '' : typeof extra.sql === 'string' ? extra.sql : extra.sql(table)
    return more ? [...parts, `(${more})`].join(' AND ') : parts.join(' AND ')
  }
  const join = extra?.join ? `${extra.join} ` : ''
  if (readsDataOnly(`${cond('records_data')} ${cols('records_data')}`)) {
    return {
      sql:
        `(SELECT ${cols('records_data')} FROM ${extra?.dataTable ?? 'records_data'} r ${join}WHERE ${cond('records_data')} ` +
        `UNION ALL SELECT ${cols('records')} FROM (${oddRowsSql()}) r ${join}WHERE NOT r.irregular AND ${cond('records')})`,
      params: [...params, ...params],
    }
  }
  return {sql: `(SELECT ${cols('records')} FROM ${JOIN} ${join}WHERE NOT r.irregular AND ${cond('records')})`, params}
}

export function plain(v: unknown): JsonValue {
  if (typeof v === 'bigint') return Number(v)
  if (v === undefined) return null
  return v as JsonValue
}

/** A number, or 0 for anything else (missing, null, strings, …). */
export function byteValue(v: JsonValue | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

export function recordBytes(row: JsonObject): number {
  return byteValue(row.bytes_from_initiator) + byteValue(row.bytes_from_target)
}

/**
 * Stream the irregular rows that match the query and window (parsed), in no particular order.
 * The visitor sees each matching row once.
 */
export async function scanIrregular(
  store: Store,
  spec: QuerySpec,
  visit: (row: JsonObject, ts: number | null, okey: string, idx: number) => void,
): Promise<number> {
  const params: unknown[] = []
  const sql =
    `SELECT (o.prefix || r.rec || o.suffix) AS line, r.ts, r.okey, r.idx FROM ${JOIN} ` +
    `WHERE r.irregular AND ${windowSql(spec.window, params)}`
  const result = params.length ? await store.connection.stream(sql, params as never) : await store.connection.stream(sql)
  let n = 0
  for await (const chunk of result) {
    const cols = chunk.getColumns()
    for (let k = 0; k < chunk.rowCount; k++) {
      const ts = cols[1][k] === null ? null : Number(cols[1][k])
      if (!inWindow(ts, spec.window)) continue
      const row = JSON.parse(cols[0][k] as string) as JsonObject
      if (spec.predicate && !spec.predicate(row, cols[2][k] as string, Number(cols[3][k]))) continue
      n++
      visit(row, ts, cols[2][k] as string, Number(cols[3][k]))
    }
  }
  return n
}

