/**
 * `flowlog why-rejected` and `flowlog vpc export` as users run them (needs `npm run build`): the demo path, the JSON
 * contract, --vpc-config, the live API (the fake VPC API), --apply/--undo, and the exit codes of bad input.
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {DEMO_SCANNERS, DEMO_SECURITY_GROUPS} from '../../src/lib/demo/scenario.js'
import {runCli, tempHome} from '../support/cli.js'
import {makeObject, makeV1Key, tempDir, writeBucketFile} from '../support/fixtures.js'
import {type RunningVpcFake, startVpcFake, TEST_API_KEY} from '../fakes/vpc.js'
import {laptopSsh, T0} from './helpers.js'
import {ACL, ids, LAPTOP, s2, VSI1} from './scenarios.js'

const CONTRACT_FIELDS = ['target_ip', 'network_interface_id', 'protocol', 'port', 'records', 'accepted', 'blocked_by', 'acl_rule', 'security_groups', 'near_misses', 'fix', 'what_if', 'triage']
const NO_CLOUD = {IBMCLOUD_API_KEY: '', FLOWLOG_VPC_URL: '', FLOWLOG_IAM_URL: ''}

describe('flowlog why-rejected (CLI)', function () {
  this.timeout(300_000)

  it('works right after `flowlog demo`: the blog case, human output and the JSON contract', async () => {
    const home = tempHome()
    try {
      const env = {FLOWLOG_HOME: home.dir, ...NO_CLOUD}
      const demo = await runCli(['demo'], {env})
      expect(demo.code, demo.stderr).to.equal(0)
      const human = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22'], {env})
      expect(human.code, human.stderr).to.equal(0)
      expect(human.stdout).to.match(/blocked by security groups/)
      expect(human.stdout).to.include('+ flowlogs-sg-vsi1 inbound tcp 22 from 24.22.68.94/32')
      expect(human.stdout).to.include(`ibmcloud is security-group-rule-add ${DEMO_SECURITY_GROUPS.vsi1.id} inbound tcp --remote 24.22.68.94 --port-min 22 --port-max 22`)
      expect(human.stdout).to.match(/port 3000 ≠ 22/)
      const json = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22', '--json'], {env})
      expect(json.code, json.stderr).to.equal(0)
      const out = JSON.parse(json.stdout)
      expect(out.findings).to.have.length(1)
      const f = out.findings[0]
      for (const k of CONTRACT_FIELDS) expect(f, k).to.have.property(k)
      expect(f).to.deep.include({target_ip: VSI1.ip, network_interface_id: VSI1.vnic, protocol: 'tcp', port: 22, blocked_by: 'security_groups', acl_rule: null, accepted: 0})
      expect(f.records).to.be.greaterThan(0)
      expect(f.fix[0]).to.deep.include({resource: 'security_group', id: DEMO_SECURITY_GROUPS.vsi1.id})
      expect(f.fix[0].rule.remote).to.deep.equal({address: LAPTOP})
      expect(f.what_if.admits.records).to.equal(f.records)
      expect(f.what_if.also_admits.records).to.equal(0)
      expect(f.triage).to.deep.include({verdict: 'client', summary: 'one client failing on one port (not scanning)'})
      expect(out).to.have.property('noise')
      // The app port is accepted: nothing to explain.
      const app = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '3000', '--json'], {env})
      expect(JSON.parse(app.stdout).findings).to.deep.equal([])
      // The demo's scanners: the same triage in the header, the finding and --apply; no rule proposed.
      expect(out.noise.scanner_sources).to.equal(DEMO_SCANNERS.length)
      for (const ip of ['92.63.197.61', '193.163.125.174']) {
        const any = JSON.parse((await runCli(['search', `initiator_ip:==${ip}`, '--limit', '1', '--json'], {env})).stdout).records[0]
        const port = ip === '92.63.197.61' ? 443 : any.target_port
        const sj = await runCli(['why-rejected', '--ip', ip, '--port', String(port), '--json'], {env})
        expect(sj.code, sj.stderr).to.equal(0)
        const sf = JSON.parse(sj.stdout)
        expect(sf.findings, ip).to.have.length(1)
        expect(sf.findings[0].fix, ip).to.equal(null)
        expect(sf.findings[0].reason).to.match(/doing its job/)
        expect(sf.findings[0].triage.verdict).to.equal('scanning')
        expect(sf.findings[0].triage.evidence.accepted).to.equal(0)
        expect(sf.noise.scanner_sources).to.equal(DEMO_SCANNERS.length)
        expect(sf.triage_rule.text).to.match(/SYN-sized/)
        const sh = await runCli(['why-rejected', '--ip', ip, '--port', String(port)], {env})
        expect(sh.stdout).to.match(/internet scanning/)
        expect(sh.stdout).to.match(/fix: none proposed/)
        expect(sh.stdout).not.to.include(`from ${ip}/32`)
        const anyway = JSON.parse((await runCli(['why-rejected', '--ip', ip, '--port', String(port), '--fix-anyway', '--json'], {env})).stdout)
        expect(anyway.findings[0].fix).to.have.length(1)
      }
      // --apply for the target never opens 443 to the scanners (nothing left to apply, nothing called "dry run").
      const target = await runCli(['why-rejected', '--ip', VSI1.ip, '--port', '443', '--apply', '--yes'], {env})
      expect(target.code, target.stderr).to.equal(0)
      expect(target.stderr).to.match(/not applied for 92\.63\.197\.61 → /)
      expect(target.stderr).to.match(/nothing to apply/)
      expect(target.stdout).not.to.match(/dry run|apply with/)
    } finally {
      home.cleanup()
    }
  })

  it('pulls with --source and evaluates against --vpc-config (an ACL deny ahead of the allow)', async () => {
    const home = tempHome()
    const bucket = tempDir('flowlog-wr-src-')
    try {
      writeBucketFile(bucket.dir, {key: makeV1Key({time: T0}), body: makeObject(laptopSsh(6), {start: T0})})
      const cfg = join(home.dir, 's2.json')
      writeFileSync(cfg, JSON.stringify(s2()))
      const r = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22', '--source', bucket.dir, '--vpc-config', cfg, '--json'], {env: {FLOWLOG_HOME: home.dir, ...NO_CLOUD}})
      expect(r.code, r.stderr).to.equal(0)
      const f = JSON.parse(r.stdout).findings[0]
      expect(f).to.deep.include({blocked_by: 'network_acl_inbound', records: 6})
      expect(f.acl_rule).to.deep.equal({id: ids.denySsh, name: 'deny-ssh'})
      expect(f.fix[0].rule.before).to.deep.equal({id: ids.denySsh})
    } finally {
      home.cleanup()
      bucket.cleanup()
    }
  })

  describe('against the VPC API (fake)', () => {
    let fake: RunningVpcFake
    let home: {dir: string; cleanup: () => void}
    let env: Record<string, string>
    beforeEach(async () => {
      fake = await startVpcFake({iam: true, seed: s2()})
      home = tempHome()
      env = {FLOWLOG_HOME: home.dir, IBMCLOUD_API_KEY: TEST_API_KEY, FLOWLOG_IAM_URL: fake.iamUrl, FLOWLOG_VPC_URL: fake.url, FLOWLOG_HTTP_MAX_RETRIES: '0'}
      const bucket = tempDir('flowlog-wr-src-')
      writeBucketFile(bucket.dir, {key: makeV1Key({time: T0}), body: makeObject(laptopSsh(3), {start: T0})})
      const pull = await runCli(['pull', '--source', bucket.dir], {env})
      bucket.cleanup()
      expect(pull.code, pull.stderr).to.equal(0)
    })
    afterEach(async () => {
      await fake.close()
      home.cleanup()
    })

    it('--apply --yes creates the rule before the deny and records undo; --undo removes it', async () => {
      // For people: the rules listed one per line first, then what was created and the undo command; never "dry run".
      const human = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22', '--apply', '--yes'], {env})
      expect(human.code, human.stderr).to.equal(0)
      expect(human.stderr).to.match(/--apply will create 1 rule:\n  \+ [^\n]*24\.22\.68\.94[^\n]*\(network ACL /)
      expect(human.stderr).to.match(/created 1 rule:\n  network ACL .* rule flowlog-in-tcp-22-from-24-22-68-94/)
      expect(human.stderr).to.include('undo with: flowlog why-rejected --undo')
      expect(human.stdout).not.to.include('dry run')
      expect((await runCli(['why-rejected', '--undo'], {env})).code).to.equal(0)
      const r = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22', '--apply', '--yes', '--json'], {env})
      expect(r.code, r.stderr).to.equal(0)
      const out = JSON.parse(r.stdout)
      expect(out.config.kind).to.equal('api')
      expect(out.applied.created).to.have.length(1)
      const names = () => fake.fake.state.network_acls.find((a) => a.id === ACL)!.rules.map((x: {name: string}) => x.name)
      expect(names()).to.deep.equal(['flowlog-in-tcp-22-from-24-22-68-94', 'deny-ssh', 'allow-inbound', 'allow-outbound'])
      expect(readFileSync(join(home.dir, 'why-rejected-undo.json'), 'utf8')).to.include(out.applied.created[0].rule_id)
      // Asking again: today's configuration admits it, and the new rule is named as the likely cause.
      const again = JSON.parse((await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22', '--json'], {env})).stdout)
      expect(again.findings[0].blocked_by).to.equal('none')
      const undo = await runCli(['why-rejected', '--undo', '--json'], {env})
      expect(undo.code, undo.stderr).to.equal(0)
      expect(JSON.parse(undo.stdout).undo.removed).to.have.length(1)
      expect(names()).to.deep.equal(['deny-ssh', 'allow-inbound', 'allow-outbound'])
      const nothing = await runCli(['why-rejected', '--undo'], {env})
      expect(nothing.code).to.equal(0)
      expect(nothing.stderr).to.match(/nothing to undo/)
    })

    it('--apply without --yes on a non-terminal is a usage error and changes nothing', async () => {
      const r = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22', '--apply'], {env})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.match(/--yes/)
      expect(fake.fake.requests.filter((x) => x.method === 'POST')).to.deep.equal([])
    })

    it('a wrong API key is exit 3 and the key is not printed', async () => {
      const r = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22'], {env: {...env, IBMCLOUD_API_KEY: 'wrong-key-0123456789'}})
      expect(r.code).to.equal(3)
      expect(r.stderr + r.stdout).not.to.include('wrong-key-0123456789')
    })

    it('vpc export writes the snapshot that --vpc-config reads', async () => {
      const out = join(home.dir, 'vpc.json')
      const r = await runCli(['vpc', 'export', '--out', out, '--json'], {env})
      expect(r.code, r.stderr).to.equal(0)
      expect(JSON.parse(r.stdout).counts).to.deep.include({instances: 2, subnets: 2, security_groups: 3, network_acls: 1})
      const snap = JSON.parse(readFileSync(out, 'utf8'))
      expect(snap.network_acls[0].rules[0].name).to.equal('deny-ssh')
      const offline = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22', '--vpc-config', out, '--json'], {env: {...env, ...NO_CLOUD}})
      expect(JSON.parse(offline.stdout).findings[0].blocked_by).to.equal('network_acl_inbound')
    })
  })

  it('bad input: exit 2 with a clear message', async () => {
    const home = tempHome()
    try {
      const env = {FLOWLOG_HOME: home.dir, ...NO_CLOUD}
      const noIp = await runCli(['why-rejected', '--port', '22'], {env})
      expect(noIp.code).to.equal(2)
      expect(noIp.stderr).to.match(/--ip is required/)
      const badIp = await runCli(['why-rejected', '--ip', 'laptop', '--port', '22', '--vpc-config', '/nonexistent.json'], {env})
      expect(badIp.code).to.equal(2)
      const badProto = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22', '--protocol', 'sctp'], {env})
      expect(badProto.code).to.equal(2)
      const noConfig = await runCli(['why-rejected', '--ip', LAPTOP, '--port', '22'], {env})
      expect(noConfig.code).to.equal(3)
      expect(noConfig.stderr).to.match(/no VPC configuration/)
    } finally {
      home.cleanup()
    }
  })
})
