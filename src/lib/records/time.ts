import {UsageError} from '../errors.js'

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|wk|wks)$/i
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  wk: 604_800_000,
  wks: 604_800_000,
}

/** Parse `90m`, `1h`, `7d` into milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim())
  if (!m) return undefined
  return Number(m[1]) * UNIT_MS[m[2].toLowerCase()]
}

/** RFC 3339 / ISO 8601 date-times: `T`, `t` or a space between date and time, optional seconds and fraction. */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/

/**
 * Parse a flow-log timestamp (RFC 3339). A time with no zone is UTC (Q12), whatever the local time zone. `""`,
 * missing and anything that is not an ISO 8601 date-time (Date.parse would take "5" as the year 2001, local time)
 * → undefined.
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  const m = ISO_TIME.exec(value.trim())
  if (!m) return undefined
  const [, date, time, zone] = m
  let z = zone === undefined || zone === 'z' ? 'Z' : zone
  if (/^[+-]\d{2}$/.test(z)) z += ':00'
  else if (/^[+-]\d{4}$/.test(z)) z = `${z.slice(0, 3)}:${z.slice(3)}`
  const ms = Date.parse(`${date}T${time ?? '00:00:00'}${z}`)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * A `--since`/`--until` value: an ISO 8601 time, or a duration meaning "that long before now".
 * Throws a UsageError naming the flag when it is neither.
 */
export function parseTimeFlag(value: string, flag: string, now: number = Date.now()): number {
  const duration = parseDuration(value)
  if (duration !== undefined) return now - duration
  if (value.trim() === 'now') return now
  const t = parseTimestamp(value)
  if (t === undefined) {
    throw new UsageError(`--${flag} ${JSON.stringify(value)} is neither an ISO 8601 time nor a duration`, {
      suggestions: [`Use a duration such as 90m, 1h or 7d, or a time such as 2026-11-29T10:00:00Z`],
    })
  }
  return t
}

export interface TimeWindow {
  since?: number
  until?: number
}

export function parseWindow(flags: {since?: string; until?: string}, now: number = Date.now()): TimeWindow {
  const window: TimeWindow = {}
  if (flags.since !== undefined) window.since = parseTimeFlag(flags.since, 'since', now)
  if (flags.until !== undefined) window.until = parseTimeFlag(flags.until, 'until', now)
  if (window.since !== undefined && window.until !== undefined && window.since >= window.until) {
    throw new UsageError(`--since must be before --until`)
  }
  return window
}

export const HOUR_MS = 3_600_000

export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS
}

/**
 * Whether an object whose key hour directory starts at `hourDir` can hold records inside the window.
 * An object lives under the hour its capture window starts in, and windows last at most ~5 minutes, so we keep the
 * hour before `since` too when since is within 5 minutes of the hour boundary (docs/flow-log-format.md §2.5); records
 * themselves are filtered exactly by the store.
 */
export function hourInWindow(hourDir: number, window: TimeWindow, slackMs = 5 * 60_000): boolean {
  if (window.until !== undefined && hourDir >= window.until) return false
  if (window.since !== undefined && hourDir + HOUR_MS <= floorHour(window.since - slackMs)) return false
  return true
}
