import {DEFAULT_APP, DEFAULT_HOSTNAME, DEFAULT_LEVEL, type EnvelopeOptions} from '../records/envelope.js'
import {type FieldSpec, HEADER_FIELDS, RECORD_FIELDS, ROW_FIELD_MAP, ROW_FIELDS} from '../records/schema.js'
import type {CmpOp, QueryNode, ValueTest} from './ast.js'
import {IPV4_RE_SRC, OCTET_RE_SRC, type Needle, lowerSources, makeNeedle, numericLiteral, textMatches} from './match.js'
import {valueSatisfies} from './predicate.js'

/**
 * Back end 2: the query as a DuckDB WHERE fragment over `records r JOIN objects o ON o.oid = r.oid`, for regular
 * rows (src/lib/store/README.md): the typed columns describe the row completely, NULL = absent, and
 * line = o.prefix || r.rec || o.suffix. User values only ever travel as `?` parameters.
 *
 * Every fragment is two-valued (never NULL), so NOT and OR keep their meaning; NOT is pushed down to the tests so that
 * AND / OR chains stay short-circuitable (cheap `contains` before a regexp). The results equal the JavaScript
 * predicate's on every regular row (test/query proves it on the spec table and on random queries and rows).
 *
 * Bare terms: host, app and tags are constants; the level depends on the action at most; the record id is hashed only
 * when the term could occur in `{"record_id":"<hex>"}`. In the line, a term without ',' '{' '}' is tested once per
 * object on prefix and suffix, and per row on the typed columns (or on rec when it has a '"'), which avoids reading
 * rec (rebuilt by the store's view for most rows); any other term is tested on the whole line.
 *
 * Case-insensitive matching follows String.prototype.toLowerCase() without lowering in SQL: each needle character
 * becomes the class of characters that lower-case to it (A-Z, and U+212A KELVIN SIGN for k; U+0130 lower-cases to
 * "i" + U+0307), and the word edges account for the two non-ASCII characters whose lower case starts or ends with a
 * word character (U+212A, U+0130). The one context-dependent mapping, final sigma (Σ → ς at the end of a word), is
 * approximated: Σ is accepted for both σ and ς.
 */

export interface SqlFragment {
  sql: string
  params: unknown[]
}

/** A value expression with its parameters. */
export type Expr = SqlFragment

/**
 * A condition: a tree of AND/OR over leaves, NOT pushed down to the leaves (De Morgan). Kept as a tree so that the
 * rendered SQL is made of AND/OR chains, which DuckDB short-circuits in a filter (a regexp runs only on the rows that
 * passed the cheap `contains` before it). Leaves may be NULL only next to a guard that makes the whole two-valued
 * (`col IS NOT NULL AND f(col)`: FALSE AND NULL is FALSE, and in Kleene logic De Morgan still holds).
 */
type Cond = {t: 'const'; v: boolean} | {t: 'leaf'; sql: string; params: unknown[]} | {t: 'and' | 'or'; cs: Cond[]}

const TRUE: Cond = Object.freeze({t: 'const', v: true}) as Cond
const FALSE: Cond = Object.freeze({t: 'const', v: false}) as Cond

function constant(b: boolean): Cond {
  return b ? TRUE : FALSE
}

function frag(sql: string, ...params: unknown[]): Expr {
  return {sql, params}
}

/** Concatenate SQL text and expressions (their parameters in order). */
function apply(parts: (string | Expr)[]): Expr {
  let sql = ''
  const params: unknown[] = []
  for (const p of parts) {
    if (typeof p === 'string') sql += p
    else {
      sql += p.sql
      params.push(...p.params)
    }
  }
  return {sql, params}
}

function leaf(parts: (string | Expr)[]): Cond {
  const e = apply(parts)
  return {t: 'leaf', sql: e.sql, params: e.params}
}

function and(cs: Cond[]): Cond {
  const out: Cond[] = []
  for (const c of cs) {
    if (c === FALSE) return FALSE
    if (c === TRUE) continue
    if (c.t === 'and') out.push(...c.cs)
    else out.push(c)
  }
  if (out.length === 0) return TRUE
  return out.length === 1 ? out[0] : {t: 'and', cs: out}
}

function or(cs: Cond[]): Cond {
  const out: Cond[] = []
  for (const c of cs) {
    if (c === TRUE) return TRUE
    if (c === FALSE) continue
    if (c.t === 'or') out.push(...c.cs)
    else out.push(c)
  }
  if (out.length === 0) return FALSE
  return out.length === 1 ? out[0] : {t: 'or', cs: out}
}

