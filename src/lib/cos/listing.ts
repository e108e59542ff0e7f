/**
 * Time-pruned listing of flow-log keys in a bucket (docs/flow-log-format.md §2.5):
 *
 * 1. One delimiter listing at the source prefix: top-level folders (`ibm_vpc_flowlogs_v1/`, `ibm_vpc_flowlogs_v0/`,
 *    foreign folders) and loose objects (foreign ones counted and skipped).
 * 2. Walk each v1 tree with Delimiter='/' down to its `…/record-type=…/` prefixes (account, region, vpc-id, subnet-id,
 *    endpoint-type, instance-id, vnic-id, record-type). The result is cached in the home, so the next pull lists little.
 * 3. For each record-type prefix, list only `year=YYYY/month=MM/day=DD/hour=HH/` for the hours of the window (from
 *    floor_hour(since − 5 min)); long or open-ended windows walk the year/month/day/hour folders instead, pruning each.
 * 4. v0 trees and unrecognised layouts are listed flat and yielded (the store filters records by time); keys that
 *    parse as v1 are still pruned by their hour.
 *
 * Without a window everything is needed: one flat listing of the prefix (1000 keys a request), no cache.
 * Servers whose delimiter listings leave out folders that hold only folders (s3rver 3.7) are detected — an empty
 * delimiter listing under a prefix that does hold keys — and listed flat instead.
 */
import {createHash} from 'node:crypto'
import {join} from 'node:path'

import {type Home, readJsonFile, writeJsonFile} from '../config/home.js'
import {FLOWLOG_KEY_PREFIX, parseKey} from '../records/key.js'
import {floorHour, HOUR_MS, hourInWindow, type TimeWindow} from '../records/time.js'
import type {SourceObject, SourceProgress, SourceStats} from '../sources/types.js'
import type {ListedObject, ListPage, ListPageParams} from './client.js'

export interface CosSourceStats extends SourceStats {
  /** GET requests, including retries. */
  getRequests: number
  /** Retried requests (list and get). */
  retries: number
  /** Bytes downloaded. */
  bytes: number
  /** Objects skipped because their LastModified is before the window (part of prunedByTime). */
  prunedByLastModified: number
  /** Record-type prefixes the time-pruned listing used. */
  recordTypePrefixes: number
  /** Whether the record-type prefixes came from the cache. */
  prefixCache: 'hit' | 'miss' | 'off'
  /** The server's delimiter listings were incomplete, so some prefixes were listed flat. */
  incompleteDelimiterListing: boolean
  /** Downloads whose ETag is not the body's MD5 (accepted after two identical downloads). */
  etagNotMd5: number
}

export function emptyCosStats(): CosSourceStats {
  return {
    listRequests: 0,
    listed: 0,
    skippedForeign: 0,
    prunedByTime: 0,
    getRequests: 0,
    retries: 0,
    bytes: 0,
    prunedByLastModified: 0,
    recordTypePrefixes: 0,
    prefixCache: 'off',
    incompleteDelimiterListing: false,
    etagNotMd5: 0,
  }
}

/** One page of a listing, already retried and error-mapped by the caller. */
export type PageFn = (params: ListPageParams, progress?: SourceProgress) => Promise<ListPage>

export interface CosListerOptions {
  bucket: string
  /** The source prefix ('' or ending in '/'). */
  prefix: string
  /** Identity of the endpoint (cache key). */
  endpoint: string
  page: PageFn
  stats: CosSourceStats
  home?: Home
  /** How long discovered record-type prefixes are trusted (default 10 min). */
  cacheTtlMs?: number
  /** Ignore the cache this time (it is rewritten). */
  refreshCache?: boolean
  /** Parallel list requests (default 8). */
  concurrency?: number
  /** Skip objects whose LastModified is more than 5 min before `since` (default true). */
  pruneByLastModified?: boolean
  /** Windows up to this many hours list hour prefixes directly; longer ones walk the date folders (default 48). */
  maxEnumeratedHours?: number
  now?: () => number
}

