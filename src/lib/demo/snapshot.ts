/**
 * The VPC configuration of the demo scenario (scenario.ts) as a VPC snapshot: the JSON `flowlog vpc export` writes
 * and `why-rejected --vpc-config` reads. Items are exactly as the VPC API returns them (version VPC_API_VERSION).
 *
 * - vsi1 (10.240.0.4, subnet1): groups flowlogs-sg-vsi1 (inbound TCP 3000 from anywhere, all outbound) and
 *   flowlogs-sg-install-software (outbound to 161.26.0.0/16 on 53, 123, 80, 443). No SSH rule: the blog's rejects.
 * - vsi2 (10.240.64.4, subnet2): groups flowlogs-sg-vsi2 (inbound TCP 3000 from flowlogs-sg-vsi1, all outbound) and
 *   flowlogs-sg-install-software.
 * - Both subnets use flowlogs-acl: allow-inbound, allow-outbound (everything).
 */
import {join} from 'node:path'

import {type Home, writeJsonFile} from '../config/home.js'
import {
  DEMO_ACCOUNT,
  DEMO_ACL,
  DEMO_INSTANCES,
  DEMO_REGION,
  DEMO_SECURITY_GROUPS,
  DEMO_SUBNETS,
  DEMO_VPC,
} from './scenario.js'

/** Where `flowlog demo` writes the snapshot, and where why-rejected looks for it by default. */
export function vpcSnapshotPath(home: Pick<Home, 'root'>): string {
  return join(home.root, 'vpc-snapshot.json')
}

export const DEMO_CONFIG_CREATED_AT = '2025-06-02T09:30:00Z'
const BASE = `https://${DEMO_REGION}.iaas.cloud.ibm.com/v1`
const RESOURCE_GROUP = {
  id: 'fee82deba12e4c0fb69c3b09d1f12345',
  href: `https://resource-controller.cloud.ibm.com/v2/resource_groups/fee82deba12e4c0fb69c3b09d1f12345`,
  name: 'default',
}
const crn = (location: string, type: string, id: string) => `crn:v1:bluemix:public:is:${location}:a/${DEMO_ACCOUNT}::${type}:${id}`

/** Deterministic rule ids so that tests and undo entries are stable. */
export const DEMO_RULE_IDS = {
  aclAllowInbound: 'r006-5f1b6c2e-8d3a-4b7c-9e0f-1a2b3c4d5e61',
  aclAllowOutbound: 'r006-5f1b6c2e-8d3a-4b7c-9e0f-1a2b3c4d5e62',
  vsi1InboundApp: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c01',
  vsi1OutboundAll: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c02',
  vsi2InboundApp: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c11',
  vsi2OutboundAll: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c12',
  installDnsUdp: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c21',
  installDnsTcp: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c22',
  installNtp: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c23',
  installHttp: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c24',
  installHttps: 'r006-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c25',
} as const

export interface VpcSnapshot {
  vpcs?: Record<string, unknown>[]
  subnets: Record<string, unknown>[]
  instances: Record<string, unknown>[]
  security_groups: Record<string, unknown>[]
  network_acls: Record<string, unknown>[]
  floating_ips?: Record<string, unknown>[]
  virtual_network_interfaces?: Record<string, unknown>[]
  [collection: string]: unknown
}

function vpcRef() {
  return {crn: DEMO_VPC.crn, href: `${BASE}/vpcs/${DEMO_VPC.id}`, id: DEMO_VPC.id, name: DEMO_VPC.name, resource_type: 'vpc'}
}

function sgRef(key: keyof typeof DEMO_SECURITY_GROUPS) {
  const g = DEMO_SECURITY_GROUPS[key]
  return {crn: crn(DEMO_REGION, 'security-group', g.id), href: `${BASE}/security_groups/${g.id}`, id: g.id, name: g.name}
}

function subnetRef(key: keyof typeof DEMO_SUBNETS) {
  const s = DEMO_SUBNETS[key]
  return {crn: s.crn, href: `${BASE}/subnets/${s.id}`, id: s.id, name: s.name, resource_type: 'subnet'}
}

function aclRef() {
  return {crn: crn(DEMO_REGION, 'network-acl', DEMO_ACL.id), href: `${BASE}/network_acls/${DEMO_ACL.id}`, id: DEMO_ACL.id, name: DEMO_ACL.name}
}

function reservedIp(subnetId: string, address: string, name: string, id: string) {
  return {address, href: `${BASE}/subnets/${subnetId}/reserved_ips/${id}`, id, name, resource_type: 'subnet_reserved_ip'}
}

const RESERVED_IP_IDS: Record<keyof typeof DEMO_INSTANCES, string> = {
  vsi1: '0717-6a1c9f1e-2b3d-4c5e-8f70-1a2b3c4d5e01',
  vsi2: '0727-6a1c9f1e-2b3d-4c5e-8f70-1a2b3c4d5e02',
}

