import {isMatchAll, parseQuery, prefixIpHint, toPredicate, toSql} from '../query/index.js'
import type {EnvelopeOptions} from '../records/envelope.js'
import type {JsonObject} from '../records/object.js'
import type {SearchSpec} from './search.js'

/** A query compiled for the index: SQL for regular rows, the predicate for irregular ones. */
export interface CompiledSearch {
  query: string
  spec: Pick<SearchSpec, 'where' | 'predicate'>
  warnings: string[]
  /** Field clauses whose value is a whole IPv4 address matched by prefix. */
  ipPrefixClauses: {field: string; value: string}[]
}

export function compileSearch(query: string, envelope: EnvelopeOptions = {}): CompiledSearch {
  const {ast, warnings} = parseQuery(query)
  const clauses = prefixIpHint(ast)
  if (isMatchAll(ast)) return {query, spec: {}, warnings, ipPrefixClauses: clauses}
  return {
    query,
    spec: {where: toSql(ast, envelope), predicate: toPredicate(ast, envelope)},
    warnings,
    ipPrefixClauses: clauses,
  }
}

/**
 * Log Analysis matches `target_ip:10.240.0.4` by prefix, so it also finds 10.240.0.45. When a result really matched
 * that way, say how to match exactly.
 */
export function ipPrefixHint(compiled: CompiledSearch): {matchedByPrefix: (row: JsonObject) => boolean; message: string} | undefined {
  const clauses = compiled.ipPrefixClauses
  if (clauses.length === 0) return undefined
  return {
    matchedByPrefix: (row) =>
      clauses.some((c) => {
        const v = row[c.field]
        return typeof v === 'string' && v !== c.value && v.toLowerCase().startsWith(c.value.toLowerCase())
      }),
    message:
      `hint: ${clauses.map((c) => `${c.field}:${c.value}`).join(', ')} matched by prefix (as in Log Analysis), e.g. ${clauses[0].value}5; ` +
      `use ${clauses[0].field}:==${clauses[0].value} for an exact match`,
  }
}
