/** Rendering of `flowlog pull`: progress, the summary line, warnings and the objects that failed. */
import type {PullProgress, PullSummary} from '../sources/pull.js'
import {formatBytes, formatRate, plural} from './format.js'
import {err, info, type Line, type Palette, warn} from './lines.js'

export function pullProgressText(p: PullProgress): string {
  return `${p.listed} listed, ${p.downloaded} downloaded (${formatRate(p.downloaded, p.elapsedMs)} objects/s, ${formatBytes(p.bytes)}), ${p.loaded} loaded, ${p.records} records`
}

export function renderPull(s: PullSummary, p: Palette): Line[] {
  const lines = [
    info(
      `${plural(s.objects.listed, 'object')} listed, ${s.objects.downloaded} downloaded, ${s.objects.loaded} loaded, ` +
        `${s.objects.skipped} already loaded, ${s.objects.failed} failed; ${plural(s.records, 'record')} loaded`,
    ),
  ]
  if (s.unrecognisedKeys > 0) lines.push(warn(`${plural(s.unrecognisedKeys, 'object')} under ibm_vpc_flowlogs_ with an unrecognised key layout (loaded from their headers)`))
  if (s.skipData > 0) lines.push(warn(`${plural(s.skipData, 'object')} say "skip data": the collector lost data there, counts are lower bounds`))
  for (const k of s.skippedPaths ?? []) lines.push(warn(`skipped ${k.path}: ${k.reason}`))
  for (const f of s.failures) lines.push(err(`  ${p.ce.red('✗')} ${f.key}: ${f.error}`))
  return lines
}
