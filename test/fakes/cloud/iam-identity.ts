/**
 * Fake IAM Identity (platform-services-node-sdk iam-identity/v1.ts): service IDs and their API keys.
 *
 *   POST   /v1/serviceids          {account_id, name, description?}            → 201 ServiceId
 *   GET    /v1/serviceids?account_id=&name=&pagesize=&pagetoken=             → {serviceids, offset, limit, next?}
 *   GET    /v1/serviceids/:id                                                 → ServiceId | 404
 *   DELETE /v1/serviceids/:id                                                 → 204 (its API keys go too)
 *   POST   /v1/apikeys             {name, iam_id, account_id?, description?, store_value?} → 201 ApiKey (with apikey)
 *   GET    /v1/apikeys?account_id=&iam_id=&scope=&pagesize=                   → {apikeys, …} (never the value)
 *   GET    /v1/apikeys/:id                                                    → ApiKey without the value
 *   DELETE /v1/apikeys/:id                                                    → 204
 *
 * Unknown body fields are rejected (400); a key created here can get an IAM token for the service ID's iam_id.
 */
import {randomBytes} from 'node:crypto'

import {type Ctx, type Handler, bearer, isObject, makeService, platformError, q, route, sendEmpty, sendJson} from './http.js'
import type {ApiKeyRecord, FakeCloudState, ServiceId} from './state.js'

const SERVICE_ID_FIELDS = new Set(['account_id', 'name', 'description', 'unique_instance_crns', 'apikey'])
const API_KEY_FIELDS = new Set(['name', 'iam_id', 'account_id', 'description', 'apikey', 'store_value', 'support_sessions', 'action_when_leaked', 'expires_at'])

