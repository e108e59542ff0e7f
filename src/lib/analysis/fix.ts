/**
 * The minimal fix (docs/why-rejected.md §5): one allow rule per blocking layer, narrowed to the observed address and the
 * exact port, placed `before` the deciding ACL rule; shown as the REST body, the `ibmcloud is` command, Terraform
 * and a one-line diff.
 */
import {UsageError} from '../errors.js'
import type {NetworkAclRulePrototype, SecurityGroupRulePrototype} from '../ibmcloud/vpc.js'
import {describeAclRule, describeSgRule, type FlowEvaluation, type FlowSpec, type LayerResult, protocolName} from './evaluate.js'
import {ipSlug, parseCidr} from './ip.js'
import type {VpcModel} from './model.js'

export type FixRule = SecurityGroupRulePrototype | NetworkAclRulePrototype

export interface FixEntry {
  resource: 'security_group' | 'network_acl'
  /** The group or ACL the rule is added to. */
  id: string
  name?: string
  /** The rule prototype exactly as POSTed. */
  rule: FixRule
  /** The equivalent `ibmcloud is` command. */
  command: string
  terraform: string
  /** `+ sg1 inbound tcp 22 from 24.22.68.94/32` */
  diff: string
  /** Which layer it fixes. */
  layer: {layer: 'acl' | 'sg'; direction: 'inbound' | 'outbound'; path: 'forward' | 'return'}
  /** SG: other interfaces sharing the group; ACL: subnets using the ACL. */
  shared_with: string[]
  warnings: string[]
}

export interface FixAlternative {
  description: string
  resource: 'security_group' | 'network_acl'
  id: string
  rule?: FixRule
  command?: string
}

export interface FixOptions {
  /** --sg: the group to add an SG rule to. */
  sg?: string
  /** --remote-cidr: widen the remote/source (the user's choice; never widened on our own). */
  remoteCidr?: string
}

const NAME_MAX = 63

function uniqueName(base: string, taken: Set<string>): string {
  let name = base.slice(0, NAME_MAX).replace(/-+$/, '')
  for (let i = 2; taken.has(name); i++) {
    const suffix = `-${i}`
    name = base.slice(0, NAME_MAX - suffix.length).replace(/-+$/, '') + suffix
  }
  return name
}

/** Validate and normalise --remote-cidr: a plain address or /32 stays an address. */
export function normaliseRemote(remoteCidr: string | undefined, observed: string): {address: string} | {cidr_block: string} {
  if (remoteCidr === undefined) return {address: observed}
  const c = parseCidr(remoteCidr)
  if (!c) throw new UsageError(`--remote-cidr ${JSON.stringify(remoteCidr)} is not an IPv4 address or CIDR block`)
  if (c.bits === 32) return {address: remoteCidr.split('/')[0]}
  const text = `${remoteCidr.split('/')[0]}/${c.bits}`
  return {cidr_block: text}
}

function remoteSpec(remote: {address: string} | {cidr_block: string}): string {
  return 'address' in remote ? remote.address : remote.cidr_block
}

