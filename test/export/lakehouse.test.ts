/**
 * docs/lakehouse.md: flowlog export writes the index as Hive-partitioned Parquet, and the SQL that
 * `flowlog search QUERY --sql duckdb` prints, run by DuckDB over that Parquet, selects exactly the records that
 * flowlog search selects, for every case of the query spec table (test/query/spec-table.test.ts) and a few more.
 */
import {DuckDBInstance} from '@duckdb/node-api'
import {expect} from 'chai'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

import {ddl, exportParquet, lakeSql} from '../../src/lib/export/index.js'
import {QuerySyntaxError} from '../../src/lib/query/index.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {ROW_FIELDS} from '../../src/lib/records/schema.js'
import {compileSearch} from '../../src/lib/store/query-search.js'
import {searchRecords} from '../../src/lib/store/search.js'
import {makeObject, makeRecords, makeV1Key} from '../support/fixtures.js'
import {loadEntries, type Sandbox, sandbox, withReader} from '../store/helpers.js'

/** The spec table's queries (§16.2 cases 1–53b, CIDR cases C1–C13). */
const SPEC_CASES: [string, string][] = [
  ['1', 'target_ip:10.240.0.4'],
  ['2', 'target_ip:==10.240.0.4'],
  ['3', 'target_ip:10.240.0.4 action:rejected -target_port:67'],
  ['4', '10.240.0.4'],
  ['5', '"10.240.0.4"'],
  ['6', 'action:accepted target_port:22'],
  ['7', 'action:ACCEPTED'],
  ['8', 'action:=ACCEPTED'],
  ['9', 'action:=accepted'],
  ['10', 'action:acc'],
  ['11', 'action:==acc'],
  ['12', 'target_port:22'],
  ['13', 'target_port:2'],
  ['14', '-target_port:67'],
  ['15', 'initiator_port:>=1024'],
  ['16', 'bytes_from_initiator:(>=200 <1000)'],
  ['17', 'bytes_from_initiator:(>100 AND <= 300)'],
  ['18', 'status:(>=400 <500)'],
  ['19', 'status:(>=400 <500 -404)'],
  ['20', 'action:[rejected,dropped]'],
  ['21', 'action:[accepted, rejected]'],
  ['22', 'target_ip:===[10.240.0.4,10.240.0.45]'],
  ['23', 'direction:inbound OR target_port:67'],
  ['24', 'action:rejected target_port:22 OR target_port:67'],
  ['25', '(action:rejected target_port:22) OR target_port:67'],
  ['26', '-(action:accepted OR direction:outbound)'],
  ['27', 'NOT action:accepted'],
  ['28', 'action:accepted && -direction:outbound'],
  ['29', 'action:accepted and'],
  ['30', 'target_port:(22 OR 3389)'],
  ['31', 'was_initiated:true'],
  ['32', 'instance_crn:"crn:v1:bluemix"'],
  ['33', 'user.id:12345'],
  ['34', 'user.name:bob'],
  ['35', 'user.name:===bob'],
  ['36', 'meta.status_code:404'],
  ['37', 'status_code:404'],
  ['38', 'meta.weather.monday:rain'],
  ['39', 'level:error'],
  ['40', 'host:flow -app:api'],
  ['41', 'host:==flow'],
  ['42', 'tag:prod'],
  ['43', 'user:*'],
  ['44', '-initiator_port:*'],
  ['45', '"job failed"'],
  ['46', 'job failed'],
  ['47a', 'fail'],
  ['47b', 'ailed'],
  ['48', '==failed'],
  ['49', 'syntaxerror'],
  ['50', 'response:>=500'],
  ['51', 'target_port:ssh'],
  ['52', 'action:acc*'],
  ['53a', '_account:*'],
  ['53b', ''],
  ['C1', 'target_ip:10.240.0.0/16'],
  ['C2', 'initiator_ip:10.240.0.0/16'],
  ['C3', 'target_ip:10.240.0.4/32'],
  ['C4', 'target_ip:==10.240.0.4/32'],
  ['C5', '-target_ip:10.0.0.0/8'],
  ['C6', 'initiator_ip:[10.0.0.0/8,203.0.113.0/24]'],
  ['C7', 'target_ip:0.0.0.0/0'],
  ['C8', '10.240.0.0/16'],
  ['C9', 'target_ip:10.240.0.0/33'],
  ['C10', 'target_ip:10.240.0.4/16'],
  ['C11', 'target_ip:(10.240.0.0/24 -10.240.0.45/32)'],
  ['C12', 'target_ip:"10.240.0.0/16"'],
  ['C13', 'instance_crn:10.0.0.0/8']
]