const SLACK_MS = 5 * 60_000
const MAX_WALK_DEPTH = 9
const RECORD_TYPE_RE = /^(ibm_vpc_flowlogs_v1\/(?:[^/]+\/)*?record-type=[^/]*\/)/

type PrefixKind = 'foreign' | 'rt' | 'descend' | 'flat'

interface Plan {
  rts: string[]
  flat: string[]
  loose: ListedObject[]
}

interface CacheFile {
  version: 1
  savedAt: number
  endpoint: string
  bucket: string
  prefix: string
  /** The top-level v1 folders the walk started from. */
  roots: string[]
  rts: string[]
  flat: string[]
  loose: ListedObject[]
}

const p2 = (n: number) => String(n).padStart(2, '0')

/** `year=YYYY/month=MM/day=DD/hour=HH/` for an hour start. */
export function hourPath(hour: number, hourLabel?: number): string {
  const d = new Date(hour)
  return `year=${d.getUTCFullYear()}/month=${p2(d.getUTCMonth() + 1)}/day=${p2(d.getUTCDate())}/hour=${p2(hourLabel ?? d.getUTCHours())}/`
}

/**
 * The hour folders to list for a window: from floor_hour(since − 5 min) up to (not including) `until` (or the next
 * hour after now). Undefined when the window has no start or spans more than `max` hours (walk the date folders).
 * Hour 00 of a day is also looked for as hour=24 of the day before (the docs say hours run "00-24").
 */
export function hourPrefixes(window: TimeWindow, now: number, max = 48): string[] | undefined {
  if (window.since === undefined) return undefined
  const start = floorHour(window.since - SLACK_MS)
  const end = window.until ?? floorHour(now) + 2 * HOUR_MS
  if ((end - start) / HOUR_MS > max) return undefined
  const out: string[] = []
  for (let h = start; h < end; h += HOUR_MS) {
    if (!hourInWindow(h, window)) continue
    out.push(hourPath(h))
    if (new Date(h).getUTCHours() === 0) out.push(hourPath(h - HOUR_MS, 24))
  }
  return out
}

/** Results in input order, `limit` at a time. */
async function* orderedParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const running: Promise<R>[] = []
  let next = 0
  const start = () => {
    if (next >= items.length) return
    const p = fn(items[next])
    p.catch(() => {}) // handled when awaited in order
    running[next++] = p
  }
  for (let i = 0; i < limit; i++) start()
  for (let i = 0; i < items.length; i++) {
    const r = await running[i]
    delete running[i]
    start()
    yield r
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for await (const r of orderedParallel(items, limit, fn)) out.push(r)
  return out
}

export class CosLister {
  private readonly o: CosListerOptions
  /** Part of the prefix before the first `ibm_vpc_flowlogs_` segment: keys are flow-log keys relative to it. */
  readonly base: string
  private readonly concurrency: number
  private readonly now: () => number

  constructor(options: CosListerOptions) {
    this.o = options
    const segs = options.prefix.split('/')
    const i = segs.findIndex((s) => s.startsWith(FLOWLOG_KEY_PREFIX))
    this.base = i === -1 ? options.prefix : segs.slice(0, i).map((s) => `${s}/`).join('')
    this.concurrency = options.concurrency ?? 8
    this.now = options.now ?? Date.now
  }

  /** The key relative to the base folder (what the flow-log layouts describe). */
  relative(key: string): string {
    return key.slice(this.base.length)
  }

  classifyPrefix(prefix: string): PrefixKind {
    const rel = this.relative(prefix)
    if (!rel.startsWith(FLOWLOG_KEY_PREFIX)) return 'foreign'
    const segs = rel.split('/').filter((s, i, a) => i < a.length - 1 || s !== '')
    if (segs[0] !== 'ibm_vpc_flowlogs_v1') return 'flat'
    const last = segs[segs.length - 1]
    if (last.startsWith('record-type=')) return 'rt'
    if (segs.some((s) => /^(year|month|day|hour|stream-id)=/.test(s)) || segs.length > MAX_WALK_DEPTH) return 'flat'
    return 'descend'
  }

