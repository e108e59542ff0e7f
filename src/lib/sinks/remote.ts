import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {type Home, resolveHome} from '../config/home.js'
import type {FlowlogConfig} from '../config/settings.js'
import {UsageError} from '../errors.js'
import {queryToLucene} from '../query/lucene.js'
import {toRecordPredicate} from '../query/predicate.js'
import {DEFAULT_APP, envelopeLevel, type EnvelopeOptions} from '../records/envelope.js'
import {type JsonObject, type JsonValue, recordTime} from '../records/object.js'
import {FLOWLOG_KEY_PREFIX} from '../records/key.js'
import {HEADER_FIELDS} from '../records/schema.js'
import type {TimeWindow} from '../records/time.js'
import {CloudLogsApiClient, type CloudLogsApiFlags, type QueryResult, resolveCloudLogsApi} from './cloud-logs-api.js'

/**
 * Records from where `forward` sent them (docs/sinks.md §8.3): `--remote cloud-logs` on search and top. The query is
 * translated to Lucene (query/lucene.ts; a part Lucene cannot express is refused before any request, exit 2), sent to
 * `POST /v1/query` with the window as start/end dates, and every result is re-checked with the query's own predicate
 * and window, so the records are exactly those local search finds in the same lines.
 */
export const REMOTES = ['cloud-logs'] as const
export type RemoteKind = (typeof REMOTES)[number]

/** At most this many results per query (the API's own cap on a direct query). */
export const REMOTE_QUERY_LIMIT = 12_000

export interface RemoteRecord {
  row: JsonObject
  line: string
  ts: number | null
}

export interface RemoteSearchRequest {
  remote: string
  query: string
  window?: TimeWindow
  envelope?: EnvelopeOptions
  api: CloudLogsApiFlags
  env: NodeJS.ProcessEnv
  config: FlowlogConfig
  userAgent?: string
  /** Records to return (0 = all the API gives); the rest are only counted. */
  limit?: number
  sort?: {field: string; desc: boolean}
  /** For tests: a client instead of one built from the settings. */
  client?: CloudLogsApiClient
}

export interface RemoteSearch {
  /** The Lucene query sent. */
  lucene: string
  warnings: string[]
  /** Records in time (or --sort) order, at most `limit`. */
  records: RemoteRecord[]
  /** Matching records in all. */
  total: number
  /** The API returned its maximum: there may be more. */
  capped: boolean
}

const label = (r: QueryResult, key: string): string | undefined => r.labels?.find((l) => l.key.toLowerCase() === key)?.value

/** Run a remote search: translate, query, re-check, order. */
export async function remoteSearch(req: RemoteSearchRequest): Promise<RemoteSearch> {
  if (!(REMOTES as readonly string[]).includes(req.remote)) throw new UsageError(`--remote must be one of ${REMOTES.join(', ')}, not ${JSON.stringify(req.remote)}`)
  const t = queryToLucene(req.query)
  const app = req.envelope?.app ?? DEFAULT_APP
  const appClause = `coralogix.metadata.applicationName:"${app.replace(/["\\]/g, '\\$&')}"`
  const lucene = t.lucene === '*' ? appClause : `(${t.lucene}) AND ${appClause}`
  const client = req.client ?? CloudLogsApiClient.fromSettings(resolveCloudLogsApi(req.api, req.env, req.config), req.userAgent)
  const predicate = toRecordPredicate(t.ast)
  const window = req.window
  const matches: RemoteRecord[] = []
  let results = 0
  for await (const r of client.query({lucene, startDate: window?.since, endDate: window?.until, limit: REMOTE_QUERY_LIMIT})) {
    results++
    if (label(r, 'applicationname') !== undefined && label(r, 'applicationname') !== app) continue
    let row: unknown
    try {
      row = JSON.parse(r.user_data)
    } catch {
      continue
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) continue
    const obj = row as JsonObject
    const ts = recordTime(obj) ?? null
    if (window?.since !== undefined && (ts === null || ts < window.since)) continue
    if (window?.until !== undefined && (ts === null || ts >= window.until)) continue
    const line = JSON.stringify(obj)
    const host = label(r, 'subsystemname') ?? req.envelope?.hostname ?? ''
    if (!predicate({row: obj, line, host, app, level: envelopeLevel(obj, req.envelope), tags: req.envelope?.tags ?? []})) continue
    matches.push({row: obj, line, ts})
  }
  matches.sort(compareBy(req.sort))
  const limit = req.limit ?? 0
  return {
    lucene,
    warnings: t.warnings,
    records: limit > 0 ? matches.slice(0, limit) : matches,
    total: matches.length,
    capped: results >= REMOTE_QUERY_LIMIT,
  }
}

