import {expect} from 'chai'

import type {JsonObject} from '../../src/lib/records/object.js'
import {flattenRow} from '../../src/lib/records/row.js'
import {runCli, tempHome} from '../support/cli.js'
import {iso, makeObject, makeRecord, makeV1Key, tempDir, writeBucketFolder} from '../support/fixtures.js'

/**
 * `flowlog search` end to end: a folder with regular and irregular records is pulled, then queries run through the
 * built CLI. Expected results come from small hand-written checks of each row (not from the query engine).
 */
const T0 = Date.UTC(2026, 0, 15, 10, 0)

interface Doc {
  key: string
  doc: JsonObject
}

function dataset(): Doc[] {
  const docs: Doc[] = []
  // vsi1 ingress: the blog's traffic.
  const ingress = [
    makeRecord({initiator_ip: '24.22.68.94', target_ip: '10.240.0.4', target_port: 22, action: 'rejected', direction: 'I', bytes_from_initiator: 180, bytes_from_target: 0}, T0 + 10_000),
    makeRecord({initiator_ip: '24.22.68.94', target_ip: '10.240.0.4', target_port: 3000, action: 'accepted', direction: 'I'}, T0 + 20_000),
    makeRecord({initiator_ip: '92.63.197.61', target_ip: '10.240.0.4', target_port: 443, action: 'rejected', direction: 'I'}, T0 + 30_000),
    makeRecord({initiator_ip: '92.63.197.61', target_ip: '10.240.0.45', target_port: 22, action: 'rejected', direction: 'I'}, T0 + 40_000),
    makeRecord({initiator_ip: '10.240.0.1', target_ip: '10.240.0.4', target_port: 67, transport_protocol: 17, action: 'rejected', direction: 'I'}, T0 + 50_000),
    makeRecord({initiator_ip: '45.146.164.110', target_ip: '10.240.0.4', target_port: 3389, action: 'rejected', direction: 'I'}, T0 + 60_000),
  ]
  docs.push({key: makeV1Key({time: T0, sequence: 1}), doc: makeObject(ingress, {start: T0})})
  // vsi2 egress, the next window: infrastructure noise and the mirror.
  const t1 = T0 + 5 * 60_000
  const egress = [
    makeRecord({initiator_ip: '10.240.64.4', target_ip: '161.26.0.10', target_port: 53, transport_protocol: 17, direction: 'O'}, t1 + 1000),
    makeRecord({initiator_ip: '10.240.64.4', target_ip: '161.26.0.6', target_port: 123, transport_protocol: 17, direction: 'O'}, t1 + 2000),
    makeRecord({initiator_ip: '10.240.64.4', target_ip: '10.240.64.1', target_port: 67, transport_protocol: 17, direction: 'O'}, t1 + 3000),
    makeRecord({initiator_ip: '10.240.64.4', target_ip: '161.26.0.6', target_port: 443, direction: 'O'}, t1 + 4000),
    makeRecord({initiator_ip: '10.240.64.4', target_ip: '161.26.0.6', target_port: 80, direction: 'O', start_time: '', end_time: ''}, t1 + 5000),
  ]
  docs.push({key: makeV1Key({time: t1, record_type: 'egress', sequence: 2, vnic_id: '0727-c9ce1904-48ef-4c94-b41f-51c48ccfbee4'}), doc: makeObject(egress, {start: t1})})
  // Irregular rows: an unknown field, a port as a string, a null; they must be found exactly like the others.
  const t2 = T0 + 10 * 60_000
  const odd = [
    makeRecord({initiator_ip: '203.0.113.9', target_ip: '10.240.0.4', target_port: 22, action: 'rejected', direction: 'I', vpc_internal: false}, t2 + 1000),
    makeRecord({initiator_ip: '203.0.113.10', target_ip: '10.240.0.4', target_port: '22' as unknown as number, action: 'rejected', direction: 'I'}, t2 + 2000),
    makeRecord({initiator_ip: '203.0.113.11', target_ip: '10.240.0.4', target_port: 22, action: 'accepted', direction: 'I', bytes_from_target: null}, t2 + 3000),
  ]
  docs.push({key: makeV1Key({time: t2, sequence: 3}), doc: makeObject(odd, {start: t2})})
  return docs
}