  /** Whether a listed object is yielded: foreign keys are counted and skipped; keys outside the window are pruned. */
  private admit(obj: ListedObject, window: TimeWindow): boolean {
    const stats = this.o.stats
    const rel = this.relative(obj.key)
    if (!obj.key.startsWith(this.base) || !rel.startsWith(FLOWLOG_KEY_PREFIX)) {
      stats.skippedForeign++
      return false
    }
    const parsed = parseKey(rel)
    if (parsed?.hour_dir !== undefined && !hourInWindow(parsed.hour_dir, window)) {
      stats.prunedByTime++
      return false
    }
    if (
      this.o.pruneByLastModified !== false &&
      window.since !== undefined &&
      obj.mtime !== undefined &&
      obj.mtime < window.since - SLACK_MS
    ) {
      // Records are never later than the capture end, and the object is written after it.
      stats.prunedByTime++
      stats.prunedByLastModified++
      return false
    }
    return true
  }

  private toSource(obj: ListedObject): SourceObject {
    this.o.stats.listed++
    return {key: obj.key, etag: obj.etag, size: obj.size, mtime: obj.mtime}
  }

  async *list(window: TimeWindow, progress?: SourceProgress): AsyncGenerator<SourceObject> {
    const open = window.since === undefined && window.until === undefined
    const startKind = this.o.prefix === '' || this.o.prefix === this.base ? 'root' : this.classifyPrefix(this.o.prefix)
    if (open || startKind === 'flat' || startKind === 'foreign') {
      yield* this.flat(this.o.prefix, window, progress, open && (startKind === 'root' || startKind === 'descend'))
      return
    }
    let plan: Plan
    if (startKind === 'rt') {
      plan = {rts: [this.o.prefix], flat: [], loose: []}
    } else {
      plan = await this.plan(progress)
    }
    this.o.stats.recordTypePrefixes = plan.rts.length
    for (const obj of plan.loose) if (this.admit(obj, window)) yield this.toSource(obj)
    for (const prefix of plan.flat) yield* this.flat(prefix, window, progress, false)

    const hours = hourPrefixes(window, this.now(), this.o.maxEnumeratedHours ?? 48)
    if (hours) {
      const tasks = plan.rts.flatMap((rt) => hours.map((h) => rt + h))
      for await (const objects of orderedParallel(tasks, this.concurrency, (p) => this.listAll(p, progress))) {
        for (const obj of objects) if (this.admit(obj, window)) yield this.toSource(obj)
      }
    } else {
      for await (const objects of orderedParallel(plan.rts, this.concurrency, (rt) => this.dateWalk(rt, window, progress))) {
        for (const obj of objects) if (this.admit(obj, window)) yield this.toSource(obj)
      }
    }
  }

  /** Every key under a prefix, paged (no delimiter). */
  private async listAll(prefix: string, progress?: SourceProgress): Promise<ListedObject[]> {
    const out: ListedObject[] = []
    let token: string | undefined
    do {
      const page = await this.o.page({prefix, continuationToken: token}, progress)
      out.push(...page.objects)
      token = page.nextToken
    } while (token)
    return out
  }

  /** One folder level (delimiter '/'), all pages. */
  private async listLevel(prefix: string, progress?: SourceProgress): Promise<{objects: ListedObject[]; prefixes: string[]}> {
    const objects: ListedObject[] = []
    const prefixes: string[] = []
    let token: string | undefined
    do {
      const page = await this.o.page({prefix, delimiter: '/', continuationToken: token}, progress)
      objects.push(...page.objects)
      prefixes.push(...page.prefixes)
      token = page.nextToken
    } while (token)
    return {objects, prefixes}
  }

  /** An empty delimiter listing under a prefix that does hold keys: the server leaves out folder-only folders. */
  private async delimiterListingIncomplete(prefix: string, progress?: SourceProgress): Promise<boolean> {
    // No max-keys=1: a server with this bug may also fail on truncated listings (s3rver 3.7 on OpenSSL 3).
    const probe = await this.o.page({prefix}, progress)
    const incomplete = probe.objects.length > 0
    if (incomplete) this.o.stats.incompleteDelimiterListing = true
    return incomplete
  }

