import type {ChalkInstance} from 'chalk'
import Table from 'cli-table3'
import {join} from 'node:path'

import {compileQuery, type GroupResult, topBy} from '../analysis/aggregate.js'
import {type Home, readJsonFile, writeJsonFile} from '../config/home.js'
import {errorMessage} from '../errors.js'
import {describeRecord} from '../follow/watch.js'
import type {NameMap} from '../names.js'
import type {JsonObject} from '../records/object.js'
import {countMatches, searchRecords} from '../store/search.js'
import {openStore} from '../store/store.js'
import {bar} from './bars.js'
import {formatBytes, formatCount, isoTime} from './format.js'
import {recordTable} from './records.js'

/**
 * `flowlog explore`: type a query, see the newest matching records, pick one to see all its fields, and pivot from
 * it (all traffic from its initiator, why it was rejected, top ports of its target). Prompts are injected (the
 * command passes @inquirer/prompts' input and select, tests pass their own or drive them through streams), so is the
 * data access.
 */
export interface Choice<T> {
  name: string
  value: T
  description?: string
}

/** The shape of @inquirer/prompts' input/select (config, context). */
export interface PromptContext {
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  clearPromptOnDone?: boolean
}

export interface ExplorePrompts {
  input(config: {message: string; default?: string}, context?: PromptContext): Promise<string>
  select<T>(config: {message: string; choices: Choice<T>[]; pageSize?: number; loop?: boolean}, context?: PromptContext): Promise<T>
}

export interface ExploreRecord {
  row: JsonObject
  ts: number | null
}

/** What explore needs from the index. */
export interface ExploreData {
  /** The newest `limit` matches (newest first) and the total. Throws QuerySyntaxError for a bad query. */
  search(query: string, limit: number): Promise<{records: ExploreRecord[]; total: number; warnings: string[]}>
  top(field: string, query: string, limit: number): Promise<GroupResult>
}

export interface ExploreHistory {
  load(): Promise<string[]>
  add(query: string): Promise<void>
}

export interface ExploreOptions {
  prompts: ExplorePrompts
  context?: PromptContext
  data: ExploreData
  history: ExploreHistory
  /** Writes a block of text for the user (tables, details). */
  out: (text: string) => void
  c: ChalkInstance
  names?: NameMap
  /** Bars in unicode (default true). */
  unicode?: boolean
  /** Records per query (default 20). */
  limit?: number
  /** When set, "why was this rejected?" calls it; otherwise the command to run is printed. */
  whyRejected?: (args: string[]) => Promise<void>
  /** First query (skips the first prompt). */
  initialQuery?: string
}

export interface ExploreSummary {
  queries: number
  /** Ended by Ctrl-C (or the end of input) rather than by "quit". */
  interrupted: boolean
}

// ---------------------------------------------------------------------------------------------------------------
// Pivots
// ---------------------------------------------------------------------------------------------------------------

type Pivot = 'initiator' | 'why' | 'top-ports' | 'back' | 'new' | 'quit'

/** Quote a value for a field clause when it is not a plain token. */
export function clauseValue(v: unknown): string {
  const s = String(v)
  return /^[A-Za-z0-9_.@$-]+$/.test(s) && !/^(AND|OR|NOT)$/.test(s) ? s : `"${s.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`
}

export function initiatorQuery(row: JsonObject): string | undefined {
  return row.initiator_ip === undefined || row.initiator_ip === null ? undefined : `initiator_ip:==${clauseValue(row.initiator_ip)}`
}

export function targetQuery(row: JsonObject): string | undefined {
  return row.target_ip === undefined || row.target_ip === null ? undefined : `target_ip:==${clauseValue(row.target_ip)}`
}

/**
 * The why-rejected arguments for a rejected record: the other end of the flow (`--ip`: the initiator of an inbound
 * flow, the target of an outbound one), the service port, the protocol, and our interface's IP (`--target-ip`).
 */
