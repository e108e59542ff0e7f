/**
 * IBM VPC rule evaluation (docs/why-rejected.md §1–§4): security groups (stateful, union of allow rules, per interface)
 * and network ACLs (stateless, ordered, first match wins, implicit deny, per subnet), for flows initiated inbound
 * (`R:c → P:t`) and outbound (`P:c → R:t`), forward and return paths, with near misses.
 */
import type {NetworkAcl, NetworkAclRule, SecurityGroupRule} from '../ibmcloud/vpc.js'
import {cidrContainsIp, parseCidr} from './ip.js'
import type {InterfaceInfo, VpcModel} from './model.js'

export type Direction = 'inbound' | 'outbound'

export interface PortRange {
  min: number
  max: number
}

export const ALL_PORTS: PortRange = {min: 0, max: 65535}
export const EPHEMERAL_PORTS: PortRange = {min: 1024, max: 65535}

const PROTOCOL_NUMBERS: Record<string, number> = {
  icmp: 1,
  ip_in_ip: 4,
  tcp: 6,
  udp: 17,
  rsvp: 46,
  gre: 47,
  esp: 50,
  ah: 51,
  vrrp: 112,
  l2tp: 115,
  sctp: 132,
}

export function protocolName(proto: number): string {
  for (const [name, n] of Object.entries(PROTOCOL_NUMBERS)) if (n === proto) return name
  return `number_${proto}`
}

export function protocolNumber(name: string): number | undefined {
  const n = PROTOCOL_NUMBERS[name.toLowerCase()]
  if (n !== undefined) return n
  const m = /^number_(\d{1,3})$/.exec(name)
  return m ? Number(m[1]) : undefined
}

/** Does a rule's `protocol` value match IP protocol `proto`? `all` ≡ `icmp_tcp_udp`; `any` matches everything. */
export function protocolMatches(ruleProtocol: string | undefined, proto: number): boolean {
  const p = (ruleProtocol ?? '').toLowerCase()
  if (p === 'any') return true
  if (p === 'all' || p === 'icmp_tcp_udp') return proto === 1 || proto === 6 || proto === 17
  const n = protocolNumber(p)
  return n !== undefined && n === proto
}

export function hasPorts(protocol: string | undefined): boolean {
  return protocol === 'tcp' || protocol === 'udp'
}

function rangeOf(min: number | undefined, max: number | undefined): PortRange {
  return {min: min ?? 1, max: max ?? 65535}
}

function overlaps(a: PortRange, b: PortRange): boolean {
  return a.min <= b.max && b.min <= a.max
}

function portDistance(port: number, r: PortRange): number {
  if (port < r.min) return r.min - port
  if (port > r.max) return port - r.max
  return 0
}

export function formatRange(r: PortRange): string {
  if (r.min <= 1 && r.max >= 65535) return 'any'
  return r.min === r.max ? String(r.min) : `${r.min}-${r.max}`
}

// ---------------------------------------------------------------------------------------------------------------
// Rule descriptions
// ---------------------------------------------------------------------------------------------------------------

function remoteText(model: VpcModel | undefined, remote: SecurityGroupRule['remote']): string {
  if (!remote) return '0.0.0.0/0'
  if (remote.cidr_block) return remote.cidr_block
  if (remote.address) return remote.address
  const id = remote.id
  const name = remote.name ?? (id ? model?.securityGroup(id)?.name : undefined)
  return `security group ${name ?? id ?? remote.crn ?? remote.href}`
}

/** `inbound tcp 3000 from 0.0.0.0/0`, `outbound udp 53 to 161.26.0.0/16`. */
export function describeSgRule(rule: Pick<SecurityGroupRule, 'direction' | 'protocol' | 'port_min' | 'port_max' | 'remote' | 'local'>, model?: VpcModel): string {
  const ports = hasPorts(rule.protocol) ? ` ${formatRange(rangeOf(rule.port_min, rule.port_max))}` : ''
  const peer = `${rule.direction === 'inbound' ? 'from' : 'to'} ${remoteText(model, rule.remote)}`
  const local = rule.local && (rule.local.address || (rule.local.cidr_block && rule.local.cidr_block !== '0.0.0.0/0')) ? ` (local ${rule.local.address ?? rule.local.cidr_block})` : ''
  return `${rule.direction} ${rule.protocol}${ports} ${peer}${local}`
}

