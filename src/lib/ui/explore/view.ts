/**
 * What each part of the explore screen shows, as lines of text for a given size: pure functions of the state, so the
 * app (app.ts) only lays them out with Ink and the tests can read them.
 */
import type {ChalkInstance} from 'chalk'

import {followLine} from '../../follow/search.js'
import type {NameMap} from '../../names.js'
import {formatCount, isoTime} from '../format.js'
import {visibleLine} from './line.js'
import {detailFields, type ExploreState, HELP, selectedRecord} from './state.js'

export const PROMPT = 'query› '

export interface Layout {
  /** Rows of the result list. */
  list: number
  /** Rows of the detail pane (or of a menu, a pane, the help). */
  detail: number
}

/** query + status + list box (2 borders) + detail box (2 borders) + keys line, inside rows - 1. */
export function layout(rows: number): Layout {
  const inner = Math.max(2, rows - 1 - 7)
  const list = Math.max(1, Math.floor(inner * 0.45))
  return {list, detail: Math.max(1, inner - list)}
}

/** The query line (the cursor drawn inverse when the line has the focus) and the line under it. */
export function queryLines(s: ExploreState, cols: number, c: ChalkInstance): {query: string; under: string} {
  const width = Math.max(4, cols - PROMPT.length - 1)
  const errorPos = s.error && s.error.query === s.line.text ? s.error.position : undefined
  const {offset, shown} = visibleLine(s.line.text, s.focus === 'query' ? s.line.cursor : errorPos ?? s.line.cursor, width)
  let text = shown
  if (s.focus === 'query') {
    const at = s.line.cursor - offset
    text = shown.slice(0, at) + c.inverse(shown[at] ?? ' ') + shown.slice(at + 1)
  }
  const label = s.view.label && s.started && s.line.text === s.view.query ? c.cyan(`  [${s.view.label}]`) : ''
  const query = c.bold(PROMPT) + text + label
  // The error stays while the line holds the query it is about (an edit hides it).
  if (s.error && s.error.query === s.line.text) {
    const pos = errorPos ?? s.line.text.length
    const col = PROMPT.length + Math.max(0, pos - offset)
    return {query, under: c.red(`${' '.repeat(col)}^ ${s.error.message}`)}
  }
  return {query, under: c.dim(statusLine(s))}
}

export function statusLine(s: ExploreState): string {
  const parts: string[] = []
  if (s.started) {
    if (s.loading === 'first') parts.push('searching…')
    else if (s.records.length === 0) parts.push('no records match')
    else {
      const of = s.total !== undefined ? formatCount(s.total) : s.counting ? 'counting…' : '?'
      parts.push(`record ${formatCount(s.selected + 1)} of ${of} · newest first`)
    }
  }
  if (s.live) parts.push(s.live)
  if (s.status && s.status !== 'searching…') parts.push(s.status)
  return parts.join(' · ')
}

/** The visible rows of the result list, the selected one marked. */
export function listLines(s: ExploreState, height: number, c: ChalkInstance, names?: NameMap): string[] {
  if (!s.started) return [c.dim('no query yet: type one above and press Enter (empty: everything)')]
  const out: string[] = []
  for (let i = s.scroll; i < Math.min(s.records.length, s.scroll + height); i++) {
    const r = s.records[i]
    const line = followLine(r.row, r.ts, c, names)
    out.push(i === s.selected ? (s.focus === 'list' ? c.inverse(`› ${line}`) : c.bold(`› ${line}`)) : `  ${line}`)
  }
  if (out.length === 0) out.push(c.dim(s.loading ? 'searching…' : 'no records match (Esc: back, / : edit the query)'))
  if (s.loading === 'more' && out.length < height) out.push(c.dim('loading more…'))
  return out
}

function valueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** The detail pane: the selected record's fields (the selected field marked), or a menu, a pane, the help. */
export function detailLines(s: ExploreState, height: number, c: ChalkInstance, names?: NameMap): {title: string; lines: string[]} {
  if (s.help) return {title: 'keys (any key closes)', lines: HELP.map(([k, d]) => `${c.bold(k.padEnd(18))} ${d}`)}
  if (s.menu) {
    return {
      title: 'pivots (Enter or the key; Esc closes)',
      lines: s.menu.items.map((it, i) => {
        const text = `${it.key}  ${it.label}${it.unavailable ? c.dim(` — ${it.unavailable}`) : ''}`
        return i === s.menu!.index ? c.inverse(`› ${text}`) : it.unavailable ? c.dim(`  ${text}`) : `  ${text}`
      }),
    }
  }
  if (s.pane) {
    const p = s.pane
    if (p.lines === undefined) return {title: p.title, lines: [c.dim('working…')]}
    if (p.error) return {title: p.title, lines: [c.red(p.error), c.dim('Esc: back')]}
    const chosen = p.choices?.[p.cursor]?.line
    const marked = chosen !== undefined
    return {title: `${p.title} (Esc: back)`, lines: p.lines.slice(p.scroll, p.scroll + height).map((l, i) => (i + p.scroll === chosen ? c.inverse(`› ${l}`) : marked ? `  ${l}` : l))}
  }
  const rec = selectedRecord(s)
  if (!rec) return {title: 'record', lines: []}
  const fields = detailFields(rec)
  const w = Math.min(30, Math.max(...fields.map((f) => f.length)))
  // Keep the selected field in sight.
  const start = Math.max(0, Math.min(s.field - Math.floor(height / 2), fields.length - height))
  const lines = fields.slice(start, start + height).map((f, k) => {
    const i = start + k
    const v = rec.row[f]
    const name = typeof v === 'string' ? names?.get(v) : undefined
    const text = `${f.padEnd(w)}  ${valueText(v)}${name ? ` (${name})` : ''}`
    // The marker shows the selected field without colour too (NO_COLOR).
    if (i === s.field) return s.focus === 'detail' ? c.inverse(`› ${text}`) : c.bold(`  ${text}`)
    return `  ${c.dim(f.padEnd(w))}  ${valueText(v)}${name ? c.cyan(` (${name})`) : ''}`
  })
  return {title: `record at ${isoTime(rec.ts) || '(no time)'} · ${formatCount(fields.length)} fields`, lines}
}

export function keysLine(s: ExploreState): string {
  if (s.focus === 'query') return 'Enter run · Up/Down history · Tab complete · Esc back · Ctrl-C quit'
  if (s.menu) return 'Up/Down · Enter · + - c t w s · Esc close'
  if (s.pane) return 'Up/Down · PgUp/PgDn · Enter (on a value) · Esc back · q quit'
  return '/ query · Up/Down PgUp/PgDn · Enter detail/pivots · + - c t w s pivot · Esc back · ? keys · q quit'
}
