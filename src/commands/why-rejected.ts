import {confirm} from '@inquirer/prompts'
import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type ApplyResult, applyFix, type UndoResult, undoLast} from '../lib/analysis/apply.js'
import type {LayerResult} from '../lib/analysis/evaluate.js'
import {
  describeFixForUndo,
  explainRejects,
  type Finding,
  loadVpcModel,
  type Protocol,
  type WhyRejectedResult,
} from '../lib/analysis/why-rejected.js'
import {readConfig} from '../lib/config/settings.js'
import {UsageError} from '../lib/errors.js'
import {createVpcClient} from '../lib/ibmcloud/vpc.js'
import {parseWindow} from '../lib/records/time.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {openStore} from '../lib/store/store.js'
import {plural} from '../lib/ui/format.js'

const BLOCKED_BY_TEXT: Record<string, string> = {
  security_groups: 'the security groups',
  network_acl_inbound: 'the network ACL (inbound)',
  network_acl_outbound: 'the network ACL (outbound)',
}

export type WhyRejectedOutput = WhyRejectedResult & {applied?: ApplyResult}

export default class WhyRejected extends BaseCommand {
  static summary = 'Explain why flows were rejected: the blocking layer and rule, the minimal fix, and what it would admit'

  static description = `Starts from the rejected records in the local index between --ip (the other end, e.g. your laptop) and --port, groups them per interface, and evaluates them against the VPC configuration the way IBM VPC does: the subnet's network ACL (stateless, ordered, first match wins, implicit deny) on the way in and on the way back, and the union of the interface's security groups (stateful). It names the blocking layer and rule (or says that today's configuration admits the flow, and what that can mean), lists near misses, proposes the smallest fix (one rule for exactly this protocol and port from the observed address, placed before the deciding ACL rule), and replays the window's records against the fix to show what else it would admit. Internet scanning is told apart from a single failing client.

The VPC configuration comes from --vpc-config FILE (see \`flowlog vpc export\`), else the VPC API when IBMCLOUD_API_KEY is set, else the demo snapshot that \`flowlog demo\` writes. Nothing changes unless you pass --apply (which asks first; --yes skips the question); --undo removes the rules the last --apply added.`

