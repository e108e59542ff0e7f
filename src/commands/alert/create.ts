import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {type AlertCreateResult, createAlert} from '../../lib/sinks/alert-ops.js'
import {API_URL_ENV, DEFAULT_CATEGORY, SERVICE_KEY_ENV} from '../../lib/sinks/alerts.js'
import {alertSinkFlags} from '../../lib/sinks/remote-flags.js'
import {SLACK_WEBHOOK_ENV} from '../../lib/sinks/slack.js'
import {renderAlertCreated} from '../../lib/ui/alerts.js'

export type {AlertCreateResult} from '../../lib/sinks/alert-ops.js'

export default class AlertCreate extends BaseCommand {
  static summary = 'Create an IBM Cloud Logs alert (default) or a Mezmo / LogDNA alert that posts to Slack'

  static description = `--sink cloud-logs (the default): creates an alert through the Cloud Logs API (/v1/alerts) whose filter is the
query translated to Lucene (a query Lucene cannot express exits 2), firing on every match (--trigger-limit 1) or
when at least --trigger-limit entries match within --trigger-interval, and notifying the outbound integration
--integration-id (IBM Event Notifications, e.g. with a Slack destination). --dry-run --json prints the body.
--sink logdna (Mezmo SaaS, self-hosted LogDNA; IBM Log Analysis was retired in March 2025): creates a view with the query and a presence alert on it through the Log Analysis (Mezmo) configuration API:
a webhook channel pointed at a Slack Incoming Webhook, firing when at least --trigger-limit lines match within
--trigger-interval. The view's app filter is the app forward sends (vpc-flowlogs).
Before creating it, the query is checked (a syntax error exits 2; a CIDR clause is flagged because it matches
nothing in Log Analysis) and replayed on the local index: how often the alert would have fired in the last hour.
The API is --api-url or ${API_URL_ENV} (a URL, an IBM region such as us-south, or mezmo); the service key comes
from ${SERVICE_KEY_ENV} only.`

  static examples = [
    {description: 'Check the query and the replay without creating anything', command: `<%= config.bin %> alert create scans --query 'action:rejected' --trigger-limit 50 --trigger-interval 5m --dry-run`},
    {description: 'A Cloud Logs alert notifying an Event Notifications integration (its Slack destination); the instance from setup, FLOWLOG_CLOUD_LOGS_URL or --cloud-logs-instance ID --region REGION', command: `<%= config.bin %> alert create ssh-accepted -q 'action:==accepted target_port:22' --integration-id 42`},
    {description: 'Mezmo / LogDNA: Slack (FLOWLOG_SLACK_WEBHOOK) when inbound SSH is accepted; the service key in FLOWLOG_LOGDNA_SERVICE_KEY', command: `<%= config.bin %> alert create ssh-accepted --sink logdna --query 'action:==accepted direction:==I target_port:22'`},
  ]

  static args = {
    name: Args.string({description: 'name of the view and alert', required: true}),
  }

  static flags = {
    query: Flags.string({char: 'q', description: 'the query (flowlog / Log Analysis syntax; translated to Lucene for Cloud Logs)', required: true, helpValue: 'QUERY'}),
    ...alertSinkFlags,
    'integration-id': Flags.integer({description: 'with --sink cloud-logs: the outbound integration to notify (e.g. Event Notifications with a Slack destination)', min: 0, helpValue: 'ID'}),
    severity: Flags.string({description: 'with --sink cloud-logs: the alert severity', options: ['info', 'warning', 'error', 'critical'], default: 'warning'}),
    // Refused: a webhook URL is a secret and a flag shows it in `ps`; kept only to say so.
    'slack-webhook': Flags.string({hidden: true, description: `refused: set ${SLACK_WEBHOOK_ENV} instead`}),
    'api-url': Flags.string({description: `with --sink logdna: configuration API URL or mezmo (the default) (or ${API_URL_ENV})`, helpValue: 'URL'}),
    'trigger-limit': Flags.integer({description: 'fire when at least this many lines match…', default: 1, min: 1}),
    'trigger-interval': Flags.string({description: '…within this interval: 30s, 1m, 5m, 15m, 30m, 1h, 6h, 12h, 24h', default: '30s'}),
    category: Flags.string({description: 'view category (created when missing)', default: DEFAULT_CATEGORY}),
    app: Flags.string({description: 'the app forward sends lines as', default: 'vpc-flowlogs'}),
    'dry-run': Flags.boolean({description: 'check and replay only; create nothing'}),
  }

  async run(): Promise<AlertCreateResult> {
    const {args, flags} = await this.parse(AlertCreate)
    const created = await createAlert({...flags, name: args.name}, {
      home: this.home,
      env: process.env,
      userAgent: `flowlog/${this.config.version}`,
      onWarning: (m) => this.term.warn(m),
      onInfo: (m) => this.term.info(m),
    })
    this.emit(renderAlertCreated(created, {json: this.jsonEnabled()}))
    return created.result
  }
}
