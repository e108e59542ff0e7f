/**
 * Queries often start with `-` (`-target_port:67 -target_port:53`), which an argument parser takes for a flag. Before
 * parsing, every word that looks like a flag but is not one of the command's flags (nor a flag's value) is moved
 * behind `--`, so it stays part of the query; the query is then all positional words joined by spaces.
 */
export interface FlagShape {
  char?: string
  type: 'boolean' | 'option'
}

export function protectQueryWords(argv: string[], flags: Record<string, FlagShape>): string[] {
  const kept: string[] = []
  const queryWords: string[] = []
  const longNames = new Map(Object.entries(flags).map(([name, f]) => [`--${name}`, f]))
  const chars = new Map(Object.values(flags).filter((f) => f.char).map((f) => [`-${f.char}`, f]))
  longNames.set('--json', {type: 'boolean'})
  longNames.set('--help', {type: 'boolean'})
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      queryWords.push(...argv.slice(i + 1))
      break
    }
    const name = a.startsWith('--') ? a.split('=')[0] : a
    const flag = longNames.get(name) ?? chars.get(a)
    if (flag) {
      kept.push(a)
      if (flag.type === 'option' && !a.includes('=') && i + 1 < argv.length) kept.push(argv[++i])
      continue
    }
    if (a.startsWith('-') && a.length > 1) queryWords.push(a)
    else kept.push(a)
  }
  return queryWords.length ? [...kept, '--', ...queryWords] : kept
}
