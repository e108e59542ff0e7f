/**
 * Evaluation rules beyond the spec table (§9 field resolution, §10 matching, D6/D7 types, D17 envelope, §13 CIDR),
 * each checked through the JavaScript predicate and, for regular rows, through the SQL back end.
 */
import {expect} from 'chai'

import type {EnvelopeOptions} from '../../src/lib/records/envelope.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {recordId} from '../../src/lib/records/row.js'
import {parseQuery, toPredicate, toRecordPredicate} from '../../src/lib/query/index.js'
import {MiniStore, type TestObject, sorted} from './helpers.js'

describe('query: evaluation', function () {
  this.timeout(60_000)
  let store: MiniStore

  before(async () => {
    store = await MiniStore.create()
  })
  after(() => store.close())

  /**
   * The rows (one object each, key `o<i>`) that `query` selects: asserts that the store path (SQL on regular rows,
   * predicate on irregular ones) and the predicate alone agree, and returns the indices.
   */
  async function select(objects: TestObject[], query: string, envelope: EnvelopeOptions = {}): Promise<number[]> {
    await store.clear()
    await store.add(objects)
    const {ast} = parseQuery(query)
    const js = store.jsMatches(ast, envelope)
    expect(sorted(await store.search(ast, envelope)), `${query}: SQL and JavaScript agree`).to.deep.equal(sorted(js))
    return store.objects.flatMap((o, i) => (o.rows.some((r) => js.has(`${r.okey}#${r.idx}`)) ? [i] : []))
  }

  /** Rows stored as literal rows (one object each). */
  const rows = (...list: JsonObject[]): TestObject[] => list.map((row, i) => ({key: `o${i}`, rows: [row]}))
  /** Flow-log objects: header + one record each, flattened with the key. */
  const flows = (header: JsonObject, ...records: JsonObject[]): TestObject[] =>
    records.map((r, i) => ({key: `obj/${i}.gz`, header, records: [r]}))

  describe('field resolution (§9)', () => {
    it('a literal dotted key, then the dotted path; arrays on the way: any element', async () => {
      const objs = rows({'a.b': 1}, {a: {b: 1}}, {a: [{b: 2}, {b: 1}]}, {a: [[{b: 1}]]}, {a: {b: [3, 1]}}, {a: {c: 1}}, {'a.b': null, a: {b: 1}})
      expect(await select(objs, 'a.b:1')).to.deep.equal([0, 1, 2, 3, 4, 6])
      expect(await select(objs, 'a.b:*')).to.deep.equal([0, 1, 2, 3, 4, 6])
      expect(await select(objs, '-a.b:*')).to.deep.equal([5])
    })
    it('existence: objects and arrays (even empty) exist, null does not', async () => {
      const objs = rows({f: {}}, {f: []}, {f: null}, {f: ''}, {f: 0}, {f: false}, {})
      expect(await select(objs, 'f:*')).to.deep.equal([0, 1, 3, 4, 5])
      expect(await select(objs, 'f:x')).to.deep.equal([])
    })
    it('the same name with a leading _ when the name is missing', async () => {
      const objs = rows({_status: 404}, {status: 200, _status: 404}, {status: null, _status: 404}, {status: 404})
      expect(await select(objs, 'status:404')).to.deep.equal([0, 2, 3])
      expect(await select(objs, 'status:200')).to.deep.equal([1])
    })
    it('keys of Object.prototype are never fields; an own __proto__ key is an ordinary field', async () => {
      const own: JsonObject = {}
      Object.defineProperty(own, '__proto__', {value: 'x', enumerable: true, writable: true, configurable: true})
      const objs = rows({a: 1}, own)
      for (const name of ['constructor', 'toString', 'hasOwnProperty', 'a.constructor', 'meta.constructor']) {
        expect(await select(objs, `${name}:*`), name).to.deep.equal([])
      }
      expect(await select(objs, '__proto__:x')).to.deep.equal([1])
    })
    it('meta is {record_id}: meta.record_id matches the id, nothing else is in meta, meta is not promoted', async () => {
      const objs = flows({version: '0.0.1'}, {action: 'accepted'}, {action: 'rejected'})
      const id = recordId('obj/1.gz', 0)
      expect(await select(objs, `meta.record_id:==${id}`)).to.deep.equal([1])
      expect(await select(objs, `meta.record_id:${id.slice(0, 6)}`)).to.deep.equal([1])
      expect(await select(objs, 'meta.record_id:*')).to.deep.equal([0, 1])
      expect(await select(objs, 'meta.x:* OR meta.record_id.x:* OR record_id:*')).to.deep.equal([])
      expect(await select(objs, '-meta.x:*')).to.deep.equal([0, 1])
    })
    it('host, app, tag come from the envelope; tag matches any tag', async () => {
      const objs = flows({}, {action: 'accepted'})
      const env = {hostname: 'web-1', app: 'api', tags: ['us-south', 'prod']}
      expect(await select(objs, 'host:web app:==api tag:prod tag:==us-south', env)).to.deep.equal([0])
      expect(await select(objs, 'host:flowlog', env)).to.deep.equal([])
      expect(await select(objs, 'host:flowlog app:vpc-flowlogs -tag:*')).to.deep.equal([0])
      expect(await select(objs, 'tag:*', env)).to.deep.equal([0])
    })
    it('level: the configured level, or WARN/INFO by action; a JSON level in the line wins', async () => {
      const objs = [...flows({}, {action: 'rejected'}, {action: 'accepted'}, {direction: 'I'}), ...rows({level: 'debug', action: 'rejected'})]
      expect(await select(objs, 'level:info')).to.deep.equal([0, 1, 2])
      expect(await select(objs, 'level:warn', {levelByAction: true})).to.deep.equal([0])
      expect(await select(objs, 'level:==INFO', {levelByAction: true})).to.deep.equal([1, 2])
      expect(await select(objs, 'level:error', {level: 'ERROR'})).to.deep.equal([0, 1, 2])
      expect(await select(objs, 'level:debug', {levelByAction: true})).to.deep.equal([3])
      expect(await select(objs, 'level:*', {levelByAction: true})).to.deep.equal([0, 1, 2, 3])
    })
  })

  describe('matching (§10)', () => {
    it('"." is a word character: 240 does not match inside 10.240.0.4, 10.240.0.4 not inside 110.240.0.4', async () => {
      const objs = flows({}, {target_ip: '10.240.0.4'}, {target_ip: '110.240.0.4'}, {target_ip: '10.240.0.45'}, {target_ip: '10.240.0.4-x'})
      expect(await select(objs, 'target_ip:240')).to.deep.equal([])
      expect(await select(objs, '240')).to.deep.equal([])
      expect(await select(objs, 'target_ip:10.240.0.4')).to.deep.equal([0, 2, 3])
      expect(await select(objs, 'target_ip:==10.240.0.4')).to.deep.equal([0, 3])
      expect(await select(objs, '==10.240.0.4')).to.deep.equal([0, 3])
      expect(await select(objs, 'target_ip:-x')).to.deep.equal([3])
    })
    it('every occurrence is tried, not only the first', async () => {
      const objs = flows({}, {direction: 'xfoo foo'}, {direction: 'xfoo'}, {direction: 'foox foo.'})
      expect(await select(objs, 'direction:foo')).to.deep.equal([0, 2])
      expect(await select(objs, 'direction:==foo')).to.deep.equal([0])
    })
    it('needles starting or ending with a non-word character need no word edge there', async () => {
      const objs = flows({}, {direction: 'a-b'}, {direction: 'a/b'}, {direction: 'ab'})
      expect(await select(objs, 'direction:-b')).to.deep.equal([0])
      expect(await select(objs, 'direction:==a-')).to.deep.equal([0])
      expect(await select(objs, 'direction:/')).to.deep.equal([1])
    })
    it('case-insensitive uses toLowerCase: KELVIN SIGN is k, İ is i + U+0307, ſ stays ſ, ẞ is ß', async () => {
      const objs = flows({}, {direction: '\u212Aelvin'}, {direction: 'İstanbul'}, {direction: 'ſtop'}, {direction: 'STRAẞE'}, {direction: 'STRASSE'})
      expect(await select(objs, 'direction:kelvin')).to.deep.equal([0])
      expect(await select(objs, 'direction:=kelvin')).to.deep.equal([])
      expect(await select(objs, 'direction:istanbul')).to.deep.equal([])
      expect(await select(objs, 'direction:i')).to.deep.equal([1])
      expect(await select(objs, 'direction:==i')).to.deep.equal([1])
      expect(await select(objs, 'direction:"i\u0307stanbul"')).to.deep.equal([1])
      expect(await select(objs, 'direction:stop')).to.deep.equal([])
      expect(await select(objs, 'direction:ſtop')).to.deep.equal([2])
      expect(await select(objs, 'direction:straße')).to.deep.equal([3])
      expect(await select(objs, 'direction:strasse')).to.deep.equal([4])
      expect(await select(objs, 'kelvin')).to.deep.equal([0])
      expect(await select(objs, 'direction:elvin')).to.deep.equal([])
    })
    it('a word character after KELVIN SIGN / İ in the lowered text counts for word edges', async () => {
      const objs = flows({}, {direction: '\u212A1'}, {direction: 'x\u212A'}, {direction: 'İ1'}, {direction: '1İ'})
      expect(await select(objs, 'direction:1')).to.deep.equal([2, 3])
      expect(await select(objs, 'direction:==x')).to.deep.equal([])
      expect(await select(objs, 'direction:==1')).to.deep.equal([2])
    })
  })

  describe('types (D6, D7)', () => {
    it('numbers: equality for every operator, no prefix; non-numeric literals are false', async () => {
      const objs = flows({}, {target_port: 22}, {target_port: 220}, {target_port: 2})
      expect(await select(objs, 'target_port:22')).to.deep.equal([0])
      expect(await select(objs, 'target_port:===22.0')).to.deep.equal([0])
      expect(await select(objs, 'target_port:=022')).to.deep.equal([0])
      expect(await select(objs, 'target_port:2')).to.deep.equal([2])
      expect(await select(objs, 'target_port:ssh OR target_port:1e1 OR target_port:22x')).to.deep.equal([])
      expect(await select(objs, 'target_port:[2,220]')).to.deep.equal([1, 2])
    })
    it('comparators on integers with fractional and huge bounds', async () => {
      const objs = flows({}, {target_port: 22}, {target_port: -5}, {target_port: 9007199254740991})
      expect(await select(objs, 'target_port:>21.5')).to.deep.equal([0, 2])
      expect(await select(objs, 'target_port:>=22.5')).to.deep.equal([2])
      expect(await select(objs, 'target_port:<22.5')).to.deep.equal([0, 1])
      expect(await select(objs, 'target_port:<=21.9')).to.deep.equal([1])
      expect(await select(objs, 'target_port:<99999999999999999999999')).to.deep.equal([0, 1, 2])
      expect(await select(objs, 'target_port:>-99999999999999999999999')).to.deep.equal([0, 1, 2])
      expect(await select(objs, 'target_port:(>=-5 <=-5)')).to.deep.equal([1])
    })
    it('numeric strings compare as numbers with comparators only', async () => {
      const objs = flows({}, {direction: '-12'}, {direction: '1.5'}, {direction: '007'}, {direction: '12abc'}, {direction: '1e3'}, {direction: ' 5'})
      expect(await select(objs, 'direction:<0')).to.deep.equal([0])
      expect(await select(objs, 'direction:>1')).to.deep.equal([1, 2])
      expect(await select(objs, 'direction:>=7')).to.deep.equal([2])
      expect(await select(objs, 'direction:7')).to.deep.equal([])
      expect(await select(objs, 'direction:007')).to.deep.equal([2])
    })
    it('booleans are the strings true / false', async () => {
      const objs = flows({}, {was_initiated: true}, {was_initiated: false}, {direction: 'I'})
      expect(await select(objs, 'was_initiated:t')).to.deep.equal([0])
      expect(await select(objs, 'was_initiated:==t')).to.deep.equal([])
      expect(await select(objs, 'was_initiated:=TRUE')).to.deep.equal([])
      expect(await select(objs, 'was_initiated:FALSE')).to.deep.equal([1])
      expect(await select(objs, 'was_initiated:(true OR false)')).to.deep.equal([0, 1])
      expect(await select(objs, 'was_initiated:1 OR was_initiated:>0')).to.deep.equal([])
      expect(await select(objs, '-was_initiated:true')).to.deep.equal([1, 2])
    })
    it('irregular rows: arrays match on any element, objects never match a value, JSON null is missing', async () => {
      const objs = rows({v: ['a', 22, true]}, {v: {a: 1}}, {v: null}, {v: [[22]]})
      expect(await select(objs, 'v:22')).to.deep.equal([0, 3])
      expect(await select(objs, 'v:a')).to.deep.equal([0])
      expect(await select(objs, 'v:tr')).to.deep.equal([0])
      expect(await select(objs, 'v:>20')).to.deep.equal([0, 3])
      expect(await select(objs, '-v:a')).to.deep.equal([1, 2, 3])
    })
  })

  describe('CIDR (§13)', () => {
    it('applies to dotted-quad values only (leading zeros read as decimal); other values use string rules', async () => {
      const objs = flows({}, {target_ip: '010.240.0.4'}, {target_ip: '10.240.0.256'}, {target_ip: '10.240.0.0/16'}, {target_ip: '10.241.0.1'})
      expect(await select(objs, 'target_ip:10.240.0.0/16')).to.deep.equal([0, 2])
      // The block is the same; the string fallback compares the literal text.
      expect(await select(objs, 'target_ip:010.240.0.0/16')).to.deep.equal([0])
      expect(await select(objs, 'target_ip:=10.240.0.0/15')).to.deep.equal([0, 3])
    })
    it('/0 and /32 edges', async () => {
      const objs = flows({}, {target_ip: '0.0.0.0'}, {target_ip: '255.255.255.255'}, {target_ip: '255.255.255.254'})
      expect(await select(objs, 'target_ip:0.0.0.0/0')).to.deep.equal([0, 1, 2])
      expect(await select(objs, 'target_ip:255.255.255.255/32')).to.deep.equal([1])
      expect(await select(objs, 'target_ip:255.255.255.255/31')).to.deep.equal([1, 2])
    })
  })

  describe('the haystack (§10, D9)', () => {
    const header = {version: '0.0.1', instance_crn: 'crn:v1:bluemix:public:is:us-south-2:a/713c::instance:0727_7ccd'}
    const objs = (): TestObject[] => [
      {key: 'k/one.gz', header, records: [{action: 'rejected', target_port: 22, direction: 'I'}, {action: 'accepted', target_port: 443}]},
      {key: 'k/two.gz', header: {}, records: [{action: 'accepted', start_time: ''}]},
      {key: 'k/raw.gz', header, records: [{key: 'x', action: 'accepted'}], raw: true},
    ]
    const at = async (query: string, envelope: EnvelopeOptions = {}): Promise<string[]> => {
      await store.clear()
      await store.add(objs())
      const {ast} = parseQuery(query)
      const js = store.jsMatches(ast, envelope)
      expect(sorted(await store.search(ast, envelope)), query).to.deep.equal(sorted(js))
      return sorted(js)
    }
    it('finds text in the header part, the record part and the key part of the line', async () => {
      expect(await at('0727_7ccd')).to.deep.equal(['k/one.gz#0', 'k/one.gz#1', 'k/raw.gz#0'])
      expect(await at('one.gz')).to.deep.equal(['k/one.gz#0', 'k/one.gz#1'])
      expect(await at('rejected')).to.deep.equal(['k/one.gz#0'])
      expect(await at('target_port')).to.deep.equal(['k/one.gz#0', 'k/one.gz#1'])
      expect(await at('"crn:v1:bluemix:public"')).to.deep.equal(['k/one.gz#0', 'k/one.gz#1', 'k/raw.gz#0'])
    })
    it('finds text with ":" or quotes in names, values and after the colon', async () => {
      expect(await at('":22"')).to.deep.equal(['k/one.gz#0'])
      expect(await at('":4"')).to.deep.equal(['k/one.gz#1'])
      expect(await at('":t"')).to.deep.equal([])
      expect(await at('":"')).to.have.length(4)
      expect(await at('"target_port\\":22"')).to.deep.equal(['k/one.gz#0'])
      expect(await at('"start_time\\":\\"\\""')).to.deep.equal(['k/two.gz#0'])
      expect(await at('"is:us-south"')).to.have.length(3)
    })
    it('finds text across the parts of the line (terms with , { })', async () => {
      expect(await at('"0727_7ccd\\",\\"action\\":\\"rejected"')).to.deep.equal(['k/one.gz#0'])
      expect(await at('"443,\\"key\\""')).to.deep.equal(['k/one.gz#1'])
      expect(await at('"{\\"action"')).to.deep.equal(['k/two.gz#0'])
      expect(await at('"\\"\\"}"')).to.deep.equal([])
      expect(await at('"\\"\\","')).to.deep.equal(['k/two.gz#0'])
    })
    it('the envelope is part of the haystack: host, app, tags, level, meta', async () => {
      expect(await at('flowlog')).to.have.length(4)
      expect(await at('vpc-flowlogs')).to.have.length(4)
      expect(await at('prod', {tags: ['prod']})).to.have.length(4)
      expect(await at('prod')).to.deep.equal([])
      expect(await at('warn', {levelByAction: true})).to.deep.equal(['k/one.gz#0'])
      expect(await at('=INFO', {levelByAction: true})).to.deep.equal(['k/one.gz#1', 'k/raw.gz#0', 'k/two.gz#0'])
      const id = recordId('k/two.gz', 0)
      expect(await at(id.slice(0, 8))).to.deep.equal(['k/two.gz#0'])
      expect(await at(`"\\"record_id\\":\\"${id}\\"}"`)).to.deep.equal(['k/two.gz#0'])
      expect(await at('record_id')).to.have.length(4)
    })
    it('a term with a newline is searched across the pieces of H', async () => {
      expect(await at('"}\\\nflowlog\\\nvpc"')).to.have.length(4)
      expect(await at('"INFO\\\nprod\\\n{"', {tags: ['prod']})).to.have.length(4)
      expect(await at('"INFO\\\n\\\n{"')).to.have.length(4)
      expect(await at('"}\\\nweb"')).to.deep.equal([])
    })
  })

  describe('toRecordPredicate: records with their own envelope', () => {
    it('uses the given host, app, level, tags and meta (null meta: empty)', () => {
      const {ast} = parseQuery('host:web-1 app:api level:error tag:a meta.x:1 "{\\"x\\":1}"')
      const rec = {row: {a: 1}, host: 'web-1', app: 'api', level: 'ERROR', tags: ['a'], meta: {x: 1}}
      expect(toRecordPredicate(ast)(rec)).to.equal(true)
      expect(toRecordPredicate(ast)({...rec, meta: null})).to.equal(false)
      expect(toRecordPredicate(parseQuery('"ERROR\\\na\\\n"').ast)({...rec, meta: null})).to.equal(true)
    })
  })

  describe('toPredicate', () => {
    it('uses the line it is given instead of serialising the row', () => {
      const {ast} = parseQuery('rejected')
      const p = toPredicate(ast)
      const row = {action: 'rejected'}
      expect(p(row, 'k', 0)).to.equal(true)
      expect(p(row, 'k', 0, JSON.stringify(row))).to.equal(true)
      expect(p(row, 'k', 0, '{"action":"accepted"}')).to.equal(false)
    })
    it('match-all needs nothing from the row', () => {
      expect(toPredicate(parseQuery('').ast)({}, '', 0)).to.equal(true)
    })
  })
})
