import {errorMessage, redact} from '../errors.js'
import {readObject} from '../records/object.js'
import type {TimeWindow} from '../records/time.js'
import type {Source, SourceObject} from '../sources/types.js'
import {BatchBuffer} from './batch.js'
import {type BatchResult, deliverBatch, type RetryInfo, SinkAuthError} from './deliver.js'
import type {EncodeStats, LineEncoder} from './encode.js'
import type {Ledger} from './ledger.js'
import type {BackoffOptions} from './retry.js'
import type {Sink} from './sink.js'

/**
 * The forward pipeline: list → skip what the ledger says is done → read a few objects ahead → encode one line per
 * record → batches under the sink's limits → at most `concurrency` requests in flight → ledger.
 * Memory is bounded: `readAhead` objects, the batch being filled and `concurrency` batches in flight.
 */
export interface ForwardSummary {
  sink: string
  destination: string
  dryRun: boolean
  objects: {
    listed: number
    /** Fully acknowledged in this run (every line accepted). */
    sent: number
    /** Already done in the ledger (same key and version). */
    skipped: number
    failed: number
    /** No records (flow_logs is empty): nothing to send, recorded as done. */
    empty: number
    /** Gone before they could be read (an event for an object deleted since): nothing to do. */
    missing: number
    /** Listed (by key hour) but their capture window is outside --since/--until. */
    outOfWindow: number
  }
  /** Records read from the objects forwarded. */
  records: number
  /** Lines acknowledged by the service (in a dry run: lines that would be sent). */
  lines: number
  /** Records left out by --query. */
  filtered: number
  /** Lines already acknowledged in an interrupted earlier run (not sent again). */
  resumed: number
  batches: number
  requests: number
  retries: number
  bytes: number
  failures: {key: string; error: string}[]
  /** Lines without a timestamp (no record time parsed). */
  noTimestamp: number
  /** Lines whose record time is more than 24 h from now (Log Analysis may use the arrival time instead). */
  outsideWindow: number
  /** Lines longer than 16 KB (Log Analysis truncates them). */
  oversized: number
  /** Objects whose header says "skip data" (the collector lost data there). */
  skipData: number
  warnings: string[]
  seconds: number
  /**
   * Set when a batch outlasted every retry (the service is down or overloaded): nothing more was sent, the objects
   * not delivered are failures, and the next run goes on from there.
   */
  stoppedEarly?: string
  /** Dry run: the first line that would be sent, as the service would receive it. */
  sample?: unknown
  ledger?: string
}

export interface ForwardProgress {
  listed: number
  skipped: number
  sent: number
  failed: number
  lines: number
  retries: number
  elapsedMs: number
}

export interface ForwardOptions {
  source: Source
  sink: Sink
  encoder: LineEncoder
  /** Absent in a dry run without a ledger. */
  ledger?: Ledger
  window?: TimeWindow
  /** Forward exactly these objects instead of listing the source. */
  objects?: SourceObject[]
  /** Requests in flight (default 4). */
  concurrency?: number
  /** Objects read ahead (default 8). */
  readAhead?: number
  maxAttempts?: number
  backoff?: BackoffOptions
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  dryRun?: boolean
  signal?: AbortSignal
  onProgress?: (p: ForwardProgress) => void
  onRetry?: (info: RetryInfo) => void
  /** Called when an object cannot be read because it does not exist (event mode: the object is gone). */
  isMissing?: (error: unknown) => boolean
  /** After `signal`, how long requests in flight may take before they are cancelled (default 20 s). */
  graceMs?: number
}

/** Thrown (after the ledger is flushed) when the service refused the credentials; carries the summary so far. */
export class ForwardAuthError extends Error {
  readonly summary: ForwardSummary
  readonly status: number
  constructor(message: string, status: number, summary: ForwardSummary) {
    super(message)
    this.name = 'ForwardAuthError'
    this.summary = summary
    this.status = status
  }
}

interface ObjectState {
  obj: SourceObject
  /** Lines not yet acknowledged or failed. */
  pending: number
  /** All lines of the object (including those acknowledged in an earlier run). */
  lines: number
  sealed: boolean
  failed?: string
  finished: boolean
}

interface Batch {
  payload: BatchBuffer
  owners: ObjectState[]
  indices: number[]
}

/** Failures and warnings listed in the summary (the counts are always complete). */
const MAX_LISTED = 1000
/** Bytes of objects (as stored) read ahead at most. */
const READ_AHEAD_BYTES = 32 * 1024 * 1024