  /** Flat listing, page by page; with `learn`, the record-type prefixes seen refresh the cache. */
  private async *flat(prefix: string, window: TimeWindow, progress: SourceProgress | undefined, learn: boolean): AsyncGenerator<SourceObject> {
    const rts = new Set<string>()
    let cacheable = learn
    let token: string | undefined
    do {
      const page = await this.o.page({prefix, continuationToken: token}, progress)
      for (const obj of page.objects) {
        if (learn && cacheable) {
          const rel = this.relative(obj.key)
          if (rel.startsWith('ibm_vpc_flowlogs_v1/')) {
            const m = RECORD_TYPE_RE.exec(rel)
            if (m) rts.add(this.base + m[1])
            else cacheable = false
          }
        }
        if (this.admit(obj, window)) yield this.toSource(obj)
      }
      token = page.nextToken
    } while (token)
    if (learn && cacheable) {
      // Roots: the child of the prefix each record-type prefix lies under.
      const roots = new Set<string>()
      for (const rt of rts) {
        const end = rt.indexOf('/', this.o.prefix.length)
        roots.add(rt.slice(0, end + 1))
      }
      await this.saveCache({roots: [...roots].sort(), rts: [...rts].sort(), flat: [], loose: []})
    }
  }

  private cachePath(): string | undefined {
    if (!this.o.home) return undefined
    const id = createHash('sha256').update(`${this.o.endpoint}\n${this.o.bucket}\n${this.o.prefix}`).digest('hex').slice(0, 24)
    return join(this.o.home.cacheDir, 'cos-prefixes', `${id}.json`)
  }

  private async loadCache(): Promise<CacheFile | undefined> {
    const path = this.cachePath()
    if (!path || this.o.refreshCache) return undefined
    try {
      const c = await readJsonFile<CacheFile>(path)
      if (!c || c.version !== 1 || c.endpoint !== this.o.endpoint || c.bucket !== this.o.bucket || c.prefix !== this.o.prefix) return undefined
      const age = this.now() - c.savedAt
      if (!(age >= 0 && age <= (this.o.cacheTtlMs ?? 10 * 60_000))) return undefined
      if (!Array.isArray(c.roots) || !Array.isArray(c.rts) || !Array.isArray(c.flat) || !Array.isArray(c.loose)) return undefined
      return c
    } catch {
      return undefined
    }
  }

  private async saveCache(plan: {roots: string[]} & Plan): Promise<void> {
    const path = this.cachePath()
    if (!path) return
    const file: CacheFile = {
      version: 1,
      savedAt: this.now(),
      endpoint: this.o.endpoint,
      bucket: this.o.bucket,
      prefix: this.o.prefix,
      ...plan,
    }
    try {
      await writeJsonFile(path, file)
    } catch {
      // A cache that cannot be written only costs listings next time.
    }
  }

  /** Root listing, then the record-type prefixes (cached, or walked). */
  private async plan(progress?: SourceProgress): Promise<Plan> {
    const root = await this.listLevel(this.o.prefix, progress)
    const flowLogsSeen =
      root.prefixes.some((p) => this.classifyPrefix(p) !== 'foreign') ||
      root.objects.some((o) => this.relative(o.key).startsWith(FLOWLOG_KEY_PREFIX))
    if (!flowLogsSeen) {
      // Nothing for us at this level — or a server that leaves out folders holding only folders.
      const probe = this.o.prefix === this.base ? this.o.prefix + FLOWLOG_KEY_PREFIX : this.o.prefix
      if (await this.delimiterListingIncomplete(probe, progress)) return {rts: [], flat: [probe], loose: root.objects}
      return {rts: [], flat: [], loose: root.objects}
    }
    const plan: Plan = {rts: [], flat: [], loose: [...root.objects]}
    const roots: string[] = []
    for (const p of root.prefixes) {
      const kind = this.classifyPrefix(p)
      if (kind === 'rt') plan.rts.push(p)
      else if (kind === 'flat') plan.flat.push(p)
      else if (kind === 'descend') roots.push(p)
      // foreign folders are never listed
    }
    if (roots.length === 0) return plan

    const cached = this.o.home ? await this.loadCache() : undefined
    if (cached && sameSet(cached.roots, roots)) {
      this.o.stats.prefixCache = 'hit'
      plan.rts.push(...cached.rts)
      plan.flat.push(...cached.flat)
      plan.loose.push(...cached.loose)
      return plan
    }
    if (this.o.home) this.o.stats.prefixCache = 'miss'
    const walked = await this.walk(roots, progress)
    await this.saveCache({roots: [...roots].sort(), ...walked})
    plan.rts.push(...walked.rts)
    plan.flat.push(...walked.flat)
    plan.loose.push(...walked.loose)
    return plan
  }

