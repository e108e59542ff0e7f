/**
 * What-if replay (docs/why-rejected.md §6): replay the window's records of every interface the fix touches against the
 * configuration with and without the fix; count what it admits as intended, what else it admits, and regressions.
 */
import type {TimeWindow} from '../records/time.js'
import type {Store} from '../store/store.js'
import {ALL_PORTS, evaluateFlow, type FlowSpec} from './evaluate.js'
import {FLOW_COLUMNS, toFlowRecord, windowSql, type FlowRecord} from './evidence.js'
import type {FixEntry} from './fix.js'
import type {InterfaceInfo, VpcModel} from './model.js'
import type {Bucket} from './triage.js'

export interface WhatIf {
  /** The rejected records the fix was built for. */
  admits: {records: number; of: number; sources: number}
  /** Other rejected records that become allowed. */
  also_admits: {
    records: number
    sources: number
    scanner_records: number
    scanner_sources: number
    by_port: {port: number | null; protocol: string; records: number; sources: number}[]
  }
  /** Accepted today, rejected with the fix: must be 0 for allow-only changes. */
  regressions: number
  /** Observed action differs from today's verdict (config changed since, or mid-connection): excluded above. */
  baseline_disagreements: number
  /** Interfaces replayed. */
  interfaces: number
  /** Records replayed. */
  replayed: number
}

export interface TargetTuple {
  iface: string
  initiated: 'inbound' | 'outbound'
  proto: number
  servicePort?: number
  peerIp: string
  localIp: string
}

/** The configuration with every fix entry applied. */
export function applyFixToModel(model: VpcModel, fix: FixEntry[]): VpcModel {
  let m = model
  fix.forEach((entry, i) => {
    m = entry.resource === 'security_group'
      ? m.withRule({resource: 'security_group', id: entry.id, rule: entry.rule as never}, `proposed-${i}`)
      : m.withRule({resource: 'network_acl', id: entry.id, rule: entry.rule as never}, `proposed-${i}`)
  })
  return m
}

/** Interfaces whose traffic a fix can change. */
export function fixScope(model: VpcModel, fix: FixEntry[]): InterfaceInfo[] {
  const out = new Map<string, InterfaceInfo>()
  for (const e of fix) {
    if (e.resource === 'security_group') for (const i of model.interfacesOfGroup(e.id)) out.set(i.id, i)
    else for (const s of model.subnetsUsingAcl(e.id)) for (const i of model.interfacesInSubnet(s.id)) out.set(i.id, i)
  }
  return [...out.values()]
}

function specOf(r: FlowRecord, iface: InterfaceInfo): FlowSpec {
  return {
    iface,
    initiated: r.initiated,
    proto: r.proto,
    localIp: r.localIp,
    peerIp: r.peerIp,
    servicePort: r.servicePort,
    clientPorts: r.clientPort === undefined ? ALL_PORTS : {min: r.clientPort, max: r.clientPort},
  }
}

function matchesTarget(r: FlowRecord, t: TargetTuple): boolean {
  return r.iface === t.iface && r.initiated === t.initiated && r.proto === t.proto && r.servicePort === t.servicePort && r.peerIp === t.peerIp && r.localIp === t.localIp
}

/**
 * Replay the window's records of the fix's scope. Records are read grouped by tuple (one evaluation per distinct
 * tuple), so the cost follows distinct flows, not raw records.
 */
