import {input, select} from '@inquirer/prompts'
import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type FlagShape, protectQueryWords, strictFlag} from '../query-argv.js'
import {checkQueryFields} from '../lib/store/query-fields.js'
import {readConfig} from '../lib/config/settings.js'
import {loadNames} from '../lib/names.js'
import {openStore} from '../lib/store/store.js'
import {unicodeEnabled} from '../lib/ui/bars.js'
import {explore, type ExplorePrompts, type ExploreSummary, fileHistory, historyFile, storeData} from '../lib/ui/explore.js'

export default class Explore extends BaseCommand {
  static summary = 'Investigate interactively: query, pick a record, pivot'

  static description = `An interactive loop over the local index: type a query (Log Analysis syntax), see the newest matching records,
pick one to see all its fields, then pivot: all traffic from its initiator, why it was rejected, or the top ports
of its target. Past queries are kept in the flowlog home (type :h to pick one). Ctrl-C or :q quits.`

  static examples = ['<%= config.bin %> explore', {description: 'Start from a query', command: `<%= config.bin %> explore 'action:rejected target_port:22'`}]

  // A query may start with '-' and span several words (see src/query-argv.ts).
  static strict = false

  static args = {
    query: Args.string({description: 'a first query to run'}),
  }

  static flags = {
    limit: Flags.integer({description: 'records shown per query', default: 20, min: 1, max: 500}),
    names: Flags.boolean({description: 'show instance and interface names beside IPs', default: true, allowNo: true}),
    ...strictFlag,
  }

  async run(): Promise<ExploreSummary> {
    const {argv, flags} = await this.parse(Explore, protectQueryWords(this.argv, Explore.flags as Record<string, FlagShape>, 'flowlog explore'))
    const args = {query: (argv as string[]).length ? (argv as string[]).join(' ') : undefined}
    // Interactive output goes to stderr under --json, so that stdout holds only the final summary.
    const json = this.jsonEnabled()
    if (args.query) for (const w of await checkQueryFields(this.home, args.query, {strict: flags.strict})) this.term.warn(w)
    const store = await openStore(this.home, {readOnly: true})
    try {
      await this.indexIsEmpty(store)
    } finally {
      await store.close()
    }
    const names = flags.names ? await loadNames(this.home, {config: await readConfig(this.home)}) : undefined
    for (const w of names?.warnings ?? []) this.term.warn(w)
    const whyRejected = this.config.findCommand('why-rejected') ? (argv: string[]) => this.config.runCommand('why-rejected', argv) : undefined
    const summary = await explore({
      prompts: {input, select} as unknown as ExplorePrompts,
      context: {input: process.stdin, output: process.stderr},
      data: storeData(this.home),
      history: fileHistory(historyFile(this.home)),
      out: (text) => (json ? this.term.err(text) : this.term.out(text)),
      c: this.term.c,
      names: names?.names,
      unicode: unicodeEnabled(),
      limit: flags.limit,
      whyRejected: whyRejected ? async (argv) => void (await whyRejected(argv)) : undefined,
      initialQuery: args.query,
    })
    if (summary.interrupted) this.term.info('bye')
    return summary
  }
}