function rowsOf(docs: Doc[]): JsonObject[] {
  const rows: JsonObject[] = []
  for (const {key, doc} of docs) {
    const header: JsonObject = {}
    for (const [k, v] of Object.entries(doc)) if (k !== 'flow_logs') header[k] = v
    for (const r of doc.flow_logs as JsonObject[]) rows.push(flattenRow(header, r, key))
  }
  return rows
}

const t = (r: JsonObject) => Date.parse(String(r.start_time || r.connection_start_time || r.capture_start_time))
const wordPrefix = (v: unknown, q: string) => typeof v === 'string' && new RegExp(`(^|[^A-Za-z0-9_.])${q.replace(/\./g, '\\.')}`, 'i').test(v)

/** query → the rows it must select, by plain checks per construct. */
const CASES: {query: string; select: (r: JsonObject) => boolean}[] = [
  {query: 'target_ip:10.240.0.4 action:rejected -target_port:67', select: (r) => wordPrefix(r.target_ip, '10.240.0.4') && r.action === 'rejected' && r.target_port !== 67},
  {query: 'initiator_ip:10.240.64.4 -target_port:67 -target_port:123 -target_port:53', select: (r) => r.initiator_ip === '10.240.64.4' && ![67, 123, 53].includes(r.target_port as number)},
  {query: 'target_ip:10.240.0.4 target_port:22 initiator_ip:24.22.68.94', select: (r) => wordPrefix(r.target_ip, '10.240.0.4') && r.target_port === 22 && r.initiator_ip === '24.22.68.94'},
  {query: 'target_ip:==10.240.0.4', select: (r) => r.target_ip === '10.240.0.4'},
  // The string "22" of an irregular row matches too: on strings a value matches by word prefix.
  {query: 'target_port:(22 OR 3389) action:rejected', select: (r) => [22, 3389, '22'].includes(r.target_port as number) && r.action === 'rejected'},
  {query: 'initiator_ip:92.63.0.0/16', select: (r) => String(r.initiator_ip).startsWith('92.63.')},
  {query: '-target_port:67 -target_port:123 -target_port:53', select: (r) => ![67, 123, 53].includes(r.target_port as number)},
  {query: 'target_port:>=443', select: (r) => typeof r.target_port === 'number' && r.target_port >= 443 || (typeof r.target_port === 'string' && Number(r.target_port) >= 443)},
  {query: '161.26.0.6', select: (r) => r.target_ip === '161.26.0.6'},
  {query: 'vpc_internal:*', select: (r) => 'vpc_internal' in r},
  {query: '-bytes_from_target:*', select: (r) => r.bytes_from_target === undefined || r.bytes_from_target === null},
  {query: 'action:[accepted,rejected] direction:==O', select: (r) => r.direction === 'O'},
  {query: 'rejected OR target_port:53', select: (r) => JSON.stringify(r).includes('rejected') || r.target_port === 53},
]

