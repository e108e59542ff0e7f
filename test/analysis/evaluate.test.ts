import {expect} from 'chai'

import {
  aclDecide,
  evaluateFlow,
  type FlowSpec,
  nearMissesFor,
  protocolMatches,
  sgDecide,
} from '../../src/lib/analysis/evaluate.js'
import {buildFix} from '../../src/lib/analysis/fix.js'
import {cidrContainsIp, isPublicIp, parseCidr} from '../../src/lib/analysis/ip.js'
import {VpcModel} from '../../src/lib/analysis/model.js'
import {applyFixToModel} from '../../src/lib/analysis/whatif.js'
import type {NetworkAcl} from '../../src/lib/ibmcloud/vpc.js'
import {ACL, acl, aclRule, ids, LAPTOP, oldSpelling, s1, s2, s2Shadow, s3, s4, s8, sg, SG1, SG2, SG3, SG_INSTALL, VSI1, VSI2, VSI3} from './scenarios.js'

function flow(model: VpcModel, over: Partial<FlowSpec> & {nic?: string} = {}): FlowSpec {
  const iface = model.interface(over.nic ?? VSI1.vnic)!
  return {
    iface,
    initiated: 'inbound',
    proto: 6,
    localIp: iface.primaryIp!,
    peerIp: LAPTOP,
    servicePort: 22,
    clientPorts: {min: 51234, max: 51234},
    ...over,
  }
}

const local = (e: ReturnType<typeof evaluateFlow>) => e.layers.filter((l) => l.side === 'local').map((l) => `${l.layer}:${l.direction}:${l.path}:${l.decision}`)

describe('ip helpers', () => {
  it('parses CIDRs and plain addresses, and tests containment', () => {
    expect(parseCidr('10.240.0.0/24')?.bits).to.equal(24)
    expect(parseCidr('24.22.68.94')?.bits).to.equal(32)
    expect(parseCidr('10.0.0.0/33')).to.equal(undefined)
    expect(cidrContainsIp('10.240.0.0/24', '10.240.0.4')).to.equal(true)
    expect(cidrContainsIp('10.240.0.0/24', '10.240.64.4')).to.equal(false)
    expect(cidrContainsIp('0.0.0.0/0', '24.22.68.94')).to.equal(true)
    expect(cidrContainsIp('24.22.68.94', '24.22.68.94')).to.equal(true)
    expect(isPublicIp('24.22.68.94')).to.equal(true)
    expect(isPublicIp('161.26.0.10')).to.equal(false)
    expect(isPublicIp('172.20.1.1')).to.equal(false)
  })
})

describe('protocol matching', () => {
  const cases: [string, number, boolean][] = [
    ['tcp', 6, true],
    ['tcp', 17, false],
    ['udp', 17, true],
    ['all', 6, true],
    ['all', 17, true],
    ['all', 1, true],
    ['all', 47, false],
    ['icmp_tcp_udp', 6, true],
    ['icmp_tcp_udp', 50, false],
    ['any', 47, true],
    ['any', 6, true],
    ['icmp', 6, false],
    ['icmp', 1, true],
    ['number_47', 47, true],
    ['number_47', 6, false],
    ['gre', 47, true],
  ]
  for (const [rule, proto, expected] of cases) {
    it(`${rule} ${expected ? 'matches' : 'does not match'} protocol ${proto}`, () => {
      expect(protocolMatches(rule, proto)).to.equal(expected)
    })
  }
})