const MORE: string[] = [
  'rejected', '"\\"inbound\\",\\"action\\""', 'target_port:22 -action:accepted', 'meta.record_id:*', 'direction:I', 'was_terminated:false',
  'ether_type:ipv4', 'state:ok', 'key:*', '"10.240.0.4"', '24.22.68', 'initiator_ip:24.22.0.0/16', 'bytes_from_initiator:>=500',
  '"\\"action\\":\\"rejected\\""', 'level:warn', '{', 'i', 'crn:v1', 'capture_start_time:2026',
]

const REC_A = {direction: 'inbound', action: 'rejected', initiator_ip: '203.0.113.9', target_ip: '10.240.0.4', initiator_port: 51234, target_port: 22, transport_protocol: 6, bytes_from_initiator: 120, was_initiated: true}
const REC_B = {direction: 'inbound', action: 'accepted', initiator_ip: '203.0.113.9', target_ip: '10.240.0.45', initiator_port: 51235, target_port: 22, transport_protocol: 6, bytes_from_initiator: 5120, was_initiated: true}
const REC_C = {direction: 'outbound', action: 'accepted', initiator_ip: '10.240.0.4', target_ip: '161.26.0.10', initiator_port: 68, target_port: 67, transport_protocol: 17, bytes_from_initiator: 300, was_initiated: false}

/** A record compared by every field of the row (typed columns; absent = null). */
function canon(row: Record<string, unknown>): string {
  return JSON.stringify(ROW_FIELDS.map((f) => {
    const v = row[f.name]
    return v === undefined || v === null ? null : typeof v === 'bigint' ? Number(v) : v
  }))
}

