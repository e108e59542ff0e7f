/**
 * The state machine of `flowlog explore`: keys and results in, a new state and the effects to run out (a search, a
 * count, a top, a why-rejected, remembering a query, quitting). Pure: no I/O, no terminal; the controller
 * (controller.ts) runs the effects against one open index and feeds the answers back, the app (app.ts) draws the state.
 */
import {parseQuery, QuerySyntaxError} from '../../query/index.js'
import * as L from './line.js'
import {type ExploreRecord, type PivotAction, type PivotItem, pivotItems, type View, type WhyRejectedQuestion} from './pivots.js'

export type Focus = 'query' | 'list' | 'detail'

/** A key, as the app normalises the terminal's input. */
export type Key =
  | {name: 'up' | 'down' | 'left' | 'right' | 'pageup' | 'pagedown' | 'home' | 'end' | 'enter' | 'escape' | 'tab' | 'backspace' | 'delete'}
  | {name: 'char'; ch: string; ctrl?: boolean}

/** A text pane over the detail area: top values or a why-rejected answer. */
export interface Pane {
  title: string
  /** Undefined while it is computed. */
  lines?: string[]
  /** Lines that can be picked (Enter) and the view they lead to. */
  choices?: {line: number; view: View}[]
  cursor: number
  scroll: number
  error?: string
}

/** One entry of the back stack: a view with what it showed. */
export interface Snapshot {
  view: View
  records: ExploreRecord[]
  total?: number
  exhausted: boolean
  selected: number
  scroll: number
  field: number
}

export interface ExploreState extends Snapshot {
  line: L.LineState
  focus: Focus
  /** The view the results belong to; undefined before the first query. */
  started: boolean
  stack: Snapshot[]
  /** A syntax error of the typed query: the caret goes under `position` of `query`. */
  error?: {query: string; position?: number; message: string}
  /** The query that is running (not yet shown). */
  loading?: 'first' | 'more'
  counting: boolean
  menu?: {items: PivotItem[]; index: number}
  pane?: Pane
  help: boolean
  status: string
  /** Increases with every new view: answers for an older one are dropped. */
  generation: number
  /** Rows the list shows at once (set by the app from the terminal size). */
  pageSize: number
  /** Field names for completion. */
  fields: readonly string[]
  quit?: {code: number}
  /** Following a source: new matches arrive on their own. */
  live?: string
  /** Records fetched at a time. */
  chunk: number
}

export type Effect =
  | {type: 'search'; generation: number; view: View; after?: ExploreRecord; seenAtTs: number; limit: number}
  | {type: 'count'; generation: number; view: View}
  | {type: 'top'; generation: number; view: View; field: string}
  | {type: 'why'; generation: number; question: WhyRejectedQuestion}
  | {type: 'remember'; query: string}
  | {type: 'quit'; code: number}

export type Action =
  | {type: 'key'; key: Key}
  | {type: 'start'; query?: string}
  | {type: 'results'; generation: number; records: ExploreRecord[]; exhausted: boolean; warnings?: string[]}
  | {type: 'count'; generation: number; total: number}
  | {type: 'failed'; generation: number; message: string; position?: number; query?: string}
  | {type: 'pane'; generation: number; lines: string[]; choices?: {line: number; view: View}[]; error?: string}
  | {type: 'live'; records: ExploreRecord[]; status?: string}
  | {type: 'status'; text: string}
  | {type: 'resize'; pageSize: number}
  /** The index changed under the view (a follow catch-up): run it again in place. */
  | {type: 'refresh'}

/** Records fetched per query (the list asks for more when the selection comes near the end). */
export const CHUNK = 200

export function initialState(options: {history?: string[]; fields?: readonly string[]; pageSize?: number; query?: string; live?: string; chunk?: number} = {}): ExploreState {
  return {
    view: {query: ''},
    records: [],
    exhausted: true,
    selected: 0,
    scroll: 0,
    field: 0,
    line: L.lineState(options.query ?? '', options.history ?? []),
    focus: 'query',
    started: false,
    stack: [],
    counting: false,
    help: false,
    status: 'type a query (Log Analysis syntax; empty for everything), Enter to run, Tab completes field names, ? for keys',
    generation: 0,
    pageSize: options.pageSize ?? 20,
    fields: options.fields ?? [],
    live: options.live,
    chunk: options.chunk ?? CHUNK,
  }
}

