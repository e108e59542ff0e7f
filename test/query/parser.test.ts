/**
 * The parser: §16.3 cases (asserting the AST), the grammar of §12 and the lexing rules, D1–D17 as far as they are
 * syntax, warnings, and syntax errors with their positions and hints.
 */
import {expect} from 'chai'

import {UsageError} from '../../src/lib/errors.js'
import {MAX_NESTING, type QueryNode, QuerySyntaxError, formatQuery, parseQuery} from '../../src/lib/query/index.js'

const t = (value: string, op: '' | '=' | '==' | '===' = ''): QueryNode => ({type: 'term', op, value})
const f = (field: string, value: string, op: '' | '=' | '==' | '===' = ''): QueryNode => ({
  type: 'field',
  field,
  test: {kind: 'match', op, value},
})
const and = (...children: QueryNode[]): QueryNode => ({type: 'and', children})
const or = (...children: QueryNode[]): QueryNode => ({type: 'or', children})
const not = (child: QueryNode): QueryNode => ({type: 'not', child})
const ALL: QueryNode = {type: 'all'}

/** The parser itself, without the bounds on length and clauses (tested in 'bounds'). */
function ast(q: string): QueryNode {
  return parseQuery(q, {bounds: false}).ast
}

function syntaxError(q: string): QuerySyntaxError {
  try {
    parseQuery(q, {bounds: false})
  } catch (error) {
    expect(error).to.be.instanceOf(QuerySyntaxError)
    return error as QuerySyntaxError
  }
  expect.fail(`expected a syntax error for ${JSON.stringify(q)}`)
}

