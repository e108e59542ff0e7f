import type {JsonObject} from '../records/object.js'
import {RECORD_FIELDS, ROW_FIELD_MAP} from '../records/schema.js'
import type {TimeWindow} from '../records/time.js'
import {UsageError} from '../errors.js'
import {phase} from '../profile.js'
import {oddRowsSql, recExpression, type Store} from './store.js'

/**
 * Search the index with a compiled query: the SQL back end on regular rows, the JavaScript predicate on irregular rows
 * (README.md), merged in one sorted stream. Rows stream out of DuckDB, so `--limit 0` over millions of records stays
 * in bounded memory.
 */
export interface RowPredicate {
  (row: JsonObject, key: string, index: number): boolean
}

export interface SortSpec {
  field: string
  desc: boolean
}

export interface SearchSpec {
  /** WHERE fragment over `records r JOIN objects o ON o.oid = r.oid` for regular rows; undefined = all. */
  where?: {sql: string; params: unknown[]}
  /** Evaluates irregular rows; undefined = all. */
  predicate?: RowPredicate
  window?: TimeWindow
  /** 0 or undefined: no limit. */
  limit?: number
  /** Default: record time ascending. */
  sort?: SortSpec
  /** False when the index holds no irregular rows (Store.totals): the JavaScript pass is skipped. */
  hasIrregular?: boolean
}

export interface MatchedRecord {
  line: string
  ts: number | null
  okey: string
  idx: number
  /** Parsed row, when it had to be parsed (irregular rows); parse `line` otherwise. */
  row?: JsonObject
}

type SortValue = string | number | boolean | null | undefined

interface Candidate extends MatchedRecord {
  sortv: SortValue
}

export const LINE_SQL = `(o.prefix || r.rec || o.suffix)`

/** The line of a match `m` (its rec_raw and typed record columns) joined to its object `o`. */
const MATCH_LINE_SQL = `(o.prefix || COALESCE(m.rec_raw, ${recExpression('m.')}) || o.suffix)`
const RECORD_COLUMNS = RECORD_FIELDS.map((f) => `r."${f.name}"`).join(', ')
/** The same for a page's row `m` (its rec_raw and record columns, read by row id, and its object's prefix and suffix). */
const PAGE_LINE_SQL = `(m.prefix || COALESCE(m.rec_raw, ${recExpression('m.')}) || m.suffix)`

/** Parse `FIELD[:asc|desc]`. */
export function parseSort(text: string | undefined): SortSpec | undefined {
  if (!text) return undefined
  const m = /^([^:]+?)(?::(asc|desc))?$/i.exec(text.trim())
  if (!m) throw new UsageError(`--sort ${JSON.stringify(text)} is not FIELD[:asc|desc]`)
  const field = m[1]
  if (field !== 'time' && field !== 'ts' && !/^[A-Za-z0-9_@$][A-Za-z0-9_@$.-]*$/.test(field)) {
    throw new UsageError(`--sort: ${JSON.stringify(field)} is not a field name`)
  }
  return {field: field === 'ts' ? 'time' : field, desc: (m[2] ?? 'asc').toLowerCase() === 'desc'}
}

/** `since <= r.ts < until` (TRUE without a window); pushes the bounds onto params. */
export function windowSql(window: TimeWindow | undefined, params: unknown[]): string {
  const parts: string[] = []
  if (window?.since !== undefined) {
    parts.push('r.ts >= ?')
    params.push(window.since)
  }
  if (window?.until !== undefined) {
    parts.push('r.ts < ?')
    params.push(window.until)
  }
  return parts.length ? parts.join(' AND ') : 'TRUE'
}

function inWindow(ts: number | null, window: TimeWindow | undefined): boolean {
  if (!window || (window.since === undefined && window.until === undefined)) return true
  if (ts === null) return false
  if (window.since !== undefined && ts < window.since) return false
  if (window.until !== undefined && ts >= window.until) return false
  return true
}

function typeRank(v: SortValue): number {
  if (v === null || v === undefined) return 9
  if (typeof v === 'number') return 0
  if (typeof v === 'string') return 1
  if (typeof v === 'boolean') return 2
  return 3
}

