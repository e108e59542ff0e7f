import {UsageError} from '../errors.js'
import {phase} from '../profile.js'
import {isMatchAll, parseQuery, queryHasCidr, toPredicate, toSql} from '../query/index.js'
import type {EnvelopeOptions} from '../records/envelope.js'
import type {JsonObject, JsonValue} from '../records/object.js'
import {ROW_FIELD_MAP} from '../records/schema.js'
import type {Store} from '../store/store.js'
import {connectionBuckets, ConnectionInput, groupConnections} from './connections.js'
import {byteValue, inWindow, plain, type QuerySpec, recordBytes, regularRows, scanIrregular} from './records-sql.js'

export {byteValue, inWindow, type QuerySpec, recordBytes, scanIrregular} from './records-sql.js'

/**
 * Exact aggregations over the local index (`top`, `stats`, alert replays). Like searchRecords, regular rows are
 * counted in SQL (GROUP BY on the typed columns) and irregular rows are parsed from their line and counted in
 * JavaScript with the query's predicate; the two are merged, so the numbers are those of an independent count over
 * the flattened rows.
 *
 * Conventions:
 * - flows = number of records; bytes = bytes_from_initiator + bytes_from_target, a missing or non-numeric value
 *   counting as 0;
 * - a field that is missing or JSON null has no value: such records are counted in `missing` and left out;
 * - values keep their JSON type (22 and "22" are different values);
 * - with a time window, records without a usable time are left out (as search does).
 */
/** A query compiled for the index (the same shape as store/query-search.ts compileSearch). */
export interface CompiledQuery {
  query: string
  spec: Pick<QuerySpec, 'where' | 'predicate'>
  warnings: string[]
  /** The query has a CIDR clause: it matches nothing when sent to Log Analysis / Mezmo (docs/query-language.md §13). */
  hasCidr: boolean
}

/** Parse (QuerySyntaxError → exit 2) and compile: SQL for regular rows, the JavaScript predicate for the others. */
export function compileQuery(query: string, envelope: EnvelopeOptions = {}): CompiledQuery {
  const {ast, warnings} = parseQuery(query)
  const hasCidr = queryHasCidr(ast)
  if (isMatchAll(ast)) return {query, spec: {}, warnings, hasCidr}
  return {query, spec: {where: toSql(ast, envelope), predicate: toPredicate(ast, envelope)}, warnings, hasCidr}
}

export interface GroupRow {
  value: JsonValue
  flows: number
  bytes: number
}

export type GroupSort = 'flows' | 'bytes'

/** A restriction on top of the query: the record's `action` is exactly this value. */
export type ActionFilter = 'accepted' | 'rejected'

export interface GroupSpec {
  field: string
  /** flows desc (default), or bytes desc; ties: the other measure desc, then value asc. */
  sort?: GroupSort
  /** 0 or undefined: every group. */
  limit?: number
  action?: ActionFilter
}

export interface GroupResult {
  by: string
  rows: GroupRow[]
  /** Matching records where the field is missing or null (left out of rows). */
  missing: number
  /** Matching records (with and without the field). */
  records: number
  /** Distinct values before the limit. */
  groups: number
  /** Counting connections: the records merged into others (copies at a second interface, later windows); else 0. */
  merged: number
}

/**
 * What a flow is: a record (`--raw`, the default here), or a connection, its records at both interfaces of the VPC
 * and over consecutive windows merged (connections.ts, docs/connections.md). In connection mode, flows, missing and
 * records count connections.
 */
export interface CountMode {
  connections?: boolean
}

export const FIELD_NAME = /^[A-Za-z0-9_@$][A-Za-z0-9_@$.-]*$/

export function checkFieldName(field: string, flag = '--by'): void {
  if (!FIELD_NAME.test(field)) {
    throw new UsageError(`${flag} ${JSON.stringify(field)} is not a field name`, {
      suggestions: ['Use a flow-log field such as initiator_ip, target_ip, target_port, action or direction'],
    })
  }
}

/** Map key for a JSON value that keeps types apart (22 vs "22"). */
export function valueKey(v: JsonValue): string {
  return JSON.stringify(v)
}

function typeRank(v: JsonValue): number {
  if (typeof v === 'number') return 0
  if (typeof v === 'string') return 1
  if (typeof v === 'boolean') return 2
  return 3
}