function not(c: Cond): Cond {
  switch (c.t) {
    case 'const':
      return constant(!c.v)
    case 'leaf':
      return {t: 'leaf', sql: `(NOT ${c.sql})`, params: c.params}
    case 'and':
      return or(c.cs.map(not))
    case 'or':
      return and(c.cs.map(not))
  }
}

function render(c: Cond): SqlFragment {
  switch (c.t) {
    case 'const':
      return {sql: c.v ? 'TRUE' : 'FALSE', params: []}
    case 'leaf':
      return {sql: c.sql, params: c.params}
    case 'and':
    case 'or': {
      const parts = c.cs.map(render)
      return {sql: `(${parts.map((p) => p.sql).join(c.t === 'and' ? ' AND ' : ' OR ')})`, params: parts.flatMap((p) => p.params)}
    }
  }
}

/** `e IS NOT NULL`, the guard in front of tests on a column that may be NULL (absent). */
function present(e: Expr): Cond {
  return leaf(['(', e, ' IS NOT NULL)'])
}

/**
 * Where the compiled SQL runs: the local index (the default: `records r JOIN objects o`, DuckDB) or a flat table of
 * typed columns (the Parquet export, docs/lakehouse.md §3) in DuckDB, Presto or Spark SQL. Only the pieces that differ
 * between engines are hooks; the compiler is the same.
 */
export interface SqlDialect {
  name: string
  /** true: the index tables (prefix/rec/suffix, per-object tests); false: one flat table, typed columns only. */
  index: boolean
  /** A column of the row. */
  col(name: string): string
  /** The whole line (JSON of the row), the record id, and `{"record_id":"…"}`. */
  line: string
  recordId: string
  metaJson: string
  /** The SQL type name for text casts. */
  varchar: string
  contains(e: Expr, needle: Expr): (string | Expr)[]
  startsWith(e: Expr, p: Expr): (string | Expr)[]
  /** Partial match of an RE2 pattern (made of `(?:^|…)`, `(?:$|…)`, classes and `\x{h}` escapes). */
  regexp(e: Expr, pattern: Expr): (string | Expr)[]
  fullMatch(e: Expr, pattern: Expr): (string | Expr)[]
  isTrue(e: Expr): (string | Expr)[]
  isFalse(e: Expr): (string | Expr)[]
  /** The k-th dot-separated part of a string (1-based). */
  splitPart(e: Expr, k: number): (string | Expr)[]
  /** Turn the RE2 pattern into the engine's (default: as is). */
  pattern?(re2: string): string
}

/** The local index in DuckDB (src/lib/store/README.md): the behaviour of toSql. */
export const INDEX_DIALECT: SqlDialect = {
  name: 'duckdb-index',
  index: true,
  col: (name) => `r."${name}"`,
  line: '(o.prefix || r.rec || o.suffix)',
  recordId: `left(sha256(r.okey || '#' || CAST(r.idx AS VARCHAR)), 32)`,
  metaJson: `('{"record_id":"' || left(sha256(r.okey || '#' || CAST(r.idx AS VARCHAR)), 32) || '"}')`,
  varchar: 'VARCHAR',
  contains: (e, n) => ['contains(', e, ', ', n, ')'],
  startsWith: (e, p) => ['starts_with(', e, ', ', p, ')'],
  regexp: (e, p) => ['regexp_matches(', e, ', ', p, ')'],
  fullMatch: (e, p) => ['regexp_full_match(', e, ', ', p, ')'],
  isTrue: (e) => ['(', e, ' IS TRUE)'],
  isFalse: (e) => ['(', e, ' IS FALSE)'],
  splitPart: (e, k) => ['split_part(', e, `, '.', ${k})`],
}

interface Env {
  host: string
  app: string
  tags: string[]
  level: string
  levelByAction: boolean
}

export function toSql(ast: QueryNode, envelope: EnvelopeOptions = {}, dialect: SqlDialect = INDEX_DIALECT): SqlFragment {
  const env: Env = {
    host: envelope.hostname ?? DEFAULT_HOSTNAME,
    app: envelope.app ?? DEFAULT_APP,
    tags: envelope.tags ?? [],
    level: envelope.level ?? DEFAULT_LEVEL,
    levelByAction: envelope.levelByAction === true,
  }
  return render(new SqlCompiler(env, dialect).node(ast))
}

