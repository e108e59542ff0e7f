/**
 * Evidence from the local index (docs/why-rejected.md §3.1): the records of one peer and port, normalised to "who is the
 * interface, who is the peer, which port is the service", and grouped per interface, direction, protocol and port.
 */
import type {TimeWindow} from '../records/time.js'
import type {SqlRow, Store} from '../store/store.js'
import type {Direction} from './evaluate.js'

/** The store columns why-rejected reads (typed columns; see src/lib/store/README.md). */
export const FLOW_COLUMNS = [
  'okey',
  'ts',
  'network_interface_id',
  'instance_crn',
  'direction',
  'action',
  'initiator_ip',
  'target_ip',
  'initiator_port',
  'target_port',
  'transport_protocol',
  'was_initiated',
  'packets_from_initiator',
  'packets_from_target',
  'bytes_from_initiator',
  'bytes_from_target',
  'state',
  'capture_start_time',
  'capture_end_time',
  'connection_start_time',
] as const

/** A record seen from the interface that logged it. */
export interface FlowRecord {
  okey: string
  ts: number
  iface: string
  instanceCrn?: string
  /** Who started the connection, seen from the interface. */
  initiated: Direction
  action: 'accepted' | 'rejected' | 'other'
  proto: number
  /** P: the interface side. */
  localIp: string
  /** R: the other end. */
  peerIp: string
  /** t */
  servicePort?: number
  /** c */
  clientPort?: number
  wasInitiated: boolean | null
  packetsFromInitiator: number
  packetsFromTarget: number
  bytesFromInitiator: number
  bytesFromTarget: number
  skipData: boolean
  captureStart?: string
  captureEnd?: string
  /** A rejected `O` record from the service port to an ephemeral port: most likely the reply of an inbound connection (§3.8). */
  replyOfInbound: boolean
}

/** `I`/`inbound` → inbound, `O`/`outbound` → outbound (case-insensitive); anything else → undefined. */
export function normaliseDirection(value: unknown): Direction | undefined {
  if (typeof value !== 'string') return undefined
  const v = value.trim().toLowerCase()
  if (v === 'i' || v === 'inbound') return 'inbound'
  if (v === 'o' || v === 'outbound') return 'outbound'
  return undefined
}

export function normaliseAction(value: unknown): 'accepted' | 'rejected' | 'other' {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : ''
  return v === 'accepted' ? 'accepted' : v === 'rejected' ? 'rejected' : 'other'
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const optNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)

/**
 * Normalise one row. `servicePortHint` (the --port) recognises §3.8's reply records: a rejected `O` record whose
 * initiator port is the service port and whose target port is ephemeral is reported against the inbound connection.
 */
export function toFlowRecord(row: SqlRow, servicePortHint?: number): FlowRecord | undefined {
  const dir = normaliseDirection(row.direction)
  const iip = typeof row.initiator_ip === 'string' ? row.initiator_ip : undefined
  const tip = typeof row.target_ip === 'string' ? row.target_ip : undefined
  const proto = optNum(row.transport_protocol)
  if (!dir || !iip || !tip || proto === undefined) return undefined
  const iport = optNum(row.initiator_port)
  const tport = optNum(row.target_port)
  const action = normaliseAction(row.action)
  const base = {
    okey: String(row.okey ?? ''),
    ts: num(row.ts),
    iface: String(row.network_interface_id ?? ''),
    instanceCrn: typeof row.instance_crn === 'string' ? row.instance_crn : undefined,
    action,
    proto,
    wasInitiated: typeof row.was_initiated === 'boolean' ? row.was_initiated : null,
    packetsFromInitiator: num(row.packets_from_initiator),
    packetsFromTarget: num(row.packets_from_target),
    bytesFromInitiator: num(row.bytes_from_initiator),
    bytesFromTarget: num(row.bytes_from_target),
    skipData: typeof row.state === 'string' && row.state.trim().toLowerCase() === 'skip data',
    captureStart: typeof row.capture_start_time === 'string' ? row.capture_start_time : undefined,
    captureEnd: typeof row.capture_end_time === 'string' ? row.capture_end_time : undefined,
  }
  if (dir === 'inbound') {
    return {...base, initiated: 'inbound', localIp: tip, peerIp: iip, servicePort: tport, clientPort: iport, replyOfInbound: false}
  }
  if (
    servicePortHint !== undefined &&
    action === 'rejected' &&
    iport === servicePortHint &&
    tport !== undefined &&
    tport >= 1024 &&
    tport !== servicePortHint
  ) {
    return {...base, initiated: 'inbound', localIp: iip, peerIp: tip, servicePort: iport, clientPort: tport, replyOfInbound: true}
  }
  return {...base, initiated: 'outbound', localIp: iip, peerIp: tip, servicePort: tport, clientPort: iport, replyOfInbound: false}
}

export function windowSql(window: TimeWindow, params: unknown[], column = 'ts'): string {
  const parts: string[] = []
  if (window.since !== undefined) {
    params.push(Math.floor(window.since))
    parts.push(`${column} >= $${params.length}`)
  }
  if (window.until !== undefined) {
    params.push(Math.floor(window.until))
    parts.push(`${column} < $${params.length}`)
  }
  return parts.length ? parts.join(' AND ') : 'true'
}