  static examples = [
    {description: "The blog's case: why is SSH from my laptop rejected?", command: '<%= config.bin %> why-rejected --ip 24.22.68.94 --port 22'},
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
    apply: Flags.boolean({description: 'create the fix through the VPC API after confirmation, and record an undo entry'}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (needed with --apply when not on a terminal)'}),
    undo: Flags.boolean({description: 'remove the rules the last --apply created', exclusive: ['apply']}),
  }

  async run(): Promise<WhyRejectedOutput | {undo: UndoResult}> {
    const {flags} = await this.parse(WhyRejected)
    const config = await readConfig(this.home)
    if (flags.undo) return this.undo(config, flags.region)
    if (!flags.ip) throw new UsageError('--ip is required', {suggestions: ['For example: flowlog why-rejected --ip 24.22.68.94 --port 22']})
    if (flags.port === undefined && flags.protocol !== 'icmp') throw new UsageError('--port is required', {suggestions: ['For example: flowlog why-rejected --ip 24.22.68.94 --port 22']})
    if (flags.apply && !flags.yes && !this.term.interactive) {
      throw new UsageError('--apply asks for confirmation, and this is not an interactive terminal', {suggestions: ['Add --yes to apply without asking']})
    }
    const window = parseWindow(flags)

    if (flags.source) await this.pullSourceFirst(flags, window, 'explaining with')

    this.term.startSpinner('reading the VPC configuration')
    const {model, source} = await loadVpcModel({home: this.home, vpcConfig: flags['vpc-config'], env: process.env, config, region: flags.region})
    this.term.stopSpinner()
    const store = await openStore(this.home, {readOnly: true})
    let result: WhyRejectedOutput
    try {
      result = await explainRejects({
        store,
        model,
        config: source,
        ip: flags.ip,
        port: flags.port,
        protocol: flags.protocol as Protocol | undefined,
        targetIp: flags['target-ip'],
        window,
        fix: {sg: flags.sg, remoteCidr: flags['remote-cidr']},
      })
    } finally {
      await store.close()
    }
    if (!this.jsonEnabled()) this.render(result)
    if (flags.apply) result.applied = await this.apply(result, flags.yes, config, flags.region)
    return result
  }

  private async undo(config: Awaited<ReturnType<typeof readConfig>>, region?: string): Promise<{undo: UndoResult}> {
    const client = createVpcClient({config, region})
    const res = await undoLast(client, this.home)
    const t = this.term
    if (!res.entry) t.info('nothing to undo: no rules were applied by why-rejected')
    else {
      t.info(`undid: ${res.entry.description}`)
      for (const r of res.removed) t.info(`  - removed ${r.kind === 'sg' ? 'security group' : 'network ACL'} ${r.parent_id} rule ${r.name ?? r.rule_id}`)
      for (const r of res.already_gone) t.info(`  - ${r.kind === 'sg' ? 'security group' : 'network ACL'} ${r.parent_id} rule ${r.name ?? r.rule_id} was already gone`)
    }
    return {undo: res}
  }

  private async apply(result: WhyRejectedOutput, yes: boolean, config: Awaited<ReturnType<typeof readConfig>>, region?: string): Promise<ApplyResult | undefined> {
    const t = this.term
    const todo = result.findings.filter((f) => f.verdict === 'blocked' && f.fix.length > 0)
    if (todo.length === 0) {
      t.info('nothing to apply: no finding has a fix')
      return undefined
    }
    for (const f of todo) {
      if (f.what_if && f.what_if.regressions > 0) {
        throw new UsageError(`refusing to apply: the fix would reject ${f.what_if.regressions} records that are accepted today (an allow-only change never should; please report this)`)
      }
    }
    const risky = todo.filter((f) => f.needs_confirmation)
    if (risky.length && !t.interactive) {
      throw new UsageError('refusing to apply without an interactive confirmation: the fix would also admit other rejected traffic', {
        suggestions: risky.map((f) => `it would also admit ${f.what_if?.also_admits.records} records from ${f.what_if?.also_admits.sources} other sources; narrow it to the observed address (drop --remote-cidr)`),
      })
    }
    const fix = todo.flatMap((f) => f.fix)
    if (!yes || risky.length) {
      const question = risky.length
        ? `The fix also admits traffic from ${risky.reduce((s, f) => s + (f.what_if?.also_admits.sources ?? 0), 0)} other sources. Create ${plural(fix.length, 'rule')} anyway?`
        : `Create ${plural(fix.length, 'rule')} through the VPC API?`
      const ok = await confirm({message: question, default: false}, {output: process.stderr})
      if (!ok) {
        t.info('not applied')
        return undefined
      }
    }
    const client = createVpcClient({config, region})
    const applied = await applyFix(client, this.home, fix, todo.map(describeFixForUndo).join(' | '))
    for (const r of applied.created) t.info(`created ${r.kind === 'sg' ? 'security group' : 'network ACL'} ${r.parent_id} rule ${r.name ?? r.rule_id} (${r.rule_id})`)
    t.info(`undo with: flowlog why-rejected --undo`)
    t.hint('check again in 5-10 minutes: the next flow-log objects should show these flows as accepted')
    return applied
  }

  private render(r: WhyRejectedResult): void {
    const t = this.term
    const c = t.c
    const lines: string[] = []
    const src = r.config.kind === 'api' ? `the VPC API (${r.config.location})` : r.config.kind === 'demo' ? `the demo snapshot (${r.config.location})` : r.config.location
    lines.push(c.dim(`configuration: ${src}`))
    for (const n of r.notes) lines.push(c.yellow(n))
    if (r.noise.scanner_sources || r.noise.background_sources) {
      const parts: string[] = []
      if (r.noise.scanner_sources) parts.push(`${plural(r.noise.scanner_sources, 'scanner')} (${plural(r.noise.scanner_records, 'rejected record')})`)
      if (r.noise.background_sources) parts.push(`${plural(r.noise.background_sources, 'background source')} (${plural(r.noise.background_records, 'record')})`)
      lines.push(
        c.dim(
          `expected background scanning, not explained: ${parts.join(', ')}` +
            (r.noise.ports.length ? `; ports ${r.noise.ports.slice(0, 8).join(', ')}` : '') +
            (r.noise.first_seen ? `; ${r.noise.first_seen} – ${r.noise.last_seen}` : ''),
        ),
      )
    }
    if (r.noise.skip_data_windows.length) {
      lines.push(c.yellow(`${plural(r.noise.skip_data_windows.length, 'object')} say "skip data" (data lost, usually a flood of rejected SYNs): counts there are lower bounds`))
    }
    for (const f of r.findings) lines.push('', ...this.renderFinding(f, r))
    t.out(lines.join('\n'))
  }

  private renderFinding(f: Finding, r: WhyRejectedResult): string[] {
    const c = this.term.c
    const out: string[] = []
    const arrow = f.direction === 'inbound' ? `${f.peer_ip} → ${f.target_ip}:${f.port ?? '-'}` : `${f.target_ip} → ${f.peer_ip}:${f.port ?? '-'}`
    const who = f.instance.name ? `${f.instance.name}, ${f.network_interface_id}` : f.network_interface_id
    out.push(c.bold(`${arrow} ${f.protocol} (${who})`))
    if (f.evidence) {
      const e = f.evidence
      const init = e.was_initiated.false ? `${e.was_initiated.true} connection starts, ${e.was_initiated.false} mid-connection` : 'all connection starts'
      out.push(`  evidence: ${plural(e.records, 'rejected record')} ${e.first_seen} – ${e.last_seen} (${init}); ${f.accepted} accepted`)
    } else out.push(`  evidence: none (configuration-only evaluation)`)
    out.push(`  triage:   ${f.triage}`)
    out.push('')
    for (const l of f.layers) out.push(`  ${this.mark(l)} ${l.side === 'peer' ? c.dim('(peer) ') : ''}${l.explanation}`)
    out.push('')
    const verdict =
      f.verdict === 'blocked'
        ? c.red(`verdict: blocked by ${BLOCKED_BY_TEXT[f.blocked_by] ?? f.blocked_by}`)
        : f.verdict === 'allowed_now'
          ? c.yellow("verdict: today's configuration admits this flow")
          : c.yellow('verdict: cannot evaluate')
    out.push(`  ${verdict}`)
    for (const s of f.explanation) out.push(`    ${s}`)
    for (const h of f.hints) out.push(c.dim(`    hint: ${h}`))
    if (f.possible_causes.length) {
      out.push('  possible causes:')
      f.possible_causes.forEach((s, i) => out.push(`    ${i + 1}. ${s}`))
    }
    if (f.near_misses.length) {
      out.push('  near misses:')
      for (const n of f.near_misses) out.push(`    - ${n.explanation}`)
    }
    if (f.fix.length) {
      out.push(`  fix (dry run):`)
      for (const x of f.fix) {
        out.push(c.green(`    ${x.diff}`))
        out.push(`      ${x.command}`)
        out.push(c.dim(`      POST /${x.resource === 'security_group' ? 'security_groups' : 'network_acls'}/${x.id}/rules ${JSON.stringify(x.rule)}`))
        for (const w of x.warnings) out.push(c.yellow(`      ! ${w}`))
      }
      for (const a of f.alternatives) out.push(c.dim(`    or: ${a.description}${a.command ? `\n        ${a.command}` : ''}`))
    }
    if (f.what_if) {
      const w = f.what_if
      out.push(
        `  what-if: admits ${w.admits.records} of ${w.admits.of} rejected records from ${plural(w.admits.sources, 'source')}` +
          (w.also_admits.records
            ? `; ALSO admits ${w.also_admits.records} other rejected records from ${plural(w.also_admits.sources, 'source')}` +
              (w.also_admits.scanner_records ? ` (${w.also_admits.scanner_records} from ${w.also_admits.scanner_sources} scanners)` : '')
            : '; admits nothing else') +
          (w.baseline_disagreements ? c.dim(` (${w.baseline_disagreements} records disagree with today's configuration: changed since, or mid-connection)`) : ''),
      )
      if (!r.query.ip) return out
      out.push(c.dim(`  apply with: flowlog why-rejected --ip ${r.query.ip}${r.query.port !== null ? ` --port ${r.query.port}` : ''} --apply`))
    }
    return out
  }

  private mark(l: LayerResult): string {
    const c = this.term.c
    switch (l.decision) {
      case 'allow':
        return c.green('✓')
      case 'deny':
        return c.red('✗')
      case 'partial':
        return c.yellow('~')
      case 'skipped':
        return c.dim('-')
      default:
        return c.yellow('?')
    }
  }
}
