/**
 * A strict fake of IBM Cloud Logs ingestion (docs/sinks.md §3), on 127.0.0.1 port 0.
 *
 *   POST /logs/v1/singles
 *   Authorization: Bearer <a token the fake IAM issued and that has not expired>   (else 401)
 *   Content-Type: application/json
 *   body: a non-empty JSON array of {applicationName, subsystemName, text (string or object), severity 1–6,
 *         timestamp?, computerName?, category?, className?, methodName?, threadId?, hiResTimestamp?}
 *   2 MB at most (413 beyond)
 *   → 200 {}
 *
 * The same fault schedules as the Log Analysis fake (no 207: Cloud Logs has no per-line status). Every accepted entry
 * is recorded.
 */
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {type CloudLogsApiFake, createCloudLogsApi} from './cloud-logs-api.js'
import {closeServer, describeFault, type FaultPlan, Faults, type IngestRequestLog, readLimited, sendJson, sleep} from './ingest-logdna.js'

export interface CloudLogsEntry {
  applicationName: string
  subsystemName: string
  text: string | Record<string, unknown>
  severity: number
  timestamp?: number
  category?: string
  computerName?: string
  arrival: number
}

export interface StartCloudLogsOptions extends FaultPlan {
  /** Whether a bearer token is valid (the fake IAM's `verify`). */
  verifyToken: (token: string) => boolean
  /** Body limit (default 2 MB). */
  maxBodyBytes?: number
  now?: () => number
  /** A base path the server lives under (e.g. `/cloudlogs`): requests outside it get 404. */
  prefix?: string
}

export interface FakeCloudLogs {
  /** Base URL (FLOWLOG_CLOUD_LOGS_URL): the client appends /logs/v1/singles. */
  url: string
  entries: CloudLogsEntry[]
  /** The management API on the same server (alerts, query over `entries`): test/servers/cloud-logs-api.ts. */
  api: CloudLogsApiFake
  requests: (IngestRequestLog & {token?: string})[]
  setFaults(plan: FaultPlan): void
  close(): Promise<void>
}

const ENTRY_KEYS = new Set([
  'applicationName',
  'subsystemName',
  'text',
  'severity',
  'timestamp',
  'computerName',
  'category',
  'className',
  'methodName',
  'threadId',
  'hiResTimestamp',
])