/** `deny inbound tcp 0.0.0.0/0 → 0.0.0.0/0 :22`. */
export function describeAclRule(rule: Pick<NetworkAclRule, 'action' | 'direction' | 'protocol' | 'source' | 'destination' | 'source_port_min' | 'source_port_max' | 'destination_port_min' | 'destination_port_max'>): string {
  let src = rule.source
  let dst = rule.destination
  if (hasPorts(rule.protocol)) {
    const sp = formatRange(rangeOf(rule.source_port_min, rule.source_port_max))
    const dp = formatRange(rangeOf(rule.destination_port_min, rule.destination_port_max))
    if (sp !== 'any') src += `:${sp}`
    if (dp !== 'any') dst += `:${dp}`
  }
  return `${rule.action} ${rule.direction} ${rule.protocol} ${src} → ${dst}`
}

// ---------------------------------------------------------------------------------------------------------------
// Security groups
// ---------------------------------------------------------------------------------------------------------------

export type SgDimension = 'direction' | 'protocol' | 'remote' | 'local' | 'port'

export interface SgPacket {
  /** inbound: the packet goes to the interface (P); outbound: it leaves it. */
  direction: Direction
  proto: number
  /** The interface's own IP. */
  localIp: string
  /** The other end. */
  peerIp: string
  /** Destination port: on P for inbound, on R for outbound (undefined for protocols without ports). */
  dstPort?: number
}

function remoteMatches(model: VpcModel, remote: SecurityGroupRule['remote'], ip: string): boolean {
  if (!remote) return true
  if (remote.cidr_block !== undefined) return cidrContainsIp(remote.cidr_block, ip)
  if (remote.address !== undefined) return remote.address === ip
  const id = remote.id ?? model.securityGroups().find((g) => (remote.crn && g.crn === remote.crn) || (remote.href && g.href === remote.href))?.id
  if (!id) return false
  return model.memberIps(id).has(ip)
}

function localMatches(local: SecurityGroupRule['local'], ip: string): boolean {
  if (!local) return true
  if (local.cidr_block !== undefined) return cidrContainsIp(local.cidr_block, ip)
  if (local.address !== undefined) return local.address === ip
  return true
}

/** The dimensions on which an SG rule fails to match the packet ([] = it matches). */
export function sgRuleFailures(model: VpcModel, rule: SecurityGroupRule, p: SgPacket): SgDimension[] {
  const out: SgDimension[] = []
  if (rule.direction !== p.direction) out.push('direction')
  if (!protocolMatches(rule.protocol, p.proto)) out.push('protocol')
  if (!remoteMatches(model, rule.remote, p.peerIp)) out.push('remote')
  if (!localMatches(rule.local, p.localIp)) out.push('local')
  if (hasPorts(rule.protocol) && p.dstPort !== undefined) {
    const r = rangeOf(rule.port_min, rule.port_max)
    if (p.dstPort < r.min || p.dstPort > r.max) out.push('port')
  }
  return out
}

export interface SgRuleRef {
  security_group: string
  id: string
  name?: string
}

export interface SgDecision {
  decision: 'allow' | 'deny'
  reason: 'rule' | 'no_allow_rule' | 'no_security_groups'
  matched: SgRuleRef[]
  groups: string[]
}

