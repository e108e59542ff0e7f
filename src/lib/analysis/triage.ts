/**
 * Noise triage (docs/why-rejected.md §7 "Scanner triage"): internet scanners and background noise versus a client
 * whose flow is blocked. Computed over every rejected record in the window, per remote source, and applied the same
 * way to the header, to each finding and to `--apply` (the source asked about gets no exemption).
 */
import {parseTimestamp, type TimeWindow} from '../records/time.js'
import type {Store} from '../store/store.js'
import {windowSql} from './evidence.js'
import {isIbmServiceIp, isIpv4, isPrivateIp} from './ip.js'
import type {VpcModel} from './model.js'

export interface TriageThresholds {
  /** scanner: distinct target ports ≥ this … */
  scannerMinPorts: number
  /** … or distinct target IPs ≥ this. */
  scannerMinTargets: number
  /** background on port t: at least this many public one-way sources … */
  backgroundMinSources: number
  /** … each with at most this many records. */
  backgroundMaxRecords: number
  /** tiny: packets from the initiator per record (a SYN and its retransmits). */
  tinyPackets: number
  /** SYN-sized: at most this many bytes in a record's single initiator packet (IPv4 + TCP header with options). */
  synMaxBytes: number
  /** The SYN-only clause needs at least this many rejected records (one packet is not a pattern). */
  synOnlyMinRecords: number
}

export const DEFAULT_THRESHOLDS: TriageThresholds = {
  scannerMinPorts: 5,
  scannerMinTargets: 5,
  backgroundMinSources: 20,
  backgroundMaxRecords: 3,
  tinyPackets: 3,
  synMaxBytes: 64,
  synOnlyMinRecords: 2,
}

/** Which clause of the scanning rule a source met (docs/why-rejected.md §7). */
export type ScanClause = 'ports' | 'targets' | 'syn_only'

/** The rule in words, as `--json` and the docs state it. */
export function scanningRule(th: TriageThresholds = DEFAULT_THRESHOLDS): string {
  return (
    `scanning = a public source outside the VPC that is never accepted in the window, whose rejected records are all ` +
    `connection attempts (nothing from the target, none mid-connection), and that touched >= ${th.scannerMinPorts} target ports, ` +
    `or >= ${th.scannerMinTargets} target IPs, or sent only single SYN-sized packets (1 packet of <= ${th.synMaxBytes} bytes per record, ` +
    `never retransmitted, TCP) in >= ${th.synOnlyMinRecords} records; background = one of >= ${th.backgroundMinSources} such sources ` +
    `with <= ${th.backgroundMaxRecords} records each on one port`
  )
}

export type Bucket = 'scanner' | 'background' | 'client'

export interface SourceSignals {
  source: string
  rejected: number
  accepted: number
  ports: number[]
  targets: number
  oneWay: boolean
  tiny: boolean
  public: boolean
  midConnection: number
  /** Every rejected record is TCP with one initiator packet of at most synMaxBytes (a SYN never retransmitted). */
  synOnly: boolean
  firstSeen: number
  lastSeen: number
  bucket: Bucket
  /** The clauses of the scanning rule this source met (empty unless bucket is scanner). */
  clauses: ScanClause[]
}

export interface NoiseSummary {
  scanner_sources: number
  scanner_records: number
  background_sources: number
  background_records: number
  /** Ports the noise hit most, busiest first. */
  ports: number[]
  first_seen: string | null
  last_seen: string | null
  skip_data_windows: {network_interface_id: string | null; capture_start_time: string | null; capture_end_time: string | null; key: string}[]
}

export interface TriageResult {
  sources: Map<string, SourceSignals>
  noise: NoiseSummary
}

function isPublicOutsideVpc(ip: string, model?: VpcModel): boolean {
  if (!isIpv4(ip) || isPrivateIp(ip) || isIbmServiceIp(ip)) return false
  if (model && (model.interfaceByIp(ip) || model.subnetContaining(ip))) return false
  return true
}

