import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {compileQuery} from '../lib/analysis/aggregate.js'
import {readConfig} from '../lib/config/settings.js'
import {UsageError} from '../lib/errors.js'
import {parseInterval} from '../lib/follow/follow.js'
import {followLine} from '../lib/follow/search.js'
import {openSourceFromFlags} from '../lib/sources/from-flags.js'
import {watch, type WatchSummary} from '../lib/follow/watch.js'
import {loadNames} from '../lib/names.js'
import {maskWebhookUrl, postSlack, SLACK_WEBHOOK_ENV, validateWebhookUrl} from '../lib/sinks/slack.js'
import {sourceFlags} from '../lib/sources/flags.js'
import {plural} from '../lib/ui/format.js'

export default class Watch extends BaseCommand {
  static summary = 'Alert locally: follow new flow logs and post matches to Slack'

  static description = `Keeps pulling new objects from the source into the local index and evaluates the query on every new record.
Each round that finds matches posts one message to a Slack Incoming Webhook, listing the matching flows, and
prints them on stdout. Records already in the index when the watch starts do not alert. Runs until Ctrl-C.
The webhook URL is a credential: it can come from ${SLACK_WEBHOOK_ENV} instead of the flag, and is never printed.
To alert from Log Analysis / Mezmo instead (no machine of yours running), use flowlog alert create.`

  static examples = [
    {
      description: 'Tell Slack when SSH to vsi1 is rejected',
      command: `<%= config.bin %> watch --query 'target_ip:==10.240.0.4 target_port:22 action:rejected' --source cos://my-flowlogs`,
    },
    {description: 'Check every minute, alert from 5 matches per round', command: `<%= config.bin %> watch -q 'action:rejected' --interval 1m --threshold 5 --source ./flowlogs`},
  ]

  static flags = {
    ...sourceFlags,
    query: Flags.string({char: 'q', description: 'the query new records must match (Log Analysis syntax)', required: true, helpValue: 'QUERY'}),
    // Refused: the webhook URL is a secret (docs/sinks.md, "Stopping forward" lists the secrets rule); kept to say so.
    'slack-webhook': Flags.string({hidden: true, description: `refused: set ${SLACK_WEBHOOK_ENV} instead`}),
    interval: Flags.string({description: 'how often to pull new objects', default: '30s', helpValue: 'DURATION'}),
    threshold: Flags.integer({description: 'post only when a round has at least this many matches', default: 1, min: 1}),
    names: Flags.boolean({description: 'show instance and interface names beside IPs', default: true, allowNo: true}),
  }

  async run(): Promise<WatchSummary> {
    const {flags} = await this.parse(Watch)
    if (flags['slack-webhook'] !== undefined) {
      throw new UsageError('--slack-webhook is not taken: a webhook URL is a secret, and a flag shows it in `ps` and the shell history', {
        suggestions: [`Set ${SLACK_WEBHOOK_ENV}=https://hooks.slack.com/services/… in the environment`],
      })
    }
    const rawUrl = process.env[SLACK_WEBHOOK_ENV]
    if (!rawUrl) {
      throw new UsageError('no Slack webhook', {suggestions: [`Set ${SLACK_WEBHOOK_ENV} to the Slack Incoming Webhook URL`]})
    }
    const webhook = validateWebhookUrl(rawUrl, SLACK_WEBHOOK_ENV)
    const intervalMs = parseInterval(flags.interval)
    const compiled = compileQuery(flags.query)
    for (const w of compiled.warnings) this.term.warn(w)
    const config = await readConfig(this.home)
    const names = flags.names ? await loadNames(this.home, {config}) : undefined
    for (const w of names?.warnings ?? []) this.term.warn(w)
    const source = await openSourceFromFlags(this.home, flags)
    this.term.startSpinner(`catching up with ${source.description}`)
    try {
      return await watch({
        home: this.home,
        source,
        compiled,
        intervalMs,
        threshold: flags.threshold,
        names: names?.names,
        post: (message) => postSlack(webhook, message),
        onReady: () => {
          this.term.stopSpinner()
          this.term.info(`watching ${source.description} every ${flags.interval} for ${flags.query}; posting to ${maskWebhookUrl(webhook)} (Ctrl-C to stop)`)
        },
        onRound: (e) => {
          if (e.matches === 0) return
          if (e.error) this.term.warn(`${plural(e.matches, 'new match', 'new matches')}; posting to Slack failed: ${e.error}`)
          else if (e.posted) this.term.info(`${plural(e.matches, 'new match', 'new matches')}; posted to Slack`)
          else this.term.info(`${plural(e.matches, 'new match', 'new matches')} (below --threshold ${flags.threshold})`)
          for (const f of e.info.failures) this.term.warn(`${f.key}: ${f.error}`)
        },
        onRoundError: (error) => this.term.warn(`this round failed: ${(error as Error).message ?? String(error)}; trying again next round`),
        onMatches: this.jsonEnabled() ? undefined : (records) => {
          for (const r of records) this.term.out(followLine(r.row, r.ts, this.term.c, names?.names))
        },
      })
    } finally {
      this.term.stopSpinner()
      await source.close?.()
    }
  }
}