export function sgDecide(model: VpcModel, groupIds: string[], p: SgPacket): SgDecision {
  const matched: SgRuleRef[] = []
  for (const gid of groupIds) {
    const g = model.securityGroup(gid)
    for (const rule of g?.rules ?? []) {
      if (sgRuleFailures(model, rule, p).length === 0) matched.push({security_group: gid, id: rule.id, name: rule.name})
    }
  }
  if (matched.length) return {decision: 'allow', reason: 'rule', matched, groups: groupIds}
  return {decision: 'deny', reason: groupIds.length ? 'no_allow_rule' : 'no_security_groups', matched, groups: groupIds}
}

// ---------------------------------------------------------------------------------------------------------------
// Network ACLs
// ---------------------------------------------------------------------------------------------------------------

export type AclDimension = 'direction' | 'protocol' | 'source' | 'destination' | 'source_port' | 'destination_port'

export interface AclPacket {
  /** inbound: entering the subnet; outbound: leaving it. */
  direction: Direction
  proto: number
  src: string
  dst: string
  srcPorts: PortRange
  dstPorts: PortRange
}

function aclAddrMatches(spec: string | undefined, ip: string): boolean {
  if (spec === undefined) return false
  const c = parseCidr(spec)
  return c ? cidrContainsIp(c, ip) : false
}

/** Failing dimensions of an ACL rule for the packet; port dimensions fail only when the ranges do not overlap. */
export function aclRuleFailures(rule: NetworkAclRule, p: AclPacket): AclDimension[] {
  const out: AclDimension[] = []
  if (rule.direction !== p.direction) out.push('direction')
  if (!protocolMatches(rule.protocol, p.proto)) out.push('protocol')
  if (!aclAddrMatches(rule.source, p.src)) out.push('source')
  if (!aclAddrMatches(rule.destination, p.dst)) out.push('destination')
  if (hasPorts(rule.protocol) && (p.proto === 6 || p.proto === 17)) {
    if (!overlaps(rangeOf(rule.source_port_min, rule.source_port_max), p.srcPorts)) out.push('source_port')
    if (!overlaps(rangeOf(rule.destination_port_min, rule.destination_port_max), p.dstPorts)) out.push('destination_port')
  }
  return out
}

export interface AclRuleRef {
  id: string
  name?: string
  action: 'allow' | 'deny'
  /** 1-based position among the ACL's rules of this direction. */
  position: number
  /** Rules of this direction. */
  of: number
}

export interface AclSegment {
  ports: PortRange
  decision: 'allow' | 'deny'
  rule?: AclRuleRef
}

export interface AclDecision {
  decision: 'allow' | 'deny' | 'partial'
  reason: 'rule' | 'implicit'
  /** The deciding rule (for `partial`: the first one). */
  rule?: AclRuleRef
  /** Which part of the variable port range each rule decides (only when a port is a range). */
  segments: AclSegment[]
  /** Which port of the packet varied (configuration-only mode). */
  varies?: 'source_port' | 'destination_port'
}

function subtract(ranges: PortRange[], cut: PortRange): {left: PortRange[]; hit: PortRange[]} {
  const left: PortRange[] = []
  const hit: PortRange[] = []
  for (const r of ranges) {
    if (!overlaps(r, cut)) {
      left.push(r)
      continue
    }
    const lo = Math.max(r.min, cut.min)
    const hi = Math.min(r.max, cut.max)
    hit.push({min: lo, max: hi})
    if (r.min < lo) left.push({min: r.min, max: lo - 1})
    if (hi < r.max) left.push({min: hi + 1, max: r.max})
  }
  return {left, hit}
}

/**
 * First match wins, in the order of the ACL's `rules`; no match = implicit deny. When one port of the packet is a
 * range (configuration-only mode), each part of the range is decided by the first rule covering it.
 */
