/**
 * A strict fake of the Log Analysis / Mezmo ingestion API (docs/sinks.md §2), on 127.0.0.1 port 0.
 *
 *   POST /logs/ingest?hostname=<h>&now=<ms>[&tags=a,b][&mac=…][&ip=…]
 *   auth: exactly one of the `apikey` header, HTTP Basic (user = key, empty password) or ?apikey=
 *   body: {"lines":[{line, timestamp?, app?, level?, env?, meta?, file?}, …]}  (10 MB at most → 400 "too large")
 *   → 200 {"status":"ok","batchID":"…"}
 *
 * Fault schedules (429 with Retry-After, 503, dropped connections, slow answers, 207 partial success, 401, …) apply, in
 * order, to requests that passed the authentication and query-parameter checks — or, with `byRequest`, by what each
 * request carries, whatever the order requests arrive in. Every accepted line is recorded, so tests can assert exactly-once
 * delivery; lines of a request that got a fault, or whose client went away, are not recorded.
 */
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {isIP} from 'node:net'
import type {AddressInfo} from 'node:net'

export type IngestFault =
  /** Answer this status (429/5xx/4xx) with an optional Retry-After and body; nothing is recorded. */
  | {status: number; retryAfter?: number | string; body?: unknown}
  /** Close the connection without an answer (before or after reading the body); nothing is recorded. */
  | {drop: 'before-body' | 'after-body'}
  /** Wait, then handle the request normally (not recorded if the client gave up meanwhile). */
  | {delayMs: number}
  /** 207: one status per line; only lines with a 2xx status are recorded. */
  | {partial: (index: number, entry: Record<string, unknown>) => number}

export interface IngestRequestLog {
  status: number
  lines: number
  bytes: number
  fault?: string
  auth?: 'apikey' | 'basic' | 'query' | 'none' | 'several'
  hostname?: string
  now?: number
  tags?: string[]
  userAgent?: string
  error?: string
}

export interface AcceptedLine {
  line: string
  timestamp?: number
  app?: string
  level?: string
  env?: string
  meta?: Record<string, unknown>
  hostname: string
  tags: string[]
  /** Arrival time (server clock). */
  arrival: number
  /** The time the service shows: the line's timestamp, or the arrival time when it is more than 24 h off or absent. */
  shownTime: number
  /** The line was longer than 16 KB and was truncated. */
  truncated: boolean
}

/** A fault a `byRequest` schedule can give: any but a drop before the body (it decides once the body is read). */
export type ContentFault = Exclude<IngestFault, {drop: 'before-body'}>

/** What a `byRequest` schedule decides on: the request's own content, never its place in the arrival order. */
export interface FaultRequest {
  /** The request's lines (the parsed body's `lines`). */
  lines: Record<string, unknown>[]
  /**
   * How many earlier requests carried one of these lines (the most for any one of them): 0 for a batch's first send,
   * 1 for its first retry (or the resend of a 207's failed lines), and so on.
   */
  attempt: number
}

export interface FaultPlan {
  /** Faults for the 1st, 2nd, … valid request (undefined entries: normal). */
  faults?: (IngestFault | undefined)[]
  /** Or decided per valid request (0-based count), after the list is used up. */
  fault?: (n: number) => IngestFault | undefined
  /**
   * Or decided by each request's content once its body is read (so never a "before-body" drop), instead of the
   * two above: the same requests get the same faults however many are in flight and in whatever order they arrive.
   */
  byRequest?: (request: FaultRequest) => ContentFault | undefined
}

export interface StartLogdnaOptions extends FaultPlan {
  /** Accepted ingestion keys. */
  ingestionKeys: string[]
  /** Request body limit (default 10 MB). */
  maxBodyBytes?: number
  /** What to keep of accepted lines: everything (default), only meta.record_id, or nothing but the count. */
  record?: 'full' | 'ids' | 'none'
  now?: () => number
}