export async function startCloudLogs(options: StartCloudLogsOptions): Promise<FakeCloudLogs> {
  const limit = options.maxBodyBytes ?? 2 * 1024 * 1024
  const now = options.now ?? Date.now
  const faults = new Faults(options)
  const entries: CloudLogsEntry[] = []
  const requests: (IngestRequestLog & {token?: string})[] = []
  const prefix = (options.prefix ?? '').replace(/\/+$/, '')
  const api = createCloudLogsApi({verifyToken: options.verifyToken, entries: () => entries})

  const handle = async (req: IncomingMessage, res: ServerResponse, log: IngestRequestLog & {token?: string}): Promise<void> => {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      log.status = status
      if (!res.destroyed) sendJson(res, status, body, headers)
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    log.userAgent = req.headers['user-agent']
    if (prefix && !(url.pathname === prefix || url.pathname.startsWith(prefix + '/'))) {
      await readLimited(req, 0).catch(() => undefined)
      return reply(404, {errors: [{code: 'not_found', message: `no route ${url.pathname}`}]})
    }
    const path = url.pathname.slice(prefix.length)
    if (api.owns(path)) {
      const {body} = await readLimited(req, limit)
      const r = api.handle(req.method ?? 'GET', path, req.headers, body.toString('utf8'))
      log.status = r.status
      if (r.sse !== undefined) {
        res.writeHead(r.status, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'})
        res.end(r.sse)
      } else if (r.body === undefined) {
        res.writeHead(r.status, {'content-length': '0'})
        res.end()
      } else sendJson(res, r.status, r.body)
      return
    }
    if (path !== '/logs/v1/singles') {
      await readLimited(req, 0).catch(() => undefined)
      return reply(404, {errors: [{code: 'not_found', message: `no route ${url.pathname}`}]})
    }
    if (req.method !== 'POST') return reply(405, {errors: [{code: 'method_not_allowed', message: 'use POST'}]})
    const authz = req.headers.authorization ?? ''
    const m = /^Bearer\s+(\S+)$/i.exec(authz)
    if (!m || !options.verifyToken(m[1])) {
      await readLimited(req, 0).catch(() => undefined)
      return reply(401, {errors: [{code: 'not_authorized', message: 'a valid IAM bearer token is required'}]})
    }
    log.token = m[1]
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    if (type !== 'application/json') {
      await readLimited(req, 0).catch(() => undefined)
      return reply(415, {errors: [{code: 'unsupported_media_type', message: 'Content-Type must be application/json'}]})
    }
    const early = faults.next()
    if (early && 'drop' in early && early.drop === 'before-body') {
      log.fault = describeFault(early)
      req.socket.destroy()
      return
    }
    const {body, tooLarge, size} = await readLimited(req, limit)
    log.bytes = size
    if (tooLarge) return reply(413, {errors: [{code: 'payload_too_large', message: 'Request body too large (2 MB max)'}]})
    let doc: unknown
    try {
      doc = JSON.parse(body.toString('utf8'))
    } catch {
      return reply(400, {errors: [{code: 'bad_request', message: 'invalid JSON'}]})
    }
    if (!Array.isArray(doc)) return reply(400, {errors: [{code: 'bad_request', message: 'the body must be a JSON array of log entries'}]})
    if (doc.length === 0) return reply(400, {errors: [{code: 'bad_request', message: 'no log entries'}]})
    log.lines = doc.length
    for (let i = 0; i < doc.length; i++) {
      const e = doc[i] as Record<string, unknown>
      const bad = (why: string) => reply(400, {errors: [{code: 'bad_request', message: `[${i}]: ${why}`}]})
      if (typeof e !== 'object' || e === null || Array.isArray(e)) return bad('not an object')
      for (const k of Object.keys(e)) if (!ENTRY_KEYS.has(k)) return bad(`unknown field ${k}`)
      if (typeof e.applicationName !== 'string' || e.applicationName === '') return bad('applicationName is required')
      if (typeof e.subsystemName !== 'string' || e.subsystemName === '') return bad('subsystemName is required')
      if (typeof e.text !== 'string' && (typeof e.text !== 'object' || e.text === null || Array.isArray(e.text))) return bad('text must be a string or an object')
      if (!Number.isInteger(e.severity) || (e.severity as number) < 1 || (e.severity as number) > 6) return bad('severity must be 1 to 6')
      if (e.timestamp !== undefined && (typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp))) return bad('timestamp must be a number (UTC ms)')
      for (const k of ['computerName', 'category', 'className', 'methodName', 'threadId', 'hiResTimestamp']) {
        if (e[k] !== undefined && typeof e[k] !== 'string') return bad(`${k} must be a string`)
      }
    }
    const fault = faults.byContent ? faults.forRequest(doc as Record<string, unknown>[]) : early
    if (fault) log.fault = describeFault(fault)
    if (fault && 'drop' in fault) {
      req.socket.destroy()
      return
    }
    if (fault && 'status' in fault) {
      const headers: Record<string, string> = {}
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter)
      return reply(fault.status, fault.body ?? {errors: [{code: 'fault', message: `fault ${fault.status}`}]}, headers)
    }
    if (fault && 'partial' in fault) return reply(500, {errors: [{code: 'fake', message: 'Cloud Logs has no 207'}]})
    if (fault && 'delayMs' in fault) {
      await sleep(fault.delayMs)
      if (res.destroyed || req.socket.destroyed) {
        log.error = 'client went away'
        return
      }
    }
    const arrival = now()
    for (const e of doc as Record<string, unknown>[]) {
      entries.push({
        applicationName: e.applicationName as string,
        subsystemName: e.subsystemName as string,
        text: e.text as string | Record<string, unknown>,
        severity: e.severity as number,
        timestamp: e.timestamp as number | undefined,
        category: e.category as string | undefined,
        computerName: e.computerName as string | undefined,
        arrival,
      })
    }
    return reply(200, {})
  }

  const server = createServer((req, res) => {
    const log: IngestRequestLog & {token?: string} = {status: 0, lines: 0, bytes: 0}
    requests.push(log)
    handle(req, res, log).catch((error: unknown) => {
      log.error = String(error)
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, {errors: [{code: 'internal', message: 'internal error'}]})
      else res.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    entries,
    api,
    requests,
    setFaults: (plan) => faults.set(plan),
    close: () => closeServer(server),
  }
}