export function aclDecide(acl: NetworkAcl, p: AclPacket): AclDecision {
  const rules = (acl.rules ?? []).filter((r) => r.direction === p.direction)
  const varies: 'source_port' | 'destination_port' | undefined =
    p.srcPorts.min < p.srcPorts.max ? 'source_port' : p.dstPorts.min < p.dstPorts.max ? 'destination_port' : undefined
  let remaining: PortRange[] = [varies === 'source_port' ? p.srcPorts : varies === 'destination_port' ? p.dstPorts : {min: 0, max: 0}]
  const segments: AclSegment[] = []
  rules.forEach((rule, i) => {
    if (remaining.length === 0) return
    const failures = aclRuleFailures(rule, p)
    if (failures.length) return
    const ref: AclRuleRef = {id: rule.id, name: rule.name, action: rule.action, position: i + 1, of: rules.length}
    let cut: PortRange = {min: 0, max: 65535}
    if (varies && hasPorts(rule.protocol)) {
      cut = varies === 'source_port' ? rangeOf(rule.source_port_min, rule.source_port_max) : rangeOf(rule.destination_port_min, rule.destination_port_max)
    }
    const {left, hit} = subtract(remaining, cut)
    for (const h of hit) segments.push({ports: h, decision: rule.action, rule: ref})
    remaining = left
  })
  for (const r of remaining) segments.push({ports: r, decision: 'deny'})
  segments.sort((a, b) => a.ports.min - b.ports.min)
  const decisions = new Set(segments.map((s) => s.decision))
  const first = segments.find((s) => s.rule) ?? segments[0]
  if (decisions.size > 1) {
    const deciding = segments.find((s) => s.decision === 'deny' && s.rule) ?? first
    return {decision: 'partial', reason: deciding?.rule ? 'rule' : 'implicit', rule: deciding?.rule, segments, varies}
  }
  const decision = segments[0]?.decision ?? 'deny'
  const withRule = segments.find((s) => s.rule)
  return {decision, reason: withRule ? 'rule' : 'implicit', rule: withRule?.rule, segments: varies ? segments : [], varies}
}

// ---------------------------------------------------------------------------------------------------------------
// Flows
// ---------------------------------------------------------------------------------------------------------------

export interface FlowSpec {
  iface: InterfaceInfo
  /** Who started the connection, seen from the interface: inbound (`R:c → P:t`) or outbound (`P:c → R:t`). */
  initiated: Direction
  proto: number
  /** P: the interface's own IP. */
  localIp: string
  /** R: the other end. */
  peerIp: string
  /** t: the service port (undefined for ICMP). */
  servicePort?: number
  /** c: the client port, or a range in configuration-only mode. */
  clientPorts: PortRange
}

export type LayerName = 'acl' | 'sg'
export type BlockedBy = 'security_groups' | 'network_acl_inbound' | 'network_acl_outbound' | 'none' | 'unknown'

export interface LayerResult {
  layer: LayerName
  direction: Direction
  path: 'forward' | 'return'
  side: 'local' | 'peer'
  decision: 'allow' | 'deny' | 'partial' | 'skipped' | 'unknown'
  reason?: 'rule' | 'implicit' | 'no_allow_rule' | 'no_security_groups' | 'same_subnet' | 'unresolved'
  rule?: {id: string; name?: string; action?: 'allow' | 'deny'; position?: number; of?: number}
  acl?: {id: string; name?: string}
  security_groups?: string[]
  matched_rules?: SgRuleRef[]
  coverage?: {ports: string; decision: 'allow' | 'deny'; rule?: string}[]
  /** The packet this layer judged. */
  packet: {proto: string; src: string; src_port: string; dst: string; dst_port: string}
  explanation: string
}

export interface FlowEvaluation {
  layers: LayerResult[]
  blocked_by: BlockedBy
  /** Every local-side layer that blocks, in path order. */
  blocking: LayerResult[]
}

function portText(p: PortRange | number | undefined): string {
  if (p === undefined) return '-'
  if (typeof p === 'number') return String(p)
  return p.min === p.max ? String(p.min) : `${p.min}-${p.max}`
}

function single(port: number | undefined): PortRange {
  return port === undefined ? ALL_PORTS : {min: port, max: port}
}

