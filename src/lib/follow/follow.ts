import type {Home} from '../config/home.js'
import {errorMessage, PartialFailureError, UsageError} from '../errors.js'
import type {JsonObject} from '../records/object.js'
import {parseDuration, type TimeWindow} from '../records/time.js'
import type {Source} from '../sources/types.js'
import {pullObjects, type PullSummary} from '../sources/pull.js'
import type {RowPredicate} from '../store/search.js'
import {pause} from '../sleep.js'
import type {ParsePool} from '../store/pool.js'
import {openStore, type Store} from '../store/store.js'

/**
 * The follow loop behind `search --follow` and `watch`: every interval, pull what is new from the source into the
 * index, then hand over the records of the objects that were loaded since the last round, parsed, in record-time
 * order. "New" is what the index says: objects whose `loaded_at` is later than anything handed over before (objects
 * another `flowlog pull` loaded in between count too). The index is opened for writing only during a round, so other
 * commands can use it in between.
 */
export interface NewRecord {
  row: JsonObject
  line: string
  ts: number | null
  okey: string
  idx: number
}

export interface RoundInfo {
  round: number
  /** Objects loaded by this round's pull. */
  pulled: number
  /** Objects handed over (loaded since the previous round, by us or by someone else). */
  newObjects: number
  newRecords: number
  /** Partial pull failures (the round goes on with what loaded). */
  failures: {key: string; error: string}[]
}

export interface FollowOptions {
  home: Home
  source: Source
  /** Time between the end of a round and the start of the next. */
  intervalMs: number
  signal?: AbortSignal
  /**
   * Listing window for rounds after the first: objects in hour directories older than this before now are not
   * listed again (default 3 h; IBM writes objects within minutes of their capture window).
   */
  lookbackMs?: number
  /** Listing window for the first (catch-up) round; default: everything. */
  initialWindow?: TimeWindow
  now?: () => number
  /** Abortable sleep (injected in tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Stop after this many rounds after the first (tests); default: until aborted. */
  maxRounds?: number
  /** Called with the records of each round after the first (possibly none). */
  onRecords: (records: NewRecord[], info: RoundInfo) => void | Promise<void>
  /** Called after the first round, with the index ready (baseline taken). */
  onReady?: (summary: PullSummary | undefined) => void | Promise<void>
  /** A round that failed as a whole (source unreachable, …): the loop goes on. */
  onRoundError?: (error: unknown, round: number) => void
  /** Waiting for another writer of the index. */
  onWait?: (pid: number) => void
  /**
   * Runs a round's work on an index that is already open (explore keeps one open for its whole session and serialises
   * its queries with the rounds); default: open the index for the round and close it after.
   */
  withStore?: <T>(work: (store: Store) => Promise<T>) => Promise<T>
  /** Parse workers kept across rounds (default: each pull starts its own). */
  pool?: ParsePool
}

export interface FollowSummary {
  rounds: number
  records: number
}

export function parseInterval(text: string, flag = '--interval'): number {
  const ms = parseDuration(text)
  if (ms === undefined) throw new UsageError(`${flag} ${JSON.stringify(text)} is not a duration`, {suggestions: ['Use e.g. 30s, 1m or 5m']})
  if (ms < 1000) throw new UsageError(`${flag} must be at least 1s`)
  return ms
}


interface Mark {
  /** Highest loaded_at handed over. */
  at: number
  /** Keys already handed over with loaded_at == at. */
  keys: Set<string>
}

async function currentMark(store: Store): Promise<Mark> {
  const [row] = await store.all(`SELECT max(loaded_at) AS at FROM objects`)
  const at = row.at === null ? 0 : Number(row.at)
  const keys = await store.all(`SELECT key FROM objects WHERE loaded_at = ?`, [at])
  return {at, keys: new Set(keys.map((k) => String(k.key)))}
}

/** Objects loaded after the mark, and the mark that follows them. */
async function objectsSince(store: Store, mark: Mark): Promise<{keys: string[]; next: Mark}> {
  const rows = await store.all(`SELECT key, loaded_at FROM objects WHERE loaded_at >= ? ORDER BY loaded_at, key`, [mark.at])
  const keys: string[] = []
  let next: Mark = {at: mark.at, keys: new Set(mark.keys)}
  for (const r of rows) {
    const key = String(r.key)
    const at = Number(r.loaded_at)
    if (at === mark.at && mark.keys.has(key)) continue
    keys.push(key)
    if (at > next.at) next = {at, keys: new Set()}
    if (at === next.at) next.keys.add(key)
  }
  return {keys, next}
}