function shellArg(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

export function sgRuleCommand(sgId: string, rule: SecurityGroupRulePrototype): string {
  const parts = ['ibmcloud', 'is', 'security-group-rule-add', sgId, rule.direction, rule.protocol]
  const remote = rule.remote?.address ?? rule.remote?.cidr_block ?? rule.remote?.id
  if (remote) parts.push('--remote', remote)
  if (rule.port_min !== undefined) parts.push('--port-min', String(rule.port_min))
  if (rule.port_max !== undefined) parts.push('--port-max', String(rule.port_max))
  if (rule.type !== undefined) parts.push('--icmp-type', String(rule.type))
  if (rule.code !== undefined) parts.push('--icmp-code', String(rule.code))
  return parts.map(shellArg).join(' ')
}

export function aclRuleCommand(aclId: string, rule: NetworkAclRulePrototype): string {
  const parts = ['ibmcloud', 'is', 'network-acl-rule-add', aclId, rule.action, rule.direction, rule.protocol, rule.source, rule.destination]
  if (rule.name) parts.push('--name', rule.name)
  if (rule.source_port_min !== undefined) parts.push('--source-port-min', String(rule.source_port_min), '--source-port-max', String(rule.source_port_max))
  if (rule.destination_port_min !== undefined) {
    parts.push('--destination-port-min', String(rule.destination_port_min), '--destination-port-max', String(rule.destination_port_max))
  }
  if (rule.type !== undefined) parts.push('--icmp-type', String(rule.type))
  if (rule.code !== undefined) parts.push('--icmp-code', String(rule.code))
  if (rule.before && 'id' in rule.before) parts.push('--before-rule-id', rule.before.id)
  return parts.map(shellArg).join(' ')
}

function tfName(name: string | undefined, fallback: string): string {
  return (name ?? fallback).replace(/[^A-Za-z0-9_]/g, '_')
}

export function sgRuleTerraform(sgId: string, rule: SecurityGroupRulePrototype): string {
  const lines = [`resource "ibm_is_security_group_rule" "${tfName(rule.name, 'flowlog_fix')}" {`, `  group     = "${sgId}"`, `  direction = "${rule.direction}"`]
  const remote = rule.remote?.address ?? rule.remote?.cidr_block ?? rule.remote?.id
  if (remote) lines.push(`  remote    = "${remote}"`)
  if (rule.protocol === 'tcp' || rule.protocol === 'udp') {
    lines.push(`  ${rule.protocol} {`, `    port_min = ${rule.port_min ?? 1}`, `    port_max = ${rule.port_max ?? 65535}`, '  }')
  } else if (rule.protocol === 'icmp') {
    lines.push('  icmp {', ...(rule.type !== undefined ? [`    type = ${rule.type}`] : []), '  }')
  }
  lines.push('}')
  return lines.join('\n')
}

export function aclRuleTerraform(aclId: string, rule: NetworkAclRulePrototype): string {
  const lines = [`resource "ibm_is_network_acl_rule" "${tfName(rule.name, 'flowlog_fix')}" {`, `  network_acl = "${aclId}"`]
  if (rule.before && 'id' in rule.before) lines.push(`  before      = "${rule.before.id}"`)
  lines.push(
    `  name        = "${rule.name}"`,
    `  action      = "${rule.action}"`,
    `  direction   = "${rule.direction}"`,
    `  source      = "${rule.source}"`,
    `  destination = "${rule.destination}"`,
  )
  if (rule.protocol === 'tcp' || rule.protocol === 'udp') {
    lines.push(
      `  ${rule.protocol} {`,
      `    port_min        = ${rule.destination_port_min ?? 1}`,
      `    port_max        = ${rule.destination_port_max ?? 65535}`,
      `    source_port_min = ${rule.source_port_min ?? 1}`,
      `    source_port_max = ${rule.source_port_max ?? 65535}`,
      '  }',
    )
  } else if (rule.protocol === 'icmp') {
    lines.push('  icmp {', '  }')
  }
  lines.push('}')
  return lines.join('\n')
}

/** The group the SG fix goes to: --sg, else the attached group with the fewest targets (ties: interface order). */
export function chooseSecurityGroup(model: VpcModel, f: FlowSpec, override?: string): string {
  const groups = f.iface.securityGroupIds.filter((g) => model.securityGroup(g))
  if (override) {
    const byName = model.securityGroups().find((g) => g.id === override || g.name === override)
    if (!byName) throw new UsageError(`--sg ${override}: no such security group in the configuration`)
    if (!f.iface.securityGroupIds.includes(byName.id)) {
      throw new UsageError(`--sg ${override} is not attached to interface ${f.iface.id}: a rule there would not change anything`, {
        suggestions: [`Attached groups: ${f.iface.securityGroupIds.map((g) => model.securityGroup(g)?.name ?? g).join(', ') || 'none'}`],
      })
    }
    return byName.id
  }
  if (groups.length === 0) throw new UsageError(`interface ${f.iface.id} has no security group in the configuration to add a rule to`)
  let best = groups[0]
  for (const g of groups) if (model.targetCount(g) < model.targetCount(best)) best = g
  return best
}

function protoFor(f: FlowSpec): string {
  return protocolName(f.proto)
}

/** One fix entry per blocking local layer, in path order (§5). */
export function buildFix(model: VpcModel, f: FlowSpec, evaluation: FlowEvaluation, options: FixOptions = {}): {fix: FixEntry[]; alternatives: FixAlternative[]} {
  const fix: FixEntry[] = []
  const alternatives: FixAlternative[] = []
  const proto = protoFor(f)
  const withPorts = proto === 'tcp' || proto === 'udp'
  const t = f.servicePort
  const remote = normaliseRemote(options.remoteCidr, f.peerIp)
  const peerSpec = remoteSpec(remote)
  const slug = ipSlug(peerSpec)
  const portSlug = withPorts && t !== undefined ? `-${t}` : ''
  for (const layer of evaluation.blocking) {
    if (layer.layer === 'sg') fix.push(sgFix(model, f, layer, remote, options, slug, portSlug, proto, alternatives))
    else fix.push(aclFix(model, f, layer, peerSpec, slug, portSlug, proto))
  }
  return {fix, alternatives}
}

function sgFix(
  model: VpcModel,
  f: FlowSpec,
  layer: LayerResult,
  remote: {address: string} | {cidr_block: string},
  options: FixOptions,
  slug: string,
  portSlug: string,
  proto: string,
  alternatives: FixAlternative[],
): FixEntry {
  const sgId = chooseSecurityGroup(model, f, options.sg)
  const sg = model.securityGroup(sgId)!
  const inbound = layer.direction === 'inbound'
  const taken = new Set((sg.rules ?? []).map((r) => r.name).filter((n): n is string => Boolean(n)))
  const rule: SecurityGroupRulePrototype = {
    direction: layer.direction,
    protocol: proto,
    ...(proto === 'tcp' || proto === 'udp' ? {port_min: f.servicePort, port_max: f.servicePort} : {}),
    remote,
    ip_version: 'ipv4',
    name: uniqueName(`flowlog-allow-${proto}${portSlug}-${inbound ? 'from' : 'to'}-${slug}`, taken),
  }
  const shared = model
    .interfacesOfGroup(sgId)
    .filter((i) => i.id !== f.iface.id)
    .map((i) => `${i.instanceName ?? i.id} (${i.primaryIp ?? i.id})`)
  const warnings: string[] = []
  if (shared.length) warnings.push(`${sg.name ?? sgId} is also attached to ${shared.join(', ')}: the rule applies there too`)
  if ('cidr_block' in remote && remote.cidr_block.endsWith('/0')) warnings.push(`the rule admits ${proto}/${f.servicePort} from the whole internet`)
  const shown = 'address' in remote ? `${remote.address}/32` : remote.cidr_block
  // Same-VPC peer: offer a remote security-group reference instead of the address.
  const peer = model.interfaceByIp(f.peerIp)
  if (peer && peer.id !== f.iface.id) {
    for (const gid of peer.securityGroupIds) {
      const g = model.securityGroup(gid)
      if (!g) continue
      const alt: SecurityGroupRulePrototype = {...rule, remote: {id: gid}, name: uniqueName(`flowlog-allow-${proto}${portSlug}-${inbound ? 'from' : 'to'}-${g.name ?? 'sg'}`, taken)}
      alternatives.push({
        description: `allow ${proto}${portSlug.replace('-', '/')} ${inbound ? 'from' : 'to'} every member of ${g.name ?? gid} (${f.peerIp}'s group) instead of the address`,
        resource: 'security_group',
        id: sgId,
        rule: alt,
        command: sgRuleCommand(sgId, alt),
      })
    }
    if (inbound) {
      for (const rule2 of model.securityGroups().flatMap((g) => (f.iface.securityGroupIds.includes(g.id) ? (g.rules ?? []).map((r) => ({g, r})) : []))) {
        const refId = rule2.r.remote?.id
        if (rule2.r.direction === 'inbound' && refId && refId !== sgId && !peer.securityGroupIds.includes(refId)) {
          alternatives.push({
            description: `attach ${model.securityGroup(refId)?.name ?? refId} to ${peer.instanceName ?? peer.id}: ${rule2.g.name ?? rule2.g.id} already admits its members (\`${describeSgRule(rule2.r, model)}\`)`,
            resource: 'security_group',
            id: refId,
          })
        }
      }
    }
  }
  return {
    resource: 'security_group',
    id: sgId,
    name: sg.name,
    rule,
    command: sgRuleCommand(sgId, rule),
    terraform: sgRuleTerraform(sgId, rule),
    diff: `+ ${sg.name ?? sgId} ${layer.direction} ${proto}${f.servicePort !== undefined && (proto === 'tcp' || proto === 'udp') ? ` ${f.servicePort}` : ''} ${inbound ? 'from' : 'to'} ${shown}`,
    layer: {layer: 'sg', direction: layer.direction, path: layer.path},
    shared_with: shared,
    warnings,
  }
}

function aclFix(model: VpcModel, f: FlowSpec, layer: LayerResult, peerSpec: string, slug: string, portSlug: string, proto: string): FixEntry {
  const acl = model.acl(layer.acl!.id)!
  const withPorts = proto === 'tcp' || proto === 'udp'
  const t = f.servicePort
  const toLocal = layer.direction === 'inbound'
  const forward = layer.path === 'forward'
  const taken = new Set((acl.rules ?? []).map((r) => r.name).filter((n): n is string => Boolean(n)))
  const clientMin = Math.min(1024, f.clientPorts.min)
  const rule: NetworkAclRulePrototype = {
    action: 'allow',
    direction: layer.direction,
    protocol: proto,
    source: toLocal ? peerSpec : f.localIp,
    destination: toLocal ? f.localIp : peerSpec,
  } as NetworkAclRulePrototype
  if (withPorts && t !== undefined) {
    if (forward) {
      // Towards the service port t; source (client) ports left out = any.
      rule.destination_port_min = t
      rule.destination_port_max = t
    } else {
      // The reply: from the service port t, to the client's ephemeral ports.
      rule.source_port_min = t
      rule.source_port_max = t
      rule.destination_port_min = clientMin
      rule.destination_port_max = 65535
    }
  }
  const dirWord = toLocal ? 'in' : 'out'
  const peerWord = toLocal ? 'from' : 'to'
  rule.name = uniqueName(`flowlog-${dirWord}-${proto}${portSlug}-${peerWord}-${slug}${forward ? '' : '-return'}`, taken)
  if (layer.rule?.action === 'deny') rule.before = {id: layer.rule.id}
  const subnets = model.subnetsUsingAcl(acl.id).map((s) => `${s.name ?? s.id} (${s.ipv4_cidr_block})`)
  const warnings = [
    `ACL ${acl.name ?? acl.id} applies to every interface in ${subnets.length ? subnets.join(', ') : 'its subnets'}`,
    'ACL changes also affect connections that are already open',
  ]
  if (!rule.before) warnings.push('no rule matches this traffic today (implicit deny), so the rule is appended at the end')
  const where = rule.before ? ` before \`${layer.rule?.name ?? layer.rule?.id}\` (position ${layer.rule?.position})` : ' at the end'
  return {
    resource: 'network_acl',
    id: acl.id,
    name: acl.name,
    rule,
    command: aclRuleCommand(acl.id, rule),
    terraform: aclRuleTerraform(acl.id, rule),
    diff: `+ ${acl.name ?? acl.id} ${describeAclRule(rule as never)}${where}`,
    layer: {layer: 'acl', direction: layer.direction, path: layer.path},
    shared_with: subnets,
    warnings,
  }
}
