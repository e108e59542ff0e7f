/**
 * `flowlog demo` (needs `npm run build`): the blog's scenario must really be in the data the index holds, the objects
 * must look like a real bucket (v1 keys matching their headers, ingress and egress per interface every 5 minutes),
 * and the command must be deterministic, re-runnable and careful with folders it did not write.
 */
import {expect} from 'chai'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join, relative, sep} from 'node:path'

import {type DemoResult, generateDemo, runDemo} from '../../src/lib/demo/index.js'
import {DEMO_INSTANCES, DEMO_LAPTOP_IP, DEMO_SCANNERS, DEMO_VPC} from '../../src/lib/demo/scenario.js'
import {parseKey} from '../../src/lib/records/key.js'
import {readObject} from '../../src/lib/records/object.js'
import {floorHour} from '../../src/lib/records/time.js'
import {openStore, type SqlRow} from '../../src/lib/store/store.js'
import {runCli, tempHome} from '../support/cli.js'
import {homeAt, tempDir, writeBucketFile} from '../support/fixtures.js'

const VSI1 = DEMO_INSTANCES.vsi1
const VSI2 = DEMO_INSTANCES.vsi2

async function query(homeDir: string, sql: string, params: unknown[] = []): Promise<SqlRow[]> {
  const store = await openStore(homeAt(homeDir), {readOnly: true})
  try {
    return await store.all(sql, params)
  } finally {
    await store.close()
  }
}

async function count(homeDir: string, where: string, params: unknown[] = []): Promise<number> {
  const [r] = await query(homeDir, `SELECT count(*) AS n FROM records WHERE ${where}`, params)
  return Number(r.n)
}

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, {recursive: true}) as string[]).map((f) => join(dir, f)).filter((f) => f.endsWith('.gz'))
}

