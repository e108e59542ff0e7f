/**
 * The VPC configuration why-rejected evaluates against: a snapshot (the JSON `flowlog vpc export` writes: VPC API
 * collection names → the arrays the list calls return) indexed by interface, subnet, ACL and security group.
 */
import {readFile} from 'node:fs/promises'

import type {VpcSnapshot} from '../demo/snapshot.js'
import {UsageError} from '../errors.js'
import {ApiAuthError, ApiError} from '../ibmcloud/http.js'
import type {
  Instance,
  NetworkAcl,
  NetworkAclRule,
  NetworkAclRulePrototype,
  SecurityGroup,
  SecurityGroupRule,
  SecurityGroupRulePrototype,
  Subnet,
  VpcClient,
} from '../ibmcloud/vpc.js'
import {cidrContainsIp, isIpv4} from './ip.js'

export type {VpcSnapshot} from '../demo/snapshot.js'

export const REQUIRED_COLLECTIONS = ['instances', 'subnets', 'security_groups', 'network_acls'] as const
export const OPTIONAL_COLLECTIONS = ['floating_ips', 'vpcs', 'virtual_network_interfaces'] as const

export interface InterfaceInfo {
  id: string
  kind: 'network_interface' | 'virtual_network_interface'
  name?: string
  /** Primary first. */
  ips: string[]
  primaryIp?: string
  subnetId?: string
  instanceId?: string
  instanceName?: string
  /** In the order the interface lists them (else snapshot order). */
  securityGroupIds: string[]
  floatingIps: string[]
  /** Other ids that name this interface in flow logs (network attachment id, VNI id). */
  aliases: string[]
}

type Json = Record<string, any>

function asArray(value: unknown, name: string, where: string): Json[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new UsageError(`${where}: \`${name}\` must be an array (the items the VPC API list call returns)`)
  for (const [i, item] of value.entries()) {
    if (!item || typeof item !== 'object' || typeof (item as Json).id !== 'string') {
      throw new UsageError(`${where}: \`${name}[${i}]\` is not a VPC API object with an id`)
    }
  }
  return value as Json[]
}

/** Check the shape of a snapshot; throws UsageError naming the problem. */
export function validateSnapshot(value: unknown, where = 'VPC configuration'): VpcSnapshot {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${where} must be a JSON object whose keys are VPC API collection names (instances, subnets, security_groups, network_acls, …)`)
  }
  const v = value as Json
  const missing = REQUIRED_COLLECTIONS.filter((k) => v[k] === undefined)
  if (missing.length === REQUIRED_COLLECTIONS.length) {
    throw new UsageError(`${where} has none of ${REQUIRED_COLLECTIONS.join(', ')}`, {
      suggestions: ['Write one with `flowlog vpc export --out FILE`'],
    })
  }
  for (const k of [...REQUIRED_COLLECTIONS, ...OPTIONAL_COLLECTIONS]) asArray(v[k], k, where)
  for (const [i, sg] of (v.security_groups ?? []).entries()) {
    if (!Array.isArray(sg.rules)) throw new UsageError(`${where}: security_groups[${i}] (${sg.id}) has no \`rules\` array`)
  }
  for (const [i, acl] of (v.network_acls ?? []).entries()) {
    if (!Array.isArray(acl.rules)) throw new UsageError(`${where}: network_acls[${i}] (${acl.id}) has no \`rules\` array`)
  }
  return {
    ...v,
    instances: v.instances ?? [],
    subnets: v.subnets ?? [],
    security_groups: v.security_groups ?? [],
    network_acls: v.network_acls ?? [],
  } as VpcSnapshot
}

export async function readSnapshotFile(path: string): Promise<VpcSnapshot> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UsageError(`cannot read the VPC configuration ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`)
  }
  return validateSnapshot(json, path)
}

