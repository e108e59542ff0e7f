import {UsageError} from '../errors.js'
import type {QueryNode} from './ast.js'
import {formatQuery, isMatchAll} from './inspect.js'
import {intToIpv4, NUMERIC_RE} from './match.js'
import {parseQuery} from './parser.js'

/**
 * The flowlog query language → the Lucene syntax IBM Cloud Logs searches with (docs/sinks.md §8.2), one translator for
 * alerts (`filters.text`) and remote search (`POST /v1/query`, `syntax: lucene`).
 *
 * Fields are named as forward sends them: the record is the entry's `text` object, so `target_ip` is
 * `json.target_ip`; `app:` and `host:` are the entry's applicationName / subsystemName. Each clause maps to what
 * Lucene can say about tokens:
 *
 *   f:v (one word)     → json.f:v*            word prefix                 exact
 *   f:==v (one word)   → json.f:v             whole word                  exact
 *   f:22 (a number)    → json.f:22            numeric equality            exact
 *   f:>=400            → json.f:>=400                                     exact
 *   f:*                → _exists_:json.f                                  exact
 *   f:10.240.0.0/20    → (json.f:10.240.0.* OR … 16 blocks)               exact
 *   f:=v, f:===v       → as f:v / f:==v       Lucene has no case-sensitive match: broader
 *   f:"a b", f:a-b     → every word (the last by prefix), or the phrase for :==      broader
 *   bare words         → the words over the whole entry                   broader
 *
 * A broader ("approximate") clause finds a superset: remote search re-checks every result with the query's own
 * predicate, so its records are exactly local search's; an alert fires on the superset. Under a negation a broader
 * clause would drop records, so it is refused, as are clauses on what Cloud Logs entries do not carry (tag:, level:,
 * meta.*): a LuceneUnsupportedError (exit 2) naming every such part.
 */
export interface LuceneTranslation {
  /** The Lucene query (`*` for a query that matches everything). */
  lucene: string
  /** Every clause translated exactly (no re-check needed). */
  exact: boolean
  /** The clauses that match more broadly in Cloud Logs, with why. */
  approximations: string[]
}

export class LuceneUnsupportedError extends UsageError {
  readonly parts: string[]
  constructor(parts: string[]) {
    super(`Lucene (IBM Cloud Logs) cannot express ${parts.length === 1 ? 'this part' : 'these parts'} of the query: ${parts.join('; ')}`, {
      code: 'lucene_unsupported',
      suggestions: ['Drop or rewrite those clauses, or search the local index (flowlog search without --remote)', 'See docs/sinks.md §8.2 for what translates'],
      detail: {unsupported: parts},
    })
    this.name = 'LuceneUnsupportedError'
    this.parts = parts
  }
}

/** The prefix of record fields in Cloud Logs: forward sends the record as the entry's `text` object. */
export const JSON_PREFIX = 'json.'
const ENVELOPE_FIELDS: Record<string, string> = {
  app: 'coralogix.metadata.applicationName',
  host: 'coralogix.metadata.subsystemName',
}
const FIELD_RE = /^[A-Za-z0-9_][A-Za-z0-9_.]*$/
const WORD_SPLIT = /[^A-Za-z0-9_.]+/

interface Part {
  q: string
  exact: boolean
}

class Translator {
  readonly unsupported: string[] = []
  readonly approximations: string[] = []

  node(n: QueryNode): Part {
    switch (n.type) {
      case 'all':
        return {q: '*', exact: true}
      case 'and':
      case 'or': {
        const parts = n.children.map((c) => this.node(c))
        return {q: `(${parts.map((p) => p.q).join(n.type === 'and' ? ' AND ' : ' OR ')})`, exact: parts.every((p) => p.exact)}
      }
      case 'not': {
        const before = this.approximations.length
        const child = this.node(n.child)
        if (!child.exact) {
          this.approximations.splice(before)
          this.unsupported.push(`${formatQuery(n)} (a negated clause must translate exactly, and ${formatQuery(n.child)} only translates approximately)`)
        }
        return {q: `NOT ${child.q}`, exact: child.exact}
      }
      case 'term':
        return this.words('', n.value, n.op, formatQuery(n), 'a bare word is searched over the whole entry')
      case 'field':
        return this.field(n)
    }
  }

  private field(n: Extract<QueryNode, {type: 'field'}>): Part {
    const text = formatQuery(n)
    const name = this.fieldName(n.field, text)
    if (name === undefined) return {q: '*', exact: true}
    const t = n.test
    if (t.kind === 'exists') return {q: `_exists_:${name}`, exact: true}
    if (t.kind === 'cmp') return {q: `${name}:${t.op}${t.value}`, exact: true}
    if (t.cidr) return this.cidr(name, t.cidr.first, Number(t.cidr.text.split('/')[1]))
    if (NUMERIC_RE.test(t.value)) return {q: `${name}:${t.value.startsWith('-') ? `\\${t.value}` : t.value}`, exact: true}
    return this.words(name, t.value, t.op, text, '')
  }

