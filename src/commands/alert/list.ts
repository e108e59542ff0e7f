import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {listAlerts} from '../../lib/sinks/alert-ops.js'
import {API_URL_ENV, SERVICE_KEY_ENV, type AlertSummary} from '../../lib/sinks/alerts.js'
import {alertSinkFlags} from '../../lib/sinks/remote-flags.js'
import {renderAlertList} from '../../lib/ui/alerts.js'

export default class AlertList extends BaseCommand {
  static summary = 'List the alerts in IBM Cloud Logs (default) or Mezmo / LogDNA (views with notification channels)'

  static description = `--sink cloud-logs (the default): lists the instance's alerts (GET /v1/alerts) with their query, trigger and
integrations. --sink logdna: lists views that carry alerts, with their query, trigger and channels, through the configuration API
(--api-url or ${API_URL_ENV}; service key from ${SERVICE_KEY_ENV}). Webhook URLs are masked: they are credentials.`

  static examples = [
    {description: 'The Cloud Logs alerts (the instance from setup, FLOWLOG_CLOUD_LOGS_URL or --cloud-logs-instance ID --region REGION)', command: '<%= config.bin %> alert list'},
    {description: 'Every Mezmo / LogDNA view, with or without an alert', command: '<%= config.bin %> alert list --sink logdna --all --json'},
  ]

  static flags = {
    ...alertSinkFlags,
    'api-url': Flags.string({description: `with --sink logdna: configuration API URL or mezmo (the default) (or ${API_URL_ENV})`, helpValue: 'URL'}),
    all: Flags.boolean({description: 'also list views without an alert'}),
    category: Flags.string({description: 'only views in this category'}),
  }

  async run(): Promise<{alerts: AlertSummary[]}> {
    const {flags} = await this.parse(AlertList)
    const alerts = await listAlerts(flags, {home: this.home, env: process.env, userAgent: `flowlog/${this.config.version}`})
    if (!this.jsonEnabled()) this.emit(renderAlertList(alerts, this.term, {all: flags.all}))
    return {alerts}
  }
}