export function whyRejectedArgs(row: JsonObject): string[] {
  const outbound = row.direction === 'O' || row.direction === 'outbound'
  const other = outbound ? row.target_ip : row.initiator_ip
  const ours = outbound ? row.initiator_ip : row.target_ip
  const args: string[] = []
  if (typeof other === 'string') args.push('--ip', other)
  if (typeof row.target_port === 'number') args.push('--port', String(row.target_port))
  const protocol = {6: 'tcp', 17: 'udp', 1: 'icmp'}[row.transport_protocol as number]
  if (protocol) args.push('--protocol', protocol)
  if (typeof ours === 'string') args.push('--target-ip', ours)
  return args
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_.:/=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

function isExitPrompt(error: unknown): boolean {
  const name = (error as {name?: string})?.name
  return name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError'
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------------------

function detail(rec: ExploreRecord, c: ChalkInstance, names?: NameMap): string {
  const keys = Object.keys(rec.row)
  const width = Math.max(...keys.map((k) => k.length))
  const lines = keys.map((k) => {
    const v = rec.row[k]
    const text = typeof v === 'string' ? v : JSON.stringify(v)
    const name = typeof v === 'string' ? names?.get(v) : undefined
    return `  ${c.dim(k.padEnd(width))}  ${text}${name ? ` ${c.cyan(`(${name})`)}` : ''}`
  })
  return [c.bold(`record at ${isoTime(rec.ts) || '(no time)'}`), ...lines].join('\n')
}

function topTable(result: GroupResult, c: ChalkInstance, unicode: boolean): string {
  if (result.rows.length === 0) return c.dim(`  no ${result.by} values`)
  const max = Math.max(...result.rows.map((r) => r.flows))
  const table = new Table({
    head: [result.by, 'flows', 'bytes', ''].map((h) => c.bold(h)),
    colAligns: ['left', 'right', 'right', 'left'],
    style: {head: [], border: [], compact: true},
    chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
  })
  for (const r of result.rows) {
    table.push([typeof r.value === 'string' ? r.value : JSON.stringify(r.value), formatCount(r.flows), formatBytes(r.bytes), c.cyan(bar(r.flows, max, 24, {unicode}))])
  }
  return table.toString()
}

// ---------------------------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------------------------

export async function explore(options: ExploreOptions): Promise<ExploreSummary> {
  const {prompts, context, data, history, out, c, names} = options
  const limit = options.limit ?? 20
  const unicode = options.unicode ?? true
  const summary: ExploreSummary = {queries: 0, interrupted: false}
  let last = options.initialQuery ?? ''
  let pending: string | undefined = options.initialQuery

  const ask = async (): Promise<string | undefined> => {
    for (;;) {
      const q = (await prompts.input({message: "Query ('*' for everything, :h history, :q quit)", default: last}, context)).trim()
      if (q === ':q' || q === 'quit' || q === 'exit') return undefined
      if (q !== ':h') return q
      const past = await history.load()
      if (past.length === 0) {
        out(c.dim('no queries yet'))
        continue
      }
      const picked = await prompts.select<string | null>(
        {message: 'Past queries', choices: [...past.map((p) => ({name: p === '' ? '(everything)' : p, value: p})), {name: 'back', value: null}], pageSize: 15},
        context,
      )
      if (picked !== null) return picked
    }
  }

  /** Run a query and show its table; undefined when it failed or matched nothing. */
  const run = async (query: string): Promise<ExploreRecord[] | undefined> => {
    let result: Awaited<ReturnType<ExploreData['search']>>
    try {
      result = await data.search(query, limit)
    } catch (error) {
      out(c.red(errorMessage(error)))
      return undefined
    }
    summary.queries++
    last = query
    await history.add(query).catch(() => undefined)
    for (const w of result.warnings) out(`${c.yellow('warning:')} ${w}`)
    if (result.records.length === 0) {
      out(c.dim('no records match'))
      return undefined
    }
    out(recordTable(result.records.map((r) => ({row: r.row, time: isoTime(r.ts)})), c, undefined, names))
    out(c.dim(result.total > result.records.length ? `the ${result.records.length} newest of ${formatCount(result.total)} matches` : `${formatCount(result.total)} match${result.total === 1 ? '' : 'es'}`))
    return result.records
  }

  try {
    outer: for (;;) {
      const query = pending ?? (await ask())
      pending = undefined
      if (query === undefined) break
      let records = await run(query)
      while (records) {
        const picked = await prompts.select<number | 'new' | 'quit'>(
          {
            message: 'Pick a record',
            choices: [
              ...records.map((r, i) => ({name: describeRecord(r.row, r.ts, names), value: i})),
              {name: 'New query', value: 'new' as const},
              {name: 'Quit', value: 'quit' as const},
            ],
            pageSize: 12,
          },
          context,
        )
        if (picked === 'quit') break outer
        if (picked === 'new') break
        const rec = records[picked]
        out(detail(rec, c, names))
        const from = initiatorQuery(rec.row)
        const to = targetQuery(rec.row)
        const pivots: Choice<Pivot>[] = []
        if (from) pivots.push({name: `All traffic from this initiator (${from})`, value: 'initiator'})
        if (rec.row.action === 'rejected') pivots.push({name: 'Why was this rejected?', value: 'why'})
        if (to) pivots.push({name: `Top ports for this target (${to})`, value: 'top-ports'})
        pivots.push({name: 'Back to the results', value: 'back'}, {name: 'New query', value: 'new'}, {name: 'Quit', value: 'quit'})
        // Stay on this record until the user leaves it (why and top ports do not change the results).
        pivoting: for (;;) {
          const pivot = await prompts.select<Pivot>({message: 'Next', choices: pivots}, context)
          switch (pivot) {
            case 'initiator': {
              const next = await run(from!)
              if (next) records = next
              break pivoting
            }
            case 'why': {
              const args = whyRejectedArgs(rec.row)
              const command = `flowlog why-rejected ${args.map(shellQuote).join(' ')}`
              if (options.whyRejected) {
                try {
                  await options.whyRejected(args)
                } catch (error) {
                  if (isExitPrompt(error)) throw error
                  out(c.red(errorMessage(error)))
                  out(`run: ${command}`)
                }
              } else out(`To see which rule rejected it and the narrowest fix, run:\n  ${c.cyan(command)}`)
              break
            }
            case 'top-ports': {
              try {
                out(c.bold(`Top target ports for ${to}`))
                out(topTable(await data.top('target_port', to!, 10), c, unicode))
              } catch (error) {
                out(c.red(errorMessage(error)))
              }
              break
            }
            case 'back':
              out(recordTable(records.map((r) => ({row: r.row, time: isoTime(r.ts)})), c, undefined, names))
              break pivoting
            case 'new':
              continue outer
            case 'quit':
              break outer
          }
        }
      }
    }
  } catch (error) {
    if (!isExitPrompt(error)) throw error
    summary.interrupted = true
  }
  return summary
}

// ---------------------------------------------------------------------------------------------------------------
// Defaults: the index and a history file in the home
// ---------------------------------------------------------------------------------------------------------------

export function storeData(home: Home): ExploreData {
  return {
    async search(query, limit) {
      const compiled = compileQuery(query)
      const store = await openStore(home, {readOnly: true})
      try {
        const spec = {...compiled.spec, limit, sort: {field: 'time', desc: true}}
        const records: ExploreRecord[] = []
        for await (const m of searchRecords(store, spec)) records.push({row: m.row ?? (JSON.parse(m.line) as JsonObject), ts: m.ts})
        const total = records.length < limit ? records.length : await countMatches(store, compiled.spec)
        return {records, total, warnings: compiled.warnings}
      } finally {
        await store.close()
      }
    },
    async top(field, query, limit) {
      const compiled = compileQuery(query)
      const store = await openStore(home, {readOnly: true})
      try {
        return await topBy(store, {...compiled.spec, by: field, limit})
      } finally {
        await store.close()
      }
    },
  }
}

export const HISTORY_MAX = 50

export function historyFile(home: Pick<Home, 'root'>): string {
  return join(home.root, 'explore-history.json')
}

/** Query history in `<home>/explore-history.json`, newest first, without duplicates. */
export function fileHistory(path: string, max = HISTORY_MAX): ExploreHistory {
  const load = async () => {
    try {
      const v = await readJsonFile<unknown>(path)
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
    } catch {
      return []
    }
  }
  return {
    load,
    async add(query) {
      const list = [query, ...(await load()).filter((q) => q !== query)].slice(0, max)
      await writeJsonFile(path, list)
    },
  }
}