function compareValues(a: SortValue, b: SortValue, desc: boolean): number {
  const ra = typeRank(a)
  const rb = typeRank(b)
  // Missing values sort last in both directions.
  if (ra === 9 || rb === 9) return ra === rb ? 0 : ra - rb
  let c: number
  if (ra !== rb) c = ra - rb
  else if (typeof a === 'number') c = (a as number) - (b as number)
  else if (typeof a === 'boolean') c = Number(a) - Number(b)
  else c = (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
  return desc ? -c : c
}

function makeComparator(sort: SortSpec): (a: Candidate, b: Candidate) => number {
  return (a, b) => {
    const c = sort.field === 'time' ? 0 : compareValues(a.sortv, b.sortv, sort.desc)
    if (c !== 0) return c
    const t = compareValues(a.ts, b.ts, sort.field === 'time' ? sort.desc : false)
    if (t !== 0) return t
    if (a.okey !== b.okey) return a.okey < b.okey ? -1 : 1
    return a.idx - b.idx
  }
}

/** `--sort bytes`: the bytes of both directions (docs/query-language.md §17). */
const BYTES_SQL = '(coalesce(r."bytes_from_initiator", 0) + coalesce(r."bytes_from_target", 0))'

function bytesOf(row: JsonObject): SortValue {
  const n = (v: unknown) => (typeof v === 'number' ? v : 0)
  return n(row.bytes_from_initiator) + n(row.bytes_from_target)
}

function orderSql(sort: SortSpec): string {
  const dir = sort.desc ? 'DESC' : 'ASC'
  const tie = `r.krank ASC, r.idx ASC`
  if (sort.field === 'time') return `r.ts ${dir} NULLS LAST, ${tie}`
  if (sort.field === 'bytes') return `${BYTES_SQL} ${dir}, r.ts ASC NULLS LAST, ${tie}`
  const spec = ROW_FIELD_MAP.get(sort.field)
  if (!spec) return `r.ts ASC NULLS LAST, ${tie}`
  return `r."${spec.name}" ${dir} NULLS LAST, r.ts ASC NULLS LAST, ${tie}`
}

/** The join to objects, only when the filter reads the object's columns. */
function joinObjects(where: string): string {
  return /\bo\./.test(where) ? 'JOIN objects o ON o.oid = r.oid ' : ''
}

/** The same order over the narrow match set `m` (the sort value is m.sortv). */
function mOrderSql(sort: SortSpec): string {
  const dir = sort.desc ? 'DESC' : 'ASC'
  const tie = `m.krank ASC, m.idx ASC`
  if (sort.field === 'time') return `m.ts ${dir} NULLS LAST, ${tie}`
  if (!ROW_FIELD_MAP.get(sort.field) && sort.field !== 'bytes') return `m.ts ASC NULLS LAST, ${tie}`
  return `m.sortv ${dir} NULLS LAST, m.ts ASC NULLS LAST, ${tie}`
}

function sortValueSql(sort: SortSpec): string {
  if (sort.field === 'bytes') return BYTES_SQL
  const spec = sort.field === 'time' ? undefined : ROW_FIELD_MAP.get(sort.field)
  return spec ? `r."${spec.name}"` : 'NULL'
}

function plain(v: unknown): SortValue {
  if (typeof v === 'bigint') return Number(v)
  if (v === null || v === undefined) return null
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  return String(v)
}

async function irregularMatches(store: Store, spec: SearchSpec, sort: SortSpec): Promise<Candidate[]> {
  if (spec.hasIrregular === false) return []
  const params: unknown[] = []
  const rows = await store.all(
    `SELECT ${LINE_SQL} AS line, r.ts, r.okey, r.idx FROM records r JOIN objects o ON o.oid = r.oid WHERE r.irregular AND ${windowSql(spec.window, params)}`,
    params,
  )
  const out: Candidate[] = []
  for (const r of rows) {
    const line = String(r.line)
    const row = JSON.parse(line) as JsonObject
    const okey = String(r.okey)
    const idx = Number(r.idx)
    if (spec.predicate && !spec.predicate(row, okey, idx)) continue
    const ts = r.ts === null ? null : Number(r.ts)
    if (!inWindow(ts, spec.window)) continue
    const v = sort.field === 'time' ? null : sort.field === 'bytes' ? bytesOf(row) : row[sort.field]
    out.push({line, ts, okey, idx, row, sortv: v !== null && typeof v === 'object' ? JSON.stringify(v) : (v as SortValue)})
  }
  return out.sort(makeComparator(sort))
}

/**
 * The regular rows' matches in order: first the matches with their typed columns (DuckDB reads the other columns only
 * for rows that pass the filter), ordered and cut to the limit, then their lines (building a line costs more than any
 * filter, so only for the rows kept).
 */
function regularMatchesSql(store: Store, spec: SearchSpec, sort: SortSpec, limit: number, cutoff = ''): {sql: string; params: unknown[]} {
  const params: unknown[] = []
  const where = spec.where ? `(${spec.where.sql})` : 'TRUE'
  if (spec.where) params.push(...spec.where.params)
  const win = windowSql(spec.window, params) + cutoff
  if (Number.isFinite(limit)) return pageSql(store, where, win, params, sort, limit)
  const order = orderSql(sort)
  const sql =
    `WITH m AS (SELECT r.oid, r.krank, r.idx, r.ts, ${sortValueSql(sort)} AS sortv, r.rec_raw, ${RECORD_COLUMNS} FROM records r ${joinObjects(where)}` +
    `WHERE NOT r.irregular AND ${where} AND ${win}` +
    `) SELECT ${MATCH_LINE_SQL} AS line, m.ts, o.key AS okey, m.idx, m.sortv FROM m JOIN objects o ON o.oid = m.oid ORDER BY ${mOrderSql(sort)}`
  return {sql, params}
}

/**
 * A page (a finite limit) in two steps. First the page's rows are found reading only what the filter and the order
 * need (row id, time, sort value, the object's rank): on records_data itself, beside the general rows of records_odd,
 * when the filter reads only record columns; else on the view. Then the page's rows alone are read whole, by row id
 * (the join hands their id range to the scans, which skip the other row groups), and their lines built.
 */
function pageSql(store: Store, where: string, win: string, params: unknown[], sort: SortSpec, limit: number): {sql: string; params: unknown[]} {
  const narrow = `r.oid, r.idx, r.ts, ${sortValueSql(sort)} AS sortv`
  const ranks = store.ranksStored ? 'objects' : `(SELECT oid, row_number() OVER (ORDER BY key, source) AS krank FROM objects)`
  let m: string
  let all = params
  if (readsDataOnly(where)) {
    m =
      `SELECT c.*, k.krank FROM (SELECT ${narrow} FROM records_data r WHERE ${where} AND ${win} ` +
      `UNION ALL SELECT ${narrow} FROM (${oddRowsSql()}) r WHERE NOT r.irregular AND ${where} AND ${win}) c JOIN ${ranks} k ON k.oid = c.oid`
    all = [...params, ...params]
  } else m = `SELECT ${narrow}, r.krank FROM records r ${joinObjects(where)}WHERE NOT r.irregular AND ${where} AND ${win}`
  const cols = RECORD_FIELDS.map((f) => `r."${f.name}"`).join(', ')
  // The page's rows only (a semi join with the page as its small side), with what their order and line need.
  const rows =
    `(SELECT r.oid, r.idx, r.ts, CAST(NULL AS VARCHAR) AS rec_raw, ${sortValueSql(sort)} AS sortv, ${cols} FROM records_data r ` +
    `UNION ALL SELECT r.oid, r.idx, r.ts, r.rec_raw, ${sortValueSql(sort)} AS sortv, ${cols} FROM records_odd r WHERE NOT r.irregular)`
  const sql =
    `WITH p AS (SELECT oid, idx FROM (${m}) m ORDER BY ${mOrderSql(sort)} LIMIT ${limit}) ` +
    `SELECT ${PAGE_LINE_SQL} AS line, m.ts, m.key AS okey, m.idx, m.sortv FROM ` +
    `(SELECT x.*, k.krank, o.prefix, o.suffix, o.key FROM ${rows} x SEMI JOIN p USING (oid, idx) ` +
    // The page's objects only: their prefix and suffix (the header, ~1.5 kB each) are not read for the others.
    `JOIN (SELECT oid, prefix, suffix, key FROM objects WHERE oid IN (SELECT DISTINCT oid FROM p)) o ON o.oid = x.oid ` +
    `JOIN ${ranks} k ON k.oid = x.oid) m ORDER BY ${mOrderSql(sort)}`
  return {sql, params: all}
}

/** Columns of records_data: a filter naming only these (and no object column) can run on the table itself. */
const DATA_COLUMNS = new Set(['oid', 'idx', 'ts', 'dup', ...RECORD_FIELDS.map((f) => f.name)])

/** Whether a WHERE fragment over `r` reads only records_data's columns (so it can skip the view). */
export function readsDataOnly(where: string): boolean {
  if (/\bo\./.test(where)) return false
  for (const m of where.matchAll(/\br\.(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))/g)) if (!DATA_COLUMNS.has(m[1] ?? m[2])) return false
  return true
}

