import {performance} from 'node:perf_hooks'

/**
 * `FLOWLOG_PROFILE=1`: phase timings on stderr at exit (ms since the process started), to find where a command's time
 * goes. Off by default; a phase mark costs one comparison then.
 */
const enabled = Boolean(process.env.FLOWLOG_PROFILE) && process.env.FLOWLOG_PROFILE !== '0'
const marks: [string, number][] = []

export function phase(name: string): void {
  if (!enabled) return
  if (marks.length === 0) process.once('exit', report)
  marks.push([name, performance.now()])
}

function report(): void {
  let last = 0
  const lines = marks.map(([name, t]) => {
    const line = `profile ${t.toFixed(1).padStart(8)} ms  +${(t - last).toFixed(1).padStart(7)}  ${name}`
    last = t
    return line
  })
  lines.push(`profile ${performance.now().toFixed(1).padStart(8)} ms  exit, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`)
  process.stderr.write(lines.join('\n') + '\n')
}
