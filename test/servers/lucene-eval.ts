/**
 * A small, independent Lucene (query_string) parser and evaluator for the Cloud Logs fakes: the subset a person or
 * flowlog writes — `field:term`, `field:pre*`, `field:"a phrase"`, `field:>=n` (and >, <, <=), `field:[a TO b]`,
 * `_exists_:field`, bare terms, `AND`/`OR`/`NOT`/`&&`/`||`/`!`, parentheses, backslash escapes. A missing operator
 * between clauses is OR (Lucene's default). Anything else is a LuceneSyntaxError, which the fake answers with 400.
 *
 * Matching: strings are split into lowercase words at characters other than `[A-Za-z0-9_.]`; a term matches a
 * word, `pre*` a word's prefix, a phrase consecutive words; numbers compare as numbers. Field names are paths into
 * the document (`json.target_ip` → doc.json.target_ip).
 */
export class LuceneSyntaxError extends Error {}

type Node =
  | {t: 'and' | 'or'; c: Node[]}
  | {t: 'not'; c: Node}
  | {t: 'all'}
  | {t: 'exists'; field: string}
  | {t: 'term'; field?: string; text: string; prefix: boolean}
  | {t: 'phrase'; field?: string; words: string[]}
  | {t: 'cmp'; field: string; op: '>' | '>=' | '<' | '<='; n: number}
  | {t: 'range'; field: string; lo: number | undefined; hi: number | undefined; loIn: boolean; hiIn: boolean}

const SPLIT = /[^A-Za-z0-9_.]+/
export const words = (s: string): string[] => s.toLowerCase().split(SPLIT).filter(Boolean)

class Parser {
  private i = 0
  constructor(private readonly s: string) {}

  parse(): Node {
    const n = this.or()
    this.ws()
    if (this.i < this.s.length) throw new LuceneSyntaxError(`unexpected ${JSON.stringify(this.s.slice(this.i, this.i + 10))} at ${this.i}`)
    return n
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++
  }

