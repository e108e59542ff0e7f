import {Flags} from '@oclif/core'
import Table from 'cli-table3'

import {BaseCommand} from '../../base-command.js'
import {readConfig} from '../../lib/config/settings.js'
import {API_URL_ENV, LogdnaConfigClient, resolveConfigApi, SERVICE_KEY_ENV, summariseView, type AlertSummary} from '../../lib/sinks/alerts.js'
import {alertApiFlags, CloudLogsApiClient, resolveAlertSink, resolveCloudLogsApi, summariseCloudLogsAlert} from '../../lib/sinks/cloud-logs-api.js'
import {alertSinkFlags} from '../../lib/sinks/remote-flags.js'

export default class AlertList extends BaseCommand {
  static summary = 'List the alerts in IBM Cloud Logs (default) or Mezmo / LogDNA (views with notification channels)'

  static description = `--sink cloud-logs (the default): lists the instance's alerts (GET /v1/alerts) with their query, trigger and
integrations. --sink logdna: lists views that carry alerts, with their query, trigger and channels, through the configuration API
(--api-url or ${API_URL_ENV}; service key from ${SERVICE_KEY_ENV}). Webhook URLs are masked: they are credentials.`

  static examples = ['<%= config.bin %> alert list --cloud-logs-instance <ID> --region us-south', '<%= config.bin %> alert list --sink logdna --api-url mezmo', {description: 'Every view, with or without an alert', command: '<%= config.bin %> alert list --all --json'}]

  static flags = {
    ...alertSinkFlags,
    'api-url': Flags.string({description: `with --sink logdna: configuration API URL or mezmo (the default) (or ${API_URL_ENV})`, helpValue: 'URL'}),
    all: Flags.boolean({description: 'also list views without an alert'}),
    category: Flags.string({description: 'only views in this category'}),
  }

  async run(): Promise<{alerts: AlertSummary[]}> {
    const {flags} = await this.parse(AlertList)
    const config = await readConfig(this.home)
    let alerts: AlertSummary[]
    if (resolveAlertSink(flags.sink, config) === 'cloud-logs') {
      const client = CloudLogsApiClient.fromSettings(resolveCloudLogsApi(alertApiFlags(flags), process.env, config), `flowlog/${this.config.version}`)
      alerts = (await client.listAlerts()).map(summariseCloudLogsAlert).filter((a) => !flags.category || a.category.includes(flags.category))
    } else {
      const api = resolveConfigApi({apiUrl: flags['api-url'], config})
      const client = new LogdnaConfigClient({...api, userAgent: `flowlog/${this.config.version}`})
      alerts = (await client.listViews())
        .filter((v) => flags.all || v.channels.length > 0)
        .filter((v) => !flags.category || (v.category ?? []).includes(flags.category))
        .map(summariseView)
    }
    if (!this.jsonEnabled()) {
      if (alerts.length === 0) this.term.info(flags.all ? 'no views' : 'no alerts (flowlog alert create makes one)')
      else {
        const c = this.term.c
        const table = new Table({
          head: ['viewid', 'name', 'query', 'trigger', 'channels'].map((h) => c.bold(h)),
          style: {head: [], border: [], compact: true},
          chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
        })
        for (const a of alerts) table.push([a.viewid, a.name, a.query, a.trigger, a.channels.join('\n')])
        this.term.out(table.toString())
      }
    }
    return {alerts}
  }
}