type Step = [ExploreState, Effect[]]

/** The fields people look at first; then the record's other fields in its own order. */
const FIRST_FIELDS = [
  'start_time', 'end_time', 'action', 'direction', 'initiator_ip', 'initiator_port', 'target_ip', 'target_port', 'transport_protocol',
  'was_initiated', 'was_terminated', 'bytes_from_initiator', 'bytes_from_target', 'packets_from_initiator', 'packets_from_target',
]

/** The fields the detail pane lists for a record: the flow's own first, then the rest in the record's order. */
export function detailFields(rec: ExploreRecord | undefined): string[] {
  if (!rec) return []
  const keys = Object.keys(rec.row)
  const first = FIRST_FIELDS.filter((f) => f in rec.row)
  return [...first, ...keys.filter((k) => !first.includes(k))]
}

export function selectedRecord(s: ExploreState): ExploreRecord | undefined {
  return s.records[s.selected]
}

export function selectedField(s: ExploreState): string | undefined {
  return detailFields(selectedRecord(s))[s.field]
}

function snapshot(s: ExploreState): Snapshot {
  return {view: s.view, records: s.records, total: s.total, exhausted: s.exhausted, selected: s.selected, scroll: s.scroll, field: s.field}
}

function searchEffect(s: ExploreState, more: boolean): Effect {
  const last = more ? s.records[s.records.length - 1] : undefined
  const seenAtTs = last ? s.records.filter((r) => r.ts === last.ts).length : 0
  return {type: 'search', generation: s.generation, view: s.view, after: last, seenAtTs, limit: s.chunk}
}

/** Syntax check before anything runs: the typed query stays, the caret goes under the column. */
function syntaxError(query: string): ExploreState['error'] | undefined {
  try {
    parseQuery(query)
    return undefined
  } catch (error) {
    if (error instanceof QuerySyntaxError) return {query, position: error.position, message: `${error.reason}${error.hint ? ` (${error.hint})` : ''}`}
    return {query, message: (error as Error).message}
  }
}

/** Show a new view (pushing the current one on the back stack). */
export function openView(s: ExploreState, view: View, options: {push?: boolean} = {}): Step {
  const error = syntaxError(view.query)
  if (error) return [{...s, error, focus: 'query', line: L.moveCursor({...s.line, text: view.query}, error.position ?? view.query.length)}, []]
  const stack = s.started && options.push !== false ? [...s.stack, snapshot(s)] : s.stack
  const next: ExploreState = {
    ...s,
    view,
    stack,
    started: true,
    records: [],
    total: undefined,
    exhausted: false,
    selected: 0,
    scroll: 0,
    field: 0,
    error: undefined,
    menu: undefined,
    pane: undefined,
    loading: 'first',
    counting: false,
    focus: 'list',
    generation: s.generation + 1,
    line: {...L.lineState(view.query, L.remember(s.line.history, view.query))},
    status: 'searching…',
  }
  return [next, [searchEffect(next, false), {type: 'remember', query: view.query}]]
}

/** Esc on the list: back to the previous view, as it was. */
function back(s: ExploreState): Step {
  const prev = s.stack[s.stack.length - 1]
  if (!prev) return [{...s, status: 'nothing to go back to (q quits)'}, []]
  const next: ExploreState = {
    ...s,
    ...prev,
    stack: s.stack.slice(0, -1),
    loading: undefined,
    counting: false,
    generation: s.generation + 1,
    line: L.lineState(prev.view.query, s.line.history),
    focus: 'list',
    error: undefined,
    status: 'back',
  }
  // The previous view was left before its count or all its records came: ask again.
  const effects: Effect[] = []
  if (next.total === undefined && !next.exhausted) effects.push({type: 'count', generation: next.generation, view: next.view})
  return [{...next, counting: effects.length > 0}, effects]
}

function clampSelection(s: ExploreState, selected: number): ExploreState {
  const n = s.records.length
  const sel = n === 0 ? 0 : Math.max(0, Math.min(selected, n - 1))
  let scroll = s.scroll
  if (sel < scroll) scroll = sel
  if (sel >= scroll + s.pageSize) scroll = sel - s.pageSize + 1
  scroll = Math.max(0, Math.min(scroll, Math.max(0, n - s.pageSize)))
  return {...s, selected: sel, scroll, field: sel === s.selected ? s.field : Math.min(s.field, Math.max(0, detailFields(s.records[sel]).length - 1))}
}