/** Ascending order of values: numbers (numerically), then strings (code-unit order), booleans, objects/arrays. */
export function compareValues(a: JsonValue, b: JsonValue): number {
  const ra = typeRank(a)
  const rb = typeRank(b)
  if (ra !== rb) return ra - rb
  if (typeof a === 'number') return (a as number) - (b as number)
  if (typeof a === 'boolean') return Number(a) - Number(b)
  const sa = typeof a === 'string' ? a : JSON.stringify(a)
  const sb = typeof b === 'string' ? (b as string) : JSON.stringify(b)
  return sa < sb ? -1 : sa > sb ? 1 : 0
}

export function sortGroups(rows: GroupRow[], sort: GroupSort = 'flows'): GroupRow[] {
  return rows.sort((a, b) => {
    if (sort === 'bytes') {
      if (b.bytes !== a.bytes) return b.bytes - a.bytes
      if (b.flows !== a.flows) return b.flows - a.flows
    } else if (b.flows !== a.flows) return b.flows - a.flows
    return compareValues(a.value, b.value)
  })
}

class GroupAccumulator {
  readonly groups = new Map<string, GroupRow>()
  missing = 0
  records = 0

  constructor(readonly spec: GroupSpec) {}

  add(value: JsonValue | undefined, flows: number, bytes: number): void {
    this.records += flows
    if (value === undefined || value === null) {
      this.missing += flows
      return
    }
    const k = valueKey(value)
    const g = this.groups.get(k)
    if (g) {
      g.flows += flows
      g.bytes += bytes
    } else this.groups.set(k, {value, flows, bytes})
  }

  /** One irregular row (already matching the query). */
  addRow(row: JsonObject): void {
    if (this.spec.action && row.action !== this.spec.action) return
    const v = Object.hasOwn(row, this.spec.field) ? row[this.spec.field] : undefined
    this.add(v, 1, recordBytes(row))
  }

  merged = 0

  result(): GroupResult {
    const rows = sortGroups([...this.groups.values()], this.spec.sort)
    const limit = this.spec.limit && this.spec.limit > 0 ? this.spec.limit : rows.length
    return {by: this.spec.field, rows: rows.slice(0, limit), missing: this.missing, records: this.records, groups: rows.length, merged: this.merged}
  }
}

const BYTES_SQL = `COALESCE(r.bytes_from_initiator, 0) + COALESCE(r.bytes_from_target, 0)`

/** The SQL half of one grouping: GROUP BY the typed column (or everything missing when the field has none). */
async function groupRegular(store: Store, spec: QuerySpec, group: GroupSpec, acc: GroupAccumulator): Promise<void> {
  const column = ROW_FIELD_MAP.get(group.field)
  const extra = group.action ? {sql: 'r.action = ?', params: [group.action]} : undefined
  if (!column) {
    // Regular rows only hold the typed fields: they all lack this one.
    const rows = regularRows(spec, '1 AS one', extra)
    const [row] = await store.all(`SELECT count(*) AS flows FROM ${rows.sql} t`, rows.params)
    acc.add(undefined, Number(row.flows), 0)
    return
  }
  const rows = regularRows(spec, `r."${column.name}" AS v, ${BYTES_SQL} AS b`, extra)
  for (const r of await store.all(`SELECT v, count(*) AS flows, sum(b) AS bytes FROM ${rows.sql} t GROUP BY v`, rows.params)) {
    acc.add(r.v === null ? undefined : plain(r.v), Number(r.flows), r.bytes === null ? 0 : Number(r.bytes))
  }
}

/** Several groupings of the same query, with one pass over the irregular rows. */
export async function groupBy(store: Store, spec: QuerySpec & CountMode, groups: GroupSpec[]): Promise<GroupResult[]> {
  for (const g of groups) checkFieldName(g.field)
  const accs = groups.map((g) => new GroupAccumulator(g))
  if (spec.connections) {
    // The merge reads regular and irregular rows together, in SQL.
    const input = await ConnectionInput.open(store, spec, groups.map((g) => g.field))
    try {
      for (const [k, acc] of accs.entries()) {
        const counted = await groupConnections(input, k, acc.spec.action)
        for (const r of counted.rows) acc.add(r.value, r.flows, r.bytes)
        // A connection with several values of the field counts under each: the total is counted apart.
        acc.records = counted.connections
        acc.merged = counted.records - counted.connections
      }
    } finally {
      await input.close()
    }
    return accs.map((a) => a.result())
  }
  for (const acc of accs) await groupRegular(store, spec, acc.spec, acc)
  await scanIrregular(store, spec, (row) => {
    for (const acc of accs) acc.addRow(row)
  })
  return accs.map((a) => a.result())
}