function aclName(acl: NetworkAcl): string {
  return acl.name ?? acl.id
}

function evalAcl(
  model: VpcModel,
  side: 'local' | 'peer',
  iface: InterfaceInfo,
  direction: Direction,
  path: 'forward' | 'return',
  packet: AclPacket,
  otherIp: string,
): LayerResult {
  const proto = protocolName(packet.proto)
  const pk = {proto, src: packet.src, src_port: portText(packet.srcPorts), dst: packet.dst, dst_port: portText(packet.dstPorts)}
  const subnet = model.subnet(iface.subnetId)
  const acl = model.aclOfSubnet(iface.subnetId)
  const base = {layer: 'acl' as const, direction, path, side, packet: pk}
  if (!subnet || !acl) {
    return {
      ...base,
      decision: 'unknown',
      reason: 'unresolved',
      explanation: !subnet ? `subnet ${iface.subnetId ?? '(unknown)'} of ${iface.id} is not in the configuration` : `network ACL ${subnet.network_acl?.id} of subnet ${subnet.name ?? subnet.id} is not in the configuration`,
    }
  }
  if (cidrContainsIp(subnet.ipv4_cidr_block, otherIp)) {
    return {
      ...base,
      acl: {id: acl.id, name: acl.name},
      decision: 'skipped',
      reason: 'same_subnet',
      explanation: `${otherIp} is inside subnet ${subnet.name ?? subnet.id} (${subnet.ipv4_cidr_block}): the traffic does not cross ACL ${aclName(acl)}`,
    }
  }
  const d = aclDecide(acl, packet)
  const result: LayerResult = {
    ...base,
    acl: {id: acl.id, name: acl.name},
    decision: d.decision,
    reason: d.reason,
    ...(d.rule ? {rule: {id: d.rule.id, name: d.rule.name, action: d.rule.action, position: d.rule.position, of: d.rule.of}} : {}),
    explanation: '',
  }
  if (d.segments.length) {
    result.coverage = d.segments.map((s) => ({ports: portText(s.ports), decision: s.decision, ...(s.rule ? {rule: s.rule.name ?? s.rule.id} : {})}))
  }
  const what = path === 'return' ? `return traffic ${pk.src}:${pk.src_port} → ${pk.dst}:${pk.dst_port}` : `${pk.src}:${pk.src_port} → ${pk.dst}:${pk.dst_port}`
  if (d.decision === 'partial') {
    const allowed = d.segments.filter((s) => s.decision === 'allow').map((s) => portText(s.ports))
    result.explanation = `ACL ${aclName(acl)} ${direction} allows ${what} only for ${d.varies === 'source_port' ? 'source' : 'destination'} ports ${allowed.join(', ')}`
  } else if (d.rule) {
    result.explanation = `ACL ${aclName(acl)} ${direction}: rule ${d.rule.position} of ${d.rule.of}, \`${d.rule.name ?? d.rule.id}\` (${d.rule.action}) decides ${what}`
  } else {
    result.explanation = `ACL ${aclName(acl)} ${direction}: no rule matches ${what} (implicit deny)`
  }
  return result
}

