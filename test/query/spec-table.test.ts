/**
 * docs/query-language.md §16.2 (cases 1–57) and the CIDR cases C1–C13 on records A–D, through the JavaScript predicate and
 * through the store path (SQL on the regular rows A–C, the predicate on the irregular row D).
 */
import {readFileSync} from 'node:fs'

import {expect} from 'chai'

import type {EnvelopeOptions} from '../../src/lib/records/envelope.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {isRegularRow} from '../../src/lib/records/schema.js'
import {QuerySyntaxError, parseQuery, toPredicate, toRecordPredicate} from '../../src/lib/query/index.js'
import {MiniStore} from './helpers.js'

const LINE_A =
  '{"direction":"inbound","action":"rejected","initiator_ip":"203.0.113.9","target_ip":"10.240.0.4","initiator_port":51234,"target_port":22,"transport_protocol":6,"bytes_from_initiator":120,"was_initiated":true,"instance_crn":"crn:v1:bluemix:public:is:us-south-2:a/713c::instance:0727_7ccd"}'
const LINE_B =
  '{"direction":"inbound","action":"accepted","initiator_ip":"203.0.113.9","target_ip":"10.240.0.45","initiator_port":51235,"target_port":22,"transport_protocol":6,"bytes_from_initiator":5120,"was_initiated":true}'
const LINE_C =
  '{"direction":"outbound","action":"accepted","initiator_ip":"10.240.0.4","target_ip":"161.26.0.10","initiator_port":68,"target_port":67,"transport_protocol":17,"bytes_from_initiator":300,"was_initiated":false}'
const LINE_D = '{"message":"Job Failed: SyntaxError in worker","status":404,"response":503,"user":{"id":12345,"name":"Bob"}}'

interface SpecRecord {
  name: 'A' | 'B' | 'C' | 'D'
  key: string
  line: string
  row: JsonObject
  envelope: EnvelopeOptions
  meta?: JsonObject
}

const ENV_AB: EnvelopeOptions = {hostname: 'flowlog', app: 'vpc-flowlogs', level: 'INFO', tags: ['us-south', 'prod']}
const ENV_C: EnvelopeOptions = {hostname: 'flowlog', app: 'vpc-flowlogs', level: 'INFO', tags: ['us-south']}
const ENV_D: EnvelopeOptions = {hostname: 'web-1', app: 'api', level: 'ERROR', tags: []}
const META_D: JsonObject = {status_code: 404, weather: {monday: 'rain'}}

const RECORDS: SpecRecord[] = [
  {name: 'A', key: 'spec/A', line: LINE_A, row: JSON.parse(LINE_A), envelope: ENV_AB},
  {name: 'B', key: 'spec/B', line: LINE_B, row: JSON.parse(LINE_B), envelope: ENV_AB},
  {name: 'C', key: 'spec/C', line: LINE_C, row: JSON.parse(LINE_C), envelope: ENV_C},
  {name: 'D', key: 'spec/D', line: LINE_D, row: JSON.parse(LINE_D), envelope: ENV_D, meta: META_D},
]

/** [case, query, expected for A B C D]. */
const TABLE: [string, string, string][] = [
  ['1', 'target_ip:10.240.0.4', 'TTFF'],
  ['2', 'target_ip:==10.240.0.4', 'TFFF'],
  ['3', 'target_ip:10.240.0.4 action:rejected -target_port:67', 'TFFF'],
  ['4', '10.240.0.4', 'TTTF'],
  ['5', '"10.240.0.4"', 'TTTF'],
  ['6', 'action:accepted target_port:22', 'FTFF'],
  ['7', 'action:ACCEPTED', 'FTTF'],
  ['8', 'action:=ACCEPTED', 'FFFF'],
  ['9', 'action:=accepted', 'FTTF'],
  ['10', 'action:acc', 'FTTF'],
  ['11', 'action:==acc', 'FFFF'],
  ['12', 'target_port:22', 'TTFF'],
  ['13', 'target_port:2', 'FFFF'],
  ['14', '-target_port:67', 'TTFT'],
  ['15', 'initiator_port:>=1024', 'TTFF'],
  ['16', 'bytes_from_initiator:(>=200 <1000)', 'FFTF'],
  ['17', 'bytes_from_initiator:(>100 AND <= 300)', 'TFTF'],
  ['18', 'status:(>=400 <500)', 'FFFT'],
  ['19', 'status:(>=400 <500 -404)', 'FFFF'],
  ['20', 'action:[rejected,dropped]', 'TFFF'],
  ['21', 'action:[accepted, rejected]', 'FTTF'],
  ['22', 'target_ip:===[10.240.0.4,10.240.0.45]', 'TTFF'],
  ['23', 'direction:inbound OR target_port:67', 'TTTF'],
  ['24', 'action:rejected target_port:22 OR target_port:67', 'TFFF'],
  ['25', '(action:rejected target_port:22) OR target_port:67', 'TFTF'],
  ['26', '-(action:accepted OR direction:outbound)', 'TFFT'],
  ['27', 'NOT action:accepted', 'TFFT'],
  ['28', 'action:accepted && -direction:outbound', 'FTFF'],
  ['29', 'action:accepted and', 'FFFF'],
  ['30', 'target_port:(22 OR 3389)', 'TTFF'],
  ['31', 'was_initiated:true', 'TTFF'],
  ['32', 'instance_crn:"crn:v1:bluemix"', 'TFFF'],
  ['33', 'user.id:12345', 'FFFT'],
  ['34', 'user.name:bob', 'FFFT'],
  ['35', 'user.name:===bob', 'FFFF'],
  ['36', 'meta.status_code:404', 'FFFT'],
  ['37', 'status_code:404', 'FFFF'],
  ['38', 'meta.weather.monday:rain', 'FFFT'],
  ['39', 'level:error', 'FFFT'],
  ['40', 'host:flow -app:api', 'TTTF'],
  ['41', 'host:==flow', 'FFFF'],
  ['42', 'tag:prod', 'TTFF'],
  ['43', 'user:*', 'FFFT'],
  ['44', '-initiator_port:*', 'FFFT'],
  ['45', '"job failed"', 'FFFT'],
  ['46', 'job failed', 'FFFT'],
  ['47a', 'fail', 'FFFT'],
  ['47b', 'ailed', 'FFFF'],
  ['48', '==failed', 'FFFT'],
  ['49', 'syntaxerror', 'FFFT'],
  ['50', 'response:>=500', 'FFFT'],
  ['51', 'target_port:ssh', 'FFFF'],
  ['52', 'action:acc*', 'FTTF'],
  ['53a', '_account:*', 'TTTT'],
  ['53b', '', 'TTTT'],
]

