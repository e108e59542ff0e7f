import type {Expr, SqlDialect} from '../query/sql.js'
import {HEADER_FIELDS, RECORD_FIELDS, ROW_FIELDS, type FieldSpec} from '../records/schema.js'

/**
 * The SQL dialects of the exported table (docs/lakehouse.md §3): one flat row of typed columns per record, as
 * `flowlog export` writes it (the header fields, the record fields, `key`, `record_id`, then `date` and `hour`).
 * A regular row's line (what forward sends) is `{` + its present fields as `"name":value`, in schema order, + `}`:
 * rebuilt in SQL only for the rare bare terms that contain ',' '{' '}' '"' or a newline.
 */
export type LakeDialectName = 'duckdb' | 'presto' | 'spark'

export const LAKE_DIALECTS: LakeDialectName[] = ['duckdb', 'presto', 'spark']

/** The exported columns, in file order (partition columns `date` and `hour` come last). */
export const EXPORT_FIELDS: FieldSpec[] = [...HEADER_FIELDS, ...RECORD_FIELDS, {name: 'key', type: 'string', sql: 'VARCHAR'}]

function lineSql(q: (name: string) => string, varchar: string): string {
  const parts = ROW_FIELDS.map((f) => {
    const c = q(f.name)
    switch (f.type) {
      case 'string':
        return `COALESCE(',"${f.name}":"' || ${c} || '"', '')`
      case 'integer':
        return `COALESCE(',"${f.name}":' || CAST(${c} AS ${varchar}), '')`
      case 'boolean':
        return `(CASE WHEN ${c} THEN ',"${f.name}":true' WHEN NOT ${c} THEN ',"${f.name}":false' ELSE '' END)`
    }
  })
  return `('{' || substr(${parts.join(' || ')}, 2) || '}')`
}

/** Presto (Joni) and Java regexes: `^`/`$` may match at line ends, so anchor on the whole text. */
function wholeTextAnchors(re2: string): string {
  return re2.replaceAll('(?:^|', '(?:\\A|').replaceAll('(?:$|', '(?:\\z|')
}

function flat(name: string, q: (n: string) => string, varchar: string, rest: Omit<SqlDialect, 'name' | 'index' | 'col' | 'line' | 'recordId' | 'metaJson' | 'varchar'>): SqlDialect {
  return {
    name,
    index: false,
    col: q,
    line: lineSql(q, varchar),
    recordId: q('record_id'),
    metaJson: `('{"record_id":"' || ${q('record_id')} || '"}')`,
    varchar,
    ...rest,
  }
}

const dq = (n: string) => `"${n}"`
const bq = (n: string) => `\`${n}\``

export const DIALECTS: Record<LakeDialectName, SqlDialect> = {
  duckdb: flat('duckdb', dq, 'VARCHAR', {
    contains: (e, n) => ['contains(', e, ', ', n, ')'],
    startsWith: (e, p) => ['starts_with(', e, ', ', p, ')'],
    regexp: (e, p) => ['regexp_matches(', e, ', ', p, ')'],
    fullMatch: (e, p) => ['regexp_full_match(', e, ', ', p, ')'],
    isTrue: (e) => ['(', e, ' IS TRUE)'],
    isFalse: (e) => ['(', e, ' IS FALSE)'],
    splitPart: (e, k) => ['split_part(', e, `, '.', ${k})`],
  }),
  presto: flat('presto', dq, 'VARCHAR', {
    contains: (e, n) => ['(strpos(', e, ', ', n, ') > 0)'],
    startsWith: (e, p) => ['(strpos(', e, ', ', p, ') = 1)'],
    regexp: (e, p) => ['regexp_like(', e, ', ', p, ')'],
    fullMatch: (e, p) => ['regexp_like(', e, ', ', wrapFull(p), ')'],
    isTrue: (e) => ['(', e, ' IS NOT DISTINCT FROM TRUE)'],
    isFalse: (e) => ['(', e, ' IS NOT DISTINCT FROM FALSE)'],
    splitPart: (e, k) => ['split_part(', e, `, '.', ${k})`],
    pattern: wholeTextAnchors,
  }),
  spark: flat('spark', bq, 'STRING', {
    contains: (e, n) => ['(instr(', e, ', ', n, ') > 0)'],
    startsWith: (e, p) => ['(instr(', e, ', ', p, ') = 1)'],
    regexp: (e, p) => ['(', e, ' RLIKE ', p, ')'],
    fullMatch: (e, p) => ['(', e, ' RLIKE ', wrapFull(p), ')'],
    isTrue: (e) => ['(', e, ' <=> TRUE)'],
    isFalse: (e) => ['(', e, ' <=> FALSE)'],
    splitPart: (e, k) => ['split_part(', e, `, '.', ${k})`],
    pattern: wholeTextAnchors,
  }),
}

/** `\A(?:p)\z` around a pattern parameter (the parameter is a string: wrapped when inlined). */
function wrapFull(p: Expr): Expr {
  return {sql: p.sql, params: p.params.map((v) => (typeof v === 'string' ? `\\A(?:${v})\\z` : v))}
}

/** A literal in the dialect: Spark reads backslash escapes in string literals, Presto and DuckDB do not. */
export function literal(dialect: LakeDialectName, v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE'
  if (v === null || v === undefined) return 'NULL'
  const s = String(v)
  if (dialect === 'spark') return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
  return `'${s.replaceAll("'", "''")}'`
}

/** Put the parameters into the SQL text (each `?` of the fragment is a placeholder; none is inside a literal). */
export function inline(dialect: LakeDialectName, sql: string, params: unknown[]): string {
  const pieces = sql.split('?')
  if (pieces.length !== params.length + 1) throw new Error(`internal: ${pieces.length - 1} placeholders for ${params.length} parameters`)
  let out = pieces[0]
  for (let i = 0; i < params.length; i++) out += literal(dialect, params[i]) + pieces[i + 1]
  return out
}

export function quoteIdent(dialect: LakeDialectName, name: string): string {
  return dialect === 'spark' ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`
}
