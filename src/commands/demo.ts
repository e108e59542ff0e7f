import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type DemoResult, runDemo} from '../lib/demo/index.js'
import {writeDemoSnapshot} from '../lib/demo/snapshot.js'
import {plural} from '../lib/ui/format.js'

export default class Demo extends BaseCommand {
  static summary = "Replay the IBM blog's scenario offline, then investigate it"

  static description = `Writes realistic flow-log objects for the scenario of IBM's blog "How to use Flow Logs for VPC to monitor network
traffic and troubleshoot connectivity": vsi1 (10.240.0.4, public through a floating IP, its security groups allow
TCP 3000 only) and vsi2 (10.240.64.4, private), internet scanners, and a laptop (24.22.68.94) whose SSH is
rejected. The objects are laid out like the COS bucket, loaded into an index of the demo's own (never mixed with
pulled data; the other commands read it until the next pull), and the blog's investigation is printed as next steps.`

  static examples = [
    {description: 'Write two hours of the scenario into the flowlog home and load them', command: '<%= config.bin %> demo'},
    {description: 'Six hours into ./flowlogs, the folder the pull and forward examples read', command: '<%= config.bin %> demo --dir ./flowlogs --hours 6'},
  ]

  static flags = {
    dir: Flags.string({description: 'folder to write the objects to (default: inside the flowlog home)', helpValue: 'DIR'}),
    hours: Flags.integer({description: 'hours of traffic, ending now', default: 2, min: 1, max: 24 * 14}),
    seed: Flags.integer({description: 'random seed (same seed, same traffic shape)', default: 1}),
  }

  async run(): Promise<DemoResult> {
    const {flags} = await this.parse(Demo)
    this.term.startSpinner('writing demo flow logs')
    const result = await runDemo({
      home: this.home,
      dir: flags.dir,
      hours: flags.hours,
      seed: flags.seed,
      writeSnapshot: writeDemoSnapshot,
      onProgress: (t) => this.term.progress(t),
    })
    this.term.stopSpinner(`${plural(result.objects, 'object')} with ${plural(result.records, 'record')} written to ${result.dir} and loaded into the demo's own index`)
    this.term.hint("search, top, stats and the others read the demo's index until the next flowlog pull; flowlog index reset empties it")
    if (!this.jsonEnabled()) {
      const c = this.term.c
      this.term.out(`\n${c.bold('Investigate it the way the blog does:')}\n`)
      result.nextSteps.forEach((s, i) => {
        this.term.out(`  ${i + 1}. ${c.cyan(s.command)}\n     ${c.dim(s.why)}`)
      })
    }
    return result
  }
}