  private kw(word: string): boolean {
    this.ws()
    if (this.s.startsWith(word, this.i)) {
      const after = this.s[this.i + word.length]
      if (/^[&|!]/.test(word) || after === undefined || /[\s(]/.test(after)) {
        this.i += word.length
        return true
      }
    }
    return false
  }

  private atEnd(): boolean {
    this.ws()
    return this.i >= this.s.length || this.s[this.i] === ')'
  }

  private or(): Node {
    const c = [this.and()]
    while (!this.atEnd()) {
      if (this.kw('OR') || this.kw('||')) c.push(this.and())
      else c.push(this.and()) // implicit: OR
    }
    return c.length === 1 ? c[0] : {t: 'or', c}
  }

  private and(): Node {
    const c = [this.unary()]
    while (this.kw('AND') || this.kw('&&')) c.push(this.unary())
    return c.length === 1 ? c[0] : {t: 'and', c}
  }

  private unary(): Node {
    if (this.kw('NOT') || this.kw('!')) return {t: 'not', c: this.unary()}
    this.ws()
    if (this.s[this.i] === '(') {
      this.i++
      const n = this.or()
      this.ws()
      if (this.s[this.i] !== ')') throw new LuceneSyntaxError(`missing ) at ${this.i}`)
      this.i++
      return n
    }
    return this.clause()
  }

  /** A run of term characters (escapes kept decoded); stops at whitespace, parentheses, quotes and (optionally) `:`. */
  private word(stopAtColon: boolean): string {
    let out = ''
    while (this.i < this.s.length) {
      const ch = this.s[this.i]
      if (ch === '\\') {
        if (this.i + 1 >= this.s.length) throw new LuceneSyntaxError('a trailing backslash')
        out += this.s[this.i + 1]
        this.i += 2
        continue
      }
      if (/[\s()"]/.test(ch) || (stopAtColon && ch === ':')) break
      if (/[[\]{}^~]/.test(ch)) throw new LuceneSyntaxError(`${ch} must be escaped at ${this.i}`)
      out += ch
      this.i++
    }
    return out
  }

  private clause(): Node {
    this.ws()
    if (this.s[this.i] === '"') return {t: 'phrase', words: words(this.quoted())}
    const start = this.i
    const first = this.word(true)
    if (this.s[this.i] === ':') {
      this.i++
      if (first === '') throw new LuceneSyntaxError(`a field name is missing at ${start}`)
      return this.value(first)
    }
    if (first === '') throw new LuceneSyntaxError(`a term is missing at ${this.i}`)
    return first === '*' ? {t: 'all'} : this.term(undefined, first)
  }

  private quoted(): string {
    this.i++
    let out = ''
    while (this.i < this.s.length && this.s[this.i] !== '"') {
      if (this.s[this.i] === '\\') this.i++
      out += this.s[this.i++] ?? ''
    }
    if (this.s[this.i] !== '"') throw new LuceneSyntaxError('an unterminated phrase')
    this.i++
    return out
  }

  private value(field: string): Node {
    const ch = this.s[this.i]
    if (field === '_exists_') {
      const f = this.word(false)
      if (!f) throw new LuceneSyntaxError('_exists_: needs a field')
      return {t: 'exists', field: f}
    }
    if (ch === '"') return {t: 'phrase', field, words: words(this.quoted())}
    if (ch === '(') throw new LuceneSyntaxError('field groups f:(…) are not supported by this fake')
    if (ch === '[' || ch === '{') {
      const m = /^([[{])\s*(\S+)\s+TO\s+(\S+?)\s*([\]}])/.exec(this.s.slice(this.i))
      if (!m) throw new LuceneSyntaxError(`a bad range at ${this.i}`)
      this.i += m[0].length
      const num = (x: string) => (x === '*' ? undefined : Number.isFinite(Number(x)) ? Number(x) : badNumber(x))
      return {t: 'range', field, lo: num(m[2]), hi: num(m[3]), loIn: m[1] === '[', hiIn: m[4] === ']'}
    }
    const cmp = /^(>=|<=|>|<)/.exec(this.s.slice(this.i))
    if (cmp) {
      this.i += cmp[0].length
      const n = this.word(false)
      if (!/^-?\d+(\.\d+)?$/.test(n)) throw new LuceneSyntaxError(`${cmp[0]} needs a number, not ${JSON.stringify(n)}`)
      return {t: 'cmp', field, op: cmp[0] as '>' | '>=' | '<' | '<=', n: Number(n)}
    }
    const w = this.word(false)
    if (w === '') throw new LuceneSyntaxError(`a value is missing after ${field}:`)
    if (w === '*') return {t: 'exists', field}
    return this.term(field, w)
  }

  private term(field: string | undefined, text: string): Node {
    const prefix = text.endsWith('*')
    const body = prefix ? text.slice(0, -1) : text
    if (/[*?]/.test(body)) throw new LuceneSyntaxError(`only a trailing * is supported by this fake: ${text}`)
    const w = words(body)
    if (w.length === 1 && w[0] === body.toLowerCase()) return {t: 'term', field, text: body, prefix}
    if (prefix) throw new LuceneSyntaxError(`a wildcard term must be one word: ${text}`)
    return {t: 'phrase', field, words: w}
  }
}

function badNumber(x: string): never {
  throw new LuceneSyntaxError(`a range bound must be a number or *, not ${x}`)
}

export function parseLucene(query: string): Node {
  return new Parser(query).parse()
}

type Doc = Record<string, unknown>

function lookup(doc: Doc, field: string): unknown[] {
  const parts = field.split('.')
  const out: unknown[] = []
  const walk = (v: unknown, i: number) => {
    if (i === parts.length) {
      if (Array.isArray(v)) out.push(...v)
      else out.push(v)
      return
    }
    if (Array.isArray(v)) return v.forEach((x) => walk(x, i))
    if (typeof v !== 'object' || v === null) return
    const o = v as Record<string, unknown>
    // A literal key with dots wins over the path (json."a.b").
    for (let j = parts.length; j > i; j--) {
      const k = parts.slice(i, j).join('.')
      if (Object.prototype.hasOwnProperty.call(o, k)) walk(o[k], j)
    }
  }
  walk(doc, 0)
  return out.filter((v) => v !== undefined && v !== null)
}

function textWords(v: unknown): string[] {
  return typeof v === 'string' ? words(v) : typeof v === 'number' || typeof v === 'boolean' ? words(String(v)) : []
}

function hasPhrase(ws: string[], phrase: string[]): boolean {
  if (phrase.length === 0) return false
  outer: for (let i = 0; i + phrase.length <= ws.length; i++) {
    for (let j = 0; j < phrase.length; j++) if (ws[i + j] !== phrase[j]) continue outer
    return true
  }
  return false
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v)
  return undefined
}

/** Whether a document matches. `freeText` is the text bare terms search (the whole entry). */
export function luceneMatches(node: Node, doc: Doc, freeText: string): boolean {
  const values = (field: string | undefined): unknown[] => (field === undefined ? [freeText] : lookup(doc, field))
  switch (node.t) {
    case 'all':
      return true
    case 'and':
      return node.c.every((c) => luceneMatches(c, doc, freeText))
    case 'or':
      return node.c.some((c) => luceneMatches(c, doc, freeText))
    case 'not':
      return !luceneMatches(node.c, doc, freeText)
    case 'exists':
      return lookup(doc, node.field).length > 0
    case 'term': {
      const want = node.text.toLowerCase()
      return values(node.field).some((v) => {
        if (typeof v === 'number' && !node.prefix) return Number(node.text) === v
        return textWords(v).some((w) => (node.prefix ? w.startsWith(want) : w === want))
      })
    }
    case 'phrase':
      return values(node.field).some((v) => hasPhrase(textWords(v), node.words))
    case 'cmp':
      return lookup(doc, node.field).some((v) => {
        const n = num(v)
        if (n === undefined) return false
        return node.op === '>' ? n > node.n : node.op === '>=' ? n >= node.n : node.op === '<' ? n < node.n : n <= node.n
      })
    case 'range':
      return lookup(doc, node.field).some((v) => {
        const n = num(v)
        if (n === undefined) return false
        if (node.lo !== undefined && (node.loIn ? n < node.lo : n <= node.lo)) return false
        if (node.hi !== undefined && (node.hiIn ? n > node.hi : n >= node.hi)) return false
        return true
      })
  }
}