class SqlCompiler {
  constructor(
    private readonly env: Env,
    private readonly d: SqlDialect = INDEX_DIALECT,
  ) {}

  private get isRejected(): Cond {
    return leaf([`(${this.d.col('action')} IS NOT DISTINCT FROM 'rejected')`])
  }

  node(n: QueryNode): Cond {
    switch (n.type) {
      case 'all':
        return TRUE
      case 'and':
        return and(n.children.map((c) => this.node(c)))
      case 'or':
        return or(n.children.map((c) => this.node(c)))
      case 'not':
        return not(this.node(n.child))
      case 'term':
        return this.term(makeNeedle(n.value, n.op))
      case 'field':
        return this.field(n.field, n.test)
    }
  }

  // ---- envelope-dependent values -----------------------------------------------------------------------------------

  /** A condition on the envelope level: regular rows have no JSON `level`, so it is the configured one. */
  private levelIs(ok: (level: string) => boolean): Cond {
    if (!this.env.levelByAction) return constant(ok(this.env.level))
    const warn = ok('WARN')
    const info = ok('INFO')
    if (warn === info) return constant(warn)
    return warn ? this.isRejected : not(this.isRejected)
  }

  private levelExpr(): Expr {
    return this.env.levelByAction
      ? frag(`(CASE WHEN ${this.d.col('action')} IS NOT DISTINCT FROM 'rejected' THEN 'WARN' ELSE 'INFO' END)`)
      : frag('?', this.env.level)
  }

  // ---- bare terms --------------------------------------------------------------------------------------------------

  private term(n: Needle): Cond {
    const {host, app, tags} = this.env
    if (n.text.includes('\n')) {
      const h = apply([
        '(',
        frag(this.d.line),
        ' || ',
        frag('?', `\n${host}\n${app}\n`),
        ' || ',
        this.levelExpr(),
        ' || ',
        frag('?', `\n${tags.join('\n')}\n`),
        ' || ',
        frag(this.d.metaJson),
        ')',
      ])
      return this.text(h, n)
    }
    // H = line \n host \n app \n level \n tags \n meta, searched piece by piece (each piece is bounded by '\n').
    if (textMatches(host, n) || textMatches(app, n) || tags.some((t) => textMatches(t, n))) return TRUE
    const level = this.levelIs((l) => textMatches(l, n))
    const meta = couldOccurInMeta(n) ? this.text(frag(this.d.metaJson), n) : FALSE
    let line: Cond
    if (/[,{}]/.test(n.text) || (!this.d.index && (n.text.includes('"') || n.text === ':'))) {
      line = this.text(frag(this.d.line), n)
    } else if (!this.d.index) {
      // A flat table of a regular row's typed columns: the line is `{` + `"name":value` pairs joined by ','.
      line = this.fieldsText(n, ROW_FIELDS)
    } else {
      // No ',', '{', '}': the occurrence lies inside prefix, rec or suffix (README); prefix and suffix are tested once
      // per object.
      const perObject = or([this.text(frag('o2.prefix'), n), this.text(frag('o2.suffix'), n)])
      const inObject =
        perObject.t === 'const' ? perObject : leaf(['r.oid IN (SELECT o2.oid FROM objects o2 WHERE ', render(perObject), ')'])
      let inRec: Cond
      if (n.text.includes('"') || n.text === ':') {
        inRec = this.text(frag('r.rec'), n)
      } else {
        // No '"' either (and not just ':'): in the line of a regular row, `"name":value,…`, the occurrence lies inside
        // one name, one string value, or ':' + an integer / boolean; each is bounded by non-word characters, so the
        // typed columns answer without reading rec. A composed object's rec holds exactly the record fields (the
        // header is in prefix, the key in suffix); a raw object's rec holds the whole row (its prefix is '{').
        inRec = or([
          this.fieldsText(n, RECORD_FIELDS),
          and([leaf([`(o.prefix = '{')`]), this.fieldsText(n, [...HEADER_FIELDS, ROW_FIELD_MAP.get('key') as FieldSpec])]),
        ])
      }
      line = or([inObject, inRec])
    }
    return or([line, level, meta])
  }