export interface FakeLogdna {
  /** Base URL (FLOWLOG_LOGDNA_URL): the client appends /logs/ingest. */
  url: string
  lines: AcceptedLine[]
  /** meta.record_id of every accepted line, in arrival order (record: full or ids). */
  ids: string[]
  accepted: number
  requests: IngestRequestLog[]
  /** Replace the fault plan (e.g. to stop failing). */
  setFaults(plan: FaultPlan): void
  /** How many times each record_id was accepted. */
  counts(): Map<string, number>
  close(): Promise<void>
}

export const MAX_LINE_BYTES = 16 * 1024
export const DAY_MS = 86_400_000
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/
const MAC = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/
const LINE_KEYS = new Set(['line', 'timestamp', 'app', 'level', 'env', 'meta', 'file'])

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers})
  res.end(text)
}

/** Read a body up to `limit` bytes; beyond it the rest is drained and `tooLarge` is set. */
export function readLimited(req: IncomingMessage, limit: number): Promise<{body: Buffer; tooLarge: boolean; size: number}> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= limit) chunks.push(c)
    })
    req.on('end', () => resolve({body: size <= limit ? Buffer.concat(chunks) : Buffer.alloc(0), tooLarge: size > limit, size}))
    req.on('error', reject)
    req.on('aborted', () => reject(new Error('client aborted')))
  })
}

/** The fault engine shared by the ingest fakes. */
export class Faults {
  private plan: FaultPlan
  private n = 0
  /** How many requests carried each line (its JSON text), for `byRequest`. */
  private readonly carried = new Map<string, number>()
  constructor(plan: FaultPlan) {
    this.plan = plan
  }
  set(plan: FaultPlan): void {
    this.plan = plan
    this.n = 0
    this.carried.clear()
  }
  /** The plan decides by request content (`byRequest`): `next` gives nothing, `forRequest` decides. */
  get byContent(): boolean {
    return this.plan.byRequest !== undefined
  }
  /** The fault of the next valid request, by arrival order (undefined with a `byRequest` plan). */
  next(): IngestFault | undefined {
    if (this.plan.byRequest) return undefined
    const i = this.n++
    const list = this.plan.faults ?? []
    if (i < list.length) return list[i]
    return this.plan.fault?.(i - list.length)
  }
  /** The fault of a request with these lines, by its content (`byRequest` plans only). */
  forRequest(lines: Record<string, unknown>[]): IngestFault | undefined {
    const decide = this.plan.byRequest
    if (!decide) return undefined
    const texts = lines.map((l) => JSON.stringify(l))
    let attempt = 0
    for (const t of texts) attempt = Math.max(attempt, this.carried.get(t) ?? 0)
    for (const t of texts) this.carried.set(t, (this.carried.get(t) ?? 0) + 1)
    return decide({lines, attempt})
  }
}

