/**
 * A tiny fake of the IAM token endpoint (docs/ibm-cloud-apis.md §1), strict like the real one:
 *   POST /identity/token, application/x-www-form-urlencoded,
 *   grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=KEY   → 200 {access_token: <decodable JWT>, …}
 *   grant_type=refresh_token&refresh_token=TOKEN                   → 200 (a new token)
 * Unknown API keys get 400 BXNIM0415E, like IAM. Other fakes (COS, …) check bearer tokens with `verify()`.
 * Listens on 127.0.0.1, port 0.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface IamRequestLog {
  method: string
  path: string
  grantType?: string
  status: number
}

export interface IamIdentity {
  accountId: string
  iamId: string
}

export interface StartIamOptions {
  /** Accepted API keys, each with the identity its tokens carry. A plain list gives a default identity. */
  apiKeys: string[] | Record<string, Partial<IamIdentity>>
  /** Token lifetime in seconds (default 3600). */
  tokenTtlSec?: number
  /** Clock (epoch ms), for expiry tests. */
  now?: () => number
}

export interface IssuedToken extends IamIdentity {
  token: string
  exp: number
}

export interface FakeIam {
  /** Base URL (no path): FLOWLOG_IAM_URL / IamAuthenticator url. */
  url: string
  /** Full token URL: ibm-cos-sdk's ibmAuthEndpoint. */
  tokenUrl: string
  requests: IamRequestLog[]
  /** The identity behind a bearer token it issued and that has not expired; undefined otherwise. */
  verify(token: string): IamIdentity | undefined
  /** Issue a token directly (for tests that need one without an HTTP round trip). */
  issue(apiKey: string): string
  /** Revoke every token issued so far (expired-token tests). */
  revokeAll(): void
  close(): Promise<void>
}

const DEFAULT_ACCOUNT = '713c783d9a507a53135fe6793c37cc74'

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text))})
  res.end(text)
}

function iamError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, {
    errorCode: code,
    errorMessage: message,
    context: {requestId: randomBytes(8).toString('hex')},
  })
}

export async function startIam(options: StartIamOptions): Promise<FakeIam> {
  const now = options.now ?? Date.now
  const ttl = options.tokenTtlSec ?? 3600
  const keys = new Map<string, IamIdentity>()
  if (Array.isArray(options.apiKeys)) {
    for (const k of options.apiKeys) keys.set(k, {accountId: DEFAULT_ACCOUNT, iamId: `iam-ServiceId-${hash(k)}`})
  } else {
    for (const [k, v] of Object.entries(options.apiKeys)) {
      keys.set(k, {accountId: v.accountId ?? DEFAULT_ACCOUNT, iamId: v.iamId ?? `iam-ServiceId-${hash(k)}`})
    }
  }
  const tokens = new Map<string, IssuedToken>()
  const refreshTokens = new Map<string, IamIdentity>()
  const requests: IamRequestLog[] = []

  const issueFor = (identity: IamIdentity): {access: string; refresh: string; exp: number; iat: number} => {
    const iat = Math.floor(now() / 1000)
    const exp = iat + ttl
    const header = b64url(JSON.stringify({kid: 'fake-iam', alg: 'RS256'}))
    const payload = b64url(
      JSON.stringify({
        iam_id: identity.iamId,
        id: identity.iamId,
        sub: identity.iamId,
        sub_type: 'ServiceId',
        account: {bss: identity.accountId, valid: true},
        iat,
        exp,
        iss: 'https://iam.cloud.ibm.com/identity',
        grant_type: 'urn:ibm:params:oauth:grant-type:apikey',
        scope: 'ibm openid',
        client_id: 'default',
        acr: 1,
        amr: ['pwd'],
        jti: randomBytes(8).toString('hex'),
      }),
    )
    const access = `${header}.${payload}.${b64url(randomBytes(32))}`
    const refresh = randomBytes(24).toString('hex')
    tokens.set(access, {token: access, exp, ...identity})
    refreshTokens.set(refresh, identity)
    return {access, refresh, exp, iat}
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const log: IamRequestLog = {method: req.method ?? '', path: url.pathname, status: 0}
      requests.push(log)
      const body = await readBody(req)
      const reply = (status: number, fn: () => void) => {
        log.status = status
        fn()
      }
      if (url.pathname !== '/identity/token') {
        return reply(404, () => iamError(res, 404, 'BXNIM0404E', `No route for ${url.pathname}`))
      }
      if (req.method !== 'POST') {
        return reply(405, () => iamError(res, 405, 'BXNIM0405E', 'Method not allowed'))
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
      if (type !== 'application/x-www-form-urlencoded') {
        return reply(400, () => iamError(res, 400, 'BXNIM0109E', 'Property missing or empty: grant_type'))
      }
      const form = new URLSearchParams(body.toString('utf8'))
      const grant = form.get('grant_type') ?? ''
      log.grantType = grant
      let identity: IamIdentity | undefined
      if (grant === 'urn:ibm:params:oauth:grant-type:apikey') {
        const apikey = form.get('apikey') ?? ''
        if (apikey === '') return reply(400, () => iamError(res, 400, 'BXNIM0109E', 'Property missing or empty: apikey'))
        identity = keys.get(apikey)
        if (!identity) return reply(400, () => iamError(res, 400, 'BXNIM0415E', 'Provided API key could not be found.'))
      } else if (grant === 'refresh_token') {
        identity = refreshTokens.get(form.get('refresh_token') ?? '')
        if (!identity) return reply(400, () => iamError(res, 400, 'BXNIM0407E', 'Refresh token is not valid.'))
      } else if (grant === '') {
        return reply(400, () => iamError(res, 400, 'BXNIM0109E', 'Property missing or empty: grant_type'))
      } else {
        return reply(400, () => iamError(res, 400, 'BXNIM0104E', `Grant type ${grant} is not supported.`))
      }
      const t = issueFor(identity)
      reply(200, () =>
        sendJson(res, 200, {
          access_token: t.access,
          refresh_token: t.refresh,
          ims_user_id: 123456,
          token_type: 'Bearer',
          expires_in: ttl,
          expiration: t.exp,
          scope: 'ibm openid',
        }),
      )
    })().catch((error: unknown) => {
      if (!res.headersSent) iamError(res, 500, 'BXNIM0500E', String(error))
      else res.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    tokenUrl: `${url}/identity/token`,
    requests,
    verify(token: string) {
      const t = tokens.get(token)
      if (!t || t.exp * 1000 <= now()) return undefined
      return {accountId: t.accountId, iamId: t.iamId}
    },
    issue(apiKey: string) {
      const identity = keys.get(apiKey)
      if (!identity) throw new Error('unknown API key')
      return issueFor(identity).access
    },
    revokeAll() {
      tokens.clear()
      refreshTokens.clear()
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12)
}
