import {createHash} from 'node:crypto'
import {open, readFile, rename, stat} from 'node:fs/promises'
import {basename, dirname} from 'node:path'

import {ensureDir} from '../config/home.js'
import {errorMessage, FlowlogError, RemoteError, UsageError} from '../errors.js'
import type {Source} from '../sources/types.js'
import type {Ledger} from './ledger.js'

/**
 * The forward ledger kept in the bucket (docs/sinks.md §5, docs/ibm-cloud-apis.md §7.7): a Code Engine job's FLOWLOG_HOME
 * is ephemeral, so the ledger file is also stored as one object under `flowlog/ledger/` (outside
 * `ibm_vpc_flowlogs_`, so listings never take it for a flow log and COS subscriptions filtered on that prefix never
 * fire on it). At start the object is merged into the local ledger; during the run the whole file is PUT again at
 * most every `intervalMs` after objects complete, and always at the end. A failed upload is a warning (the local
 * ledger is intact and the next upload carries everything); a failed download other than "no such key" stops the run.
 */
export type LedgerMode = 'local' | 'remote' | 'auto'

export const REMOTE_LEDGER_PREFIX = 'flowlog/ledger/'
export const DEFAULT_REMOTE_LEDGER_INTERVAL_MS = 30_000

/** --ledger, else FLOWLOG_LEDGER, else local; `auto` is remote inside Code Engine (CE_JOB or CE_APP set). */
export function resolveLedgerMode(flag: string | undefined, env: NodeJS.ProcessEnv): 'local' | 'remote' {
  const fromEnv = env.FLOWLOG_LEDGER?.trim() === '' ? undefined : env.FLOWLOG_LEDGER?.trim()
  const raw = (flag ?? fromEnv ?? 'local').toLowerCase()
  if (raw !== 'local' && raw !== 'remote' && raw !== 'auto') {
    throw new UsageError(`${flag === undefined ? 'FLOWLOG_LEDGER' : '--ledger'} ${JSON.stringify(flag ?? fromEnv)} is not local, remote or auto`)
  }
  if (raw === 'auto') return env.CE_JOB || env.CE_APP ? 'remote' : 'local'
  return raw
}

/** The object key of a local ledger file: `flowlog/ledger/<file name>`. */
export function remoteLedgerKey(localPath: string): string {
  return REMOTE_LEDGER_PREFIX + basename(localPath)
}

/** Where the remote ledger lives: one object, read and written whole. */
export interface RemoteLedgerStore {
  /** For messages: cos://bucket */
  readonly location: string
  /** The object's bytes, or undefined when it does not exist. */
  get(key: string): Promise<Buffer | undefined>
  put(key: string, body: Buffer): Promise<void>
}

interface RawObjectSource {
  bucket: string
  getRawObject(key: string): Promise<Buffer>
  putRawObject(key: string, body: Buffer, contentType?: string): Promise<void>
}

function isNoSuchKeyError(error: unknown): boolean {
  if (error instanceof FlowlogError) {
    const detail = error.detail as {code?: unknown} | undefined
    return detail?.code === 'NoSuchKey'
  }
  const e = error as {code?: unknown; statusCode?: unknown}
  return e?.code === 'NoSuchKey' || e?.statusCode === 404
}

/** The store of a `cos://` source (its own client and credentials), or undefined for other sources. */
export function remoteStoreOf(source: Source): RemoteLedgerStore | undefined {
  const s = source as Partial<RawObjectSource>
  if (typeof s.getRawObject !== 'function' || typeof s.putRawObject !== 'function' || typeof s.bucket !== 'string') return undefined
  const raw = source as unknown as RawObjectSource
  return {
    location: `cos://${raw.bucket}`,
    async get(key) {
      try {
        return await raw.getRawObject(key)
      } catch (error) {
        if (isNoSuchKeyError(error)) return undefined
        throw error
      }
    },
    put: (key, body) => raw.putRawObject(key, body, 'application/x-ndjson'),
  }
}

/** Complete lines only (a torn last line, from a write in progress, is left out). */
function completeText(buf: Buffer): string {
  const text = buf.toString('utf8')
  const end = text.lastIndexOf('\n')
  return end < 0 ? '' : text.slice(0, end + 1)
}

function lineHash(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('base64').slice(0, 22)
}

export interface PullResult {
  /** The object existed. */
  found: boolean
  /** Lines added to the local ledger (all of them when it was missing). */
  added: number
  key: string
  /** When the local file is now exactly the remote object: its hash (so an unchanged ledger is not uploaded again). */
  hash?: string
}

/**
 * Merge the remote ledger into the local file before the ledger is opened: when the local file is missing the remote
 * one replaces it; otherwise the remote lines the local file lacks are appended (the ledger is a log of entries, so
 * a union of lines is a valid ledger). Throws RemoteError when the object cannot be read (other than a missing key).
 */
