import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type ApplyResult, applyFix, type UndoResult, undoLast} from '../lib/analysis/apply.js'
import {describeFixForUndo, planApply, type Protocol, whyRejected, type WhyRejectedResult} from '../lib/analysis/why-rejected.js'
import {readConfig} from '../lib/config/settings.js'
import {UsageError} from '../lib/errors.js'
import {createVpcClient} from '../lib/ibmcloud/vpc.js'
import {parseWindow} from '../lib/records/time.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {remoteEvidenceHome} from '../lib/sinks/remote.js'
import {remoteFlags, remoteOptions} from '../lib/sinks/remote-flags.js'
import {plural} from '../lib/ui/format.js'
import {renderApplied, renderApplyPlan, renderUndo, renderWhyRejected} from '../lib/ui/why-rejected.js'

export type WhyRejectedOutput = WhyRejectedResult & {applied?: ApplyResult}
type Config = Awaited<ReturnType<typeof readConfig>>
const EXAMPLE = ['For example: flowlog why-rejected --ip 24.22.68.94 --port 22']

export default class WhyRejected extends BaseCommand {
  static summary = 'Explain why flows were rejected: the blocking layer and rule, the minimal fix, and what it would admit'

  static description = `Starts from the rejected records in the local index between --ip (the other end, e.g. your laptop) and --port, groups them per interface, and evaluates them against the VPC configuration the way IBM VPC does: the subnet's network ACL (stateless, ordered, first match wins, implicit deny) on the way in and on the way back, and the union of the interface's security groups (stateful). It names the blocking layer and rule (or says that today's configuration admits the flow, and what that can mean), lists near misses, proposes the smallest fix (one rule for exactly this protocol and port from the observed address, placed before the deciding ACL rule), and replays the window's records against the fix to show what else it would admit.

Internet scanning is told apart from a failing client by one rule (docs/why-rejected.md §7, also in --json as triage_rule): for a scanning source the rejection is the security group or ACL doing its job, so no rule is proposed (fix: null, with the reason) unless you pass --fix-anyway, and --apply never opens anything to one.

The VPC configuration comes from --vpc-config FILE (see \`flowlog vpc export\`), else the VPC API when IBMCLOUD_API_KEY is set, else the demo snapshot that \`flowlog demo\` writes. Nothing changes unless you pass --apply (which lists the rules and asks first; --yes skips the question); --undo removes the rules the last --apply added.`

