/**
 * Rendering of `flowlog why-rejected` (docs/why-rejected.md): findings, the apply plan, what --apply created and
 * what --undo removed. Returns text; the command prints it.
 */
import type {ChalkInstance} from 'chalk'

import type {ApplyResult, UndoResult, UndoRule} from '../analysis/apply.js'
import type {LayerResult} from '../analysis/evaluate.js'
import type {FixEntry} from '../analysis/fix.js'
import type {ApplyPlan, Finding, WhyRejectedResult} from '../analysis/why-rejected.js'
import {plural} from './format.js'

const BLOCKED_BY_TEXT: Record<string, string> = {
  security_groups: 'the security groups',
  network_acl_inbound: 'the network ACL (inbound)',
  network_acl_outbound: 'the network ACL (outbound)',
}

function mark(l: LayerResult, c: ChalkInstance): string {
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

/** The whole explanation. `applying`: --apply was given (the fix is then not a dry run). */
export function renderWhyRejected(r: WhyRejectedResult, c: ChalkInstance, options: {applying?: boolean} = {}): string {
  const lines: string[] = []
  const src = r.config.kind === 'api' ? `the VPC API (${r.config.location})` : r.config.kind === 'demo' ? `the demo snapshot (${r.config.location})` : r.config.location
  lines.push(c.dim(`configuration: ${src}`))
  for (const n of r.notes) lines.push(c.yellow(n))
  const n = r.noise
  if (n.scanner_sources || n.background_sources) {
    const parts: string[] = []
    if (n.scanner_sources) parts.push(`${plural(n.scanner_sources, 'scanner')} (${plural(n.scanner_records, 'rejected record')})`)
    if (n.background_sources) parts.push(`${plural(n.background_sources, 'background source')} (${plural(n.background_records, 'record')})`)
    lines.push(
      c.dim(
        `expected background scanning in the window: ${parts.join(', ')}` +
          (n.ports.length ? `; ports ${n.ports.slice(0, 8).join(', ')}` : '') +
          (n.first_seen ? `; ${n.first_seen} – ${n.last_seen}` : ''),
      ),
    )
  }
  if (n.skip_data_windows.length) {
    lines.push(c.yellow(`${plural(n.skip_data_windows.length, 'object')} say "skip data" (data lost, usually a flood of rejected SYNs): counts there are lower bounds`))
  }
  for (const f of r.findings) lines.push('', ...renderFinding(f, r, c, options.applying ?? false))
  return lines.join('\n')
}

function renderFinding(f: Finding, r: WhyRejectedResult, c: ChalkInstance, applying: boolean): string[] {
  const out: string[] = []
  const arrow = f.direction === 'inbound' ? `${f.peer_ip} → ${f.target_ip}:${f.port ?? '-'}` : `${f.target_ip} → ${f.peer_ip}:${f.port ?? '-'}`
  const who = f.instance.name ? `${f.instance.name}, ${f.network_interface_id}` : f.network_interface_id
  out.push(c.bold(`${arrow} ${f.protocol} (${who})`))
  if (f.evidence) {
    const e = f.evidence
    const init = e.was_initiated.false ? `${e.was_initiated.true} connection starts, ${e.was_initiated.false} mid-connection` : 'all connection starts'
    out.push(`  evidence: ${plural(e.records, 'rejected record')} ${e.first_seen} – ${e.last_seen} (${init}); ${f.accepted} accepted`)
  } else out.push(`  evidence: none (configuration-only evaluation)`)
  const scanning = f.triage.verdict === 'scanning' || f.triage.verdict === 'background'
  out.push(`  triage:   ${scanning ? c.yellow(f.triage.summary) : f.triage.summary}`)
  const te = f.triage.evidence
  if (scanning && te) {
    out.push(
      `            source ${te.source} over the window: ${plural(te.rejected, 'rejected record')}, ${te.accepted} accepted, ` +
        `ports ${te.ports.slice(0, 10).join(', ')}${te.ports.length > 10 ? ', …' : ''}, ${plural(te.targets, 'target')}` +
        (te.single_syn_only ? ', single SYN-sized packets only' : ''),
    )
  }
  out.push('')
  for (const l of f.layers) out.push(`  ${mark(l, c)} ${l.side === 'peer' ? c.dim('(peer) ') : ''}${l.explanation}`)
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
  if (f.fix === null) out.push(c.green('  fix: none proposed — the rejection is working as intended'))
  if (f.fix?.length) {
    out.push(applying ? '  fix:' : '  fix (dry run):')
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
    if (r.query.ip && !applying) out.push(c.dim(`  apply with: flowlog why-rejected --ip ${r.query.ip}${r.query.port !== null ? ` --port ${r.query.port}` : ''} --apply`))
  }
  return out
}

function ruleLine(x: FixEntry): string {
  return `${x.diff}  (${x.resource === 'security_group' ? 'security group' : 'network ACL'} ${x.id})`
}

/** The rules --apply will create, one per line, and the findings it leaves out. */
export function renderApplyPlan(plan: ApplyPlan): string[] {
  const lines: string[] = []
  if (plan.rules.length) {
    lines.push(`--apply will create ${plural(plan.rules.length, 'rule')}:`)
    for (const x of plan.rules) lines.push(`  ${ruleLine(x)}`)
  }
  for (const f of plan.skipped) lines.push(`not applied for ${f.peer_ip} → ${f.target_ip}:${f.port ?? '-'}: ${f.triage.verdict === 'scanning' ? 'a scanning source' : 'background noise'} (${f.triage.summary})`)
  return lines
}

function ruleText(r: UndoRule): string {
  return `${r.kind === 'sg' ? 'security group' : 'network ACL'} ${r.parent_id} rule ${r.name ?? r.rule_id}`
}

export function renderApplied(applied: ApplyResult): string[] {
  return [
    `created ${plural(applied.created.length, 'rule')}:`,
    ...applied.created.map((r) => `  ${ruleText(r)} (${r.rule_id})`),
    `undo with: flowlog why-rejected --undo`,
  ]
}

export function renderUndo(res: UndoResult): string[] {
  if (!res.entry) return ['nothing to undo: no rules were applied by why-rejected']
  return [`undid: ${res.entry.description}`, ...res.removed.map((r) => `  - removed ${ruleText(r)}`), ...res.already_gone.map((r) => `  - ${ruleText(r)} was already gone`)]
}
