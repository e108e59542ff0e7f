import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {whyRejectedFlow, type WhyRejectedFlowResult} from '../lib/analysis/why-rejected-flow.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {remoteFlags} from '../lib/sinks/remote-flags.js'
import {renderApplied, renderApplyPlan, renderUndo, renderWhyRejected} from '../lib/ui/why-rejected.js'

export type {WhyRejectedOutput} from '../lib/analysis/why-rejected-flow.js'

export default class WhyRejected extends BaseCommand {
  static readsIndex = true

  static summary = 'Explain why flows were rejected: the blocking layer and rule, the minimal fix, and what it would admit'

  static description = `Starts from the rejected records in the local index between --ip (the other end, e.g. your laptop) and --port, groups them per interface, and evaluates them against the VPC configuration the way IBM VPC does: the subnet's network ACL (stateless, ordered, first match wins, implicit deny) on the way in and on the way back, and the union of the interface's security groups (stateful). It names the blocking layer and rule (or says that today's configuration admits the flow, and what that can mean), lists near misses, proposes the smallest fix (one rule for exactly this protocol and port from the observed address, placed before the deciding ACL rule), and replays the window's records against the fix to show what else it would admit.

Internet scanning is told apart from a failing client by one rule (docs/why-rejected.md §7, also in --json as triage_rule): for a scanning source the rejection is the security group or ACL doing its job, so no rule is proposed (fix: null, with the reason) unless you pass --fix-anyway, and --apply never opens anything to one.

The VPC configuration comes from --vpc-config FILE (see \`flowlog vpc export\`), else the VPC API when IBMCLOUD_API_KEY is set, else the demo snapshot that \`flowlog demo\` writes. Nothing changes unless you pass --apply (which lists the rules and asks first; --yes skips the question); --undo removes the rules the last --apply added.`

  static examples = [
    {description: "The blog's case: why is SSH from my laptop rejected?", command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22'},
    {description: 'A scanner: no fix proposed, the evidence shown', command: '<%= config.bin %> why-rejected --ip 193.163.125.174 --port 1433'},
    {description: 'Only the last hour, pulling new objects first', command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22 --since 1h --source ./flowlogs'},
    {description: 'Against a saved configuration (flowlog vpc export --out vpc.json)', command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22 --vpc-config vpc.json'},
    {description: 'Apply the fix through the VPC API without asking (without --yes it lists the rules and asks)', command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22 --apply --yes'},
    {description: 'Remove the rules the last --apply created', command: '<%= config.bin %> why-rejected --undo'},
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

  async run(): Promise<WhyRejectedFlowResult> {
    const {flags} = await this.parse(WhyRejected)
    const t = this.term
    const result = await whyRejectedFlow(flags, {
      home: this.home,
      env: process.env,
      userAgent: `flowlog/${this.config.version}`,
      interactive: t.interactive,
      pullFirst: (window) => this.pullSourceFirst(flags, window, 'explaining with'),
      onWarning: (m) => t.warn(m),
      onInfo: (m) => t.info(m),
      onEvaluating: () => t.startSpinner('reading the VPC configuration'),
      onEvaluated: () => t.stopSpinner(),
      onFindings: (r) => this.jsonEnabled() || t.out(renderWhyRejected(r, t.c, {applying: flags.apply})),
      onApplyPlan: (plan) => renderApplyPlan(plan).forEach((l) => t.info(l)),
      confirm: async (message) => (await import('@inquirer/prompts')).confirm({message, default: false}, {output: process.stderr}),
    })
    if ('undo' in result) renderUndo(result.undo).forEach((l) => t.info(l))
    else if (result.applied) {
      renderApplied(result.applied).forEach((l) => t.info(l))
      t.hint('check again in 5-10 minutes: the next flow-log objects should show these flows as accepted')
    }
    return result
  }
}
