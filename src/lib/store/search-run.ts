import type {JsonObject} from '../records/object.js'
import type {RecordWriter} from '../ui/records.js'
import {phase} from '../profile.js'
import {ipPrefixHint} from './query-search.js'
import {anyPrefixMatch, copyLines, countMatches, type MatchedRecord, searchRecords, type SearchSpec, type SortSpec} from './search.js'
import type {Store} from './store.js'

/**
 * `flowlog search` over the index (or records a remote gave): the default order, the records through one writer, the
 * count of all matches after the page, and the prefix hint (docs/query-language.md §2).
 */

/**
 * The order when --sort is not given: newest first for what people read (the table, JSON, a first page), oldest first
 * for an export (`--limit 0` as NDJSON or CSV), which is read in time order like a log (docs/cli.md, "Order").
 */
export function defaultSort(output: string, limit: number): SortSpec {
  const exporting = limit === 0 && (output === 'ndjson' || output === 'csv')
  return {field: 'time', desc: !exporting}
}

type RecordIn = Pick<MatchedRecord, 'line' | 'ts' | 'row'>

export interface RunSearchOptions {
  store?: Store
  /** Records from a remote instead of the index (already in order, at most `limit`), with their total. */
  remote?: {records: Iterable<RecordIn> | AsyncIterable<RecordIn>; total: number}
  spec: SearchSpec
  writer: RecordWriter
  /** ndjson without --fields into a pipe: DuckDB writes the lines to this file itself. */
  directTo?: string
  hint?: ReturnType<typeof ipPrefixHint>
  /** The query's IP clauses a prefix can match (CompiledSearch.ipPrefixClauses). */
  prefixClauses?: {field: string; value: string}[]
  /** The page (0 = all). */
  limit: number
}

export interface RunSearchResult {
  emitted: number
  total: number
  truncated: boolean
  /** Some matches were matched by an IP prefix only (say the hint). */
  prefixSeen: boolean
  /** The reader went away (`| head`). */
  closed: boolean
}

const isBrokenPipe = (error: unknown) => /broken pipe|EPIPE/i.test((error as Error).message)
const cannotOpen = (error: unknown) => /cannot open|could not open|no such file|permission denied/i.test((error as Error).message)

export async function runSearch(o: RunSearchOptions): Promise<RunSearchResult> {
  const {store, remote, spec, writer, hint} = o
  const result: RunSearchResult = {emitted: 0, total: 0, truncated: false, prefixSeen: false, closed: false}
  let direct: number | undefined
  try {
    direct = store && o.directTo ? await copyLines(store, spec, o.directTo) : undefined
  } catch (error) {
    if (isBrokenPipe(error)) return {...result, closed: true}
    // The target cannot be opened here (some sandboxes): nothing was written, stream through JavaScript instead.
    if (!cannotOpen(error)) throw error
  }
  if (direct !== undefined) {
    result.emitted = direct
    if (hint) result.prefixSeen = await anyPrefixMatch(store!, spec, o.prefixClauses ?? [])
  }
  phase('totals')
  if (direct === undefined) {
    for await (const m of remote ? remote.records : searchRecords(store!, spec)) {
      if (result.emitted === 0) phase('first match')
      // The prefix hint looks at the first records only: enough to notice, cheap on big results.
      const checkHint = hint !== undefined && !result.prefixSeen && result.emitted < 1000
      const row = m.row ?? (writer.needsRow || checkHint ? (JSON.parse(m.line) as JsonObject) : undefined)
      if (checkHint && row && hint.matchedByPrefix(row)) result.prefixSeen = true
      await writer.push(m.line, row, m.ts)
      result.emitted++
    }
  }
  writer.end(direct ?? 0)
  phase(`${result.emitted} rows written`)
  result.total = result.emitted
  // The page is out before the count of all matches is made.
  if (o.limit > 0 && result.emitted >= o.limit) {
    result.total = remote ? remote.total : await countMatches(store!, spec)
    result.truncated = result.total > result.emitted
    phase('counted')
  }
  return result
}