const CIDR_TABLE: [string, string, string][] = [
  ['C1', 'target_ip:10.240.0.0/16', 'TTFF'],
  ['C2', 'initiator_ip:10.240.0.0/16', 'FFTF'],
  ['C3', 'target_ip:10.240.0.4/32', 'TFFF'],
  ['C4', 'target_ip:==10.240.0.4/32', 'TFFF'],
  ['C5', '-target_ip:10.0.0.0/8', 'FFTT'],
  ['C6', 'initiator_ip:[10.0.0.0/8,203.0.113.0/24]', 'TTTF'],
  ['C7', 'target_ip:0.0.0.0/0', 'TTTF'],
  ['C8', '10.240.0.0/16', 'FFFF'],
  ['C10', 'target_ip:10.240.0.4/16', 'TTFF'],
  ['C11', 'target_ip:(10.240.0.0/24 -10.240.0.45/32)', 'TFFF'],
  ['C12', 'target_ip:"10.240.0.0/16"', 'TTFF'],
  ['C13', 'instance_crn:10.0.0.0/8', 'FFFF'],
]

/** The rows of the table in docs/query-language.md §16.2, as [case, query, expected]. */
function docTable(): [string, string, string][] {
  const doc = readFileSync(new URL('../../docs/query-language.md', import.meta.url), 'utf8')
  const section = doc.slice(doc.indexOf('### 16.2'), doc.indexOf('### 16.3'))
  const rows: [string, string, string][] = []
  for (const m of section.matchAll(/^\| (C?\d+[a-z]?) \| (`.*`|\(empty query\)) \| ([TF]) \| ([TF]) \| ([TF]) \| ([TF]) \|$/gm)) {
    const query = m[2] === '(empty query)' ? '' : m[2].slice(1, -1).replaceAll('\\|', '|')
    rows.push([m[1], query, m[3] + m[4] + m[5] + m[6]])
  }
  return rows
}

describe('query: docs/query-language.md §16.2 is the table the tests run', () => {
  it('lists exactly the cases of TABLE and CIDR_TABLE, in order, with the same queries and results', () => {
    expect(docTable()).to.deep.equal([...TABLE, ...CIDR_TABLE])
  })
})

function expected(spec: string): Record<string, boolean> {
  return {A: spec[0] === 'T', B: spec[1] === 'T', C: spec[2] === 'T', D: spec[3] === 'T'}
}

/** The JavaScript back end on one record: rows A–C as the store and forward see them, D with its own envelope. */
function jsMatch(query: string, rec: SpecRecord): boolean {
  const {ast} = parseQuery(query)
  if (rec.meta) {
    return toRecordPredicate(ast)({
      row: rec.row,
      line: rec.line,
      host: rec.envelope.hostname as string,
      app: rec.envelope.app as string,
      level: rec.envelope.level as string,
      tags: rec.envelope.tags as string[],
      meta: rec.meta,
    })
  }
  const viaRow = toPredicate(ast, rec.envelope)(rec.row, rec.key, 0)
  const viaLine = toPredicate(ast, rec.envelope)(rec.row, rec.key, 0, rec.line)
  expect(viaLine, 'passing the line changes nothing').to.equal(viaRow)
  return viaRow
}