function nicOf(key: keyof typeof DEMO_INSTANCES) {
  const i = DEMO_INSTANCES[key]
  const subnet = DEMO_SUBNETS[i.subnet]
  return {
    href: `${BASE}/instances/${i.id}/network_interfaces/${i.vnic}`,
    id: i.vnic,
    name: i.vnicName,
    primary_ip: reservedIp(subnet.id, i.ip, `${i.name}-ip`, RESERVED_IP_IDS[key]),
    resource_type: 'network_interface',
    subnet: subnetRef(i.subnet),
  }
}

function instance(key: keyof typeof DEMO_INSTANCES) {
  const i = DEMO_INSTANCES[key]
  const subnet = DEMO_SUBNETS[i.subnet]
  const nic = nicOf(key)
  return {
    bandwidth: 4000,
    boot_volume_attachment: {
      device: {id: `${i.id}-boot`},
      href: `${BASE}/instances/${i.id}/volume_attachments/${i.id}-boot`,
      id: `${i.id}-boot`,
      name: `${i.name}-boot`,
      volume: {crn: crn(subnet.zone, 'volume', `${i.id}-vol`), href: `${BASE}/volumes/${i.id}-vol`, id: `${i.id}-vol`, name: `${i.name}-boot-volume`},
    },
    created_at: DEMO_CONFIG_CREATED_AT,
    crn: i.crn,
    href: `${BASE}/instances/${i.id}`,
    id: i.id,
    image: {crn: crn(DEMO_REGION, 'image', 'r006-ubuntu-22-04'), href: `${BASE}/images/r006-ubuntu-22-04`, id: 'r006-ubuntu-22-04', name: 'ibm-ubuntu-22-04-minimal-amd64-1'},
    lifecycle_state: 'stable',
    memory: 4,
    name: i.name,
    network_interfaces: [nic],
    primary_network_interface: nic,
    profile: {href: `${BASE}/instance/profiles/cx2-2x4`, name: 'cx2-2x4'},
    resource_group: RESOURCE_GROUP,
    resource_type: 'instance',
    status: 'running',
    vcpu: {architecture: 'amd64', count: 2, manufacturer: 'intel'},
    vpc: vpcRef(),
    zone: {href: `${BASE}/regions/${DEMO_REGION}/zones/${subnet.zone}`, name: subnet.zone},
  }
}

function nicTarget(key: keyof typeof DEMO_INSTANCES) {
  const i = DEMO_INSTANCES[key]
  return {href: `${BASE}/instances/${i.id}/network_interfaces/${i.vnic}`, id: i.vnic, name: i.vnicName, resource_type: 'network_interface'}
}

function sgRule(sg: string, id: string, rule: Record<string, unknown>) {
  return {
    created_at: DEMO_CONFIG_CREATED_AT,
    href: `${BASE}/security_groups/${sg}/rules/${id}`,
    id,
    ip_version: 'ipv4',
    ...rule,
    resource_type: 'security_group_rule',
  }
}

function securityGroup(key: keyof typeof DEMO_SECURITY_GROUPS, rules: Record<string, unknown>[], targets: Record<string, unknown>[]) {
  const g = DEMO_SECURITY_GROUPS[key]
  return {
    created_at: DEMO_CONFIG_CREATED_AT,
    crn: crn(DEMO_REGION, 'security-group', g.id),
    href: `${BASE}/security_groups/${g.id}`,
    id: g.id,
    name: g.name,
    resource_group: RESOURCE_GROUP,
    rules,
    targets,
    vpc: vpcRef(),
  }
}

const ANY = {cidr_block: '0.0.0.0/0'}
const IBM_SERVICES = {cidr_block: '161.26.0.0/16'}

