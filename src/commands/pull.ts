import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {PartialFailureError} from '../lib/errors.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {pullFromFlags} from '../lib/sources/from-flags.js'
import type {PullSummary} from '../lib/sources/pull.js'
import {pullProgressText, renderPull} from '../lib/ui/pull.js'
import {waitingMessage} from '../lib/store/lock.js'

export default class Pull extends BaseCommand {
  static summary = 'Load flow-log objects into the local index (incremental)'

  static description = `Lists the objects in a folder laid out like the bucket, or in a COS bucket, downloads the ones that are new or
changed, and loads their records into the local index that search, top, stats and why-rejected read.
Objects outside --since/--until (by the hour in their key) are not downloaded. A bad object is named with its
reason and the exit code is 5; every good object is still loaded.`

  static examples = [
    {description: 'Load a folder laid out like the bucket (flowlog demo --dir ./flowlogs writes one)', command: '<%= config.bin %> pull --source ./flowlogs'},
    {description: 'Machine-readable summary', command: '<%= config.bin %> pull --source ./flowlogs --json'},
    {description: 'The last hour from the bucket setup created (or --source cos://BUCKET)', command: '<%= config.bin %> pull --since 1h'},
  ]

  // Ctrl-C / SIGTERM: the objects in progress are finished or dropped, every whole object loaded is kept (exit 130).
  static gracefulInterrupt = true

  static flags = {
    ...sourceFlags,
    ...windowFlags,
    concurrency: Flags.integer({description: 'parallel downloads', default: 8, min: 1, max: 64}),
    force: Flags.boolean({description: 'load every object again, even when it is already loaded'}),
    'max-object-size': Flags.string({description: 'largest object once inflated (512MB, 2GB, 100KB; a bare number is MB); a larger one fails by name', default: '512MB'}),
  }

  async run(): Promise<PullSummary> {
    const {flags} = await this.parse(Pull)
    await this.useOwnIndex()
    const t = this.term
    const render = (s: PullSummary) => {
      t.stopSpinner()
      this.emit(renderPull(s, t))
    }
    let summary: PullSummary
    try {
      summary = await pullFromFlags(this.home, flags, {
        signal: this.interrupted,
        onWait: (holder) => t.info(waitingMessage(holder)),
        onListing: (source) => t.startSpinner(`listing ${source}`),
        onProgress: (p) => t.progress(pullProgressText(p)),
      })
    } catch (error) {
      if (error instanceof PartialFailureError) render(error.result as PullSummary)
      throw error
    }
    render(summary)
    return summary
  }
}
