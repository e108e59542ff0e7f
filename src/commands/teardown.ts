import {Flags} from '@oclif/core'
import Table from 'cli-table3'

import {BaseCommand} from '../base-command.js'
import {PartialFailureError, UsageError} from '../lib/errors.js'
import {describeTeardown, runTeardown, teardownList, type TeardownResult} from '../lib/pipeline/teardown.js'

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
    {description: 'Ask, then remove everything', command: '<%= config.bin %> teardown'},
    {description: 'In a script', command: '<%= config.bin %> teardown --yes --json'},
    {description: 'One of several deployments', command: '<%= config.bin %> teardown --region eu-de --basename flowlog --yes'},
  ]

  static flags = {
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation'}),
    region: Flags.string({description: 'the deployment\'s region (when setup ran in several)', helpValue: 'REGION'}),
    basename: Flags.string({description: 'the deployment\'s basename (when setup ran with several)', helpValue: 'NAME'}),
  }

  async run(): Promise<TeardownResult> {
    const {flags} = await this.parse(Teardown)
    const t = this.term
    const dep = await describeTeardown({home: this.home, region: flags.region, basename: flags.basename})
    if (dep && !flags.yes) {
      if (this.jsonEnabled() || !t.interactive) {
        throw new UsageError('teardown deletes cloud resources and the flow-log bucket: pass --yes to confirm (there is no terminal to ask)', {
          suggestions: ['flowlog teardown --yes'],
        })
      }
      const list = teardownList(dep)
      t.info(`This deletes, in ${dep.region} (account ${dep.accountId}):${list.length ? '' : ' nothing created by setup'}`)
      for (const item of list) t.out(`  ${item.kind.padEnd(34)} ${item.resource}`)
      const {createInquirerPrompter} = await import('../lib/pipeline/prompter.js')
      const ok = await createInquirerPrompter().confirm({message: `Delete the ${dep.basename} pipeline, including bucket ${dep.answers.bucket} and its flow logs?`, default: false})
      if (!ok) throw new UsageError('teardown cancelled: nothing was deleted')
    }
    t.startSpinner('tearing down')
    let result: TeardownResult
    try {
      result = await runTeardown({home: this.home, region: flags.region, basename: flags.basename, onProgress: (e) => t.progress(e.message)})
    } catch (error) {
      t.stopSpinner()
      if (error instanceof PartialFailureError) this.render(error.result as TeardownResult)
      throw error
    }
    t.stopSpinner()
    this.render(result)
    return result
  }

  private render(r: TeardownResult): void {
    if (this.jsonEnabled()) return
    const t = this.term
    const colour = (a: string) => (a === 'deleted' ? t.c.green(a) : a === 'failed' ? t.c.red(a) : t.c.dim(a))
    const table = new Table({head: ['step', 'action', 'id', 'detail'], style: {head: t.colour ? ['bold'] : [], border: t.colour ? ['grey'] : []}, chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}})
    for (const s of r.steps) table.push([s.name, colour(s.action), s.id ?? '', s.detail ?? ''])
    t.out(table.toString())
    if (r.commands?.length) {
      t.info('The COS subscription stays with the Code Engine project that was left in place. Run:')
      for (const c of r.commands) t.out(`  ${c}`)
    }
    const left = r.steps.filter((s) => s.action === 'skipped' && s.detail?.includes('left in place')).length
    if (left > 0) t.hint(`${left} resource(s) setup found already there were left in place`)
    if (r.steps.some((s) => s.action === 'failed')) t.hint('run `flowlog teardown` again: it resumes with what is left')
    else t.hint('everything setup created is gone; `flowlog setup` builds it again')
  }
}