  /**
   * wp / ww of a needle (without '"' ',' '{' '}', and not ':' alone) in the JSON text `"name":value` of the given
   * fields of a regular row: in the name, in a string value, or in ':' followed by an integer's digits or by
   * true / false (':' is not a word character, so for needles without ':' this is the value text alone).
   */
  private fieldsText(n: Needle, fields: FieldSpec[]): Cond {
    const out: Cond[] = []
    const intText = /^[-0-9]+$/.test(n.text) ? 'digits' : /^:[-0-9]+$/.test(n.text) ? 'colon' : undefined
    const onTrue = textMatches(':true', n)
    const onFalse = textMatches(':false', n)
    for (const f of fields) {
      const col = frag(this.d.col(f.name))
      if (textMatches(f.name, n)) out.push(present(col))
      else if (f.type === 'string') out.push(and([present(col), this.text(col, n)]))
      else if (f.type === 'integer') {
        if (intText) {
          const digits = apply([intText === 'colon' ? "(':' || CAST(" : '(CAST(', col, ` AS ${this.d.varchar}))`])
          out.push(and([present(col), this.text(digits, n)]))
        }
      } else if (onTrue && onFalse) out.push(present(col))
      else if (onTrue) out.push(leaf(this.d.isTrue(col)))
      else if (onFalse) out.push(leaf(this.d.isFalse(col)))
    }
    return or(out)
  }

  // ---- field clauses -----------------------------------------------------------------------------------------------

  private field(name: string, test: ValueTest): Cond {
    const {host, app, tags} = this.env
    switch (name) {
      case 'host':
        return constant(valueSatisfies(test, host))
      case 'app':
        return constant(valueSatisfies(test, app))
      case 'tag':
        return constant(test.kind === 'exists' ? tags.length > 0 : tags.some((t) => valueSatisfies(test, t)))
      case 'level':
        return this.levelIs((l) => valueSatisfies(test, l))
    }
    if (name.startsWith('meta.')) {
      // meta is {"record_id": …}: anything else under meta is absent.
      return name === 'meta.record_id' ? this.stringTest(frag(this.d.recordId), test, false) : FALSE
    }
    // §9 rules 3–5 on a regular row: only the typed columns exist, none has dots, none starts with '_'.
    const spec = ROW_FIELD_MAP.get(name) ?? ROW_FIELD_MAP.get(`_${name}`)
    if (!spec) return FALSE
    return this.column(spec, test)
  }

  private column(spec: FieldSpec, test: ValueTest): Cond {
    const col = frag(this.d.col(spec.name))
    if (test.kind === 'exists') return present(col)
    switch (spec.type) {
      case 'string':
        return this.stringTest(col, test, true)
      case 'integer':
        return integerTest(col, test)
      case 'boolean': {
        const onTrue = valueSatisfies(test, true)
        const onFalse = valueSatisfies(test, false)
        if (onTrue && onFalse) return present(col)
        if (onTrue) return leaf(this.d.isTrue(col))
        if (onFalse) return leaf(this.d.isFalse(col))
        return FALSE
      }
    }
  }

  /** A test on a string-valued expression; `nullable`: NULL means absent. */
  private stringTest(e: Expr, test: ValueTest, nullable: boolean): Cond {
    const guard = nullable ? present(e) : TRUE
    switch (test.kind) {
      case 'exists':
        return guard
      case 'cmp':
        // Numeric strings only (§5): the same syntax as in JS, then a DOUBLE comparison. NULL → the ELSE branch.
        return leaf([
          'CASE WHEN ',
          ...this.d.fullMatch(e, frag('?', this.re(NUMERIC_RE2))),
          ' THEN CAST(',
          e,
          ` AS DOUBLE) ${test.op} `,
          // As text: DuckDB would bind a large integral JS number as BIGINT and reject it.
          frag('CAST(? AS DOUBLE)', String(test.value)),
          ' ELSE FALSE END',
        ])
      case 'match': {
        const text = and([guard, this.text(e, makeNeedle(test.value, test.op))])
        if (!test.cidr) return text
        // The literal has a '/', which a dotted quad never has: a string match implies "not an address", so
        // "CASE WHEN address THEN containment ELSE string match END" is an OR of the two.
        return or([and([guard, cidrTest(this.d, e, test.cidr.first, test.cidr.last)]), text])
      }
    }
  }