function evalSg(model: VpcModel, side: 'local' | 'peer', iface: InterfaceInfo, direction: Direction, p: SgPacket): LayerResult {
  const proto = protocolName(p.proto)
  const pk =
    direction === 'inbound'
      ? {proto, src: p.peerIp, src_port: '-', dst: p.localIp, dst_port: portText(p.dstPort)}
      : {proto, src: p.localIp, src_port: '-', dst: p.peerIp, dst_port: portText(p.dstPort)}
  const d = sgDecide(model, iface.securityGroupIds, p)
  const names = iface.securityGroupIds.map((g) => model.securityGroup(g)?.name ?? g)
  const portPart = p.dstPort !== undefined ? `/${p.dstPort}` : ''
  let explanation: string
  if (d.decision === 'allow') {
    explanation = `security groups ${names.join(', ')} allow ${direction} ${proto}${portPart} ${direction === 'inbound' ? 'from' : 'to'} ${p.peerIp} (${d.matched.map((m) => `${model.securityGroup(m.security_group)?.name ?? m.security_group}/${m.name ?? m.id}`).join(', ')})`
  } else if (d.reason === 'no_security_groups') {
    explanation = `interface ${iface.id} has no security group in the configuration: nothing is allowed`
  } else {
    explanation = `security groups ${names.join(', ')}: no allow rule for ${direction} ${proto}${portPart} ${direction === 'inbound' ? 'from' : 'to'} ${p.peerIp}`
  }
  return {
    layer: 'sg',
    direction,
    path: 'forward',
    side,
    packet: pk,
    decision: d.decision,
    reason: d.reason,
    security_groups: [...iface.securityGroupIds],
    ...(d.matched.length ? {matched_rules: d.matched} : {}),
    explanation,
  }
}

/** Evaluate every layer of a flow in both directions (§3.3, §3.4), plus the peer side when R is in the VPC. */
export function evaluateFlow(model: VpcModel, f: FlowSpec, options: {peer?: boolean} = {}): FlowEvaluation {
  const t = single(f.servicePort)
  const c = f.clientPorts
  const P = f.localIp
  const R = f.peerIp
  const layers: LayerResult[] = []
  if (f.initiated === 'inbound') {
    layers.push(evalAcl(model, 'local', f.iface, 'inbound', 'forward', {direction: 'inbound', proto: f.proto, src: R, dst: P, srcPorts: c, dstPorts: t}, R))
    layers.push(evalSg(model, 'local', f.iface, 'inbound', {direction: 'inbound', proto: f.proto, localIp: P, peerIp: R, dstPort: f.servicePort}))
    layers.push(evalAcl(model, 'local', f.iface, 'outbound', 'return', {direction: 'outbound', proto: f.proto, src: P, dst: R, srcPorts: t, dstPorts: c}, R))
  } else {
    layers.push(evalSg(model, 'local', f.iface, 'outbound', {direction: 'outbound', proto: f.proto, localIp: P, peerIp: R, dstPort: f.servicePort}))
    layers.push(evalAcl(model, 'local', f.iface, 'outbound', 'forward', {direction: 'outbound', proto: f.proto, src: P, dst: R, srcPorts: c, dstPorts: t}, R))
    layers.push(evalAcl(model, 'local', f.iface, 'inbound', 'return', {direction: 'inbound', proto: f.proto, src: R, dst: P, srcPorts: t, dstPorts: c}, R))
  }
  if (options.peer !== false) {
    const peer = model.interfaceByIp(R)
    if (peer && peer.id !== f.iface.id) {
      if (f.initiated === 'inbound') {
        // R:c → P:t leaves R's interface: its SG outbound, its subnet ACL outbound, and inbound for the return.
        layers.push(evalSg(model, 'peer', peer, 'outbound', {direction: 'outbound', proto: f.proto, localIp: R, peerIp: P, dstPort: f.servicePort}))
        layers.push(evalAcl(model, 'peer', peer, 'outbound', 'forward', {direction: 'outbound', proto: f.proto, src: R, dst: P, srcPorts: c, dstPorts: t}, P))
        layers.push(evalAcl(model, 'peer', peer, 'inbound', 'return', {direction: 'inbound', proto: f.proto, src: P, dst: R, srcPorts: t, dstPorts: c}, P))
      } else {
        layers.push(evalAcl(model, 'peer', peer, 'inbound', 'forward', {direction: 'inbound', proto: f.proto, src: P, dst: R, srcPorts: c, dstPorts: t}, P))
        layers.push(evalSg(model, 'peer', peer, 'inbound', {direction: 'inbound', proto: f.proto, localIp: R, peerIp: P, dstPort: f.servicePort}))
        layers.push(evalAcl(model, 'peer', peer, 'outbound', 'return', {direction: 'outbound', proto: f.proto, src: R, dst: P, srcPorts: t, dstPorts: c}, P))
      }
    }
  }
  const blocking = layers.filter((l) => l.side === 'local' && (l.decision === 'deny' || l.decision === 'partial'))
  const unknown = layers.some((l) => l.side === 'local' && l.decision === 'unknown')
  let blockedBy: BlockedBy = 'none'
  if (blocking.length) {
    const b = blocking[0]
    blockedBy = b.layer === 'sg' ? 'security_groups' : b.direction === 'inbound' ? 'network_acl_inbound' : 'network_acl_outbound'
  } else if (unknown) blockedBy = 'unknown'
  return {layers, blocked_by: blockedBy, blocking}
}

