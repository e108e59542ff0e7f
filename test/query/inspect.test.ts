/** The helpers commands use: isMatchAll, queryHasCidr, prefixIpHint, formatQuery. */
import {expect} from 'chai'

import {formatQuery, isMatchAll, parseQuery, prefixIpHint, queryHasCidr} from '../../src/lib/query/index.js'

const ast = (q: string) => parseQuery(q).ast

describe('query: helpers for commands', () => {
  it('isMatchAll: the empty query, *, _account:* and combinations of them', () => {
    for (const q of ['', '  ', '*', '_account:*', '* OR x', '* _account:*']) expect(isMatchAll(ast(q)), q).to.equal(true)
    for (const q of ['x', '-*', 'f:*', '"*"', '_account:x']) expect(isMatchAll(ast(q)), q).to.equal(false)
  })

  it('queryHasCidr: field clauses, list items and group atoms with a valid block; not bare terms or invalid blocks', () => {
    for (const q of ['target_ip:10.240.0.0/16', '-x initiator_ip:[a,10.0.0.0/8]', 'target_ip:(a OR 10.0.0.0/8)', 'f:"1.2.3.4/32"']) {
      expect(queryHasCidr(ast(q)), q).to.equal(true)
    }
    for (const q of ['10.240.0.0/16', 'target_ip:10.240.0/16', 'target_ip:10.240.0.4', 'a b']) expect(queryHasCidr(ast(q)), q).to.equal(false)
  })

  it('prefixIpHint: whole IPv4 addresses matched by prefix, with the :== suggestion', () => {
    expect(prefixIpHint(ast('target_ip:10.240.0.4 action:rejected'))).to.deep.equal([
      {field: 'target_ip', value: '10.240.0.4', suggestion: 'target_ip:==10.240.0.4'},
    ])
    expect(prefixIpHint(ast('-initiator_ip:=10.0.0.1 x:[1.2.3.4,5.6.7.8] target_ip:10.240.0.4 OR target_ip:10.240.0.4'))).to.deep.equal([
      {field: 'initiator_ip', value: '10.0.0.1', suggestion: 'initiator_ip:==10.0.0.1'},
      {field: 'x', value: '1.2.3.4', suggestion: 'x:==1.2.3.4'},
      {field: 'x', value: '5.6.7.8', suggestion: 'x:==5.6.7.8'},
      {field: 'target_ip', value: '10.240.0.4', suggestion: 'target_ip:==10.240.0.4'},
    ])
    for (const q of ['target_ip:==10.240.0.4', 'target_ip:===10.240.0.4', '10.240.0.4', 'target_ip:10.240.0', 'target_ip:10.240.0.0/16']) {
      expect(prefixIpHint(ast(q)), q).to.deep.equal([])
    }
  })

  it('formatQuery: explicit operators, quoted literals, numbers without exponents', () => {
    expect(formatQuery(ast('a b OR -c'))).to.equal('"a" AND ("b" OR -"c")')
    expect(formatQuery(ast('f:(>=400 <500 -404) g:* h:==[x,"y z"]'))).to.equal(
      'f:>=400 AND f:<500 AND -f:"404" AND g:* AND (h:=="x" OR h:=="\\"y z\\"")',
    )
    expect(formatQuery(ast('n:>99999999999999999999999 m:<-0 k:<0.0000001'))).to.equal('n:>100000000000000000000000 AND m:<-0 AND k:<0.0000001')
    expect(formatQuery(ast(''))).to.equal('*')
  })
})
