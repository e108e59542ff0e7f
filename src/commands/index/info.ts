import {BaseCommand} from '../../base-command.js'
import {type IndexInfo, indexInfo} from '../../lib/store/index-admin.js'
import {formatBytes, formatCount, plural} from '../../lib/ui/format.js'
import {textTable} from '../../lib/ui/table.js'

export default class IndexInfoCommand extends BaseCommand {
  static summary = 'What the local index holds: records, objects, sources, time range, size'

  static description = `Reports the index the other commands read: your own (what pull loads) or, after flowlog demo, the demo's
(until the next pull). Records, objects, the sources they came from, the first and last record times, and the size
on disk.`

  static examples = [
    '<%= config.bin %> index info',
    {description: 'For a script', command: '<%= config.bin %> index info --json'},
  ]

  async run(): Promise<IndexInfo> {
    await this.parse(IndexInfoCommand)
    const info = await indexInfo(this.home)
    if (!this.jsonEnabled()) {
      const t = this.term
      t.out(`${info.index === 'demo' ? "the demo's index" : 'your index'}: ${info.path}`)
      t.out(`${plural(info.records, 'record')} in ${plural(info.objects, 'object')}, ${formatBytes(info.bytes)} on disk (objects: ${formatBytes(info.object_bytes)})`)
      t.out(info.time_range ? `records from ${info.time_range.first} to ${info.time_range.last}` : 'no record times')
      if (info.sources.length) {
        const rows = info.sources.map((s) => [s.source, formatCount(s.objects), formatCount(s.records)])
        t.out(textTable(['source', 'objects', 'records'], rows, t.c, {width: t.tableWidth(), cut: ['source']}))
      }
      if (info.index === 'demo') t.hint('flowlog pull loads your own data and goes back to your index')
    }
    return info
  }
}
