import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {readConfig} from '../../lib/config/settings.js'
import {API_URL_ENV, findView, LogdnaConfigClient, resolveConfigApi, SERVICE_KEY_ENV, summariseView, type AlertSummary} from '../../lib/sinks/alerts.js'

export default class AlertDelete extends BaseCommand {
  static summary = 'Delete an alert (its view) from Log Analysis / Mezmo'

  static description = `Deletes the view with this id or name, and the alerts attached to it, through the configuration API
(--api-url or ${API_URL_ENV}; service key from ${SERVICE_KEY_ENV}). A name shared by several views is refused:
give the viewid (flowlog alert list shows it).`

  static examples = ['<%= config.bin %> alert delete ssh-accepted --api-url us-south', '<%= config.bin %> alert delete 3f2a9c1e7b']

  static args = {
    alert: Args.string({description: 'the viewid or the name of the alert', required: true}),
  }

  static flags = {
    'api-url': Flags.string({description: `configuration API: URL, IBM region (us-south) or mezmo (or ${API_URL_ENV})`, helpValue: 'URL|REGION'}),
  }

  async run(): Promise<{deleted: AlertSummary}> {
    const {args, flags} = await this.parse(AlertDelete)
    const api = resolveConfigApi({apiUrl: flags['api-url'], config: await readConfig(this.home)})
    const client = new LogdnaConfigClient({...api, userAgent: `flowlog/${this.config.version}`})
    const view = findView(await client.listViews(), args.alert)
    await client.deleteView(view.viewid)
    if (!this.jsonEnabled()) this.term.out(`deleted alert ${JSON.stringify(view.name)} (viewid ${view.viewid})`)
    return {deleted: summariseView(view)}
  }
}