/** Bounded slots for requests in flight. */
class Slots {
  private free: number
  private readonly waiters: (() => void)[] = []
  constructor(n: number) {
    this.free = n
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--
      return
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve))
  }
  release(): void {
    const next = this.waiters.shift()
    if (next) next()
    else this.free++
  }
}

/** Keep an object whose capture window overlaps the time window (objects are pruned by key hour by the source). */
function inWindow(header: Record<string, unknown>, window: TimeWindow | undefined): boolean {
  if (!window || (window.since === undefined && window.until === undefined)) return true
  const start = typeof header.capture_start_time === 'string' ? Date.parse(header.capture_start_time) : NaN
  const end = typeof header.capture_end_time === 'string' ? Date.parse(header.capture_end_time) : NaN
  if (window.until !== undefined && Number.isFinite(start) && start >= window.until) return false
  if (window.since !== undefined && Number.isFinite(end) && end < window.since) return false
  return true
}

/** A summary with nothing counted yet (also what a run that had nothing to do reports). */
export function emptySummary(sink: string, destination: string, dryRun: boolean): ForwardSummary {
  return {
    sink,
    destination,
    dryRun,
    objects: {listed: 0, sent: 0, skipped: 0, failed: 0, empty: 0, missing: 0, outOfWindow: 0},
    records: 0,
    lines: 0,
    filtered: 0,
    resumed: 0,
    batches: 0,
    requests: 0,
    retries: 0,
    bytes: 0,
    failures: [],
    noTimestamp: 0,
    outsideWindow: 0,
    oversized: 0,
    skipData: 0,
    warnings: [],
    seconds: 0,
  }
}

