import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {deleteAlert} from '../../lib/sinks/alert-ops.js'
import {API_URL_ENV, SERVICE_KEY_ENV, type AlertSummary} from '../../lib/sinks/alerts.js'
import {alertSinkFlags} from '../../lib/sinks/remote-flags.js'
import {renderAlertDeleted} from '../../lib/ui/alerts.js'

export default class AlertDelete extends BaseCommand {
  static summary = 'Delete an alert from IBM Cloud Logs (default) or Mezmo / LogDNA (its view)'

  static description = `--sink cloud-logs (the default): deletes the alert with this id or name (DELETE /v1/alerts/ID).
--sink logdna: deletes the view with this id or name, and the alerts attached to it, through the configuration API
(--api-url or ${API_URL_ENV}; service key from ${SERVICE_KEY_ENV}). A name shared by several views is refused:
give the viewid (flowlog alert list shows it).`

  static examples = [
    {description: 'Delete a Cloud Logs alert by name or id', command: '<%= config.bin %> alert delete ssh-accepted'},
    {description: 'Delete a Mezmo / LogDNA alert (its view) by name or viewid (flowlog alert list shows it)', command: '<%= config.bin %> alert delete ssh-accepted --sink logdna'},
  ]

  static args = {
    alert: Args.string({description: 'the viewid or the name of the alert', required: true}),
  }

  static flags = {
    ...alertSinkFlags,
    'api-url': Flags.string({description: `with --sink logdna: configuration API URL or mezmo (the default) (or ${API_URL_ENV})`, helpValue: 'URL'}),
  }

  async run(): Promise<{deleted: AlertSummary}> {
    const {args, flags} = await this.parse(AlertDelete)
    const result = await deleteAlert({...flags, alert: args.alert}, {home: this.home, env: process.env, userAgent: `flowlog/${this.config.version}`})
    if (!this.jsonEnabled()) this.emit(renderAlertDeleted(result))
    return {deleted: result.deleted}
  }
}