/** Whether the flow gets through today (every local layer allows or is skipped). */
export function flowAllowed(model: VpcModel, f: FlowSpec): boolean {
  return evaluateFlow(model, f, {peer: false}).blocked_by === 'none'
}

// ---------------------------------------------------------------------------------------------------------------
// Near misses (§4)
// ---------------------------------------------------------------------------------------------------------------

export interface NearMiss {
  resource: 'security_group' | 'network_acl'
  /** The group or ACL id. */
  id: string
  name?: string
  rule: Record<string, unknown>
  /** The one dimension that fails (`order` for an ACL allow rule shadowed by the deciding rule). */
  differs_in: SgDimension | AclDimension | 'order'
  position?: number
  explanation: string
}

function dimensionText(dim: SgDimension | AclDimension, rule: SecurityGroupRule | NetworkAclRule, ctx: {peer: string; local: string; port?: number; proto: number; direction: Direction}, model: VpcModel): string {
  const sg = rule as SecurityGroupRule
  const acl = rule as NetworkAclRule
  switch (dim) {
    case 'direction':
      return `rule is \`${rule.direction}\`, flow is ${ctx.direction}`
    case 'protocol':
      return `protocol ${rule.protocol} ≠ ${protocolName(ctx.proto)}`
    case 'port': {
      const r = rangeOf(sg.port_min, sg.port_max)
      return `port ${formatRange(r)} ≠ ${ctx.port}`
    }
    case 'remote':
      return `remote ${remoteText(model, sg.remote)} does not contain ${ctx.peer}`
    case 'local':
      return `\`local\` ${sg.local?.address ?? sg.local?.cidr_block} ≠ ${ctx.local}`
    case 'source':
      return `source ${acl.source} does not contain the packet's source`
    case 'destination':
      return `destination ${acl.destination} does not contain the packet's destination`
    case 'source_port':
      return `source ports ${formatRange(rangeOf(acl.source_port_min, acl.source_port_max))} do not include the packet's`
    case 'destination_port':
      return `destination ports ${formatRange(rangeOf(acl.destination_port_min, acl.destination_port_max))} do not include the packet's`
  }
}

/** SG rules of the interface's groups that fail exactly one dimension, closest first (at most `limit`). */
export function sgNearMisses(model: VpcModel, groupIds: string[], p: SgPacket, limit = 3): NearMiss[] {
  const out: (NearMiss & {distance: number})[] = []
  for (const gid of groupIds) {
    const g = model.securityGroup(gid)
    for (const rule of g?.rules ?? []) {
      const failures = sgRuleFailures(model, rule, p)
      if (failures.length !== 1) continue
      const dim = failures[0]
      const distance = dim === 'port' && p.dstPort !== undefined ? portDistance(p.dstPort, rangeOf(rule.port_min, rule.port_max)) : 0
      out.push({
        resource: 'security_group',
        id: gid,
        name: g?.name,
        rule: rule as unknown as Record<string, unknown>,
        differs_in: dim,
        explanation: `${g?.name ?? gid} rule \`${describeSgRule(rule, model)}\`: ${dimensionText(dim, rule, {peer: p.peerIp, local: p.localIp, port: p.dstPort, proto: p.proto, direction: p.direction}, model)}`,
        distance,
      })
    }
  }
  const rank = (d: string) => (d === 'port' ? 0 : d === 'remote' ? 1 : d === 'protocol' ? 2 : d === 'local' ? 3 : 4)
  out.sort((a, b) => rank(a.differs_in) - rank(b.differs_in) || a.distance - b.distance)
  return out.slice(0, limit).map(({distance: _d, ...rest}) => rest)
}