/** Bucket every remote source with rejected records in the window (docs/why-rejected.md §7). */
export async function triage(store: Store, window: TimeWindow, options: {model?: VpcModel; thresholds?: Partial<TriageThresholds>} = {}): Promise<TriageResult> {
  const th = {...DEFAULT_THRESHOLDS, ...options.thresholds}
  const params: unknown[] = []
  const where = windowSql(window, params)
  // The remote side of each record: the initiator for inbound records, the target for outbound ones.
  const base =
    `SELECT CASE WHEN upper(direction) IN ('I', 'INBOUND') THEN initiator_ip ELSE target_ip END AS src, ` +
    `CASE WHEN upper(direction) IN ('I', 'INBOUND') THEN target_ip ELSE initiator_ip END AS dst, ` +
    `target_port, lower(action) AS act, coalesce(packets_from_target, 0) AS pt, coalesce(bytes_from_target, 0) AS bt, ` +
    `coalesce(packets_from_initiator, 0) AS pi, coalesce(bytes_from_initiator, 0) AS bi, transport_protocol AS proto, was_initiated, ts FROM records WHERE ${where}`
  const perSource = await store.all(
    `WITH r AS (${base}) SELECT src, ` +
      `count(*) FILTER (WHERE act = 'rejected') AS rejected, ` +
      `count(*) FILTER (WHERE act = 'accepted') AS accepted, ` +
      `count(DISTINCT dst) FILTER (WHERE act = 'rejected') AS targets, ` +
      `count(*) FILTER (WHERE act = 'rejected' AND (pt > 0 OR bt > 0)) AS two_way, ` +
      `max(pi) FILTER (WHERE act = 'rejected') AS max_pi, ` +
      `count(*) FILTER (WHERE act = 'rejected' AND NOT (proto = 6 AND pi <= 1 AND bi <= ${Math.floor(th.synMaxBytes)})) AS not_syn, ` +
      `count(*) FILTER (WHERE act = 'rejected' AND was_initiated = false) AS mid, ` +
      `min(ts) FILTER (WHERE act = 'rejected') AS first_ts, max(ts) FILTER (WHERE act = 'rejected') AS last_ts ` +
      `FROM r WHERE src IS NOT NULL GROUP BY src HAVING count(*) FILTER (WHERE act = 'rejected') > 0`,
    params,
  )
  const perPort = await store.all(
    `WITH r AS (${base}) SELECT src, target_port, count(*) AS n FROM r WHERE act = 'rejected' AND src IS NOT NULL GROUP BY src, target_port`,
    params,
  )
  const ports = new Map<string, Map<number, number>>()
  for (const row of perPort) {
    const src = String(row.src)
    let m = ports.get(src)
    if (!m) ports.set(src, (m = new Map()))
    if (typeof row.target_port === 'number') m.set(row.target_port, Number(row.n))
  }
  const sources = new Map<string, SourceSignals>()
  for (const row of perSource) {
    const src = String(row.src)
    const portCounts = ports.get(src) ?? new Map()
    sources.set(src, {
      source: src,
      rejected: Number(row.rejected),
      accepted: Number(row.accepted),
      ports: [...portCounts.keys()].sort((a, b) => a - b),
      targets: Number(row.targets),
      oneWay: Number(row.two_way) === 0,
      tiny: Number(row.max_pi ?? 0) <= th.tinyPackets,
      public: isPublicOutsideVpc(src, options.model),
      midConnection: Number(row.mid),
      synOnly: Number(row.not_syn) === 0,
      firstSeen: Number(row.first_ts),
      lastSeen: Number(row.last_ts),
      bucket: 'client',
      clauses: [],
    })
  }
  const noiseCandidate = (s: SourceSignals) => s.public && s.oneWay && s.accepted === 0 && s.midConnection === 0
  for (const s of sources.values()) {
    if (!noiseCandidate(s)) continue
    if (s.ports.length >= th.scannerMinPorts) s.clauses.push('ports')
    if (s.targets >= th.scannerMinTargets) s.clauses.push('targets')
    if (s.synOnly && s.rejected >= th.synOnlyMinRecords) s.clauses.push('syn_only')
    if (s.clauses.length) s.bucket = 'scanner'
  }
  // Background per port: many public one-way sources with few records each.
  const byPort = new Map<number, SourceSignals[]>()
  for (const s of sources.values()) {
    if (!noiseCandidate(s) || s.rejected > th.backgroundMaxRecords) continue
    for (const p of s.ports) {
      let list = byPort.get(p)
      if (!list) byPort.set(p, (list = []))
      list.push(s)
    }
  }
  for (const list of byPort.values()) {
    if (list.length < th.backgroundMinSources) continue
    for (const s of list) if (s.bucket === 'client') s.bucket = 'background'
  }
  const noiseSources = [...sources.values()].filter((s) => s.bucket !== 'client')
  const portHits = new Map<number, number>()
  for (const s of noiseSources) for (const [p, n] of ports.get(s.source) ?? []) portHits.set(p, (portHits.get(p) ?? 0) + n)
  const first = noiseSources.length ? Math.min(...noiseSources.map((s) => s.firstSeen)) : undefined
  const last = noiseSources.length ? Math.max(...noiseSources.map((s) => s.lastSeen)) : undefined
  return {
    sources,
    noise: {
      scanner_sources: noiseSources.filter((s) => s.bucket === 'scanner').length,
      scanner_records: noiseSources.filter((s) => s.bucket === 'scanner').reduce((a, s) => a + s.rejected, 0),
      background_sources: noiseSources.filter((s) => s.bucket === 'background').length,
      background_records: noiseSources.filter((s) => s.bucket === 'background').reduce((a, s) => a + s.rejected, 0),
      ports: [...portHits.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 10).map(([p]) => p),
      first_seen: first === undefined ? null : new Date(first).toISOString(),
      last_seen: last === undefined ? null : new Date(last).toISOString(),
      skip_data_windows: await skipDataWindows(store, window),
    },
  }
}

