/**
 * The shape of the SQL back end's output: placeholders only (no user text in the SQL), constant folding of the
 * envelope, the per-object path for plain terms, and fragments that stay valid inside NOT / OR.
 */
import {expect} from 'chai'

import {parseQuery, toSql} from '../../src/lib/query/index.js'
import {MiniStore, sorted} from './helpers.js'

const sql = (q: string, envelope = {}) => toSql(parseQuery(q).ast, envelope)

describe('query: SQL back end', function () {
  this.timeout(60_000)

  it('user values travel only as parameters: one ? per parameter, none of the text in the SQL', () => {
    const hostile = `x' OR 1=1; DROP TABLE records; --`
    const queries = [
      `"${hostile}"`,
      `direction:"${hostile}"`,
      `direction:==["${hostile}",b]`,
      `meta.record_id:"${hostile}"`,
      `target_ip:10.0.0.0/8 "${hostile},{"`,
      `"${hostile}\\\nq"`,
    ]
    for (const q of queries) {
      const out = sql(q)
      expect(out.sql.toLowerCase(), q).not.to.contain('drop')
      expect(out.sql, q).not.to.contain('1=1')
      expect(out.sql.split('?').length - 1, q).to.equal(out.params.length)
      expect(out.params.some((p) => typeof p === 'string' && p.toLowerCase().includes('drop')), q).to.equal(true)
    }
  })

  it('hostile text runs as a literal: no error, the tables are intact', async () => {
    const store = await MiniStore.create()
    try {
      await store.add([{key: `k'"; --`, header: {}, records: [{direction: `x' OR 1=1; DROP TABLE records; --`}]}])
      const {ast} = parseQuery(`"' OR 1=1; DROP TABLE records; --" direction:"x' OR"`)
      expect(sorted(await store.search(ast))).to.deep.equal([`k'"; --#0`])
      expect(sorted(store.jsMatches(ast))).to.deep.equal([`k'"; --#0`])
    } finally {
      store.close()
    }
  })

  it('match-all and match-nothing fold to constants', () => {
    expect(sql('')).to.deep.equal({sql: 'TRUE', params: []})
    expect(sql('_account:*')).to.deep.equal({sql: 'TRUE', params: []})
    expect(sql('-*')).to.deep.equal({sql: 'FALSE', params: []})
    expect(sql('unknown:x')).to.deep.equal({sql: 'FALSE', params: []})
    expect(sql('-unknown:*')).to.deep.equal({sql: 'TRUE', params: []})
    expect(sql('a.b:1 OR meta.x:*')).to.deep.equal({sql: 'FALSE', params: []})
  })

  it('host, app, tag and a fixed level are constants of the envelope', () => {
    const env = {hostname: 'web-1', app: 'api', tags: ['prod'], level: 'WARN'}
    expect(sql('host:web app:==api tag:prod level:warn', env)).to.deep.equal({sql: 'TRUE', params: []})
    expect(sql('host:flowlog', env)).to.deep.equal({sql: 'FALSE', params: []})
    expect(sql('web', env)).to.deep.equal({sql: 'TRUE', params: []})
    expect(sql('level:warn', {levelByAction: true})).to.deep.equal({sql: `(r."action" IS NOT DISTINCT FROM 'rejected')`, params: []})
    expect(sql('level:info', {levelByAction: true})).to.deep.equal({sql: `(NOT (r."action" IS NOT DISTINCT FROM 'rejected'))`, params: []})
  })

  it('terms: per object on prefix/suffix, then the typed columns or rec (with ", or just :), else the whole line', () => {
    const word = sql('rejected').sql
    expect(word).to.contain('r.oid IN (SELECT o2.oid FROM objects o2 WHERE')
    expect(word).to.contain('r."action"')
    expect(word).not.to.contain('r.rec')
    expect(word).not.to.contain('o.prefix ||')
    for (const q of ['":"', '"\\"I\\""']) {
      const s = sql(q).sql
      expect(s, q).to.contain('r.oid IN (SELECT o2.oid FROM objects o2 WHERE')
      expect(s, q).to.contain('r.rec')
    }
    for (const q of ['"a,b"', '"{x"', '"x}"']) {
      const s = sql(q).sql
      expect(s, q).to.contain('(o.prefix || r.rec || o.suffix)')
      expect(s, q).not.to.contain('o2.')
    }
  })

  it('a word term tests integer columns only when it is made of digits and "-", booleans only when it fits true/false', () => {
    expect(sql('22').sql).to.contain('CAST(r."target_port" AS VARCHAR)')
    expect(sql('rejected').sql).not.to.contain('CAST(r."target_port"')
    expect(sql('tru').sql).to.contain('(r."was_initiated" IS TRUE)')
    expect(sql('target_port').sql).to.contain('(r."target_port" IS NOT NULL)')
    expect(sql('":22"').sql).to.contain(`(':' || CAST(r."target_port" AS VARCHAR))`)
    expect(sql('":t"').sql).to.contain('(r."was_initiated" IS TRUE)')
    expect(sql('"crn:v1"').sql).not.to.contain('r.rec')
  })

  it('a term that cannot occur in {"record_id":"<hex>"} never hashes the record id', () => {
    expect(sql('rejected').sql).not.to.contain('sha256')
    expect(sql('cafe').sql).to.contain('sha256')
    expect(sql('meta.record_id:ab').sql).to.contain('sha256')
    expect(sql('meta.record_id:*')).to.deep.equal({sql: 'TRUE', params: []})
  })

  it('NOT is pushed down to the tests (De Morgan), so AND / OR chains stay short-circuitable', () => {
    const out = sql('-(action:rejected target_port:>1)')
    expect(out.sql).not.to.match(/NOT \(\(/)
    expect(out.sql.startsWith('(')).to.equal(true)
    expect(out.sql).to.contain(' OR ')
  })

  it('integer columns compare as integers, booleans fold to column tests', () => {
    expect(sql('target_port:22')).to.deep.equal({sql: '(r."target_port" IS NOT DISTINCT FROM CAST(? AS BIGINT))', params: [22]})
    expect(sql('target_port:22.5')).to.deep.equal({sql: 'FALSE', params: []})
    expect(sql('target_port:>=21.5')).to.deep.equal({
      sql: '((r."target_port" IS NOT NULL) AND (r."target_port" >= CAST(? AS BIGINT)))',
      params: [22],
    })
    expect(sql('was_initiated:t')).to.deep.equal({sql: '(r."was_initiated" IS TRUE)', params: []})
    expect(sql('was_initiated:f')).to.deep.equal({sql: '(r."was_initiated" IS FALSE)', params: []})
    expect(sql('was_initiated:x')).to.deep.equal({sql: 'FALSE', params: []})
  })
})