  /** Breadth-first delimiter walk from the v1 roots down to the record-type prefixes. */
  private async walk(roots: string[], progress?: SourceProgress): Promise<Plan> {
    const out: Plan = {rts: [], flat: [], loose: []}
    let frontier = roots
    while (frontier.length > 0) {
      const results = await mapLimit(frontier, this.concurrency, async (prefix) => ({prefix, level: await this.listLevel(prefix, progress)}))
      const next: string[] = []
      for (const {prefix, level} of results) {
        if (level.objects.length === 0 && level.prefixes.length === 0) {
          if (await this.delimiterListingIncomplete(prefix, progress)) out.flat.push(prefix)
          continue
        }
        out.loose.push(...level.objects)
        for (const p of level.prefixes) {
          const kind = this.classifyPrefix(p)
          if (kind === 'rt') out.rts.push(p)
          else if (kind === 'descend') next.push(p)
          else if (kind === 'flat') out.flat.push(p)
        }
      }
      frontier = next
    }
    out.rts.sort()
    out.flat.sort()
    return out
  }

  /** For long or open windows: walk year/month/day/hour under one record-type prefix, pruning each level. */
  private async dateWalk(rt: string, window: TimeWindow, progress?: SourceProgress): Promise<ListedObject[]> {
    const lo = window.since === undefined ? -Infinity : floorHour(window.since - SLACK_MS)
    const hi = window.until ?? Infinity
    const overlaps = (start: number, end: number) => start < hi && end > lo
    const out: ListedObject[] = []
    const levels = ['year', 'month', 'day', 'hour'] as const
    const visit = async (prefix: string, depth: number, parts: number[]): Promise<void> => {
      if (depth === levels.length) {
        out.push(...(await this.listAll(prefix, progress)))
        return
      }
      const level = await this.listLevel(prefix, progress)
      if (level.objects.length === 0 && level.prefixes.length === 0) {
        if (await this.delimiterListingIncomplete(prefix, progress)) out.push(...(await this.listAll(prefix, progress)))
        return
      }
      out.push(...level.objects)
      const children: {prefix: string; parts: number[]}[] = []
      for (const p of level.prefixes) {
        const seg = p.slice(prefix.length, -1)
        const m = new RegExp(`^${levels[depth]}=(\\d+)$`).exec(seg)
        if (!m) {
          // An unexpected folder: list it all, admit() still prunes keys that parse.
          out.push(...(await this.listAll(p, progress)))
          continue
        }
        const v = Number(m[1])
        const [y, mo, d] = [...parts, v]
        let start: number
        let end: number
        if (depth === 0) [start, end] = [Date.UTC(v, 0, 1), Date.UTC(v + 1, 0, 1) + HOUR_MS]
        else if (depth === 1) [start, end] = [Date.UTC(y, v - 1, 1), Date.UTC(y, v, 1) + HOUR_MS]
        else if (depth === 2) [start, end] = [Date.UTC(y, mo - 1, v), Date.UTC(y, mo - 1, v + 1) + HOUR_MS]
        else [start, end] = [Date.UTC(y, mo - 1, d, v), Date.UTC(y, mo - 1, d, v) + HOUR_MS]
        if (depth === 3 ? !hourInWindow(start, window) : !overlaps(start, end)) continue
        children.push({prefix: p, parts: [...parts, v]})
      }
      await mapLimit(children, 4, (c) => visit(c.prefix, depth + 1, c.parts))
    }
    await visit(rt, 0, [])
    return out
  }
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false
  const s = new Set(a)
  return b.every((x) => s.has(x))
}