export function iamIdentityService(state: FakeCloudState): Handler {
  const caller = (ctx: Ctx) => state.tokens.get(bearer(ctx.req) ?? '')
  const unknown = (b: Record<string, unknown>, allowed: Set<string>) => Object.keys(b).find((k) => !allowed.has(k))
  const keyJson = (k: ApiKeyRecord, withValue: boolean) => {
    const {apikey, ...rest} = k
    return {...rest, ...(withValue ? {apikey} : {}), history: []}
  }
  const sid = (s: ServiceId) => ({...s, history: []})

  return makeService('identity', state, [
    route('POST', '/v1/serviceids', (ctx) => {
      const b = ctx.json
      if (!isObject(b)) return platformError(ctx.res, 400, 'BXNIM0109E', 'The request body must be a JSON object')
      const bad = unknown(b, SERVICE_ID_FIELDS)
      if (bad) return platformError(ctx.res, 400, 'BXNIM0109E', `Unknown property: ${bad}`)
      if (typeof b.account_id !== 'string' || typeof b.name !== 'string' || b.name === '') {
        return platformError(ctx.res, 400, 'BXNIM0109E', 'Property missing or empty. Property: account_id, name')
      }
      if (b.account_id !== caller(ctx)?.accountId) return platformError(ctx.res, 403, 'BXNIM0513E', `not authorized for account ${b.account_id}`)
      const id = `ServiceId-${state.uuid()}`
      const now = state.now()
      const s: ServiceId = {
        id,
        iam_id: `iam-${id}`,
        account_id: b.account_id,
        name: b.name,
        ...(typeof b.description === 'string' ? {description: b.description} : {}),
        crn: `crn:v1:bluemix:public:iam-identity::a/${b.account_id}::serviceid:${id}`,
        entity_tag: '1-0',
        created_at: now,
        modified_at: now,
        locked: false,
      }
      state.serviceIds.set(id, s)
      sendJson(ctx.res, 201, sid(s), {etag: s.entity_tag})
    }),
    route('GET', '/v1/serviceids', (ctx) => {
      const acct = q(ctx, 'account_id')
      if (!acct) return platformError(ctx.res, 400, 'BXNIM0109E', 'Property missing or empty. Property: account_id')
      if (acct !== caller(ctx)?.accountId) return platformError(ctx.res, 403, 'BXNIM0513E', `not authorized for account ${acct}`)
      const name = q(ctx, 'name')
      const list = [...state.serviceIds.values()].filter((s) => s.account_id === acct && (name === undefined || s.name === name))
      sendJson(ctx.res, 200, {offset: 0, limit: Number(q(ctx, 'pagesize') ?? 20), serviceids: list.map(sid)})
    }),
    route('GET', '/v1/serviceids/:id', (ctx) => {
      const s = state.serviceIds.get(ctx.params.id)
      if (!s) return platformError(ctx.res, 404, 'BXNIM0102E', `Service ID ${ctx.params.id} not found`)
      sendJson(ctx.res, 200, sid(s), {etag: s.entity_tag})
    }),
    route('DELETE', '/v1/serviceids/:id', (ctx) => {
      const s = state.serviceIds.get(ctx.params.id)
      if (!s) return platformError(ctx.res, 404, 'BXNIM0102E', `Service ID ${ctx.params.id} not found`)
      state.serviceIds.delete(s.id)
      for (const [id, k] of state.identityKeys) {
        if (k.iam_id === s.iam_id) {
          state.identityKeys.delete(id)
          state.apiKeys.delete(k.apikey)
        }
      }
      sendEmpty(ctx.res, 204)
    }),
    route('POST', '/v1/apikeys', (ctx) => {
      const b = ctx.json
      if (!isObject(b)) return platformError(ctx.res, 400, 'BXNIM0109E', 'The request body must be a JSON object')
      const bad = unknown(b, API_KEY_FIELDS)
      if (bad) return platformError(ctx.res, 400, 'BXNIM0109E', `Unknown property: ${bad}`)
      if (typeof b.name !== 'string' || b.name === '' || typeof b.iam_id !== 'string') return platformError(ctx.res, 400, 'BXNIM0109E', 'Property missing or empty. Property: name, iam_id')
      const owner = [...state.serviceIds.values()].find((s) => s.iam_id === b.iam_id)
      if (!owner) return platformError(ctx.res, 404, 'BXNIM0102E', `iam_id ${b.iam_id} not found`)
      if (owner.account_id !== caller(ctx)?.accountId) return platformError(ctx.res, 403, 'BXNIM0513E', 'not authorized')
      const id = `ApiKey-${state.uuid()}`
      const now = state.now()
      const k: ApiKeyRecord = {
        id,
        iam_id: owner.iam_id,
        account_id: owner.account_id,
        name: b.name,
        ...(typeof b.description === 'string' ? {description: b.description} : {}),
        crn: `crn:v1:bluemix:public:iam-identity::a/${owner.account_id}::apikey:${id}`,
        entity_tag: '1-0',
        created_at: now,
        modified_at: now,
        locked: false,
        apikey: `fake-sid-${randomBytes(18).toString('base64url')}`,
      }
      state.identityKeys.set(id, k)
      state.apiKeys.set(k.apikey, {accountId: owner.account_id, iamId: owner.iam_id})
      sendJson(ctx.res, 201, keyJson(k, true), {etag: k.entity_tag})
    }),
    route('GET', '/v1/apikeys', (ctx) => {
      const acct = q(ctx, 'account_id') ?? caller(ctx)?.accountId
      if (acct !== caller(ctx)?.accountId) return platformError(ctx.res, 403, 'BXNIM0513E', `not authorized for account ${acct}`)
      const iamId = q(ctx, 'iam_id')
      const list = [...state.identityKeys.values()].filter((k) => k.account_id === acct && (iamId === undefined || k.iam_id === iamId))
      sendJson(ctx.res, 200, {offset: 0, limit: Number(q(ctx, 'pagesize') ?? 20), apikeys: list.map((k) => keyJson(k, false))})
    }),
    route('GET', '/v1/apikeys/:id', (ctx) => {
      const k = state.identityKeys.get(ctx.params.id)
      if (!k) return platformError(ctx.res, 404, 'BXNIM0102E', `API key ${ctx.params.id} not found`)
      sendJson(ctx.res, 200, keyJson(k, false), {etag: k.entity_tag})
    }),
    route('DELETE', '/v1/apikeys/:id', (ctx) => {
      const k = state.identityKeys.get(ctx.params.id)
      if (!k) return platformError(ctx.res, 404, 'BXNIM0102E', `API key ${ctx.params.id} not found`)
      state.identityKeys.delete(k.id)
      state.apiKeys.delete(k.apikey)
      sendEmpty(ctx.res, 204)
    }),
  ])
}
