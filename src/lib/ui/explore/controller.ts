/**
 * Runs the state machine (state.ts) against the data (session.ts): dispatch an action, run the effects it asks for,
 * dispatch their answers. No terminal here: the app subscribes to the state, tests drive it with keys.
 */
import type {ChalkInstance} from 'chalk'

import type {GroupResult} from '../../analysis/aggregate.js'
import type {WhyRejectedResult} from '../../analysis/why-rejected.js'
import {errorMessage} from '../../errors.js'
import {QuerySyntaxError} from '../../query/index.js'
import {bar} from '../bars.js'
import {formatBytes, formatCount} from '../format.js'
import {renderWhyRejected} from '../why-rejected.js'
import {filterIn, type ExploreRecord, type View} from './pivots.js'
import type {ExploreData} from './session.js'
import {type Action, type Effect, type ExploreState, initialState, type Key, reduce} from './state.js'

export interface ExploreHistory {
  load(): Promise<string[]>
  add(query: string): Promise<void>
}

export interface ControllerOptions {
  data: ExploreData
  history?: ExploreHistory
  c: ChalkInstance
  fields: readonly string[]
  pageSize?: number
  unicode?: boolean
  live?: string
  chunk?: number
}

/** Top values as pane lines, each one a choice that filters the view in on its value. */
export function topPane(result: GroupResult, view: View, c: ChalkInstance, unicode = true): {lines: string[]; choices: {line: number; view: View}[]} {
  if (result.rows.length === 0) return {lines: [c.dim(`no ${result.by} values`)], choices: []}
  const values = result.rows.map((r) => (typeof r.value === 'string' ? r.value : JSON.stringify(r.value)))
  const w = Math.min(40, Math.max(result.by.length, ...values.map((v) => v.length)))
  const max = Math.max(...result.rows.map((r) => r.flows))
  const lines = [c.bold(`${result.by.padEnd(w)}  ${'records'.padStart(9)}  ${'bytes'.padStart(9)}`)]
  const choices: {line: number; view: View}[] = []
  result.rows.forEach((r, i) => {
    choices.push({line: lines.length, view: filterIn(view, result.by, r.value)})
    lines.push(`${values[i].slice(0, w).padEnd(w)}  ${formatCount(r.flows).padStart(9)}  ${formatBytes(r.bytes).padStart(9)}  ${c.cyan(bar(r.flows, max, 20, {unicode}))}`)
  })
  const rest = result.groups - result.rows.length
  lines.push(c.dim(`${formatCount(result.records)} records${result.missing ? `, ${formatCount(result.missing)} without ${result.by}` : ''}${rest > 0 ? `, ${formatCount(rest)} more values` : ''} · Enter filters in`))
  return {lines, choices}
}

/** The verdicts first (the triage verdict of each finding and whether a fix is proposed), then the full answer. */
export function whyPane(result: WhyRejectedResult, c: ChalkInstance): string[] {
  const head = result.findings.map((f) => {
    const fix = f.fix === null ? `no fix: ${f.triage.verdict === 'scanning' ? 'a scanner' : 'background noise'} (the rejection is working as intended)` : f.fix.length ? `fix: ${f.fix.map((x) => x.diff).join('; ')}` : 'no fix needed'
    return c.bold(`${f.peer_ip} → ${f.target_ip}:${f.port ?? '-'} · ${f.verdict} · triage: ${f.triage.verdict} · ${fix}`)
  })
  return [...head, '', ...renderWhyRejected(result, c).split('\n')]
}

export class ExploreController {
  state: ExploreState
  private readonly listeners = new Set<(s: ExploreState) => void>()
  private resolveQuit!: (code: number) => void
  /** Resolves with the exit code when the user quits. */
  readonly quitted: Promise<number>
  private readonly pending = new Set<Promise<void>>()

  constructor(private readonly o: ControllerOptions) {
    this.state = initialState({fields: o.fields, pageSize: o.pageSize, live: o.live, chunk: o.chunk})
    this.quitted = new Promise((resolve) => (this.resolveQuit = resolve))
  }

  /** Load the history, then run the first query (when given). */
  async start(query?: string): Promise<void> {
    const history = (await this.o.history?.load().catch(() => [])) ?? []
    this.state = {...this.state, line: {...this.state.line, history}}
    this.dispatch({type: 'start', query})
    if (query === undefined) this.notify()
  }

  subscribe(listener: (s: ExploreState) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  key(key: Key): void {
    this.dispatch({type: 'key', key})
  }

  dispatch(action: Action): void {
    const [next, effects] = reduce(this.state, action)
    this.state = next
    this.notify()
    for (const e of effects) this.track(this.run(e))
  }

  /** New records from a follow round: the current view's matches go on top of the list. */
  live(records: ExploreRecord[], status?: string): void {
    const view = this.state.view
    this.dispatch({type: 'live', records: this.state.started ? this.o.data.filter(view, records) : [], status})
  }

  /** Every effect started so far has finished (tests). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending])
  }

  private notify(): void {
    for (const l of this.listeners) l(this.state)
  }

  private track(p: Promise<void>): void {
    this.pending.add(p)
    void p.finally(() => this.pending.delete(p))
  }

  private failed(generation: number, error: unknown, query?: string): void {
    if (error instanceof QuerySyntaxError) this.dispatch({type: 'failed', generation, message: `${error.reason}${error.hint ? ` (${error.hint})` : ''}`, position: error.position, query: query ?? error.query})
    else this.dispatch({type: 'failed', generation, message: errorMessage(error)})
  }

  private async run(e: Effect): Promise<void> {
    const {data, c} = this.o
    try {
      switch (e.type) {
        case 'search': {
          const page = await data.search(e.view, {after: e.after, seenAtTs: e.seenAtTs, offset: this.state.records.length, limit: e.limit})
          this.dispatch({type: 'results', generation: e.generation, records: page.records, exhausted: page.exhausted, warnings: page.warnings})
          return
        }
        case 'count':
          this.dispatch({type: 'count', generation: e.generation, total: await data.count(e.view)})
          return
        case 'top': {
          const {lines, choices} = topPane(await data.top(e.view, e.field, 20), e.view, c, this.o.unicode ?? true)
          this.dispatch({type: 'pane', generation: e.generation, lines, choices})
          return
        }
        case 'why':
          this.dispatch({type: 'pane', generation: e.generation, lines: whyPane(await data.why(e.question), c)})
          return
        case 'remember':
          await this.o.history?.add(e.query).catch(() => undefined)
          return
        case 'quit':
          this.resolveQuit(e.code)
          return
      }
    } catch (error) {
      this.failed('generation' in e ? e.generation : this.state.generation, error, 'view' in e ? e.view.query : undefined)
    }
  }
}
