/**
 * A strict fake of the IBM Cloud Logs management API, shaped from the published SDK (IBM/logs-go-sdk
 * `logsv0/logs_v0.go`: CreateAlertOptions, Alert, AlertCollection and their enums; `logsv0/logs_v0_dataprime.go`:
 * QueryOptions, ApisDataprimeV1Metadata, QueryResponseStreamItem). Served by test/servers/ingest-cloud-logs.ts and
 * by the fake IBM Cloud (`npm run fake-cloud`), next to the ingestion endpoint, so `forward` then `search --remote`
 * sees the lines it sent.
 *
 *   POST   /v1/alerts        CreateAlertOptions → 200 Alert (id, unique_identifier added); unknown fields, a wrong
 *                            severity, timeframe, filter_type or notify_on → 400
 *   GET    /v1/alerts        → 200 {"alerts": [...]}
 *   GET    /v1/alerts/{id}   → 200 Alert | 404
 *   DELETE /v1/alerts/{id}   → 204 | 404
 *   POST   /v1/query         {"query", "metadata": {start_date, end_date, tier, syntax, limit, …}}, Accept:
 *                            text/event-stream → 200 server-sent events: `: success`, then `data: {"query_id":…}`,
 *                            then `data: {"result":{"results":[{metadata, labels, user_data}]}}` in chunks.
 *                            Only syntax `lucene` is evaluated (test/servers/lucene-eval.ts).
 * Every call needs `Authorization: Bearer <token the fake IAM issued>` (401 otherwise).
 */
import {randomUUID} from 'node:crypto'

import {LuceneSyntaxError, luceneMatches, parseLucene} from './lucene-eval.js'

export interface StoredCloudLogsEntry {
  applicationName: string
  subsystemName: string
  text: string | Record<string, unknown>
  severity?: number
  timestamp?: number
  category?: string
  arrival?: number
}

export interface ApiReply {
  status: number
  /** A JSON body, or (with `sse`) the event stream text. */
  body?: unknown
  sse?: string
}

export interface CloudLogsApiFake {
  /** Whether this fake serves the path (after any base path is removed). */
  owns(path: string): boolean
  handle(method: string, path: string, headers: Record<string, string | string[] | undefined>, body: string): ApiReply
  alerts: Map<string, Record<string, unknown>>
  /** Query bodies received (for assertions). */
  queries: unknown[]
}

const SEVERITIES = ['info_or_unspecified', 'warning', 'error', 'critical']
const TIMEFRAMES = [
  'timeframe_10_min', 'timeframe_12_h', 'timeframe_15_min', 'timeframe_1_h', 'timeframe_1_m', 'timeframe_1_min', 'timeframe_1_w',
  'timeframe_20_min', 'timeframe_24_h', 'timeframe_2_h', 'timeframe_2_m', 'timeframe_2_min', 'timeframe_30_min', 'timeframe_36_h',
  'timeframe_3_h', 'timeframe_3_m', 'timeframe_48_h', 'timeframe_4_h', 'timeframe_5_min_or_unspecified', 'timeframe_6_h', 'timeframe_72_h',
]
const FILTER_TYPES = ['flow', 'metric', 'ratio', 'template', 'text_or_unspecified', 'time_relative', 'unique_count']
const FILTER_SEVERITIES = ['critical', 'debug_or_unspecified', 'error', 'info', 'verbose', 'warning']
const ALERT_KEYS = ['name', 'is_active', 'severity', 'condition', 'description', 'expiration', 'notification_groups', 'filters', 'active_when', 'notification_payload_filters', 'meta_labels', 'meta_labels_strings', 'incident_settings']
const CONDITIONS = ['immediate', 'less_than', 'more_than', 'more_than_usual', 'new_value', 'flow', 'unique_count', 'less_than_usual']
const PARAMETER_KEYS = ['threshold', 'timeframe', 'group_by', 'metric_alert_parameters', 'metric_alert_promql_parameters', 'ignore_infinity', 'relative_timeframe', 'cardinality_fields', 'related_extended_data']
const METADATA_KEYS = ['start_date', 'end_date', 'default_source', 'tier', 'syntax', 'limit', 'strict_fields_validation']

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const error = (status: number, code: string, message: string): ApiReply => ({status, body: {errors: [{code, message}], trace: randomUUID(), status_code: status}})