describe('security groups', () => {
  it('S1: union of vsi1 groups has no inbound tcp/22 rule; tcp/3000 is allowed from anywhere', () => {
    const m = new VpcModel(s1())
    const iface = m.interface(VSI1.vnic)!
    expect(iface.securityGroupIds).to.have.members([SG1, SG_INSTALL])
    expect(sgDecide(m, iface.securityGroupIds, {direction: 'inbound', proto: 6, localIp: VSI1.ip, peerIp: LAPTOP, dstPort: 22}).decision).to.equal('deny')
    const app = sgDecide(m, iface.securityGroupIds, {direction: 'inbound', proto: 6, localIp: VSI1.ip, peerIp: LAPTOP, dstPort: 3000})
    expect(app.decision).to.equal('allow')
    expect(app.matched.map((r) => r.security_group)).to.deep.equal([SG1])
  })

  it('any matching rule in any attached group allows (union)', () => {
    const m = new VpcModel(s1())
    // vsi1 → 161.26.0.10:53/udp is allowed by install_software (sg1 allows all outbound too: both match).
    const d = sgDecide(m, m.interface(VSI1.vnic)!.securityGroupIds, {direction: 'outbound', proto: 17, localIp: VSI1.ip, peerIp: '161.26.0.10', dstPort: 53})
    expect(d.decision).to.equal('allow')
    expect(new Set(d.matched.map((r) => r.security_group))).to.deep.equal(new Set([SG1, SG_INSTALL]))
  })

  it('a remote security-group reference matches the member interfaces only; a public IP never matches it', () => {
    const m = new VpcModel(s1())
    const groups = m.interface(VSI2.vnic)!.securityGroupIds
    expect(sgDecide(m, groups, {direction: 'inbound', proto: 6, localIp: VSI2.ip, peerIp: VSI1.ip, dstPort: 3000}).decision).to.equal('allow')
    expect(sgDecide(m, groups, {direction: 'inbound', proto: 6, localIp: VSI2.ip, peerIp: LAPTOP, dstPort: 3000}).decision).to.equal('deny')
  })

  it('S8: sg2 fails on remote for vsi3 (not a member of sg1); the near miss says so; peer side allows', () => {
    const m = new VpcModel(s8())
    const f = flow(m, {nic: VSI2.vnic, peerIp: VSI3.ip, servicePort: 3000, clientPorts: {min: 40000, max: 40000}})
    const e = evaluateFlow(m, f)
    expect(e.blocked_by).to.equal('security_groups')
    expect(local(e)).to.deep.equal(['acl:inbound:forward:allow', 'sg:inbound:forward:deny', 'acl:outbound:return:allow'])
    const peer = e.layers.filter((l) => l.side === 'peer')
    expect(peer.map((l) => `${l.layer}:${l.direction}:${l.decision}`)).to.deep.equal(['sg:outbound:allow', 'acl:outbound:allow', 'acl:inbound:allow'])
    const nm = nearMissesFor(m, f, e)
    expect(nm[0].differs_in).to.equal('remote')
    expect(nm[0].id).to.equal(SG2)
    const {fix, alternatives} = buildFix(m, f, e)
    expect(fix[0].rule).to.deep.include({direction: 'inbound', remote: {address: VSI3.ip}, port_min: 3000, port_max: 3000})
    expect(alternatives.some((a) => a.rule && (a.rule as {remote?: {id?: string}}).remote?.id === SG3)).to.equal(true)
    expect(alternatives.some((a) => a.id === SG1 && /attach/.test(a.description))).to.equal(true)
  })

  it('honours `local` (the interface IP) on rules', () => {
    const s = s1()
    sg(s, SG1).rules.push({id: 'loc', name: 'ssh-local', direction: 'inbound', protocol: 'tcp', port_min: 22, port_max: 22, remote: {cidr_block: '0.0.0.0/0'}, local: {address: '10.240.0.5'}})
    const m = new VpcModel(s)
    const f = flow(m)
    const e = evaluateFlow(m, f)
    expect(e.blocked_by).to.equal('security_groups')
    const nm = nearMissesFor(m, f, e)
    expect(nm.map((n) => n.differs_in)).to.include('local')
    sg(s, SG1).rules.at(-1).local = {cidr_block: '10.240.0.0/24'}
    expect(evaluateFlow(new VpcModel(s), flow(new VpcModel(s))).blocked_by).to.equal('none')
  })

  it('port ranges: a tcp rule without ports allows every port; udp rules do not match tcp', () => {
    const s = s1()
    sg(s, SG1).rules.push({id: 'u', name: 'udp-22', direction: 'inbound', protocol: 'udp', port_min: 22, port_max: 22, remote: {cidr_block: '0.0.0.0/0'}})
    let m = new VpcModel(s)
    expect(evaluateFlow(m, flow(m)).blocked_by).to.equal('security_groups')
    expect(nearMissesFor(m, flow(m), evaluateFlow(m, flow(m))).map((n) => n.differs_in)).to.include('protocol')
    sg(s, SG1).rules.push({id: 'r', name: 'tcp-range', direction: 'inbound', protocol: 'tcp', port_min: 20, port_max: 25, remote: {cidr_block: '24.22.0.0/16'}})
    m = new VpcModel(s)
    expect(evaluateFlow(m, flow(m)).blocked_by).to.equal('none')
  })
})

