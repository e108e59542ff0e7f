/**
 * The query language of `flowlog search`, alerts and local replays: the Log Analysis / Mezmo search syntax with the
 * rules D1–D17 and the CIDR extension of docs/query-language.md (§11, §13).
 *
 *   const {ast, warnings} = parseQuery('target_ip:10.240.0.0/16 action:rejected -target_port:67')
 *   toPredicate(ast, envelope)(row, key, index)   // back end 1: JavaScript, over a flattened row
 *   toSql(ast, envelope)                          // back end 2: DuckDB WHERE fragment over the index, `?` params
 *
 * Both back ends evaluate the same AST and agree on every regular row. Syntax errors are QuerySyntaxError (a
 * UsageError: exit 2) with the 0-based `position` and a `hint`.
 *
 * Helpers for commands: isMatchAll (skip filtering), queryHasCidr (warn before sending a query to Log Analysis /
 * Mezmo, where CIDR clauses match nothing), prefixIpHint (suggest `:==` for `target_ip:10.240.0.4`), formatQuery
 * (canonical text of an AST).
 */
export type {CidrBlock, CmpOp, MatchOp, QueryNode, ValueTest} from './ast.js'
export {QuerySyntaxError} from './errors.js'
export {type PrefixIpClause, formatQuery, isMatchAll, prefixIpHint, queryHasCidr} from './inspect.js'
export {checkQueryLength, MAX_CLAUSES, MAX_NESTING, MAX_QUERY_LENGTH, type ParsedQuery, parseQuery} from './parser.js'
export {type QueryRecord, type RowPredicate, toPredicate, toRecordPredicate} from './predicate.js'
export {INDEX_DIALECT, type SqlDialect, type SqlFragment, toSql} from './sql.js'