const KEY_CHUNK = 500

/** Every record of the given objects, parsed, in record-time order (records without a time last). */
export async function recordsOf(store: Store, keys: string[]): Promise<NewRecord[]> {
  const out: NewRecord[] = []
  for (let i = 0; i < keys.length; i += KEY_CHUNK) {
    const chunk = keys.slice(i, i + KEY_CHUNK)
    const rows = await store.all(
      `SELECT (o.prefix || r.rec || o.suffix) AS line, r.ts, r.okey, r.idx FROM records r JOIN objects o ON o.oid = r.oid ` +
        `WHERE r.okey IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    )
    for (const r of rows) {
      const line = String(r.line)
      out.push({line, row: JSON.parse(line) as JsonObject, ts: r.ts === null ? null : Number(r.ts), okey: String(r.okey), idx: Number(r.idx)})
    }
  }
  return out.sort((a, b) => {
    if (a.ts !== b.ts) {
      if (a.ts === null) return 1
      if (b.ts === null) return -1
      return a.ts - b.ts
    }
    if (a.okey !== b.okey) return a.okey < b.okey ? -1 : 1
    return a.idx - b.idx
  })
}

/** Keep the records a query's JavaScript back end matches, inside the window. */
export function filterRecords(records: NewRecord[], predicate: RowPredicate | undefined, window?: TimeWindow): NewRecord[] {
  return records.filter((r) => {
    if (window?.since !== undefined && (r.ts === null || r.ts < window.since)) return false
    if (window?.until !== undefined && (r.ts === null || r.ts >= window.until)) return false
    return predicate ? predicate(r.row, r.okey, r.idx) : true
  })
}

async function pullRound(options: FollowOptions, store: Store, window: TimeWindow): Promise<{summary?: PullSummary; failures: {key: string; error: string}[]}> {
  try {
    const summary = await pullObjects(options.source, store, {window, signal: options.signal, pool: options.pool})
    return {summary, failures: []}
  } catch (error) {
    if (error instanceof PartialFailureError) {
      const summary = error.result as PullSummary
      return {summary, failures: summary?.failures ?? [{key: '', error: errorMessage(error)}]}
    }
    throw error
  }
}

/** Run the loop until the signal aborts (or maxRounds). The first round catches up and takes the baseline. */
export async function followObjects(options: FollowOptions): Promise<FollowSummary> {
  const now = options.now ?? Date.now
  // Between rounds: Ctrl-C ends the wait at once, without an error.
  const sleep = options.sleep ?? pause
  const lookback = options.lookbackMs ?? 3 * 3_600_000
  const withStore =
    options.withStore ??
    (async <T>(work: (store: Store) => Promise<T>): Promise<T> => {
      const store = await openStore(options.home, {onWait: options.onWait})
      try {
        return await work(store)
      } finally {
        await store.close()
      }
    })
  const first = await withStore(async (store) => {
    const {summary} = await pullRound(options, store, options.initialWindow ?? {})
    return {summary, mark: await currentMark(store)}
  })
  let mark: Mark = first.mark
  await options.onReady?.(first.summary)
  let rounds = 0
  let records = 0
  while (!options.signal?.aborted && (options.maxRounds === undefined || rounds < options.maxRounds)) {
    await sleep(options.intervalMs, options.signal)
    if (options.signal?.aborted) break
    rounds++
    let batch: NewRecord[] = []
    let info: RoundInfo
    try {
      const round = rounds
      info = await withStore(async (store) => {
        const {summary, failures} = await pullRound(options, store, {since: now() - lookback})
        const {keys, next} = await objectsSince(store, mark)
        batch = await recordsOf(store, keys)
        mark = next
        return {round, pulled: summary?.objects.loaded ?? 0, newObjects: keys.length, newRecords: batch.length, failures}
      })
    } catch (error) {
      if (options.signal?.aborted) break
      options.onRoundError?.(error, rounds)
      continue
    }
    records += batch.length
    await options.onRecords(batch, info)
  }
  return {rounds, records}
}