/** Read every collection why-rejected needs from the live API. */
export async function exportVpcSnapshot(client: VpcClient, options: {vpcId?: string} = {}): Promise<VpcSnapshot> {
  const q = options.vpcId ? {'vpc.id': options.vpcId} : {}
  const [vpcs, subnets, instances, securityGroups, networkAcls, floatingIps] = await Promise.all([
    client.listVpcs(),
    client.listSubnets(q),
    client.listInstances(q),
    client.listSecurityGroups(q),
    client.listNetworkAcls(q),
    client.listFloatingIps(),
  ])
  let vnis: Json[] = []
  try {
    vnis = (await client.listVirtualNetworkInterfaces()) as Json[]
  } catch (error) {
    // Older regions/accounts without VNIs: not fatal.
    if (!(error instanceof ApiError || error instanceof ApiAuthError) || error.status === 401) throw error
  }
  const snapshot: VpcSnapshot = {
    vpcs: (options.vpcId ? vpcs.filter((v) => v.id === options.vpcId) : vpcs) as Json[],
    subnets: subnets as Json[],
    instances: instances as Json[],
    security_groups: securityGroups as Json[],
    network_acls: networkAcls as Json[],
    floating_ips: floatingIps as Json[],
  }
  if (vnis.length) snapshot.virtual_network_interfaces = options.vpcId ? vnis.filter((v) => v.vpc?.id === options.vpcId) : vnis
  return snapshot
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

/** An indexed, read-only view of a snapshot. */
export class VpcModel {
  readonly snapshot: VpcSnapshot
  private readonly interfaces = new Map<string, InterfaceInfo>()
  private readonly byIp = new Map<string, InterfaceInfo>()
  private readonly subnets = new Map<string, Subnet>()
  private readonly acls = new Map<string, NetworkAcl>()
  private readonly groups = new Map<string, SecurityGroup>()
  private readonly memberCache = new Map<string, Set<string>>()
  private readonly floating = new Map<string, InterfaceInfo>()

  constructor(snapshot: VpcSnapshot) {
    this.snapshot = snapshot
    for (const s of snapshot.subnets as unknown as Subnet[]) this.subnets.set(s.id, s)
    for (const a of snapshot.network_acls as unknown as NetworkAcl[]) this.acls.set(a.id, a)
    for (const g of snapshot.security_groups as unknown as SecurityGroup[]) this.groups.set(g.id, g)

    const add = (info: InterfaceInfo) => {
      const existing = this.interfaces.get(info.id)
      if (existing) {
        for (const ip of info.ips) if (!existing.ips.includes(ip)) existing.ips.push(ip)
        existing.subnetId ??= info.subnetId
        existing.instanceId ??= info.instanceId
        existing.instanceName ??= info.instanceName
        for (const g of info.securityGroupIds) if (!existing.securityGroupIds.includes(g)) existing.securityGroupIds.push(g)
        for (const a of info.aliases) if (!existing.aliases.includes(a)) existing.aliases.push(a)
        return existing
      }
      this.interfaces.set(info.id, info)
      return info
    }
    const sgIds = (list: unknown): string[] => (Array.isArray(list) ? list.map((g: Json) => g?.id).filter((x): x is string => typeof x === 'string') : [])

    for (const vni of (snapshot.virtual_network_interfaces ?? []) as Json[]) {
      const ips = [vni.primary_ip?.address, ...((vni.ips ?? []) as Json[]).map((i) => i?.address)].filter((x): x is string => isIpv4(x))
      add({
        id: vni.id,
        kind: 'virtual_network_interface',
        name: vni.name,
        ips: [...new Set(ips)],
        primaryIp: vni.primary_ip?.address,
        subnetId: vni.subnet?.id,
        instanceId: /\/instances\/([^/]+)\/network_attachments\//.exec(String(vni.target?.href ?? ''))?.[1],
        securityGroupIds: sgIds(vni.security_groups),
        floatingIps: [],
        aliases: vni.target?.resource_type === 'instance_network_attachment' && typeof vni.target.id === 'string' ? [vni.target.id] : [],
      })
    }
    for (const inst of snapshot.instances as unknown as Instance[]) {
      const nics = [...(inst.network_interfaces ?? [])]
      if (inst.primary_network_interface && !nics.some((n) => n.id === inst.primary_network_interface!.id)) nics.unshift(inst.primary_network_interface)
      for (const nic of nics) {
        add({
          id: nic.id,
          kind: 'network_interface',
          name: nic.name,
          ips: isIpv4(nic.primary_ip?.address) ? [nic.primary_ip.address] : [],
          primaryIp: nic.primary_ip?.address,
          subnetId: nic.subnet?.id,
          instanceId: inst.id,
          instanceName: inst.name,
          securityGroupIds: sgIds(nic.security_groups),
          floatingIps: [],
          aliases: [],
        })
      }
      const atts = [...(inst.network_attachments ?? [])]
      if (inst.primary_network_attachment && !atts.some((a) => a.id === inst.primary_network_attachment!.id)) atts.unshift(inst.primary_network_attachment)
      for (const att of atts) {
        const vniId = att.virtual_network_interface?.id
        const id = vniId ?? att.id
        const info = add({
          id,
          kind: 'virtual_network_interface',
          name: att.name,
          ips: isIpv4(att.primary_ip?.address) ? [att.primary_ip!.address] : [],
          primaryIp: att.primary_ip?.address,
          subnetId: att.subnet?.id,
          instanceId: inst.id,
          instanceName: inst.name,
          securityGroupIds: [],
          floatingIps: [],
          aliases: vniId ? [att.id] : [],
        })
        info.instanceId ??= inst.id
        info.instanceName ??= inst.name
      }
    }
    // Security group membership from the groups' targets (the list call includes them).
    for (const g of this.groups.values()) {
      for (const t of (g.targets ?? []) as Json[]) {
        const info = this.interfaces.get(t.id) ?? [...this.interfaces.values()].find((i) => i.aliases.includes(t.id))
        if (info && !info.securityGroupIds.includes(g.id)) info.securityGroupIds.push(g.id)
      }
    }
    for (const info of this.interfaces.values()) {
      for (const ip of info.ips) if (!this.byIp.has(ip)) this.byIp.set(ip, info)
      for (const alias of info.aliases) if (!this.interfaces.has(alias)) this.interfaces.set(alias, info)
    }
    for (const f of (snapshot.floating_ips ?? []) as Json[]) {
      const target = f.target?.id ? this.interfaces.get(f.target.id) : undefined
      if (target && isIpv4(f.address)) {
        if (!target.floatingIps.includes(f.address)) target.floatingIps.push(f.address)
        this.floating.set(f.address, target)
      }
    }
  }

  /** Every distinct interface. */
  allInterfaces(): InterfaceInfo[] {
    return [...new Set(this.interfaces.values())]
  }

  interface(id: string | undefined | null): InterfaceInfo | undefined {
    return id ? this.interfaces.get(id) : undefined
  }

  interfaceByIp(ip: string): InterfaceInfo | undefined {
    return this.byIp.get(ip)
  }

  /** The interface a public (floating) IP maps to. */
  interfaceByFloatingIp(ip: string): InterfaceInfo | undefined {
    return this.floating.get(ip)
  }

  subnet(id: string | undefined): Subnet | undefined {
    return id ? this.subnets.get(id) : undefined
  }

  acl(id: string | undefined): NetworkAcl | undefined {
    return id ? this.acls.get(id) : undefined
  }

  aclOfSubnet(subnetId: string | undefined): NetworkAcl | undefined {
    return this.acl(this.subnet(subnetId)?.network_acl?.id)
  }

  securityGroup(id: string): SecurityGroup | undefined {
    return this.groups.get(id)
  }

  securityGroups(): SecurityGroup[] {
    return [...this.groups.values()]
  }

  /** The IPs of the interfaces a group is attached to (what a remote SG reference matches). */
  memberIps(sgId: string): Set<string> {
    let set = this.memberCache.get(sgId)
    if (!set) {
      set = new Set()
      for (const t of (this.groups.get(sgId)?.targets ?? []) as Json[]) {
        const info = this.interfaces.get(t.id)
        if (info) for (const ip of info.ips) set.add(ip)
      }
      for (const info of this.allInterfaces()) if (info.securityGroupIds.includes(sgId)) for (const ip of info.ips) set.add(ip)
      this.memberCache.set(sgId, set)
    }
    return set
  }

  /** Interfaces a security group is attached to. */
  interfacesOfGroup(sgId: string): InterfaceInfo[] {
    return this.allInterfaces().filter((i) => i.securityGroupIds.includes(sgId))
  }

  /** Number of targets of a group (from its targets list, else from membership). */
  targetCount(sgId: string): number {
    const g = this.groups.get(sgId)
    if (g?.targets) return g.targets.length
    return this.interfacesOfGroup(sgId).length
  }

  subnetsUsingAcl(aclId: string): Subnet[] {
    return [...this.subnets.values()].filter((s) => s.network_acl?.id === aclId)
  }

  interfacesInSubnet(subnetId: string): InterfaceInfo[] {
    return this.allInterfaces().filter((i) => i.subnetId === subnetId)
  }

  /** The subnet whose CIDR contains an IP. */
  subnetContaining(ip: string): Subnet | undefined {
    return [...this.subnets.values()].find((s) => cidrContainsIp(s.ipv4_cidr_block, ip))
  }

  /** A copy of this configuration with one more rule (what-if). ACL rules honour `before`. */
  withRule(change: {resource: 'security_group'; id: string; rule: SecurityGroupRulePrototype} | {resource: 'network_acl'; id: string; rule: NetworkAclRulePrototype}, ruleId = `proposed-${Math.random().toString(36).slice(2)}`): VpcModel {
    const snapshot = clone(this.snapshot)
    if (change.resource === 'security_group') {
      const sg = (snapshot.security_groups as Json[]).find((g) => g.id === change.id)
      if (!sg) throw new UsageError(`security group ${change.id} is not in the configuration`)
      const rule: SecurityGroupRule = {...clone(change.rule), id: ruleId} as SecurityGroupRule
      sg.rules = [...(sg.rules ?? []), rule]
    } else {
      const acl = (snapshot.network_acls as Json[]).find((a) => a.id === change.id)
      if (!acl) throw new UsageError(`network ACL ${change.id} is not in the configuration`)
      const {before, ...rest} = clone(change.rule)
      const rule = {...rest, id: ruleId} as NetworkAclRule
      const rules: Json[] = [...(acl.rules ?? [])]
      const beforeId = before && 'id' in before ? before.id : undefined
      const index = beforeId ? rules.findIndex((r) => r.id === beforeId) : -1
      if (index >= 0) rules.splice(index, 0, rule)
      else rules.push(rule)
      acl.rules = rules
    }
    return new VpcModel(snapshot)
  }
}
