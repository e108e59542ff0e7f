import {join} from 'node:path'

import {ensureDir} from '../config/home.js'
import {DiskFullError, errorMessage, InterruptedError, isDiskFull, PartialFailureError} from '../errors.js'
import {cut, DEFAULT_MAX_OBJECT_BYTES, formatSize} from '../records/limits.js'
import type {TimeWindow} from '../records/time.js'
import type {EncodedObject} from '../store/encode.js'
import {phase} from '../profile.js'
import {parseKey} from '../records/key.js'
import {ParsePool} from '../store/pool.js'
import type {LoadedObjectInfo, ObjectMeta, Store} from '../store/store.js'
import type {Source, SourceObject} from './types.js'

export interface PullSummary {
  objects: {listed: number; downloaded: number; loaded: number; skipped: number; failed: number}
  records: number
  failures: {key: string; error: string}[]
  /** Objects whose state said data was lost ("skip data"): counts are lower bounds. */
  skipData: number
  /** Objects under ibm_vpc_flowlogs_ whose key matches neither the v1 nor the v0 layout (still loaded). */
  unrecognisedKeys: number
  warnings: string[]
  /** Entries of a folder source left out (a symlink loop, a broken link), by path, with why. */
  skippedPaths: {path: string; reason: string}[]
  seconds: number
  bytes: number
  /** Where the objects were looked for, and what the listing passed over (for the hint when nothing was found). */
  looked: {where: string; foreign: number; outsideWindow: number}
}

export interface PullProgress {
  listed: number
  downloaded: number
  loaded: number
  skipped: number
  failed: number
  records: number
  bytes: number
  elapsedMs: number
}

export interface PullOptions {
  window?: TimeWindow
  /** Parallel downloads (default 8). */
  concurrency?: number
  /** Re-load objects even when already loaded. */
  force?: boolean
  onProgress?: (p: PullProgress) => void
  signal?: AbortSignal
  /** Parse workers (default: one per core). */
  workers?: number
  /** Parse workers started by the caller (early, while it opens the index); the caller closes them. */
  pool?: ParsePool
  /** Objects per parse batch. */
  batchObjects?: number
  /** Rows to gather before a commit (several parse batches in one transaction). */
  commitRows?: number
  /** Inflated bytes allowed per object (default 512 MB): a larger object is a named failure. */
  maxObjectSize?: number
}

/** DuckDB's row group: a transaction's rows are written in groups of this many, the last one partial. */
const ROW_GROUP = 122_880

/**
 * Whether a lane holding `rows` rows is committed now. A checkpoint merges (rewrites) consecutive row groups that fit
 * in fewer; that never happens when each transaction holds at least two whole groups and a last one at least half
 * full, or at least four whole groups. So a lane is committed as soon as its rows are past two groups and the partial
 * one is more than half full (smaller transactions: the last commit, which nothing overlaps, is shorter), and at
 * `commitRows` rows at the latest (tests use small values, which are committed as they are).
 */
export function commitDue(rows: number, commitRows: number): boolean {
  if (rows >= commitRows) return true
  return rows >= 2 * ROW_GROUP && rows % ROW_GROUP > ROW_GROUP / 2
}

/** Objects sorted per chunk of the listing (bounded memory for huge listings). */
const ORDER_CHUNK = 20_000

/**
 * The listing in time order, chunk by chunk: the hour folder of the key, then its stream and sequence (keys that are
 * not flow-log keys keep their place after the others). A listing comes in key order, one interface after another;
 * loaded in time order instead, the index stores records of the same hours together, so a query for the newest (or
 * oldest) page reads only the row groups of those hours (docs/architecture.md §3).
 */
export async function* inTimeOrder(listing: AsyncIterable<SourceObject>, chunk = ORDER_CHUNK): AsyncGenerator<SourceObject> {
  let buffer: {obj: SourceObject; hour: number; stream: string; seq: number; n: number}[] = []
  let n = 0
  const drain = function* () {
    buffer.sort((a, b) => a.hour - b.hour || (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0) || a.seq - b.seq || a.n - b.n)
    for (const b of buffer) yield b.obj
    buffer = []
  }
  for await (const obj of listing) {
    const k = parseKey(obj.key)
    buffer.push({obj, hour: k?.hour_dir ?? Number.POSITIVE_INFINITY, stream: k?.stream_id ?? '', seq: k ? Number(k.sequence) : 0, n: n++})
    if (buffer.length >= chunk) yield* drain()
  }
  yield* drain()
}

