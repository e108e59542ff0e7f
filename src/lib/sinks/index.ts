import {rm} from 'node:fs/promises'

import {type Home, writeJsonFile} from '../config/home.js'
import type {FlowlogConfig} from '../config/settings.js'
import {AuthError, redactDeep, UsageError} from '../errors.js'
import type {EnvelopeOptions} from '../records/envelope.js'
import {FLOWLOG_KEY_PREFIX} from '../records/key.js'
import type {JsonObject} from '../records/object.js'
import {parseWindow} from '../records/time.js'
import {openSource} from '../sources/index.js'
import type {Source, SourceObject} from '../sources/types.js'
import {CloudLogsSink, iamTokenProvider, type TokenProvider} from './cloud-logs.js'
import type {RetryInfo} from './deliver.js'
import {LineEncoder} from './encode.js'
import {type CosEvent, hasEvent, isNoSuchKey, parseCosEvent} from './event.js'
import {emptySummary, ForwardAuthError, type ForwardProgress, type ForwardSummary, forwardObjects} from './forward.js'
import {createHttpClient, type HttpClient} from './http.js'
import {Ledger, ledgerPath, legacyLedgerPaths} from './ledger.js'
import {pullRemoteLedger, RemoteLedgerSync, remoteStoreOf, resolveLedgerMode} from './ledger-remote.js'
import {LogdnaSink} from './logdna.js'
import {sleep as defaultSleep} from '../sleep.js'
import {CLOUD_LOGS_INGEST_PATH, isInsecureRemote, LOGDNA_INGEST_PATH, resolveSinkSettings, type SinkSettings} from './settings.js'
import type {Sink, SinkLimits} from './sink.js'

export {forwardObjects, ForwardAuthError} from './forward.js'
export type {ForwardProgress, ForwardSummary} from './forward.js'
export {LineEncoder, severityOf} from './encode.js'
export {Ledger, ledgerPath} from './ledger.js'
export {pullRemoteLedger, RemoteLedgerSync, remoteLedgerKey, remoteStoreOf, resolveLedgerMode, REMOTE_LEDGER_PREFIX} from './ledger-remote.js'
export {LogdnaSink} from './logdna.js'
export {CloudLogsSink, iamTokenProvider} from './cloud-logs.js'
export {parseCosEvent, isNoSuchKey} from './event.js'
export {resolveSinkSettings, LOGDNA_REGIONS, LOGDNA_PRESETS} from './settings.js'

/** A compiled --query: the row predicate (none when the query matches everything) and the parser's warnings. */
export interface CompiledQuery {
  filter?: (row: JsonObject, key: string, index: number) => boolean
  warnings: string[]
}

export interface ForwardRequest {
  source?: string
  cosEndpoint?: string
  region?: string
  endpointType?: 'public' | 'private' | 'direct'
  since?: string
  until?: string
  object?: string
  follow?: boolean
  /** Poll interval in follow mode, ms (default 60 s). */
  intervalMs?: number
  query?: string
  sink?: string
  logdnaUrl?: string
  private?: boolean
  auth?: string
  cloudLogsUrl?: string
  cloudLogsInstance?: string
  app?: string
  level?: string
  levelByAction?: boolean
  hostname?: string
  tags?: string[]
  concurrency?: number
  maxAttempts?: number
  dryRun?: boolean
  retryBaseMs?: number
  retryCapMs?: number
  timeoutMs?: number
  batchLines?: number
  batchBytes?: number
  /** Follow mode: stop after this many passes (tests). */
  maxPasses?: number
  /** --ledger local | remote | auto (default: FLOWLOG_LEDGER, else local). Remote keeps a copy in the cos:// bucket. */
  ledger?: string
  /** Remote ledger: at most one upload per this many ms while running (default 30 s). */
  ledgerUploadIntervalMs?: number
}

export interface ForwardEventInfo {
  type: 'write' | 'delete'
  bucket?: string
  key: string
  etag?: string
  /** forwarded | already-sent | ignored-delete | not-flow-log | gone | failed */
  result: string
}

