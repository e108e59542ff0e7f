/**
 * The nearest known name to a mistyped one (flags, fields, commands): optimal-string-alignment edit distance
 * (insertions, deletions, substitutions and adjacent transpositions each cost 1), case-insensitive.
 */

export function editDistance(a: string, b: string): number {
  a = a.toLowerCase()
  b = b.toLowerCase()
  if (a === b) return 0
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[][] = Array.from({length: rows}, (_, i) => Array.from({length: cols}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[rows - 1][cols - 1]
}

/** The largest distance still taken for a typo of `name`: 1 for short names, up to a third of the length. */
export function typoBudget(name: string): number {
  return Math.max(1, Math.min(3, Math.floor(name.length / 3)))
}

/**
 * The candidate nearest to `name` within `maxDistance` (default typoBudget(name)); a candidate that starts with
 * `name` (an abbreviation, `--lim`) also counts. Ties go to the earlier candidate. Undefined when none is near.
 */
export function nearest(name: string, candidates: Iterable<string>, maxDistance = typoBudget(name)): string | undefined {
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  const lower = name.toLowerCase()
  for (const c of candidates) {
    if (c.toLowerCase() === lower) return c
    let dist = editDistance(name, c)
    if (lower.length >= 2 && c.toLowerCase().startsWith(lower)) dist = Math.min(dist, 1)
    if (dist < bestD) {
      best = c
      bestD = dist
    }
  }
  return bestD <= maxDistance ? best : undefined
}

/** ` (did you mean X?)` or '' — `prefix` is put before the name (`--`). */
export function didYouMean(name: string, candidates: Iterable<string>, prefix = ''): string {
  const n = nearest(name, candidates)
  return n === undefined ? '' : ` (did you mean ${prefix}${n}?)`
}