export interface EvidenceQuery {
  ip: string
  port?: number
  proto?: number
  /** --target-ip: only records whose interface-side IP is this. */
  localIp?: string
  window: TimeWindow
}

/** Every record (accepted or rejected) between `ip` and anything on `port`, seen from the logging interface. */
export async function queryEvidence(store: Store, q: EvidenceQuery): Promise<FlowRecord[]> {
  const params: unknown[] = [q.ip]
  let portSql = 'true'
  if (q.port !== undefined) {
    params.push(q.port)
    portSql = `(target_port = $${params.length} OR initiator_port = $${params.length})`
  }
  let protoSql = 'true'
  if (q.proto !== undefined) {
    params.push(q.proto)
    protoSql = `transport_protocol = $${params.length}`
  }
  const sql =
    `SELECT ${FLOW_COLUMNS.map((c) => `"${c}"`).join(', ')} FROM records ` +
    `WHERE (initiator_ip = $1 OR target_ip = $1) AND ${portSql} AND ${protoSql} AND ${windowSql(q.window, params)} ORDER BY ts`
  const rows = await store.all(sql, params)
  const out: FlowRecord[] = []
  for (const row of rows) {
    const r = toFlowRecord(row, q.port)
    if (!r) continue
    if (q.port !== undefined && r.servicePort !== q.port) continue
    if (r.peerIp !== q.ip && r.localIp !== q.ip) continue
    if (q.localIp !== undefined && r.localIp !== q.localIp) continue
    out.push(r)
  }
  return out
}

export interface EvidenceGroup {
  key: string
  iface: string
  instanceCrn?: string
  initiated: Direction
  proto: number
  servicePort?: number
  localIp: string
  peerIp: string
  rejected: FlowRecord[]
  accepted: FlowRecord[]
}

/** Group by (interface, direction, protocol, service port, interface IP, peer IP). */
export function groupEvidence(records: FlowRecord[]): EvidenceGroup[] {
  const groups = new Map<string, EvidenceGroup>()
  for (const r of records) {
    if (r.action === 'other') continue
    const key = [r.iface, r.initiated, r.proto, r.servicePort ?? '', r.localIp, r.peerIp].join('|')
    let g = groups.get(key)
    if (!g) {
      g = {key, iface: r.iface, instanceCrn: r.instanceCrn, initiated: r.initiated, proto: r.proto, servicePort: r.servicePort, localIp: r.localIp, peerIp: r.peerIp, rejected: [], accepted: []}
      groups.set(key, g)
    }
    if (r.action === 'rejected') g.rejected.push(r)
    else g.accepted.push(r)
  }
  return [...groups.values()]
}

export interface EvidenceSummary {
  records: number
  accepted: number
  first_seen: string | null
  last_seen: string | null
  accepted_first_seen: string | null
  accepted_last_seen: string | null
  was_initiated: {true: number; false: number; unknown: number}
  client_ports: number
  packets_from_initiator: number
  packets_from_target: number
  bytes_from_initiator: number
  bytes_from_target: number
  /** Rejected records with packets from the target: points at the return path (§3.8). */
  with_target_packets: number
  /** Rejected `O` records counted as replies of this inbound connection (§3.8). */
  replies: number
  /** Objects whose header says `skip data`: counts are lower bounds. */
  skip_data_objects: string[]
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

export function summariseGroup(g: EvidenceGroup): EvidenceSummary {
  const rej = g.rejected
  const ts = rej.map((r) => r.ts)
  const ats = g.accepted.map((r) => r.ts)
  return {
    records: rej.length,
    accepted: g.accepted.length,
    first_seen: iso(ts.length ? Math.min(...ts) : undefined),
    last_seen: iso(ts.length ? Math.max(...ts) : undefined),
    accepted_first_seen: iso(ats.length ? Math.min(...ats) : undefined),
    accepted_last_seen: iso(ats.length ? Math.max(...ats) : undefined),
    was_initiated: {
      true: rej.filter((r) => r.wasInitiated === true).length,
      false: rej.filter((r) => r.wasInitiated === false).length,
      unknown: rej.filter((r) => r.wasInitiated === null).length,
    },
    client_ports: new Set(rej.map((r) => r.clientPort)).size,
    packets_from_initiator: rej.reduce((s, r) => s + r.packetsFromInitiator, 0),
    packets_from_target: rej.reduce((s, r) => s + r.packetsFromTarget, 0),
    bytes_from_initiator: rej.reduce((s, r) => s + r.bytesFromInitiator, 0),
    bytes_from_target: rej.reduce((s, r) => s + r.bytesFromTarget, 0),
    with_target_packets: rej.filter((r) => r.packetsFromTarget > 0).length,
    replies: rej.filter((r) => r.replyOfInbound).length,
    skip_data_objects: [...new Set(rej.filter((r) => r.skipData).map((r) => r.okey))],
  }
}