export interface ForwardResult extends ForwardSummary {
  mode: 'list' | 'object' | 'event' | 'follow'
  source: string
  /** When objects failed: the 0600 file listing them (next to the ledger). */
  retryFile?: string
  event?: ForwardEventInfo
  passes?: number
}

export interface ForwardContext {
  home: Home
  config: FlowlogConfig
  env: NodeJS.ProcessEnv
  userAgent: string
  /** Compiles --query into a row predicate (the query engine's JavaScript back end). */
  compileQuery?: (query: string, envelope: EnvelopeOptions) => CompiledQuery | Promise<CompiledQuery>
  now?: () => number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  random?: () => number
  signal?: AbortSignal
  /** Test seams. */
  http?: HttpClient
  tokens?: TokenProvider
  openSource?: (spec: string | undefined) => Promise<Source>
  onWarning?: (message: string) => void
  onNotice?: (message: string) => void
  onProgress?: (p: ForwardProgress) => void
  onRetry?: (info: RetryInfo) => void
  /** Follow mode: after each pass. */
  onPass?: (summary: ForwardResult, pass: number) => void
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/

export function validateEnvelope(req: ForwardRequest): EnvelopeOptions {
  const out: EnvelopeOptions = {}
  if (req.hostname !== undefined) {
    if (!HOSTNAME.test(req.hostname)) throw new UsageError(`--hostname ${JSON.stringify(req.hostname)} is not a DNS-style name of at most 256 characters`)
    out.hostname = req.hostname
  }
  if (req.app !== undefined) {
    if (req.app.trim() === '' || req.app.length > 512) throw new UsageError('--app must be 1 to 512 characters')
    out.app = req.app
  }
  if (req.level !== undefined) {
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,79}$/.test(req.level)) throw new UsageError(`--level ${JSON.stringify(req.level)} is not a level name (e.g. INFO, WARN)`)
    out.level = req.level.toUpperCase()
  }
  if (req.levelByAction) out.levelByAction = true
  if (req.tags !== undefined) {
    const tags = req.tags.map((t) => t.trim()).filter((t) => t !== '')
    for (const t of tags) if (t.length > 80) throw new UsageError(`tag ${JSON.stringify(t.slice(0, 20) + '…')} is longer than 80 characters`)
    out.tags = tags
  }
  return out
}

export interface SinkBuildOptions {
  hostname: string
  tags?: string[]
  userAgent: string
  timeoutMs?: number
  limits?: Partial<SinkLimits>
  concurrency?: number
  http?: HttpClient
  tokens?: TokenProvider
  now?: () => number
}

export function createSink(settings: SinkSettings, options: SinkBuildOptions): Sink {
  const http = options.http ?? createHttpClient({maxSockets: Math.max(1, options.concurrency ?? 4)})
  if (settings.kind === 'logdna') {
    return new LogdnaSink({
      url: settings.url,
      ingestionKey: settings.ingestionKey ?? '',
      auth: settings.auth,
      hostname: options.hostname,
      tags: options.tags,
      http,
      userAgent: options.userAgent,
      timeoutMs: options.timeoutMs,
      limits: options.limits,
      now: options.now,
    })
  }
  return new CloudLogsSink({
    url: settings.url,
    tokens: options.tokens ?? iamTokenProvider(settings.apiKey ?? '', settings.iamUrl),
    http,
    userAgent: options.userAgent,
    timeoutMs: options.timeoutMs,
    limits: options.limits,
    now: options.now,
  })
}

