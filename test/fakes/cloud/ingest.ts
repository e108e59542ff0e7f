/**
 * Fake ingestion endpoints: Log Analysis / Mezmo `POST /logs/ingest` (ingestion key in the `apikey` header, Basic
 * user or `?apikey=`; `hostname` required; `{"lines":[…]}`) and IBM Cloud Logs `POST /logs/v1/singles` (IAM bearer;
 * a JSON array of entries). Received batches are kept in `state.ingested` (not part of /__state).
 */
import {type Handler, isObject, makeService, q, route, sendJson} from './http.js'
import type {FakeCloudState} from './state.js'

export function logdnaService(state: FakeCloudState): Handler {
  return makeService(
    'logdna',
    state,
    [
      route('POST', '/logs/ingest', (ctx) => {
        const headerKey = ctx.req.headers.apikey
        const basic = /^Basic\s+(.+)$/i.exec(String(ctx.req.headers.authorization ?? ''))
        const basicKey = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0] : undefined
        const queryKey = q(ctx, 'apikey')
        const given = [headerKey, basicKey, queryKey].filter((x) => x !== undefined)
        if (given.length !== 1 || !state.ingestionKeys.has(String(given[0]))) {
          sendJson(ctx.res, 401, {status: 'not ok', error: 'Unauthorized: invalid or missing ingestion key', code: 'NotAuthorized'})
          return
        }
        const hostname = q(ctx, 'hostname')
        if (!hostname || hostname.length > 256) {
          sendJson(ctx.res, 400, {status: 'not ok', errors: ['hostname is required'], error: 'hostname is required'})
          return
        }
        const b = ctx.json
        if (!isObject(b) || !Array.isArray(b.lines) || !b.lines.every((l) => isObject(l) && typeof l.line === 'string')) {
          sendJson(ctx.res, 400, {status: 'not ok', errors: ['body must be {"lines":[{"line":…}]}'], error: 'bad body'})
          return
        }
        state.ingested.push({kind: 'logdna', receivedAt: Date.now(), query: Object.fromEntries(ctx.url.searchParams), body: b})
        sendJson(ctx.res, 200, {status: 'ok', batchID: state.uuid()})
      }),
    ],
    {requireAuth: false},
  )
}

export function cloudLogsService(state: FakeCloudState): Handler {
  return makeService('cloudlogs', state, [
    route('POST', '/logs/v1/singles', (ctx) => {
      const b = ctx.json
      const ok =
        Array.isArray(b) &&
        b.length > 0 &&
        b.every(
          (e) =>
            isObject(e) &&
            typeof e.applicationName === 'string' &&
            typeof e.subsystemName === 'string' &&
            e.text !== undefined &&
            (e.severity === undefined || (Number.isInteger(e.severity) && (e.severity as number) >= 1 && (e.severity as number) <= 6)),
        )
      if (!ok) {
        sendJson(ctx.res, 400, {errors: [{code: 'bad_request', message: 'body must be a non-empty array of {applicationName, subsystemName, text, severity 1-6}'}]})
        return
      }
      state.ingested.push({kind: 'cloud-logs', receivedAt: Date.now(), query: {}, body: b})
      sendJson(ctx.res, 200, {})
    }),
  ])
}
