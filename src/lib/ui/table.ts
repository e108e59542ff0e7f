import type {ChalkInstance} from 'chalk'

/**
 * Tables that fit the terminal: box lines, one space of padding, bold heads (the look of every flowlog table), laid
 * out within a width. When the natural widths do not fit, the table's own reduction steps run in order — shorten a
 * column to a shorter form (names left out, a shorter time), drop a column, cut a column down (its cells end in `…`) —
 * until it fits; a line is never wider than the width, so a row never wraps. `width: Infinity` (`--wide`, or output
 * that is not a terminal) keeps every column.
 */
export interface Column<R> {
  /** Names the column in reduction steps. */
  id: string
  /** The head, per form (a shortened column may say so in its head). */
  head: string | ((form: number) => string)
  align?: 'left' | 'right'
  /** How many forms the cells have, longest first (default 1). */
  forms?: number
  /** The cell of a row in a form; ignored for fill columns. */
  cell?: (row: R, form: number) => string
  /** A column drawn to the width it is given (bars): natural width `max`, cut down to `min` at most. */
  fill?: {min: number; max: number; render: (row: R, width: number) => string}
  /** `cut` steps shorten this column down to this width (default 4). */
  min?: number
}

/** One reduction: the next shorter form of a column, drop a column, or cut a column towards its min width. */
export type Step = {shorten: string} | {drop: string} | {cut: string}

export interface LaidColumn {
  index: number
  form: number
  width: number
}

export interface TableOptions {
  /** The width to fit (default Infinity: natural widths). */
  width?: number
  /** No cell wider than this before fitting (default 60). */
  maxCell?: number
  /** Reduction steps, in order (default: cut the widest columns, then drop from the right). */
  steps?: Step[]
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;]*m/g
export const visible = (s: string): string => (s.includes('\u001B') ? s.replace(ANSI, '') : s)
export const visibleLength = (s: string): number => [...visible(s)].length

/** The box width of columns this wide. */
export function boxWidth(widths: number[]): number {
  return widths.reduce((a, w) => a + w, 0) + 3 * widths.length + 1
}

function headOf<R>(col: Column<R>, form: number): string {
  return typeof col.head === 'function' ? col.head(form) : col.head
}

/**
 * The layout of `columns` within `width`: which columns show, in which form, how wide. `natural(i, form)` is the widest
 * cell of column i in that form (heads included by the caller).
 */
export function fitLayout<R>(columns: Column<R>[], natural: (index: number, form: number) => number, options: TableOptions = {}): LaidColumn[] {
  const width = options.width ?? Number.POSITIVE_INFINITY
  const maxCell = options.maxCell ?? 60
  const form = columns.map(() => 0)
  const shown = columns.map(() => true)
  const widthOf = (i: number) => (columns[i].fill ? columns[i].fill!.max : Math.min(maxCell, natural(i, form[i])))
  const widths = columns.map((_c, i) => widthOf(i))
  const total = () => boxWidth(widths.filter((_w, i) => shown[i]))
  const byId = new Map(columns.map((c, i) => [c.id, i]))
  const steps = options.steps ?? defaultSteps(columns)
  for (const step of steps) {
    if (total() <= width) break
    const i = byId.get('shorten' in step ? step.shorten : 'drop' in step ? step.drop : step.cut)
    if (i === undefined || !shown[i]) continue
    if ('shorten' in step) {
      if (form[i] < (columns[i].forms ?? 1) - 1) {
        form[i]++
        widths[i] = widthOf(i)
      }
    } else if ('drop' in step) {
      if (shown.filter(Boolean).length > 1) shown[i] = false
    } else {
      // A bar is never cut below its head (the head says what the bar measures).
      const min = columns[i].fill ? Math.max(columns[i].fill!.min, visibleLength(headOf(columns[i], form[i]))) : columns[i].min ?? 4
      widths[i] = Math.max(min, Math.min(widths[i], widths[i] - (total() - width)))
    }
  }
  // Still too wide: the widest shown columns give way, down to 1 character (the line is cut at the width anyway).
  while (Number.isFinite(width) && total() > width) {
    let widest = -1
    for (let i = 0; i < columns.length; i++) if (shown[i] && (widest < 0 || widths[i] > widths[widest])) widest = i
    if (widest < 0 || widths[widest] <= 1) break
    widths[widest]--
  }
  return columns.flatMap((_c, i) => (shown[i] ? [{index: i, form: form[i], width: widths[i]}] : []))
}