function checkCombinations(req: ForwardRequest, event: boolean): void {
  if (req.follow && req.dryRun) throw new UsageError('--follow and --dry-run do not go together: a dry run is a single pass')
  if (req.follow && req.object) throw new UsageError('--follow and --object do not go together')
  if (req.follow && req.until) throw new UsageError('--follow keeps forwarding new objects; --until would stop it from seeing any')
  if (req.object && (req.since || req.until)) throw new UsageError('--object names one object; --since/--until do not apply to it')
  if (event && (req.follow || req.object)) {
    throw new UsageError('CE_DATA is set (Code Engine event mode: one object per event); --follow and --object do not apply', {
      suggestions: ['Unset CE_DATA to list the bucket or to follow it'],
    })
  }
  if (req.object !== undefined && !req.object.startsWith(FLOWLOG_KEY_PREFIX)) {
    throw new UsageError(`--object ${JSON.stringify(req.object)} is not a flow-log key (they start with ${FLOWLOG_KEY_PREFIX})`)
  }
  if (req.concurrency !== undefined && (!Number.isInteger(req.concurrency) || req.concurrency < 1)) throw new UsageError('--concurrency must be at least 1')
  if (req.maxAttempts !== undefined && (!Number.isInteger(req.maxAttempts) || req.maxAttempts < 1)) throw new UsageError('--max-attempts must be at least 1')
}

/**
 * The credential that is part of the ledger's identity: a Mezmo/LogDNA ingestion key picks the account behind a URL
 * that many accounts share (logs.mezmo.com). A Cloud Logs URL names its instance already; its API key picks only who
 * sends, so a new key keeps the ledger (docs/sinks.md, "One sink, one ledger").
 */
function ledgerCredential(settings: SinkSettings): string | undefined {
  return settings.kind === 'logdna' ? settings.ingestionKey : undefined
}

function bucketOfSpec(spec: string | undefined): string | undefined {
  if (!spec?.startsWith('cos://')) return undefined
  return spec.slice('cos://'.length).split('/')[0] || undefined
}

function emptyResult(mode: ForwardResult['mode'], source: string, settings: SinkSettings, dryRun: boolean): ForwardResult {
  const destination = settings.url + (settings.kind === 'logdna' ? LOGDNA_INGEST_PATH : CLOUD_LOGS_INGEST_PATH)
  return {mode, source, ...emptySummary(settings.kind, destination, dryRun)}
}

/**
 * `flowlog forward`: one pass over a source (or one object, or one Code Engine event), or `--follow` passes every
 * interval. Returns the summary; failures are in `failures` (the command turns them into exit 5). Throws AuthError
 * (exit 3) when the service refuses the credentials.
 */
