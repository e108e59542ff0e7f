/**
 * Small HTTP helpers shared by the fake IBM Cloud services: body reading, JSON/XML replies, a tiny router and the
 * bearer-token check every service applies.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {FakeCloudState} from './state.js'

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

export interface Ctx {
  req: IncomingMessage
  res: ServerResponse
  method: string
  url: URL
  /** Path with the service's mount prefix removed. */
  path: string
  params: Record<string, string>
  body: Buffer
  /** Parsed JSON body (undefined when the body is empty or not JSON). */
  json: unknown
}

export type Route = {method: string; pattern: RegExp; keys: string[]; fn: (ctx: Ctx) => Promise<void> | void}

/** `/v2/resource_instances/:id` → a route. Params match one path segment (URL-decoded). */
export function route(method: string, path: string, fn: Route['fn']): Route {
  const keys: string[] = []
  const source = path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        keys.push(seg.slice(1))
        return '([^/]+)'
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    })
    .join('/')
  return {method, pattern: new RegExp(`^${source}/?$`), keys, fn}
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, {
    ...(text ? {'content-type': 'application/json'} : {}),
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, {'content-length': '0', ...headers})
  res.end()
}

export function sendXml(res: ServerResponse, status: number, xml: string, headers: Record<string, string> = {}): void {
  const text = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${xml}`
  res.writeHead(status, {'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(text)), ...headers})
  res.end(text)
}

/** The VPC / Code Engine / IAM policy error envelope. */
export function platformError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, {
    errors: [{code, message, more_info: 'https://cloud.ibm.com/docs', ...extra}],
    trace: cryptoTrace(),
    status_code: status,
  })
}

let traceCounter = 0
function cryptoTrace(): string {
  traceCounter += 1
  return `fake-trace-${traceCounter.toString(16).padStart(8, '0')}`
}

/**
 * Build a request handler from routes. `prefix` is stripped from the path first (e.g. `/api/v1` for the catalog).
 * Faults registered in the state are applied before routing; every route but `open` ones requires a bearer token
 * issued by the fake IAM.
 */
export function makeService(
  service: string,
  state: FakeCloudState,
  routes: Route[],
  options: {prefix?: string; requireAuth?: boolean; onUnauthorized?: (ctx: Ctx) => void; notFound?: (ctx: Ctx) => void} = {},
): Handler {
  const prefix = options.prefix ?? ''
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    let path = url.pathname
    const body = await readBody(req)
    const method = (req.method ?? 'GET').toUpperCase()
    state.log.push({service, method, path: url.pathname, query: url.search})
    const fault = state.takeFault(service, method, url.pathname + url.search)
    if (fault) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs))
      if (fault.status === 0) {
        req.socket.destroy()
        return
      }
      sendJson(res, fault.status, fault.body ?? {errors: [{code: 'injected_fault', message: `injected ${fault.status}`}], status_code: fault.status})
      return
    }
    if (prefix) {
      if (!path.startsWith(prefix)) {
        sendJson(res, 404, {errors: [{code: 'not_found', message: `no route ${method} ${path}`}], status_code: 404})
        return
      }
      path = path.slice(prefix.length) || '/'
    }
    let json: unknown
    if (body.length > 0) {
      try {
        json = JSON.parse(body.toString('utf8'))
      } catch {
        json = undefined
      }
    }
    const ctx: Ctx = {req, res, method, url, path, params: {}, body, json}
    if (options.requireAuth !== false) {
      const token = bearer(req)
      if (!token || !state.tokens.has(token)) {
        if (options.onUnauthorized) options.onUnauthorized(ctx)
        else sendJson(res, 401, {errors: [{code: 'not_authorized', message: 'The request is not authorized: missing or invalid bearer token'}], status_code: 401})
        return
      }
    }
    let pathMatched = false
    for (const r of routes) {
      const m = r.pattern.exec(path)
      if (!m) continue
      pathMatched = true
      if (r.method !== method) continue
      r.keys.forEach((k, i) => (ctx.params[k] = decodeURIComponent(m[i + 1])))
      try {
        await r.fn(ctx)
      } catch (error) {
        if (!res.headersSent) sendJson(res, 500, {errors: [{code: 'internal_error', message: String((error as Error)?.stack ?? error)}], status_code: 500})
      }
      return
    }
    if (options.notFound) return options.notFound(ctx)
    if (pathMatched) sendJson(res, 405, {errors: [{code: 'method_not_allowed', message: `${method} not allowed on ${path}`}], status_code: 405})
    else sendJson(res, 404, {errors: [{code: 'not_found', message: `no route ${method} ${path}`}], status_code: 404})
  }
}

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization
  if (!h) return undefined
  const m = /^Bearer\s+(.+)$/i.exec(h)
  return m ? m[1].trim() : undefined
}

export function q(ctx: Ctx, name: string): string | undefined {
  const v = ctx.url.searchParams.get(name)
  return v === null ? undefined : v
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