/** Move the selection; ask for more records when it comes within a page of the end. */
function select(s: ExploreState, selected: number): Step {
  const next = clampSelection(s, selected)
  if (!next.exhausted && !next.loading && next.selected + next.pageSize >= next.records.length) {
    const loading: ExploreState = {...next, loading: 'more'}
    return [loading, [searchEffect(loading, true)]]
  }
  return [next, []]
}

function runPivot(s: ExploreState, action: PivotAction | undefined, item?: PivotItem): Step {
  if (!action) return [{...s, menu: undefined, status: item?.unavailable ? `${item.label.trim()}: ${item.unavailable}` : s.status}, []]
  switch (action.kind) {
    case 'view':
      return openView({...s, menu: undefined}, action.view)
    case 'top': {
      const generation = s.generation
      return [{...s, menu: undefined, pane: {title: `top values of ${action.field}${action.view.query ? ` for ${action.view.query}` : ''}`, cursor: 0, scroll: 0}}, [{type: 'top', generation, view: action.view, field: action.field}]]
    }
    case 'why':
      return [
        {...s, menu: undefined, pane: {title: `why rejected? ${action.question.ip}${action.question.port === undefined ? '' : ` port ${action.question.port}`}`, cursor: 0, scroll: 0}},
        [{type: 'why', generation: s.generation, question: action.question}],
      ]
  }
}

function pivots(s: ExploreState): PivotItem[] {
  const rec = selectedRecord(s)
  return rec ? pivotItems(rec, selectedField(s), s.view) : []
}

/** A pivot key pressed in the list or the detail pane. */
function pivotKey(s: ExploreState, ch: string): Step | undefined {
  const item = pivots(s).find((i) => i.key === ch || (ch === '=' && i.key === '+'))
  return item ? runPivot(s, item.action, item) : undefined
}

function onQueryKey(s: ExploreState, key: Key): Step {
  const line = s.line
  const set = (l: L.LineState, extra: Partial<ExploreState> = {}): Step => [{...s, line: l, ...extra}, []]
  switch (key.name) {
    case 'enter':
      return openView(s, {query: line.text.trim()})
    case 'escape':
      // Back to the results, the line as the results' query (an edit or a broken query is left).
      if (!s.started) return set(line, {status: 'type a query and Enter (q quits from the list; Ctrl-C quits here)'})
      return set(L.lineState(s.view.query, line.history), {focus: 'list', error: undefined})
    case 'up':
      return set(L.historyUp(line))
    case 'down':
      return set(L.historyDown(line))
    case 'left':
      return set(L.moveCursor(line, line.cursor - 1))
    case 'right':
      return set(L.moveCursor(line, line.cursor + 1))
    case 'home':
      return set(L.moveCursor(line, 0))
    case 'end':
      return set(L.moveCursor(line, line.text.length))
    case 'backspace':
      return set(L.backspace(line))
    case 'delete':
      return set(L.deleteForward(line))
    case 'tab': {
      const {line: next, candidates} = L.complete(line, s.fields)
      const status = candidates.length === 0 ? 'no field name to complete here' : candidates.length === 1 ? `field ${candidates[0]}` : `fields: ${candidates.join(' ')}`
      return set(next, {status})
    }
    case 'pageup':
    case 'pagedown':
      return [s, []]
    case 'char': {
      if (key.ctrl) {
        if (key.ch === 'a') return set(L.moveCursor(line, 0))
        if (key.ch === 'e') return set(L.moveCursor(line, line.text.length))
        if (key.ch === 'u') return set(L.clear(line))
        if (key.ch === 'w') return set(L.deleteWord(line))
        return [s, []]
      }
      return set(L.insert(line, key.ch))
    }
  }
}

