/**
 * Connections, not copies, on the demo (needs `npm run build`): vsi1 → vsi2:3000 is logged as egress at vsi1 and
 * ingress at vsi2, start times minutes apart. top and stats count each call once (twice with --raw) and say how many
 * records they merged; `flowlog connections` lists each call once with both interfaces; its help examples run.
 */
import {expect} from 'chai'

import Connections from '../../src/commands/connections.js'
import {DEMO_INSTANCES} from '../../src/lib/demo/scenario.js'
import {openStore} from '../../src/lib/store/store.js'
import {runCli, tempHome} from '../support/cli.js'
import {homeAt} from '../support/fixtures.js'

const VSI1 = DEMO_INSTANCES.vsi1
const VSI2 = DEMO_INSTANCES.vsi2

describe('connections on the demo: vsi1 → vsi2 counted once', function () {
  this.timeout(300_000)
  let home: {dir: string; cleanup: () => void}
  const env = () => ({FLOWLOG_HOME: home.dir})
  /** Records of vsi1's calls to vsi2's app (each call is two of them). */
  let calls: number

  before(async () => {
    home = tempHome()
    const r = await runCli(['demo', '--hours', '1', '--seed', '7', '--json'], {env: env()})
    expect(r.code, r.stderr).to.equal(0)
    const store = await openStore(homeAt(home.dir), {readOnly: true})
    try {
      const [row] = await store.all(`SELECT count(*) AS n, count(DISTINCT network_interface_id) AS nics FROM records WHERE initiator_ip = ? AND target_ip = ? AND target_port = 3000`, [VSI1.ip, VSI2.ip])
      calls = Number(row.n)
      expect(Number(row.nics)).to.equal(2)
    } finally {
      await store.close()
    }
    expect(calls).to.be.greaterThan(0)
    expect(calls % 2).to.equal(0)
  })
  after(() => home?.cleanup())

  it('top --by target_ip: vsi2 counted once per call, twice with --raw; "merged" in --json and a line on stderr', async () => {
    const merged = await runCli(['top', '--by', 'target_ip', '--json'], {env: env()})
    const raw = await runCli(['top', '--by', 'target_ip', '--raw', '--json'], {env: env()})
    expect(merged.code, merged.stderr).to.equal(0)
    expect(raw.code, raw.stderr).to.equal(0)
    const m = JSON.parse(merged.stdout) as {rows: {value: string; flows: number}[]; records: number; merged: number}
    const r = JSON.parse(raw.stdout) as {rows: {value: string; flows: number}[]; records: number; merged: number}
    const flows = (x: typeof m) => x.rows.find((row) => row.value === VSI2.ip)?.flows
    expect(flows(m)).to.equal(calls / 2)
    expect(flows(r)).to.equal(calls)
    expect(m.merged).to.be.at.least(calls / 2)
    expect(m.records + m.merged).to.equal(r.records)
    expect(r.merged).to.equal(0)
    const table = await runCli(['top', '--by', 'target_ip'], {env: env()})
    expect(table.stderr).to.include(`counting ${m.records.toLocaleString('en-US')} connections, ${m.merged} copies merged (--raw: records)`)
    for (const line of table.stderr.split('\n')) expect(line.length).to.be.at.most(80)
    const rawTable = await runCli(['top', '--by', 'target_ip', '--raw'], {env: env()})
    expect(rawTable.stderr).not.to.match(/copies/)
  })

  it('stats: the calls counted once, twice with --raw', async () => {
    const q = `initiator_ip:==${VSI1.ip} target_ip:==${VSI2.ip}`
    const merged = await runCli(['stats', q, '--json'], {env: env()})
    const raw = await runCli(['stats', q, '--raw', '--json'], {env: env()})
    expect(merged.code, merged.stderr).to.equal(0)
    const m = JSON.parse(merged.stdout) as {totals: {records: number; accepted: number}; merged: number; top_talkers: {value: string; flows: number}[]}
    const r = JSON.parse(raw.stdout) as {totals: {records: number}; merged: number; top_talkers: {value: string; flows: number}[]}
    expect(m.totals).to.include({records: calls / 2, accepted: calls / 2})
    expect(m.merged).to.equal(calls / 2)
    expect(m.top_talkers[0]).to.include({value: VSI1.ip, flows: calls / 2})
    expect(r.totals.records).to.equal(calls)
    expect(r.merged).to.equal(0)
    expect(r.top_talkers[0]).to.include({value: VSI1.ip, flows: calls})
  })

  it('connections lists each call once, seen at both interfaces, newest first', async () => {
    const r = await runCli(['connections', `initiator_ip:==${VSI1.ip} target_ip:==${VSI2.ip}`, '--limit', '0', '--json'], {env: env()})
    expect(r.code, r.stderr).to.equal(0)
    const out = JSON.parse(r.stdout) as {connections: {records: number; first_time: string; interfaces: {id: string; ip: string}[]}[]; total: number; records: number; merged: number}
    expect(out).to.include({total: calls / 2, records: calls, merged: calls / 2})
    for (const c of out.connections) {
      expect(c.records).to.equal(2)
      expect(c.interfaces.map((i) => [i.id, i.ip])).to.deep.equal([
        [VSI1.vnic, VSI1.ip],
        [VSI2.vnic, VSI2.ip],
      ])
    }
    const times = out.connections.map((c) => c.first_time)
    expect(times).to.deep.equal([...times].sort().reverse())
  })

  it('--output ndjson and csv: one connection a line; --limit; the count on stderr', async () => {
    const nd = await runCli(['connections', '--output', 'ndjson', '--limit', '3'], {env: env()})
    expect(nd.code, nd.stderr).to.equal(0)
    const lines = nd.stdout.trim().split('\n')
    expect(lines).to.have.length(3)
    for (const l of lines) expect(JSON.parse(l)).to.have.keys('initiator_ip', 'initiator_port', 'target_ip', 'target_port', 'transport_protocol', 'action', 'first_time', 'last_time', 'bytes_from_initiator', 'packets_from_initiator', 'bytes_from_target', 'packets_from_target', 'interfaces', 'records')
    expect(nd.stderr).to.match(/showing 3 of [\d,]+ connections from [\d,]+ records \([\d,]+ merged\)/)
    const csv = await runCli(['connections', `target_ip:==${VSI2.ip} target_port:3000`, '--output', 'csv', '--limit', '0'], {env: env()})
    const rows = csv.stdout.trim().split('\n')
    expect(rows[0]).to.equal('first_time,last_time,action,initiator_ip,initiator_port,target_ip,target_port,transport_protocol,bytes_from_initiator,packets_from_initiator,bytes_from_target,packets_from_target,interfaces,records')
    expect(rows).to.have.length(1 + calls / 2)
    expect(rows[1].endsWith(`,${VSI1.vnic} ${VSI2.vnic},2`)).to.equal(true)
  })

  it('the table names both interfaces; a bad --sort exits 2', async () => {
    const t = await runCli(['connections', `target_ip:==${VSI2.ip} target_port:3000`, '--limit', '2'], {env: env()})
    expect(t.code, t.stderr).to.equal(0)
    expect(t.stdout).to.include('flowlogs-vsi1/eth0, flowlogs-vsi2/eth0')
    const bad = await runCli(['connections', '--sort', 'size'], {env: env()})
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.match(/--sort "size"/)
  })

  it('every help example runs on the demo data as shown', async () => {
    expect(Connections.examples.length).to.be.at.least(2)
    for (const e of Connections.examples) {
      const command = typeof e === 'string' ? e : e.command
      const words = [...command.replace('<%= config.bin %> ', '').matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2])
      const r = await runCli(words, {env: env()})
      expect(words[0]).to.equal('connections')
      expect(r.code, `${command}\n${r.stderr}`).to.equal(0)
      expect(r.stdout.trim(), command).not.to.equal('')
    }
  })
})