  private fieldName(field: string, text: string): string | undefined {
    if (field in ENVELOPE_FIELDS) return ENVELOPE_FIELDS[field]
    if (field === 'tag' || field === 'level' || field === 'meta' || field.startsWith('meta.')) {
      const why = field === 'tag' ? 'Cloud Logs entries carry no tags' : field === 'level' ? 'Cloud Logs keeps a numeric severity, not the level name' : 'Cloud Logs entries have no meta (record_id travels as the category)'
      this.unsupported.push(`${text} (${why})`)
      return undefined
    }
    if (!FIELD_RE.test(field)) {
      this.unsupported.push(`${text} (the field name ${JSON.stringify(field)} has characters a Lucene field name cannot hold)`)
      return undefined
    }
    return JSON_PREFIX + field
  }

  /** A CIDR block: /0 is presence; otherwise the /8, /16, /24 or /32 blocks that cover it exactly, as prefixes. */
  private cidr(name: string, first: number, bits: number): Part {
    if (bits === 0) return {q: `_exists_:${name}`, exact: true}
    if (bits === 32) return {q: `${name}:${intToIpv4(first)}`, exact: true}
    const octets = Math.ceil(bits / 8)
    const count = 2 ** (octets * 8 - bits)
    const step = 2 ** (32 - octets * 8)
    const terms: string[] = []
    for (let i = 0; i < count; i++) {
      const ip = intToIpv4((first + i * step) >>> 0)
      terms.push(`${name}:${ip.split('.').slice(0, octets).join('.')}.*`)
    }
    return {q: terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`, exact: true}
  }

  /** Words of a value: one word translates exactly (case aside); several are ANDed (the last by prefix) or a phrase. */
  private words(name: string, value: string, op: string, text: string, why: string): Part {
    const words = value.split(WORD_SPLIT).filter(Boolean)
    const prefix = name ? `${name}:` : ''
    if (words.length === 0) {
      this.unsupported.push(`${text} (no letters or digits: Lucene searches words)`)
      return {q: '*', exact: true}
    }
    const whole = op === '==' || op === '==='
    const caseSensitive = op === '=' || op === '==='
    const single = words.length === 1 && words[0] === value
    const reasons: string[] = []
    if (why) reasons.push(why)
    if (caseSensitive) reasons.push('Lucene matches without regard to case')
    if (!single) reasons.push(whole ? 'matched as the phrase of its words' : 'matched as all of its words')
    if (reasons.length > 0) this.approximations.push(`${text}: ${reasons.join('; ')}`)
    const exact = reasons.length === 0
    if (single) return {q: `${prefix}${words[0]}${whole ? '' : '*'}`, exact}
    if (whole) return {q: `${prefix}"${words.join(' ')}"`, exact}
    const terms = words.map((w, i) => `${prefix}${w}${i === words.length - 1 ? '*' : ''}`)
    return {q: `(${terms.join(' AND ')})`, exact}
  }
}

/** Translate a parsed query; throws LuceneUnsupportedError (exit 2) listing every part Lucene cannot express. */
export function toLucene(ast: QueryNode): LuceneTranslation {
  if (isMatchAll(ast)) return {lucene: '*', exact: true, approximations: []}
  const t = new Translator()
  const part = t.node(ast)
  if (t.unsupported.length > 0) throw new LuceneUnsupportedError(t.unsupported)
  let lucene = part.q
  if (lucene.startsWith('(') && lucene.endsWith(')') && balancedOuter(lucene)) lucene = lucene.slice(1, -1)
  return {lucene, exact: part.exact, approximations: t.approximations}
}

/** Parse (syntax errors exit 2) and translate a query text. */
export function queryToLucene(query: string): LuceneTranslation & {ast: QueryNode; warnings: string[]} {
  const {ast, warnings} = parseQuery(query)
  return {...toLucene(ast), ast, warnings}
}

/** Whether the first `(` closes at the last character (so the outer pair can go). */
function balancedOuter(s: string): boolean {
  let depth = 0
  let quoted = false
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]
    if (ch === '\\') {
      i++
      continue
    }
    if (ch === '"') quoted = !quoted
    if (quoted) continue
    if (ch === '(') depth++
    else if (ch === ')') {
      depth--
      if (depth === 0 && i < s.length - 1) return false
    }
  }
  return true
}
