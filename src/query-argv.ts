/**
 * Queries often start with `-` (`-target_port:67 -target_port:53`), which an argument parser takes for a flag. Before
 * parsing, every query word is moved behind `--`, so it stays part of the query; the query is then all positional
 * words joined by spaces. A word that looks like a flag but is not one of the command's flags is a usage error that
 * names the nearest flag (docs/query-language.md §17 "Flags and query words"):
 *
 * - `--name` (or `--name=value`) that is not a flag: an error;
 * - `-x`, one letter: a short flag, or an error;
 * - `-field:value` (a colon after the name): a negated field clause, part of the query;
 * - `-word` without a colon: a negated bare term, unless `word` (letters and dashes only) is a long flag's name or, at
 *   4 letters or more, one edit away from one (`-since`, `-limt`): then an error (write `NOT word`, or put the query
 *   after `--`, to exclude that word);
 * - `-` followed by anything but a letter (`-404`, `-(a b)`, `-"a b"`): part of the query;
 * - everything after a lone `--`: the query, unchecked.
 */
import {Flags} from '@oclif/core'

import {UsageError} from './lib/errors.js'
import {editDistance, nearest} from './lib/suggest.js'

export interface FlagShape {
  char?: string
  type: 'boolean' | 'option'
  allowNo?: boolean
}

/** `--strict`: unknown field names are an error, not a warning (search, stats, explore, top). */
export const strictFlag = {
  strict: Flags.boolean({description: 'a field name no record has is an error (exit 2), not a warning'}),
}

function unknownFlag(word: string, longNames: string[], chars: string[], commandHint: string): UsageError {
  const bare = word.replace(/^-+/, '').split('=')[0]
  let suggestion: string | undefined
  if (bare.length === 1) {
    const char = chars.find((c) => c.toLowerCase() === bare.toLowerCase())
    const long = longNames.find((n) => n.startsWith(bare.toLowerCase()))
    suggestion = char ? `-${char}` : long ? `--${long}` : undefined
  } else {
    const n = nearest(bare, longNames)
    suggestion = n === undefined ? undefined : `--${n}`
  }
  return new UsageError(`unknown flag ${word.split('=')[0]}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`, {
    suggestions: [`${commandHint} --help lists the flags`, `to search for the text, write it after a lone --: ${commandHint} -- '${word}'`],
  })
}

export function protectQueryWords(argv: string[], flags: Record<string, FlagShape>, commandHint = 'flowlog'): string[] {
  const kept: string[] = []
  const queryWords: string[] = []
  const longNames = new Map(Object.entries(flags).map(([name, f]) => [`--${name}`, f]))
  for (const [name, f] of Object.entries(flags)) if (f.allowNo) longNames.set(`--no-${name}`, {type: 'boolean'})
  const chars = new Map(Object.values(flags).filter((f) => f.char).map((f) => [`-${f.char}`, f]))
  longNames.set('--json', {type: 'boolean'})
  longNames.set('--help', {type: 'boolean'})
  const names = [...longNames.keys()].map((n) => n.slice(2))
  const charList = [...chars.keys()].map((c) => c.slice(1))
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
    if (a.startsWith('--') && a.length > 2) throw unknownFlag(a, names, charList, commandHint)
    if (/^-[A-Za-z]/.test(a)) {
      const word = a.slice(1)
      if (word.length === 1) throw unknownFlag(a, names, charList, commandHint)
      if (/^[A-Za-z][A-Za-z-]+$/.test(word) && names.some((n) => n === word.toLowerCase() || (word.length >= 4 && editDistance(word, n) <= 1))) {
        throw unknownFlag(a, names, charList, commandHint)
      }
    }
    if (a.startsWith('-') && a.length > 1) queryWords.push(a)
    else kept.push(a)
  }
  return queryWords.length ? [...kept, '--', ...queryWords] : kept
}