export async function runForward(req: ForwardRequest, ctx: ForwardContext): Promise<ForwardResult> {
  const env = ctx.env
  const eventMode = hasEvent(env)
  checkCombinations(req, eventMode)
  const dryRun = Boolean(req.dryRun)
  const envelope = validateEnvelope(req)
  const settings = resolveSinkSettings(
    {
      sink: req.sink,
      logdnaUrl: req.logdnaUrl,
      region: req.region,
      private: req.private,
      auth: req.auth,
      cloudLogsUrl: req.cloudLogsUrl,
      cloudLogsInstance: req.cloudLogsInstance,
    },
    env,
    ctx.config,
    {requireCredentials: !dryRun},
  )
  if (isInsecureRemote(settings.url)) ctx.onWarning?.(`${settings.url} is plain http: the credentials would cross the network unencrypted`)
  const ledgerMode = resolveLedgerMode(req.ledger, env)
  // Validate the window early (a usage error before anything is opened).
  parseWindow({since: req.since, until: req.until}, (ctx.now ?? Date.now)())

  let event: CosEvent | undefined
  if (eventMode) {
    event = parseCosEvent(env.CE_DATA!, env.CE_TYPE)
    const info: ForwardEventInfo = {type: event.type, bucket: event.bucket, key: event.key, etag: event.etag, result: ''}
    if (event.type === 'delete') {
      ctx.onNotice?.(`delete event for ${event.key}: nothing to forward`)
      return {...emptyResult('event', event.bucket ? `cos://${event.bucket}` : '', settings, dryRun), event: {...info, result: 'ignored-delete'}}
    }
    if (!event.key.startsWith(FLOWLOG_KEY_PREFIX)) {
      ctx.onNotice?.(`${event.key} is not a flow-log object (not under ${FLOWLOG_KEY_PREFIX}): skipped`)
      return {...emptyResult('event', event.bucket ? `cos://${event.bucket}` : '', settings, dryRun), event: {...info, result: 'not-flow-log'}}
    }
  }

  // --- the query ---
  let filter: CompiledQuery['filter'] | undefined
  let query = req.query?.trim() === '' ? undefined : req.query?.trim()
  if (query !== undefined) {
    if (!ctx.compileQuery) throw new UsageError('--query is not available in this build (the query engine is missing)')
    const compiled = await ctx.compileQuery(query, envelope)
    for (const w of compiled.warnings) ctx.onWarning?.(w)
    filter = compiled.filter
    // A query that matches everything forwards everything: same ledger as no query.
    if (!filter) query = undefined
  }

  // --- the source ---
  let sourceSpec = req.source
  if (event) {
    const configured = bucketOfSpec(req.source) ?? (req.source === undefined ? ctx.config.bucket : undefined)
    const isFolder = req.source !== undefined && !req.source.startsWith('cos://')
    if (!isFolder) {
      if (!event.bucket && !configured) throw new UsageError('the event names no bucket and no bucket is configured')
      const bucket = event.bucket ?? configured!
      if (configured && event.bucket && configured !== event.bucket) {
        ctx.onWarning?.(`the event is for bucket ${event.bucket}, not the configured ${configured}: reading from ${event.bucket}`)
      }
      sourceSpec = `cos://${bucket}`
    }
  }
  const source = ctx.openSource
    ? await ctx.openSource(sourceSpec)
    : await openSource(sourceSpec, {home: ctx.home, config: ctx.config, env, cosEndpoint: req.cosEndpoint, region: req.region, endpointType: req.endpointType})

  // --- the sink and the ledger ---
  const limits: Partial<SinkLimits> = {}
  if (req.batchLines !== undefined) limits.batchLines = req.batchLines
  if (req.batchBytes !== undefined) limits.batchBytes = req.batchBytes
  const sink = createSink(settings, {
    hostname: envelope.hostname ?? 'flowlog',
    tags: envelope.tags,
    userAgent: ctx.userAgent,
    timeoutMs: req.timeoutMs,
    limits,
    concurrency: req.concurrency,
    http: ctx.http,
    tokens: ctx.tokens,
    now: ctx.now,
  })
  let ledger: Ledger | undefined
  let remote: RemoteLedgerSync | undefined
  try {
    let uploadedHash: string | undefined
    const store = ledgerMode === 'remote' ? remoteStoreOf(source) : undefined
    if (ledgerMode === 'remote') {
      if (!store) {
        throw new UsageError(`the remote ledger is kept in the bucket, but the source is not cos:// (${source.description})`, {
          suggestions: ['Use --source cos://BUCKET, or --ledger local (FLOWLOG_LEDGER=local)'],
        })
      }
      const identity = {sink: sink.kind, destination: sink.destination, query, credential: ledgerCredential(settings)}
      const path = ledgerPath(ctx.home.checkpointsDir, identity)
      const pulled = await pullRemoteLedger(store, path, legacyLedgerPaths(ctx.home.checkpointsDir, identity))
      uploadedHash = pulled.hash
      if (pulled.found) ctx.onNotice?.(`forward ledger: ${pulled.added} entr${pulled.added === 1 ? 'y' : 'ies'} merged from ${store.location}/${pulled.key}`)
    }
    ledger = await Ledger.open(ctx.home.checkpointsDir, {sink: sink.kind, destination: sink.destination, query, credential: ledgerCredential(settings)}, {readOnly: dryRun, now: ctx.now})
    if (ledger.stats.badLines > 0) ctx.onWarning?.(`${ledger.stats.badLines} unreadable line(s) in the ledger ${ledger.path} were ignored (an interrupted write)`)
    if (store && !dryRun) {
      remote = new RemoteLedgerSync({store, ledger, intervalMs: req.ledgerUploadIntervalMs, now: ctx.now, onWarning: ctx.onWarning}, uploadedHash)
    }
    const sync = remote
    const onProgress: ForwardContext['onProgress'] = sync
      ? (p) => {
          ctx.onProgress?.(p)
          sync.notify()
        }
      : ctx.onProgress

    const objects: SourceObject[] | undefined = event
      ? [{key: event.key, etag: event.etag, size: event.size}]
      : req.object !== undefined
        ? [{key: req.object}]
        : undefined
    const mode: ForwardResult['mode'] = event ? 'event' : req.object !== undefined ? 'object' : req.follow ? 'follow' : 'list'
    const pass = async (): Promise<ForwardResult> => {
      const encoder = new LineEncoder({kind: sink.kind, ...envelope, filter, now: ctx.now})
      const window = objects ? undefined : parseWindow({since: req.since, until: req.until}, (ctx.now ?? Date.now)())
      const summary = await forwardObjects({
        source,
        sink,
        encoder,
        ledger,
        window,
        objects: objects?.map((o) => ({...o})),
        concurrency: req.concurrency,
        maxAttempts: req.maxAttempts,
        backoff: {baseMs: req.retryBaseMs, capMs: req.retryCapMs, random: ctx.random},
        sleep: ctx.sleep,
        dryRun,
        signal: ctx.signal,
        onProgress,
        onRetry: ctx.onRetry,
        isMissing: isNoSuchKey,
      })
      await remote?.sync()
      const result: ForwardResult = {...summary, mode, source: source.description}
      // The objects that could not be delivered, for people and scripts (the next run retries them anyway).
      if (ledger && !dryRun) {
        const retryFile = ledger.path.replace(/\.jsonl$/, '.failed.json')
        if (summary.failures.length > 0) {
          // Redacted before it is written: an error may echo a credential (docs/sinks.md, "Stopping forward").
          await writeJsonFile(retryFile, redactDeep({at: new Date((ctx.now ?? Date.now)()).toISOString(), destination: sink.destination, failed: summary.objects.failed, failures: summary.failures}), true)
          result.retryFile = retryFile
        } else await rm(retryFile, {force: true})
      }
      if (event) {
        const s = summary.objects
        const outcome = s.failed > 0 ? 'failed' : s.missing > 0 ? 'gone' : s.skipped > 0 ? 'already-sent' : 'forwarded'
        result.event = {type: event.type, bucket: event.bucket, key: event.key, etag: event.etag, result: outcome}
      }
      return result
    }

    if (!req.follow) return await pass()

    const interval = Math.max(1, req.intervalMs ?? 60_000)
    const sleep = ctx.sleep ?? defaultSleep
    let n = 0
    let last: ForwardResult
    for (;;) {
      n++
      last = await pass()
      last.passes = n
      ctx.onPass?.(last, n)
      if (req.maxPasses !== undefined && n >= req.maxPasses) return last
      if (ctx.signal?.aborted) return last
      try {
        await sleep(interval, ctx.signal)
      } catch {
        return last
      }
    }
  } catch (error) {
    if (error instanceof ForwardAuthError) {
      throw new AuthError(error.message, {
        detail: {summary: error.summary},
        suggestions:
          settings.kind === 'logdna'
            ? ['The ingestion key comes from FLOWLOG_LOGDNA_INGESTION_KEY or logdnaIngestionKey in the config file', 'Lines acknowledged before the refusal are in the ledger and will not be sent again']
            : ['IBMCLOUD_API_KEY must belong to an identity with the Sender role on the Cloud Logs instance'],
      })
    }
    throw error
  } finally {
    // Always at the end (also after a failure or an interruption): what was acknowledged is in the bucket.
    await remote?.sync().catch(() => undefined)
    await ledger?.close()
    sink.close()
    await source.close?.()
  }
}