/** Without steps of its own: cut fill columns, then the widest cut-able columns, then drop from the right. */
function defaultSteps<R>(columns: Column<R>[]): Step[] {
  const steps: Step[] = []
  for (const c of columns) if (c.fill) steps.push({cut: c.id})
  for (const c of columns) if ((c.forms ?? 1) > 1) for (let f = 1; f < (c.forms ?? 1); f++) steps.push({shorten: c.id})
  for (const c of columns) if (c.min !== undefined) steps.push({cut: c.id})
  for (const c of [...columns].reverse().slice(0, -1)) steps.push({drop: c.id})
  return steps
}

/** Pad or cut a cell to `width` visible characters (a cut cell ends in `…`). */
export function fitCell(cell: string, width: number, align: 'left' | 'right' = 'left'): string {
  let len = visibleLength(cell)
  if (len > width) {
    const chars = [...visible(cell)]
    cell = width <= 1 ? chars.slice(0, width).join('') : chars.slice(0, width - 1).join('') + '…'
    len = width
  }
  const pad = ' '.repeat(Math.max(0, width - len))
  return align === 'right' ? pad + cell : cell + pad
}

/** Cut a whole line to `width` visible characters (the last resort that keeps a line from wrapping). */
export function cutLine(line: string, width: number): string {
  if (!Number.isFinite(width) || visibleLength(line) <= width) return line
  return [...visible(line)].slice(0, Math.max(1, width - 1)).join('') + '…'
}

/** Renders rows with a layout: the top line with the heads, one line per row, the bottom line. */
export class BoxRenderer<R> {
  constructor(
    private readonly columns: Column<R>[],
    readonly layout: LaidColumn[],
    private readonly c: ChalkInstance,
    private readonly width = Number.POSITIVE_INFINITY,
  ) {}

  top(): string {
    const head = this.layout.map((l) => this.c.bold(fitCell(headOf(this.columns[l.index], l.form), l.width, this.columns[l.index].align)))
    return this.fit('┌' + this.layout.map((l) => '─'.repeat(l.width + 2)).join('┬') + '┐') + '\n' + this.fit('│ ' + head.join(' │ ') + ' │') + '\n'
  }

  row(row: R): string {
    const cells = this.layout.map((l) => {
      const col = this.columns[l.index]
      const text = col.fill ? col.fill.render(row, l.width) : col.cell!(row, l.form)
      return this.cellText(text, l.width, col.align)
    })
    return this.fit('│ ' + cells.join(' │ ') + ' │') + '\n'
  }

  /** A row of ready cells (the streaming table computes them before the layout is known). */
  cells(cells: string[]): string {
    return this.fit('│ ' + this.layout.map((l, k) => this.cellText(cells[k], l.width, this.columns[l.index].align)).join(' │ ') + ' │') + '\n'
  }

  bottom(): string {
    return this.fit('└' + this.layout.map((l) => '─'.repeat(l.width + 2)).join('┴') + '┘') + '\n'
  }

  private cellText(text: string, width: number, align?: 'left' | 'right'): string {
    // A coloured cell that fits keeps its colour; one that must be cut loses it (the cut is made on the plain text).
    return fitCell(text, width, align)
  }

  private fit(line: string): string {
    return cutLine(line, this.width)
  }
}

/** A whole table as a string (top, stats, setup, teardown, alert list): widths from all rows, fitted to the width. */
export function renderTable<R>(columns: Column<R>[], rows: R[], c: ChalkInstance, options: TableOptions = {}): string {
  const cache = new Map<string, number>()
  const natural = (i: number, form: number) => {
    const key = `${i}/${form}`
    let w = cache.get(key)
    if (w === undefined) {
      const col = columns[i]
      w = visibleLength(headOf(col, form))
      if (col.cell) for (const r of rows) w = Math.max(w, visibleLength(col.cell(r, form)))
      cache.set(key, w)
    }
    return w
  }
  const layout = fitLayout(columns, natural, options)
  const box = new BoxRenderer(columns, layout, c, options.width)
  return (box.top() + rows.map((r) => box.row(r)).join('') + box.bottom()).replace(/\n$/, '')
}

/**
 * A table of plain text cells under heads (setup, teardown, alert list): fitted like the others; the columns listed in
 * `cut` give way first (ending in `…`, --wide shows them whole), then columns are dropped from the right.
 */
export function textTable(heads: string[], rows: string[][], c: ChalkInstance, options: {width?: number; cut?: string[]} = {}): string {
  const columns: Column<string[]>[] = heads.map((head, i) => ({id: head, head, min: 8, cell: (r) => (r[i] ?? '').replace(/\s*\n\s*/g, ', ')}))
  const steps: Step[] = [...(options.cut ?? []).map((id) => ({cut: id})), ...heads.slice(1).reverse().map((id) => ({cut: id}))]
  return renderTable(columns, rows, c, {width: options.width, maxCell: Number.POSITIVE_INFINITY, steps})
}
