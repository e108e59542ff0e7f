/**
 * `flowlog watch` end to end: the webhook (environment or config file), the interval, the query, names, the source, then
 * watch() until interrupted. Messages go through the callbacks; the summary is returned.
 */
import {compileQuery} from '../analysis/aggregate.js'
import type {Home} from '../config/home.js'
import {readConfig} from '../config/settings.js'
import {loadNames, type NameMap} from '../names.js'
import {slackWebhookOf} from '../sinks/alert-ops.js'
import {maskWebhookUrl, postSlack} from '../sinks/slack.js'
import type {SourceFlagValues} from '../sources/from-flags.js'
import {openSourceFromFlags} from '../sources/from-flags.js'
import {parseInterval} from './follow.js'
import type {NewRecord} from './follow.js'
import {watch, type WatchRoundEvent, type WatchSummary} from './watch.js'

export interface WatchRequest extends SourceFlagValues {
  query: string
  /** Refused (the webhook URL is a secret); present only to say so. */
  'slack-webhook'?: string
  interval: string
  threshold: number
  names: boolean
}

export interface WatchContext {
  home: Home
  env: NodeJS.ProcessEnv
  onWarning?: (message: string) => void
  /** The source is open; catching up with it starts. */
  onStart?: (sourceDescription: string) => void
  /** Caught up: watching from now on (the masked webhook). */
  onReady?: (sourceDescription: string, webhook: string) => void
  onRound?: (event: WatchRoundEvent) => void
  onRoundError?: (error: unknown) => void
  /** When set, the matching records of each round (with the name map, if any). */
  onMatches?: (records: NewRecord[], names: NameMap | undefined) => void
}

export async function runWatch(req: WatchRequest, ctx: WatchContext): Promise<WatchSummary> {
  const config = await readConfig(ctx.home)
  const webhook = slackWebhookOf(req['slack-webhook'], ctx.env, config, ctx.home.configPath)
  const intervalMs = parseInterval(req.interval)
  const compiled = compileQuery(req.query)
  for (const w of compiled.warnings) ctx.onWarning?.(w)
  const names = req.names ? await loadNames(ctx.home, {config}) : undefined
  for (const w of names?.warnings ?? []) ctx.onWarning?.(w)
  const source = await openSourceFromFlags(ctx.home, req)
  ctx.onStart?.(source.description)
  try {
    return await watch({
      home: ctx.home,
      source,
      compiled,
      intervalMs,
      threshold: req.threshold,
      names: names?.names,
      post: (message) => postSlack(webhook, message),
      onReady: () => ctx.onReady?.(source.description, maskWebhookUrl(webhook)),
      onRound: ctx.onRound,
      onRoundError: ctx.onRoundError,
      onMatches: ctx.onMatches ? (records) => ctx.onMatches!(records, names?.names) : undefined,
    })
  } finally {
    await source.close?.()
  }
}