/**
 * The first page of a time sort lies at one end of time, so before ordering every match (and carrying every column of
 * each through the sort), find where the page ends. Look in a growing stretch of time at that end (the row groups
 * outside it are skipped on their time range): once the stretch holds `limit` matches, the time T of the limit-th
 * match in order is exact — every other row lies outside the stretch, on the far side of T, or has no time. The full
 * query then runs with `ts >= T` (`<= T` ascending), ties at T included. The stretches assume times spread evenly
 * between the first and last record: that decides only how fast T is found, never which rows the page holds. When
 * the filter reads only record columns the stretch is searched in records_data, which holds nearly every row: its T
 * can then only include more rows than needed, never fewer. Returns the condition, or '' (sort everything: a small
 * index, or fewer matches than the limit in 30% of the time span).
 */
async function timeCutoff(store: Store, spec: SearchSpec, sort: SortSpec, limit: number): Promise<string> {
  if (sort.field !== 'time' || !Number.isFinite(limit)) return ''
  const [stats] = await store.all(`SELECT min(ts) AS lo, max(ts) AS hi, count(*) AS n FROM records_data`)
  const n = Number(stats?.n ?? 0)
  if (stats?.lo === null || stats?.hi === null || n < limit * 4) return ''
  let lo = Number(stats.lo)
  let hi = Number(stats.hi)
  if (spec.window?.since !== undefined) lo = Math.max(lo, spec.window.since)
  if (spec.window?.until !== undefined) hi = Math.min(hi, spec.window.until)
  if (!(hi > lo)) return ''
  const where = spec.where ? `(${spec.where.sql})` : 'TRUE'
  const from = readsDataOnly(where) ? `records_data r WHERE ` : `records r ${joinObjects(where)}WHERE NOT r.irregular AND `
  const dir = sort.desc ? 'DESC' : 'ASC'
  for (let f = (limit * 20) / n; f < 0.3; f *= 8) {
    const stretch = sort.desc ? `r.ts >= ${Math.floor(hi - (hi - lo) * f)}` : `r.ts <= ${Math.ceil(lo + (hi - lo) * f)}`
    const params: unknown[] = spec.where ? [...spec.where.params] : []
    const win = windowSql(spec.window, params)
    const [row] = await store.all(
      `SELECT count(*) AS n, ${sort.desc ? 'min' : 'max'}(ts) AS t FROM ` +
        `(SELECT r.ts FROM ${from}${where} AND ${win} AND ${stretch} ORDER BY r.ts ${dir} LIMIT ${limit})`,
      params,
    )
    if (Number(row.n) >= limit && row.t !== null) return sort.desc ? ` AND r.ts >= ${Number(row.t)}` : ` AND r.ts <= ${Number(row.t)}`
  }
  return ''
}