export interface TopOptions extends QuerySpec, CountMode {
  by: string
  /** Default 10; 0 = all. */
  limit?: number
  sort?: GroupSort
}

/** `flowlog top`: flows and bytes per value of a field, flows desc, ties by value asc. */
export async function topBy(store: Store, options: TopOptions): Promise<GroupResult> {
  const [result] = await groupBy(store, options, [{field: options.by, limit: options.limit ?? 10, sort: options.sort}])
  return result
}

// ---------------------------------------------------------------------------------------------------------------
// Time buckets
// ---------------------------------------------------------------------------------------------------------------

export interface Bucket {
  /** Start of the bucket, epoch ms (aligned to multiples of the interval since the epoch, UTC). */
  start: number
  accepted: number
  rejected: number
  /** Records whose action is neither accepted nor rejected. */
  other: number
}

export interface BucketResult {
  intervalMs: number
  buckets: Bucket[]
  /** Matching records without a usable time (not in any bucket). */
  untimed: number
  totals: {records: number; accepted: number; rejected: number; other: number}
  /** Counting connections: the records merged into others; else 0. */
  merged: number
}

export interface BucketOptions extends QuerySpec, CountMode {
  intervalMs: number
  /** Refuse to build more buckets than this (default 10 000). */
  maxBuckets?: number
  /** With --since and no --until, buckets run up to this time (default: the last record). */
  now?: number
}

function bucketOf(ts: number, interval: number): number {
  return Math.floor(ts / interval) * interval
}

/** The bounds of the buckets that would be built, before building them (to choose or check an interval). */
export async function timeRange(store: Store, spec: QuerySpec): Promise<{min: number; max: number} | undefined> {
  const rows = regularRows(spec, 'r.ts AS ts', {sql: 'r.ts IS NOT NULL'})
  const [row] = await store.all(`SELECT min(ts) AS lo, max(ts) AS hi FROM ${rows.sql} t`, rows.params)
  let min = row.lo === null ? Number.POSITIVE_INFINITY : Number(row.lo)
  let max = row.hi === null ? Number.NEGATIVE_INFINITY : Number(row.hi)
  await scanIrregular(store, spec, (_row, ts) => {
    if (ts === null) return
    if (ts < min) min = ts
    if (ts > max) max = ts
  })
  if (!Number.isFinite(min)) return undefined
  return {min, max}
}

