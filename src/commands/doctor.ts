import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type DoctorResult, runDoctor} from '../lib/pipeline/doctor.js'
import {renderDoctor} from '../lib/ui/pipeline.js'

export default class Doctor extends BaseCommand {
  static summary = 'Check every hop of the flow-log pipeline and say how to fix what is broken'

  static description = `Checks, in order: the API key (IAM token and account), the bucket (reachable, regional, in the VPC's region),
the is/flow-log-collector → COS authorization, the collector (present, active, writing to the bucket), recent
objects in the bucket, the Code Engine project, the forwarder job and its runs (or, for a COS subscription, its
authorization; the subscription itself cannot be seen, so it is a failed check with the command to create it), the
job's service ID policies and whether its API key gets an IAM token, and the sink (one tagged test line to
<base>/logs/v1/singles; retired Log Analysis endpoints are never probed). Each failed check prints its fix.

Exit status 1 when a check fails.`

  static examples = [
    {description: 'Check the pipeline setup created', command: '<%= config.bin %> doctor'},
    {description: 'For a script or a monitor', command: '<%= config.bin %> doctor --json'},
    {description: 'Do not send the sink a test line', command: '<%= config.bin %> doctor --skip-sink'},
  ]

  static flags = {
    region: Flags.string({description: 'the deployment\'s region (when setup ran in several)', helpValue: 'REGION'}),
    basename: Flags.string({description: 'the deployment\'s basename (when setup ran with several)', helpValue: 'NAME'}),
    'skip-sink': Flags.boolean({description: 'do not send a test line to the sink'}),
  }

  async run(): Promise<DoctorResult> {
    const {flags} = await this.parse(Doctor)
    const t = this.term
    t.startSpinner('checking')
    let result: DoctorResult
    try {
      result = await runDoctor({home: this.home, region: flags.region, basename: flags.basename, version: this.config.version, skipSink: flags['skip-sink']})
    } finally {
      t.stopSpinner()
    }
    if (!this.jsonEnabled()) this.emit(renderDoctor(result, t))
    const failed = result.checks.filter((c) => !c.ok).length
    if (failed > 0) {
      t.error(`${failed} check(s) failed`)
      process.exitCode = 1
    } else t.info('all checks passed')
    return result
  }
}
