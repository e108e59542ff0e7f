import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {type AlertReplay, compileQuery, replayPresenceAlert} from '../../lib/analysis/aggregate.js'
import {readConfig} from '../../lib/config/settings.js'
import {UsageError} from '../../lib/errors.js'
import {
  alertView,
  API_URL_ENV,
  DEFAULT_CATEGORY,
  LogdnaConfigClient,
  parseTriggerInterval,
  resolveConfigApi,
  SERVICE_KEY_ENV,
  summariseView,
  triggerIntervalMs,
  type AlertSummary,
} from '../../lib/sinks/alerts.js'
import {maskWebhookUrl, SLACK_WEBHOOK_ENV, validateWebhookUrl} from '../../lib/sinks/slack.js'
import {planCloudLogsAlert} from '../../lib/sinks/cloud-logs-alert.js'
import {alertApiFlags, CloudLogsApiClient, type CloudLogsAlertBody, type CloudLogsAlertFlags, resolveAlertSink, resolveCloudLogsApi, summariseCloudLogsAlert} from '../../lib/sinks/cloud-logs-api.js'
import {alertSinkFlags} from '../../lib/sinks/remote-flags.js'
import {openStore} from '../../lib/store/store.js'
import {plural} from '../../lib/ui/format.js'

export interface AlertCreateResult extends AlertSummary {
  category_created: boolean
  replay: AlertReplay
  warnings: string[]
  dry_run: boolean
  sink: 'cloud-logs' | 'logdna'
  /** --sink cloud-logs: the POST /v1/alerts body (sent, or with --dry-run only shown). */
  body?: CloudLogsAlertBody
}

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
    {
      description: 'Slack when inbound SSH is accepted',
      command: `<%= config.bin %> alert create ssh-accepted --query 'action:==accepted direction:==I target_port:22' --api-url us-south`,
    },
    {description: 'Check the query and the replay without creating anything', command: `<%= config.bin %> alert create scans --query 'action:rejected' --trigger-limit 50 --trigger-interval 5m --dry-run`},
    {description: 'A Cloud Logs alert notifying an Event Notifications integration (its Slack destination)', command: `<%= config.bin %> alert create ssh-accepted -q 'action:==accepted target_port:22' --cloud-logs-instance <ID> --region us-south --integration-id 42`},
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
    const compiled = compileQuery(flags.query)
    const config = await readConfig(this.home)
    if (resolveAlertSink(flags.sink, config) === 'cloud-logs') return this.createOnCloudLogs(args.name, flags, compiled, config)
    const warnings = [...compiled.warnings]
    if (compiled.hasCidr) {
      warnings.push('the query has a CIDR clause (e.g. 10.240.0.0/16): it works locally but matches nothing in Log Analysis / Mezmo, so this alert would never fire there')
    }
    for (const w of warnings) this.term.warn(w)
    if (flags['slack-webhook'] !== undefined) {
      throw new UsageError('--slack-webhook is not taken: a webhook URL is a secret, and a flag shows it in `ps` and the shell history', {
        suggestions: [`Set ${SLACK_WEBHOOK_ENV}=https://hooks.slack.com/services/… in the environment`],
      })
    }
    const rawUrl = process.env[SLACK_WEBHOOK_ENV]
    if (!rawUrl) throw new UsageError('no Slack webhook', {suggestions: [`Set ${SLACK_WEBHOOK_ENV} to the Slack Incoming Webhook URL`]})
    const webhook = validateWebhookUrl(rawUrl, SLACK_WEBHOOK_ENV)
    const interval = parseTriggerInterval(flags['trigger-interval'])
    const view = alertView({
      name: args.name,
      query: flags.query,
      webhookUrl: webhook,
      triggerLimit: flags['trigger-limit'],
      triggerInterval: interval,
      category: flags.category,
      app: flags.app,
    })
    const api = flags['dry-run'] ? undefined : resolveConfigApi({apiUrl: flags['api-url'], config})

    const replay = await this.replay(compiled, interval, flags['trigger-limit'])

    const result: AlertCreateResult = {
      ...summariseView({...view, viewid: '', channels: view.channels as unknown as Record<string, unknown>[]}),
      category_created: false,
      replay,
      warnings,
      dry_run: Boolean(flags['dry-run']),
      sink: 'logdna',
    }
    if (!api) {
      this.term.info(`dry run: would create view ${JSON.stringify(args.name)} in category ${flags.category}, posting to ${maskWebhookUrl(webhook)}`)
      return result
    }
    const client = new LogdnaConfigClient({...api, userAgent: `flowlog/${this.config.version}`})
    const {created} = await client.ensureCategory(flags.category)
    if (created) this.term.info(`created view category ${flags.category}`)
    const saved = await client.createView(view)
    result.viewid = saved.viewid
    result.category_created = created
    if (!this.jsonEnabled()) this.term.out(`created alert ${JSON.stringify(args.name)}: viewid ${saved.viewid}`)
    this.term.hint(`  it posts to ${maskWebhookUrl(webhook)} when ${result.trigger}; delete it with: flowlog alert delete ${saved.viewid}`)
    return result
  }

  private async replay(compiled: ReturnType<typeof compileQuery>, interval: ReturnType<typeof parseTriggerInterval>, limit: number): Promise<AlertReplay> {
    const store = await openStore(this.home, {readOnly: true})
    const replay = await replayPresenceAlert(store, compiled.spec, {intervalMs: triggerIntervalMs(interval), limit}).finally(() => store.close())
    const fired = `would have fired ${plural(replay.fires, 'time')} (${plural(replay.matches, 'matching record')})`
    if (replay.basis === 'last-hour') this.term.info(`replayed on local records: ${fired} in the last hour`)
    else if (replay.basis === 'latest-data') this.term.info(`no local records in the last hour; on the newest hour of local data (${replay.window_start} → ${replay.window_end}) it ${fired}`)
    else this.term.info('no local records to replay the alert on (flowlog pull loads them)')
    return replay
  }

  /** --sink cloud-logs: translate, build the body, replay locally, then create it (or print it with --dry-run). */
  private async createOnCloudLogs(name: string, flags: Record<string, unknown>, compiled: ReturnType<typeof compileQuery>, config: Awaited<ReturnType<typeof readConfig>>): Promise<AlertCreateResult> {
    const interval = parseTriggerInterval(flags['trigger-interval'] as string)
    const plan = planCloudLogsAlert({
      name,
      query: flags.query as string,
      app: flags.app as string,
      triggerLimit: flags['trigger-limit'] as number,
      triggerInterval: interval,
      severity: flags.severity as string,
      integrationId: flags['integration-id'] as number | undefined,
      slackWebhook: flags['slack-webhook'] as string | undefined,
    })
    const warnings = [...compiled.warnings, ...plan.warnings]
    for (const w of warnings) this.term.warn(w)
    const dryRun = Boolean(flags['dry-run'])
    const api = dryRun ? undefined : resolveCloudLogsApi(alertApiFlags(flags as CloudLogsAlertFlags), process.env, config)
    const replay = await this.replay(compiled, interval, flags['trigger-limit'] as number)
    const result: AlertCreateResult = {...summariseCloudLogsAlert(plan.body), category_created: false, replay, warnings, dry_run: dryRun, sink: 'cloud-logs', body: plan.body}
    if (!api) {
      this.term.info(`dry run: would create Cloud Logs alert ${JSON.stringify(name)} with the Lucene filter ${plan.lucene}`)
      if (!this.jsonEnabled()) this.term.out(JSON.stringify(plan.body, null, 2))
      return result
    }
    const saved = await CloudLogsApiClient.fromSettings(api, `flowlog/${this.config.version}`).createAlert(plan.body)
    result.viewid = saved.id
    if (!this.jsonEnabled()) this.term.out(`created Cloud Logs alert ${JSON.stringify(name)}: id ${saved.id}`)
    this.term.hint(`  it fires when ${result.trigger}; delete it with: flowlog alert delete ${saved.id} --sink cloud-logs`)
    return result
  }
}
