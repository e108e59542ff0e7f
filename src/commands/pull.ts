import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {PartialFailureError, UsageError} from '../lib/errors.js'
import {parseSize} from '../lib/records/limits.js'
import {parseWindow} from '../lib/records/time.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {openSourceFromFlags} from '../lib/sources/from-flags.js'
import {type PullSummary, pullObjects} from '../lib/sources/pull.js'
import {openStore} from '../lib/store/store.js'
import {formatBytes, formatRate, plural} from '../lib/ui/format.js'

export default class Pull extends BaseCommand {
  static summary = 'Load flow-log objects into the local index (incremental)'

  static description = `Lists the objects in a folder laid out like the bucket, or in a COS bucket, downloads the ones that are new or
changed, and loads their records into the local index that search, top, stats and why-rejected read.
Objects outside --since/--until (by the hour in their key) are not downloaded. A bad object is named with its
reason and the exit code is 5; every good object is still loaded.`

  static examples = [
    {description: 'Load a folder laid out like the bucket', command: '<%= config.bin %> pull --source ./flowlogs'},
    {description: 'Load the last hour from COS', command: '<%= config.bin %> pull --source cos://my-flowlogs-bucket --since 1h'},
    {description: 'Machine-readable summary', command: '<%= config.bin %> pull --source ./flowlogs --json'},
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
    const window = parseWindow(flags)
    const maxObjectSize = parseSize(flags['max-object-size'])
    if (maxObjectSize === undefined) throw new UsageError(`--max-object-size ${flags['max-object-size']}: not a size (say 512MB, 2GB or 100KB)`)
    const source = await openSourceFromFlags(this.home, flags)
    const store = await openStore(this.home, {onWait: () => this.term.info('waiting for another flowlog command to finish with the index…')})
    this.term.startSpinner(`listing ${source.description}`)
    let summary: PullSummary
    try {
      summary = await pullObjects(source, store, {
        window,
        concurrency: flags.concurrency,
        force: flags.force,
        maxObjectSize,
        signal: this.interrupted,
        onProgress: (p) =>
          this.term.progress(
            `${p.listed} listed, ${p.downloaded} downloaded (${formatRate(p.downloaded, p.elapsedMs)} objects/s, ` +
              `${formatBytes(p.bytes)}), ${p.loaded} loaded, ${p.records} records`,
          ),
      })
    } catch (error) {
      if (error instanceof PartialFailureError) this.render(error.result as PullSummary)
      throw error
    } finally {
      await store.close()
      await source.close?.()
    }
    this.render(summary)
    return summary
  }

  private render(s: PullSummary): void {
    const t = this.term
    t.stopSpinner()
    t.info(
      `${plural(s.objects.listed, 'object')} listed, ${s.objects.downloaded} downloaded, ${s.objects.loaded} loaded, ` +
        `${s.objects.skipped} already loaded, ${s.objects.failed} failed; ${plural(s.records, 'record')} loaded`,
    )
    if (s.unrecognisedKeys > 0) t.warn(`${plural(s.unrecognisedKeys, 'object')} under ibm_vpc_flowlogs_ with an unrecognised key layout (loaded from their headers)`)
    if (s.skipData > 0) t.warn(`${plural(s.skipData, 'object')} say "skip data": the collector lost data there, counts are lower bounds`)
    for (const f of s.failures) t.err(`  ${t.ce.red('✗')} ${f.key}: ${f.error}`)
  }
}
