/**
 * Pivots of `flowlog explore`: from the selected record (and one of its fields) to the next view. Pure functions; the
 * state machine (state.ts) turns their result into a new query.
 */
import type {JsonObject, JsonValue} from '../../records/object.js'
import {isoTime} from '../format.js'

/** A record as explore holds it: the row, its time, and where it is in the index (for paging and de-duplication). */
export interface ExploreRecord {
  row: JsonObject
  ts: number | null
  okey: string
  idx: number
}

export interface TimeWindow {
  since?: number
  until?: number
}

/** What a result list shows: a query, optionally inside a time window, with a label saying how it came about. */
export interface View {
  query: string
  window?: TimeWindow
  label?: string
}

export const AROUND_MS = 5 * 60_000

/** Quote a value for a field clause when it is not a plain token. */
export function clauseValue(v: unknown): string {
  const s = String(v)
  return /^[A-Za-z0-9_.@$-]+$/.test(s) && !/^(AND|OR|NOT)$/.test(s) ? s : `"${s.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`
}

function isMatchAllText(query: string): boolean {
  const q = query.trim()
  return q === '' || q === '*'
}

/** `query AND clause`, without a leading match-all. */
export function andClause(query: string, clause: string): string {
  return isMatchAllText(query) ? clause : `${query.trim()} ${clause}`
}

/** The clause that matches exactly this value of the field (absent/null: the field does not exist). */
export function equalsClause(field: string, value: JsonValue | undefined): string {
  if (value === undefined || value === null) return `-${field}:*`
  const v = typeof value === 'object' ? JSON.stringify(value) : value
  return `${field}:==${clauseValue(v)}`
}

/** The clause that leaves this value of the field out. */
export function notEqualsClause(field: string, value: JsonValue | undefined): string {
  if (value === undefined || value === null) return `${field}:*`
  return `-${equalsClause(field, value)}`
}

export function filterIn(view: View, field: string, value: JsonValue | undefined): View {
  return {query: andClause(view.query, equalsClause(field, value)), window: view.window}
}

export function filterOut(view: View, field: string, value: JsonValue | undefined): View {
  return {query: andClause(view.query, notEqualsClause(field, value)), window: view.window}
}

const TUPLE = ['initiator_ip', 'initiator_port', 'target_ip', 'target_port', 'transport_protocol'] as const

/** Every record of the same connection: its 5-tuple (both interfaces' records of it, every capture window). */
export function sameConnection(row: JsonObject): View | undefined {
  const parts = TUPLE.filter((f) => row[f] !== undefined && row[f] !== null).map((f) => equalsClause(f, row[f]))
  if (row.initiator_ip === undefined || row.target_ip === undefined) return undefined
  return {query: parts.join(' '), label: 'same connection'}
}

/** Everything in the five minutes either side of the record. */
export function around(rec: Pick<ExploreRecord, 'ts'>, ms = AROUND_MS): View | undefined {
  if (rec.ts === null) return undefined
  return {query: '', window: {since: rec.ts - ms, until: rec.ts + ms + 1}, label: `± ${Math.round(ms / 60_000)} min of ${isoTime(rec.ts)}`}
}

export interface WhyRejectedQuestion {
  /** The other end of the flow: the initiator of an inbound flow, the target of an outbound one. */
  ip: string
  port?: number
  protocol?: 'tcp' | 'udp' | 'icmp'
  /** Our interface's side. */
  targetIp?: string
}

/** What why-rejected is asked for a rejected record (undefined for any other record). */
export function whyRejectedQuestion(row: JsonObject): WhyRejectedQuestion | undefined {
  if (row.action !== 'rejected') return undefined
  const outbound = row.direction === 'O' || row.direction === 'outbound'
  const other = outbound ? row.target_ip : row.initiator_ip
  const ours = outbound ? row.initiator_ip : row.target_ip
  if (typeof other !== 'string') return undefined
  const protocol = ({6: 'tcp', 17: 'udp', 1: 'icmp'} as const)[row.transport_protocol as 6 | 17 | 1]
  return {
    ip: other,
    ...(typeof row.target_port === 'number' ? {port: row.target_port} : {}),
    ...(protocol ? {protocol} : {}),
    ...(typeof ours === 'string' ? {targetIp: ours} : {}),
  }
}

/** The same question as `flowlog why-rejected` arguments (shown so it can be run outside). */
export function whyRejectedArgs(q: WhyRejectedQuestion): string[] {
  const args = ['--ip', q.ip]
  if (q.port !== undefined) args.push('--port', String(q.port))
  if (q.protocol) args.push('--protocol', q.protocol)
  if (q.targetIp) args.push('--target-ip', q.targetIp)
  return args
}

export type PivotAction =
  | {kind: 'view'; view: View}
  | {kind: 'top'; field: string; view: View}
  | {kind: 'why'; question: WhyRejectedQuestion}

export interface PivotItem {
  /** The key that runs it (in the list, the detail pane and the menu). */
  key: string
  label: string
  action?: PivotAction
  /** Why it cannot run for this record (then action is undefined). */
  unavailable?: string
}

/** The pivots offered on a record and one of its fields, in menu order. */
export function pivotItems(rec: ExploreRecord, field: string | undefined, view: View): PivotItem[] {
  const value = field === undefined ? undefined : rec.row[field]
  const items: PivotItem[] = []
  if (field !== undefined) {
    items.push({key: '+', label: `filter in   ${equalsClause(field, value)}`, action: {kind: 'view', view: filterIn(view, field, value)}})
    items.push({key: '-', label: `filter out  ${notEqualsClause(field, value)}`, action: {kind: 'view', view: filterOut(view, field, value)}})
  }
  const conn = sameConnection(rec.row)
  items.push(conn ? {key: 'c', label: 'same connection (5-tuple)', action: {kind: 'view', view: conn}} : {key: 'c', label: 'same connection', unavailable: 'the record has no initiator or target'})
  const near = around(rec)
  items.push(near ? {key: 't', label: `± 5 minutes (${near.label})`, action: {kind: 'view', view: near}} : {key: 't', label: '± 5 minutes', unavailable: 'the record has no time'})
  const why = whyRejectedQuestion(rec.row)
  items.push(why ? {key: 'w', label: `why rejected?  why-rejected ${whyRejectedArgs(why).join(' ')}`, action: {kind: 'why', question: why}} : {key: 'w', label: 'why rejected?', unavailable: 'only for rejected records'})
  if (field !== undefined) items.push({key: 's', label: `top values of ${field} (this query)`, action: {kind: 'top', field, view}})
  return items
}
