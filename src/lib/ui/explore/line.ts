/**
 * The query line of `flowlog explore`: editing, history (Up/Down) and field-name completion (Tab). Pure functions.
 */

export interface LineState {
  text: string
  cursor: number
  /** Past queries, newest first. */
  history: string[]
  /** -1: editing the draft; otherwise the history entry shown. */
  historyIndex: number
  /** What was typed before Up was first pressed. */
  draft: string
  /** Open completion (repeated Tab cycles through the candidates). */
  completion?: {start: number; end: number; candidates: string[]; index: number}
}

export function lineState(text = '', history: string[] = []): LineState {
  return {text, cursor: text.length, history, historyIndex: -1, draft: text}
}

function edited(s: LineState, text: string, cursor: number): LineState {
  return {...s, text, cursor: Math.max(0, Math.min(cursor, text.length)), completion: undefined}
}

export function insert(s: LineState, chars: string): LineState {
  const clean = chars.replace(/[\r\n\t]/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '')
  if (!clean) return s
  return edited(s, s.text.slice(0, s.cursor) + clean + s.text.slice(s.cursor), s.cursor + clean.length)
}

export function backspace(s: LineState): LineState {
  if (s.cursor === 0) return s
  return edited(s, s.text.slice(0, s.cursor - 1) + s.text.slice(s.cursor), s.cursor - 1)
}

export function deleteForward(s: LineState): LineState {
  if (s.cursor >= s.text.length) return s
  return edited(s, s.text.slice(0, s.cursor) + s.text.slice(s.cursor + 1), s.cursor)
}

export function moveCursor(s: LineState, to: number): LineState {
  return {...s, cursor: Math.max(0, Math.min(to, s.text.length)), completion: undefined}
}

/** Ctrl-U: clear the line. */
export function clear(s: LineState): LineState {
  return edited(s, '', 0)
}

/** Ctrl-W: delete the word before the cursor. */
export function deleteWord(s: LineState): LineState {
  const before = s.text.slice(0, s.cursor).replace(/\S+\s*$/, '')
  return edited(s, before + s.text.slice(s.cursor), before.length)
}

/** Up: an older query (the draft is kept to come back to). */
export function historyUp(s: LineState): LineState {
  let i = s.historyIndex + 1
  // The query on the line now is not a step back.
  while (i < s.history.length && s.history[i] === s.text) i++
  if (i >= s.history.length) return s
  const text = s.history[i]
  return {...s, historyIndex: i, draft: s.historyIndex === -1 ? s.text : s.draft, text, cursor: text.length, completion: undefined}
}

/** Down: a newer query, then the draft. */
export function historyDown(s: LineState): LineState {
  if (s.historyIndex < 0) return s
  const i = s.historyIndex - 1
  const text = i < 0 ? s.draft : s.history[i]
  return {...s, historyIndex: i, text, cursor: text.length, completion: undefined}
}

/** A run query goes to the front of the history, without duplicates. */
export function remember(history: string[], query: string, max = 50): string[] {
  return [query, ...history.filter((q) => q !== query)].slice(0, max)
}

/** The field-name word before the cursor: after a space, `(`, `-` or `!`, and no `:` in it yet. */
function wordAt(text: string, cursor: number): {start: number; prefix: string} | undefined {
  const m = /[A-Za-z0-9_@$.]*$/.exec(text.slice(0, cursor))
  const start = cursor - (m ? m[0].length : 0)
  const prev = start === 0 ? '' : text[start - 1]
  if (prev !== '' && !/[\s(!-]/.test(prev)) return undefined
  // A value after `field:` is not a field name (`-` may be the value's own, as in `f:-1`).
  if (prev === '-' && start >= 2 && text[start - 2] === ':') return undefined
  return {start, prefix: m ? m[0] : ''}
}

function commonPrefix(words: string[]): string {
  if (words.length === 0) return ''
  let p = words[0]
  for (const w of words) while (!w.toLowerCase().startsWith(p.toLowerCase())) p = p.slice(0, -1)
  return p
}

/**
 * Tab: complete the field name before the cursor. One candidate: the name and `:`. Several: their common prefix;
 * Tab again cycles through them. Returns the candidates for the status line.
 */
export function complete(s: LineState, fields: readonly string[]): {line: LineState; candidates: string[]} {
  if (s.completion) {
    const c = s.completion
    const index = (c.index + 1) % c.candidates.length
    const word = c.candidates[index] + ':'
    const text = s.text.slice(0, c.start) + word + s.text.slice(c.end)
    return {line: {...s, text, cursor: c.start + word.length, completion: {...c, end: c.start + word.length, index}}, candidates: c.candidates}
  }
  const w = wordAt(s.text, s.cursor)
  if (!w) return {line: s, candidates: []}
  const lower = w.prefix.toLowerCase()
  const candidates = fields.filter((f) => f.toLowerCase().startsWith(lower))
  if (candidates.length === 0) return {line: s, candidates: []}
  const rest = s.text.slice(s.cursor)
  if (candidates.length === 1) {
    const word = candidates[0] + (rest.startsWith(':') ? '' : ':')
    const text = s.text.slice(0, w.start) + word + rest
    return {line: edited(s, text, w.start + word.length), candidates}
  }
  const common = commonPrefix(candidates)
  if (common.length > w.prefix.length) {
    const text = s.text.slice(0, w.start) + common + rest
    return {line: edited(s, text, w.start + common.length), candidates}
  }
  // Nothing more in common: the next Tab puts in the first candidate, and so on.
  return {line: {...s, completion: {start: w.start, end: s.cursor, candidates, index: -1}}, candidates}
}

/**
 * The part of the line that fits in `width` columns, keeping the cursor (and an error column) visible: the offset of
 * the first shown character and the shown text.
 */
export function visibleLine(text: string, cursor: number, width: number): {offset: number; shown: string} {
  const w = Math.max(1, width)
  if (text.length < w) return {offset: 0, shown: text}
  let offset = Math.max(0, cursor - w + 1)
  if (cursor < offset) offset = cursor
  return {offset, shown: text.slice(offset, offset + w)}
}
