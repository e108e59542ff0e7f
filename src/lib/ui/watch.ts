/** Rendering of `flowlog watch`: one stderr line per round that found matches, one stdout line per match. */
import type {ChalkInstance} from 'chalk'

import type {NewRecord} from '../follow/follow.js'
import {followLine} from '../follow/search.js'
import type {WatchRoundEvent} from '../follow/watch.js'
import type {NameMap} from '../names.js'
import {plural} from './format.js'
import {info, type Line, out, warn} from './lines.js'

export function renderWatchRound(e: WatchRoundEvent, threshold: number): Line[] {
  if (e.matches === 0) return []
  const n = plural(e.matches, 'new match', 'new matches')
  const lines = [e.error ? warn(`${n}; posting to Slack failed: ${e.error}`) : e.posted ? info(`${n}; posted to Slack`) : info(`${n} (below --threshold ${threshold})`)]
  for (const f of e.info.failures) lines.push(warn(`${f.key}: ${f.error}`))
  return lines
}

export function renderWatchMatches(records: NewRecord[], c: ChalkInstance, names?: NameMap): Line[] {
  return records.map((r) => out(followLine(r.row, r.ts, c, names)))
}
