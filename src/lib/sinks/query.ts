import {isMatchAll, parseQuery, toPredicate} from '../query/index.js'
import type {EnvelopeOptions} from '../records/envelope.js'
import type {CompiledQuery} from './index.js'

/**
 * --query for forward: the query engine's JavaScript back end over each flattened row, with the envelope forward
 * sends (hostname, app, level, tags, meta.record_id), so `app:`, `host:`, `level:` and `meta.record_id:` clauses see
 * what the service would. Syntax errors are QuerySyntaxErrors (UsageError, exit 2) from the parser. A query that
 * matches everything compiles to no filter at all.
 */
export function compileForwardQuery(query: string, envelope: EnvelopeOptions): CompiledQuery {
  const {ast, warnings} = parseQuery(query)
  if (isMatchAll(ast)) return {warnings}
  const predicate = toPredicate(ast, envelope)
  return {filter: (row, key, index) => predicate(row, key, index), warnings}
}
