import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import type {WatchSummary} from '../lib/follow/watch.js'
import {runWatch} from '../lib/follow/watch-run.js'
import {SLACK_WEBHOOK_ENV} from '../lib/sinks/slack.js'
import {sourceFlags} from '../lib/sources/flags.js'
import {renderWatchMatches, renderWatchRound} from '../lib/ui/watch.js'

export default class Watch extends BaseCommand {
  static summary = 'Alert locally: follow new flow logs and post matches to Slack'

  static description = `Keeps pulling new objects from the source into the local index and evaluates the query on every new record.
Each round that finds matches posts one message to a Slack Incoming Webhook, listing the matching flows, and
prints them on stdout. Records already in the index when the watch starts do not alert. Runs until Ctrl-C.
The webhook URL is a credential: it comes from ${SLACK_WEBHOOK_ENV} or "slackWebhook" in the config file (never a flag), and is never printed.
To alert from Log Analysis / Mezmo instead (no machine of yours running), use flowlog alert create.`

  static examples = [
    {description: 'Tell Slack (the webhook in FLOWLOG_SLACK_WEBHOOK) when SSH to vsi1 is rejected in the configured bucket', command: `<%= config.bin %> watch --query 'target_ip:==10.240.0.4 target_port:22 action:rejected'`},
    {description: 'Check a folder every minute, alert from 5 matches per round', command: `<%= config.bin %> watch -q 'action:rejected' --interval 1m --threshold 5 --source ./flowlogs`},
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
    await this.useOwnIndex()
    const t = this.term
    try {
      return await runWatch(flags, {
        home: this.home,
        env: process.env,
        onWarning: (m) => t.warn(m),
        onStart: (source) => t.startSpinner(`catching up with ${source}`),
        onReady: (source, webhook) => {
          t.stopSpinner()
          t.info(`watching ${source} every ${flags.interval} for ${flags.query}; posting to ${webhook} (Ctrl-C to stop)`)
        },
        onRound: (e) => this.emit(renderWatchRound(e, flags.threshold)),
        onRoundError: (error) => t.warn(`this round failed: ${(error as Error).message ?? String(error)}; trying again next round`),
        onMatches: this.jsonEnabled() ? undefined : (records, names) => this.emit(renderWatchMatches(records, t.c, names)),
      })
    } finally {
      t.stopSpinner()
    }
  }
}