describe('flowlog demo --hours 2 --seed 7', function () {
  this.timeout(300_000)
  let home: {dir: string; cleanup: () => void}
  let result: DemoResult
  let stderr: string

  before(async () => {
    home = tempHome()
    const r = await runCli(['demo', '--hours', '2', '--seed', '7', '--json'], {env: {FLOWLOG_HOME: home.dir}})
    expect(r.code, r.stderr).to.equal(0)
    result = JSON.parse(r.stdout) as DemoResult
    stderr = r.stderr
  })
  after(() => home?.cleanup())

  it('--json has dir, objects and records; the folder is inside the home by default', async () => {
    expect(result.dir).to.equal(join(home.dir, 'demo'))
    expect(result.objects).to.equal(96)
    expect(result.records).to.be.greaterThan(96)
    expect(result.pull.objects).to.include({listed: 96, loaded: 96, failed: 0})
    expect(result.pull.records).to.equal(result.records)
    expect(result.nextSteps.length).to.be.greaterThan(0)
    expect(stderr).to.equal('')
    const [c] = await query(home.dir, 'SELECT (SELECT count(*) FROM objects) AS o, (SELECT count(*) FROM records) AS r')
    expect([c.o, c.r]).to.deep.equal([96, result.records])
  })

  it('the laptop 24.22.68.94 → 10.240.0.4: SSH (22) rejected, the app (3000) accepted', async () => {
    const base = `initiator_ip = ? AND target_ip = ? AND transport_protocol = 6`
    expect(await count(home.dir, `${base} AND target_port = 22 AND action = 'rejected'`, [DEMO_LAPTOP_IP, VSI1.ip])).to.be.greaterThan(0)
    expect(await count(home.dir, `${base} AND target_port = 3000 AND action = 'accepted'`, [DEMO_LAPTOP_IP, VSI1.ip])).to.be.greaterThan(0)
    expect(await count(home.dir, `${base} AND target_port = 22 AND action = 'accepted'`, [DEMO_LAPTOP_IP, VSI1.ip])).to.equal(0)
    expect(await count(home.dir, `${base} AND target_port = 3000 AND action = 'rejected'`, [DEMO_LAPTOP_IP, VSI1.ip])).to.equal(0)
    // seen inbound on vsi1's interface
    const [v] = await query(
      home.dir,
      `SELECT DISTINCT direction, network_interface_id FROM records WHERE initiator_ip = ? AND target_port = 22`,
      [DEMO_LAPTOP_IP],
    )
    expect(v).to.deep.equal({direction: 'I', network_interface_id: VSI1.vnic})
  })

  it('the scanner 92.63.197.61 is rejected on 443 and on 22', async () => {
    expect(DEMO_SCANNERS[0]).to.equal('92.63.197.61')
    for (const port of [443, 22]) {
      expect(await count(home.dir, `initiator_ip = ? AND target_port = ? AND action = 'rejected'`, ['92.63.197.61', port]), `port ${port}`).to.be.greaterThan(0)
    }
    expect(await count(home.dir, `initiator_ip = ? AND action = 'accepted'`, ['92.63.197.61'])).to.equal(0)
  })

  it('vsi2 10.240.64.4 sends to ports 67, 123, 53, 443 and 80', async () => {
    const rows = await query(home.dir, `SELECT DISTINCT target_port FROM records WHERE initiator_ip = ? AND action = 'accepted'`, [VSI2.ip])
    const ports = rows.map((r) => Number(r.target_port))
    expect(ports).to.include.members([67, 123, 53, 443, 80])
  })

  it('vsi1 → vsi2:3000 is accepted, reported outbound by vsi1 and inbound by vsi2', async () => {
    const rows = await query(
      home.dir,
      `SELECT direction, network_interface_id, count(*) AS n FROM records WHERE initiator_ip = ? AND target_ip = ? AND target_port = 3000 AND action = 'accepted' GROUP BY ALL ORDER BY direction`,
      [VSI1.ip, VSI2.ip],
    )
    expect(rows.map((r) => [r.direction, r.network_interface_id])).to.deep.equal([
      ['I', VSI2.vnic],
      ['O', VSI1.vnic],
    ])
    expect(rows[0].n).to.equal(rows[1].n)
  })

  it('ingress and egress objects per interface every 5 minutes: 2 h → 24 windows × 2 interfaces × 2', async () => {
    const rows = await query(
      home.dir,
      `SELECT vnic_id, record_type, count(*) AS n, count(DISTINCT h_capture_start_time) AS windows FROM objects GROUP BY ALL ORDER BY ALL`,
    )
    expect(rows).to.deep.equal([
      {vnic_id: VSI1.vnic, record_type: 'egress', n: 24, windows: 24},
      {vnic_id: VSI1.vnic, record_type: 'ingress', n: 24, windows: 24},
      {vnic_id: VSI2.vnic, record_type: 'egress', n: 24, windows: 24},
      {vnic_id: VSI2.vnic, record_type: 'ingress', n: 24, windows: 24},
    ])
    const starts = (await query(home.dir, `SELECT DISTINCT h_capture_start_time AS s FROM objects ORDER BY 1`)).map((r) => Date.parse(String(r.s)))
    expect(starts).to.have.length(24)
    starts.forEach((t, i) => {
      expect(t % (5 * 60_000)).to.equal(0)
      if (i > 0) expect(t - starts[i - 1]).to.equal(5 * 60_000)
    })
    expect(Date.now() - starts[0]).to.be.at.most(2 * 3_600_000 + 10 * 60_000)
  })

  it('every object has a v1 key whose fields match its header; record directions match the record type', () => {
    const files = filesUnder(result.dir)
    expect(files).to.have.length(96)
    for (const file of files) {
      const key = relative(result.dir, file).split(sep).join('/')
      const p = parseKey(key)
      expect(p?.layout, key).to.equal('v1')
      const o = readObject(readFileSync(file))
      const h = o.header
      const inst = p!.vnic_id === VSI1.vnic ? VSI1 : VSI2
      expect(p!.vnic_id).to.equal(h.network_interface_id)
      expect(p!.instance_crn).to.equal(h.instance_crn)
      expect(p!.instance_crn).to.equal(inst.crn)
      expect(p!.vpc_crn).to.equal(h.vpc_crn)
      expect(p!.vpc_crn).to.equal(DEMO_VPC.crn)
      expect(p!.zone).to.equal(inst.crn.split(':')[5])
      expect(p!.hour_dir).to.equal(floorHour(Date.parse(String(h.capture_start_time))))
      expect(h.number_of_flow_logs).to.equal(o.records.length)
      expect(Date.parse(String(h.capture_end_time)) - Date.parse(String(h.capture_start_time))).to.equal(5 * 60_000)
      const expectedDirection = p!.record_type === 'ingress' ? 'I' : 'O'
      for (const r of o.records) {
        expect(r.direction, key).to.equal(expectedDirection)
        expect(expectedDirection === 'I' ? r.target_ip : r.initiator_ip).to.equal(inst.ip)
        const t = Date.parse(String(r.start_time))
        expect(t).to.be.within(Date.parse(String(h.capture_start_time)), Date.parse(String(h.capture_end_time)))
      }
    }
    expect(existsSync(join(result.dir, '.flowlog-demo'))).to.equal(true)
  })

  it('running demo again works: it replaces its own folder', async () => {
    const again = await runCli(['demo', '--hours', '2', '--seed', '7', '--json'], {env: {FLOWLOG_HOME: home.dir}})
    expect(again.code, again.stderr).to.equal(0)
    const second = JSON.parse(again.stdout) as DemoResult
    expect(second.dir).to.equal(result.dir)
    expect(second.objects).to.equal(96)
    expect(second.records).to.equal(result.records) // same seed, same traffic
    expect(filesUnder(result.dir)).to.have.length(96)
  })
})