/**
 * Write the matching lines (NDJSON) straight from DuckDB to a file or pipe, without passing them through JavaScript:
 * the fast path for `--output ndjson` on large results. Returns the number of lines written, or undefined when some
 * irregular row matches (the caller then streams with searchRecords, which merges them in order).
 */
export async function copyLines(store: Store, spec: SearchSpec, target: string): Promise<number | undefined> {
  const sort = spec.sort ?? {field: 'time', desc: false}
  const limit = spec.limit && spec.limit > 0 ? spec.limit : Number.POSITIVE_INFINITY
  if ((await irregularMatches(store, spec, sort)).length > 0) return undefined
  const {sql, params} = regularMatchesSql(store, spec, sort, limit, await timeCutoff(store, spec, sort, limit))
  // One column, no header; delimiter and quote are control characters JSON never leaves unescaped, so no line is
  // quoted or altered.
  const copy = `COPY (SELECT line FROM (${sql})) TO '${target.replace(/'/g, "''")}' (FORMAT csv, HEADER false, DELIMITER '\x01', QUOTE '\x02', ESCAPE '\x02')`
  const result = await store.connection.run(copy, params as never)
  return result.rowsChanged
}

/**
 * Whether some matching regular row has, in one of these fields, a value that the literal only prefixes (the
 * `target_ip:10.240.0.4` also finds `10.240.0.45` hint) — one cheap query instead of reading rows.
 */
