import type {ChalkInstance} from 'chalk'

import type {Home} from '../config/home.js'
import {readConfig} from '../config/settings.js'
import {UsageError} from '../errors.js'
import {loadNames, type NameMap} from '../names.js'
import type {JsonObject, JsonValue} from '../records/object.js'
import type {TimeWindow} from '../records/time.js'
import type {Source} from '../sources/types.js'
import type {CompiledQuery} from '../analysis/aggregate.js'
import {searchRecords} from '../store/search.js'
import {openStore} from '../store/store.js'
import {formatBytes, isoTime} from '../ui/format.js'
import {csvHeader, csvRow, DEFAULT_CSV_FIELDS, project, protocolName} from '../ui/records.js'
import {openSourceFromFlags} from '../sources/from-flags.js'
import {filterRecords, followObjects, type FollowSummary, type NewRecord, parseInterval, type RoundInfo} from './follow.js'

/**
 * `flowlog search QUERY --follow`: print the latest matches already in the index, then keep pulling new objects from
 * the source and print each new matching record as it arrives (the query's JavaScript back end on the new rows),
 * until interrupted.
 */
export interface FollowSearchOptions {
  home: Home
  source: Source
  compiled: Pick<CompiledQuery, 'query' | 'spec'>
  window?: TimeWindow
  intervalMs: number
  /** How many of the latest existing matches to print first (0 = all of them, as search --limit 0). */
  backlog: number
  signal?: AbortSignal
  maxRounds?: number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  onBacklog: (records: NewRecord[]) => void | Promise<void>
  onMatches: (records: NewRecord[], info: RoundInfo) => void | Promise<void>
  onReady?: () => void
  onRoundError?: (error: unknown, round: number) => void
}

/** The latest `limit` matches in the index (time order); limit 0 = all. */
async function latestMatches(home: Home, compiled: Pick<CompiledQuery, 'query' | 'spec'>, window: TimeWindow | undefined, limit: number): Promise<NewRecord[]> {
  const store = await openStore(home, {readOnly: true})
  try {
    const out: NewRecord[] = []
    for await (const m of searchRecords(store, {...compiled.spec, window, limit, sort: {field: 'time', desc: true}})) {
      out.push({line: m.line, row: m.row ?? (JSON.parse(m.line) as JsonObject), ts: m.ts, okey: m.okey, idx: m.idx})
    }
    return out.reverse()
  } finally {
    await store.close()
  }
}

export async function followSearch(options: FollowSearchOptions): Promise<FollowSummary> {
  if (options.window?.until !== undefined) {
    throw new UsageError('--until cannot be used with --follow (new records are always later)', {suggestions: ['Drop --until, or drop --follow']})
  }
  const predicate = options.compiled.spec.predicate
  return followObjects({
    home: options.home,
    source: options.source,
    intervalMs: options.intervalMs,
    signal: options.signal,
    maxRounds: options.maxRounds,
    sleep: options.sleep,
    initialWindow: options.window,
    onRoundError: options.onRoundError,
    async onReady() {
      await options.onBacklog(await latestMatches(options.home, options.compiled, options.window, options.backlog))
      options.onReady?.()
    },
    async onRecords(records, info) {
      const matches = filterRecords(records, predicate, options.window)
      await options.onMatches(matches, info)
    },
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering (for the search command): one line per record, since a table cannot grow
// ---------------------------------------------------------------------------------------------------------------

function endpoint(ip: JsonValue | undefined, port: JsonValue | undefined, names: NameMap | undefined, c: ChalkInstance): string {
  const i = ip === undefined || ip === null ? '?' : String(ip)
  const n = typeof ip === 'string' ? names?.get(ip) : undefined
  return (port === undefined || port === null ? i : `${i}:${port}`) + (n ? ` ${c.dim(`(${n})`)}` : '')
}

/** `2025-06-02T10:00:01Z  I rejected  92.63.197.61:51234 → 10.240.0.4:22 (vsi1/eth0)  tcp  60 B` */
export function followLine(row: JsonObject, ts: number | null, c: ChalkInstance, names?: NameMap): string {
  const action = row.action === 'rejected' ? c.red('rejected') : row.action === 'accepted' ? c.green('accepted') : String(row.action ?? '')
  const bytes = (typeof row.bytes_from_initiator === 'number' ? row.bytes_from_initiator : 0) + (typeof row.bytes_from_target === 'number' ? row.bytes_from_target : 0)
  return [
    isoTime(ts) || '-',
    String(row.direction ?? '-'),
    action,
    `${endpoint(row.initiator_ip, row.initiator_port, names, c)} → ${endpoint(row.target_ip, row.target_port, names, c)}`,
    protocolName(row.transport_protocol) || '-',
    formatBytes(bytes),
  ].join('  ')
}

/** Where follow output goes (the command's Terminal). */
export interface FollowIo {
  out(text: string): void
  info(text: string): void
  warn(text: string): void
  hint(text: string): void
  readonly c: ChalkInstance
}

export interface SearchFollowFlags {
  source?: string
  'cos-endpoint'?: string
  region?: string
  'endpoint-type'?: string
  interval?: string
  limit: number
  output: string
  fields?: string[]
  /** --json: one JSON object per line. */
  json?: boolean
}

/**
 * The whole `search --follow` branch for the command: open the source, follow, render. Returns when interrupted
 * through `signal` (Ctrl-C normally ends the process with 130 first).
 */
export async function runSearchFollow(
  io: FollowIo,
  home: Home,
  compiled: Pick<CompiledQuery, 'query' | 'spec'>,
  window: TimeWindow,
  flags: SearchFollowFlags,
  extra: {signal?: AbortSignal; maxRounds?: number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void>} = {},
): Promise<{records: JsonObject[]; truncated: boolean; total: number}> {
  const intervalMs = parseInterval(flags.interval ?? '30s')
  const config = await readConfig(home)
  const source = await openSourceFromFlags(home, flags)
  const output = flags.json ? 'ndjson' : flags.output
  const fields = flags.fields
  const names = output === 'table' && !fields ? (await loadNames(home, {config})).names : undefined
  let total = 0
  const print = (records: NewRecord[]) => {
    for (const r of records) {
      total++
      if (output === 'ndjson' || output === 'json') io.out(fields ? JSON.stringify(project(r.row, fields)) : r.line)
      else if (output === 'csv') io.out(csvRow(r.row, fields ?? DEFAULT_CSV_FIELDS))
      else if (fields) io.out(fields.map((f) => (r.row[f] === undefined ? '' : typeof r.row[f] === 'object' ? JSON.stringify(r.row[f]) : String(r.row[f]))).join('  '))
      else io.out(followLine(r.row, r.ts, io.c, names))
    }
  }
  try {
    if (output === 'csv') io.out(csvHeader(fields ?? DEFAULT_CSV_FIELDS))
    await followSearch({
      home,
      source,
      compiled,
      window,
      intervalMs,
      backlog: flags.limit,
      signal: extra.signal,
      maxRounds: extra.maxRounds,
      sleep: extra.sleep,
      onBacklog: print,
      onReady: () => io.info(`following ${source.description} every ${flags.interval ?? '30s'} (Ctrl-C to stop)`),
      onMatches: (records) => print(records),
      onRoundError: (error) => io.warn(`this round failed: ${(error as Error).message ?? String(error)}; trying again next round`),
    })
  } finally {
    await source.close?.()
  }
  return {records: [], truncated: false, total}
}