describe('network ACLs', () => {
  it('first match wins in order, and no match is an implicit deny', () => {
    const empty: NetworkAcl = {id: 'a', name: 'empty', rules: []}
    const pkt = {direction: 'inbound' as const, proto: 6, src: LAPTOP, dst: VSI1.ip, srcPorts: {min: 5, max: 5}, dstPorts: {min: 22, max: 22}}
    expect(aclDecide(empty, pkt)).to.deep.include({decision: 'deny', reason: 'implicit'})
    const ordered = {id: 'b', name: 'b', rules: [aclRule('d', 'deny-ssh', 'deny', 'inbound', {protocol: 'tcp', destination_port_min: 22, destination_port_max: 22}), aclRule('a', 'allow', 'allow', 'inbound')]} as unknown as NetworkAcl
    const d = aclDecide(ordered, pkt)
    expect(d.decision).to.equal('deny')
    expect(d.rule).to.deep.include({id: 'd', position: 1, of: 2})
    expect(aclDecide(ordered, {...pkt, dstPorts: {min: 80, max: 80}}).rule?.id).to.equal('a')
  })

  it('S2: the deny ahead of the allow decides; the fix is placed before it; no return rule', () => {
    const m = new VpcModel(s2())
    const f = flow(m)
    const e = evaluateFlow(m, f)
    expect(e.blocked_by).to.equal('network_acl_inbound')
    expect(local(e)).to.deep.equal(['acl:inbound:forward:deny', 'sg:inbound:forward:allow', 'acl:outbound:return:allow'])
    expect(e.blocking[0].rule).to.deep.include({id: ids.denySsh, name: 'deny-ssh', position: 1})
    const {fix} = buildFix(m, f, e)
    expect(fix).to.have.length(1)
    expect(fix[0].resource).to.equal('network_acl')
    expect(fix[0].id).to.equal(ACL)
    expect(fix[0].rule).to.deep.equal({
      action: 'allow',
      direction: 'inbound',
      protocol: 'tcp',
      source: LAPTOP,
      destination: VSI1.ip,
      destination_port_min: 22,
      destination_port_max: 22,
      name: 'flowlog-in-tcp-22-from-24-22-68-94',
      before: {id: ids.denySsh},
    })
    expect(fix[0].command).to.equal(
      `ibmcloud is network-acl-rule-add ${ACL} allow inbound tcp ${LAPTOP} ${VSI1.ip} --name flowlog-in-tcp-22-from-24-22-68-94 --destination-port-min 22 --destination-port-max 22 --before-rule-id ${ids.denySsh}`,
    )
    // The fixed configuration admits the flow.
    expect(evaluateFlow(applyFixToModel(m, fix), f).blocked_by).to.equal('none')
  })

  it('lists the allow rule the deny shadows as a near miss', () => {
    const m = new VpcModel(s2Shadow())
    const f = flow(m)
    const e = evaluateFlow(m, f)
    // allow-admin was inserted after deny-ssh: deny-ssh still decides.
    expect(e.blocking[0].rule?.id).to.equal(ids.denySsh)
    const nm = nearMissesFor(m, f, e)
    expect(nm[0]).to.deep.include({resource: 'network_acl', differs_in: 'order', position: 2})
    expect(nm[0].explanation).to.match(/allow-admin.*shadowed by `deny-ssh`/)
  })

  it('S3: the return path is blocked by deny-all; the fix is an outbound allow from :22 to the client ports, before deny-all', () => {
    const m = new VpcModel(s3())
    const f = flow(m)
    const e = evaluateFlow(m, f)
    expect(local(e)).to.deep.equal(['acl:inbound:forward:allow', 'sg:inbound:forward:allow', 'acl:outbound:return:deny'])
    expect(e.blocked_by).to.equal('network_acl_outbound')
    expect(e.blocking[0].rule).to.deep.include({id: ids.denyAll, name: 'deny-all', position: 2, of: 2})
    const {fix} = buildFix(m, f, e)
    expect(fix).to.have.length(1)
    expect(fix[0].rule).to.deep.equal({
      action: 'allow',
      direction: 'outbound',
      protocol: 'tcp',
      source: VSI1.ip,
      destination: LAPTOP,
      source_port_min: 22,
      source_port_max: 22,
      destination_port_min: 1024,
      destination_port_max: 65535,
      name: 'flowlog-out-tcp-22-to-24-22-68-94-return',
      before: {id: ids.denyAll},
    })
    expect(evaluateFlow(applyFixToModel(m, fix), f).blocked_by).to.equal('none')
  })

  it('widens the return rule to include an observed client port below 1024', () => {
    const m = new VpcModel(s3())
    const f = flow(m, {clientPorts: {min: 900, max: 900}})
    const {fix} = buildFix(m, f, evaluateFlow(m, f))
    expect(fix[0].rule).to.deep.include({destination_port_min: 900, destination_port_max: 65535})
  })

  it('reports every blocking layer and one fix per layer in path order', () => {
    const s = s3()
    sg(s, SG1).rules = sg(s, SG1).rules.filter((r: {id: string}) => r.id !== ids.sg1Ssh)
    acl(s).rules.unshift(aclRule('dd', 'deny-laptop', 'deny', 'inbound', {source: '24.22.68.0/24'}))
    const m = new VpcModel(s)
    const f = flow(m)
    const e = evaluateFlow(m, f)
    expect(e.blocked_by).to.equal('network_acl_inbound')
    expect(e.blocking.map((l) => `${l.layer}:${l.direction}`)).to.deep.equal(['acl:inbound', 'sg:inbound', 'acl:outbound'])
    const {fix} = buildFix(m, f, e)
    expect(fix.map((x) => x.resource)).to.deep.equal(['network_acl', 'security_group', 'network_acl'])
    expect(evaluateFlow(applyFixToModel(m, fix), f).blocked_by).to.equal('none')
  })

  it('an implicit deny appends the allow rule (no before)', () => {
    const s = s1()
    acl(s).rules = acl(s).rules.filter((r: {direction: string}) => r.direction === 'outbound')
    const m = new VpcModel(s)
    const f = flow(m, {servicePort: 3000})
    const e = evaluateFlow(m, f)
    expect(e.blocked_by).to.equal('network_acl_inbound')
    expect(e.blocking[0]).to.deep.include({reason: 'implicit'})
    const {fix} = buildFix(m, f, e)
    expect(fix[0].rule).not.to.have.property('before')
    expect(fix[0].warnings.join(' ')).to.match(/implicit deny/)
  })

  it('traffic inside the subnet does not cross the ACL', () => {
    const s = s8()
    acl(s).rules = [] // nothing allowed at the subnet boundary
    sg(s, SG1).rules.push({id: 'x', name: 'from-vsi3', direction: 'inbound', protocol: 'tcp', port_min: 22, port_max: 22, remote: {address: VSI3.ip}})
    const m = new VpcModel(s)
    const e = evaluateFlow(m, flow(m, {peerIp: VSI3.ip}))
    expect(local(e)).to.deep.equal(['acl:inbound:forward:skipped', 'sg:inbound:forward:allow', 'acl:outbound:return:skipped'])
    expect(e.blocked_by).to.equal('none')
  })

  it('configuration-only mode reports partial return-path coverage', () => {
    const s = s3()
    acl(s).rules.splice(2, 0, aclRule('eph', 'allow-eph', 'allow', 'outbound', {protocol: 'tcp', destination_port_min: 32768, destination_port_max: 60999}))
    const m = new VpcModel(s)
    const e = evaluateFlow(m, flow(m, {clientPorts: {min: 1024, max: 65535}}))
    const ret = e.layers.find((l) => l.path === 'return' && l.side === 'local')!
    expect(ret.decision).to.equal('partial')
    expect(ret.explanation).to.match(/only for destination ports 32768-60999/)
    expect(e.blocked_by).to.equal('network_acl_outbound')
  })

  it('treats `all` (old versions) like `icmp_tcp_udp`', () => {
    for (const snap of [s1(), oldSpelling(s1())]) {
      const m = new VpcModel(snap)
      const e = evaluateFlow(m, flow(m, {servicePort: 3000}))
      expect(e.blocked_by).to.equal('none')
      expect(e.layers[0].rule?.name).to.equal('allow-inbound')
    }
    expect(JSON.stringify(oldSpelling(s1()))).not.to.include('icmp_tcp_udp')
  })
})