function onListKey(s: ExploreState, key: Key): Step {
  const detail = s.focus === 'detail'
  const nFields = detailFields(selectedRecord(s)).length
  const moveField = (f: number): Step => [{...s, field: Math.max(0, Math.min(f, nFields - 1))}, []]
  switch (key.name) {
    case 'up':
      return detail ? moveField(s.field - 1) : select(s, s.selected - 1)
    case 'down':
      return detail ? moveField(s.field + 1) : select(s, s.selected + 1)
    case 'pageup':
      return select(s, s.selected - s.pageSize)
    case 'pagedown':
      return select(s, s.selected + s.pageSize)
    case 'home':
      return detail ? moveField(0) : select(s, 0)
    case 'end':
      return detail ? moveField(nFields - 1) : select(s, s.records.length - 1)
    case 'enter':
      if (!selectedRecord(s)) return [s, []]
      if (!detail) return [{...s, focus: 'detail', status: 'Up/Down: a field · Enter: pivots on it · + - c t w s: pivot directly · Esc: back to the list'}, []]
      return [{...s, menu: {items: pivots(s), index: 0}}, []]
    case 'right':
    case 'tab':
      return selectedRecord(s) ? [{...s, focus: 'detail'}, []] : [s, []]
    case 'left':
      return [{...s, focus: 'list'}, []]
    case 'escape':
      return detail ? [{...s, focus: 'list'}, []] : back(s)
    case 'backspace':
    case 'delete':
      return [s, []]
    case 'char': {
      if (key.ctrl) return [s, []]
      if (key.ch === 'q') return quit(s, 0)
      if (key.ch === '?') return [{...s, help: true}, []]
      if (key.ch === '/' || key.ch === ':') return [{...s, focus: 'query', line: L.moveCursor(s.line, s.line.text.length)}, []]
      if (key.ch === 'j') return onListKey(s, {name: 'down'})
      if (key.ch === 'k') return onListKey(s, {name: 'up'})
      if (key.ch === 'g') return onListKey(s, {name: 'home'})
      if (key.ch === 'G') return onListKey(s, {name: 'end'})
      return pivotKey(s, key.ch) ?? [s, []]
    }
  }
}

function onMenuKey(s: ExploreState, key: Key): Step {
  const menu = s.menu!
  const move = (i: number): Step => [{...s, menu: {...menu, index: Math.max(0, Math.min(i, menu.items.length - 1))}}, []]
  if (key.name === 'up') return move(menu.index - 1)
  if (key.name === 'down') return move(menu.index + 1)
  if (key.name === 'escape' || key.name === 'left') return [{...s, menu: undefined}, []]
  if (key.name === 'enter') return runPivot(s, menu.items[menu.index]?.action, menu.items[menu.index])
  if (key.name === 'char' && !key.ctrl) {
    if (key.ch === 'q') return quit(s, 0)
    const item = menu.items.find((i) => i.key === key.ch)
    if (item) return runPivot(s, item.action, item)
  }
  return [s, []]
}

function onPaneKey(s: ExploreState, key: Key): Step {
  const pane = s.pane!
  const choices = pane.choices ?? []
  const lines = pane.lines?.length ?? 0
  const height = Math.max(1, s.pageSize)
  const scrollTo = (line: number): number => Math.max(0, Math.min(line < pane.scroll ? line : line >= pane.scroll + height ? line - height + 1 : pane.scroll, Math.max(0, lines - height)))
  const withPane = (p: Partial<Pane>): Step => [{...s, pane: {...pane, ...p}}, []]
  if (key.name === 'escape' || key.name === 'left') return [{...s, pane: undefined}, []]
  if (key.name === 'up' || key.name === 'down') {
    if (choices.length) {
      const cursor = Math.max(0, Math.min(pane.cursor + (key.name === 'up' ? -1 : 1), choices.length - 1))
      return withPane({cursor, scroll: scrollTo(choices[cursor].line)})
    }
    return withPane({scroll: Math.max(0, Math.min(pane.scroll + (key.name === 'up' ? -1 : 1), Math.max(0, lines - height)))})
  }
  if (key.name === 'pageup' || key.name === 'pagedown') {
    return withPane({scroll: Math.max(0, Math.min(pane.scroll + (key.name === 'pageup' ? -height : height), Math.max(0, lines - height)))})
  }
  if (key.name === 'enter' && choices[pane.cursor]) return openView({...s, pane: undefined}, choices[pane.cursor].view)
  if (key.name === 'char' && !key.ctrl && key.ch === 'q') return quit(s, 0)
  return [s, []]
}

function quit(s: ExploreState, code: number): Step {
  return [{...s, quit: {code}}, [{type: 'quit', code}]]
}

