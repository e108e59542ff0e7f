import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {readConfig} from '../../lib/config/settings.js'
import {API_URL_ENV, findView, LogdnaConfigClient, resolveConfigApi, SERVICE_KEY_ENV, summariseView, type AlertSummary} from '../../lib/sinks/alerts.js'
import {alertApiFlags, CloudLogsApiClient, findCloudLogsAlert, resolveAlertSink, resolveCloudLogsApi, summariseCloudLogsAlert} from '../../lib/sinks/cloud-logs-api.js'
import {alertSinkFlags} from '../../lib/sinks/remote-flags.js'

export default class AlertDelete extends BaseCommand {
  static summary = 'Delete an alert from IBM Cloud Logs (default) or Mezmo / LogDNA (its view)'

  static description = `--sink cloud-logs (the default): deletes the alert with this id or name (DELETE /v1/alerts/ID).
--sink logdna: deletes the view with this id or name, and the alerts attached to it, through the configuration API
(--api-url or ${API_URL_ENV}; service key from ${SERVICE_KEY_ENV}). A name shared by several views is refused:
give the viewid (flowlog alert list shows it).`

  static examples = ['<%= config.bin %> alert delete ssh-accepted --cloud-logs-instance <ID> --region us-south', '<%= config.bin %> alert delete 3f2a9c1e7b --sink logdna --api-url mezmo']

  static args = {
    alert: Args.string({description: 'the viewid or the name of the alert', required: true}),
  }

  static flags = {
    ...alertSinkFlags,
    'api-url': Flags.string({description: `with --sink logdna: configuration API URL or mezmo (the default) (or ${API_URL_ENV})`, helpValue: 'URL'}),
  }

  async run(): Promise<{deleted: AlertSummary}> {
    const {args, flags} = await this.parse(AlertDelete)
    const config = await readConfig(this.home)
    if (resolveAlertSink(flags.sink, config) === 'cloud-logs') {
      const client = CloudLogsApiClient.fromSettings(resolveCloudLogsApi(alertApiFlags(flags), process.env, config), `flowlog/${this.config.version}`)
      const alert = findCloudLogsAlert(await client.listAlerts(), args.alert)
      await client.deleteAlert(alert.id)
      if (!this.jsonEnabled()) this.term.out(`deleted Cloud Logs alert ${JSON.stringify(alert.name)} (id ${alert.id})`)
      return {deleted: summariseCloudLogsAlert(alert)}
    }
    const api = resolveConfigApi({apiUrl: flags['api-url'], config})
    const client = new LogdnaConfigClient({...api, userAgent: `flowlog/${this.config.version}`})
    const view = findView(await client.listViews(), args.alert)
    await client.deleteView(view.viewid)
    if (!this.jsonEnabled()) this.term.out(`deleted alert ${JSON.stringify(view.name)} (viewid ${view.viewid})`)
    return {deleted: summariseView(view)}
  }
}