/** The first problem with an alert body, or undefined. */
function alertProblem(b: unknown): string | undefined {
  if (!isObj(b)) return 'the body must be a JSON object'
  for (const k of Object.keys(b)) if (!ALERT_KEYS.includes(k)) return `unknown field ${k}`
  if (typeof b.name !== 'string' || b.name === '') return 'name is required'
  if (typeof b.is_active !== 'boolean') return 'is_active is required (a boolean)'
  if (typeof b.severity !== 'string' || !SEVERITIES.includes(b.severity)) return `severity must be one of ${SEVERITIES.join(', ')}`
  if (!isObj(b.condition)) return 'condition is required'
  const kinds = Object.keys(b.condition)
  if (kinds.length !== 1 || !CONDITIONS.includes(kinds[0])) return `condition must hold exactly one of ${CONDITIONS.join(', ')}`
  const c = b.condition[kinds[0]]
  if (!isObj(c)) return `condition.${kinds[0]} must be an object`
  if (kinds[0] === 'immediate' && Object.keys(c).length > 0) return 'condition.immediate must be empty'
  if (kinds[0] !== 'immediate') {
    for (const k of Object.keys(c)) if (k !== 'parameters' && k !== 'evaluation_window') return `unknown field condition.${kinds[0]}.${k}`
    if (!isObj(c.parameters)) return `condition.${kinds[0]}.parameters is required`
    for (const k of Object.keys(c.parameters)) if (!PARAMETER_KEYS.includes(k)) return `unknown field parameters.${k}`
    if (typeof c.parameters.timeframe !== 'string' || !TIMEFRAMES.includes(c.parameters.timeframe)) return 'parameters.timeframe is not a timeframe'
    if (c.parameters.threshold !== undefined && typeof c.parameters.threshold !== 'number') return 'parameters.threshold must be a number'
    if (c.evaluation_window !== undefined && !['dynamic', 'rolling_or_unspecified'].includes(c.evaluation_window as string)) return 'evaluation_window is wrong'
  }
  if (b.description !== undefined && typeof b.description !== 'string') return 'description must be a string'
  if (b.filters !== undefined) {
    const f = b.filters
    if (!isObj(f)) return 'filters must be an object'
    for (const k of Object.keys(f)) if (!['severities', 'metadata', 'alias', 'text', 'ratio_alerts', 'filter_type'].includes(k)) return `unknown field filters.${k}`
    if (f.filter_type !== undefined && !FILTER_TYPES.includes(f.filter_type as string)) return 'filters.filter_type is wrong'
    if (f.severities !== undefined && (!Array.isArray(f.severities) || !f.severities.every((s) => FILTER_SEVERITIES.includes(s as string)))) return 'filters.severities has a wrong value'
    if (f.text !== undefined) {
      if (typeof f.text !== 'string') return 'filters.text must be a string'
      try {
        parseLucene(f.text)
      } catch (e) {
        return `filters.text is not a Lucene query: ${(e as Error).message}`
      }
    }
    if (f.metadata !== undefined) {
      if (!isObj(f.metadata)) return 'filters.metadata must be an object'
      for (const k of Object.keys(f.metadata)) if (k !== 'applications' && k !== 'subsystems') return `unknown field filters.metadata.${k}`
    }
  }
  if (b.notification_groups !== undefined) {
    if (!Array.isArray(b.notification_groups)) return 'notification_groups must be an array'
    for (const g of b.notification_groups) {
      if (!isObj(g)) return 'a notification group must be an object'
      for (const k of Object.keys(g)) if (k !== 'group_by_fields' && k !== 'notifications') return `unknown field notification_groups[].${k}`
      for (const n of (g.notifications ?? []) as unknown[]) {
        if (!isObj(n)) return 'a notification must be an object'
        for (const k of Object.keys(n)) if (!['retriggering_period_seconds', 'notify_on', 'integration_id', 'recipients'].includes(k)) return `unknown field notifications[].${k}`
        if (n.notify_on !== undefined && !['triggered_and_resolved', 'triggered_only'].includes(n.notify_on as string)) return 'notify_on is wrong'
        if ((n.integration_id === undefined) === (n.recipients === undefined)) return 'a notification needs exactly one of integration_id and recipients'
        if (n.integration_id !== undefined && !Number.isInteger(n.integration_id)) return 'integration_id must be an integer'
      }
    }
  }
  return undefined
}

/** The first problem with a query body, or undefined. */
function queryProblem(b: unknown): string | undefined {
  if (!isObj(b)) return 'the body must be a JSON object'
  for (const k of Object.keys(b)) if (k !== 'query' && k !== 'metadata') return `unknown field ${k}`
  if (typeof b.query !== 'string') return 'query is required'
  if (b.metadata === undefined) return undefined
  if (!isObj(b.metadata)) return 'metadata must be an object'
  const m = b.metadata
  for (const k of Object.keys(m)) if (!METADATA_KEYS.includes(k)) return `unknown field metadata.${k}`
  if (m.tier !== undefined && !['archive', 'frequent_search', 'unspecified'].includes(m.tier as string)) return 'metadata.tier is wrong'
  if (m.syntax !== undefined && !['dataprime', 'lucene', 'unspecified'].includes(m.syntax as string)) return 'metadata.syntax is wrong'
  for (const k of ['start_date', 'end_date']) {
    if (m[k] !== undefined && (typeof m[k] !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(m[k] as string))) return `metadata.${k} must be a date-time`
  }
  if (m.limit !== undefined && (!Number.isInteger(m.limit) || (m.limit as number) < 1)) return 'metadata.limit must be a positive integer'
  return undefined
}