function sameBytes(prev: LoadedObjectInfo, obj: SourceObject): boolean {
  if (obj.etag !== undefined) return prev.etag === obj.etag
  return prev.size === (obj.size ?? null) && prev.mtime === (obj.mtime ?? null)
}

/** Whether an earlier load already holds every record of `window` (a null bound is unbounded). */
function covers(prev: LoadedObjectInfo, window: TimeWindow): boolean {
  const sinceOk = prev.since === null || (window.since !== undefined && window.since >= prev.since)
  const untilOk = prev.until === null || (window.until !== undefined && window.until <= prev.until)
  return sinceOk && untilOk
}

/** The window to reload an unchanged, partly loaded object with: the hull of the old and new windows. */
function hull(prev: LoadedObjectInfo, window: TimeWindow): TimeWindow {
  return {
    since: prev.since === null || window.since === undefined ? undefined : Math.min(prev.since, window.since),
    until: prev.until === null || window.until === undefined ? undefined : Math.max(prev.until, window.until),
  }
}

/**
 * list → skip what is loaded → download in parallel → parse in worker threads → load whole objects in transactions.
 * Bad objects are reported with their key and reason; every good object is still loaded. Throws PartialFailureError
 * (exit 5, carrying the summary) when any object failed.
 */
export async function pullObjects(source: Source, store: Store, options: PullOptions = {}): Promise<PullSummary> {
  const started = Date.now()
  // The index key is (keySpace, key): two folders with the same relative key never replace each other.
  const keySpace = source.keySpace ?? source.id
  const maxBytes = options.maxObjectSize ?? DEFAULT_MAX_OBJECT_BYTES
  const concurrency = Math.max(1, options.concurrency ?? 8)
  const batchObjects = options.batchObjects ?? 100
  const summary: PullSummary = {
    objects: {listed: 0, downloaded: 0, loaded: 0, skipped: 0, failed: 0},
    records: 0,
    failures: [],
    skipData: 0,
    unrecognisedKeys: 0,
    warnings: [],
    skippedPaths: [],
    seconds: 0,
    bytes: 0,
    looked: {where: source.description, foreign: 0, outsideWindow: 0},
  }
  // Progress counts what is written to the index, committed or not yet.
  const progress = () =>
    options.onProgress?.({
      ...summary.objects,
      loaded: summary.objects.loaded + appended[0].length + appended[1].length,
      records: summary.records + appendedRows[0] + appendedRows[1],
      bytes: summary.bytes,
      elapsedMs: Date.now() - started,
    })
  const window = options.window ?? {}
  const loaded: Map<string, LoadedObjectInfo> = options.force ? new Map() : await store.loadedObjects(keySpace)
  await store.cleanTmp()
  await ensureDir(store.tmpDir)
  const pool = options.pool ?? new ParsePool(options.workers)
  let batchSeq = 0
  let ord = 0
  // Downloaded objects waiting to be parsed.
  type Pending = {obj: SourceObject; bytes?: Uint8Array; path?: string; ord: number; window: TimeWindow}
  let pending: Pending[] = []
  let pendingBytes = 0
  const inflightBatches = new Set<Promise<void>>()
  // One writer, two lanes: parsed batches are appended in turn (a statement each) to the current lane's transaction;
  // once commitDue says so it is committed in the background (DuckDB compresses and writes its rows then) while the
  // other lane takes the next batches.
  const lanes = 2
  let lane = 0
  let chain: Promise<void> = Promise.resolve()
  let committing: Promise<void> = Promise.resolve()
  let fatal: unknown

  type Ready = {good: {encoded: EncodedObject; meta: ObjectMeta}[]; files: {canonical: string[]; general: string[]}; rows: number}
  const appended: Ready['good'][] = [[], []]
  const appendedRows = [0, 0]
  const commitRows = options.commitRows ?? 500_000

  const commitLane = async (l: number) => {
    await store.commitLane(l)
    for (const g of appended[l]) {
      summary.objects.loaded++
      summary.records += g.encoded.records
      if (g.encoded.state && g.encoded.state.toLowerCase() === 'skip data') summary.skipData++
      if (g.encoded.layout === 'unrecognised') summary.unrecognisedKeys++
      for (const w of g.encoded.warnings) if (summary.warnings.length < 100) summary.warnings.push(`${g.encoded.key}: ${w}`)
    }
    appended[l] = []
    appendedRows[l] = 0
    progress()
  }

  /** Commit every lane and end the load. */
  const commitAll = async () => {
    if (!store.loading) return
    await committing
    for (let l = 0; l < lanes; l++) await commitLane(l)
    await store.endLoad()
  }

  const append = async (r: Ready) => {
    try {
      if (r.good.length === 0) return
      if (!store.loading) await store.beginLoad(lanes)
      const replace = Boolean(options.force) || r.good.some((g) => loaded.has(g.encoded.key))
      await store.append(r.good, r.files, {replace, lane})
    } finally {
      await store.removeTmp([...r.files.canonical, ...r.files.general])
    }
    appended[lane].push(...r.good)
    appendedRows[lane] += r.rows
    if (commitDue(appendedRows[lane], commitRows)) {
      // The other lane's commit must be over before it takes appends again.
      await committing
      const full = lane
      committing = commitLane(full)
      // Its failure fails the load (the next append or the end awaits it); until then it is not unhandled.
      committing.catch(() => undefined)
      lane = (lane + 1) % lanes
    }
  }

  const flush = (final = false) => {
    // Interrupted: what is not parsed yet is dropped (the next pull loads it).
    if (pending.length === 0 || options.signal?.aborted) return
    const batch = pending
    pending = []
    pendingBytes = 0
    const file = join(store.tmpDir, `batch-${process.pid}-${++batchSeq}`)
    const p = (async () => {
      const response = await pool.encode(
        file,
        batch.map((b) => ({key: b.obj.key, ord: b.ord, bytes: b.bytes, path: b.path, window: b.window, maxBytes})),
      )
      const byOrd = new Map(batch.map((b) => [b.ord, b]))
      const good: Ready['good'] = []
      for (const r of response.results) {
        if (r.read) {
          // Read by the worker (a local file).
          summary.objects.downloaded++
          summary.bytes += r.read
        }
        if (r.ok) {
          const {obj, window: w} = byOrd.get(r.object.ord)!
          good.push({encoded: r.object, meta: {source: keySpace, etag: obj.etag, size: obj.size, mtime: obj.mtime, window: w}})
        } else {
          summary.objects.failed++
          summary.failures.push({key: r.key, error: cut(r.error)})
        }
      }
      progress()
      const files = {canonical: response.canonical ? [response.canonical] : [], general: response.general ? [response.general] : []}
      chain = chain.then(() => append({good, files, rows: response.rows}))
      await chain
    })().catch((error) => {
      fatal ??= error
    })
    inflightBatches.add(p)
    void p.finally(() => inflightBatches.delete(p))
    void final
  }

  /** Queue an object for parsing; a full batch goes to the workers (the first ones small, so that writing starts early). */
  const enqueue = (item: Pending, bytes: number) => {
    pending.push(item)
    pendingBytes += bytes
    const batchLimit = batchSeq < 2 ? Math.max(1, Math.ceil(batchObjects / 4)) : batchObjects
    if (pending.length >= batchLimit || pendingBytes >= 32 * 1024 * 1024) flush()
  }
  const downloads = new Set<Promise<void>>()
  let failure: unknown
  try {
    for await (const obj of inTimeOrder(source.list(window))) {
      if (fatal) break
      options.signal?.throwIfAborted()
      summary.objects.listed++
      const prev = loaded.get(obj.key)
      const same = prev !== undefined && sameBytes(prev, obj)
      if (same && covers(prev!, window)) {
        summary.objects.skipped++
        continue
      }
      const objWindow = same ? hull(prev!, window) : window
      while (downloads.size >= concurrency) await Promise.race(downloads)
      // Back-pressure: bounded parsing work and bounded parsed-but-uncommitted rows.
      while (inflightBatches.size >= 4) await Promise.race(inflightBatches)
      const myOrd = ++ord
      const localPath = source.localPath?.(obj)
      if (localPath !== undefined) {
        // A local file: the parse worker reads it, the main thread only lists.
        enqueue({obj, path: localPath, ord: myOrd, window: objWindow}, obj.size ?? 0)
        continue
      }
      if (obj.size !== undefined && obj.size > maxBytes) {
        // Not downloaded: even stored as it is, the object is over the limit.
        summary.objects.failed++
        summary.failures.push({key: obj.key, error: `holds ${formatSize(obj.size)}, more than ${formatSize(maxBytes)}, the limit per object (pull --max-object-size)`})
        continue
      }
      const d = (async () => {
        try {
          const bytes = await source.read(obj, options.signal)
          summary.objects.downloaded++
          summary.bytes += bytes.byteLength
          enqueue({obj, bytes, ord: myOrd, window: objWindow}, bytes.byteLength)
        } catch (error) {
          if ((error as {exitCode?: number}).exitCode === 3) {
            fatal ??= error // authentication: stop everything
            return
          }
          if (options.signal?.aborted) return // interrupted: dropped, the next pull reads it
          summary.objects.failed++
          summary.failures.push({key: obj.key, error: cut(errorMessage(error))})
        }
        progress()
      })()
      downloads.add(d)
      void d.finally(() => downloads.delete(d))
    }
    await Promise.all(downloads)
    flush(true)
    while (inflightBatches.size) await Promise.all([...inflightBatches])
    await chain
    if (!fatal) {
      await commitAll()
      phase('pull: loaded')
      // What this pull (or a killed one) loaded is checked for shared connection keys (docs/architecture.md §7).
      await store.markDuplicates()
      await store.rankObjects()
    }
  } catch (error) {
    failure = error
  } finally {
    await Promise.allSettled([...downloads, ...inflightBatches])
    await chain.catch(() => undefined)
    await committing.catch(() => undefined)
    if (!options.pool) await pool.close()
    if (store.loading) {
      // Interrupted: what was appended is whole objects, keep it. After a failure the transaction is rolled back.
      if (options.signal?.aborted && !fatal) await commitAll().catch(() => store.rollbackLoad())
      else await store.rollbackLoad()
    }
  }
  summary.skippedPaths = [...(source.stats.skipped ?? [])]
  summary.looked = {where: source.description, foreign: source.stats.skippedForeign, outsideWindow: source.stats.prunedByTime}
  // Batch files of a failed or interrupted load are not left behind (a full disk holds 3–10 MB of them).
  await store.cleanTmp().catch(() => undefined)
  summary.seconds = (Date.now() - started) / 1000
  const cause = fatal ?? failure
  if (cause !== undefined && isDiskFull(cause)) {
    // docs/flow-log-format.md, "What pull accepts and rejects": what was committed stays, the rest is rolled back.
    throw new DiskFullError(
      `no space left on the disk holding ${store.home.root} (${cut(errorMessage(cause))}): kept ${summary.objects.loaded} object${summary.objects.loaded === 1 ? '' : 's'} (${summary.records} records) committed before it; the rest was rolled back and the next pull loads it`,
      {detail: {summary}},
    )
  }
  if (fatal) throw fatal
  if (failure instanceof InterruptedError && options.signal?.aborted) {
    // Interrupted: every whole object appended before the signal was committed; the next pull goes on from there.
    throw new InterruptedError(
      `interrupted: kept ${summary.objects.loaded} object${summary.objects.loaded === 1 ? '' : 's'} (${summary.records} records) loaded before the signal; the next pull continues`,
      {summary},
    )
  }
  if (failure) throw failure
  summary.seconds = (Date.now() - started) / 1000
  if (summary.failures.length > 0) {
    throw new PartialFailureError(
      `${summary.failures.length} object${summary.failures.length === 1 ? '' : 's'} could not be loaded`,
      summary,
    )
  }
  return summary
}