/** Objects in the window whose header says `skip data` (compared case-insensitively). */
export async function skipDataWindows(store: Store, window: TimeWindow): Promise<NoiseSummary['skip_data_windows']> {
  const rows = await store.all(
    `SELECT key, h_network_interface_id AS network_interface_id, h_capture_start_time AS capture_start_time, h_capture_end_time AS capture_end_time ` +
      `FROM objects WHERE lower(trim(state)) = 'skip data' ORDER BY h_capture_start_time`,
  )
  return rows
    .filter((r) => {
      const start = parseTimestamp(r.capture_start_time)
      const end = parseTimestamp(r.capture_end_time) ?? start
      if (start === undefined) return true
      if (window.until !== undefined && start >= window.until) return false
      if (window.since !== undefined && end !== undefined && end < window.since) return false
      return true
    })
    .map((r) => ({
      network_interface_id: (r.network_interface_id as string | null) ?? null,
      capture_start_time: (r.capture_start_time as string | null) ?? null,
      capture_end_time: (r.capture_end_time as string | null) ?? null,
      key: String(r.key),
    }))
}

export type TriageVerdict = 'scanning' | 'background' | 'client' | 'no_records'

/** A finding's `triage` (docs/why-rejected.md §7): the verdict, the clause of the rule it met, and the evidence. */
export interface SourceTriage {
  verdict: TriageVerdict
  /** The clauses of the scanning rule that matched (scanning only), e.g. ["ports", "syn_only"]. */
  rule: ScanClause[]
  summary: string
  evidence: {
    source: string
    rejected: number
    accepted: number
    ports: number[]
    targets: number
    connection_attempts_only: boolean
    single_syn_only: boolean
    public: boolean
    first_seen: string | null
    last_seen: string | null
  } | null
}

const CLAUSE_TEXT: Record<ScanClause, (s: SourceSignals, th: TriageThresholds) => string> = {
  ports: (s, th) => `${s.ports.length} target ports (>= ${th.scannerMinPorts})`,
  targets: (s, th) => `${s.targets} target IPs (>= ${th.scannerMinTargets})`,
  syn_only: (s) => `only single SYN-sized packets in ${s.rejected} records, never retransmitted`,
}

/** The triage of one source, the same rule the header counts with. */
export function sourceTriage(s: SourceSignals | undefined, th: TriageThresholds = DEFAULT_THRESHOLDS): SourceTriage {
  if (!s) return {verdict: 'client', rule: [], summary: 'one client failing on one port (not scanning)', evidence: null}
  const evidence: SourceTriage['evidence'] = {
    source: s.source,
    rejected: s.rejected,
    accepted: s.accepted,
    ports: s.ports,
    targets: s.targets,
    connection_attempts_only: s.oneWay && s.midConnection === 0,
    single_syn_only: s.synOnly,
    public: s.public,
    first_seen: Number.isFinite(s.firstSeen) ? new Date(s.firstSeen).toISOString() : null,
    last_seen: Number.isFinite(s.lastSeen) ? new Date(s.lastSeen).toISOString() : null,
  }
  if (s.bucket === 'scanner') {
    const why = s.clauses.map((c) => CLAUSE_TEXT[c](s, th)).join('; ')
    return {verdict: 'scanning', rule: s.clauses, summary: `internet scanning: ${s.ports.length} ports (${s.ports.slice(0, 6).join(', ')}${s.ports.length > 6 ? ', …' : ''}) on ${s.targets} target${s.targets === 1 ? "" : "s"}, connection attempts only, never accepted — ${why}`, evidence}
  }
  if (s.bucket === 'background') return {verdict: 'background', rule: [], summary: `background noise: one of many public sources probing port ${s.ports.join(', ')}`, evidence}
  const summary = s.ports.length <= 1 ? 'one client failing on one port (not scanning)' : `one client failing on ${s.ports.length} ports (${s.ports.slice(0, 6).join(', ')}${s.ports.length > 6 ? ', …' : ''})`
  return {verdict: 'client', rule: [], summary, evidence}
}