function compareBy(sort: {field: string; desc: boolean} | undefined): (a: RemoteRecord, b: RemoteRecord) => number {
  const sign = sort?.desc ? -1 : 1
  const byTime = (a: RemoteRecord, b: RemoteRecord) => ((a.ts ?? -Infinity) - (b.ts ?? -Infinity)) * sign || (a.line < b.line ? -1 : a.line > b.line ? 1 : 0)
  if (!sort || sort.field === 'time') return byTime
  const key = (v: JsonValue | undefined) => (v === undefined || v === null ? '' : v)
  return (a, b) => {
    const x = key(a.row[sort.field])
    const y = key(b.row[sort.field])
    if (typeof x === 'number' && typeof y === 'number' && x !== y) return (x - y) * sign
    const sx = String(x)
    const sy = String(y)
    return sx < sy ? -sign : sx > sy ? sign : byTime(a, b)
  }
}

/** `top --remote`: flows and bytes per value of one field over the remote matches (the same rules as local top). */
export function topOfRecords(records: RemoteRecord[], by: string, limit: number, sort: 'flows' | 'bytes'): {rows: {value: JsonValue; flows: number; bytes: number}[]; missing: number; records: number; groups: number} {
  const groups = new Map<string, {value: JsonValue; flows: number; bytes: number}>()
  let missing = 0
  for (const r of records) {
    const v = r.row[by]
    if (v === undefined || v === null) {
      missing++
      continue
    }
    const k = JSON.stringify(v)
    const g = groups.get(k) ?? {value: v, flows: 0, bytes: 0}
    const b = (x: JsonValue | undefined) => (typeof x === 'number' ? x : 0)
    g.flows++
    g.bytes += b(r.row.bytes_from_initiator) + b(r.row.bytes_from_target)
    groups.set(k, g)
  }
  const byValue = (x: JsonValue, y: JsonValue) =>
    typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0
  const rows = [...groups.values()].sort((a, b) => b[sort] - a[sort] || byValue(a.value, b.value))
  return {rows: limit > 0 ? rows.slice(0, limit) : rows, missing, records: records.length, groups: groups.size}
}

/** `top --by F --remote cloud-logs`: the remote matches, counted per value. */
export async function remoteTop(
  req: Omit<RemoteSearchRequest, 'limit' | 'sort'> & {by: string; limit: number; sort: 'flows' | 'bytes'},
): Promise<ReturnType<typeof topOfRecords> & {capped: boolean; lucene: string}> {
  const {by, limit, sort, ...search} = req
  const found = await remoteSearch({...search, limit: 0})
  return {...topOfRecords(found.records, by, limit, sort), capped: found.capped, lucene: found.lucene}
}

/**
 * `why-rejected --remote cloud-logs`: the window's flow-log records from Cloud Logs, regrouped into their objects
 * (header fields once, records in order) and loaded into a throw-away index, so the analysis reads them exactly as it
 * reads a pulled bucket. The caller opens `home`'s store and calls `cleanup` when done.
 */
export async function remoteEvidenceHome(req: Omit<RemoteSearchRequest, 'limit' | 'sort' | 'query'>): Promise<{home: Home; records: number; capped: boolean; cleanup: () => void}> {
  const found = await remoteSearch({...req, query: '', limit: 0})
  const dir = mkdtempSync(join(tmpdir(), 'flowlog-remote-'))
  const cleanup = () => rmSync(dir, {recursive: true, force: true})
  try {
    const headerNames = new Set(HEADER_FIELDS.map((f) => f.name))
    const byKey = new Map<string, JsonObject[]>()
    for (const r of found.records) {
      const key = r.row.key
      if (typeof key !== 'string' || !key.startsWith(FLOWLOG_KEY_PREFIX) || key.split('/').some((s) => s === '..' || s === '')) continue
      const list = byKey.get(key) ?? []
      list.push(r.row)
      byKey.set(key, list)
    }
    const objects = join(dir, 'objects')
    for (const [key, rows] of byKey) {
      const header: JsonObject = {}
      for (const [k, v] of Object.entries(rows[0])) if (headerNames.has(k)) header[k] = v
      const records = rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'key' && !headerNames.has(k))) as JsonObject)
      const file = join(objects, ...key.split('/'))
      mkdirSync(dirname(file), {recursive: true})
      writeFileSync(file, gzipSync(JSON.stringify({...header, number_of_flow_logs: records.length, flow_logs: records})))
    }
    const home = resolveHome({env: {FLOWLOG_HOME: join(dir, 'home')}})
    if (byKey.size > 0) {
      const {pullFirst} = await import('../sources/from-flags.js')
      await pullFirst(home, {source: objects}, req.window ?? {})
    }
    return {home, records: found.records.length, capped: found.capped, cleanup}
  } catch (error) {
    cleanup()
    throw error
  }
}
