/**
 * issue 17 as users see it, on the demo's data (real processes over dist/: `npm run build` first): newest first,
 * tables within $COLUMNS, the demo's own index, `flowlog index info` and `flowlog index reset`.
 */
import {expect} from 'chai'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {runCli, SAMPLES, tempHome} from '../support/cli.js'

const widest = (text: string) => Math.max(0, ...text.split('\n').map((l) => [...l].length))

describe('terminal experience on the demo (issue 17)', function () {
  this.timeout(180_000)
  const home = tempHome('flowlog-ux-')
  const env = {FLOWLOG_HOME: home.dir}

  before(async () => {
    const r = await runCli(['demo', '--hours', '2'], {env})
    expect(r.code, r.stderr).to.equal(0)
  })
  after(() => home.cleanup())

  it("search --output ndjson is newest first: the first record's time >= the last's; --sort time:asc and --limit 0 exports are oldest first", async () => {
    const times = (out: string) => out.trim().split('\n').map((l) => Date.parse(String((JSON.parse(l) as {start_time: string}).start_time)))
    const r = await runCli(['search', 'target_ip:10.240.0.4', '--output', 'ndjson'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const t = times(r.stdout)
    expect(t.length).to.be.greaterThan(1)
    expect(t[0]).to.be.at.least(t.at(-1)!)
    expect(t).to.deep.equal([...t].sort((a, b) => b - a))
    const asc = times((await runCli(['search', 'target_ip:10.240.0.4', '--output', 'ndjson', '--sort', 'time:asc'], {env})).stdout)
    expect(asc).to.deep.equal([...asc].sort((a, b) => a - b))
    const exported = times((await runCli(['search', 'target_ip:10.240.0.4', '--output', 'ndjson', '--limit', '0'], {env})).stdout)
    expect(exported).to.deep.equal([...exported].sort((a, b) => a - b))
    expect(exported[0]).to.be.below(exported.at(-1)!)
    // The table says the order.
    const table = await runCli(['search', 'target_ip:10.240.0.4', '--limit', '2'], {env})
    expect(table.stderr).to.match(/showing 2 of \d+ records, newest first/)
  })

  it('COLUMNS=80: no line of search --limit 5, top --by initiator_ip or stats is longer than 80 characters; --wide shows everything', async () => {
    const cols = {...env, COLUMNS: '80'}
    const search = await runCli(['search', 'target_ip:10.240.0.4', '--limit', '5'], {env: cols})
    expect(search.code, search.stderr).to.equal(0)
    expect(search.stdout.trim().split('\n')).to.have.length(5 + 3)
    expect(widest(search.stdout)).to.be.at.most(80)
    expect(search.stdout).to.match(/time/).and.match(/action/).and.match(/initiator/).and.match(/target/)
    const top = await runCli(['top', '--by', 'initiator_ip'], {env: cols})
    expect(top.code, top.stderr).to.equal(0)
    expect(widest(top.stdout)).to.be.at.most(80)
    expect(top.stdout).to.contain('flows bar')
    const stats = await runCli(['stats'], {env: cols})
    expect(widest(stats.stdout)).to.be.at.most(80)
    expect(stats.stdout).to.match(/scale: \. 1 … @ \d+ flows per 5m/)
    expect(stats.stdout).to.contain('accepted bar').and.contain('rejected bar')
    const narrow = await runCli(['top', '--by', 'target_port', '-q', 'action:rejected'], {env: {...env, COLUMNS: '40'}})
    expect(widest(narrow.stdout)).to.be.at.most(40)
    expect(narrow.stdout).to.contain('22/ssh')
    const wide = await runCli(['search', 'target_ip:10.240.0.4', '--limit', '5', '--wide'], {env: cols})
    expect(widest(wide.stdout)).to.be.greaterThan(80)
    expect(wide.stdout).to.contain('bytes ↑/↓').and.contain('pkts ↑/↓').and.contain('(flowlogs-vsi1/eth0)')
  })

  it('the demo has its own index; reading it is said; index info --json reports its records', async () => {
    expect(existsSync(join(home.dir, 'demo.duckdb'))).to.equal(true)
    expect(existsSync(join(home.dir, 'index.duckdb'))).to.equal(false)
    const r = await runCli(['search', 'action:rejected', '--limit', '1'], {env})
    expect(r.stderr).to.contain("reading the demo's index")
    const info = await runCli(['index', 'info', '--json'], {env})
    expect(info.code, info.stderr).to.equal(0)
    const doc = JSON.parse(info.stdout) as {index: string; records: number; objects: number; sources: {records: number}[]; time_range: {first: string; last: string}; bytes: number}
    expect(doc.index).to.equal('demo')
    expect(doc.objects).to.equal(96)
    expect(doc.records).to.be.greaterThan(96)
    expect(doc.sources.reduce((a, s) => a + s.records, 0)).to.equal(doc.records)
    expect(Date.parse(doc.time_range.first)).to.be.below(Date.parse(doc.time_range.last))
    expect(doc.bytes).to.be.greaterThan(0)
    const all = await runCli(['search', '', '--limit', '0', '--output', 'ndjson'], {env})
    expect(all.stdout.trim().split('\n')).to.have.length(doc.records)
  })

  it('index reset asks for --yes off a terminal, then leaves search with 0 records', async () => {
    const refused = await runCli(['index', 'reset'], {env})
    expect(refused.code).to.equal(2)
    expect(refused.stderr).to.contain('--yes')
    const reset = await runCli(['index', 'reset', '--yes'], {env})
    expect(reset.code, reset.stderr).to.equal(0)
    const r = await runCli(['search', '', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout)).to.deep.include({records: [], total: 0})
    const info = JSON.parse((await runCli(['index', 'info', '--json'], {env})).stdout) as {records: number}
    expect(info.records).to.equal(0)
  })

  it('a pull goes into your own index, which is then the one read', async () => {
    const pulled = await runCli(['pull', '--source', SAMPLES, '--json'], {env})
    expect(pulled.code, pulled.stderr).to.equal(0)
    const info = JSON.parse((await runCli(['index', 'info', '--json'], {env})).stdout) as {index: string; records: number}
    expect(info.index).to.equal('own')
    expect(info.records).to.equal(JSON.parse(pulled.stdout).records)
    const r = await runCli(['search', '', '--limit', '1'], {env})
    expect(r.stderr).to.not.contain("demo's index")
  })
})
