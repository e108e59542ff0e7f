/**
 * Property tests: on random flow-log rows and random queries from the grammar, the SQL back end and the JavaScript
 * predicate select exactly the same rows; random strings either parse or throw QuerySyntaxError, nothing else; the
 * canonical text of an AST parses back to the same AST.
 */
import {expect} from 'chai'
import fc from 'fast-check'

import type {EnvelopeOptions} from '../../src/lib/records/envelope.js'
import {QuerySyntaxError, formatQuery, parseQuery, toPredicate, toSql} from '../../src/lib/query/index.js'
import {envelopeArb, noiseArb, objectsArb, queryArb} from './arbitraries.js'
import {MiniStore, sorted} from './helpers.js'

describe('query: properties', function () {
  this.timeout(600_000)
  let store: MiniStore

  before(async () => {
    store = await MiniStore.create()
  })
  after(() => store.close())

  it('generated queries parse, and their SQL has exactly one ? per parameter', () => {
    fc.assert(
      fc.property(queryArb, envelopeArb, (q, envelope) => {
        const out = toSql(parseQuery(q).ast, envelope)
        expect(out.sql.split('?').length - 1).to.equal(out.params.length)
      }),
      {numRuns: 3000},
    )
  })

  it('the canonical text of an AST parses back to the same AST', () => {
    fc.assert(
      fc.property(queryArb, (q) => {
        const {ast} = parseQuery(q)
        expect(parseQuery(formatQuery(ast)).ast).to.deep.equal(ast)
      }),
      {numRuns: 3000},
    )
  })

  it('SQL on regular rows = the JavaScript predicate, and the store path = the predicate on every row', async () => {
    let regular = 0
    let matched = 0
    let total = 0
    await fc.assert(
      fc.asyncProperty(objectsArb, envelopeArb, fc.array(queryArb, {minLength: 20, maxLength: 20}), async (objects, envelope, queries) => {
        await store.clear()
        await store.add(objects)
        regular += store.regularCount()
        for (const q of queries) {
          const {ast} = parseQuery(q)
          const js = store.jsMatches(ast, envelope)
          const viaStore = await store.search(ast, envelope)
          expect(sorted(viaStore), `${q} with ${JSON.stringify(envelope)}`).to.deep.equal(sorted(js))
          matched += js.size
          total++
        }
      }),
      {numRuns: 150},
    )
    // The pools are small enough that rows are mostly regular and queries often match.
    expect(regular).to.be.greaterThan(300)
    expect(matched / total).to.be.greaterThan(0.5)
  })

  it('random strings never throw anything but QuerySyntaxError (with a position inside the query)', () => {
    fc.assert(
      fc.property(noiseArb, (q) => {
        try {
          const {ast} = parseQuery(q)
          toPredicate(ast)({a: 'b', n: 1, b: true}, 'k', 0)
          toSql(ast)
        } catch (error) {
          expect(error).to.be.instanceOf(QuerySyntaxError)
          const e = error as QuerySyntaxError
          expect(e.position).to.be.within(0, q.length)
          expect(e.exitCode).to.equal(2)
          expect(e.message.split('\n')[0]).to.equal(`syntax error at column ${e.position}: ${e.reason}`)
        }
      }),
      {numRuns: 20000},
    )
  })

  it('random strings that parse give the same answer in SQL and JavaScript', async () => {
    await store.clear()
    await store.add([
      {
        key: 'k/1',
        header: {version: '0.0.1', state: 'ok'},
        records: [
          {action: 'rejected', target_ip: '10.240.0.4', target_port: 22, was_initiated: true, direction: 'I'},
          {action: 'accepted', initiator_ip: '0.1.0.1', target_port: 0, direction: 'O'},
          {start_time: 'a:b (c) AND "d"', end_time: 'NOT -x *', ether_type: '&&||!'},
        ],
      },
    ])
    const envelope: EnvelopeOptions = {tags: ['a', 'b']}
    let parsed = 0
    await fc.assert(
      fc.asyncProperty(noiseArb, async (q) => {
        let ast
        try {
          ast = parseQuery(q).ast
        } catch {
          return
        }
        parsed++
        expect(sorted(await store.search(ast, envelope)), q).to.deep.equal(sorted(store.jsMatches(ast, envelope)))
      }),
      {numRuns: 1500},
    )
    expect(parsed).to.be.greaterThan(100)
  })
})
