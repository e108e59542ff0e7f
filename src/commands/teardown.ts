import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {PartialFailureError} from '../lib/errors.js'
import type {Deployment} from '../lib/pipeline/state.js'
import type {TeardownResult} from '../lib/pipeline/teardown.js'
import {teardownFlow} from '../lib/pipeline/teardown-flow.js'
import {renderTeardown, renderTeardownList} from '../lib/ui/pipeline.js'

export default class Teardown extends BaseCommand {
  static summary = 'Remove everything `flowlog setup` created, in reverse order'

  static description = `Deletes, from the state file, only what setup created: the flow log collector, the Code Engine job runs,
job, secrets, config map, build and project, the job's API key, access policies and service ID, the registry
namespace, the authorization policies, the bucket (emptied first: this destroys the
flow-log history), the COS key, the IBM Cloud Logs instance and the COS instance (deleted instances are reclaimed at
once). Resources setup found already there are left in place. A 404 counts as already deleted; a failed step leaves
the rest of the state for the next run (exit 5).

It lists what it deletes, one resource per line with its kind, and asks for confirmation unless --yes is given;
without a terminal --yes is required.`

  static examples = [
    {description: 'Ask, then remove everything (without a terminal it refuses: pass --yes)', command: '<%= config.bin %> teardown'},
    {description: 'One of several deployments', command: '<%= config.bin %> teardown --region us-south --basename flowlog --yes'},
    {description: 'In a script', command: '<%= config.bin %> teardown --yes --json'},
  ]

  static flags = {
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation'}),
    region: Flags.string({description: 'the deployment\'s region (when setup ran in several)', helpValue: 'REGION'}),
    basename: Flags.string({description: 'the deployment\'s basename (when setup ran with several)', helpValue: 'NAME'}),
  }

  async run(): Promise<TeardownResult> {
    const {flags} = await this.parse(Teardown)
    const t = this.term
    const render = (r: TeardownResult) => this.jsonEnabled() || this.emit(renderTeardown(r, t))
    const confirm = async (dep: Deployment) => {
      this.emit(renderTeardownList(dep))
      const {createInquirerPrompter} = await import('../lib/pipeline/prompter.js')
      return createInquirerPrompter().confirm({message: `Delete the ${dep.basename} pipeline, including bucket ${dep.answers.bucket} and its flow logs?`, default: false})
    }
    let result: TeardownResult
    try {
      result = await teardownFlow(flags, {
        home: this.home,
        confirm: this.jsonEnabled() || !t.interactive ? undefined : confirm,
        onStart: () => t.startSpinner('tearing down'),
        onProgress: (m) => t.progress(m),
      })
    } catch (error) {
      t.stopSpinner()
      if (error instanceof PartialFailureError) render(error.result as TeardownResult)
      throw error
    }
    t.stopSpinner()
    render(result)
    return result
  }
}