/** The demo's VPC configuration (a fresh copy each call). */
export function demoVpcSnapshot(): VpcSnapshot {
  const v1 = DEMO_SECURITY_GROUPS.vsi1.id
  const v2 = DEMO_SECURITY_GROUPS.vsi2.id
  const inst = DEMO_SECURITY_GROUPS.install.id
  const R = DEMO_RULE_IDS
  const securityGroups = [
    securityGroup(
      'vsi1',
      [
        sgRule(v1, R.vsi1InboundApp, {direction: 'inbound', name: 'allow-app-3000', protocol: 'tcp', port_min: 3000, port_max: 3000, remote: ANY, local: ANY}),
        sgRule(v1, R.vsi1OutboundAll, {direction: 'outbound', name: 'allow-all-outbound', protocol: 'icmp_tcp_udp', remote: ANY, local: ANY}),
      ],
      [nicTarget('vsi1')],
    ),
    securityGroup(
      'vsi2',
      [
        sgRule(v2, R.vsi2InboundApp, {direction: 'inbound', name: 'allow-app-3000-from-vsi1', protocol: 'tcp', port_min: 3000, port_max: 3000, remote: sgRef('vsi1'), local: ANY}),
        sgRule(v2, R.vsi2OutboundAll, {direction: 'outbound', name: 'allow-all-outbound', protocol: 'icmp_tcp_udp', remote: ANY, local: ANY}),
      ],
      [nicTarget('vsi2')],
    ),
    securityGroup(
      'install',
      [
        sgRule(inst, R.installDnsUdp, {direction: 'outbound', name: 'allow-dns-udp', protocol: 'udp', port_min: 53, port_max: 53, remote: IBM_SERVICES, local: ANY}),
        sgRule(inst, R.installDnsTcp, {direction: 'outbound', name: 'allow-dns-tcp', protocol: 'tcp', port_min: 53, port_max: 53, remote: IBM_SERVICES, local: ANY}),
        sgRule(inst, R.installNtp, {direction: 'outbound', name: 'allow-ntp', protocol: 'udp', port_min: 123, port_max: 123, remote: IBM_SERVICES, local: ANY}),
        sgRule(inst, R.installHttp, {direction: 'outbound', name: 'allow-http', protocol: 'tcp', port_min: 80, port_max: 80, remote: IBM_SERVICES, local: ANY}),
        sgRule(inst, R.installHttps, {direction: 'outbound', name: 'allow-https', protocol: 'tcp', port_min: 443, port_max: 443, remote: IBM_SERVICES, local: ANY}),
      ],
      [nicTarget('vsi1'), nicTarget('vsi2')],
    ),
  ]

  const aclRule = (id: string, name: string, direction: 'inbound' | 'outbound', before?: {id: string; name: string}) => ({
    action: 'allow',
    ...(before ? {before: {href: `${BASE}/network_acls/${DEMO_ACL.id}/rules/${before.id}`, id: before.id, name: before.name}} : {}),
    created_at: DEMO_CONFIG_CREATED_AT,
    destination: '0.0.0.0/0',
    direction,
    href: `${BASE}/network_acls/${DEMO_ACL.id}/rules/${id}`,
    id,
    ip_version: 'ipv4',
    name,
    protocol: 'icmp_tcp_udp',
    source: '0.0.0.0/0',
  })
  const networkAcls = [
    {
      created_at: DEMO_CONFIG_CREATED_AT,
      crn: crn(DEMO_REGION, 'network-acl', DEMO_ACL.id),
      href: `${BASE}/network_acls/${DEMO_ACL.id}`,
      id: DEMO_ACL.id,
      name: DEMO_ACL.name,
      resource_group: RESOURCE_GROUP,
      rules: [
        aclRule(R.aclAllowInbound, 'allow-inbound', 'inbound', {id: R.aclAllowOutbound, name: 'allow-outbound'}),
        aclRule(R.aclAllowOutbound, 'allow-outbound', 'outbound'),
      ],
      subnets: [subnetRef('subnet1'), subnetRef('subnet2')],
      vpc: vpcRef(),
    },
  ]

  const subnet = (key: keyof typeof DEMO_SUBNETS) => {
    const s = DEMO_SUBNETS[key]
    return {
      available_ipv4_address_count: 250,
      created_at: DEMO_CONFIG_CREATED_AT,
      crn: s.crn,
      href: `${BASE}/subnets/${s.id}`,
      id: s.id,
      ip_version: 'ipv4',
      ipv4_cidr_block: s.cidr,
      name: s.name,
      network_acl: aclRef(),
      resource_group: RESOURCE_GROUP,
      resource_type: 'subnet',
      status: 'available',
      total_ipv4_address_count: 256,
      vpc: vpcRef(),
      zone: {href: `${BASE}/regions/${DEMO_REGION}/zones/${s.zone}`, name: s.zone},
    }
  }

  const vsi1 = DEMO_INSTANCES.vsi1
  const floatingIps = [
    {
      address: vsi1.floatingIp,
      created_at: DEMO_CONFIG_CREATED_AT,
      crn: crn(DEMO_SUBNETS.subnet1.zone, 'floating-ip', vsi1.floatingIpId),
      href: `${BASE}/floating_ips/${vsi1.floatingIpId}`,
      id: vsi1.floatingIpId,
      name: `${vsi1.name}-fip`,
      resource_group: RESOURCE_GROUP,
      status: 'available',
      target: {...nicTarget('vsi1'), primary_ip: nicOf('vsi1').primary_ip},
      zone: {href: `${BASE}/regions/${DEMO_REGION}/zones/${DEMO_SUBNETS.subnet1.zone}`, name: DEMO_SUBNETS.subnet1.zone},
    },
  ]

  const vpcs = [
    {
      classic_access: false,
      created_at: DEMO_CONFIG_CREATED_AT,
      crn: DEMO_VPC.crn,
      default_network_acl: aclRef(),
      href: `${BASE}/vpcs/${DEMO_VPC.id}`,
      id: DEMO_VPC.id,
      name: DEMO_VPC.name,
      resource_group: RESOURCE_GROUP,
      resource_type: 'vpc',
      status: 'available',
    },
  ]

  return {
    vpcs,
    subnets: [subnet('subnet1'), subnet('subnet2')],
    instances: [instance('vsi1'), instance('vsi2')],
    security_groups: securityGroups,
    network_acls: networkAcls,
    floating_ips: floatingIps,
  }
}

/** Write the demo snapshot into the home (`flowlog demo` calls this); returns the path. */
export async function writeDemoSnapshot(home: Pick<Home, 'root'>): Promise<string> {
  const path = vpcSnapshotPath(home)
  await writeJsonFile(path, demoVpcSnapshot())
  return path
}