describe('query: parser', () => {
  describe('§16.3 parser-only cases', () => {
    it('a b OR c ≡ a AND (b OR c)', () => {
      expect(ast('a b OR c')).to.deep.equal(and(t('a'), or(t('b'), t('c'))))
      expect(ast('a b OR c')).to.deep.equal(ast('a AND (b OR c)'))
    })
    it('a OR b c OR d ≡ (a OR b) AND (c OR d)', () => {
      expect(ast('a OR b c OR d')).to.deep.equal(and(or(t('a'), t('b')), or(t('c'), t('d'))))
    })
    it('-a OR b ≡ (NOT a) OR b', () => {
      expect(ast('-a OR b')).to.deep.equal(or(not(t('a')), t('b')))
      expect(ast('-a OR b')).to.deep.equal(ast('(NOT a) OR b'))
    })
    it('f:-5 is the value "-5", not a negation', () => {
      expect(ast('f:-5')).to.deep.equal(f('f', '-5'))
    })
    it('f:(<-5) is the comparison < −5', () => {
      expect(ast('f:(<-5)')).to.deep.equal({type: 'field', field: 'f', test: {kind: 'cmp', op: '<', value: -5}})
    })
    it('foo\\:bar is the literal term foo:bar', () => {
      expect(ast('foo\\:bar')).to.deep.equal(t('foo:bar'))
    })
    it("'it''s' is a syntax error; 'it\\'s' is the literal it's", () => {
      const e = syntaxError("'it''s'")
      expect(e.position).to.equal(4)
      expect(ast("'it\\'s'")).to.deep.equal(t("it's"))
    })
  })

  describe('operators and precedence (D2, D3)', () => {
    it('AND, && and whitespace are the same; OR and || are the same', () => {
      const want = and(t('a'), t('b'))
      for (const q of ['a b', 'a AND b', 'a && b', 'a\tb', 'a\nb', '  a   b  ']) expect(ast(q), q).to.deep.equal(want)
      for (const q of ['a OR b', 'a || b']) expect(ast(q), q).to.deep.equal(or(t('a'), t('b')))
    })
    it('OR binds tighter than AND also with explicit AND', () => {
      expect(ast('a AND b OR c AND d')).to.deep.equal(and(t('a'), or(t('b'), t('c')), t('d')))
    })
    it('NOT and - bind tighter than OR; parentheses group', () => {
      expect(ast('NOT a OR b')).to.deep.equal(or(not(t('a')), t('b')))
      expect(ast('-(a OR b) c')).to.deep.equal(and(not(or(t('a'), t('b'))), t('c')))
      expect(ast('(a b) OR c')).to.deep.equal(or(and(t('a'), t('b')), t('c')))
      expect(ast('a NOT b')).to.deep.equal(and(t('a'), not(t('b'))))
    })
    it('a double negation cancels out', () => {
      expect(ast('--a')).to.deep.equal(t('a'))
      expect(ast('NOT -a')).to.deep.equal(t('a'))
    })
    it('keywords are upper case whole tokens only: and/or/not, ANDROID, NOTE and OR-x are terms', () => {
      expect(ast('a and b')).to.deep.equal(and(t('a'), t('and'), t('b')))
      expect(ast('ANDROID NOTE OR-x')).to.deep.equal(and(t('ANDROID'), t('NOTE'), t('OR-x')))
      expect(ast('not a')).to.deep.equal(and(t('not'), t('a')))
    })
    it('lower-case keywords are searched as words, with a warning', () => {
      const {warnings} = parseQuery('action:accepted and')
      expect(warnings.join('\n')).to.match(/"and" is searched as a word/)
    })
    it('! is an ordinary character (with a warning)', () => {
      const {ast: a, warnings} = parseQuery('!rejected')
      expect(a).to.deep.equal(t('!rejected'))
      expect(warnings.join('\n')).to.match(/'!' is not an operator/)
    })
    it('- must touch its operand: a lone - is the literal term "-"; inside a word it is part of it', () => {
      expect(ast('- a')).to.deep.equal(and(t('-'), t('a')))
      expect(ast('a -')).to.deep.equal(and(t('a'), t('-')))
      expect(ast('(a -)')).to.deep.equal(and(t('a'), t('-')))
      expect(ast('vpc-flowlogs')).to.deep.equal(t('vpc-flowlogs'))
      expect(ast('-app:x')).to.deep.equal(not(f('app', 'x')))
      expect(ast('-"a b"')).to.deep.equal(not(t('a b')))
    })
  })

  describe('terms', () => {
    it('quotes (both kinds) make phrases; the operator prefix applies to terms', () => {
      expect(ast('"job failed"')).to.deep.equal(t('job failed'))
      expect(ast("'job failed'")).to.deep.equal(t('job failed'))
      expect(ast('===barrier')).to.deep.equal(t('barrier', '==='))
      expect(ast('=="a b"')).to.deep.equal(t('a b', '=='))
      expect(ast('="x"')).to.deep.equal(t('x', '='))
    })
    it('a backslash escapes the next character inside and outside quotes', () => {
      expect(ast('"say \\"hi\\""')).to.deep.equal(t('say "hi"'))
      expect(ast('a\\ b')).to.deep.equal(t('a b'))
      expect(ast('a\\(b\\)')).to.deep.equal(t('a(b)'))
      expect(ast('"back\\\\slash"')).to.deep.equal(t('back\\slash'))
      expect(ast('\\AND')).to.deep.equal(t('AND'))
    })
    it('quoted keywords are terms', () => {
      expect(ast('"AND" \'OR\'')).to.deep.equal(and(t('AND'), t('OR')))
    })
    it('= signs with nothing after them are text', () => {
      expect(ast('=')).to.deep.equal(t('='))
      expect(ast('a == b')).to.deep.equal(and(t('a'), t('=='), t('b')))
      expect(ast('====')).to.deep.equal(t('=', '==='))
    })
    it('a bare *, the empty query and whitespace match everything; * inside AND/OR simplifies', () => {
      for (const q of ['*', '', '   ', '_account:*', '* *']) expect(ast(q), q).to.deep.equal(ALL)
      expect(ast('* a')).to.deep.equal(t('a'))
      expect(ast('a OR *')).to.deep.equal(ALL)
      expect(ast('-*')).to.deep.equal(not(ALL))
      expect(ast('-_account:*')).to.deep.equal(not(ALL))
    })
    it('a trailing * is stripped with a warning; an escaped or quoted * and any other * are literal', () => {
      const r = parseQuery('acc*')
      expect(r.ast).to.deep.equal(t('acc'))
      expect(r.warnings).to.have.length(1)
      expect(parseQuery('acc\\*')).to.deep.equal({ast: t('acc*'), warnings: []})
      expect(parseQuery('"acc*"')).to.deep.equal({ast: t('acc*'), warnings: []})
      expect(parseQuery('a*b')).to.deep.equal({ast: t('a*b'), warnings: []})
      expect(parseQuery('*ab')).to.deep.equal({ast: t('*ab'), warnings: []})
    })
    it('one-character terms are allowed with a warning (D10)', () => {
      const r = parseQuery('x "+"')
      expect(r.ast).to.deep.equal(and(t('x'), t('+')))
      expect(r.warnings.filter((w) => /one-character/.test(w))).to.have.length(2)
      expect(parseQuery('xy').warnings).to.deep.equal([])
    })
  })

  describe('field clauses', () => {
    it('the operators : := :== :===', () => {
      expect(ast('level:error')).to.deep.equal(f('level', 'error'))
      expect(ast('level:=error')).to.deep.equal(f('level', 'error', '='))
      expect(ast('level:==error')).to.deep.equal(f('level', 'error', '=='))
      expect(ast('level:===error')).to.deep.equal(f('level', 'error', '==='))
    })
    it('field names: letters, digits, _ @ $ first, then also . and -', () => {
      expect(ast('@timestamp:x')).to.deep.equal(f('@timestamp', 'x'))
      expect(ast('$a-b.c_d:1')).to.deep.equal(f('$a-b.c_d', '1'))
      expect(ast('10.240.0.4:22')).to.deep.equal(f('10.240.0.4', '22'))
      expect(ast('NOT:x')).to.deep.equal(f('NOT', 'x'))
    })
    it('values may contain further colons; quoted values keep the operator', () => {
      expect(ast('http://x')).to.deep.equal(f('http', '//x'))
      expect(ast('a:b:c')).to.deep.equal(f('a', 'b:c'))
      expect(ast('instance_crn:"crn:v1:bluemix"')).to.deep.equal(f('instance_crn', 'crn:v1:bluemix'))
      expect(ast('f:=="a b"')).to.deep.equal(f('f', 'a b', '=='))
      expect(ast('message:"Host \\"logdna-host\\" not found"')).to.deep.equal(f('message', 'Host "logdna-host" not found'))
    })
    it('= signs with nothing after them are the value', () => {
      expect(ast('f:=')).to.deep.equal(f('f', '='))
      expect(ast('f:===')).to.deep.equal(f('f', '==='))
    })
    it('existence: f:* and -f:*; *x is a literal', () => {
      expect(ast('user:*')).to.deep.equal({type: 'field', field: 'user', test: {kind: 'exists'}})
      expect(ast('-f:*')).to.deep.equal(not({type: 'field', field: 'f', test: {kind: 'exists'}}))
      expect(ast('f:*x')).to.deep.equal(f('f', '*x'))
      expect(ast('f:"*"')).to.deep.equal(f('f', '*'))
      expect(ast('f:\\*')).to.deep.equal(f('f', '*'))
      expect(ast('f:==*')).to.deep.equal({type: 'field', field: 'f', test: {kind: 'exists'}})
    })
    it('comparators take a number right after them', () => {
      const cmp = (op: string, value: number): QueryNode => ({type: 'field', field: 'n', test: {kind: 'cmp', op, value}} as QueryNode)
      expect(ast('n:>5')).to.deep.equal(cmp('>', 5))
      expect(ast('n:>=1.5')).to.deep.equal(cmp('>=', 1.5))
      expect(ast('n:<-5')).to.deep.equal(cmp('<', -5))
      expect(ast('n:<=0')).to.deep.equal(cmp('<=', 0))
    })
    it('lists: split on "," only, items literal, backslash escapes, operator applies to all items', () => {
      expect(ast('action:[accepted,rejected]')).to.deep.equal(or(f('action', 'accepted'), f('action', 'rejected')))
      expect(ast('level:[warning, error]')).to.deep.equal(or(f('level', 'warning'), f('level', ' error')))
      expect(ast('level:[warning,(error)]')).to.deep.equal(or(f('level', 'warning'), f('level', '(error)')))
      expect(ast('f:[a\\,b,c\\]]')).to.deep.equal(or(f('f', 'a,b'), f('f', 'c]')))
      expect(ast('f:[400 TO 500]')).to.deep.equal(f('f', '400 TO 500'))
      expect(ast('f:===[a,"b"]')).to.deep.equal(or(f('f', 'a', '==='), f('f', '"b"', '===')))
    })
    it('field groups: same boolean grammar, atoms are values of the field (D13)', () => {
      const cmp = (op: string, value: number): QueryNode => ({type: 'field', field: 'r', test: {kind: 'cmp', op, value}} as QueryNode)
      expect(ast('r:(>=400 <500 -404)')).to.deep.equal(and(cmp('>=', 400), cmp('<', 500), not(f('r', '404'))))
      expect(ast('r:(>100 AND <= 503)')).to.deep.equal(and(cmp('>', 100), cmp('<=', 503)))
      expect(ast('r:(22 OR 3389)')).to.deep.equal(or(f('r', '22'), f('r', '3389')))
      expect(ast('r:(NOT 1 (2 || 3))')).to.deep.equal(and(not(f('r', '1')), or(f('r', '2'), f('r', '3'))))
      expect(ast('r:( * ==a [b,c] "d e" x:y )')).to.deep.equal(
        and({type: 'field', field: 'r', test: {kind: 'exists'}}, f('r', 'a', '=='), or(f('r', 'b'), f('r', 'c')), f('r', 'd e'), f('r', 'x:y')),
      )
      expect(ast('r:(- x)')).to.deep.equal(and(f('r', '-'), f('r', 'x')))
    })
    it('a CIDR block gets CIDR meaning (§13); malformed ones stay literals, invalid ones are syntax errors', () => {
      expect(ast('target_ip:10.240.0.0/16')).to.deep.equal({
        type: 'field',
        field: 'target_ip',
        test: {kind: 'match', op: '', value: '10.240.0.0/16', cidr: {text: '10.240.0.0/16', first: 0x0af00000, last: 0x0af0ffff}},
      })
      for (const q of ['f:10.240.0/16', 'f:1.2.3.4/', 'f:1.2.3.4/1/2']) {
        expect((ast(q) as {test: {cidr?: unknown}}).test.cidr, q).to.equal(undefined)
      }
      // Shaped like a block but invalid: a syntax error at the value, never a silent text match.
      for (const [q, at] of [['f:10.240.0.0/33', 2], ['f:256.0.0.0/8', 2], ['f:(1.2.3.4/40)', 3]] as const) {
        expect(() => parseQuery(q), q).to.throw(QuerySyntaxError).with.property('position', at)
      }
      expect(ast('f:0.0.0.0/0')).to.deep.nested.include({'test.cidr': {text: '0.0.0.0/0', first: 0, last: 0xffffffff}})
      expect(ast('10.240.0.0/16')).to.deep.equal(t('10.240.0.0/16'))
    })
    it('a CIDR block with host bits set is normalised with a warning', () => {
      const r = parseQuery('target_ip:10.240.0.4/16')
      expect(r.ast).to.deep.nested.include({'test.cidr.text': '10.240.0.0/16', 'test.value': '10.240.0.4/16'})
      expect(r.warnings).to.deep.equal(['target_ip:10.240.0.4/16 has host bits set: using the block 10.240.0.0/16'])
      expect(parseQuery('target_ip:10.240.0.0/16').warnings).to.deep.equal([])
    })
  })

  describe('syntax errors (D15): position, reason, hint', () => {
    const cases: [string, number, RegExp, RegExp][] = [
      ['target_ip:', 10, /empty value/, /target_ip:\*/],
      ['f:)', 2, /empty value/, /f:value/],
      ['(f:)', 3, /empty value/, /f:value/],
      ['f: x', 2, /no space is allowed after the colon/, /without a space/],
      ['(a', 0, /unbalanced '\('/, /missing '\)'/],
      ['((a) b', 0, /unbalanced '\('/, /missing '\)'/],
      ['a)', 1, /unbalanced '\)'/, /quote it/],
      [')', 0, /unexpected '\)'/, /quote it/],
      ['()', 1, /empty parentheses/, /put a search inside/],
      ['f:()', 3, /empty parentheses/, /f:\(a OR b\)/],
      ['"abc', 0, /unbalanced quote/, /close it/],
      ["x 'abc\\'", 2, /unbalanced quote/, /close it/],
      ['"a"b', 3, /after the closing quote/, /space/],
      ['a"b"', 1, /unexpected quote/, /escape/],
      ['a(b)', 1, /missing space before '\('/, /separate terms/],
      ['(a)b', 3, /unexpected 'b' after '\)'/, /separate terms/],
      ['a \\', 2, /backslash/, /\\\\/],
      ['AND', 0, /'AND' where a search term was expected/, /"AND"/],
      ['a AND', 2, /'AND' has nothing on its right/, /"AND"/],
      ['a OR', 2, /'OR' has nothing on its right/, /"OR"/],
      ['OR a', 0, /'OR' where a search term/, /"OR"/],
      ['a AND OR b', 6, /'OR' where a search term/, /"OR"/],
      ['a || ', 2, /'\|\|' has nothing on its right/, /"\|\|"/],
      ['NOT', 0, /'NOT' must be followed by a space/, /"NOT"/],
      ['NOT(a)', 0, /'NOT' must be followed by a space/, /"NOT"/],
      ['a AND(b)', 5, /missing space after 'AND'/, /"AND"/],
      ['(a OR)', 3, /'OR' has nothing on its right/, /"OR"/],
      [':x', 0, /':' with no field name/, /quote it/],
      ['.a:x', 2, /not a field name/, /quote it/],
      ['a\\.b:c', 4, /not a field name/, /escape the colon/],
      ['f:>abc', 3, /'>' needs a number/, /f:>400/],
      ['f:>5x', 3, /'>' needs a number/, /compare numbers/],
      ['f:>', 3, /'>' needs a number/, /compare numbers/],
      ['f:> 5', 3, /no space is allowed between '>' and its number/, /f:\(> 400\)/],
      ['f:(>= x)', 6, /'>=' needs a number/, /compare numbers/],
      ['f:[]', 3, /empty list/, /f:\[a,b\]/],
      ['f:[a,,b]', 5, /empty list item/, /f:\[a,b\]/],
      ['f:[a,]', 5, /empty list item/, /f:\[a,b\]/],
      ['f:[a,b', 2, /unbalanced '\['/, /close the list/],
      ['f:[a]x', 5, /unexpected 'x' after '\]'/, /separate/],
      ['f:==(a)', 2, /'==' cannot come before '\('/, /inside the group/],
      ['f:""', 2, /empty value/, /f:\*/],
      ['""', 0, /empty phrase/, /remove/],
      ['f:(a', 2, /unbalanced '\('/, /missing '\)'/],
      ['f:(AND)', 3, /'AND' where a value was expected/, /"AND"/],
      ['f:*(a)', 3, /missing space before '\('/, /separate/],
    ]
    for (const [q, position, reason, hint] of cases) {
      it(`${q} → column ${position}`, () => {
        const e = syntaxError(q)
        expect(e.position, 'position').to.equal(position)
        expect(e.reason).to.match(reason)
        expect(e.hint).to.match(hint)
        expect(e).to.be.instanceOf(UsageError)
        expect(e.exitCode).to.equal(2)
        expect(e.code).to.equal('query_syntax')
        expect(e.detail).to.deep.equal({position, reason: e.reason, hint: e.hint, query: q})
      })
    }

    it('the message names the column and puts a caret under it', () => {
      const e = syntaxError('target_ip:')
      expect(e.message).to.equal(
        [
          "syntax error at column 10: empty value after ':'",
          '  target_ip:',
          '            ^',
          'hint: give a value (target_ip:value), or target_ip:* to test that the field exists',
        ].join('\n'),
      )
    })

    it('tabs and newlines are shown as spaces so the caret stays aligned', () => {
      const e = syntaxError('a\tb\n(')
      expect(e.message.split('\n').slice(1, 3)).to.deep.equal(['  a b (', '      ^'])
    })

    it('a long query is shown around the error, with the caret still under it', () => {
      const q = `${'x '.repeat(100)}f: ${'y '.repeat(100)}`
      const e = syntaxError(q)
      expect(e.position).to.equal(202)
      const [, excerpt, caret] = e.message.split('\n')
      expect(excerpt.length).to.be.lessThan(130)
      expect(excerpt.startsWith('  …')).to.equal(true)
      expect(excerpt.endsWith('…')).to.equal(true)
      expect(excerpt[caret.indexOf('^')]).to.equal(' ')
      expect(excerpt.slice(caret.indexOf('^') - 2, caret.indexOf('^'))).to.equal('f:')
    })
  })

  describe('bounds', () => {
    it('more than 500 clauses or 64 KB of text is a syntax error (exit 2) naming the bound; 500 clauses parse', () => {
      const clauses = (n: number) => Array.from({length: n}, (_, i) => `f:${i}`).join(' OR ')
      expect((parseQuery(clauses(500)).ast as {children: unknown[]}).children).to.have.length(500)
      expect(() => parseQuery(clauses(501))).to.throw(QuerySyntaxError, /the query has 501 clauses, more than 500/)
      expect(() => parseQuery(`"${'x'.repeat(70_000)}"`)).to.throw(QuerySyntaxError, /70002 characters long, more than 65536/)
    })
  })

  describe('robustness', () => {
    it(`nesting up to ${MAX_NESTING} levels parses; deeper is a syntax error, not a stack overflow`, () => {
      const ok = `${'('.repeat(MAX_NESTING)}a${')'.repeat(MAX_NESTING)}`
      expect(ast(ok)).to.deep.equal(t('a', ''))
      const deep = `${'('.repeat(100_000)}a${')'.repeat(100_000)}`
      const e = syntaxError(deep)
      expect(e.reason).to.match(/nested more than/)
      expect(syntaxError(`f:${'('.repeat(MAX_NESTING + 1)}a`).reason).to.match(/nested more than/)
    })
    it('long inputs parse in linear passes (100k terms, 100k negations, 100k OR operands, a 1 MB phrase)', () => {
      const terms = Array.from({length: 100_000}, (_, i) => `t${i}`).join(' ')
      expect((ast(terms) as {children: unknown[]}).children).to.have.length(100_000)
      expect(ast(`${'-'.repeat(100_001)}a`)).to.deep.equal(not(t('a')))
      expect((ast(Array.from({length: 100_000}, (_, i) => `f:${i}`).join(' OR ')) as {children: unknown[]}).children).to.have.length(100_000)
      expect(ast(`"${'ab '.repeat(350_000)}"`)).to.deep.equal(t('ab '.repeat(350_000)))
      expect(syntaxError(`"${'\\"'.repeat(200_000)}`).position).to.equal(0)
      expect(syntaxError(`${'a '.repeat(100_000)}AND`).reason).to.match(/nothing on its right/)
    })
    it('formatQuery gives text that parses back to the same AST', () => {
      for (const q of ['a b OR c', '-(a OR b) f:[x,y] g:(>=1 -2) "q \\"x\\"" ===w h:* i:<-1.5', 'target_ip:10.240.0.4/16', '-*']) {
        const a = ast(q)
        expect(ast(formatQuery(a)), q).to.deep.equal(a)
      }
      expect(formatQuery(ast('a b OR c'))).to.equal('"a" AND ("b" OR "c")')
    })
  })
})
