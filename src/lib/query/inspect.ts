import {type QueryNode, type ValueTest, walk} from './ast.js'
import {looksLikeIpv4} from './match.js'

/** True when the query matches every record (empty query, `*`, `_account:*`): callers may skip filtering. */
export function isMatchAll(ast: QueryNode): boolean {
  return ast.type === 'all'
}

/**
 * True when the query uses the CIDR extension (§13). Such a clause matches nothing in Log Analysis / Mezmo, so
 * commands that send the query to a remote service must warn.
 */
export function queryHasCidr(ast: QueryNode): boolean {
  let found = false
  walk(ast, (n) => {
    if (n.type === 'field' && n.test.kind === 'match' && n.test.cidr) found = true
  })
  return found
}

export interface PrefixIpClause {
  field: string
  value: string
  /** The same clause with whole-word matching, e.g. `target_ip:==10.240.0.4`. */
  suggestion: string
}

/**
 * Field clauses whose value is one whole IPv4 address matched by prefix (no `==`/`===`): `target_ip:10.240.0.4` also
 * matches 10.240.0.40–49, so the CLI can suggest `:==`.
 */
export function prefixIpHint(ast: QueryNode): PrefixIpClause[] {
  const out: PrefixIpClause[] = []
  const seen = new Set<string>()
  walk(ast, (n) => {
    if (n.type !== 'field' || n.test.kind !== 'match' || n.test.cidr) return
    if (n.test.op === '==' || n.test.op === '===' || !looksLikeIpv4(n.test.value)) return
    const suggestion = `${n.field}:==${n.test.value}`
    if (seen.has(suggestion)) return
    seen.add(suggestion)
    out.push({field: n.field, value: n.test.value, suggestion})
  })
  return out
}

/** A value or term as a quoted literal that parses back to the same text. */
function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** A number in the query's number syntax (no exponent) that parses back to the same value. */
function numberText(v: number): string {
  if (Object.is(v, -0)) return '-0'
  const s = String(v)
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)
  if (!m) return s
  // Expand the shortest round-trip digits of the exponent form.
  const digits = m[2] + (m[3] ?? '')
  const point = 1 + Number(m[4])
  let text: string
  if (point <= 0) text = `0.${'0'.repeat(-point)}${digits}`
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length)
  else text = `${digits.slice(0, point)}.${digits.slice(point)}`
  return m[1] + text
}

function formatTest(t: ValueTest): string {
  switch (t.kind) {
    case 'exists':
      return '*'
    case 'cmp':
      return `${t.op}${numberText(t.value)}`
    case 'match':
      return `${t.op}${quote(t.value)}`
  }
}

/**
 * The canonical text of an AST: explicit AND/OR, parentheses around every compound, quoted literals. It parses back
 * to the same AST (useful for --json output, debugging and tests).
 */
export function formatQuery(ast: QueryNode): string {
  return fmt(ast, true)
}

function fmt(n: QueryNode, top: boolean): string {
  switch (n.type) {
    case 'all':
      return '*'
    case 'and':
    case 'or': {
      const inner = n.children.map((c) => fmt(c, false)).join(n.type === 'and' ? ' AND ' : ' OR ')
      return top ? inner : `(${inner})`
    }
    case 'not':
      return `-${fmt(n.child, false)}`
    case 'term':
      return `${n.op}${quote(n.value)}`
    case 'field':
      return `${n.field}:${formatTest(n.test)}`
  }
}