export async function anyPrefixMatch(store: Store, spec: SearchSpec, clauses: {field: string; value: string}[]): Promise<boolean> {
  for (const c of clauses) {
    const col = ROW_FIELD_MAP.get(c.field)
    if (!col || col.type !== 'string') continue
    const params: unknown[] = []
    const where = spec.where ? `(${spec.where.sql})` : 'TRUE'
    if (spec.where) params.push(...spec.where.params)
    const win = windowSql(spec.window, params)
    params.push(c.value.toLowerCase(), c.value)
    const rows = await store.all(
      `SELECT 1 AS hit FROM records r ${joinObjects(where)}WHERE NOT r.irregular AND ${where} AND ${win} ` +
        `AND starts_with(lower(r."${col.name}"), ?) AND r."${col.name}" <> ? LIMIT 1`,
      params,
    )
    if (rows.length > 0) return true
  }
  return false
}

/** Stream the matching records in order. */
export async function* searchRecords(store: Store, spec: SearchSpec): AsyncGenerator<MatchedRecord> {
  const sort = spec.sort ?? {field: 'time', desc: false}
  const limit = spec.limit && spec.limit > 0 ? spec.limit : Number.POSITIVE_INFINITY
  const irregular = await irregularMatches(store, spec, sort)
  phase('irregular rows')
  const cutoff = await timeCutoff(store, spec, sort, limit)
  phase(`time cutoff${cutoff}`)
  const {sql, params} = regularMatchesSql(store, spec, sort, limit, cutoff)
  if (process.env.FLOWLOG_PROFILE === 'sql') process.stderr.write(sql + '\n' + JSON.stringify(params) + '\n')
  const result = await store.connection.stream(sql, params as never)
  phase('query started')
  const cmp = makeComparator(sort)
  let i = 0
  let emitted = 0
  for await (const chunk of result) {
    const cols = chunk.getColumns()
    const n = chunk.rowCount
    for (let k = 0; k < n; k++) {
      const c: Candidate = {
        line: cols[0][k] as string,
        ts: cols[1][k] === null ? null : Number(cols[1][k]),
        okey: cols[2][k] as string,
        idx: Number(cols[3][k]),
        sortv: plain(cols[4][k]),
      }
      while (i < irregular.length && cmp(irregular[i], c) <= 0) {
        if (emitted >= limit) return
        yield irregular[i++]
        emitted++
      }
      if (emitted >= limit) return
      yield c
      emitted++
    }
  }
  while (i < irregular.length && emitted < limit) {
    yield irregular[i++]
    emitted++
  }
}

/** How many records match in all (for "showing N of M"). */
export async function countMatches(store: Store, spec: SearchSpec): Promise<number> {
  const params: unknown[] = []
  const where = spec.where ? `(${spec.where.sql})` : 'TRUE'
  if (spec.where) params.push(...spec.where.params)
  const win = windowSql(spec.window, params)
  // A filter on record columns counts on records_data itself (no view, no join), plus the general rows of records_odd.
  const [row] = readsDataOnly(where)
    ? await store.all(
        `SELECT (SELECT count(*) FROM records_data r WHERE ${where} AND ${win}) + ` +
          `(SELECT count(*) FROM (${oddRowsSql()}) r WHERE NOT r.irregular AND ${where} AND ${win}) AS n`,
        [...params, ...params],
      )
    : await store.all(`SELECT count(*) AS n FROM records r ${joinObjects(where)}WHERE NOT r.irregular AND ${where} AND ${win}`, params)
  const irregular = spec.hasIrregular === false ? [] : await irregularMatches(store, spec, {field: 'time', desc: false})
  return Number(row.n) + irregular.length
}
