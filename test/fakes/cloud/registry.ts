/**
 * Fake IBM Cloud Container Registry API v1: namespaces (`PUT /api/v1/namespaces/:name` → 201 created / 200 already
 * this account's / 409 taken by another account; `GET /api/v1/namespaces` → array of names; `DELETE` → 204). Every
 * call needs a bearer token and the `Account` header naming the token's account; names are 4–30 characters of
 * lowercase letters, digits, `-` and `_`, starting with a letter or digit.
 */
import {type Ctx, type Handler, bearer, makeService, route, sendEmpty, sendJson} from './http.js'
import type {FakeCloudState} from './state.js'

const NAME = /^[a-z0-9][-a-z0-9_]{3,29}$/

export function registryService(state: FakeCloudState): Handler {
  const fail = (ctx: Ctx, status: number, code: string, message: string) => sendJson(ctx.res, status, {code, message, request_id: 'fake'})
  const account = (ctx: Ctx): string | undefined => {
    const who = state.tokens.get(bearer(ctx.req) ?? '')
    const header = ctx.req.headers.account
    if (!header || header !== who?.accountId) {
      fail(ctx, 401, 'CRG0013E', 'The Account header is missing or does not match the token')
      return undefined
    }
    return header
  }
  return makeService('registry', state, [
    route('GET', '/api/v1/namespaces', (ctx) => {
      const acct = account(ctx)
      if (!acct) return
      sendJson(ctx.res, 200, [...state.namespaces.entries()].filter(([, a]) => a === acct).map(([n]) => n))
    }),
    route('PUT', '/api/v1/namespaces/:name', (ctx) => {
      const acct = account(ctx)
      if (!acct) return
      const name = ctx.params.name
      if (!NAME.test(name)) return fail(ctx, 400, 'CRG0020E', `namespace ${name} is not valid`)
      const owner = state.namespaces.get(name)
      if (owner && owner !== acct) return fail(ctx, 409, 'CRG0019E', `namespace ${name} is already in use by another account`)
      if (owner) return sendJson(ctx.res, 200, {namespace: name})
      state.namespaces.set(name, acct)
      sendJson(ctx.res, 201, {namespace: name})
    }),
    route('DELETE', '/api/v1/namespaces/:name', (ctx) => {
      const acct = account(ctx)
      if (!acct) return
      if (state.namespaces.get(ctx.params.name) !== acct) return fail(ctx, 404, 'CRG0010E', `namespace ${ctx.params.name} not found`)
      state.namespaces.delete(ctx.params.name)
      sendEmpty(ctx.res, 204)
    }),
  ])
}