describe('flowlog search (CLI, end to end)', function () {
  this.timeout(180_000)
  const data = tempDir('flowlog-search-data-')
  const home = tempHome('flowlog-search-home-')
  const docs = dataset()
  const rows = rowsOf(docs).sort((a, b) => t(a) - t(b))
  const env = {FLOWLOG_HOME: home.dir}

  before(async () => {
    writeBucketFolder(data.dir, docs.map((d) => ({key: d.key, body: d.doc})))
    const pulled = await runCli(['pull', '--source', data.dir, '--json'], {env})
    expect(pulled.code, pulled.stderr).to.equal(0)
    expect(JSON.parse(pulled.stdout).records).to.equal(rows.length)
  })

  after(() => {
    data.cleanup()
    home.cleanup()
  })

  for (const c of CASES) {
    it(`selects exactly the right rows, oldest first as an ndjson export, newest first in --json: ${c.query}`, async () => {
      const expected = rows.filter(c.select)
      expect(expected.length, 'the case must select something').to.be.greaterThan(0)
      const nd = await runCli(['search', c.query, '--output', 'ndjson', '--limit', '0'], {env})
      expect(nd.code, nd.stderr).to.equal(0)
      const got = nd.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonObject)
      expect(got).to.deep.equal(expected)
      // The line is the flattened row exactly as forward sends it.
      expect(nd.stdout.split('\n').filter(Boolean)).to.deep.equal(expected.map((r) => JSON.stringify(r)))
      // The --json document holds the same records, newest first (ties keep their order).
      const js = await runCli(['search', c.query, '--limit', '0', '--json'], {env})
      expect(JSON.parse(js.stdout)).to.deep.include({records: [...expected].sort((a, b) => t(b) - t(a)), truncated: false})
    })
  }

  it('takes a query that starts with - and spans several unquoted words', async () => {
    const r = await runCli(['search', '-target_port:67', '-target_port:123', '-target_port:53', '--output', 'ndjson', '--limit', '0'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const got = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonObject)
    expect(got).to.deep.equal(rows.filter((x) => ![67, 123, 53].includes(x.target_port as number)))
  })

  it('--limit truncates, says so on stderr, and --json reports truncated', async () => {
    const r = await runCli(['search', 'action:rejected', '--limit', '2', '--json'], {env})
    const doc = JSON.parse(r.stdout)
    expect(doc.records).to.have.length(2)
    expect(doc.truncated).to.equal(true)
    expect(doc.total).to.equal(rows.filter((x) => x.action === 'rejected').length)
    const table = await runCli(['search', 'action:rejected', '--limit', '2'], {env})
    expect(table.stderr).to.match(/showing 2 of \d+ records/)
  })

  it('--since/--until select records by their own time (since <= t < until)', async () => {
    const since = iso(T0 + 5 * 60_000)
    const until = iso(T0 + 5 * 60_000 + 4000)
    const r = await runCli(['search', '', '--since', since, '--until', until, '--output', 'ndjson', '--limit', '0'], {env})
    const got = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonObject)
    const lo = Date.parse(since)
    const hi = Date.parse(until)
    expect(got).to.deep.equal(rows.filter((x) => t(x) >= lo && t(x) < hi))
  })

  it('--fields, --sort and csv', async () => {
    const r = await runCli(['search', 'action:rejected', '--fields', 'initiator_ip,target_port', '--sort', 'initiator_ip:desc', '--output', 'csv', '--limit', '3'], {env})
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).to.equal('initiator_ip,target_port')
    const ips = lines.slice(1).map((l) => l.split(',')[0])
    expect(ips).to.deep.equal([...ips].sort().reverse())
  })

  it('a table for people, with the action and protocol by name', async () => {
    const r = await runCli(['search', 'target_port:53'], {env})
    expect(r.code).to.equal(0)
    expect(r.stdout).to.include('udp').and.to.include('161.26.0.10:53')
    expect(r.stdout).not.to.match(/\u001b\[/)
  })

  it('hints at :== when a whole IP matched by prefix', async () => {
    const r = await runCli(['search', 'target_ip:10.240.0.4', '--output', 'ndjson', '--limit', '0'], {env})
    expect(r.stdout).to.include('10.240.0.45')
    expect(r.stderr).to.include('target_ip:==10.240.0.4')
  })

  it('a syntax error names the column, shows a caret and exits 2', async () => {
    const r = await runCli(['search', 'target_port:>abc'], {env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/column \d+/)
    expect(r.stderr).to.include('^')
  })

  it('an empty result says so on stderr and exits 0', async () => {
    const r = await runCli(['search', 'initiator_ip:==1.2.3.4'], {env})
    expect(r.code).to.equal(0)
    expect(r.stdout).to.equal('')
    expect(r.stderr).to.include('no records match')
  })

  it('an empty index says how to load data', async () => {
    const empty = tempHome('flowlog-search-empty-')
    try {
      const r = await runCli(['search', 'action:rejected'], {env: {FLOWLOG_HOME: empty.dir}})
      expect(r.code).to.equal(0)
      expect(r.stderr).to.include('flowlog pull')
    } finally {
      empty.cleanup()
    }
  })

  it('--source pulls first, then searches', async () => {
    const fresh = tempHome('flowlog-search-src-')
    try {
      const r = await runCli(['search', 'initiator_ip:24.22.68.94', '--source', data.dir, '--output', 'ndjson', '--limit', '0'], {env: {FLOWLOG_HOME: fresh.dir}})
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout.split('\n').filter(Boolean)).to.have.length(2)
    } finally {
      fresh.cleanup()
    }
  })
})
