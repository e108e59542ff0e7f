/**
 * Fake IAM token service: POST /identity/token (API key and refresh-token grants), issuing decodable JWTs with
 * iat/exp and account.bss, `expiration` in epoch seconds, 400 BXNIM0415E for unknown keys.
 */
import {randomBytes} from 'node:crypto'

import {type Handler, makeService, route, sendJson} from './http.js'
import type {FakeCloudState} from './state.js'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

export function issueToken(state: FakeCloudState, who: {accountId: string; iamId: string}, lifetimeSeconds = 3600) {
  const iat = Math.floor(Date.now() / 1000)
  const exp = iat + lifetimeSeconds
  const payload = {
    iam_id: who.iamId,
    id: who.iamId,
    realmid: 'IBMid',
    jti: randomBytes(8).toString('hex'),
    identifier: who.iamId,
    sub: 'flowlog-fake@example.com',
    sub_type: 'APIKey',
    account: {valid: true, bss: who.accountId, frozen: false},
    iat,
    exp,
    iss: 'https://iam.cloud.ibm.com/identity',
    grant_type: 'urn:ibm:params:oauth:grant-type:apikey',
    scope: 'ibm openid',
    client_id: 'default',
  }
  const token = `${b64({kid: 'fake-1', alg: 'RS256'})}.${b64(payload)}.${randomBytes(32).toString('base64url')}`
  state.tokens.set(token, {...who, exp})
  const refresh = randomBytes(24).toString('base64url')
  state.refreshTokens.set(refresh, token)
  return {
    access_token: token,
    refresh_token: refresh,
    token_type: 'Bearer',
    expires_in: lifetimeSeconds,
    expiration: exp,
    scope: 'ibm openid',
    ims_user_id: 1234567,
  }
}

export function iamService(state: FakeCloudState): Handler {
  return makeService(
    'iam',
    state,
    [
      route('POST', '/identity/token', (ctx) => {
        const type = String(ctx.req.headers['content-type'] ?? '')
        if (!type.startsWith('application/x-www-form-urlencoded')) {
          sendJson(ctx.res, 400, {
            errorCode: 'BXNIM0109E',
            errorMessage: 'Property missing or empty. Property: grant_type',
            context: {requestId: 'fake'},
          })
          return
        }
        const form = new URLSearchParams(ctx.body.toString('utf8'))
        const grant = form.get('grant_type')
        if (grant === 'urn:ibm:params:oauth:grant-type:apikey') {
          const key = form.get('apikey') ?? ''
          const who = state.apiKeys.get(key)
          if (!who) {
            sendJson(ctx.res, 400, {
              errorCode: 'BXNIM0415E',
              errorMessage: 'Provided API key could not be found.',
              errorDetails: 'The API key could not be found.',
              context: {requestId: 'fake'},
            })
            return
          }
          sendJson(ctx.res, 200, issueToken(state, who))
          return
        }
        if (grant === 'refresh_token') {
          const old = state.refreshTokens.get(form.get('refresh_token') ?? '')
          const who = old ? state.tokens.get(old) : undefined
          if (!who) {
            sendJson(ctx.res, 400, {errorCode: 'BXNIM0407E', errorMessage: 'Provided refresh token is invalid.', context: {requestId: 'fake'}})
            return
          }
          sendJson(ctx.res, 200, issueToken(state, {accountId: who.accountId, iamId: who.iamId}))
          return
        }
        sendJson(ctx.res, 400, {errorCode: 'BXNIM0103E', errorMessage: `Unsupported grant type: ${grant}`, context: {requestId: 'fake'}})
      }),
    ],
    {requireAuth: false},
  )
}
