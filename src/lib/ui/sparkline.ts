import type {GlyphOptions} from './bars.js'

/**
 * Sparklines: one character per value, scaled to the largest value. Unicode block heights on a terminal, an ASCII
 * ramp otherwise. Zero is a blank, so an empty interval never looks like a quiet one.
 */
const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█']
const ASCII = ['.', ':', '-', '=', '+', '*', '#', '@']

/** Zero is a space (nothing happened); any non-zero value is at least the lowest glyph. */
export function sparkline(values: number[], options: GlyphOptions & {max?: number} = {}): string {
  const glyphs = options.unicode ?? true ? BLOCKS : ASCII
  const max = options.max ?? Math.max(0, ...values)
  return values
    .map((v) => {
      if (!(v > 0) || !(max > 0)) return ' '
      const i = Math.min(glyphs.length - 1, Math.max(0, Math.ceil((v / max) * glyphs.length) - 1))
      return glyphs[i]
    })
    .join('')
}

/** Split values into rows of `width`, for long series. */
export function chunk<T>(values: T[], width: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < values.length; i += width) out.push(values.slice(i, i + width))
  return out
}