describe('query: the spec table (§16.2) and CIDR cases (§13)', function () {
  this.timeout(60_000)
  let store: MiniStore

  before(async () => {
    store = await MiniStore.create()
    await store.add(RECORDS.map((r) => ({key: r.key, rows: [r.row]})))
  })
  after(() => store.close())

  it('stores the records as the index would: A–C regular, D irregular, lines byte-identical', async () => {
    for (const r of RECORDS) {
      expect(JSON.stringify(r.row)).to.equal(r.line)
      expect(isRegularRow(r.row), r.name).to.equal(r.name !== 'D')
    }
    const irregular = await store.irregularRows()
    expect(irregular).to.deep.equal([{okey: 'spec/D', idx: 0, line: LINE_D}])
  })

  /** Through the store path: SQL on A–C (each under its own envelope), the predicate on D (irregular). */
  async function storeMatch(query: string): Promise<Record<string, boolean>> {
    const {ast} = parseQuery(query)
    const ab = await store.search(ast, ENV_AB, ['spec/A', 'spec/B'])
    const c = await store.search(ast, ENV_C, ['spec/C'])
    const d = await store.search(ast, ENV_D, ['spec/D'], (row) =>
      toRecordPredicate(ast)({row, host: 'web-1', app: 'api', level: 'ERROR', tags: [], meta: META_D}),
    )
    return {A: ab.has('spec/A#0'), B: ab.has('spec/B#0'), C: c.has('spec/C#0'), D: d.has('spec/D#0')}
  }

  for (const [id, query, spec] of [...TABLE, ...CIDR_TABLE]) {
    it(`${id}: ${query === '' ? '(empty query)' : query} → ${spec}`, async () => {
      const want = expected(spec)
      const js: Record<string, boolean> = {}
      for (const r of RECORDS) js[r.name] = jsMatch(query, r)
      expect(js, 'JavaScript predicate').to.deep.equal(want)
      expect(await storeMatch(query), 'store path (SQL on A–C, predicate on D)').to.deep.equal(want)
    })
  }

  it('regular rows give the same answer in SQL as in JavaScript for every case (D is irregular: predicate only)', async () => {
    for (const [, query] of [...TABLE, ...CIDR_TABLE]) {
      const {ast} = parseQuery(query)
      expect(await store.sqlMatches(ast, ENV_AB, ['spec/A', 'spec/B']), query).to.deep.equal(store.jsMatches(ast, ENV_AB, ['spec/A', 'spec/B']))
      expect(await store.sqlMatches(ast, ENV_C, ['spec/C']), query).to.deep.equal(store.jsMatches(ast, ENV_C, ['spec/C']))
    }
  })

  it('52: the stripped trailing * is reported as a warning', () => {
    const {warnings} = parseQuery('action:acc*')
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.match(/trailing '\*'/)
  })

  it('C10: the host bits are reported as a warning naming the normalised block', () => {
    const {ast, warnings} = parseQuery('target_ip:10.240.0.4/16')
    expect(warnings.join('\n')).to.match(/host bits/).and.to.contain('10.240.0.0/16')
    expect(ast).to.deep.include({type: 'field', field: 'target_ip'})
  })

  describe('syntax errors (54–57): exit code 2 with position and hint', () => {
    const cases: [string, string, number, RegExp][] = [
      ['54', 'target_ip:', 10, /empty value/],
      ['55', 'meta.weather.monday: rain', 20, /empty value.*space/],
      ['56', '(action:rejected', 0, /unbalanced '\('/],
      ['57', 'target_port:>abc', 13, /needs a number/],
      // C9: a value shaped like a CIDR block that is not one is a typo, not text to match.
      ['C9', 'target_ip:10.240.0.0/33', 10, /not a valid IPv4 CIDR block/],
      ['C9b', 'initiator_ip:[10.0.0.0/8,300.1.2.3/8]', 25, /300\.1\.2\.3\/8 is not a valid IPv4 CIDR block/],
      ['C9c', 'target_ip:"256.0.0.0/8"', 11, /not a valid IPv4 CIDR block/],
    ]
    for (const [id, query, position, reason] of cases) {
      it(`${id}: ${query}`, () => {
        let error: unknown
        try {
          parseQuery(query)
        } catch (e) {
          error = e
        }
        expect(error).to.be.instanceOf(QuerySyntaxError)
        const e = error as QuerySyntaxError
        expect(e.exitCode).to.equal(2)
        expect(e.position).to.equal(position)
        expect(e.reason).to.match(reason)
        expect(e.hint).to.be.a('string').and.not.equal('')
        const lines = e.message.split('\n')
        expect(lines[0]).to.equal(`syntax error at column ${position}: ${e.reason}`)
        expect(lines[1]).to.equal(`  ${query}`)
        expect(lines[2]).to.equal(`  ${' '.repeat(position)}^`)
        expect(lines[3]).to.equal(`hint: ${e.hint}`)
      })
    }
  })
})
