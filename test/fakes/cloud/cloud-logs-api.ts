/**
 * The Cloud Logs management API (alerts, Lucene queries over the lines the ingestion endpoint received) on the fake
 * IBM Cloud's Cloud Logs server: test/servers/cloud-logs-api.ts, fed from `state.ingested`. Paths under any base
 * path (`/cloudlogs/v1/query`) are served; everything else goes to the ingestion handler.
 */
import {createCloudLogsApi, type StoredCloudLogsEntry} from '../../servers/cloud-logs-api.js'
import {type Handler, readBody, sendJson} from './http.js'
import type {FakeCloudState} from './state.js'

export function withCloudLogsApi(ingest: Handler, state: FakeCloudState): Handler {
  const api = createCloudLogsApi({
    verifyToken: (t) => state.tokens.has(t),
    entries: () =>
      state.ingested
        .filter((b) => b.kind === 'cloud-logs' && Array.isArray(b.body))
        .flatMap((b) => (b.body as StoredCloudLogsEntry[]).map((e) => ({...e, arrival: b.receivedAt}))),
  })
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const m = /^(.*?)(\/v1\/(?:alerts(?:\/[^/]+)?|query))$/.exec(url.pathname)
    if (!m || !api.owns(m[2])) return ingest(req, res)
    const method = (req.method ?? 'GET').toUpperCase()
    state.log.push({service: 'cloudlogs', method, path: url.pathname, query: url.search})
    const body = (await readBody(req)).toString('utf8')
    const r = api.handle(method, m[2], req.headers, body)
    if (r.sse !== undefined) {
      res.writeHead(r.status, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'})
      res.end(r.sse)
    } else if (r.body === undefined) {
      res.writeHead(r.status, {'content-length': '0'})
      res.end()
    } else sendJson(res, r.status, r.body)
  }
}
