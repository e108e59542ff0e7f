import {expect} from 'chai'
import {Chalk} from 'chalk'
import {writeFileSync} from 'node:fs'

import {demoVpcSnapshot} from '../../src/lib/demo/snapshot.js'
import {gatewayOf, loadNames, namesFromSnapshot, snapshotPathOf} from '../../src/lib/names.js'
import {recordTable} from '../../src/lib/ui/records.js'
import {startVpcFake, TEST_API_KEY} from '../fakes/vpc.js'
import {homeAt, makeRecord, tempDir} from '../support/fixtures.js'

describe('investigation: names for IPs', function () {
  this.timeout(60_000)

  it('names instance interfaces, subnet gateways and floating IPs from a VPC snapshot', () => {
    const names = namesFromSnapshot(demoVpcSnapshot() as unknown as Record<string, unknown>)
    expect(names.get('10.240.0.4')).to.equal('flowlogs-vsi1/eth0')
    expect(names.get('10.240.64.4')).to.equal('flowlogs-vsi2/eth0')
    expect(names.get('10.240.0.1')).to.equal('flowlogs-subnet1 gateway')
    expect(names.get('10.240.64.1')).to.equal('flowlogs-subnet2 gateway')
    expect(names.get('169.48.96.10')).to.equal('fip:flowlogs-vsi1-fip')
    expect(names.has('24.22.68.94')).to.equal(false)
  })

  it('names interfaces of instances on network attachments (virtual network interfaces)', () => {
    const names = namesFromSnapshot({
      instances: [
        {
          name: 'app-1',
          network_attachments: [{id: 'a1', name: 'att-0', primary_ip: {address: '10.10.0.5'}, virtual_network_interface: {id: 'v1', name: 'app-1-vni'}}],
        },
      ],
      virtual_network_interfaces: [{name: 'lonely-vni', primary_ip: {address: '10.10.0.9'}}],
      load_balancers: [{name: 'web-lb', private_ips: [{address: '10.10.0.20'}]}],
    })
    expect(names.get('10.10.0.5')).to.equal('app-1/app-1-vni')
    expect(names.get('10.10.0.9')).to.equal('lonely-vni')
    expect(names.get('10.10.0.20')).to.equal('lb:web-lb')
  })

  it('computes subnet gateways', () => {
    expect(gatewayOf('10.240.0.0/24')).to.equal('10.240.0.1')
    expect(gatewayOf('10.240.64.0/18')).to.equal('10.240.64.1')
    expect(gatewayOf('10.240.0.7/24')).to.equal('10.240.0.1')
    expect(gatewayOf('nonsense')).to.equal(undefined)
  })

  it('loads the snapshot from the home; a broken snapshot gives a warning and no names', async () => {
    const h = tempDir()
    try {
      const home = homeAt(h.dir)
      expect((await loadNames(home, {env: {}})).source).to.equal('none')
      writeFileSync(snapshotPathOf(home), JSON.stringify(demoVpcSnapshot()))
      const ok = await loadNames(home, {env: {}})
      expect(ok.source).to.equal('snapshot')
      expect(ok.names.get('10.240.0.4')).to.equal('flowlogs-vsi1/eth0')
      expect((await loadNames(home, {env: {}, mode: 'off'})).names.size).to.equal(0)
      writeFileSync(snapshotPathOf(home), '{not json')
      const broken = await loadNames(home, {env: {}})
      expect(broken.names.size).to.equal(0)
      expect(broken.warnings[0]).to.match(/vpc-snapshot\.json/)
    } finally {
      h.cleanup()
    }
  })

  it('uses the live VPC API when an API key is available, and caches the names for an hour', async () => {
    const vpc = await startVpcFake({iam: true})
    const h = tempDir()
    try {
      const home = homeAt(h.dir)
      const env = {IBMCLOUD_API_KEY: TEST_API_KEY, FLOWLOG_IAM_URL: vpc.iamUrl, FLOWLOG_VPC_URL: vpc.url}
      let now = Date.UTC(2026, 0, 1)
      const first = await loadNames(home, {env, now: () => now})
      expect(first.source).to.equal('live')
      expect(first.names.get('10.240.0.4')).to.equal('flowlogs-vsi1/eth0')
      const calls = vpc.fake.requests.length
      now += 30 * 60_000
      const cached = await loadNames(home, {env, now: () => now})
      expect(cached.source).to.equal('cache')
      expect(cached.names.get('10.240.64.4')).to.equal('flowlogs-vsi2/eth0')
      expect(vpc.fake.requests.length).to.equal(calls)
      now += 60 * 60_000
      expect((await loadNames(home, {env, now: () => now})).source).to.equal('live')
      // A wrong key: a warning, no names, no exception; the failure is remembered for a while.
      const other = tempDir()
      try {
        const otherHome = homeAt(other.dir)
        const badEnv = {...env, IBMCLOUD_API_KEY: 'wrong-key-000000000'}
        const bad = await loadNames(otherHome, {env: badEnv, now: () => now})
        expect(bad.source).to.equal('none')
        expect(bad.warnings).to.have.length(1)
        expect(bad.warnings[0]).to.not.contain('wrong-key-000000000')
        const tokens = vpc.tokenRequests
        const again = await loadNames(otherHome, {env: badEnv, now: () => now + 60_000})
        expect(again).to.deep.include({source: 'none', warnings: []})
        expect(vpc.tokenRequests).to.equal(tokens)
      } finally {
        other.cleanup()
      }
    } finally {
      h.cleanup()
      await vpc.close()
    }
  })

  it('the search table shows names beside IPs (recordTable names)', () => {
    const c = new Chalk({level: 0})
    const names = namesFromSnapshot(demoVpcSnapshot() as unknown as Record<string, unknown>)
    const table = recordTable([{row: makeRecord({initiator_ip: '24.22.68.94', target_ip: '10.240.0.4'}), time: 't'}], c, undefined, names)
    expect(table).to.contain('10.240.0.4:22/ssh (flowlogs-vsi1/eth0)')
  })
})
