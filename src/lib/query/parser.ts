import {type CmpOp, MATCH_ALL, type MatchOp, type QueryNode, type ValueTest, andOf, notOf, orOf} from './ast.js'
import {QuerySyntaxError} from './errors.js'
import {looksLikeCidr, parseCidr} from './match.js'

/**
 * Lexer and parser of the query language (docs/query-language.md §12, rules D1–D17). One pass over the characters with a
 * bounded look-ahead (a keyword is at most 3 characters), so the time is linear in the query length; nesting is
 * capped so that hostile input cannot exhaust the stack.
 */

export interface ParsedQuery {
  ast: QueryNode
  /** Things the user should know (one-character terms, stripped `*`, normalised CIDR blocks); not errors. */
  warnings: string[]
}

/** Parentheses deeper than this are a syntax error (keeps recursion bounded). */
export const MAX_NESTING = 200

const FIELD_NAME_RE = /^[A-Za-z0-9_@$][A-Za-z0-9_@$.-]*$/

type Keyword = 'AND' | 'OR' | 'NOT' | '&&' | '||'
const KEYWORDS: Keyword[] = ['AND', 'OR', 'NOT', '&&', '||']

function isWs(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r'
}

/** Characters that end a bare token (besides ':' in terms). */
function isDelim(ch: string | undefined): boolean {
  return ch === undefined || isWs(ch) || ch === '(' || ch === ')' || ch === '"' || ch === "'"
}

function isQuote(ch: string | undefined): boolean {
  return ch === '"' || ch === "'"
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9'
}

/** The end of a number `-?digits(.digits)?` starting at `at`, or `at` when there is none. */
function scanNumber(s: string, at: number): number {
  let j = at
  if (s[j] === '-') j++
  if (!isDigit(s[j])) return at
  while (isDigit(s[j])) j++
  if (s[j] === '.' && isDigit(s[j + 1])) {
    j++
    while (isDigit(s[j])) j++
  }
  return j
}

/** Queries longer than this (characters) are refused: docs/query-language.md, "Bounds". */
export const MAX_QUERY_LENGTH = 64 * 1024
/** Queries with more clauses (terms and field clauses) than this are refused (DuckDB binds at most ~1,000 nested ORs). */
export const MAX_CLAUSES = 500

/** Throws the usage error (exit 2) for a query text longer than MAX_QUERY_LENGTH. */
export function checkQueryLength(query: string): void {
  if (query.length > MAX_QUERY_LENGTH) {
    throw new QuerySyntaxError(query.slice(0, 200), 0, `the query is ${query.length} characters long, more than ${MAX_QUERY_LENGTH}`, 'narrow it: a field clause with a list or a CIDR block matches many values at once')
  }
}

/** `bounds: false` (tests of the parser itself): no length or clause bound. */
export function parseQuery(query: string, options: {bounds?: boolean} = {}): ParsedQuery {
  const bounded = options.bounds !== false
  if (bounded) checkQueryLength(query)
  const parser = new Parser(query)
  const ast = parser.parseAll()
  const clauses = bounded ? countClauses(ast) : 0
  if (clauses > MAX_CLAUSES) {
    throw new QuerySyntaxError(query.slice(0, 200), 0, `the query has ${clauses} clauses, more than ${MAX_CLAUSES}`, 'narrow it: a CIDR block or a range (field:>=N) matches many values in one clause')
  }
  return {ast, warnings: parser.warnings}
}

/** Leaves of the tree (terms, field clauses), counted without recursion. */
function countClauses(ast: QueryNode): number {
  let n = 0
  const stack: QueryNode[] = [ast]
  while (stack.length) {
    const node = stack.pop()!
    if (node.type === 'and' || node.type === 'or') for (const c of node.children) stack.push(c)
    else if (node.type === 'not') stack.push(node.child)
    else if (node.type !== 'all') n++
  }
  return n
}

class Parser {
  private i = 0
  private depth = 0
  readonly warnings: string[] = []
  private readonly len: number

  constructor(private readonly s: string) {
    this.len = s.length
  }

  parseAll(): QueryNode {
    this.skipWs()
    if (this.i >= this.len) return MATCH_ALL
    const node = this.andExpr(null)
    this.skipWs()
    if (this.i < this.len) {
      // andExpr stops only at the end or at a ')'.
      throw this.error(this.i, "unbalanced ')': there is no '(' before it", `remove it, or quote it to search for it: ")"`)
    }
    return node
  }

