/**
 * Horizontal bars for tables (top, stats). Unicode eighth-blocks on a terminal, `#` otherwise.
 */
export interface GlyphOptions {
  /** Unicode block characters (default true); false gives plain ASCII. */
  unicode?: boolean
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

/** A bar `width` cells wide at most, proportional to value/max. Non-zero values get at least a sliver. */
export function bar(value: number, max: number, width: number, options: GlyphOptions = {}): string {
  const unicode = options.unicode ?? true
  if (!(max > 0) || !(value > 0) || width <= 0) return ''
  const cells = Math.min(width, (value / max) * width)
  if (!unicode) return '#'.repeat(Math.max(1, Math.round(cells)))
  const full = Math.floor(cells)
  const rest = Math.floor((cells - full) * 8)
  const s = '█'.repeat(full) + EIGHTHS[rest]
  return s === '' ? '▏' : s
}

/** Whether to draw with unicode: a TTY, not TERM=dumb, and not asked for ASCII (FLOWLOG_ASCII=1). */
export function unicodeEnabled(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FLOWLOG_ASCII && env.FLOWLOG_ASCII !== '0') return false
  if (env.TERM === 'dumb') return false
  return Boolean(stream.isTTY)
}
