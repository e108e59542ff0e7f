import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {UsageError} from '../../lib/errors.js'
import {resetIndex, type ResetResult} from '../../lib/store/index-admin.js'
import {plural} from '../../lib/ui/format.js'

export default class IndexReset extends BaseCommand {
  static summary = 'Empty the local index (the next pull loads again)'

  static description = `Removes every record and object from the index the other commands read — your own, or the demo's after
flowlog demo — so they see nothing until the next pull (or demo). The flow-log objects themselves, in the bucket or
folder, are not touched; neither are settings, the forward ledger or the other index. Asks first on a terminal;
--yes for scripts.`

  static examples = [
    {description: 'Ask first (without a terminal it refuses: pass --yes)', command: '<%= config.bin %> index reset'},
    {description: 'Without asking', command: '<%= config.bin %> index reset --yes'},
  ]

  static flags = {
    yes: Flags.boolean({char: 'y', description: 'do not ask'}),
  }

  async run(): Promise<ResetResult> {
    const {flags} = await this.parse(IndexReset)
    const which = this.home.index === 'demo' ? "the demo's index" : 'your index'
    if (!flags.yes) {
      if (!this.term.interactive) throw new UsageError(`index reset empties ${which}: pass --yes to confirm`)
      const {confirm} = await import('@inquirer/prompts')
      if (!(await confirm({message: `Empty ${which} (${this.home.indexPath})?`, default: false}))) throw new UsageError('index reset cancelled: nothing was changed')
    }
    const result = await resetIndex(this.home, {onWait: () => this.term.info('waiting for another flowlog command to finish with the index…')})
    this.term.info(`${which} is empty (${plural(result.records, 'record')} in ${plural(result.objects, 'object')} removed)`)
    if (result.reset === 'demo') this.term.hint('flowlog pull loads your own data and goes back to your index')
    return result
  }
}