/** For a denying ACL layer: allow rules after the deciding rule that would have matched (shadowed), then allow rules failing one dimension. */
export function aclNearMisses(model: VpcModel, acl: NetworkAcl, p: AclPacket, decidingRuleId: string | undefined, limit = 3): NearMiss[] {
  const rules = (acl.rules ?? []).filter((r) => r.direction === p.direction)
  const decidingIndex = decidingRuleId ? rules.findIndex((r) => r.id === decidingRuleId) : rules.length
  const deciding = decidingIndex >= 0 ? rules[decidingIndex] : undefined
  const out: NearMiss[] = []
  rules.forEach((rule, i) => {
    if (rule.action !== 'allow' || rule.id === decidingRuleId) return
    const failures = aclRuleFailures(rule, p)
    if (failures.length === 0 && i > decidingIndex && deciding) {
      out.push({
        resource: 'network_acl',
        id: acl.id,
        name: acl.name,
        rule: rule as unknown as Record<string, unknown>,
        differs_in: 'order',
        position: i + 1,
        explanation: `\`${rule.name ?? rule.id}\` at position ${i + 1} (${describeAclRule(rule)}) is shadowed by \`${deciding.name ?? deciding.id}\` at position ${decidingIndex + 1}`,
      })
    } else if (failures.length === 1) {
      out.push({
        resource: 'network_acl',
        id: acl.id,
        name: acl.name,
        rule: rule as unknown as Record<string, unknown>,
        differs_in: failures[0],
        position: i + 1,
        explanation: `\`${rule.name ?? rule.id}\` at position ${i + 1} (${describeAclRule(rule)}): ${dimensionText(failures[0], rule, {peer: p.src, local: p.dst, proto: p.proto, direction: p.direction}, model)}`,
      })
    }
  })
  out.sort((a, b) => (a.differs_in === 'order' ? 0 : 1) - (b.differs_in === 'order' ? 0 : 1) || (a.position ?? 0) - (b.position ?? 0))
  return out.slice(0, limit)
}

/** Near misses for every blocking local layer of an evaluated flow. */
export function nearMissesFor(model: VpcModel, f: FlowSpec, evaluation: FlowEvaluation): NearMiss[] {
  const out: NearMiss[] = []
  const t = single(f.servicePort)
  for (const layer of evaluation.blocking) {
    if (layer.layer === 'sg') {
      out.push(...sgNearMisses(model, f.iface.securityGroupIds, {direction: layer.direction, proto: f.proto, localIp: f.localIp, peerIp: f.peerIp, dstPort: f.servicePort}))
    } else if (layer.acl) {
      const acl = model.acl(layer.acl.id)
      if (!acl) continue
      const inboundInit = f.initiated === 'inbound'
      const toLocal = layer.direction === 'inbound'
      // The packet this layer judged, rebuilt in its direction.
      const packet: AclPacket =
        toLocal === inboundInit
          ? {direction: layer.direction, proto: f.proto, src: toLocal ? f.peerIp : f.localIp, dst: toLocal ? f.localIp : f.peerIp, srcPorts: f.clientPorts, dstPorts: t}
          : {direction: layer.direction, proto: f.proto, src: toLocal ? f.peerIp : f.localIp, dst: toLocal ? f.localIp : f.peerIp, srcPorts: t, dstPorts: f.clientPorts}
      out.push(...aclNearMisses(model, acl, packet, layer.rule?.action === 'deny' ? layer.rule.id : undefined))
    }
  }
  return out
}