describe('S1: the blog case end to end in the evaluator', () => {
  it('blocks by security groups, near miss on port 3000, fix on sg1 (fewest targets) from the /32', () => {
    const m = new VpcModel(s1())
    const f = flow(m)
    const e = evaluateFlow(m, f)
    expect(local(e)).to.deep.equal(['acl:inbound:forward:allow', 'sg:inbound:forward:deny', 'acl:outbound:return:allow'])
    expect(e.layers[0].rule?.name).to.equal('allow-inbound')
    expect(e.blocked_by).to.equal('security_groups')
    const nm = nearMissesFor(m, f, e)
    expect(nm[0]).to.deep.include({resource: 'security_group', id: SG1, differs_in: 'port'})
    expect(nm[0].explanation).to.include('port 3000 ≠ 22')
    const {fix} = buildFix(m, f, e)
    expect(fix).to.have.length(1)
    expect(fix[0]).to.deep.include({resource: 'security_group', id: SG1})
    expect(fix[0].rule).to.deep.equal({
      direction: 'inbound',
      protocol: 'tcp',
      port_min: 22,
      port_max: 22,
      remote: {address: LAPTOP},
      ip_version: 'ipv4',
      name: 'flowlog-allow-tcp-22-from-24-22-68-94',
    })
    expect(fix[0].command).to.equal(`ibmcloud is security-group-rule-add ${SG1} inbound tcp --remote ${LAPTOP} --port-min 22 --port-max 22`)
    expect(fix[0].diff).to.equal('+ flowlogs-sg-vsi1 inbound tcp 22 from 24.22.68.94/32')
    expect(fix[0].terraform).to.include('resource "ibm_is_security_group_rule"')
    expect(evaluateFlow(applyFixToModel(m, fix), f).blocked_by).to.equal('none')
  })

  it('--sg overrides the group (and must be attached); --remote-cidr widens only on request', () => {
    const m = new VpcModel(s1())
    const f = flow(m)
    const e = evaluateFlow(m, f)
    const {fix} = buildFix(m, f, e, {sg: 'flowlogs-sg-install-software', remoteCidr: '24.22.68.0/24'})
    expect(fix[0].id).to.equal(SG_INSTALL)
    expect(fix[0].rule).to.deep.include({remote: {cidr_block: '24.22.68.0/24'}})
    expect(fix[0].warnings.join(' ')).to.match(/also attached to flowlogs-vsi2/)
    expect(() => buildFix(m, f, e, {sg: SG2})).to.throw(/not attached/)
    expect(() => buildFix(m, f, e, {remoteCidr: 'nope'})).to.throw(/not an IPv4/)
  })
})