export async function pullRemoteLedger(store: RemoteLedgerStore, localPath: string, fallbackPaths: string[] = []): Promise<PullResult> {
  let key = remoteLedgerKey(localPath)
  let body: Buffer | undefined
  try {
    body = await store.get(key)
    // Not there: the ledger may have been uploaded under the file name of an earlier version (ledger.ts).
    for (const fallback of fallbackPaths) {
      if (body !== undefined) break
      const other = remoteLedgerKey(fallback)
      if (other === key) continue
      body = await store.get(other)
      if (body !== undefined) key = other
    }
  } catch (error) {
    throw new RemoteError(`cannot read the forward ledger ${store.location}/${key}: ${errorMessage(error)}`, {
      code: 'remote_ledger_unreadable',
      detail: {key, cause: error instanceof FlowlogError ? error.code : undefined},
      suggestions: [
        'Nothing was sent: without the ledger every object in the window would be sent again',
        'Check that the credentials can read (Reader) and write (Writer) the bucket, then run again',
        'Or run with --ledger local to use only the ledger in the flowlog home',
      ],
    })
  }
  if (body === undefined) return {found: false, key, added: 0}
  const remote = completeText(body)
  await ensureDir(dirname(localPath))
  let local: string | undefined
  try {
    local = await readFile(localPath, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const remoteLines = remote.split('\n').filter((l) => l.trim() !== '')
  if (local === undefined || local.trim() === '') {
    const tmp = `${localPath}.${process.pid}.remote`
    const h = await open(tmp, 'w', 0o600)
    try {
      await h.writeFile(remote)
    } finally {
      await h.close()
    }
    await rename(tmp, localPath)
    // Found under an earlier name: the new key has nothing yet, so the next upload must happen.
    const hash = key === remoteLedgerKey(localPath) ? bodyHash(Buffer.from(remote, 'utf8')) : undefined
    return {found: true, key, added: remoteLines.length, hash}
  }
  const seen = new Set<string>()
  for (const line of local.split('\n')) if (line.trim() !== '') seen.add(lineHash(line))
  let text = ''
  let added = 0
  for (const line of remoteLines) {
    const h = lineHash(line)
    if (seen.has(h)) continue
    // The local file has its own header line.
    if (line.startsWith('{"ledger":')) continue
    seen.add(h)
    text += line + '\n'
    added++
  }
  if (added > 0) {
    // A torn last local line (an interrupted write) must not swallow the first appended line.
    if (!local.endsWith('\n')) text = '\n' + text
    const h = await open(localPath, 'a', 0o600)
    try {
      await h.write(text)
    } finally {
      await h.close()
    }
  }
  return {found: true, key, added}
}

export interface RemoteLedgerSyncOptions {
  store: RemoteLedgerStore
  ledger: Ledger
  /** At most one upload per interval while running (default 30 s); the final upload is always made. */
  intervalMs?: number
  now?: () => number
  onWarning?: (message: string) => void
}

/** Uploads the local ledger file as one PUT of the whole file, throttled; failures are warnings. */
export class RemoteLedgerSync {
  readonly key: string
  uploads = 0
  failures = 0
  private readonly options: RemoteLedgerSyncOptions
  private readonly now: () => number
  private readonly intervalMs: number
  private last: number
  private lastHash?: string
  private inFlight?: Promise<void>
  private readonly warned = new Set<string>()

  constructor(options: RemoteLedgerSyncOptions, uploadedHash?: string) {
    this.options = options
    this.now = options.now ?? Date.now
    this.intervalMs = Math.max(0, options.intervalMs ?? DEFAULT_REMOTE_LEDGER_INTERVAL_MS)
    this.key = remoteLedgerKey(options.ledger.path)
    this.last = this.now()
    this.lastHash = uploadedHash
  }

  /** Objects completed: upload when the interval has passed (in the background; never throws). */
  notify(): void {
    if (this.inFlight || this.now() - this.last < this.intervalMs) return
    this.inFlight = this.upload().finally(() => {
      this.inFlight = undefined
    })
  }

  /** Wait for an upload in flight, then upload what is new (end of a pass, end of the run). */
  async sync(): Promise<void> {
    await this.inFlight
    await this.upload()
  }

  private async upload(): Promise<void> {
    this.last = this.now()
    let body: Buffer
    try {
      await this.options.ledger.flush()
      await stat(this.options.ledger.path)
      body = Buffer.from(completeText(await readFile(this.options.ledger.path)), 'utf8')
    } catch (error) {
      this.warn(`cannot read the forward ledger ${this.options.ledger.path} to upload it: ${errorMessage(error)}`)
      return
    }
    const hash = createHash('sha256').update(body).digest('hex')
    if (hash === this.lastHash) return
    try {
      await this.options.store.put(this.key, body)
      this.lastHash = hash
      this.uploads++
    } catch (error) {
      this.failures++
      this.warn(
        `cannot upload the forward ledger to ${this.options.store.location}/${this.key} (${errorMessage(error)}); ` +
          `it is kept in ${this.options.ledger.path} and uploaded again next time`,
      )
    }
  }

  private warn(message: string): void {
    if (this.warned.has(message)) return
    this.warned.add(message)
    this.options.onWarning?.(message)
  }
}

/** The hash the sync compares against, for a body just downloaded (no upload when nothing changed). */
export function bodyHash(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex')
}