export async function whatIf(
  store: Store,
  model: VpcModel,
  fix: FixEntry[],
  options: {window: TimeWindow; targets: TargetTuple[]; targetRejected: number; buckets?: Map<string, Bucket>; servicePortHint?: number},
): Promise<WhatIf> {
  const result: WhatIf = {
    admits: {records: 0, of: options.targetRejected, sources: 0},
    also_admits: {records: 0, sources: 0, scanner_records: 0, scanner_sources: 0, by_port: []},
    regressions: 0,
    baseline_disagreements: 0,
    interfaces: 0,
    replayed: 0,
  }
  if (fix.length === 0) return result
  const scope = fixScope(model, fix)
  result.interfaces = scope.length
  if (scope.length === 0) return result
  const proposed = applyFixToModel(model, fix)
  const ids = new Map<string, InterfaceInfo>()
  for (const i of scope) {
    ids.set(i.id, i)
    for (const a of i.aliases) ids.set(a, i)
  }
  const params: unknown[] = []
  const idList = [...ids.keys()].map((id) => {
    params.push(id)
    return `$${params.length}`
  })
  const cols = FLOW_COLUMNS.filter((c) => !['okey', 'ts', 'instance_crn', 'state', 'capture_start_time', 'capture_end_time', 'connection_start_time', 'packets_from_initiator', 'packets_from_target', 'bytes_from_initiator', 'bytes_from_target', 'was_initiated'].includes(c))
  const sql =
    `SELECT ${cols.map((c) => `"${c}"`).join(', ')}, count(*) AS n FROM records ` +
    `WHERE network_interface_id IN (${idList.join(', ')}) AND ${windowSql(options.window, params)} ` +
    `GROUP BY ${cols.map((c) => `"${c}"`).join(', ')}`
  const rows = await store.all(sql, params)
  // The client port matters only through the ACL rules' port bounds: evaluate once per class of client ports.
  const bounds = new Set<number>([0])
  for (const m of [model, proposed]) {
    for (const acl of m.snapshot.network_acls as {rules?: Record<string, unknown>[]}[]) {
      for (const r of acl.rules ?? []) {
        for (const k of ['source_port_min', 'destination_port_min']) if (typeof r[k] === 'number') bounds.add(r[k] as number)
        for (const k of ['source_port_max', 'destination_port_max']) if (typeof r[k] === 'number') bounds.add((r[k] as number) + 1)
      }
    }
  }
  const breaks = [...bounds].sort((a, b) => a - b)
  const classOf = (port: number | undefined): number => {
    if (port === undefined) return -1
    let lo = 0
    let hi = breaks.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (breaks[mid] <= port) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  const memo = new Map<string, [string, string]>()
  const verdicts = (r: FlowRecord, spec: FlowSpec): [string, string] => {
    const key = [r.iface, r.initiated, r.proto, r.localIp, r.peerIp, r.servicePort ?? '', classOf(r.clientPort)].join('|')
    let v = memo.get(key)
    if (!v) {
      v = [evaluateFlow(model, spec, {peer: false}).blocked_by, evaluateFlow(proposed, spec, {peer: false}).blocked_by]
      memo.set(key, v)
    }
    return v
  }
  const targetSources = new Set<string>()
  const collateralSources = new Set<string>()
  const scannerSources = new Set<string>()
  const byPort = new Map<string, {port: number | null; protocol: string; records: number; sources: Set<string>}>()
  for (const row of rows) {
    const n = Number(row.n)
    const r = toFlowRecord(row, options.servicePortHint)
    if (!r || r.action === 'other') continue
    const iface = ids.get(r.iface)
    if (!iface) continue
    result.replayed += n
    const spec = specOf(r, iface)
    const [before, after] = verdicts(r, spec)
    if (before === 'unknown' || after === 'unknown') continue
    const allowedBefore = before === 'none'
    const allowedAfter = after === 'none'
    if ((r.action === 'rejected') === allowedBefore) {
      result.baseline_disagreements += n
      continue
    }
    if (r.action === 'accepted' && !allowedAfter) {
      result.regressions += n
      continue
    }
    if (r.action !== 'rejected' || !allowedAfter) continue
    if (options.targets.some((t) => matchesTarget(r, t))) {
      result.admits.records += n
      targetSources.add(r.peerIp)
      continue
    }
    result.also_admits.records += n
    collateralSources.add(r.peerIp)
    if (options.buckets?.get(r.peerIp) === 'scanner' || options.buckets?.get(r.peerIp) === 'background') {
      result.also_admits.scanner_records += n
      scannerSources.add(r.peerIp)
    }
    const proto = r.proto === 6 ? 'tcp' : r.proto === 17 ? 'udp' : String(r.proto)
    const key = `${proto}/${r.servicePort ?? ''}`
    let p = byPort.get(key)
    if (!p) byPort.set(key, (p = {port: r.servicePort ?? null, protocol: proto, records: 0, sources: new Set()}))
    p.records += n
    p.sources.add(r.peerIp)
  }
  result.admits.sources = targetSources.size
  result.also_admits.sources = collateralSources.size
  result.also_admits.scanner_sources = scannerSources.size
  result.also_admits.by_port = [...byPort.values()]
    .sort((a, b) => b.records - a.records)
    .map((p) => ({port: p.port, protocol: p.protocol, records: p.records, sources: p.sources.size}))
  return result
}
