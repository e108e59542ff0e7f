/**
 * Field names in a query that nothing can match (docs/query-language.md §17): not a record, header or envelope
 * field, and in no record of the index (irregular records may carry fields of their own). A warning naming the
 * nearest known field, or with --strict a usage error. Also the check of --fields, --sort and top --by names.
 */
import type {Home} from '../config/home.js'
import {UsageError} from '../errors.js'
import {parseQuery, type QueryNode} from '../query/index.js'
import {ROW_FIELDS} from '../records/schema.js'
import {nearest} from '../suggest.js'
import {openStore} from './store.js'

/** Envelope fields (what forward adds around a record) the query language knows. */
export const ENVELOPE_FIELDS = ['host', 'app', 'tag', 'level', 'meta.record_id', '_account']

/** Every field a record line can have: header, record, key and envelope fields. */
export const KNOWN_FIELDS: readonly string[] = [...ROW_FIELDS.map((f) => f.name), ...ENVELOPE_FIELDS]

const KNOWN = new Set(KNOWN_FIELDS)

export function queryFieldNames(ast: QueryNode): string[] {
  const out = new Set<string>()
  const visit = (n: QueryNode): void => {
    if (n.type === 'field') out.add(n.field)
    else if (n.type === 'and' || n.type === 'or') n.children.forEach(visit)
    else if (n.type === 'not') visit(n.child)
  }
  visit(ast)
  return [...out]
}

function isKnown(name: string): boolean {
  return KNOWN.has(name) || KNOWN.has(name.toLowerCase()) || name.startsWith('meta.')
}

/** Fields no record in the index has: irregular records are searched for the top-level key. */
async function absentFromIndex(home: Home, names: string[]): Promise<string[]> {
  let store
  try {
    store = await openStore(home, {readOnly: true})
  } catch {
    return names // no index: no record has anything
  }
  try {
    if ((await store.totals()).irregular === 0) return names
    const absent: string[] = []
    for (const name of names) {
      const top = name.split('.')[0]
      const rows = await store.all(`SELECT 1 FROM records WHERE irregular AND strpos(rec_raw, ?) > 0 LIMIT 1`, [JSON.stringify(top)])
      if (rows.length === 0) absent.push(name)
    }
    return absent
  } catch {
    return names
  } finally {
    await store.close()
  }
}

/** Field names of the query that are no known field (without looking into the index for irregular records' own). */
export function unknownQueryFields(query: string): string[] {
  return queryFieldNames(parseQuery(query).ast).filter((f) => !isKnown(f))
}

/** Warnings for the query's unknown fields; with `strict` the first one is a UsageError (exit 2). */
export async function checkQueryFields(home: Home, query: string, options: {strict?: boolean} = {}): Promise<string[]> {
  const unknown = unknownQueryFields(query)
  if (unknown.length === 0) return []
  const absent = await absentFromIndex(home, unknown)
  const messages = absent.map((f) => {
    const n = nearest(f, KNOWN_FIELDS)
    return `no record has a field ${f}${n ? ` (did you mean ${n}?)` : ''}: ${f}:… matches nothing`
  })
  if (options.strict && messages.length) throw new UsageError(messages[0], {suggestions: ['without --strict this is a warning']})
  return messages
}

/** A --fields / --sort / --by name must be a known field (exit 2 with the nearest). `extra`: names the option also takes. */
export function requireKnownField(name: string, flag: string, extra: readonly string[] = []): void {
  if (isKnown(name) || extra.includes(name)) return
  const n = nearest(name, [...extra, ...KNOWN_FIELDS])
  throw new UsageError(`${flag}: unknown field ${name}${n ? ` (did you mean ${n}?)` : ''}`, {
    suggestions: [`known fields: ${[...extra, ...KNOWN_FIELDS].join(', ')}`],
  })
}

/**
 * The checks search runs before anything else: --fields and --sort name known fields (`time` sorts by record time),
 * and the query's field names (warnings, or an error with --strict).
 */
export async function checkSearchInput(home: Home, o: {query: string; strict?: boolean; fields?: string[]; sortField?: string}): Promise<string[]> {
  for (const f of o.fields ?? []) requireKnownField(f, '--fields')
  if (o.sortField !== undefined) requireKnownField(o.sortField, '--sort', ['time', 'bytes'])
  return checkQueryFields(home, o.query, {strict: o.strict})
}
