/**
 * A fake of the Log Analysis / Mezmo configuration API (docs/sinks.md §4.5), strict like the real one:
 *   GET|POST /v1/config/categories/<views|boards|screens>
 *   POST /v1/config/view, GET /v1/config/view[/<id>], PUT|DELETE /v1/config/view/<id>
 * Auth: the `servicekey` header (or Basic with the key as user). Bodies must be JSON with Content-Type
 * application/json. Views need `name`, at least one of query/hosts/apps/levels/tags, and categories that exist;
 * channels are checked field by field (operator, triggerlimit, triggerinterval, immediate/terminal rules, webhook url
 * and method). Errors have the API's shape {error, code: "BadRequest", status: "error", details?}.
 * Listens on 127.0.0.1, port 0.
 */
import {randomBytes} from 'node:crypto'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface ConfigRequestLog {
  method: string
  path: string
  status: number
  body?: unknown
}

export interface FakeView {
  viewID: string
  name: string
  query?: string
  hosts?: string[]
  apps?: string[]
  levels?: string[]
  tags?: string[]
  category: string[]
  channels: Record<string, unknown>[]
}

export interface FakeConfigApi {
  url: string
  requests: ConfigRequestLog[]
  views: Map<string, FakeView>
  categories: Map<string, {id: string; name: string; type: string}[]>
  close(): Promise<void>
}

const CATEGORY_TYPES = ['views', 'boards', 'screens']
const INTERVALS = ['30', '1m', '5m', '15m', '30m', '1h', '6h', '12h', '24h', '25h']
const METHODS = ['post', 'put', 'patch', 'get', 'delete']
const INTEGRATIONS = ['email', 'webhook', 'pagerduty', 'slack']
const VIEW_KEYS = ['name', 'query', 'hosts', 'apps', 'levels', 'tags', 'category', 'channels', 'presetid']

class BadRequest extends Error {
  constructor(
    message: string,
    readonly key?: string,
    readonly status = 400,
  ) {
    super(message)
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, {'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', 'content-length': String(Buffer.byteLength(text))})
  res.end(text)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

const isStringArray = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string')

function bool(v: unknown, key: string): boolean | undefined {
  if (v === undefined) return undefined
  if (v === true || v === 'true') return true
  if (v === false || v === 'false') return false
  throw new BadRequest(`"${key}" must be a boolean`, key)
}

function checkChannel(c: unknown, i: number): Record<string, unknown> {
  const at = (k: string) => `channels[${i}].${k}`
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw new BadRequest(`"channels[${i}]" must be an object`, `channels[${i}]`)
  const ch = c as Record<string, unknown>
  if (!INTEGRATIONS.includes(ch.integration as string)) throw new BadRequest(`"${at('integration')}" must be one of [${INTEGRATIONS.join(', ')}]`, at('integration'))
  if (ch.operator !== 'presence' && ch.operator !== 'absence') throw new BadRequest(`"${at('operator')}" must be one of [presence, absence]`, at('operator'))
  if (typeof ch.triggerlimit !== 'number' || !Number.isInteger(ch.triggerlimit) || ch.triggerlimit < 1) {
    throw new BadRequest(`"${at('triggerlimit')}" must be a positive integer`, at('triggerlimit'))
  }
  if (!INTERVALS.includes(String(ch.triggerinterval))) throw new BadRequest(`"${at('triggerinterval')}" must be one of [${INTERVALS.join(', ')}]`, at('triggerinterval'))
  const immediate = bool(ch.immediate, at('immediate'))
  const terminal = bool(ch.terminal, at('terminal'))
  if (ch.operator === 'absence') {
    if (immediate === true) throw new BadRequest(`"${at('immediate')}" must be false for absence alerts`, at('immediate'))
    if (terminal !== true) throw new BadRequest(`"${at('terminal')}" must be true for absence alerts`, at('terminal'))
  } else if (immediate !== true && terminal !== true) {
    throw new BadRequest('presence alerts need immediate or terminal set to true', at('immediate'))
  }
  if (ch.integration === 'webhook' || ch.integration === 'slack') {
    let ok = false
    try {
      const u = new URL(String(ch.url))
      ok = u.protocol === 'https:' || u.protocol === 'http:'
    } catch {
      ok = false
    }
    if (!ok) throw new BadRequest(`"${at('url')}" must be a valid uri`, at('url'))
  }
  if (ch.integration === 'webhook') {
    if (ch.method !== undefined && !METHODS.includes(String(ch.method))) throw new BadRequest(`"${at('method')}" must be one of [${METHODS.join(', ')}]`, at('method'))
    if (ch.headers !== undefined && (typeof ch.headers !== 'object' || ch.headers === null || Object.values(ch.headers).some((v) => typeof v !== 'string'))) {
      throw new BadRequest(`"${at('headers')}" must be an object of strings`, at('headers'))
    }
    if (ch.bodyTemplate !== undefined && (typeof ch.bodyTemplate !== 'object' || ch.bodyTemplate === null)) {
      throw new BadRequest(`"${at('bodyTemplate')}" must be an object`, at('bodyTemplate'))
    }
  }
  if (ch.integration === 'email' && (!isStringArray(ch.emails) || (ch.emails as string[]).length === 0)) throw new BadRequest(`"${at('emails')}" is required`, at('emails'))
  if (ch.integration === 'pagerduty' && typeof ch.key !== 'string') throw new BadRequest(`"${at('key')}" is required`, at('key'))
  return {...ch, alertid: randomBytes(5).toString('hex'), immediate, terminal}
}

export function checkView(body: unknown, categories: {name: string}[]): Omit<FakeView, 'viewID'> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('"value" must be an object', 'value')
  const v = body as Record<string, unknown>
  for (const k of Object.keys(v)) if (!VIEW_KEYS.includes(k)) throw new BadRequest(`"${k}" is not allowed`, k)
  if (typeof v.name !== 'string' || v.name.trim() === '') throw new BadRequest('"name" is required', 'name')
  if (!['query', 'hosts', 'apps', 'levels', 'tags'].some((k) => v[k] !== undefined)) {
    throw new BadRequest('"value" must contain at least one of [query, hosts, apps, levels, tags]', 'value')
  }
  if (v.query !== undefined && typeof v.query !== 'string') throw new BadRequest('"query" must be a string', 'query')
  for (const k of ['hosts', 'apps', 'levels', 'tags']) if (v[k] !== undefined && !isStringArray(v[k])) throw new BadRequest(`"${k}" must be an array of strings`, k)
  if (!Array.isArray(v.category) || v.category.length === 0) throw new BadRequest('"category" is required', 'category')
  ;(v.category as unknown[]).forEach((c, i) => {
    if (typeof c !== 'string' || c === '') throw new BadRequest(`"category[${i}]" is not allowed to be empty`, `category[${i}]`)
  })
  const unknown = (v.category as string[]).filter((c) => !categories.some((x) => x.name === c))
  if (unknown.length) throw new BadRequest(`Invalid category name(s): ${unknown.join(', ')}`)
  if (v.channels !== undefined && !Array.isArray(v.channels)) throw new BadRequest('"channels" must be an array', 'channels')
  const channels = ((v.channels as unknown[]) ?? []).map(checkChannel)
  return {
    name: v.name,
    query: v.query as string | undefined,
    hosts: v.hosts as string[] | undefined,
    apps: v.apps as string[] | undefined,
    levels: v.levels as string[] | undefined,
    tags: v.tags as string[] | undefined,
    category: v.category as string[],
    channels,
  }
}

