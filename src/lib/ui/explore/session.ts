/**
 * The data side of `flowlog explore`: the index is opened ONCE for the session and every query, count, top,
 * why-rejected and follow round runs on that open index, one at a time (a DuckDB connection runs one statement at a
 * time; the queue keeps a follow round's load and a query apart). Nothing here prints.
 */
import type {Home} from '../../config/home.js'
import type {FlowlogConfig} from '../../config/settings.js'
import {topBy, type GroupResult} from '../../analysis/aggregate.js'
import {explainRejects, loadVpcModel, type WhyRejectedResult} from '../../analysis/why-rejected.js'
import {filterRecords, followObjects, type NewRecord} from '../../follow/follow.js'
import type {JsonObject} from '../../records/object.js'
import type {Source} from '../../sources/types.js'
import type {ParsePool} from '../../store/pool.js'
import {compileSearch, type CompiledSearch} from '../../store/query-search.js'
import {countMatches, type SearchSpec, searchRecords} from '../../store/search.js'
import {openStore, type Store} from '../../store/store.js'
import type {ExploreRecord, TimeWindow, View, WhyRejectedQuestion} from './pivots.js'

export interface SearchPage {
  records: ExploreRecord[]
  /** No record after these. */
  exhausted: boolean
  warnings: string[]
}

/** What the controller needs from the index (tests give their own). */
export interface ExploreData {
  /**
   * Matches of the view, newest first: the first `limit`, or the `limit` after `after` (the last record shown;
   * `seenAtTs` records with its time were shown already, `offset` records in all).
   */
  search(view: View, page: {after?: ExploreRecord; seenAtTs: number; offset: number; limit: number}): Promise<SearchPage>
  count(view: View): Promise<number>
  top(view: View, field: string, limit: number): Promise<GroupResult>
  why(question: WhyRejectedQuestion): Promise<WhyRejectedResult>
  /** The view's matches among records that just arrived (follow). */
  filter(view: View, records: ExploreRecord[]): ExploreRecord[]
  close(): Promise<void>
}

export interface SessionStats {
  /** How many times the index was opened in this session (1). */
  opens: number
  queries: number
}

export interface OpenSessionOptions {
  home: Home
  config?: FlowlogConfig
  env?: NodeJS.ProcessEnv
  /** --vpc-config for why-rejected. */
  vpcConfig?: string
  region?: string
  /** Open for writing (follow pulls into the index in the session). */
  write?: boolean
}

/** One queue: each piece of work starts when the one before has finished. */
function serial(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(work: () => Promise<T>) => {
    const run = tail.then(work, work)
    tail = run.catch(() => undefined)
    return run
  }
}

function intersect(a: TimeWindow | undefined, b: TimeWindow): TimeWindow {
  const since = [a?.since, b.since].filter((x): x is number => x !== undefined)
  const until = [a?.until, b.until].filter((x): x is number => x !== undefined)
  return {since: since.length ? Math.max(...since) : undefined, until: until.length ? Math.min(...until) : undefined}
}

export interface ExploreSession extends ExploreData {
  readonly store: Store
  readonly stats: SessionStats
  /** Run work on the session's index, in turn with the queries. */
  withStore<T>(work: (store: Store) => Promise<T>): Promise<T>
}

export async function openSession(options: OpenSessionOptions): Promise<ExploreSession> {
  const store = await openStore(options.home, {readOnly: !options.write})
  const stats: SessionStats = {opens: 1, queries: 0}
  const queue = serial()
  let hasIrregular = (await store.totals()).irregular > 0
  const compiled = new Map<string, CompiledSearch>()
  const compile = (query: string): CompiledSearch => {
    let c = compiled.get(query)
    if (!c) {
      c = compileSearch(query)
      if (compiled.size > 100) compiled.clear()
      compiled.set(query, c)
    }
    return c
  }
  let model: Awaited<ReturnType<typeof loadVpcModel>> | undefined
  // Work from outside (a follow round) may add irregular rows: searches look at them from then on.
  const withStore = <T>(work: (s: Store) => Promise<T>) =>
    queue(async () => {
      try {
        return await work(store)
      } finally {
        hasIrregular = (await store.totals()).irregular > 0
      }
    })
  return {
    store,
    stats,
    withStore,
    async search(view, page) {
      const c = compile(view.query)
      return queue(async () => {
        stats.queries++
        // Newest first, a page at a time: the next page is what is not later than the last record shown (keyset:
        // no offset to skip over), less the records of that same time already shown.
        const keyset = page.after !== undefined && page.after.ts !== null
        const window = keyset ? intersect(view.window, {until: page.after!.ts! + 1}) : view.window
        const skip = page.after === undefined ? 0 : keyset ? page.seenAtTs : page.offset
        const spec: SearchSpec = {...c.spec, window, limit: page.limit + skip, sort: {field: 'time', desc: true}, hasIrregular}
        const records: ExploreRecord[] = []
        let i = 0
        for await (const m of searchRecords(store, spec)) {
          if (i++ < skip) continue
          records.push({row: m.row ?? (JSON.parse(m.line) as JsonObject), ts: m.ts, okey: m.okey, idx: m.idx})
        }
        return {records, exhausted: records.length < page.limit, warnings: c.warnings}
      })
    },
    async count(view) {
      const c = compile(view.query)
      return queue(() => countMatches(store, {...c.spec, window: view.window, hasIrregular}))
    },
    async top(view, field, limit) {
      const c = compile(view.query)
      return queue(() => topBy(store, {...c.spec, window: view.window, by: field, limit}))
    },
    async why(q) {
      model ??= await loadVpcModel({home: options.home, env: options.env, config: options.config, vpcConfig: options.vpcConfig, region: options.region})
      const m = model
      return queue(() => explainRejects({store, model: m.model, config: m.source, ip: q.ip, port: q.port, protocol: q.protocol, targetIp: q.targetIp, window: {}}))
    },
    filter(view, records) {
      const c = compile(view.query)
      return filterRecords(records as NewRecord[], c.spec.predicate, view.window)
    },
    async close() {
      await queue(() => store.close())
    },
  }
}

export interface FollowInSession {
  session: ExploreSession
  source: Source
  intervalMs: number
  signal: AbortSignal
  pool?: ParsePool
  onRecords(records: ExploreRecord[], info: {pulled: number; newRecords: number}): void
  onReady?(): void
  onRoundError?(error: unknown): void
  /** Tests: an injected wait between rounds, and a bound on the rounds. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  maxRounds?: number
}

/** `explore --follow`: pull rounds into the session's own index (no second open), new records handed over. */
export async function followInSession(o: FollowInSession): Promise<void> {
  await followObjects({
    home: o.session.store.home,
    source: o.source,
    intervalMs: o.intervalMs,
    signal: o.signal,
    pool: o.pool,
    sleep: o.sleep,
    maxRounds: o.maxRounds,
    withStore: (work) => o.session.withStore(work),
    onReady: () => o.onReady?.(),
    onRecords: (records, info) => o.onRecords(records, {pulled: info.pulled, newRecords: info.newRecords}),
    onRoundError: (error) => o.onRoundError?.(error),
  })
}