/** Accepted and rejected per interval, with empty buckets filled in over the window (or the data's span). */
export async function bucketsOverTime(store: Store, options: BucketOptions): Promise<BucketResult> {
  const interval = options.intervalMs
  if (!Number.isFinite(interval) || interval < 1000) throw new UsageError('--interval must be at least 1s')
  let rows: Record<string, unknown>[]
  let merged = 0
  if (options.connections) {
    // Connections count in the bucket of their first record; irregular rows are part of the merge.
    const input = await ConnectionInput.open(store, options)
    try {
      const counted = await connectionBuckets(input, interval)
      for (const r of counted) merged += r.records - r.n
      rows = counted
    } finally {
      await input.close()
    }
  } else {
    const matched = regularRows(options, 'r.ts AS ts, r.action AS act')
    rows = await store.all(
      `SELECT CAST(floor(ts / CAST(? AS DOUBLE)) AS BIGINT) * ? AS b, ` +
        `count(*) FILTER (WHERE act = 'accepted') AS a, count(*) FILTER (WHERE act = 'rejected') AS rj, count(*) AS n ` +
        `FROM ${matched.sql} t GROUP BY 1`,
      [interval, interval, ...matched.params],
    )
  }
  const map = new Map<number, Bucket>()
  let untimed = 0
  const totals = {records: 0, accepted: 0, rejected: 0, other: 0}
  const bucket = (start: number): Bucket => {
    let b = map.get(start)
    if (!b) {
      b = {start, accepted: 0, rejected: 0, other: 0}
      map.set(start, b)
    }
    return b
  }
  for (const r of rows) {
    const a = Number(r.a)
    const rj = Number(r.rj)
    const n = Number(r.n)
    totals.records += n
    totals.accepted += a
    totals.rejected += rj
    totals.other += n - a - rj
    if (r.b === null) {
      untimed += n
      continue
    }
    const b = bucket(Number(r.b))
    b.accepted += a
    b.rejected += rj
    b.other += n - a - rj
  }
  if (!options.connections) await scanIrregular(store, options, (row, ts) => {
    totals.records++
    const kind = row.action === 'accepted' ? 'accepted' : row.action === 'rejected' ? 'rejected' : 'other'
    totals[kind]++
    if (ts === null) {
      untimed++
      return
    }
    bucket(bucketOf(ts, interval))[kind]++
  })
  const starts = [...map.keys()]
  const since = options.window?.since
  const until = options.window?.until ?? (since !== undefined ? options.now : undefined)
  if (starts.length === 0 && (since === undefined || until === undefined)) return {intervalMs: interval, buckets: [], untimed, totals, merged}
  let lo = since !== undefined ? bucketOf(since, interval) : Number.POSITIVE_INFINITY
  let hi = until !== undefined ? bucketOf(until - 1, interval) : Number.NEGATIVE_INFINITY
  for (const s of starts) {
    if (s < lo) lo = s
    if (s > hi) hi = s
  }
  const count = Math.floor((hi - lo) / interval) + 1
  const max = options.maxBuckets ?? 10_000
  if (count > max) {
    throw new UsageError(`--interval is too small: ${count} buckets (at most ${max})`, {
      suggestions: ['Use a larger --interval, or narrow the time with --since/--until'],
    })
  }
  const buckets: Bucket[] = []
  for (let s = lo; s <= hi; s += interval) buckets.push(map.get(s) ?? {start: s, accepted: 0, rejected: 0, other: 0})
  return {intervalMs: interval, buckets, untimed, totals, merged}
}

/** Nice intervals for automatic widening. */
export const NICE_INTERVALS_MS = [
  60_000, 5 * 60_000, 10 * 60_000, 15 * 60_000, 30 * 60_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000,
  86_400_000, 7 * 86_400_000, 30 * 86_400_000,
]

/** The smallest nice interval ≥ `preferred` giving at most `maxBuckets` buckets over [min, max]. */
export function chooseInterval(range: {min: number; max: number}, preferred: number, maxBuckets: number): number {
  const fits = (i: number) => Math.floor(range.max / i) - Math.floor(range.min / i) + 1 <= maxBuckets
  if (fits(preferred)) return preferred
  for (const i of NICE_INTERVALS_MS) if (i >= preferred && fits(i)) return i
  let i = NICE_INTERVALS_MS.at(-1)!
  while (!fits(i)) i *= 2
  return i
}

/** The record times of every match (records without a time are counted apart), for alert replays. */
export async function matchTimes(store: Store, spec: QuerySpec): Promise<{times: number[]; untimed: number}> {
  const matched = regularRows(spec, 'r.ts AS ts')
  const rows = await store.all(`SELECT ts FROM ${matched.sql} t`, matched.params)
  const times: number[] = []
  let untimed = 0
  for (const r of rows) {
    if (r.ts === null) untimed++
    else times.push(Number(r.ts))
  }
  await scanIrregular(store, spec, (_row, ts) => {
    if (ts === null) untimed++
    else times.push(ts)
  })
  return {times: times.sort((a, b) => a - b), untimed}
}

/** The newest record time in the index (or undefined when it is empty). */
export async function newestRecordTime(store: Store): Promise<number | undefined> {
  const [row] = await store.all(`SELECT max(ts) AS t FROM records`)
  return row.t === null ? undefined : Number(row.t)
}

// ---------------------------------------------------------------------------------------------------------------
// stats
// ---------------------------------------------------------------------------------------------------------------

/**
 * `flowlog stats`: accepted and rejected over time, top talkers (initiator IPs by bytes), top rejected target ports
 * and top rejected sources, for the records a query matches.
 */
export interface StatsOptions extends QuerySpec, CountMode {
  /** Bucket width; undefined = 5 minutes, widened to a round interval when the span would need too many buckets. */
  intervalMs?: number
  /** Entries per top list (default 5). */
  top?: number
  now?: number
  /** Buckets at most when the interval is chosen automatically (default 288, a day of 5-minute buckets). */
  autoMaxBuckets?: number
}