export function reduce(s: ExploreState, action: Action): Step {
  switch (action.type) {
    case 'start':
      return action.query === undefined ? [s, []] : openView(s, {query: action.query})
    case 'resize':
      return [clampSelection({...s, pageSize: Math.max(1, action.pageSize)}, s.selected), []]
    case 'status':
      return [{...s, status: action.text}, []]
    case 'refresh':
      if (!s.started || s.focus === 'query') return [s, []]
      return openView({...s, line: {...s.line, text: s.view.query}}, s.view, {push: false})
    case 'results': {
      if (action.generation !== s.generation) return [s, []]
      const first = s.loading === 'first'
      const records = first ? action.records : [...s.records, ...action.records]
      let next: ExploreState = {...s, records, exhausted: action.exhausted, loading: undefined}
      const effects: Effect[] = []
      if (action.exhausted) next.total = records.length
      else if (first) {
        next.counting = true
        effects.push({type: 'count', generation: s.generation, view: s.view})
      }
      if (first) next.status = records.length === 0 ? 'no records match' : (action.warnings ?? []).join('; ') || 'Enter: the record · / : edit the query · Esc: back · ? keys'
      next = clampSelection(next, next.selected)
      return [next, effects]
    }
    case 'count':
      if (action.generation !== s.generation) return [s, []]
      return [{...s, total: Math.max(action.total, s.records.length), counting: false}, []]
    case 'failed':
      if (action.generation !== s.generation) return [s, []]
      if (action.position !== undefined) {
        const query = action.query ?? s.view.query
        return [{...s, loading: undefined, counting: false, focus: 'query', error: {query, position: action.position, message: action.message}, line: L.moveCursor({...s.line, text: query}, action.position)}, []]
      }
      if (s.pane && s.pane.lines === undefined) return [{...s, pane: {...s.pane, lines: [], error: action.message}}, []]
      return [{...s, loading: undefined, counting: false, status: `error: ${action.message}`}, []]
    case 'pane':
      if (action.generation !== s.generation || !s.pane) return [s, []]
      return [{...s, pane: {...s.pane, lines: action.lines, choices: action.choices, error: action.error, cursor: 0, scroll: 0}}, []]
    case 'live': {
      if (!s.started || action.records.length === 0) return [action.status ? {...s, status: action.status} : s, []]
      // Newest first: new matches go on top; the selected record stays selected unless it was the newest.
      const fresh = [...action.records].sort((a, b) => (b.ts ?? -Infinity) - (a.ts ?? -Infinity))
      const atTop = s.selected === 0 && s.scroll === 0
      const records = [...fresh, ...s.records]
      const shifted = atTop ? 0 : s.selected + fresh.length
      const next = clampSelection({...s, records, total: s.total === undefined ? undefined : s.total + fresh.length, scroll: atTop ? 0 : s.scroll + fresh.length}, shifted)
      return [{...next, status: action.status ?? `${fresh.length} new`}, []]
    }
    case 'key': {
      const key = action.key
      if (key.name === 'char' && key.ctrl && key.ch === 'c') return quit(s, 130)
      if (s.help) return key.name === 'char' && key.ch === 'q' ? quit(s, 0) : [{...s, help: false}, []]
      if (s.focus === 'query') return onQueryKey(s, key)
      if (s.menu) return onMenuKey(s, key)
      if (s.pane) return onPaneKey(s, key)
      return onListKey(s, key)
    }
  }
}

/** The keys, for `?`. */
export const HELP: [string, string][] = [
  ['/ or :', 'edit the query (Enter runs it; Up/Down: history; Tab: complete a field name; Ctrl-U clears)'],
  ['Up/Down, j/k', 'move in the list (or between fields in the detail pane)'],
  ['PgUp/PgDn, g/G', 'a page up/down, first/last record (newest first)'],
  ['Enter, Tab, Right', 'into the detail pane; Enter there: the pivots on that field'],
  ['+  or  =', 'filter in: only records with this value of the field'],
  ['-', 'filter out: leave this value of the field out'],
  ['c', 'same connection: every record of the 5-tuple'],
  ['t', '± 5 minutes: everything around the record'],
  ['w', 'why rejected? (the triage verdict, and the fix unless it is a scanner)'],
  ['s', 'top values of the field for this query (Enter on one filters in)'],
  ['Esc', 'back: closes a pane or menu, leaves the detail pane, returns to the previous query'],
  ['?', 'this help'],
  ['q', 'quit (Ctrl-C also quits, from anywhere)'],
]