describe('export: Parquet in the Hive layout, and --sql over it', function () {
  this.timeout(120_000)
  let s: Sandbox
  let out: string
  let summary: Awaited<ReturnType<typeof exportParquet>>
  let duck: Awaited<ReturnType<DuckDBInstance['connect']>>

  before(async () => {
    s = sandbox()
    const t0 = Date.UTC(2026, 0, 15, 10, 0)
    const t1 = Date.UTC(2026, 0, 15, 11, 0)
    await loadEntries(s, [
      {key: makeV1Key({time: t0}), body: makeObject([REC_A, REC_B, REC_C], {start: t0})},
      {key: makeV1Key({time: t0, sequence: 2}), body: makeObject(makeRecords(30, t0, 1), {start: t0})},
      {key: makeV1Key({time: t1, record_type: 'egress'}), body: makeObject(makeRecords(30, t1, 2), {start: t1})},
    ] as never)
    out = join(s.root, 'parquet')
    summary = await withReader(s.homeDir, (store) => exportParquet(store, out))
    duck = await (await DuckDBInstance.create(':memory:')).connect()
    await duck.run(`CREATE VIEW flow_logs AS SELECT * FROM read_parquet('${out}/**/*.parquet', hive_partitioning = true)`)
  })
  after(() => {
    duck?.closeSync()
    s.cleanup()
  })

  async function viaSearch(query: string): Promise<string[]> {
    const compiled = compileSearch(query)
    return withReader(s.homeDir, async (store) => {
      const got: string[] = []
      for await (const m of searchRecords(store, {...compiled.spec, limit: 0, hasIrregular: false})) got.push(canon(JSON.parse(m.line) as JsonObject))
      return got.sort()
    })
  }

  async function viaParquet(query: string): Promise<string[]> {
    const r = await duck.runAndReadAll(lakeSql(query, {dialect: 'duckdb'}))
    return r.getRowObjectsJS().map((row) => canon(row as Record<string, unknown>)).sort()
  }

  it('writes OUT/date=YYYY-MM-DD/hour=HH/part-N.parquet with every record', async () => {
    expect(summary.rows).to.equal(63)
    expect(readdirSync(out)).to.deep.equal(['date=2026-01-15'])
    expect(readdirSync(join(out, 'date=2026-01-15')).sort()).to.deep.equal(['hour=10', 'hour=11'])
    expect(summary.list.every((f) => /^date=\d{4}-\d\d-\d\d\/hour=\d\d\/part-\d+\.parquet$/.test(f.path))).to.equal(true)
    expect(summary.files).to.equal(summary.list.length)
    const n = await duck.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${out}/**/*.parquet', hive_partitioning = true)`)
    expect(n.getRowObjectsJS()[0].n).to.equal(63)
  })

  it('a query and a window together: only the window\'s records that match (each parameter in its place)', async () => {
    const t1 = Date.UTC(2026, 0, 15, 11, 0)
    const all = await withReader(s.homeDir, (store) => exportParquet(store, join(s.root, 'q-all'), {query: 'action:rejected'}))
    const late = await withReader(s.homeDir, (store) => exportParquet(store, join(s.root, 'q-late'), {query: 'action:rejected', window: {since: t1}}))
    const early = await withReader(s.homeDir, (store) => exportParquet(store, join(s.root, 'q-early'), {query: 'action:rejected', window: {until: t1}}))
    expect(all.rows).to.be.greaterThan(0)
    expect(late.rows + early.rows).to.equal(all.rows)
    expect(late.list.every((f) => f.path.startsWith('date=2026-01-15/hour=11/'))).to.equal(true)
  })

  it('has typed columns and zstd', async () => {
    const r = await duck.runAndReadAll(`SELECT name, type FROM parquet_schema('${out}/date=2026-01-15/hour=10/part-0.parquet')`)
    const types = Object.fromEntries(r.getRowObjectsJS().map((x) => [x.name, x.type]))
    expect(types.target_port).to.equal('INT64')
    expect(types.was_initiated).to.equal('BOOLEAN')
    expect(types.target_ip).to.equal('BYTE_ARRAY')
    const c = await duck.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${out}/date=2026-01-15/hour=10/part-0.parquet')`)
    expect(c.getRowObjectsJS().map((x) => x.compression)).to.deep.equal(['ZSTD'])
  })

  for (const [name, query] of SPEC_CASES) {
    it(`spec case ${name}: --sql duckdb over the Parquet = flowlog search: ${query}`, async () => {
      let want: string[]
      try {
        want = await viaSearch(query)
      } catch (error) {
        // A query the parser refuses is refused by --sql too.
        expect(error).to.be.instanceOf(QuerySyntaxError)
        expect(() => lakeSql(query, {dialect: 'duckdb'})).to.throw(QuerySyntaxError)
        return
      }
      expect(await viaParquet(query)).to.deep.equal(want)
    })
  }
  for (const query of MORE) {
    it(`more: --sql duckdb over the Parquet = flowlog search: ${query}`, async () => {
      const want = await viaSearch(query)
      expect(await viaParquet(query)).to.deep.equal(want)
    })
  }
  it('the spec cases are not all trivially empty or full', async () => {
    const sizes = new Set<number>()
    for (const [, q] of SPEC_CASES) sizes.add((await viaSearch(q).catch(() => [])).length)
    expect(sizes.size).to.be.greaterThan(3)
  })
})