describe('flows initiated outbound', () => {
  it('S4: vsi2 → 161.26.0.10:53/udp is blocked by security groups; the fix is an outbound rule to the address', () => {
    const m = new VpcModel(s4())
    const f = flow(m, {nic: VSI2.vnic, initiated: 'outbound', proto: 17, peerIp: '161.26.0.10', servicePort: 53, clientPorts: {min: 50000, max: 50000}})
    const e = evaluateFlow(m, f)
    expect(local(e)).to.deep.equal(['sg:outbound:forward:deny', 'acl:outbound:forward:allow', 'acl:inbound:return:allow'])
    expect(e.blocked_by).to.equal('security_groups')
    const {fix} = buildFix(m, f, e)
    expect(fix[0].rule).to.deep.include({direction: 'outbound', protocol: 'udp', port_min: 53, port_max: 53, remote: {address: '161.26.0.10'}, name: 'flowlog-allow-udp-53-to-161-26-0-10'})
    expect(fix[0].id).to.equal(SG2)
  })

  it('an outbound flow whose return is denied by the inbound ACL gets an inbound return rule', () => {
    const s = s1()
    const a = acl(s)
    a.rules = [aclRule('in-deny', 'deny-in', 'deny', 'inbound'), aclRule('out-ok', 'allow-out', 'allow', 'outbound')]
    const m = new VpcModel(s)
    const f = flow(m, {initiated: 'outbound', proto: 6, peerIp: '161.26.0.6', servicePort: 443, clientPorts: {min: 40000, max: 40000}})
    const e = evaluateFlow(m, f)
    expect(e.blocked_by).to.equal('network_acl_inbound')
    expect(e.blocking[0].path).to.equal('return')
    const {fix} = buildFix(m, f, e)
    expect(fix[0].rule).to.deep.include({action: 'allow', direction: 'inbound', source: '161.26.0.6', destination: VSI1.ip, source_port_min: 443, source_port_max: 443, destination_port_min: 1024, before: {id: 'in-deny'}})
  })
})
