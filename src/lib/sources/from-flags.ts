import type {Home} from '../config/home.js'
import {readConfig} from '../config/settings.js'
import {PartialFailureError, UsageError} from '../errors.js'
import {parseSize} from '../records/limits.js'
import {parseWindow, type TimeWindow} from '../records/time.js'
import {openSource} from './index.js'
import {type PullProgress, type PullSummary, pullObjects} from './pull.js'
import type {Source} from './types.js'
import {ParsePool} from '../store/pool.js'
import {openStore, type Store} from '../store/store.js'
import type {LockHolder} from '../store/lock.js'

/** The source flags every command that reads objects shares (src/lib/sources/flags.ts). */
export interface SourceFlagValues {
  source?: string
  'cos-endpoint'?: string
  region?: string
  'endpoint-type'?: string
}

export async function openSourceFromFlags(home: Home, flags: SourceFlagValues): Promise<Source> {
  const config = await readConfig(home)
  return openSource(flags.source, {
    home,
    config,
    cosEndpoint: flags['cos-endpoint'],
    region: flags.region,
    endpointType: flags['endpoint-type'] as 'public' | 'private' | 'direct' | undefined,
  })
}

export interface PullFirstResult {
  description: string
  summary?: PullSummary
  /** Set when some objects failed (the rest was loaded): the command should exit 5 after its output. */
  partial?: PartialFailureError
}

/** `--source` on top/stats/alert/explore: pull what is new for the window before reading the index. */
export async function pullFirst(
  home: Home,
  flags: SourceFlagValues,
  window: TimeWindow,
  callbacks: {onProgress?: (p: PullProgress) => void; onWait?: (holder: LockHolder | undefined) => void; signal?: AbortSignal} = {},
): Promise<PullFirstResult> {
  // The parse workers start up while the source and the index open.
  const pool = new ParsePool()
  let store: Store | undefined
  let source: Source | undefined
  try {
    source = await openSourceFromFlags(home, flags)
    store = await openStore(home, {onWait: callbacks.onWait})
  } catch (error) {
    await store?.close()
    await source?.close?.()
    await pool.close()
    throw error
  }
  try {
    const summary = await pullObjects(source, store, {window, onProgress: callbacks.onProgress, pool, signal: callbacks.signal})
    return {description: source.description, summary}
  } catch (error) {
    if (error instanceof PartialFailureError) return {description: source.description, summary: error.result as PullSummary, partial: error}
    throw error
  } finally {
    await pool.close()
    await store.close()
    await source.close?.()
  }
}

export interface PullFlagValues extends SourceFlagValues {
  since?: string
  until?: string
  concurrency: number
  force?: boolean
  'max-object-size': string
}

/**
 * `flowlog pull` from its flags: check the window and the size limit, open the source and the index, load what is
 * new. A PartialFailureError (some objects failed, the rest loaded) carries the summary.
 */
export async function pullFromFlags(
  home: Home,
  flags: PullFlagValues,
  callbacks: {onListing?: (description: string) => void; onProgress?: (p: PullProgress) => void; onWait?: (holder: LockHolder | undefined) => void; signal?: AbortSignal} = {},
): Promise<PullSummary> {
  const window = parseWindow(flags)
  const maxObjectSize = parseSize(flags['max-object-size'])
  if (maxObjectSize === undefined) throw new UsageError(`--max-object-size ${flags['max-object-size']}: not a size (say 512MB, 2GB or 100KB)`)
  const source = await openSourceFromFlags(home, flags)
  const store = await openStore(home, {onWait: callbacks.onWait})
  callbacks.onListing?.(source.description)
  try {
    return await pullObjects(source, store, {window, concurrency: flags.concurrency, force: flags.force, maxObjectSize, signal: callbacks.signal, onProgress: callbacks.onProgress})
  } finally {
    await store.close()
    await source.close?.()
  }
}
