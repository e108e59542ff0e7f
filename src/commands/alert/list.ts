import {Flags} from '@oclif/core'
import Table from 'cli-table3'

import {BaseCommand} from '../../base-command.js'
import {readConfig} from '../../lib/config/settings.js'
import {API_URL_ENV, LogdnaConfigClient, resolveConfigApi, SERVICE_KEY_ENV, summariseView, type AlertSummary} from '../../lib/sinks/alerts.js'

export default class AlertList extends BaseCommand {
  static summary = 'List the alerts (views with notification channels) in Log Analysis / Mezmo'

  static description = `Lists views that carry alerts, with their query, trigger and channels, through the configuration API
(--api-url or ${API_URL_ENV}; service key from ${SERVICE_KEY_ENV}). Webhook URLs are masked: they are credentials.`

  static examples = ['<%= config.bin %> alert list --api-url us-south', {description: 'Every view, with or without an alert', command: '<%= config.bin %> alert list --all --json'}]

  static flags = {
    'api-url': Flags.string({description: `configuration API: URL, IBM region (us-south) or mezmo (or ${API_URL_ENV})`, helpValue: 'URL|REGION'}),
    all: Flags.boolean({description: 'also list views without an alert'}),
    category: Flags.string({description: 'only views in this category'}),
  }

  async run(): Promise<{alerts: AlertSummary[]}> {
    const {flags} = await this.parse(AlertList)
    const api = resolveConfigApi({apiUrl: flags['api-url'], config: await readConfig(this.home)})
    const client = new LogdnaConfigClient({...api, userAgent: `flowlog/${this.config.version}`})
    const views = await client.listViews()
    const alerts = views
      .filter((v) => flags.all || v.channels.length > 0)
      .filter((v) => !flags.category || (v.category ?? []).includes(flags.category))
      .map(summariseView)
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
