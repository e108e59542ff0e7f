/**
 * docs/lakehouse.md §2–§3 through the built CLI (real processes; needs `npm run build`): `flowlog export --out DIR
 * --format parquet` of an index over three hours writes date=…/hour=… folders that DuckDB's read_parquet counts to
 * exactly the index; for held-out queries (with and without --since/--until), `flowlog search Q --sql duckdb` run by
 * DuckDB over that Parquet returns the records `flowlog search Q --output ndjson --limit 0` returns; and `flowlog export
 * Q --since --until` writes exactly those records. (The 500k-record figure is in `npm run bench`, BENCH_ONLY=export.)
 */
import {DuckDBInstance} from '@duckdb/node-api'
import {expect} from 'chai'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {HOUR_MS} from '../../src/lib/records/time.js'
import {ROW_FIELDS} from '../../src/lib/records/schema.js'
import {generateObjects} from '../cos/fixtures.js'
import {runCli, tempHome} from '../support/cli.js'

const H0 = Date.UTC(2026, 2, 3, 22)

function canon(row: Record<string, unknown>): string {
  return JSON.stringify(ROW_FIELDS.map((f) => {
    const v = row[f.name]
    return v === undefined || v === null ? null : typeof v === 'bigint' ? Number(v) : v
  }))
}

const HELD_OUT = [
  'action:rejected',
  'target_port:(22 OR 443) -direction:outbound',
  'initiator_ip:10.0.0.0/8',
  '"ingress"',
  'target_ip:10.240.64.1/28 transport_protocol:17',
  'bytes_from_initiator:>=110 was_initiated:true',
  '-action:accepted OR target_port:<100',
]

describe('flowlog export --out DIR --format parquet, and search --sql over it (built CLI)', function () {
  this.timeout(180_000)
  let home: ReturnType<typeof tempHome>
  let out: string
  let duck: Awaited<ReturnType<DuckDBInstance['connect']>>
  let total: number
  const env = () => ({FLOWLOG_HOME: home.dir})

  before(async () => {
    home = tempHome('flowlog-export-cli-')
    const bucket = join(home.dir, 'bucket')
    // 3 hours (crossing midnight) × 2 vNICs × 2 record types × 3 objects × 25 records = 900 records.
    for (const o of generateObjects({start: H0, hours: 3, vnics: 2, recordsPerObject: 25, perHour: 3})) {
      const path = join(bucket, ...o.key.split('/'))
      mkdirSync(dirname(path), {recursive: true})
      writeFileSync(path, o.body)
    }
    const pull = await runCli(['pull', '--source', bucket, '--json'], {env: env()})
    expect(pull.code, pull.stderr).to.equal(0)
    total = (JSON.parse(pull.stdout) as {records: number}).records
    out = join(home.dir, 'parquet')
    duck = await (await DuckDBInstance.create(':memory:')).connect()
  })
  after(() => {
    duck?.closeSync()
    home?.cleanup()
  })

  async function viaSearch(query: string, window: string[] = []): Promise<string[]> {
    const r = await runCli(['search', query, ...window, '--output', 'ndjson', '--limit', '0'], {env: env()})
    expect(r.code, r.stderr).to.equal(0)
    return r.stdout.split('\n').filter(Boolean).map((l) => canon(JSON.parse(l) as Record<string, unknown>)).sort()
  }

  async function viaSql(dir: string, query: string, window: string[] = []): Promise<string[]> {
    const r = await runCli(['search', query, ...window, '--sql', 'duckdb'], {env: env()})
    expect(r.code, r.stderr).to.equal(0)
    await duck.run(`CREATE OR REPLACE VIEW flow_logs AS SELECT * FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true)`)
    const rows = await duck.runAndReadAll(r.stdout.trim())
    return rows.getRowObjectsJS().map((row) => canon(row as Record<string, unknown>)).sort()
  }

  it('--format parquet: every record of the index, in date=…/hour=… folders', async () => {
    const r = await runCli(['export', '--out', out, '--format', 'parquet', '--json'], {env: env()})
    expect(r.code, r.stderr).to.equal(0)
    const s = JSON.parse(r.stdout) as {files: number; rows: number; bytes: number}
    expect(total).to.equal(900)
    expect(s.rows).to.equal(total)
    expect(s.files).to.equal(3)
    expect(s.bytes).to.be.greaterThan(0)
    expect(readdirSync(out).sort()).to.deep.equal(['date=2026-03-03', 'date=2026-03-04'])
    expect(readdirSync(join(out, 'date=2026-03-03')).sort()).to.deep.equal(['hour=22', 'hour=23'])
    expect(readdirSync(join(out, 'date=2026-03-04'))).to.deep.equal(['hour=00'])
    const n = await duck.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${out}/**/*.parquet', hive_partitioning = true)`)
    expect(n.getRowObjectsJS()[0].n).to.equal(total)
  })

  it('--format csv is refused (exit 2)', async () => {
    const r = await runCli(['export', '--out', join(home.dir, 'x'), '--format', 'csv'], {env: env()})
    expect(r.code).to.equal(2)
  })

  for (const q of HELD_OUT) {
    it(`search --sql duckdb over the Parquet = search --output ndjson: ${q}`, async () => {
      const want = await viaSearch(q)
      expect(want.length).to.be.greaterThan(0)
      expect(await viaSql(out, q)).to.deep.equal(want)
    })
  }

  // A window that cuts the first and the last hour in the middle (and crosses midnight).
  const WINDOW = ['--since', new Date(H0 + 0.5 * HOUR_MS).toISOString(), '--until', new Date(H0 + 2.25 * HOUR_MS).toISOString()]

  for (const q of ['', HELD_OUT[0], HELD_OUT[1]]) {
    it(`with --since/--until: search --sql duckdb = search, and export Q --since --until writes those records: ${JSON.stringify(q)}`, async () => {
      const want = await viaSearch(q, WINDOW)
      const all = await viaSearch(q)
      expect(want.length).to.be.greaterThan(0)
      expect(want.length).to.be.lessThan(all.length)
      expect(await viaSql(out, q, WINDOW)).to.deep.equal(want)
      const dir = join(home.dir, `windowed-${HELD_OUT.indexOf(q)}`)
      const e = await runCli(['export', q, ...WINDOW, '--out', dir, '--json'], {env: env()})
      expect(e.code, e.stderr).to.equal(0)
      expect((JSON.parse(e.stdout) as {rows: number}).rows).to.equal(want.length)
      await duck.run(`CREATE OR REPLACE VIEW w AS SELECT * FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true)`)
      const got = (await duck.runAndReadAll('SELECT * FROM w')).getRowObjectsJS().map((row) => canon(row as Record<string, unknown>)).sort()
      expect(got).to.deep.equal(want)
    })
  }
})