describe('flowlog demo: determinism, re-runs and foreign folders', function () {
  this.timeout(300_000)

  it('is deterministic for a seed (same keys, same bytes), and a different seed gives different traffic', () => {
    const end = Date.UTC(2026, 0, 15, 12, 3)
    const a = generateDemo({hours: 2, seed: 7, end})
    const b = generateDemo({hours: 2, seed: 7, end})
    expect(a.map((o) => o.key)).to.deep.equal(b.map((o) => o.key))
    a.forEach((o, i) => expect(o.body.equals(b[i].body), o.key).to.equal(true))
    const c = generateDemo({hours: 2, seed: 8, end})
    expect(c.map((o) => o.key)).to.deep.equal(a.map((o) => o.key))
    expect(c.some((o, i) => !o.body.equals(a[i].body))).to.equal(true)
    // the end is floored to 5 minutes: the last window ends at 12:00
    const last = readObject(a.at(-1)!.body)
    expect(last.header.capture_end_time).to.equal('2026-01-15T12:00:00Z')
  })

  it('the CLI with the same seed in two homes loads the same records (apart from times)', async () => {
    const shape = async (homeDir: string) =>
      (
        await query(
          homeDir,
          `SELECT initiator_ip, target_ip, initiator_port, target_port, action, direction, bytes_from_initiator FROM records ORDER BY ALL`,
        )
      ).map((r) => JSON.stringify(r))
    const h1 = tempHome()
    const h2 = tempHome()
    try {
      const r1 = await runCli(['demo', '--hours', '1', '--seed', '3'], {env: {FLOWLOG_HOME: h1.dir}})
      const r2 = await runCli(['demo', '--hours', '1', '--seed', '3'], {env: {FLOWLOG_HOME: h2.dir}})
      expect([r1.code, r2.code]).to.deep.equal([0, 0])
      // the human output: a summary on stderr, the next steps on stdout
      expect(r1.stderr).to.match(/48 objects with \d+ records written to .* and loaded/)
      expect(r1.stdout).to.contain('flowlog search')
      expect(await shape(h1.dir)).to.deep.equal(await shape(h2.dir))
    } finally {
      h1.cleanup()
      h2.cleanup()
    }
  })

  it('a non-empty folder it did not write is refused with exit 2 and left untouched', async () => {
    const home = tempHome()
    const dir = tempDir('flowlog-foreign-')
    try {
      writeBucketFile(dir.dir, {key: 'precious.txt', body: 'keep me', gzip: false})
      const r = await runCli(['demo', '--dir', dir.dir, '--hours', '1'], {env: {FLOWLOG_HOME: home.dir}})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.contain('is not empty and was not written by flowlog demo')
      expect(readdirSync(dir.dir)).to.deep.equal(['precious.txt'])
      const j = await runCli(['demo', '--dir', dir.dir, '--hours', '1', '--json'], {env: {FLOWLOG_HOME: home.dir}})
      expect(j.code).to.equal(2)
      expect((JSON.parse(j.stdout) as {error: {code: string}}).error.code).to.equal('usage')
    } finally {
      home.cleanup()
      dir.cleanup()
    }
  })

  it('an empty --dir given by the user is used', async () => {
    const home = tempHome()
    const dir = tempDir('flowlog-demo-dir-')
    try {
      const r = await runCli(['demo', '--dir', dir.dir, '--hours', '1', '--json'], {env: {FLOWLOG_HOME: home.dir}})
      expect(r.code, r.stderr).to.equal(0)
      expect((JSON.parse(r.stdout) as DemoResult).dir).to.equal(dir.dir)
      expect(filesUnder(dir.dir)).to.have.length(48)
    } finally {
      home.cleanup()
      dir.cleanup()
    }
  })

  // A second demo whose time range moved on rewrites the folder: the index must not keep the first run's traffic.
  it('a re-run whose time range moved leaves only the new run in the index', async () => {
    const t = tempDir('flowlog-demo-rerun-')
    try {
      const home = homeAt(t.dir)
      const end = Date.UTC(2026, 0, 15, 12)
      await runDemo({home, hours: 1, seed: 7, end})
      const second = await runDemo({home, hours: 1, seed: 7, end: end + 3_600_000})
      // The demo's own index is the one in use now (homeAt resolves it again).
      const store = await openStore(homeAt(t.dir), {readOnly: true})
      try {
        expect(await store.counts()).to.deep.equal({objects: second.objects, records: second.records})
      } finally {
        await store.close()
      }
    } finally {
      t.cleanup()
    }
  })
})