export async function forwardObjects(options: ForwardOptions): Promise<ForwardSummary> {
  const started = Date.now()
  const {source, sink, encoder, ledger} = options
  const dryRun = Boolean(options.dryRun)
  const concurrency = Math.max(1, options.concurrency ?? 4)
  const readAhead = Math.max(1, options.readAhead ?? 8)
  const summary: ForwardSummary = {...emptySummary(sink.kind, sink.destination, dryRun), ledger: ledger?.path}
  // `abort` cancels requests in flight and reads; `signal` (Ctrl-C, SIGTERM) first only stops taking new batches and
  // objects (`stopping`): requests in flight finish and are recorded, cancelled only after graceMs
  // (docs/sinks.md, "Stopping forward").
  const abort = new AbortController()
  const reads = new AbortController()
  let stopping = false
  let graceTimer: NodeJS.Timeout | undefined
  const onOuterAbort = () => {
    stopping = true
    reads.abort(options.signal?.reason)
    graceTimer = setTimeout(() => abort.abort(options.signal?.reason), options.graceMs ?? 20_000)
    graceTimer.unref?.()
  }
  if (options.signal?.aborted) onOuterAbort()
  else options.signal?.addEventListener('abort', onOuterAbort, {once: true})
  abort.signal.addEventListener('abort', () => reads.abort(abort.signal.reason), {once: true})
  const halted = () => stopping || abort.signal.aborted
  let ledgerFailed: Error | undefined
  let fatal: SinkAuthError | undefined
  let stopped: string | undefined
  const notSent = () => `not sent: the service kept failing (${stopped})`
  let lastProgress = 0
  const progress = (force = false) => {
    if (!options.onProgress) return
    const now = Date.now()
    if (!force && now - lastProgress < 200) return
    lastProgress = now
    options.onProgress({
      listed: summary.objects.listed,
      skipped: summary.objects.skipped,
      sent: summary.objects.sent,
      failed: summary.objects.failed,
      lines: summary.lines,
      retries: summary.retries,
      elapsedMs: now - started,
    })
  }

  const fail = (key: string, error: string) => {
    summary.objects.failed++
    if (summary.failures.length < MAX_LISTED) summary.failures.push({key, error: redact(error)})
  }
  const warn = (message: string) => {
    if (summary.warnings.length < MAX_LISTED) summary.warnings.push(message)
  }

  // --- completion of objects ---
  let doneQueue: {obj: SourceObject; lines: number}[] = []
  const finish = (state: ObjectState) => {
    if (state.finished || !state.sealed || state.pending > 0) return
    state.finished = true
    if (state.failed) fail(state.obj.key, state.failed)
    else {
      summary.objects.sent++
      doneQueue.push({obj: state.obj, lines: state.lines})
    }
  }
  const flushDone = () => {
    if (doneQueue.length === 0 || dryRun || !ledger) {
      doneQueue = []
      return
    }
    void ledger.markDone(doneQueue)
    doneQueue = []
  }

  const settle = (batch: Batch, result: BatchResult) => {
    summary.requests += result.requests
    summary.retries += result.retries
    summary.batches += result.splits
    const ackedBy = new Map<ObjectState, number[]>()
    for (const p of result.acked) {
      const state = batch.owners[p]
      state.pending--
      summary.lines++
      let list = ackedBy.get(state)
      if (!list) ackedBy.set(state, (list = []))
      list.push(batch.indices[p])
    }
    for (const f of result.failed) {
      if (f.exhausted && stopped === undefined) stopped = f.reason
      for (const p of f.positions) {
        const state = batch.owners[p]
        state.pending--
        state.failed ??= f.reason
      }
    }
    const partial: {obj: SourceObject; indices: number[]}[] = []
    const touched = new Set<ObjectState>(batch.owners)
    for (const state of touched) {
      finish(state)
      const acked = ackedBy.get(state)
      if (acked && (!state.finished || state.failed)) partial.push({obj: state.obj, indices: acked})
    }
    if (!dryRun && ledger && partial.length > 0) void ledger.markPartial(partial)
    flushDone()
    progress()
  }

  // --- batching and sending ---
  const slots = new Slots(concurrency)
  const inFlight = new Set<Promise<void>>()
  // Batch buffers are recycled: at most concurrency + 1 exist (the one being filled and those in flight).
  const spare: Buffer[] = []
  const newBatch = (): Batch => ({payload: new BatchBuffer(sink.framing, sink.limits.batchBytes, spare.pop()), owners: [], indices: []})
  const recycle = (b: Batch) => {
    if (b.payload.buffer.length === sink.limits.batchBytes && spare.length <= concurrency) spare.push(b.payload.buffer)
  }
  const all = (b: Batch) => b.owners.map((_, i) => i)
  let batch: Batch = newBatch()

  const dispatch = async (b: Batch): Promise<void> => {
    summary.batches++
    if (dryRun) {
      summary.bytes += b.payload.bytes
      settle(b, {acked: all(b), failed: [], requests: 0, retries: 0, splits: 0})
      recycle(b)
      return
    }
    await slots.acquire()
    // The ledger holds what was acknowledged before the next batch goes out; a ledger that cannot be written stops
    // forward at once (a re-run would otherwise send again everything after it).
    if (!dryRun && ledger && !fatal && !ledgerFailed) {
      await ledger.settled()
      if (ledger.failure) {
        ledgerFailed = ledger.failure
        abort.abort(ledgerFailed)
      }
    }
    if (fatal || halted()) {
      // Interrupted (or the ledger failed): this batch is not sent; its objects are not done, the next run sends them.
      slots.release()
      return
    }
    if (stopped) {
      slots.release()
      settle(b, {acked: [], failed: [{positions: all(b), reason: notSent()}], requests: 0, retries: 0, splits: 0})
      return
    }
    summary.bytes += b.payload.bytes
    const p = deliverBatch(sink, b.payload, {
      maxAttempts: options.maxAttempts,
      backoff: options.backoff,
      sleep: options.sleep,
      signal: abort.signal,
      onRetry: options.onRetry,
    })
      .then(
        (result) => settle(b, result),
        (error: unknown) => {
          if (error instanceof SinkAuthError) {
            fatal ??= error
            abort.abort(error)
          } else if (!abort.signal.aborted) {
            // Unexpected: fail the batch's objects, keep going.
            settle(b, {acked: [], failed: [{positions: all(b), reason: errorMessage(error)}], requests: 0, retries: 0, splits: 0})
          }
        },
      )
      .finally(() => {
        recycle(b)
        slots.release()
        inFlight.delete(p)
      })
    inFlight.add(p)
  }

  const flushBatch = async () => {
    if (batch.owners.length === 0) return
    const b = batch
    batch = newBatch()
    await dispatch(b)
  }

  // --- reading ---
  interface ReadResult {
    obj: SourceObject
    bytes?: Uint8Array
    /** Size as stored (before decompression). */
    size?: number
    error?: unknown
  }
  const read = async (obj: SourceObject): Promise<ReadResult> => {
    let bytes: Uint8Array
    try {
      bytes = await source.read(obj, reads.signal)
    } catch (error) {
      return {obj, error}
    }
    const size = bytes.length
    return {obj, bytes, size}
  }

  const handle = async (r: ReadResult) => {
    const {obj} = r
    if (r.error !== undefined) {
      if (options.isMissing?.(r.error)) {
        summary.objects.missing++
        warn(`${obj.key} no longer exists (deleted after it was listed or announced)`)
        return
      }
      fail(obj.key, `cannot read: ${errorMessage(r.error)}`)
      return
    }
    const bytes = r.bytes!
    if (obj.etag === undefined && obj.size === undefined) {
      // An object named directly (--object): its size is what was read; check the ledger again with it.
      obj.size = r.size
      if (ledger?.isDone(obj)) {
        summary.objects.skipped++
        return
      }
    }
    let parsed
    try {
      parsed = readObject(bytes)
    } catch (error) {
      fail(obj.key, errorMessage(error))
      return
    }
    if (parsed.state === 'skip data') summary.skipData++
    if (!inWindow(parsed.header, options.window)) {
      summary.objects.outOfWindow++
      return
    }
    summary.records += parsed.records.length
    if (parsed.records.length === 0) {
      summary.objects.empty++
      if (!dryRun && ledger) void ledger.markDone([{obj, lines: 0}])
      return
    }
    const already = ledger?.acked(obj)
    const state: ObjectState = {obj, pending: 0, lines: 0, sealed: false, finished: false}
    const limit = sink.limits.batchBytes
    for (const e of encoder.entries(parsed, obj.key, true)) {
      state.lines++
      if (already?.has(e.index)) {
        summary.resumed++
        continue
      }
      if (fatal || halted()) break
      if (stopped) {
        state.failed ??= notSent()
        break
      }
      if (batch.owners.length >= sink.limits.batchLines || !batch.payload.add(e.text, limit)) {
        await flushBatch()
        batch.payload.add(e.text, limit)
      }
      batch.owners.push(state)
      batch.indices.push(e.index)
      state.pending++
      if (dryRun && summary.sample === undefined) summary.sample = JSON.parse(e.text) as unknown
    }
    // Interrupted while its lines were batched: not sealed, so never marked done (its acknowledged lines are partial).
    if (halted()) return
    state.sealed = true
    finish(state)
    flushDone()
  }

  const drain = async () => {
    while (inFlight.size > 0) await Promise.all([...inFlight])
  }
  try {
    const queue: {obj: SourceObject; result: Promise<ReadResult>}[] = []
    let queuedBytes = 0
    const next = async () => {
      const item = queue.shift()!
      queuedBytes -= item.obj.size ?? 0
      await handle(await item.result)
    }
    const listing: AsyncIterable<SourceObject> =
      options.objects !== undefined
        ? (async function* () {
            yield* options.objects!
          })()
        : source.list(options.window ?? {})
    for await (const obj of listing) {
      if (fatal || stopped || halted()) break
      summary.objects.listed++
      if (ledger?.isDone(obj)) {
        summary.objects.skipped++
        progress()
        continue
      }
      queue.push({obj, result: read(obj)})
      queuedBytes += obj.size ?? 0
      // Read ahead a few objects, and never more than READ_AHEAD_BYTES of them (as stored).
      while (queue.length >= readAhead || (queue.length > 1 && queuedBytes > READ_AHEAD_BYTES)) await next()
    }
    while (queue.length > 0 && !fatal && !stopped && !halted()) await next()
    if (!fatal && !halted()) await flushBatch()
    await drain()
    if (stopped) {
      for (const item of queue.splice(0)) fail(item.obj.key, notSent())
      summary.stoppedEarly = stopped
    }
    flushDone()
  } catch (error) {
    // A listing or reading failure: let the batches in flight finish (and be recorded) before giving up.
    await drain().catch(() => undefined)
    flushDone()
    throw error
  } finally {
    clearTimeout(graceTimer)
    options.signal?.removeEventListener('abort', onOuterAbort)
    if (ledger && !dryRun) await ledger.flush()
  }

  const stats: EncodeStats = encoder.stats
  summary.filtered = stats.filtered
  summary.noTimestamp = stats.noTimestamp
  summary.outsideWindow = stats.outsideWindow
  summary.oversized = stats.oversized
  summary.seconds = (Date.now() - started) / 1000
  progress(true)
  if (fatal) throw new ForwardAuthError(fatal.message, fatal.status, summary)
  if (stopping || abort.signal.aborted) throw options.signal?.reason instanceof Error ? options.signal.reason : new Error('forward interrupted')
  return summary
}
