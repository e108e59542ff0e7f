/**
 * VPC configurations for the why-rejected scenarios (docs/why-rejected.md §9), built from the demo snapshot.
 */
import {demoVpcSnapshot, type VpcSnapshot} from '../../src/lib/demo/snapshot.js'
import {DEMO_ACL, DEMO_INSTANCES, DEMO_SECURITY_GROUPS, DEMO_SUBNETS} from '../../src/lib/demo/scenario.js'

type Json = Record<string, any>

export const VSI1 = DEMO_INSTANCES.vsi1
export const VSI2 = DEMO_INSTANCES.vsi2
export const SG1 = DEMO_SECURITY_GROUPS.vsi1.id
export const SG2 = DEMO_SECURITY_GROUPS.vsi2.id
export const SG_INSTALL = DEMO_SECURITY_GROUPS.install.id
export const ACL = DEMO_ACL.id
export const LAPTOP = '24.22.68.94'

export const ids = {
  denySsh: 'r006-acl0-0000-0000-0000-00000000dd22',
  denyAll: 'r006-acl0-0000-0000-0000-0000000dea11',
  allowIn22: 'r006-acl0-0000-0000-0000-0000000a1122',
  allowOut443: 'r006-acl0-0000-0000-0000-0000000a0443',
  allowAdmin: 'r006-acl0-0000-0000-0000-0000000adm1n',
  sg1Ssh: 'r006-sg10-0000-0000-0000-000000000022',
}

export function acl(s: VpcSnapshot): Json {
  return (s.network_acls as Json[]).find((a) => a.id === ACL)!
}

export function sg(s: VpcSnapshot, id: string): Json {
  return (s.security_groups as Json[]).find((g) => g.id === id)!
}

export function aclRule(id: string, name: string, action: 'allow' | 'deny', direction: 'inbound' | 'outbound', extra: Json = {}): Json {
  return {id, name, action, direction, protocol: 'any', source: '0.0.0.0/0', destination: '0.0.0.0/0', ip_version: 'ipv4', created_at: '2025-06-02T09:30:00Z', ...extra}
}

/** S1: the demo as is. */
export function s1(): VpcSnapshot {
  return demoVpcSnapshot()
}

/** S2: ACL = [deny-ssh inbound tcp any→any :22, allow-inbound, allow-outbound]; sg1 also allows tcp 22 from anywhere. */
export function s2(): VpcSnapshot {
  const s = demoVpcSnapshot()
  const a = acl(s)
  a.rules = [
    aclRule(ids.denySsh, 'deny-ssh', 'deny', 'inbound', {protocol: 'tcp', destination_port_min: 22, destination_port_max: 22, source_port_min: 1, source_port_max: 65535}),
    ...a.rules,
  ]
  sg(s, SG1).rules.push({id: ids.sg1Ssh, name: 'allow-ssh', direction: 'inbound', protocol: 'tcp', port_min: 22, port_max: 22, remote: {cidr_block: '0.0.0.0/0'}, ip_version: 'ipv4'})
  return s
}

/** S2b: S2 plus a later allow rule that the deny shadows. */
export function s2Shadow(): VpcSnapshot {
  const s = s2()
  const a = acl(s)
  a.rules.splice(1, 0, aclRule(ids.allowAdmin, 'allow-admin', 'allow', 'inbound', {protocol: 'tcp', source: '24.22.68.0/24', destination_port_min: 22, destination_port_max: 22, source_port_min: 1, source_port_max: 65535}))
  return s
}

/** S3: inbound allows tcp :22; outbound has only allow tcp src :443 then deny-all (any); sg1 allows 22. */
export function s3(): VpcSnapshot {
  const s = s2()
  const a = acl(s)
  a.rules = [
    aclRule(ids.allowIn22, 'allow-ssh-in', 'allow', 'inbound', {protocol: 'tcp', destination_port_min: 22, destination_port_max: 22, source_port_min: 1, source_port_max: 65535}),
    aclRule(ids.allowOut443, 'allow-https-out', 'allow', 'outbound', {protocol: 'tcp', source_port_min: 443, source_port_max: 443, destination_port_min: 1, destination_port_max: 65535}),
    aclRule(ids.denyAll, 'deny-all', 'deny', 'outbound', {protocol: 'any'}),
  ]
  return s
}

/** S4: vsi2 without install_software. */
export function s4(): VpcSnapshot {
  const s = demoVpcSnapshot()
  const g = sg(s, SG_INSTALL)
  g.targets = g.targets.filter((t: Json) => t.id !== VSI2.vnic)
  // vsi2's own group: no outbound rule at all.
  sg(s, SG2).rules = sg(s, SG2).rules.filter((r: Json) => r.direction === 'inbound')
  return s
}

/** S8: vsi3 (10.240.0.8 in subnet1) with only sg3 (outbound tcp 3000 anywhere). */
export const VSI3 = {id: '0717_vsi3-0000', vnic: '0717-vsi3-nic-0000', ip: '10.240.0.8', name: 'flowlogs-vsi3'}
export const SG3 = 'r006-sg3-0000-0000-0000-000000000003'
export function s8(): VpcSnapshot {
  const s = demoVpcSnapshot()
  const subnet1 = DEMO_SUBNETS.subnet1
  const nic = {id: VSI3.vnic, name: 'eth0', primary_ip: {address: VSI3.ip}, resource_type: 'network_interface', subnet: {id: subnet1.id, name: subnet1.name}}
  ;(s.instances as Json[]).push({id: VSI3.id, name: VSI3.name, network_interfaces: [nic], primary_network_interface: nic, vpc: {id: 'v'}})
  ;(s.security_groups as Json[]).push({
    id: SG3,
    name: 'flowlogs-sg-vsi3',
    rules: [{id: 'r006-sg3-rule-out3000', name: 'out-3000', direction: 'outbound', protocol: 'tcp', port_min: 3000, port_max: 3000, remote: {cidr_block: '0.0.0.0/0'}}],
    targets: [{id: VSI3.vnic, name: 'eth0', resource_type: 'network_interface'}],
  })
  return s
}

/** The same snapshot with every `icmp_tcp_udp` spelled `all` (an older API version). */
export function oldSpelling(s: VpcSnapshot): VpcSnapshot {
  const text = JSON.stringify(s).replace(/"icmp_tcp_udp"/g, '"all"')
  return JSON.parse(text) as VpcSnapshot
}
