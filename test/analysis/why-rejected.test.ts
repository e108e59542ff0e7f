import {expect} from 'chai'

import {applyFix, readUndoState, undoLast} from '../../src/lib/analysis/apply.js'
import {exportVpcSnapshot, VpcModel} from '../../src/lib/analysis/model.js'
import {explainRejects, type Finding, loadVpcModel, planApply, type WhyRejectedResult} from '../../src/lib/analysis/why-rejected.js'
import {demoVpcSnapshot, vpcSnapshotPath, writeDemoSnapshot} from '../../src/lib/demo/snapshot.js'
import {DEMO_INSTANCES} from '../../src/lib/demo/scenario.js'
import type {VpcSnapshot} from '../../src/lib/demo/snapshot.js'
import {ConfigError} from '../../src/lib/errors.js'
import {createAuthenticator} from '../../src/lib/ibmcloud/http.js'
import {VpcClient} from '../../src/lib/ibmcloud/vpc.js'
import {type RunningVpcFake, startVpcFake, TEST_API_KEY} from '../fakes/vpc.js'
import {buildIndex, laptopSsh, rec, scanners, T0, withStore} from './helpers.js'
import {ACL, ids, LAPTOP, s1, s2, s3, s4, SG1, SG2, SG_INSTALL, VSI1, VSI2} from './scenarios.js'

type Index = Awaited<ReturnType<typeof buildIndex>>

async function explain(idx: Index, snapshot: VpcSnapshot, q: {ip?: string; port?: number; protocol?: 'tcp' | 'udp' | 'icmp'; targetIp?: string; remoteCidr?: string} = {}): Promise<WhyRejectedResult> {
  return withStore(idx.home, (store) =>
    explainRejects({
      store,
      model: new VpcModel(snapshot),
      config: {kind: 'file', location: 'test.json'},
      ip: q.ip ?? LAPTOP,
      port: q.port ?? 22,
      protocol: q.protocol,
      targetIp: q.targetIp,
      window: {},
      fix: {remoteCidr: q.remoteCidr},
    }),
  )
}

const CONTRACT_FIELDS = ['target_ip', 'network_interface_id', 'protocol', 'port', 'records', 'accepted', 'blocked_by', 'acl_rule', 'security_groups', 'near_misses', 'fix', 'what_if', 'triage']