  // ---- helpers ------------------------------------------------------------------------------------------------

  private error(position: number, reason: string, hint: string): QuerySyntaxError {
    return new QuerySyntaxError(this.s, position, reason, hint)
  }

  private warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message)
  }

  /** Skip whitespace; true when there was some. */
  private skipWs(): boolean {
    const start = this.i
    while (this.i < this.len && isWs(this.s[this.i])) this.i++
    return this.i > start
  }

  /** The keyword at the current position, when it is a whole token. */
  private keywordAt(): Keyword | undefined {
    for (const kw of KEYWORDS) {
      if (this.s.startsWith(kw, this.i) && isDelim(this.s[this.i + kw.length])) return kw
    }
    return undefined
  }

  /** After an operand: whitespace, ')' or the end must follow (no two operands touch). */
  private expectBoundary(what: string): void {
    const ch = this.s[this.i]
    if (ch === undefined || isWs(ch) || ch === ')') return
    if (ch === '(') {
      throw this.error(
        this.i,
        `missing space before '(' after ${what}`,
        'separate terms with a space, or quote the text to search for it',
      )
    }
    if (isQuote(ch)) {
      throw this.error(
        this.i,
        `unexpected quote after ${what}`,
        `put a space before the quote, or escape it to search for it: \\${ch}`,
      )
    }
    throw this.error(
      this.i,
      `unexpected '${ch}' after ${what}`,
      'separate terms with a space; inside quotes, escape a quote with a backslash',
    )
  }

  // ---- boolean structure (shared by the top level and field groups; field === null at the top level) ----------

  private andExpr(field: string | null): QueryNode {
    const items: QueryNode[] = [this.orExpr(field)]
    for (;;) {
      this.skipWs()
      if (this.i >= this.len || this.s[this.i] === ')') break
      const kw = this.keywordAt()
      if (kw === 'AND' || kw === '&&') {
        const kwPos = this.i
        this.i += kw.length
        this.requireOperandAfter(kw, kwPos)
      }
      items.push(this.orExpr(field))
    }
    return andOf(items)
  }

  private orExpr(field: string | null): QueryNode {
    const items: QueryNode[] = [this.unary(field)]
    for (;;) {
      const save = this.i
      if (!this.skipWs()) break
      const kw = this.keywordAt()
      if (kw !== 'OR' && kw !== '||') {
        this.i = save
        break
      }
      const kwPos = this.i
      this.i += kw.length
      this.requireOperandAfter(kw, kwPos)
      items.push(this.unary(field))
    }
    return items.length === 1 ? items[0] : orOf(items)
  }

  /** After AND/OR/&&/||/NOT: whitespace, then an operand. */
  private requireOperandAfter(kw: Keyword, kwPos: number): void {
    const ch = this.s[this.i]
    if (ch !== undefined && ch !== ')' && !isWs(ch)) {
      throw this.error(
        this.i,
        `missing space after '${kw}'`,
        `operators are separated by spaces; to search for the text, quote it: "${kw}"`,
      )
    }
    this.skipWs()
    if (this.i >= this.len || this.s[this.i] === ')') {
      throw this.error(
        kwPos,
        `'${kw}' has nothing on its right`,
        `give it an operand, or quote it to search for the word: "${kw}"`,
      )
    }
  }

  private unary(field: string | null): QueryNode {
    let negate = false
    for (;;) {
      const ch = this.s[this.i]
      const next = this.s[this.i + 1]
      if (ch === '-' && next !== undefined && !isWs(next) && next !== ')') {
        this.i++
        negate = !negate
        continue
      }
      if (this.keywordAt() === 'NOT') {
        const kwPos = this.i
        this.i += 3
        if (!isWs(this.s[this.i])) {
          throw this.error(
            kwPos,
            "'NOT' must be followed by a space and an operand",
            'to search for the word, quote it: "NOT"',
          )
        }
        this.requireOperandAfter('NOT', kwPos)
        negate = !negate
        continue
      }
      break
    }
    const node = field === null ? this.primary() : this.valuePrimary(field)
    return negate ? notOf(node) : node
  }

  private group(field: string | null): QueryNode {
    const open = this.i
    if (this.depth >= MAX_NESTING) {
      throw this.error(open, `parentheses nested more than ${MAX_NESTING} deep`, 'simplify the query')
    }
    this.depth++
    this.i++
    this.skipWs()
    if (this.i >= this.len) throw this.error(open, "unbalanced '(': there is no ')' after it", "add the missing ')'")
    if (this.s[this.i] === ')') {
      throw this.error(
        this.i,
        'empty parentheses',
        field === null ? 'put a search inside, or remove them' : `put values inside, e.g. ${field}:(a OR b)`,
      )
    }
    const node = this.andExpr(field)
    this.skipWs()
    if (this.s[this.i] !== ')') throw this.error(open, "unbalanced '(': there is no ')' after it", "add the missing ')'")
    this.i++
    this.depth--
    this.expectBoundary("')'")
    return node
  }

  // ---- top-level operands --------------------------------------------------------------------------------------

  private primary(): QueryNode {
    const ch = this.s[this.i]
    if (ch === '(') return this.group(null)
    if (ch === ')') throw this.error(this.i, "unexpected ')'", 'remove it, or quote it to search for it: ")"')
    const kw = this.keywordAt()
    if (kw) throw this.error(this.i, `'${kw}' where a search term was expected`, `to search for the word, quote it: "${kw}"`)
    const start = this.i
    const op = this.readMatchOp()
    if (isQuote(this.s[this.i])) {
      const quoteAt = this.i
      const value = this.readQuoted()
      this.expectBoundary('the closing quote')
      if (value === '') throw this.error(quoteAt, 'empty phrase', 'remove the empty quotes')
      if (value.length === 1) this.warnOneChar(value)
      return {type: 'term', op, value}
    }
    // A bare token: a field clause when it has an unescaped ':' after a field name.
    const parts: string[] = []
    let seg = this.i
    let escaped = false
    let lastEscaped = false
    while (this.i < this.len) {
      const c = this.s[this.i]
      if (isDelim(c)) break
      if (c === '\\') {
        parts.push(this.s.slice(seg, this.i), this.escapedChar())
        escaped = true
        lastEscaped = true
        seg = this.i
        continue
      }
      if (c === ':') {
        const name = this.s.slice(start, this.i)
        if (escaped || !FIELD_NAME_RE.test(name)) {
          throw this.error(
            this.i,
            name === '' ? "':' with no field name before it" : `':' after ${JSON.stringify(name)}, which is not a field name`,
            `to search for text containing ':', quote it ("a:b") or escape the colon (a\\:b); field names are letters, digits, _ @ $ . -`,
          )
        }
        this.i++
        return this.fieldRhs(name)
      }
      this.i++
      lastEscaped = false
    }
    parts.push(this.s.slice(seg, this.i))
    this.expectBoundary('a search term')
    let value = parts.join('')
    if (!lastEscaped && value === '*') return MATCH_ALL
    if (!lastEscaped && value.endsWith('*')) {
      this.warn(`trailing '*' ignored in ${JSON.stringify(value)}: matching is by word prefix already`)
      value = value.slice(0, -1)
    }
    if (value.length === 1) this.warnOneChar(value)
    if (op === '' && !escaped && KEYWORDS.includes(value.toUpperCase() as Keyword)) {
      this.warn(`${JSON.stringify(value)} is searched as a word: the operators AND, OR and NOT are upper case`)
    }
    if (op === '' && value.length > 1 && value.startsWith('!')) {
      this.warn(`'!' is not an operator: ${JSON.stringify(value)} is searched as text (negate with '-' or NOT)`)
    }
    return {type: 'term', op, value}
  }

  private warnOneChar(value: string): void {
    this.warn(`one-character term ${JSON.stringify(value)}: allowed here, but Log Analysis / Mezmo reject single-character searches`)
  }

  /**
   * `=`, `==` or `===` when something follows; before the end, whitespace or ')' the '='s are left to be read as text.
   * An operator before '(' is reported here.
   */
  private readMatchOp(): MatchOp {
    let j = this.i
    while (j - this.i < 3 && this.s[j] === '=') j++
    const next = this.s[j]
    if (j === this.i || next === undefined || isWs(next) || next === ')') return ''
    const op = this.s.slice(this.i, j) as MatchOp
    if (next === '(') {
      throw this.error(
        this.i,
        `'${op}' cannot come before '('`,
        'put the operator on each value inside the group, e.g. f:(==a OR ==b); negate with -',
      )
    }
    this.i = j
    return op
  }

  /** The character after a backslash (the position is on the backslash); moves past both. */
  private escapedChar(): string {
    if (this.i + 1 >= this.len) {
      throw this.error(this.i, 'a backslash at the end escapes nothing', 'write \\\\ for a literal backslash')
    }
    // Keep surrogate pairs whole.
    const cp = this.s.codePointAt(this.i + 1) as number
    const ch = String.fromCodePoint(cp)
    this.i += 1 + ch.length
    return ch
  }

  /** A quoted string starting at the current quote; returns its unescaped content. */
  private readQuoted(): string {
    const open = this.i
    const q = this.s[open]
    this.i++
    const parts: string[] = []
    let seg = this.i
    for (;;) {
      if (this.i >= this.len) {
        throw this.error(open, `unbalanced quote: the ${q} is never closed`, `close it, or escape a literal quote: \\${q}`)
      }
      const c = this.s[this.i]
      if (c === '\\') {
        if (this.i + 1 >= this.len) {
          throw this.error(open, `unbalanced quote: the ${q} is never closed`, `close it, or escape a literal quote: \\${q}`)
        }
        parts.push(this.s.slice(seg, this.i), this.escapedChar())
        seg = this.i
        continue
      }
      if (c === q) {
        parts.push(this.s.slice(seg, this.i))
        this.i++
        return parts.join('')
      }
      this.i++
    }
  }

  // ---- field clauses -------------------------------------------------------------------------------------------

  private fieldRhs(name: string): QueryNode {
    const ch = this.s[this.i]
    if (ch === undefined || ch === ')') {
      throw this.error(
        this.i,
        "empty value after ':'",
        `give a value (${name}:value), or ${name}:* to test that the field exists`,
      )
    }
    if (isWs(ch)) {
      throw this.error(
        this.i,
        "empty value after ':' (no space is allowed after the colon)",
        `write ${name}:value without a space`,
      )
    }
    if (ch === '*' && isDelim(this.s[this.i + 1]) && !isQuote(this.s[this.i + 1]) && this.s[this.i + 1] !== '(') {
      this.i++
      return this.existsNode(name)
    }
    if (ch === '>' || ch === '<') return this.comparison(name, false)
    if (ch === '(') return this.group(name)
    return this.valueClause(name)
  }

  /** An atom inside a field group `name:( … )`. */
  private valuePrimary(name: string): QueryNode {
    const ch = this.s[this.i]
    if (ch === '(') return this.group(name)
    if (ch === ')') throw this.error(this.i, "unexpected ')'", 'remove it')
    const kw = this.keywordAt()
    if (kw) throw this.error(this.i, `'${kw}' where a value was expected`, `to match the word, quote it: ${name}:("${kw}")`)
    if (ch === '>' || ch === '<') return this.comparison(name, true)
    if (ch === '*' && isDelim(this.s[this.i + 1]) && !isQuote(this.s[this.i + 1]) && this.s[this.i + 1] !== '(') {
      this.i++
      return this.existsNode(name)
    }
    return this.valueClause(name)
  }

  private existsNode(name: string): QueryNode {
    this.expectBoundary("'*'")
    if (name === '_account') return MATCH_ALL
    return {type: 'field', field: name, test: {kind: 'exists'}}
  }

  private comparison(name: string, inGroup: boolean): QueryNode {
    let op = this.s[this.i]
    this.i++
    if (this.s[this.i] === '=') {
      op += '='
      this.i++
    }
    if (isWs(this.s[this.i])) {
      if (!inGroup) {
        throw this.error(
          this.i,
          `no space is allowed between '${op}' and its number`,
          `write ${name}:${op}400, or use a group: ${name}:(${op} 400)`,
        )
      }
      this.skipWs()
    }
    const numAt = this.i
    const end = scanNumber(this.s, numAt)
    if (end === numAt || !(end >= this.len || isWs(this.s[end]) || this.s[end] === ')')) {
      throw this.error(
        numAt,
        `'${op}' needs a number`,
        `comparators compare numbers (${name}:${op}400); to match the text, quote it: ${name}:"${op}…"`,
      )
    }
    this.i = end
    return {type: 'field', field: name, test: {kind: 'cmp', op: op as CmpOp, value: Number(this.s.slice(numAt, end))}}
  }

  /** `[op] ( list | quoted | bare value )`. */
  private valueClause(name: string): QueryNode {
    const op = this.readMatchOp()
    const ch = this.s[this.i]
    if (ch === '[') return this.list(name, op)
    if (isQuote(ch)) {
      const quoteAt = this.i
      const value = this.readQuoted()
      this.expectBoundary('the closing quote')
      if (value === '') {
        throw this.error(quoteAt, 'empty value', `to test that the field exists, write ${name}:*`)
      }
      return this.matchNode(name, op, value, true, quoteAt + 1)
    }
    const valueAt = this.i
    const parts: string[] = []
    let seg = this.i
    let lastEscaped = false
    while (this.i < this.len) {
      const c = this.s[this.i]
      if (isDelim(c)) break
      if (c === '\\') {
        parts.push(this.s.slice(seg, this.i), this.escapedChar())
        lastEscaped = true
        seg = this.i
        continue
      }
      this.i++
      lastEscaped = false
    }
    parts.push(this.s.slice(seg, this.i))
    const value = parts.join('')
    if (value === '') {
      // Only reachable when a quote or '(' follows directly, which expectBoundary reports.
      this.expectBoundary("':'")
      throw this.error(this.i, "empty value after ':'", `give a value (${name}:value)`)
    }
    this.expectBoundary('the value')
    return this.matchNode(name, op, value, lastEscaped, valueAt)
  }

  private list(name: string, op: MatchOp): QueryNode {
    const open = this.i
    this.i++
    const items: {value: string; literalEnd: boolean; at: number}[] = []
    let parts: string[] = []
    let seg = this.i
    let itemAt = this.i
    let lastEscaped = false
    for (;;) {
      if (this.i >= this.len) {
        throw this.error(
          open,
          "unbalanced '[': there is no ']' after it",
          "close the list with ']'; escape a literal ']' or ',' with a backslash",
        )
      }
      const c = this.s[this.i]
      if (c === '\\') {
        parts.push(this.s.slice(seg, this.i), this.escapedChar())
        lastEscaped = true
        seg = this.i
        continue
      }
      if (c === ',' || c === ']') {
        parts.push(this.s.slice(seg, this.i))
        const value = parts.join('')
        if (value === '') {
          throw this.error(
            this.i,
            c === ']' && items.length === 0 ? 'empty list' : 'empty list item',
            `list items are separated by single commas: ${name}:[a,b]`,
          )
        }
        items.push({value, literalEnd: lastEscaped, at: itemAt})
        parts = []
        lastEscaped = false
        this.i++
        seg = this.i
        itemAt = this.i
        if (c === ']') break
        continue
      }
      this.i++
      lastEscaped = false
    }
    this.expectBoundary("']'")
    return orOf(items.map((it) => this.matchNode(name, op, it.value, it.literalEnd, it.at)))
  }

  /** A value literal: `*` is existence, a trailing `*` is dropped (D11), a valid IPv4 block gets CIDR meaning (§13). */
  private matchNode(name: string, op: MatchOp, raw: string, literalEnd: boolean, at: number): QueryNode {
    let value = raw
    if (!literalEnd && value === '*') {
      if (name === '_account') return MATCH_ALL
      return {type: 'field', field: name, test: {kind: 'exists'}}
    }
    if (!literalEnd && value.endsWith('*')) {
      this.warn(`trailing '*' ignored in ${name}:${op}${value}: matching is by word prefix already`)
      value = value.slice(0, -1)
    }
    const test: ValueTest = {kind: 'match', op, value}
    const cidr = parseCidr(value)
    // Shaped like a block but not one (`/33`, `300.1.2.3/8`): a typo, never a silent text match (docs/query-language.md §17).
    if (!cidr && looksLikeCidr(value)) {
      throw this.error(at, `${value} is not a valid IPv4 CIDR block`, 'octets are 0-255 and the prefix length 0-32, e.g. 10.240.0.0/16')
    }
    if (cidr) {
      test.cidr = cidr.block
      if (cidr.hostBits) this.warn(`${name}:${value} has host bits set: using the block ${cidr.block.text}`)
    }
    return {type: 'field', field: name, test}
  }
}