  static examples = [
    {description: "The blog's case: why is SSH from my laptop rejected?", command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22'},
    {description: 'A scanner: no fix proposed, the evidence shown', command: '<%= config.bin %> why-rejected --ip 92.63.197.61 --port 443'},
    {description: 'Only the last hour, pulling new objects first', command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22 --since 1h --source cos://my-flowlogs'},
    {description: 'Against a saved configuration', command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22 --vpc-config vpc.json'},
    {description: 'Apply the fix (asks first), then undo it', command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22 --apply\n<%= config.bin %> why-rejected --undo'},
    {description: 'Machine-readable findings', command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22 --json'},
  ]

  static flags = {
    ip: Flags.string({description: 'the other end of the flow (the client, or the remote server for outbound flows)', helpValue: 'IP'}),
    port: Flags.integer({description: 'the service port (the target port of the connection)', min: 0, max: 65535, helpValue: 'PORT'}),
    protocol: Flags.string({description: 'transport protocol (ICMP is never logged: configuration-only evaluation)', options: ['tcp', 'udp', 'icmp']}),
    'target-ip': Flags.string({description: 'only flows to/from this interface IP (private or floating); also enables a configuration-only evaluation when nothing was logged', helpValue: 'IP'}),
    ...windowFlags,
    ...sourceFlags,
    'vpc-config': Flags.string({description: 'VPC configuration snapshot (JSON written by `flowlog vpc export`) instead of the live API', helpValue: 'FILE'}),
    sg: Flags.string({description: 'security group (id or name) to add the rule to (default: the attached group with the fewest targets)', helpValue: 'SG'}),
    'remote-cidr': Flags.string({description: 'allow this CIDR instead of the observed address (never widened on our own)', helpValue: 'CIDR'}),
    'fix-anyway': Flags.boolean({description: 'propose a fix even when --ip is a scanning source (the rejection is then normally intended)'}),
    apply: Flags.boolean({description: 'create the fix through the VPC API after confirmation, and record an undo entry (never for scanning sources of a target)'}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (needed with --apply when not on a terminal)'}),
    undo: Flags.boolean({description: 'remove the rules the last --apply created', exclusive: ['apply']}),
    ...remoteFlags,
  }

  async run(): Promise<WhyRejectedOutput | {undo: UndoResult}> {
    const {flags} = await this.parse(WhyRejected)
    const config = await readConfig(this.home)
    if (flags.undo) {
      const res = await undoLast(createVpcClient({config, region: flags.region}), this.home)
      for (const l of renderUndo(res)) this.term.info(l)
      return {undo: res}
    }
    if (!flags.ip) throw new UsageError('--ip is required', {suggestions: EXAMPLE})
    if (flags.port === undefined && flags.protocol !== 'icmp') throw new UsageError('--port is required', {suggestions: EXAMPLE})
    if (flags.apply && !flags.yes && !this.term.interactive) {
      throw new UsageError('--apply asks for confirmation, and this is not an interactive terminal', {suggestions: ['Add --yes to apply without asking']})
    }
    const window = parseWindow(flags)
    if (flags.source) await this.pullSourceFirst(flags, window, 'explaining with')
    // --remote cloud-logs: the evidence is the window's records in Cloud Logs, in a throw-away index (docs/sinks.md §8.3).
    const remote = flags.remote ? await remoteEvidenceHome({...remoteOptions(flags), window, env: process.env, config, userAgent: `flowlog/${this.config.version}`}) : undefined
    if (remote?.capped) this.term.warn('Cloud Logs returned its maximum of results: narrow --since/--until for all the evidence')
    this.term.startSpinner('reading the VPC configuration')
    const result: WhyRejectedOutput = await whyRejected({
      home: this.home, vpcConfig: flags['vpc-config'], env: process.env, config, region: flags.region,
      ip: flags.ip, port: flags.port, protocol: flags.protocol as Protocol | undefined, targetIp: flags['target-ip'], window,
      fix: {sg: flags.sg, remoteCidr: flags['remote-cidr']}, fixAnyway: flags['fix-anyway'], storeHome: remote?.home,
    }).finally(() => {
      this.term.stopSpinner()
      remote?.cleanup()
    })
    if (!this.jsonEnabled()) this.term.out(renderWhyRejected(result, this.term.c, {applying: flags.apply}))
    if (flags.apply) result.applied = await this.apply(result, flags.yes, config, flags.region)
    return result
  }

  private async apply(result: WhyRejectedResult, yes: boolean, config: Config, region?: string): Promise<ApplyResult | undefined> {
    const t = this.term
    const plan = planApply(result)
    for (const l of renderApplyPlan(plan)) t.info(l)
    if (plan.rules.length === 0) return void t.info('nothing to apply: no finding has a fix')
    if (plan.regressions > 0) throw new UsageError(`refusing to apply: the fix would reject ${plan.regressions} records that are accepted today (an allow-only change never should; please report this)`)
    if (plan.risky.length && !t.interactive) {
      throw new UsageError('refusing to apply without an interactive confirmation: the fix would also admit other rejected traffic', {
        suggestions: plan.risky.map((f) => `it would also admit ${f.what_if?.also_admits.records} records from ${f.what_if?.also_admits.sources} other sources; narrow it to the observed address (drop --remote-cidr)`),
      })
    }
    if (!yes || plan.risky.length) {
      const others = plan.risky.reduce((s, f) => s + (f.what_if?.also_admits.sources ?? 0), 0)
      const message = others ? `The fix also admits traffic from ${others} other sources. Create these ${plural(plan.rules.length, 'rule')} anyway?` : `Create these ${plural(plan.rules.length, 'rule')} through the VPC API?`
      const {confirm} = await import('@inquirer/prompts')
      if (!(await confirm({message, default: false}, {output: process.stderr}))) return void t.info('not applied')
    }
    const applied = await applyFix(createVpcClient({config, region}), this.home, plan.rules, plan.todo.map(describeFixForUndo).join(' | '))
    for (const l of renderApplied(applied)) t.info(l)
    t.hint('check again in 5-10 minutes: the next flow-log objects should show these flows as accepted')
    return applied
  }
}