export async function startConfigApi(options: {serviceKeys: string[]}): Promise<FakeConfigApi> {
  const requests: ConfigRequestLog[] = []
  const views = new Map<string, FakeView>()
  const categories = new Map<string, {id: string; name: string; type: string}[]>(CATEGORY_TYPES.map((t) => [t, []]))

  const authorised = (req: IncomingMessage): boolean => {
    const key = req.headers.servicekey
    if (typeof key === 'string') return options.serviceKeys.includes(key)
    const auth = req.headers.authorization
    if (auth?.startsWith('Basic ')) {
      const user = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0]
      return options.serviceKeys.includes(user)
    }
    return false
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    const path = url.pathname
    let parsed: unknown
    const log = (status: number) => requests.push({method, path, status, body: parsed})
    const fail = (status: number, error: string, key?: string) => {
      log(status)
      send(res, status, {error, code: status === 401 ? 'Unauthorized' : status === 404 ? 'NotFound' : 'BadRequest', status: 'error', ...(key ? {details: [{message: error, key}]} : {})})
    }
    try {
      const text = await readBody(req)
      if (!authorised(req)) return fail(401, 'Unauthorized: missing or invalid servicekey')
      if (method === 'POST' || method === 'PUT') {
        if (!String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return fail(400, 'Content-Type must be application/json')
        try {
          parsed = JSON.parse(text)
        } catch {
          return fail(400, 'Invalid JSON body')
        }
      }
      let m = /^\/v1\/config\/categories\/([^/]+)$/.exec(path)
      if (m) {
        const list = categories.get(m[1])
        if (!list) return fail(400, `"type" must be one of [${CATEGORY_TYPES.join(', ')}]`, 'type')
        if (method === 'GET') {
          log(200)
          return send(res, 200, list)
        }
        if (method === 'POST') {
          const name = (parsed as {name?: unknown})?.name
          if (typeof name !== 'string' || name.trim() === '') return fail(400, '"name" is required', 'name')
          if (list.some((c) => c.name === name)) return fail(400, `Category ${name} already exists`)
          const cat = {id: randomBytes(5).toString('hex'), name, type: m[1]}
          list.push(cat)
          log(200)
          return send(res, 200, cat)
        }
        return fail(405, 'Method not allowed')
      }
      if (path === '/v1/config/view') {
        if (method === 'GET') {
          log(200)
          return send(res, 200, [...views.values()])
        }
        if (method === 'POST') {
          const view = {viewID: randomBytes(5).toString('hex'), ...checkView(parsed, categories.get('views')!)}
          views.set(view.viewID, view)
          log(200)
          return send(res, 200, view)
        }
        return fail(405, 'Method not allowed')
      }
      m = /^\/v1\/config\/view\/([^/]+)$/.exec(path)
      if (m) {
        const id = decodeURIComponent(m[1])
        const existing = views.get(id)
        if (method === 'GET') {
          if (!existing) return fail(404, 'Not found')
          log(200)
          return send(res, 200, existing)
        }
        if (method === 'PUT') {
          if (!existing) return fail(400, 'Nothing to configure')
          const view = {viewID: id, ...checkView(parsed, categories.get('views')!)}
          views.set(id, view)
          log(200)
          return send(res, 200, view)
        }
        if (method === 'DELETE') {
          if (!existing) return fail(404, 'Not found')
          views.delete(id)
          log(200)
          return send(res, 200, {deleted: true})
        }
        return fail(405, 'Method not allowed')
      }
      return fail(404, `Cannot ${method} ${path}`)
    } catch (error) {
      if (error instanceof BadRequest) return fail(error.status, error.message, error.key)
      return fail(500, (error as Error).message)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    views,
    categories,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
