import {Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'

/**
 * One POST with a total time limit, over keep-alive agents. Network failures come back as NetworkError with the
 * system error code (ECONNRESET, ECONNREFUSED, ETIMEDOUT, …) so the caller can classify them.
 */
export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  text: string
}

export class NetworkError extends Error {
  readonly code: string
  constructor(message: string, code: string) {
    super(message)
    this.name = 'NetworkError'
    this.code = code
  }
}

export interface HttpClient {
  post(url: string, headers: Record<string, string>, body: Buffer, options: {timeoutMs: number; signal?: AbortSignal}): Promise<HttpResponse>
  close(): void
}

/** Largest response body kept (ingest answers are tiny; a 207 holds one status per line). */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024

export function createHttpClient(options: {maxSockets?: number} = {}): HttpClient {
  const agentOptions = {keepAlive: true, maxSockets: options.maxSockets ?? 8, keepAliveMsecs: 10_000}
  const http = new HttpAgent(agentOptions)
  const https = new HttpsAgent(agentOptions)
  return {
    post(url, headers, body, {timeoutMs, signal}) {
      return new Promise<HttpResponse>((resolve, reject) => {
        const u = new URL(url)
        const isHttps = u.protocol === 'https:'
        let settled = false
        const done = (fn: () => void) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          fn()
        }
        const req = (isHttps ? httpsRequest : httpRequest)(
          u,
          {
            method: 'POST',
            agent: isHttps ? https : http,
            headers: {...headers, 'content-length': String(body.length)},
          },
          (res) => {
            const chunks: Buffer[] = []
            let size = 0
            res.on('data', (c: Buffer) => {
              size += c.length
              if (size <= MAX_RESPONSE_BYTES) chunks.push(c)
            })
            res.on('end', () =>
              done(() => resolve({status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8')})),
            )
            res.on('error', (error: NodeJS.ErrnoException) =>
              done(() => reject(new NetworkError(`response interrupted: ${error.message}`, error.code ?? 'ECONNRESET'))),
            )
            res.on('aborted', () => done(() => reject(new NetworkError('response interrupted', 'ECONNRESET'))))
          },
        )
        const timer = setTimeout(() => {
          req.destroy(new NetworkError(`no answer within ${Math.round(timeoutMs / 1000)} s`, 'ETIMEDOUT'))
        }, timeoutMs)
        const onAbort = () => req.destroy(new NetworkError('aborted', 'ABORTED'))
        if (signal?.aborted) {
          done(() => reject(new NetworkError('aborted', 'ABORTED')))
          return
        }
        signal?.addEventListener('abort', onAbort, {once: true})
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (error instanceof NetworkError) return done(() => reject(error))
          done(() => reject(new NetworkError(error.message || String(error.code), error.code ?? 'ECONNRESET')))
        })
        req.end(body)
      })
    },
    close() {
      http.destroy()
      https.destroy()
    },
  }
}
