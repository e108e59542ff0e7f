/**
 * The SQL back end reproduces String.prototype.toLowerCase() without lowering in SQL (sql.ts). These tests check its
 * assumptions about case mapping against every code point under the running Node, so a Unicode update that breaks
 * them fails here rather than silently making the back ends disagree.
 */
import {expect} from 'chai'

import {isWordChar, lowerSources} from '../../src/lib/query/match.js'

function* codePoints(): Generator<string> {
  for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) yield String.fromCodePoint(cp)
}

describe('query: case-mapping assumptions of the SQL back end', function () {
  this.timeout(120_000)

  it('U+0130 is the only character whose lower case is longer than one character ("i" + U+0307)', () => {
    const multi: string[] = []
    for (const ch of codePoints()) if ([...ch.toLowerCase()].length !== 1) multi.push(ch)
    expect(multi).to.deep.equal(['\u0130'])
    expect('\u0130'.toLowerCase()).to.equal('i\u0307')
  })

  it('only U+0130 and U+212A lower-case to text containing ASCII; their word edges are the ones sql.ts assumes', () => {
    const toAscii: string[] = []
    for (const ch of codePoints()) {
      if (ch.charCodeAt(0) < 128) continue
      if ([...ch.toLowerCase()].some((c) => c.charCodeAt(0) < 128)) toAscii.push(ch)
    }
    expect(toAscii).to.deep.equal(['\u0130', '\u212a'])
    // A word character at the start of the lower case: U+0130 and U+212A. At the end: U+212A only.
    expect(isWordChar('\u0130'.toLowerCase()[0]) && isWordChar('\u212a'.toLowerCase()[0])).to.equal(true)
    expect(isWordChar('\u0130'.toLowerCase().slice(-1))).to.equal(false)
  })

  it('lowerSources(c) is exactly the set of characters whose lower case is c (plus Σ for final ς)', () => {
    const scan = new Map<string, number[]>()
    for (const ch of codePoints()) {
      const lower = ch.toLowerCase()
      if ([...lower].length !== 1) continue
      const list = scan.get(lower) ?? []
      list.push(ch.codePointAt(0) as number)
      scan.set(lower, list)
    }
    // Compared as sorted lists for every c; chai only sees the disagreements (one assertion per code point is slow).
    const wrong: {c: string; lowerSources: number[]; expected: number[]}[] = []
    for (const [c, sources] of scan) {
      const expected = (c === '\u03c2' ? [...sources, 0x3a3] : sources).sort((a, b) => a - b)
      const got = [...lowerSources(c)].sort((a, b) => a - b)
      if (got.length !== expected.length || got.some((v, i) => v !== expected[i])) {
        wrong.push({c: `U+${(c.codePointAt(0) as number).toString(16)}`, lowerSources: got, expected})
      }
    }
    expect(scan.size).to.be.greaterThan(1_000_000)
    expect(wrong).to.deep.equal([])
  })
})
