/** Rendering of `flowlog pull`: progress, the summary line, warnings and the objects that failed. */
import type {PullProgress, PullSummary} from '../sources/pull.js'
import {formatBytes, formatCount, formatRate, plural} from './format.js'
import {err, hint, info, type Line, type Palette, warn} from './lines.js'

/**
 * No flow-log object found: where flowlog looked, the layout it expects (docs/flow-log-format.md §2) and what it
 * passed over, so that a wrong folder, prefix or window shows at once.
 */
function nothingFound(s: PullSummary): Line[] {
  const passed: string[] = []
  if (s.looked.foreign > 0) passed.push(`${plural(s.looked.foreign, 'object')} not under ibm_vpc_flowlogs_ (not flow logs) skipped`)
  if (s.looked.outsideWindow > 0) passed.push(`${plural(s.looked.outsideWindow, 'object')} outside the time window (--since/--until) left out`)
  return [
    warn(`no flow-log objects in ${s.looked.where}${passed.length ? `: ${passed.join('; ')}` : ''}`),
    hint('flowlog reads keys as IBM writes them, at the top of the folder or prefix:'),
    hint('  ibm_vpc_flowlogs_v1/account=…/…/hour=HH/stream-id=…/NNNNNNNN.gz, or _v0/…'),
    hint(s.looked.outsideWindow > 0 ? 'check --source, or widen --since/--until' : 'check --source: a folder laid out like the bucket, or cos://BUCKET[/PREFIX]'),
  ]
}

export function pullProgressText(p: PullProgress): string {
  const n = formatCount
  return `${n(p.listed)} listed, ${n(p.downloaded)} downloaded (${formatRate(p.downloaded, p.elapsedMs)} objects/s, ${formatBytes(p.bytes)}), ${n(p.loaded)} loaded, ${n(p.records)} records`
}

export function renderPull(s: PullSummary, p: Palette): Line[] {
  const lines = [
    info(
      `${plural(s.objects.listed, 'object')} listed, ${formatCount(s.objects.downloaded)} downloaded, ${formatCount(s.objects.loaded)} loaded, ` +
        `${formatCount(s.objects.skipped)} already loaded, ${formatCount(s.objects.failed)} failed; ${plural(s.records, 'record')} loaded`,
    ),
  ]
  if (s.objects.listed === 0) lines.push(...nothingFound(s))
  if (s.unrecognisedKeys > 0) lines.push(warn(`${plural(s.unrecognisedKeys, 'object')} under ibm_vpc_flowlogs_ with an unrecognised key layout (loaded from their headers)`))
  if (s.skipData > 0) lines.push(warn(`${plural(s.skipData, 'object')} say "skip data": the collector lost data there, counts are lower bounds`))
  for (const k of s.skippedPaths ?? []) lines.push(warn(`skipped ${k.path}: ${k.reason}`))
  for (const f of s.failures) lines.push(err(`  ${p.ce.red('✗')} ${f.key}: ${f.error}`))
  return lines
}