  /**
   * wp / ww (§10) of a needle in a non-NULL string expression, exactly as JavaScript does it on the lowered string.
   * Cheap exact pre-filters (`contains`) come first; the RE2 pattern checks the word edges and case classes.
   */
  private text(e: Expr, n: Needle): Cond {
    const cps = Array.from(n.text)
    const contains = (): Cond => leaf(this.d.contains(e, frag('?', n.text)))
    if (n.cs) {
      if (!n.needStart && !n.needEnd) return contains()
      const pattern = (n.needStart ? PRE_CS : '') + cps.map(reChar).join('') + (n.needEnd ? POST_CS : '')
      return and([contains(), this.regexp(e, pattern)])
    }
    const ascii = cps.every((c) => c.charCodeAt(0) < 128)
    if (ascii && !/[a-z]/.test(n.text)) {
      // No letters: no other character lower-cases to these, so the raw text holds the same occurrences.
      if (!n.needStart && !n.needEnd) return contains()
      const pattern = (n.needStart ? PRE_CI : '') + cps.map(reChar).join('') + (n.needEnd ? POST_CI : '')
      return and([contains(), this.regexp(e, pattern)])
    }
    const core = ciCore(cps, n.needEnd)
    if (core === undefined) return FALSE
    const pattern = (n.needStart ? PRE_CI : '') + core
    if (ascii) {
      // DuckDB's lower() maps A-Z, U+212A and U+0130 to ASCII as JS does (to a prefix, for U+0130): a necessary
      // condition that is much cheaper than the pattern.
      return and([leaf(this.d.contains(apply(['lower(', e, ')']), frag('?', n.text))), this.regexp(e, pattern)])
    }
    return this.regexp(e, pattern)
  }

  private re(pattern: string): string {
    return this.d.pattern ? this.d.pattern(pattern) : pattern
  }

  private regexp(e: Expr, pattern: string): Cond {
    return leaf(this.d.regexp(e, frag('?', this.re(pattern))))
  }
}

/** The case-insensitive RE2 body for a lowered needle, with the word-end check; undefined = can never match. */
function ciCore(cps: string[], needEnd: boolean): string | undefined {
  const parts: string[] = []
  let endDone = false
  for (let k = 0; k < cps.length; k++) {
    const c = cps[k]
    const last = k === cps.length - 1
    if (c === 'i' && cps[k + 1] === '\u0307') {
      // "i̇" is also what U+0130 lower-cases to.
      parts.push('(?:[iI]\\x{307}|\\x{130})')
      k++
      continue
    }
    if (k === 0 && c === '\u0307') {
      // The tail of U+0130's lower case.
      parts.push('(?:\\x{307}|\\x{130})')
      continue
    }
    if (c === 'i' && last) {
      // U+0130 lower-cases to "i" + U+0307: after that "i" comes a non-word character, so a word end holds.
      parts.push(needEnd ? `(?:[iI]${POST_CI}|\\x{130})` : '(?:[iI]|\\x{130})')
      endDone = true
      continue
    }
    const cls = charClass(c)
    if (cls === undefined) return undefined
    parts.push(cls)
  }
  if (needEnd && !endDone) parts.push(POST_CI)
  return parts.join('')
}

/** The characters whose lower case is `c`, as an RE2 atom. */
function charClass(c: string): string | undefined {
  const code = c.charCodeAt(0)
  if (code < 128) {
    if (c >= 'a' && c <= 'z') return `[${c}${c.toUpperCase()}${c === 'k' ? '\\x{212a}' : ''}]`
    return reChar(c)
  }
  const sources = lowerSources(c)
  if (sources.length === 0) return undefined
  if (sources.length === 1) return reChar(String.fromCodePoint(sources[0]))
  return `[${sources.map((cp) => reChar(String.fromCodePoint(cp))).join('')}]`
}

/**
 * Containment of a non-NULL string in [first, last] when it is a dotted quad. The block's fixed leading octets, as
 * text with the leading zeros a dotted quad may carry, are a cheap pre-filter; TRY_CAST keeps the arithmetic safe
 * wherever DuckDB evaluates it before the address check.
 */