describe('why-rejected over a local index', function () {
  this.timeout(120_000)

  describe('S1 + S5: the blog case with internet scanners around it', () => {
    let idx: Index
    before(async () => {
      idx = await buildIndex([
        {vsi: 'vsi1', start: T0, records: [...laptopSsh(41), rec({target_port: 3000, action: 'accepted', initiator_port: 60001, packets_from_target: 5, bytes_from_target: 900}, T0 + 5000)]},
        // 40 background sources, one SYN each on 22; 5 scanners sweeping 6 ports.
        {vsi: 'vsi1', start: T0 + 300_000, records: [...scanners(40, [22], 1, T0 + 300_000), ...scanners(5, [22, 23, 80, 3389, 5900, 8080], 6, T0 + 310_000, VSI1.ip, (i) => `89.248.165.${i}`)]},
      ])
    })
    after(() => idx.cleanup())

    it('returns one finding with every contract field, blocked by security groups', async () => {
      const r = await explain(idx, s1())
      expect(r.findings).to.have.length(1)
      const f = r.findings[0]
      for (const k of CONTRACT_FIELDS) expect(f, k).to.have.property(k)
      expect(f).to.deep.include({
        target_ip: VSI1.ip,
        network_interface_id: VSI1.vnic,
        protocol: 'tcp',
        port: 22,
        records: 41,
        accepted: 0,
        blocked_by: 'security_groups',
        acl_rule: null,
        verdict: 'blocked',
      })
      expect(f.security_groups).to.have.members([SG1, SG_INSTALL])
      expect(f.near_misses[0]).to.deep.include({resource: 'security_group', id: SG1, differs_in: 'port'})
      expect(f.fix).to.have.length(1)
      expect(f.fix![0]).to.deep.include({resource: 'security_group', id: SG1})
      expect(f.fix![0].rule).to.deep.include({direction: 'inbound', protocol: 'tcp', port_min: 22, port_max: 22, remote: {address: LAPTOP}})
      expect(f.fix![0].command).to.match(/^ibmcloud is security-group-rule-add /)
      expect(f.triage).to.deep.include({verdict: 'client', summary: 'one client failing on one port (not scanning)'})
      expect(f.evidence?.was_initiated.true).to.equal(41)
      expect(f.hints.join(' ')).to.match(/only the initiator sent packets/)
      // The ACL allowed it on the way in (allow-inbound), and the return.
      expect(f.layers.filter((l) => l.side === 'local').map((l) => `${l.layer}:${l.decision}:${l.rule?.name ?? ''}`)).to.deep.equal(['acl:allow:allow-inbound', 'sg:deny:', 'acl:allow:allow-outbound'])
    })

    it('what-if: the /32 fix admits all 41 rejects from 1 source and nothing else', async () => {
      const f = (await explain(idx, s1())).findings[0]
      expect(f.what_if).to.deep.include({regressions: 0})
      expect(f.what_if?.admits).to.deep.equal({records: 41, of: 41, sources: 1})
      expect(f.what_if?.also_admits.records).to.equal(0)
      expect(f.needs_confirmation).to.equal(false)
    })

    it('triage: scanners and background are summarised as noise, only the laptop is explained', async () => {
      const r = await explain(idx, s1())
      expect(r.noise.scanner_sources).to.equal(5)
      expect(r.noise.scanner_records).to.equal(30)
      expect(r.noise.background_sources).to.equal(40)
      expect(r.noise.ports[0]).to.equal(22)
      expect(r.findings.map((f) => f.peer_ip)).to.deep.equal([LAPTOP])
    })

    it('S6: widened to 0.0.0.0/0 the fix also admits the scanners on 22 and needs confirmation', async () => {
      const f = (await explain(idx, s1(), {remoteCidr: '0.0.0.0/0'})).findings[0]
      expect(f.fix![0].rule).to.deep.include({remote: {cidr_block: '0.0.0.0/0'}})
      // 40 background SYNs plus the scanners' records on 22 (each of the 5 hit 22 once).
      expect(f.what_if?.also_admits.records).to.equal(45)
      expect(f.what_if?.also_admits.sources).to.equal(45)
      expect(f.what_if?.also_admits.scanner_sources).to.equal(45)
      expect(f.what_if?.also_admits.by_port[0]).to.deep.include({port: 22, protocol: 'tcp'})
      expect(f.needs_confirmation).to.equal(true)
      expect(f.explanation.join(' ')).to.match(/narrower fix is --remote-cidr 24\.22\.68\.94\/32/)
    })

    it('a scanner asked about explicitly is explained, called a scan, and gets no fix (the same rule as the header)', async () => {
      const r = await explain(idx, s1(), {ip: '89.248.165.0', port: 23})
      expect(r.findings).to.have.length(1)
      const f = r.findings[0]
      expect(f.triage.verdict).to.equal('scanning')
      expect(f.triage.rule).to.include('ports')
      expect(f.triage.summary).to.match(/^internet scanning: 6 ports/)
      expect(f.triage.evidence).to.deep.include({source: '89.248.165.0', accepted: 0, targets: 1})
      expect(f.fix).to.equal(null)
      expect(f.what_if).to.equal(null)
      expect(f.reason).to.match(/security group doing its job/)
      expect(r.noise.scanner_sources).to.equal(5)
      expect(r.triage_rule.thresholds.scannerMinPorts).to.equal(5)
      expect(r.triage_rule.text).to.match(/>= 5 target ports/)
    })
  })

  describe('one real client and three scanners on the same port', () => {
    const SCANNERS = ['92.63.197.61', '193.163.125.174', '45.146.164.110']
    let idx: Index
    before(async () => {
      // Each scanner sends single SYNs to 443 only (one port, one target): only the SYN-only clause can catch them.
      const scans = SCANNERS.flatMap((ip, s) => Array.from({length: 4}, (_, k) => rec({initiator_ip: ip, initiator_port: 41000 + s * 10 + k, target_port: 443, packets_from_initiator: 1, bytes_from_initiator: 44}, T0 + s * 100 + k)))
      // The client retransmits its SYN (3 packets per record), as a real TCP stack does.
      idx = await buildIndex([{vsi: 'vsi1', start: T0, records: [...laptopSsh(5, T0, {target_port: 443}), ...scans]}])
    })
    after(() => idx.cleanup())

    it('the client gets exactly one rule; the scanners are counted in the header and get none', async () => {
      const client = await explain(idx, s1(), {port: 443})
      expect(client.findings).to.have.length(1)
      expect(client.findings[0].triage.verdict).to.equal('client')
      expect(client.findings[0].fix).to.have.length(1)
      expect(client.noise.scanner_sources).to.equal(3)
      for (const ip of SCANNERS) {
        const r = await explain(idx, s1(), {ip, port: 443})
        expect(r.findings, ip).to.have.length(1)
        expect(r.findings[0].triage).to.deep.include({verdict: 'scanning', rule: ['syn_only']})
        expect(r.findings[0].fix, ip).to.equal(null)
        expect(r.findings[0].reason).to.match(/no rule is proposed/)
        expect(r.noise.scanner_sources, 'the asked-about scanner is counted too').to.equal(3)
      }
    })

    it('--fix-anyway proposes a rule for the scanner asked about; planApply for the target keeps only the client', async () => {
      const anyway = await withStore(idx.home, (store) =>
        explainRejects({store, model: new VpcModel(s1()), config: {kind: 'file', location: 'x'}, ip: SCANNERS[0], port: 443, window: {}, fixAnyway: true}),
      )
      expect(anyway.findings[0].fix).to.have.length(1)
      expect(planApply(anyway).rules).to.have.length(1)
      const target = await withStore(idx.home, (store) =>
        explainRejects({store, model: new VpcModel(s1()), config: {kind: 'file', location: 'x'}, ip: VSI1.ip, port: 443, window: {}, fixAnyway: true}),
      )
      expect(target.findings.map((f) => f.peer_ip)).to.have.members([LAPTOP, ...SCANNERS])
      const plan = planApply(target)
      expect(plan.todo.map((f) => f.peer_ip)).to.deep.equal([LAPTOP])
      expect(plan.rules).to.have.length(1)
      expect(plan.skipped.map((f) => f.peer_ip)).to.have.members(SCANNERS)
    })
  })

  it('S2: an ACL deny ahead of the allow: blocked_by network_acl_inbound, the deciding rule, a fix before it', async () => {
    const idx = await buildIndex([{vsi: 'vsi1', start: T0, records: laptopSsh(7)}])
    try {
      const f = (await explain(idx, s2())).findings[0]
      expect(f.blocked_by).to.equal('network_acl_inbound')
      expect(f.acl_rule).to.deep.equal({id: ids.denySsh, name: 'deny-ssh'})
      expect(f.fix).to.have.length(1)
      expect(f.fix![0]).to.deep.include({resource: 'network_acl', id: ACL})
      expect(f.fix![0].rule).to.deep.include({action: 'allow', direction: 'inbound', source: LAPTOP, destination: VSI1.ip, destination_port_min: 22, before: {id: ids.denySsh}})
      expect(f.fix![0].command).to.include(`--before-rule-id ${ids.denySsh}`)
      expect(f.what_if?.admits).to.deep.equal({records: 7, of: 7, sources: 1})
    } finally {
      idx.cleanup()
    }
  })

  it('S3: the return path: blocked_by network_acl_outbound, deny-all decides, an outbound fix before it, and the hint', async () => {
    const idx = await buildIndex([{vsi: 'vsi1', start: T0, records: laptopSsh(5, T0, {packets_from_target: 2, bytes_from_target: 120})}])
    try {
      const f = (await explain(idx, s3())).findings[0]
      expect(f.blocked_by).to.equal('network_acl_outbound')
      expect(f.acl_rule).to.deep.equal({id: ids.denyAll, name: 'deny-all'})
      expect(f.fix![0].rule).to.deep.include({direction: 'outbound', source: VSI1.ip, source_port_min: 22, destination: LAPTOP, destination_port_min: 1024, destination_port_max: 65535, before: {id: ids.denyAll}})
      expect(f.hints.join(' ')).to.match(/points at the return path/)
    } finally {
      idx.cleanup()
    }
  })

  it('reports a rejected O reply (22 → ephemeral) against the inbound connection', async () => {
    const reply = rec({direction: 'O', initiator_ip: VSI1.ip, target_ip: LAPTOP, initiator_port: 22, target_port: 50123}, T0)
    const idx = await buildIndex([{vsi: 'vsi1', start: T0, records: [reply]}])
    try {
      const f = (await explain(idx, s3())).findings[0]
      expect(f.direction).to.equal('inbound')
      expect(f.port).to.equal(22)
      expect(f.blocked_by).to.equal('network_acl_outbound')
      expect(f.evidence?.replies).to.equal(1)
    } finally {
      idx.cleanup()
    }
  })

  it('S4: an outbound UDP flow from vsi2 blocked by its security groups', async () => {
    const dns = Array.from({length: 3}, (_, i) =>
      rec({direction: 'O', initiator_ip: VSI2.ip, target_ip: '161.26.0.10', initiator_port: 53000 + i, target_port: 53, transport_protocol: 17}, T0 + i * 1000),
    )
    const idx = await buildIndex([{vsi: 'vsi2', start: T0, records: dns}])
    try {
      const r = await explain(idx, s4(), {ip: '161.26.0.10', port: 53, protocol: 'udp'})
      const f = r.findings[0]
      expect(f).to.deep.include({direction: 'outbound', protocol: 'udp', port: 53, blocked_by: 'security_groups', target_ip: VSI2.ip})
      expect(f.fix![0]).to.deep.include({id: SG2})
      expect(f.fix![0].rule).to.deep.include({direction: 'outbound', remote: {address: '161.26.0.10'}, port_min: 53})
    } finally {
      idx.cleanup()
    }
  })

  it('configuration that admits the flow: blocked_by none, no fix, the causes, and the rule created after the rejects', async () => {
    const idx = await buildIndex([{vsi: 'vsi1', start: T0, records: laptopSsh(4, T0, {was_initiated: false})}])
    try {
      const s = s1()
      const sg1 = (s.security_groups as {id: string; rules: unknown[]}[]).find((g) => g.id === SG1)!
      sg1.rules.push({id: 'later', name: 'allow-ssh', direction: 'inbound', protocol: 'tcp', port_min: 22, port_max: 22, remote: {address: LAPTOP}, created_at: new Date(T0 + 3_600_000).toISOString()})
      const f = (await explain(idx, s)).findings[0]
      expect(f).to.deep.include({blocked_by: 'none', verdict: 'allowed_now', acl_rule: null})
      expect(f.fix).to.deep.equal([])
      expect(f.what_if).to.equal(null)
      expect(f.possible_causes[0]).to.match(/allow-ssh` was created at .* after the last reject/)
      expect(f.possible_causes.join(' ')).to.match(/mid-connection/)
    } finally {
      idx.cleanup()
    }
  })

  it('skip data objects are reported and counts called lower bounds', async () => {
    const idx = await buildIndex([{vsi: 'vsi1', start: T0, records: laptopSsh(2), state: 'Skip Data'}])
    try {
      const r = await explain(idx, s1())
      expect(r.noise.skip_data_windows).to.have.length(1)
      expect(r.noise.skip_data_windows[0].network_interface_id).to.equal(VSI1.vnic)
      expect(r.findings[0].evidence?.skip_data_objects).to.have.length(1)
      expect(r.findings[0].hints.join(' ')).to.match(/lower bounds/)
    } finally {
      idx.cleanup()
    }
  })

  it('no records: says so, and evaluates the configuration alone with --target-ip (floating IPs map to the private IP)', async () => {
    const idx = await buildIndex([{vsi: 'vsi1', start: T0, records: [rec({target_port: 3000, action: 'accepted'}, T0)]}])
    try {
      const none = await explain(idx, s1())
      expect(none.findings).to.deep.equal([])
      expect(none.notes.join(' ')).to.match(/no rejected records for 24\.22\.68\.94 port 22/)
      expect(none.notes.join(' ')).to.match(/--target-ip/)
      const cfg = await explain(idx, s1(), {targetIp: DEMO_INSTANCES.vsi1.floatingIp})
      expect(cfg.notes.join(' ')).to.match(/floating IP/)
      const f: Finding = cfg.findings[0]
      expect(f).to.deep.include({config_only: true, records: 0, blocked_by: 'security_groups', target_ip: VSI1.ip})
      expect(f.explanation.join(' ')).to.match(/no observed evidence/)
      const icmp = await explain(idx, s1(), {protocol: 'icmp', targetIp: VSI1.ip})
      expect(icmp.notes[0]).to.match(/ICMP is never logged/)
      expect(icmp.findings[0]).to.deep.include({protocol: 'icmp', port: null, blocked_by: 'security_groups'})
    } finally {
      idx.cleanup()
    }
  })

  it('an interface missing from the configuration is unresolvable, not a guess', async () => {
    const idx = await buildIndex([{vsi: 'vsi1', start: T0, records: laptopSsh(2)}])
    try {
      const s = s1()
      s.instances = (s.instances as {id: string}[]).filter((i) => i.id !== VSI1.id)
      const f = (await explain(idx, s)).findings[0]
      expect(f).to.deep.include({verdict: 'unresolvable', blocked_by: 'unknown'})
      expect(f.explanation[0]).to.match(/not in the VPC configuration/)
    } finally {
      idx.cleanup()
    }
  })

  it('rejects bad input with usage errors', async () => {
    const idx = await buildIndex([])
    try {
      const bad = await explain(idx, s1(), {ip: 'laptop'}).catch((e) => e)
      expect(bad.exitCode).to.equal(2)
      const noPort = await withStore(idx.home, (store) => explainRejects({store, model: new VpcModel(s1()), config: {kind: 'file', location: 'x'}, ip: LAPTOP, window: {}})).catch((e) => e)
      expect(noPort.message).to.match(/--port is required/)
    } finally {
      idx.cleanup()
    }
  })
})

describe('VPC configuration sources', () => {
  it('prefers --vpc-config, then the API when a key is set, then the demo snapshot; errors helpfully otherwise', async () => {
    const idx = await buildIndex([])
    try {
      const err = await loadVpcModel({home: idx.home, env: {}}).catch((e) => e)
      expect(err).to.be.instanceOf(ConfigError)
      expect(err.suggestions.join(' ')).to.match(/vpc export/)
      const path = await writeDemoSnapshot(idx.home)
      expect(path).to.equal(vpcSnapshotPath(idx.home))
      const demo = await loadVpcModel({home: idx.home, env: {}})
      expect(demo.source.kind).to.equal('demo')
      expect(demo.model.interface(VSI1.vnic)?.primaryIp).to.equal(VSI1.ip)
      const file = await loadVpcModel({home: idx.home, env: {}, vpcConfig: path})
      expect(file.source).to.deep.equal({kind: 'file', location: path})
      const missing = await loadVpcModel({home: idx.home, env: {}, vpcConfig: '/nonexistent/vpc.json'}).catch((e) => e)
      expect(missing.exitCode).to.equal(2)
    } finally {
      idx.cleanup()
    }
  })
})

describe('apply and undo against the fake VPC API', function () {
  this.timeout(120_000)
  let f: RunningVpcFake
  let client: VpcClient
  beforeEach(async () => {
    f = await startVpcFake({iam: true, seed: s2()})
    client = new VpcClient({serviceUrl: f.url, authenticator: createAuthenticator({apiKey: TEST_API_KEY, iamUrl: f.iamUrl}), retry: {maxRetries: 0}})
  })
  afterEach(async () => {
    await f.close()
  })

  it('creates the ACL rule before the deny, records undo, and the flow is then allowed (S7); undo removes exactly it', async () => {
    const idx = await buildIndex([{vsi: 'vsi1', start: T0, records: laptopSsh(3)}])
    try {
      const live = new VpcModel(await exportVpcSnapshot(client))
      const finding = (await withStore(idx.home, (store) => explainRejects({store, model: live, config: {kind: 'api', location: f.url}, ip: LAPTOP, port: 22, window: {}}))).findings[0]
      expect(finding.blocked_by).to.equal('network_acl_inbound')
      const applied = await applyFix(client, idx.home, finding.fix!, 'test')
      expect(applied.created).to.have.length(1)
      const aclState = f.fake.state.network_acls.find((a) => a.id === ACL)!
      expect(aclState.rules.map((r: {name: string}) => r.name)).to.deep.equal(['flowlog-in-tcp-22-from-24-22-68-94', 'deny-ssh', 'allow-inbound', 'allow-outbound'])
      expect((await readUndoState(idx.home)).entries).to.have.length(1)
      // S7: the same records against the fixed configuration.
      const after = new VpcModel(await exportVpcSnapshot(client))
      const again = (await withStore(idx.home, (store) => explainRejects({store, model: after, config: {kind: 'api', location: f.url}, ip: LAPTOP, port: 22, window: {}}))).findings[0]
      expect(again.blocked_by).to.equal('none')
      expect(again.possible_causes[0]).to.match(/flowlog-in-tcp-22-from-24-22-68-94` was created at .* after the last reject/)
      const undone = await undoLast(client, idx.home)
      expect(undone.removed.map((r) => r.rule_id)).to.deep.equal([applied.created[0].rule_id])
      expect(f.fake.state.network_acls.find((a) => a.id === ACL)!.rules.map((r: {name: string}) => r.name)).to.deep.equal(['deny-ssh', 'allow-inbound', 'allow-outbound'])
      expect((await readUndoState(idx.home)).entries).to.have.length(0)
      expect((await undoLast(client, idx.home)).entry).to.equal(null)
    } finally {
      idx.cleanup()
    }
  })

  it('undo tolerates rules that are already gone (404)', async () => {
    const idx = await buildIndex([])
    try {
      const model = new VpcModel(demoVpcSnapshot())
      const fix = [
        {
          resource: 'security_group' as const,
          id: SG1,
          rule: {direction: 'inbound' as const, protocol: 'tcp', port_min: 22, port_max: 22, remote: {address: LAPTOP}, ip_version: 'ipv4' as const, name: 'flowlog-allow-tcp-22-from-24-22-68-94'},
          command: '',
          terraform: '',
          diff: '',
          layer: {layer: 'sg' as const, direction: 'inbound' as const, path: 'forward' as const},
          shared_with: [],
          warnings: [],
        },
      ]
      void model
      const applied = await applyFix(client, idx.home, fix, 'test')
      await client.deleteSecurityGroupRule(SG1, applied.created[0].rule_id)
      const undone = await undoLast(client, idx.home)
      expect(undone.removed).to.deep.equal([])
      expect(undone.already_gone.map((r) => r.rule_id)).to.deep.equal([applied.created[0].rule_id])
    } finally {
      idx.cleanup()
    }
  })
})
