import type {Home} from '../config/home.js'
import {errorMessage} from '../errors.js'
import type {NameMap} from '../names.js'
import type {JsonObject, JsonValue} from '../records/object.js'
import type {SlackMessage} from '../sinks/slack.js'
import type {Source} from '../sources/types.js'
import type {CompiledQuery} from '../analysis/aggregate.js'
import {formatBytes, isoTime} from '../ui/format.js'
import {protocolName} from '../ui/records.js'
import {filterRecords, followObjects, type NewRecord, type RoundInfo} from './follow.js'

/**
 * `flowlog watch`: an alert that runs locally. Follow the source, evaluate the query on every new record, and post one
 * Slack message per round that found matches.
 */
export interface WatchOptions {
  home: Home
  source: Source
  compiled: Pick<CompiledQuery, 'query' | 'spec'>
  intervalMs: number
  /** Posts one message (postSlack bound to the webhook URL, in production). */
  post: (message: SlackMessage) => Promise<void>
  /** Post only when a round has at least this many matches (default 1). */
  threshold?: number
  names?: NameMap
  /** Records listed in one message at most (default 10). */
  maxLines?: number
  signal?: AbortSignal
  maxRounds?: number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  onReady?: () => void
  onRound?: (event: WatchRoundEvent) => void
  /** The matches of a round, before posting. */
  onMatches?: (matches: NewRecord[]) => void
  onRoundError?: (error: unknown, round: number) => void
}

export interface WatchRoundEvent {
  info: RoundInfo
  matches: number
  posted: boolean
  /** Set when the post failed (the watch goes on). */
  error?: string
}

export interface WatchSummary {
  rounds: number
  records: number
  matches: number
  messages: number
  failedMessages: number
}

function endpoint(ip: JsonValue | undefined, port: JsonValue | undefined, names?: NameMap): string {
  const i = ip === undefined || ip === null ? '?' : String(ip)
  const n = typeof ip === 'string' ? names?.get(ip) : undefined
  return (port === undefined || port === null ? i : `${i}:${port}`) + (n ? ` (${n})` : '')
}

function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function describeRecord(row: JsonObject, ts: number | null, names?: NameMap): string {
  const bytes = (typeof row.bytes_from_initiator === 'number' ? row.bytes_from_initiator : 0) + (typeof row.bytes_from_target === 'number' ? row.bytes_from_target : 0)
  return `${isoTime(ts) || '(no time)'} ${String(row.action ?? '?')} ${endpoint(row.initiator_ip, row.initiator_port, names)} → ${endpoint(row.target_ip, row.target_port, names)} ${protocolName(row.transport_protocol) || ''} ${formatBytes(bytes)}`.replace(/\s+/g, ' ').trim()
}

/** The Slack message for one batch of matches. */
export function watchMessage(query: string, matches: NewRecord[], options: {names?: NameMap; maxLines?: number; host?: string} = {}): SlackMessage {
  const max = options.maxLines ?? 10
  const shown = matches.slice(0, max)
  const lines = shown.map((m) => `• ${slackEscape(describeRecord(m.row, m.ts, options.names))}`)
  if (matches.length > shown.length) lines.push(`… and ${matches.length - shown.length} more`)
  const head = `flowlog watch: ${matches.length} new flow${matches.length === 1 ? '' : 's'} matched \`${slackEscape(query || '*')}\``
  return {text: [head, ...lines].join('\n')}
}

export async function watch(options: WatchOptions): Promise<WatchSummary> {
  const threshold = Math.max(1, options.threshold ?? 1)
  const summary: WatchSummary = {rounds: 0, records: 0, matches: 0, messages: 0, failedMessages: 0}
  const predicate = options.compiled.spec.predicate
  const result = await followObjects({
    home: options.home,
    source: options.source,
    intervalMs: options.intervalMs,
    signal: options.signal,
    maxRounds: options.maxRounds,
    sleep: options.sleep,
    onRoundError: options.onRoundError,
    onReady: () => options.onReady?.(),
    async onRecords(records, info) {
      const matches = filterRecords(records, predicate)
      summary.records += records.length
      summary.matches += matches.length
      const event: WatchRoundEvent = {info, matches: matches.length, posted: false}
      if (matches.length) options.onMatches?.(matches)
      if (matches.length >= threshold) {
        try {
          await options.post(watchMessage(options.compiled.query, matches, {names: options.names, maxLines: options.maxLines}))
          summary.messages++
          event.posted = true
        } catch (error) {
          summary.failedMessages++
          event.error = errorMessage(error)
        }
      }
      options.onRound?.(event)
    },
  })
  summary.rounds = result.rounds
  return summary
}
