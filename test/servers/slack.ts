/**
 * A fake Slack Incoming Webhook, strict like Slack: `POST /services/T…/B…/<secret>` with a JSON body holding a
 * non-empty `text` (or `blocks`) → `200 ok`. Unknown webhook paths → 404 `no_service`; a body that is not JSON →
 * 400 `invalid_payload`; no text → 400 `no_text`; a non-JSON content type → 400 `invalid_payload`.
 * `failNext` queues statuses to answer instead (429 comes with `Retry-After: 0`). Listens on 127.0.0.1, port 0.
 */
import {createServer, type IncomingMessage} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface SlackPost {
  path: string
  body: {text?: string; blocks?: unknown[]; [k: string]: unknown}
}

export interface FakeSlack {
  /** The webhook URL to give the CLI. */
  webhookUrl: string
  /** Base URL (a webhook path must be appended). */
  url: string
  posts: SlackPost[]
  /** Every request, including refused ones, with the status answered. */
  requests: {path: string; status: number}[]
  failNext(...statuses: number[]): void
  /** Resolves when `n` messages have been accepted. */
  waitForPosts(n: number): Promise<SlackPost[]>
  close(): Promise<void>
}

const HOOK_PATH = '/services/T0FLOWLOG/B0WATCH01/abcdefghijklmnopqrstuvwx'

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export async function startSlack(): Promise<FakeSlack> {
  const posts: SlackPost[] = []
  const requests: {path: string; status: number}[] = []
  const failures: number[] = []
  const waiters: {n: number; resolve: (p: SlackPost[]) => void}[] = []
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const text = await readBody(req)
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      requests.push({path, status})
      res.writeHead(status, {'content-type': 'text/plain', ...headers})
      res.end(body)
    }
    if (req.method !== 'POST' || path !== HOOK_PATH) return answer(404, 'no_service')
    const forced = failures.shift()
    if (forced !== undefined) return answer(forced, forced === 429 ? 'rate_limited' : 'error', forced === 429 ? {'retry-after': '0'} : {})
    if (!String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return answer(400, 'invalid_payload')
    let body: SlackPost['body']
    try {
      body = JSON.parse(text)
    } catch {
      return answer(400, 'invalid_payload')
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return answer(400, 'invalid_payload')
    const hasText = typeof body.text === 'string' && body.text.trim() !== ''
    if (!hasText && !(Array.isArray(body.blocks) && body.blocks.length > 0)) return answer(400, 'no_text')
    posts.push({path, body})
    answer(200, 'ok')
    for (const w of [...waiters]) {
      if (posts.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve([...posts])
      }
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    webhookUrl: `${url}${HOOK_PATH}`,
    posts,
    requests,
    failNext: (...statuses) => failures.push(...statuses),
    waitForPosts: (n) => (posts.length >= n ? Promise.resolve([...posts]) : new Promise((resolve) => waiters.push({n, resolve}))),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}
