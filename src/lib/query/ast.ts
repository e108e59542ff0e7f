/**
 * The one AST of the query language (docs/query-language.md). Both back ends (predicate.ts, sql.ts) evaluate it; the
 * parser (parser.ts) is the only producer.
 *
 * Field groups are distributed at parse time: `f:(>=400 <500 -404)` becomes
 * `and(field f >=400, field f <500, not(field f 404))`, and a list `f:[a,b]` becomes `or(field f a, field f b)`.
 */

/** `''` word-prefix, case-insensitive; `=` word-prefix, case-sensitive; `==` whole word; `===` whole word, case-sensitive. */
export type MatchOp = '' | '=' | '==' | '==='

export type CmpOp = '>' | '>=' | '<' | '<='

/** An IPv4 block, normalised (host bits cleared): `first` and `last` are the block's first and last address. */
export interface CidrBlock {
  /** Normalised text, e.g. `10.240.0.0/16`. */
  text: string
  first: number
  last: number
}

export type ValueTest =
  /** `f:*`: present and not null. */
  | {kind: 'exists'}
  /** `f:>=400`. */
  | {kind: 'cmp'; op: CmpOp; value: number}
  /** `f:value`, `f:==value`, list items, group atoms. `cidr` is set when the literal is a valid IPv4 block (§13). */
  | {kind: 'match'; op: MatchOp; value: string; cidr?: CidrBlock}

export type QueryNode =
  /** Matches every record: the empty query, a bare `*`, `_account:*`. */
  | {type: 'all'}
  | {type: 'and'; children: QueryNode[]}
  | {type: 'or'; children: QueryNode[]}
  | {type: 'not'; child: QueryNode}
  /** A bare term or quoted phrase, matched over the haystack (§10). */
  | {type: 'term'; op: MatchOp; value: string}
  /** A field clause. */
  | {type: 'field'; field: string; test: ValueTest}

export const MATCH_ALL: QueryNode = Object.freeze({type: 'all'}) as QueryNode

/** AND of the children, flattened; match-all children dropped. */
export function andOf(children: QueryNode[]): QueryNode {
  const out: QueryNode[] = []
  for (const c of children) {
    if (c.type === 'all') continue
    if (c.type === 'and') out.push(...c.children)
    else out.push(c)
  }
  if (out.length === 0) return MATCH_ALL
  return out.length === 1 ? out[0] : {type: 'and', children: out}
}

/** OR of the children, flattened; any match-all child makes the whole match-all. */
export function orOf(children: QueryNode[]): QueryNode {
  const out: QueryNode[] = []
  for (const c of children) {
    if (c.type === 'all') return MATCH_ALL
    if (c.type === 'or') out.push(...c.children)
    else out.push(c)
  }
  return out.length === 1 ? out[0] : {type: 'or', children: out}
}

/** NOT of the child; a double negation cancels out. */
export function notOf(child: QueryNode): QueryNode {
  if (child.type === 'not') return child.child
  return {type: 'not', child}
}

/** Visit every node, depth first. */
export function walk(node: QueryNode, visit: (n: QueryNode) => void): void {
  const stack: QueryNode[] = [node]
  while (stack.length > 0) {
    const n = stack.pop() as QueryNode
    visit(n)
    if (n.type === 'and' || n.type === 'or') for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i])
    else if (n.type === 'not') stack.push(n.child)
  }
}