export function describeFault(f: IngestFault): string {
  if ('status' in f) return `status ${f.status}`
  if ('drop' in f) return `drop ${f.drop}`
  if ('delayMs' in f) return `delay ${f.delayMs}`
  return 'partial'
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Close a server and every connection it holds. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

export async function startLogdna(options: StartLogdnaOptions): Promise<FakeLogdna> {
  const keys = new Set(options.ingestionKeys)
  const limit = options.maxBodyBytes ?? 10 * 1024 * 1024
  const recordMode = options.record ?? 'full'
  const now = options.now ?? Date.now
  const faults = new Faults(options)
  const lines: AcceptedLine[] = []
  const ids: string[] = []
  const requests: IngestRequestLog[] = []
  let accepted = 0

  const record = (entry: Record<string, unknown>, hostname: string, tags: string[], arrival: number) => {
    accepted++
    const meta = entry.meta as Record<string, unknown> | undefined
    if (recordMode === 'none') return
    if (typeof meta?.record_id === 'string') ids.push(meta.record_id)
    if (recordMode !== 'full') return
    let line = entry.line as string
    let truncated = false
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
      line = Buffer.from(line).subarray(0, MAX_LINE_BYTES).toString('utf8')
      truncated = true
    }
    const ts = entry.timestamp as number | undefined
    lines.push({
      line,
      timestamp: ts,
      app: entry.app as string | undefined,
      level: entry.level as string | undefined,
      env: entry.env as string | undefined,
      meta,
      hostname,
      tags,
      arrival,
      shownTime: ts !== undefined && Math.abs(ts - arrival) <= DAY_MS ? ts : arrival,
      truncated,
    })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, log: IngestRequestLog): Promise<void> => {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      log.status = status
      if (!res.destroyed) sendJson(res, status, body, headers)
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    log.userAgent = req.headers['user-agent']
    if (url.pathname !== '/logs/ingest') {
      await readLimited(req, 0).catch(() => undefined)
      return reply(404, {status: 'not ok', error: `Cannot ${req.method} ${url.pathname}`})
    }
    if (req.method !== 'POST') return reply(405, {status: 'not ok', error: 'Method Not Allowed'})

    // Authentication: exactly one method.
    const methods: {kind: 'apikey' | 'basic' | 'query'; key: string}[] = []
    const apikeyHeader = req.headers.apikey
    if (typeof apikeyHeader === 'string') methods.push({kind: 'apikey', key: apikeyHeader})
    const authz = req.headers.authorization
    if (typeof authz === 'string' && /^basic /i.test(authz)) {
      const decoded = Buffer.from(authz.slice(6).trim(), 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      const user = colon === -1 ? decoded : decoded.slice(0, colon)
      const password = colon === -1 ? '' : decoded.slice(colon + 1)
      methods.push({kind: 'basic', key: password === '' ? user : `${user}:${password}`})
    }
    const queryKey = url.searchParams.get('apikey')
    if (queryKey !== null) methods.push({kind: 'query', key: queryKey})
    log.auth = methods.length === 0 ? 'none' : methods.length > 1 ? 'several' : methods[0].kind
    if (methods.length === 0) return reply(401, {status: 'not ok', error: 'Missing Credentials'})
    if (methods.length > 1) return reply(400, {status: 'not ok', error: 'Use one authentication method, not several'})
    if (!keys.has(methods[0].key)) return reply(401, {status: 'not ok', error: 'Invalid Credentials'})

    // Query parameters.
    const hostname = url.searchParams.get('hostname')
    log.hostname = hostname ?? undefined
    if (hostname === null || hostname === '') return reply(400, {status: 'not ok', error: 'hostname is required'})
    if (hostname.length > 256 || !HOSTNAME.test(hostname)) return reply(400, {status: 'not ok', error: 'hostname is not a valid host name'})
    const nowParam = url.searchParams.get('now')
    if (nowParam !== null) {
      if (!/^\d{10,16}$/.test(nowParam)) return reply(400, {status: 'not ok', error: 'now must be epoch milliseconds'})
      log.now = Number(nowParam)
    }
    const mac = url.searchParams.get('mac')
    if (mac !== null && !MAC.test(mac)) return reply(400, {status: 'not ok', error: 'mac is not a MAC address'})
    const ip = url.searchParams.get('ip')
    if (ip !== null && isIP(ip) === 0) return reply(400, {status: 'not ok', error: 'ip is not an IP address'})
    const tagsParam = url.searchParams.get('tags')
    const tags = tagsParam === null || tagsParam === '' ? [] : tagsParam.split(',')
    log.tags = tags
    if (tags.some((t) => t.length > 80)) return reply(400, {status: 'not ok', error: 'a tag is longer than 80 characters'})

    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    if (type !== 'application/json') {
      await readLimited(req, 0).catch(() => undefined)
      return reply(415, {status: 'not ok', error: 'Content-Type must be application/json'})
    }

    // The fault for this request is taken here (a "before-body" drop resets the connection while the client writes).
    const early = faults.next()
    if (early && 'drop' in early && early.drop === 'before-body') {
      log.fault = describeFault(early)
      req.socket.destroy()
      return
    }

    const {body, tooLarge, size} = await readLimited(req, limit)
    log.bytes = size
    if (tooLarge) return reply(400, {status: 'not ok', errors: ['Message size too large']})
    let doc: unknown
    try {
      doc = JSON.parse(body.toString('utf8'))
    } catch {
      return reply(400, {status: 'not ok', errors: ['Invalid JSON body']})
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return reply(400, {status: 'not ok', errors: ['body must be an object']})
    const d = doc as Record<string, unknown>
    if ('e' in d || 'ls' in d) return reply(400, {status: 'not ok', errors: ['the legacy {"e":"ls"} body is not accepted here; send {"lines":[…]}']})
    if (!Array.isArray(d.lines)) return reply(400, {status: 'not ok', errors: ['lines must be an array']})
    if (d.lines.length === 0) return reply(400, {status: 'not ok', errors: ['lines is empty']})
    log.lines = d.lines.length
    for (let i = 0; i < d.lines.length; i++) {
      const e = d.lines[i] as Record<string, unknown>
      const bad = (why: string) => reply(400, {status: 'not ok', errors: [`lines[${i}]: ${why}`]})
      if (typeof e !== 'object' || e === null || Array.isArray(e)) return bad('not an object')
      for (const k of Object.keys(e)) if (!LINE_KEYS.has(k)) return bad(`unknown property ${k}`)
      if (typeof e.line !== 'string') return bad('line is required and must be a string')
      if (e.timestamp !== undefined && (typeof e.timestamp !== 'number' || !Number.isInteger(e.timestamp) || e.timestamp < 0)) return bad('timestamp must be epoch milliseconds')
      if (e.app !== undefined && (typeof e.app !== 'string' || e.app.length > 512)) return bad('app must be a string of at most 512 characters')
      if (e.level !== undefined && (typeof e.level !== 'string' || e.level.length > 80)) return bad('level must be a string of at most 80 characters')
      if (e.env !== undefined && typeof e.env !== 'string') return bad('env must be a string')
      if (e.meta !== undefined) {
        if (typeof e.meta !== 'object' || e.meta === null || Array.isArray(e.meta)) return bad('meta must be an object')
        // Small string-only metas (the usual {record_id}) cannot reach 32 KB; measure the others.
        const m = e.meta as Record<string, unknown>
        let size = 0
        for (const k in m) size += typeof m[k] === 'string' ? k.length + (m[k] as string).length * 3 + 6 : 32 * 1024
        if (size > 32 * 1024 && Buffer.byteLength(JSON.stringify(m)) > 32 * 1024) return bad('meta is larger than 32 KB')
      }
    }

    const fault = faults.byContent ? faults.forRequest(d.lines as Record<string, unknown>[]) : early
    if (fault) log.fault = describeFault(fault)
    if (fault && 'drop' in fault) {
      log.status = 0
      req.socket.destroy()
      return
    }
    if (fault && 'status' in fault) {
      const headers: Record<string, string> = {}
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter)
      return reply(fault.status, fault.body ?? {status: 'not ok', error: `fault ${fault.status}`}, headers)
    }
    if (fault && 'delayMs' in fault) {
      await sleep(fault.delayMs)
      if (res.destroyed || req.socket.destroyed) {
        log.status = 0
        log.error = 'client went away'
        return
      }
    }
    const arrival = now()
    const entries = d.lines as Record<string, unknown>[]
    if (fault && 'partial' in fault) {
      const statuses = entries.map((e, i) => fault.partial(i, e))
      entries.forEach((e, i) => {
        if (statuses[i] >= 200 && statuses[i] < 300) record(e, hostname, tags, arrival)
      })
      return reply(207, {status: statuses})
    }
    for (const e of entries) record(e, hostname, tags, arrival)
    return reply(200, {status: 'ok', batchID: randomUUID()})
  }

  const server = createServer((req, res) => {
    const log: IngestRequestLog = {status: 0, lines: 0, bytes: 0}
    requests.push(log)
    handle(req, res, log).catch((error: unknown) => {
      log.error = String(error)
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, {status: 'not ok', error: 'internal error'})
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    lines,
    ids,
    get accepted() {
      return accepted
    },
    requests,
    setFaults: (plan) => faults.set(plan),
    counts() {
      const m = new Map<string, number>()
      for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1)
      return m
    },
    close: () => closeServer(server),
  }
}
