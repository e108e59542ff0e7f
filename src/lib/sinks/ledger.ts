import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {type FileHandle, open, readFile, rename, rm, stat, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

import {ensureDir} from '../config/home.js'
import {ExitCode, FlowlogError} from '../errors.js'
import {canonicalDestination} from './identity.js'
import type {SourceObject} from '../sources/types.js'

/**
 * The forward ledger (docs/sinks.md §5): an append-only JSONL file per sink + destination (+ query) in the home's
 * checkpoints folder. An object is written as done only when every line of it was acknowledged, so a re-run never
 * re-sends it (same key and same ETag, or same size and mtime). Lines of an object acknowledged before a crash are
 * written as partial entries, so a re-run sends only what was not acknowledged; a torn last line (kill -9 during a
 * write) is ignored. In memory the ledger keeps a 16-byte hash per key, not the keys.
 *
 *   {"ledger":1,"sink":"logdna","destination":"https://…/logs/ingest","query":null,"created":"…"}
 *   {"key":"ibm_vpc_flowlogs_v1/…","etag":"…","size":587,"mtime":null,"lines":2,"done_at":"2026-…"}
 *   {"key":"ibm_vpc_flowlogs_v1/…","etag":"…","size":…,"mtime":…,"acked":[[0,99],[120,140]]}
 */
export interface LedgerIdentity {
  sink: string
  destination: string
  query?: string
  /**
   * The secret that picks the account behind a shared URL (a Mezmo/LogDNA ingestion key). Only a salted hash of it
   * enters the file name and the header line; the secret itself is never written.
   */
  credential?: string
}

/** A short salted hash of a credential: part of the ledger's identity, not enough to recover or test a guess cheaply. */
export function credentialHash(credential: string | undefined): string | undefined {
  if (credential === undefined || credential === '') return undefined
  return createHash('sha256').update(`flowlog-ledger-credential\n${credential}`, 'utf8').digest('hex').slice(0, 12)
}

interface ObjectIdentity {
  etag?: string
  size?: number
  mtime?: number
}

interface Partial {
  id: ObjectIdentity
  acked: Set<number>
}

export interface LedgerStats {
  done: number
  partial: number
  /** Unreadable lines (a torn write after a crash). */
  badLines: number
  lines: number
}

/** The ledger file of a sink: keyed on its canonical destination (identity.ts), so one sink has one ledger and lock. */
export function ledgerPath(checkpointsDir: string, identity: LedgerIdentity): string {
  const cred = credentialHash(identity.credential)
  return legacyLedgerPath(checkpointsDir, {...identity, destination: canonicalDestination(identity.destination)}, cred)
}

/**
 * The file names of earlier versions, taken over by open(): the destination as spelled, and the canonical destination
 * without the credential's hash.
 */
export function legacyLedgerPaths(checkpointsDir: string, identity: LedgerIdentity): string[] {
  return [legacyLedgerPath(checkpointsDir, identity), legacyLedgerPath(checkpointsDir, {...identity, destination: canonicalDestination(identity.destination)})]
}

function legacyLedgerPath(checkpointsDir: string, identity: LedgerIdentity, cred?: string): string {
  const h = createHash('sha256')
    .update(`${identity.sink}\n${identity.destination}\n${identity.query ?? ''}${cred === undefined ? '' : `\n${cred}`}`)
    .digest('hex')
    .slice(0, 16)
  return join(checkpointsDir, `forward-${identity.sink}-${h}.jsonl`)
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

function keyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('base64').slice(0, 22)
}

function packIdentity(o: ObjectIdentity): string {
  return `${o.etag ?? ''}|${o.size ?? ''}|${o.mtime ?? ''}`
}

function unpackIdentity(s: string): ObjectIdentity {
  const [etag, size, mtime] = s.split('|')
  return {etag: etag || undefined, size: size === '' ? undefined : Number(size), mtime: mtime === '' ? undefined : Number(mtime)}
}

/** Whether a stored identity describes the same version of the object: ETags when both have one, else size (+mtime). */
export function sameVersion(stored: ObjectIdentity, obj: ObjectIdentity): boolean {
  if (stored.etag && obj.etag) return stored.etag === obj.etag
  if (stored.size !== undefined && obj.size !== undefined) {
    if (stored.size !== obj.size) return false
    if (stored.mtime !== undefined && obj.mtime !== undefined) return stored.mtime === obj.mtime
    return true
  }
  return false
}

function toRanges(sorted: number[]): [number, number][] {
  const out: [number, number][] = []
  for (const n of sorted) {
    const last = out[out.length - 1]
    if (last && n === last[1] + 1) last[1] = n
    else if (!last || n > last[1]) out.push([n, n])
  }
  return out
}

export interface LedgerOpenOptions {
  /** Read-only (dry run): no lock, no writes. */
  readOnly?: boolean
  now?: () => number
  /** Process-liveness check for a stale lock (tests). */
  isAlive?: (pid: number) => boolean
}

export class Ledger {
  readonly path: string
  readonly stats: LedgerStats = {done: 0, partial: 0, badLines: 0, lines: 0}
  private readonly done = new Map<string, string>()
  private readonly partials = new Map<string, Partial>()
  private handle?: FileHandle
  private chain: Promise<void> = Promise.resolve()
  private writeError?: Error
  private readonly now: () => number
  private readonly lockPath: string
  private locked = false

  private constructor(path: string, now: () => number) {
    this.path = path
    this.lockPath = `${path}.lock`
    this.now = now
  }

  static async open(checkpointsDir: string, identity: LedgerIdentity, options: LedgerOpenOptions = {}): Promise<Ledger> {
    const ledger = new Ledger(ledgerPath(checkpointsDir, identity), options.now ?? Date.now)
    if (!options.readOnly) {
      await ensureDir(checkpointsDir)
      await ledger.lock(options.isAlive ?? pidAlive)
      // A ledger written under the destination's spelling (earlier versions) becomes the canonical one.
      for (const legacy of legacyLedgerPaths(checkpointsDir, identity)) {
        if (legacy !== ledger.path && !(await exists(ledger.path)) && (await exists(legacy))) await rename(legacy, ledger.path).catch(() => undefined)
      }
    }
    try {
      const exists = await ledger.load()
      if (!options.readOnly) {
        await ledger.maybeCompact()
        ledger.handle = await open(ledger.path, 'a', 0o600)
        if (!exists) await ledger.write(JSON.stringify({ledger: 1, sink: identity.sink, destination: identity.destination, query: identity.query ?? null, credential_hash: credentialHash(identity.credential) ?? null, created: new Date(ledger.now()).toISOString()}) + '\n')
      }
    } catch (error) {
      await ledger.unlock()
      throw error
    }
    return ledger
  }

  /** Whether this version of the object was fully acknowledged before. */
  isDone(obj: SourceObject): boolean {
    const stored = this.done.get(keyHash(obj.key))
    return stored !== undefined && sameVersion(unpackIdentity(stored), obj)
  }

  /** Record indices of this object acknowledged in an earlier, interrupted run. */
  acked(obj: SourceObject): ReadonlySet<number> | undefined {
    const p = this.partials.get(keyHash(obj.key))
    return p && sameVersion(p.id, obj) ? p.acked : undefined
  }

  get size(): number {
    return this.done.size
  }

  /** Queue "done" entries (one write for all of them). */
  markDone(items: {obj: SourceObject; lines: number}[]): Promise<void> {
    if (items.length === 0) return this.chain
    const at = new Date(this.now()).toISOString()
    let text = ''
    for (const {obj, lines} of items) {
      const h = keyHash(obj.key)
      this.done.set(h, packIdentity(obj))
      this.partials.delete(h)
      text += JSON.stringify({key: obj.key, etag: obj.etag ?? null, size: obj.size ?? null, mtime: obj.mtime ?? null, lines, done_at: at}) + '\n'
    }
    return this.write(text)
  }

  /** Queue partial entries: these record indices of these objects were acknowledged. */
  markPartial(items: {obj: SourceObject; indices: number[]}[]): Promise<void> {
    let text = ''
    for (const {obj, indices} of items) {
      if (indices.length === 0) continue
      const h = keyHash(obj.key)
      let p = this.partials.get(h)
      if (!p || !sameVersion(p.id, obj)) {
        p = {id: {etag: obj.etag, size: obj.size, mtime: obj.mtime}, acked: new Set()}
        this.partials.set(h, p)
      }
      for (const i of indices) p.acked.add(i)
      const sorted = [...indices].sort((a, b) => a - b)
      text += JSON.stringify({key: obj.key, etag: obj.etag ?? null, size: obj.size ?? null, mtime: obj.mtime ?? null, acked: toRanges(sorted)}) + '\n'
    }
    return text === '' ? this.chain : this.write(text)
  }

  /** Wait for every queued write (never throws: see `failure`). */
  async settled(): Promise<void> {
    await this.chain
  }

  /** The first write error, once a write failed (nothing more is written after it). */
  get failure(): Error | undefined {
    return this.writeError
  }

  /** Wait for every queued write; throws the first write error. */
  async flush(): Promise<void> {
    await this.chain
    if (this.writeError) throw this.writeError
  }

  async close(): Promise<void> {
    try {
      await this.flush()
    } finally {
      await this.handle?.close()
      this.handle = undefined
      await this.unlock()
    }
  }

  private write(text: string): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.writeError || !this.handle) return
      try {
        await this.handle.write(text)
      } catch (error) {
        // Exit 5: what was acknowledged before stays recorded; forward stops at once (docs/sinks.md, "Stopping forward").
        this.writeError = new FlowlogError(`cannot write the forward ledger ${this.path}: ${(error as Error).message}; forward stopped`, ExitCode.partial, {
          code: 'ledger_write',
        })
      }
    })
    return this.chain
  }

  private apply(line: string): boolean {
    let entry: {key?: unknown; etag?: unknown; size?: unknown; mtime?: unknown; lines?: unknown; acked?: unknown; ledger?: unknown}
    try {
      entry = JSON.parse(line) as typeof entry
    } catch {
      return false
    }
    if (typeof entry !== 'object' || entry === null) return false
    if (entry.ledger !== undefined) return true
    if (typeof entry.key !== 'string') return false
    const id: ObjectIdentity = {
      etag: typeof entry.etag === 'string' && entry.etag !== '' ? entry.etag : undefined,
      size: typeof entry.size === 'number' ? entry.size : undefined,
      mtime: typeof entry.mtime === 'number' ? entry.mtime : undefined,
    }
    const h = keyHash(entry.key)
    if (Array.isArray(entry.acked)) {
      let p = this.partials.get(h)
      if (!p || !sameVersion(p.id, id)) {
        p = {id, acked: new Set()}
        this.partials.set(h, p)
      }
      for (const r of entry.acked) {
        if (!Array.isArray(r) || typeof r[0] !== 'number' || typeof r[1] !== 'number') return false
        for (let i = r[0]; i <= r[1]; i++) p.acked.add(i)
      }
      return true
    }
    this.done.set(h, packIdentity(id))
    const p = this.partials.get(h)
    if (p && sameVersion(p.id, id)) this.partials.delete(h)
    return true
  }

  private async load(): Promise<boolean> {
    try {
      await stat(this.path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw error
    }
    const rl = createInterface({input: createReadStream(this.path, {encoding: 'utf8'}), crlfDelay: Infinity})
    for await (const line of rl) {
      if (line.trim() === '') continue
      this.stats.lines++
      if (!this.apply(line)) this.stats.badLines++
    }
    this.stats.done = this.done.size
    this.stats.partial = this.partials.size
    return true
  }

  /** Rewrite the file without superseded entries when most of it is waste (many partials, repeats, torn lines). */
  private async maybeCompact(): Promise<void> {
    const useful = this.done.size + this.partials.size + 1
    if (this.stats.lines < 1000 || this.stats.lines < useful * 2) return
    const tmp = `${this.path}.${process.pid}.compact`
    const out = createWriteStream(tmp, {mode: 0o600})
    const lines: string[] = []
    // Keep the last done entry per key, and partial entries of objects that are not done.
    const rl = createInterface({input: createReadStream(this.path, {encoding: 'utf8'}), crlfDelay: Infinity})
    for await (const line of rl) {
      if (line.trim() === '') continue
      let entry: {key?: unknown; acked?: unknown; ledger?: unknown}
      try {
        entry = JSON.parse(line) as typeof entry
      } catch {
        continue
      }
      if (entry.ledger !== undefined) {
        lines.push(line)
        continue
      }
      if (typeof entry.key !== 'string') continue
      const h = keyHash(entry.key)
      if (Array.isArray(entry.acked)) {
        if (this.partials.has(h)) lines.push(line)
      } else lines.push(line)
      if (lines.length >= 10_000) {
        out.write(lines.join('\n') + '\n')
        lines.length = 0
      }
    }
    if (lines.length > 0) out.write(lines.join('\n') + '\n')
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
    await rename(tmp, this.path)
  }

  private async lock(isAlive: (pid: number) => boolean): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const h = await open(this.lockPath, 'wx', 0o600)
        await h.write(String(process.pid))
        await h.close()
        this.locked = true
        return
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const pid = Number((await readFile(this.lockPath, 'utf8').catch(() => '')).trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new FlowlogError(`another flowlog forward (pid ${pid}) is sending to this destination`, 1, {
          code: 'busy',
          suggestions: ['Wait for it to finish, or stop it; two forwarders to one destination would send lines twice', `Lock file: ${this.lockPath}`],
        })
      }
      // A stale lock (its process died, e.g. kill -9): take it over.
      await rm(this.lockPath, {force: true})
    }
    throw new FlowlogError(`cannot take the forward lock ${this.lockPath}`)
  }

  private async unlock(): Promise<void> {
    if (!this.locked) return
    this.locked = false
    await unlink(this.lockPath).catch(() => undefined)
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