export function createCloudLogsApi(options: {verifyToken: (token: string) => boolean; entries: () => StoredCloudLogsEntry[]; chunk?: number}): CloudLogsApiFake {
  const alerts = new Map<string, Record<string, unknown>>()
  const queries: unknown[] = []
  const handle = (method: string, path: string, headers: Record<string, string | string[] | undefined>, text: string): ApiReply => {
    const m = /^Bearer\s+(\S+)$/i.exec(String(headers.authorization ?? ''))
    if (!m || !options.verifyToken(m[1])) return error(401, 'unauthorized', 'a valid IAM bearer token is required')
    let body: unknown
    if (text !== '') {
      if (!String(headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return error(415, 'unsupported_media_type', 'Content-Type must be application/json')
      try {
        body = JSON.parse(text)
      } catch {
        return error(400, 'bad_request', 'the body is not JSON')
      }
    }
    const one = /^\/v1\/alerts\/([^/]+)$/.exec(path)
    if (path === '/v1/alerts' && method === 'POST') {
      const problem = alertProblem(body)
      if (problem) return error(400, 'bad_request', problem)
      const alert = {id: randomUUID(), unique_identifier: randomUUID(), ...(body as Record<string, unknown>)}
      alerts.set(alert.id, alert)
      return {status: 200, body: alert}
    }
    if (path === '/v1/alerts' && method === 'GET') return {status: 200, body: {alerts: [...alerts.values()]}}
    if (one && (method === 'GET' || method === 'DELETE')) {
      const alert = alerts.get(decodeURIComponent(one[1]))
      if (!alert) return error(404, 'not_found', `alert ${one[1]} not found`)
      if (method === 'GET') return {status: 200, body: alert}
      alerts.delete(alert.id as string)
      return {status: 204}
    }
    if (path === '/v1/query' && method === 'POST') {
      if (!String(headers.accept ?? '').includes('text/event-stream')) return error(406, 'not_acceptable', 'Accept must be text/event-stream')
      const problem = queryProblem(body)
      if (problem) return error(400, 'bad_request', problem)
      queries.push(body)
      const b = body as {query: string; metadata?: Record<string, unknown>}
      const meta = b.metadata ?? {}
      if ((meta.syntax ?? 'unspecified') !== 'lucene') return error(400, 'bad_request', 'this fake evaluates syntax lucene only')
      let ast
      try {
        ast = parseLucene(b.query)
      } catch (e) {
        if (e instanceof LuceneSyntaxError) return error(400, 'bad_request', `the Lucene query does not parse: ${e.message}`)
        throw e
      }
      const start = meta.start_date ? Date.parse(meta.start_date as string) : -Infinity
      const end = meta.end_date ? Date.parse(meta.end_date as string) : Infinity
      const limit = (meta.limit as number | undefined) ?? 2000
      const matched = options
        .entries()
        .map((e) => ({e, ts: e.timestamp ?? e.arrival ?? 0}))
        .filter(({ts}) => ts >= start && ts < end)
        .filter(({e}) => {
          const doc = {json: e.text, coralogix: {metadata: {applicationName: e.applicationName, subsystemName: e.subsystemName, category: e.category, severity: e.severity}}}
          return luceneMatches(ast, doc, typeof e.text === 'string' ? e.text : JSON.stringify(e.text))
        })
        .sort((a, b) => a.ts - b.ts)
        .slice(0, limit)
      const results = matched.map(({e, ts}) => ({
        metadata: [
          {key: 'timestamp', value: new Date(ts).toISOString()},
          {key: 'severity', value: String(e.severity ?? 3)},
          {key: 'logid', value: randomUUID()},
        ],
        labels: [
          {key: 'applicationname', value: e.applicationName},
          {key: 'subsystemname', value: e.subsystemName},
          ...(e.category ? [{key: 'category', value: e.category}] : []),
        ],
        user_data: typeof e.text === 'string' ? e.text : JSON.stringify(e.text),
      }))
      let sse = `: success\n\ndata: ${JSON.stringify({query_id: {query_id: randomUUID()}})}\n\n`
      const chunk = options.chunk ?? 50
      for (let i = 0; i < results.length; i += chunk) sse += `: \n\ndata: ${JSON.stringify({result: {results: results.slice(i, i + chunk)}})}\n\n`
      return {status: 200, sse}
    }
    if (path === '/v1/alerts' || one || path === '/v1/query') return error(405, 'method_not_allowed', `${method} not allowed on ${path}`)
    return error(404, 'not_found', `no route ${method} ${path}`)
  }
  return {owns: (path) => /^\/v1\/(alerts(\/[^/]+)?|query)$/.test(path), handle, alerts, queries}
}
