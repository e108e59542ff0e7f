/** Rendering of `flowlog forward` (docs/sinks.md): the dry-run report, the warnings, failures and the summary line. */
import type {ForwardProgress, ForwardResult} from '../sinks/index.js'
import {formatBytes, formatCount, plural} from './format.js'
import {err, hint, info, type Line, out, type Palette, warn} from './lines.js'

export function forwardProgressText(p: ForwardProgress): string {
  const n = formatCount
  return `${n(p.listed)} objects listed, ${n(p.skipped)} already sent, ${n(p.sent)} sent, ${n(p.failed)} failed; ${n(p.lines)} lines (${n(p.retries)} retries)`
}

/** One run (or one --follow pass): what a person reads on stdout/stderr. Under --json only the stderr lines remain. */
export function renderForward(r: ForwardResult, palette: Palette, options: {json?: boolean} = {}): Line[] {
  const lines: Line[] = []
  if (r.dryRun && !options.json) {
    lines.push(
      out(
        `dry run: would send ${plural(r.lines, 'line')} in ${plural(r.batches, 'batch', 'batches')} (${formatBytes(r.bytes)}) ` +
          `from ${plural(r.objects.sent, 'object')} to ${r.destination}; ${formatCount(r.objects.skipped)} already sent, ${formatCount(r.objects.empty)} empty`,
      ),
    )
    if (r.sample !== undefined) lines.push(out(`sample line:\n${JSON.stringify(r.sample, null, 2)}`))
  }
  for (const w of r.warnings) lines.push(warn(w))
  if (r.stoppedEarly) lines.push(warn(`stopped early, the service kept failing: ${r.stoppedEarly}; the next run goes on from here`))
  if (r.outsideWindow > 0) {
    lines.push(
      warn(
        `${plural(r.outsideWindow, 'line')} carry a time more than 24 hours from now: Log Analysis shows them at their arrival time ` +
          `(the record's own times stay searchable in the line)`,
      ),
    )
  }
  if (r.noTimestamp > 0) lines.push(warn(`${plural(r.noTimestamp, 'line')} had no parsable record time and were sent without a timestamp (arrival time)`))
  if (r.oversized > 0) lines.push(warn(`${plural(r.oversized, 'line')} are longer than 16 KB; Log Analysis truncates them`))
  if (r.skipData > 0) lines.push(warn(`${plural(r.skipData, 'object')} say "skip data": the collector lost data there`))
  for (const f of r.failures.slice(0, 20)) lines.push(err(`  ${palette.ce.red('✗')} ${f.key}: ${f.error}`))
  if (r.failures.length > 20) lines.push(err(`  … and ${r.failures.length - 20} more (see --json)`))
  if (r.retryFile) lines.push(hint(`the objects that could not be delivered are listed in ${r.retryFile}`))
  lines.push(info(forwardSummaryLine(r)))
  return lines
}

/** The one-line summary per run (Code Engine keeps job logs about an hour; this line is what is left to read). */
export function forwardSummaryLine(r: ForwardResult): string {
  const verb = r.dryRun ? 'dry run' : 'forward'
  if (r.event) {
    return (
      `${verb}: event ${r.event.type} key=${r.event.key} result=${r.event.result} records=${r.records} lines=${r.lines} ` +
      `retries=${r.retries}${r.failures.length ? ` error=${JSON.stringify(r.failures[0].error)}` : ''}`
    )
  }
  const o = r.objects
  const n = formatCount
  return (
    `${verb}${r.passes ? ` pass ${r.passes}` : ''}: ${plural(o.listed, 'object')} listed, ${n(o.sent)} sent, ${n(o.skipped)} already sent, ` +
    `${n(o.empty)} empty, ${n(o.failed)} failed${o.outOfWindow ? `, ${n(o.outOfWindow)} outside the time window` : ''}; ${plural(r.records, 'record')}, ${plural(r.lines, 'line')}` +
    `${r.filtered ? ` (${n(r.filtered)} filtered out)` : ''}${r.resumed ? ` (${n(r.resumed)} sent before an interruption)` : ''} ` +
    `in ${plural(r.batches, 'batch', 'batches')}, ${plural(r.retries, 'retry', 'retries')}, to ${r.destination} in ${r.seconds.toFixed(1)} s`
  )
}

/** FLOWLOG_REPORT_RSS=1 (bench/): the process's peak memory and CPU time, one stderr line. */
export function resourceUsageLine(): string {
  const u = process.resourceUsage()
  return `flowlog-max-rss-kb: ${u.maxRSS} cpu-ms: ${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}`
}