export interface StatsResult {
  interval_ms: number
  /** The interval was widened from the 5-minute default to keep the number of buckets readable. */
  interval_widened: boolean
  since: string | null
  until: string | null
  totals: {records: number; accepted: number; rejected: number; other: number; untimed: number}
  buckets: {start: string; accepted: number; rejected: number}[]
  top_talkers: GroupRow[]
  top_rejected_ports: GroupRow[]
  top_rejected_sources: GroupRow[]
  /** Counting connections (the default of the command): records merged into others; 0 with --raw. */
  merged: number
}

export const DEFAULT_STATS_INTERVAL_MS = 5 * 60_000

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')

export async function computeStats(store: Store, options: StatsOptions): Promise<StatsResult> {
  const now = options.now ?? Date.now()
  let interval = options.intervalMs ?? DEFAULT_STATS_INTERVAL_MS
  let widened = false
  if (options.intervalMs === undefined) {
    const data = await timeRange(store, options)
    const min = options.window?.since ?? data?.min
    const max = options.window?.until !== undefined ? options.window.until - 1 : options.window?.since !== undefined ? Math.max(now, data?.max ?? now) : data?.max
    if (min !== undefined && max !== undefined) {
      const chosen = chooseInterval({min, max}, interval, options.autoMaxBuckets ?? 288)
      widened = chosen !== interval
      interval = chosen
    }
  }
  phase('stats: time range')
  const buckets = await bucketsOverTime(store, {...options, intervalMs: interval, now})
  phase('stats: buckets')
  const top = options.top ?? 5
  const [talkers, ports, sources] = await groupBy(store, options, [
    {field: 'initiator_ip', sort: 'bytes', limit: top},
    {field: 'target_port', action: 'rejected', limit: top},
    {field: 'initiator_ip', action: 'rejected', limit: top},
  ])
  return {
    interval_ms: interval,
    interval_widened: widened,
    since: buckets.buckets.length ? iso(buckets.buckets[0].start) : null,
    until: buckets.buckets.length ? iso(buckets.buckets.at(-1)!.start + interval) : null,
    totals: {...buckets.totals, untimed: buckets.untimed},
    buckets: buckets.buckets.map((b) => ({start: iso(b.start), accepted: b.accepted, rejected: b.rejected})),
    top_talkers: talkers.rows,
    top_rejected_ports: ports.rows,
    top_rejected_sources: sources.rows,
    merged: buckets.merged,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Alert replay
// ---------------------------------------------------------------------------------------------------------------

export interface AlertReplay {
  /** last-hour: the hour before now; latest-data: the newest hour of local records (none in the last hour); none: no local records. */
  basis: 'last-hour' | 'latest-data' | 'none'
  window_start: string | null
  window_end: string | null
  matches: number
  fires: number
}

/**
 * How often a presence alert (at least `limit` matches within `intervalMs`) would have fired on the local records
 * of the last hour; when the index holds nothing from the last hour, on its newest hour of data instead. Matches are
 * counted per interval aligned to the epoch (an estimate of the service's windows); each interval reaching the limit
 * fires once.
 */
export async function replayPresenceAlert(
  store: Store,
  spec: Pick<QuerySpec, 'where' | 'predicate'>,
  options: {intervalMs: number; limit: number; now?: number},
): Promise<AlertReplay> {
  const HOUR = 3_600_000
  const now = options.now ?? Date.now()
  let basis: AlertReplay['basis'] = 'last-hour'
  let window = {since: now - HOUR, until: now}
  let {times} = await matchTimes(store, {...spec, window})
  if (times.length === 0) {
    const [any] = await store.all(`SELECT count(*) AS n FROM records WHERE ts >= ? AND ts < ?`, [window.since, window.until])
    if (Number(any.n) === 0) {
      const newest = await newestRecordTime(store)
      if (newest === undefined) return {basis: 'none', window_start: null, window_end: null, matches: 0, fires: 0}
      basis = 'latest-data'
      window = {since: newest + 1 - HOUR, until: newest + 1}
      times = (await matchTimes(store, {...spec, window})).times
    }
  }
  const counts = new Map<number, number>()
  for (const t of times) {
    const b = Math.floor(t / options.intervalMs)
    counts.set(b, (counts.get(b) ?? 0) + 1)
  }
  let fires = 0
  for (const n of counts.values()) if (n >= options.limit) fires++
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')
  return {basis, window_start: iso(window.since), window_end: iso(window.until), matches: times.length, fires}
}