function cidrTest(d: SqlDialect, e: Expr, first: number, last: number): Cond {
  const size = last - first + 1
  const fixedOctets = size > 2 ** 24 ? 0 : size > 2 ** 16 ? 1 : 2
  const pre = or(leadingOctetTexts(first, fixedOctets).map((p) => leaf(d.startsWith(e, frag('?', p)))))
  const isIp = leaf(d.fullMatch(e, frag('?', d.pattern ? d.pattern(IPV4_RE_SRC) : IPV4_RE_SRC)))
  if (size === 2 ** 32) return isIp
  const aligned = size === 1 ? 4 : size === 2 ** 8 ? 3 : size === 2 ** 16 ? 2 : size === 2 ** 24 ? 1 : undefined
  if (aligned !== undefined) {
    // A block on octet bounds (/8, /16, /24, /32): its addresses are the dotted quads whose leading octets are the
    // block's, in any of their spellings (leading zeros). One pattern says it, far cheaper than the arithmetic.
    const fixed = [24, 16, 8, 0].slice(0, aligned).map((shift) => {
      const o = String(Math.floor(first / 2 ** shift) % 256)
      return `(?:${[...new Set([o, o.padStart(2, '0'), o.padStart(3, '0')])].join('|')})`
    })
    const source = [...fixed, ...Array.from({length: 4 - aligned}, () => OCTET_RE_SRC)].join('\\.')
    return and([fixedOctets === 0 ? TRUE : pre, leaf(d.fullMatch(e, frag('?', d.pattern ? d.pattern(source) : source)))])
  }
  const octet = (k: number) => apply(['TRY_CAST(', ...d.splitPart(e, k), ' AS BIGINT)'])
  const ip = apply(['(', octet(1), ' * 16777216 + ', octet(2), ' * 65536 + ', octet(3), ' * 256 + ', octet(4), ')'])
  const inBlock = leaf([ip, ' BETWEEN ', frag('CAST(? AS BIGINT)', first), ' AND ', frag('CAST(? AS BIGINT)', last)])
  return and([fixedOctets === 0 ? TRUE : pre, isIp, inBlock])
}

/** The texts `a.` / `a.b.` that a dotted quad in the block starts with (octets with 0–2 leading zeros). */
function leadingOctetTexts(first: number, count: number): string[] {
  const octets = [Math.floor(first / 16777216) % 256, Math.floor(first / 65536) % 256].slice(0, count)
  let out = ['']
  for (const o of octets) {
    const forms = [...new Set([String(o), String(o).padStart(2, '0'), String(o).padStart(3, '0')])]
    out = out.flatMap((p) => forms.map((f) => `${p}${f}.`))
  }
  return out
}

/** The number syntax of §5 in RE2 (patterns are parameters too, so that every '?' in the SQL is a placeholder). */
const NUMERIC_RE2 = '-?[0-9]+(?:\\.[0-9]+)?'

/** Word edges in RE2 (case-sensitive: the raw characters are what JS tests). */
const PRE_CS = '(?:^|[^A-Za-z0-9_.])'
const POST_CS = '(?:$|[^A-Za-z0-9_.])'
/** Case-insensitive: U+212A lower-cases to "k" (a word character), U+0130 to "i" + U+0307. */
const PRE_CI = '(?:^|[^A-Za-z0-9_.\\x{212a}])'
const POST_CI = '(?:$|[^A-Za-z0-9_.\\x{212a}\\x{130}])'

function reChar(c: string): string {
  if (/^[A-Za-z0-9]$/.test(c)) return c
  return `\\x{${(c.codePointAt(0) as number).toString(16)}}`
}

/** The characters of `{"record_id":"<32 lowercase hex>"}`: a needle with any other character cannot occur there. */
const META_CHARS = '{"record_id":}0123456789abcdef'

function couldOccurInMeta(n: Needle): boolean {
  for (const ch of n.text) if (!META_CHARS.includes(ch)) return false
  return true
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const LIMIT = 2 ** 53

function clampInt(k: number): number {
  return Math.max(-LIMIT, Math.min(LIMIT, k)) + 0
}

/** Tests on a BIGINT column (JSON numbers that are safe integers); NULL = absent. */
function integerTest(col: Expr, test: ValueTest): Cond {
  if (test.kind === 'match') {
    const num = numericLiteral(test.value)
    if (num === undefined || !Number.isInteger(num) || Math.abs(num) > MAX_SAFE) return FALSE
    return leaf(['(', col, ' IS NOT DISTINCT FROM ', frag('CAST(? AS BIGINT)', num + 0), ')'])
  }
  if (test.kind === 'cmp') {
    // For an integer x: x > n ⇔ x > ⌊n⌋, x >= n ⇔ x >= ⌈n⌉, x < n ⇔ x < ⌈n⌉, x <= n ⇔ x <= ⌊n⌋.
    const n = test.value
    const k: Record<CmpOp, number> = {'>': Math.floor(n), '>=': Math.ceil(n), '<': Math.ceil(n), '<=': Math.floor(n)}
    return and([present(col), leaf(['(', col, ` ${test.op} `, frag('CAST(? AS BIGINT)', clampInt(k[test.op])), ')'])])
  }
  return present(col)
}