describe('export: DDL and SQL text of the lakehouse dialects', () => {
  it('presto: Hive connector table, both partition columns last', () => {
    const t = ddl({dialect: 'presto', location: 'cos://lake/flow-logs'})
    expect(t).to.match(/^CREATE TABLE "flow_logs" \(/)
    expect(t).to.include("format = 'PARQUET'")
    expect(t).to.include("partitioned_by = ARRAY['date', 'hour']")
    expect(t).to.include("external_location = 's3a://lake/flow-logs/'")
    expect(t).to.match(/"record_id" VARCHAR,\n  "ts_ms" BIGINT,\n  "date" VARCHAR,\n  "hour" VARCHAR\n\)/)
    expect(t).to.include('"target_port" BIGINT')
  })
  it('spark: USING parquet PARTITIONED BY LOCATION', () => {
    const t = ddl({dialect: 'spark', location: 'cos://lake/x/', table: 'db.fl'})
    expect(t).to.match(/^CREATE TABLE `db`\.`fl` \(/)
    expect(t).to.include("USING parquet\nPARTITIONED BY (`date`, `hour`)\nLOCATION 's3a://lake/x/'")
    expect(t).to.include('`was_initiated` BOOLEAN')
  })
  it('presto SQL: double quotes, strpos, regexp_like with whole-text anchors, no DuckDB functions', () => {
    const q = lakeSql("target_ip:10.240.0.0/16 action:rej instance_crn:\"it's\"", {dialect: 'presto'})
    expect(q).to.match(/^SELECT \* FROM "flow_logs" WHERE /)
    expect(q).to.include('regexp_like("target_ip", \'\\A(?:')
    expect(q).to.include('strpos(lower("action")')
    expect(q).to.include("it''s")
    expect(q).to.not.match(/regexp_matches|regexp_full_match|contains\(|starts_with|IS TRUE|sha256/)
    expect(q).to.not.include('(?:^|')
  })
  it('spark SQL: backticks, instr, RLIKE, backslashes escaped in literals', () => {
    const q = lakeSql('was_initiated:true fail target_ip:10.0.0.0/8', {dialect: 'spark', table: 'fl'})
    expect(q).to.match(/^SELECT \* FROM `fl` WHERE /)
    expect(q).to.include('(`was_initiated` <=> TRUE)')
    expect(q).to.include("RLIKE '(?:\\\\A|")
    // A block on octet bounds is one pattern (its leading octets in each spelling); another block is arithmetic.
    expect(q).to.include("`target_ip` RLIKE '\\\\A(?:(?:10|010)\\\\.")
    expect(q).to.not.include('split_part(`target_ip`')
    expect(lakeSql('target_ip:10.0.0.0/12', {dialect: 'spark', table: 'fl'})).to.include('split_part(`target_ip`')
    expect(q).to.not.match(/regexp_matches|contains\(|"target_ip"/)
  })
  const WINDOW = {since: Date.UTC(2026, 0, 15, 23, 30), until: Date.UTC(2026, 0, 17, 0, 0)}
  it('--since/--until: date bounds (partition pruning) and exact ts_ms bounds, in each dialect', () => {
    expect(lakeSql('action:rejected', {dialect: 'duckdb', window: WINDOW})).to.match(
      new RegExp(`^SELECT \\* FROM "flow_logs" WHERE "date" >= '2026-01-15' AND "date" <= '2026-01-16' AND "ts_ms" >= ${WINDOW.since} AND "ts_ms" < ${WINDOW.until} AND \\(.*"action".*\\)$`),
    )
    expect(lakeSql('action:rejected', {dialect: 'presto', window: WINDOW})).to.match(
      new RegExp(`^SELECT \\* FROM "flow_logs" WHERE "date" >= '2026-01-15' AND "date" <= '2026-01-16' AND "ts_ms" >= ${WINDOW.since} AND "ts_ms" < ${WINDOW.until} AND \\(.*strpos.*\\)$`),
    )
    expect(lakeSql('action:rejected', {dialect: 'spark', window: WINDOW})).to.match(
      new RegExp(`^SELECT \\* FROM \`flow_logs\` WHERE \`date\` >= '2026-01-15' AND \`date\` <= '2026-01-16' AND \`ts_ms\` >= ${WINDOW.since} AND \`ts_ms\` < ${WINDOW.until} AND \\(.*instr.*\\)$`),
    )
    expect(lakeSql('', {dialect: 'spark', window: {since: WINDOW.since}})).to.equal(`SELECT * FROM \`flow_logs\` WHERE \`date\` >= '2026-01-15' AND \`ts_ms\` >= ${WINDOW.since}`)
    expect(lakeSql('', {dialect: 'presto', window: {until: WINDOW.until}})).to.equal(`SELECT * FROM "flow_logs" WHERE "date" <= '2026-01-16' AND "ts_ms" < ${WINDOW.until}`)
  })
  it('match-all is WHERE TRUE', () => {
    expect(lakeSql('', {dialect: 'duckdb'})).to.equal('SELECT * FROM "flow_logs" WHERE TRUE')
  })
})
