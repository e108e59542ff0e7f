/**
 * `flowlog why-rejected`: from observed rejected flows to the layer and rule that blocks them, the minimal fix, and
 * what that fix would admit (docs/why-rejected.md). Library only: no printing, no prompts.
 */
import {existsSync} from 'node:fs'

import type {Home} from '../config/home.js'
import type {FlowlogConfig} from '../config/settings.js'
import {vpcSnapshotPath} from '../demo/snapshot.js'
import {ConfigError, UsageError} from '../errors.js'
import {hasApiKey} from '../ibmcloud/credentials.js'
import {createVpcClient, type VpcClient} from '../ibmcloud/vpc.js'
import type {TimeWindow} from '../records/time.js'
import {openStore, type Store} from '../store/store.js'
import {
  type BlockedBy,
  EPHEMERAL_PORTS,
  evaluateFlow,
  type FlowEvaluation,
  type FlowSpec,
  type LayerResult,
  type NearMiss,
  nearMissesFor,
  protocolName,
} from './evaluate.js'
import {type EvidenceGroup, type EvidenceSummary, groupEvidence, queryEvidence, summariseGroup} from './evidence.js'
import {buildFix, type FixAlternative, type FixEntry, type FixOptions} from './fix.js'
import {isIpv4} from './ip.js'
import {exportVpcSnapshot, type InterfaceInfo, readSnapshotFile, VpcModel} from './model.js'
import {DEFAULT_THRESHOLDS, type NoiseSummary, scanningRule, type SourceTriage, sourceTriage, triage, type TriageResult, type TriageThresholds} from './triage.js'
import {type WhatIf, whatIf} from './whatif.js'

export type Protocol = 'tcp' | 'udp' | 'icmp'

export interface ConfigSource {
  kind: 'file' | 'api' | 'demo'
  /** The file (file, demo) or the API base URL (api). */
  location: string
}

export interface Finding {
  /** The interface's own IP (P). */
  target_ip: string
  network_interface_id: string
  protocol: string
  port: number | null
  /** Rejected records. */
  records: number
  /** Accepted records of the same tuple. */
  accepted: number
  blocked_by: BlockedBy
  /** The deciding ACL rule when an ACL blocks, else null. */
  acl_rule: {id: string; name: string | null} | null
  security_groups: string[]
  near_misses: NearMiss[]
  /** The proposed rules; null when none is proposed on purpose (a scanning source, see `reason`). */
  fix: FixEntry[] | null
  /** Why `fix` is null (scanning or background sources without --fix-anyway), else null. */
  reason: string | null
  what_if: WhatIf | null
  triage: SourceTriage
  // Context beyond the contract:
  verdict: 'blocked' | 'allowed_now' | 'unresolvable'
  direction: 'inbound' | 'outbound'
  peer_ip: string
  instance: {id: string | null; name: string | null}
  config_only: boolean
  layers: LayerResult[]
  evidence: EvidenceSummary | null
  alternatives: FixAlternative[]
  /** Short sentences: the verdict and why. */
  explanation: string[]
  /** Hints from the counters and the record semantics (§1.4, §3.8). */
  hints: string[]
  /** For allowed_now: likely causes, best first (§3.6). */
  possible_causes: string[]
  /** The fix admits scanners or more than the intended sources: applying needs explicit confirmation (§6.4). */
  needs_confirmation: boolean
}

export interface WhyRejectedResult {
  query: {ip: string; port: number | null; protocol: Protocol | null; target_ip: string | null; since: string | null; until: string | null}
  config: ConfigSource
  findings: Finding[]
  noise: NoiseSummary
  /** The scanning rule every triage above was made with (docs/why-rejected.md §7). */
  triage_rule: {text: string; thresholds: TriageThresholds}
  notes: string[]
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------------

export interface LoadModelOptions {
  home: Pick<Home, 'root'>
  vpcConfig?: string
  env?: NodeJS.ProcessEnv
  config?: FlowlogConfig
  /** A ready client (tests); otherwise one is created from env/config when an API key is there. */
  client?: VpcClient
  region?: string
}

/** --vpc-config FILE > the live VPC API (when an API key is configured) > the demo snapshot in the home. */
export async function loadVpcModel(options: LoadModelOptions): Promise<{model: VpcModel; source: ConfigSource}> {
  if (options.vpcConfig) {
    return {model: new VpcModel(await readSnapshotFile(options.vpcConfig)), source: {kind: 'file', location: options.vpcConfig}}
  }
  const env = options.env ?? process.env
  if (options.client || hasApiKey({env, config: options.config})) {
    const client = options.client ?? createVpcClient({env, config: options.config, region: options.region})
    return {model: new VpcModel(await exportVpcSnapshot(client)), source: {kind: 'api', location: client.serviceUrl}}
  }
  const demo = vpcSnapshotPath(options.home)
  if (existsSync(demo)) return {model: new VpcModel(await readSnapshotFile(demo)), source: {kind: 'demo', location: demo}}
  throw new ConfigError('no VPC configuration to evaluate the rejects against', {
    code: 'no_vpc_config',
    suggestions: [
      'Pass --vpc-config FILE (write one with `flowlog vpc export --out FILE`)',
      'or set IBMCLOUD_API_KEY (and --region) to read it from the VPC API',
      'or run `flowlog demo` to try the blog scenario offline',
    ],
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Explaining
// ---------------------------------------------------------------------------------------------------------------

export interface ExplainOptions {
  store: Store
  model: VpcModel
  config: ConfigSource
  ip: string
  port?: number
  protocol?: Protocol
  /** --target-ip: the interface side (private or floating IP). */
  targetIp?: string
  window: TimeWindow
  fix?: FixOptions
  /** Propose a fix even for scanning and background sources (--fix-anyway). */
  fixAnyway?: boolean
}

const PROTO_NUM: Record<Protocol, number> = {tcp: 6, udp: 17, icmp: 1}

function validate(o: Pick<ExplainOptions, 'ip' | 'targetIp' | 'protocol' | 'port'>): void {
  if (!isIpv4(o.ip)) throw new UsageError(`--ip ${JSON.stringify(o.ip)} is not an IPv4 address`)
  if (o.targetIp !== undefined && !isIpv4(o.targetIp)) throw new UsageError(`--target-ip ${JSON.stringify(o.targetIp)} is not an IPv4 address`)
  if (o.protocol !== 'icmp') {
    if (o.port === undefined) throw new UsageError('--port is required (except with --protocol icmp)')
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new UsageError(`--port ${o.port} is not a port number (0-65535)`)
  }
}

function firstIso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString()
}

function pickEvaluation(model: VpcModel, base: Omit<FlowSpec, 'clientPorts'>, clientPorts: (number | undefined)[]): {spec: FlowSpec; evaluation: FlowEvaluation; differing: number} {
  const counts = new Map<number | undefined, number>()
  for (const c of clientPorts) counts.set(c, (counts.get(c) ?? 0) + 1)
  const results: {spec: FlowSpec; evaluation: FlowEvaluation; n: number}[] = []
  const distinct = [...counts.entries()].slice(0, 500)
  for (const [c, n] of distinct) {
    const spec: FlowSpec = {...base, clientPorts: c === undefined ? EPHEMERAL_PORTS : {min: c, max: c}}
    results.push({spec, evaluation: evaluateFlow(model, spec), n})
  }
  // Prefer a blocked verdict (that is what the records say), then the most common.
  results.sort((a, b) => Number(a.evaluation.blocked_by === 'none') - Number(b.evaluation.blocked_by === 'none') || b.n - a.n)
  const chosen = results[0]
  const differing = results.filter((r) => r.evaluation.blocked_by !== chosen.evaluation.blocked_by).reduce((s, r) => s + r.n, 0)
  return {spec: chosen.spec, evaluation: chosen.evaluation, differing}
}

function verdictSentence(e: FlowEvaluation, f: FlowSpec, model: VpcModel): string[] {
  const out: string[] = []
  const proto = protocolName(f.proto)
  const tuple = f.initiated === 'inbound' ? `${f.peerIp} → ${f.localIp}:${f.servicePort ?? '-'} (${proto})` : `${f.localIp} → ${f.peerIp}:${f.servicePort ?? '-'} (${proto})`
  if (e.blocked_by === 'none') {
    out.push(`today's configuration admits ${tuple}`)
    return out
  }
  if (e.blocked_by === 'unknown') {
    out.push(`cannot evaluate ${tuple}: part of the configuration is missing`)
    return out
  }
  for (const l of e.blocking) {
    if (l.layer === 'sg') {
      const names = (l.security_groups ?? []).map((g) => model.securityGroup(g)?.name ?? g).join(', ')
      out.push(`blocked by security groups ${names}: no allow rule for ${l.direction} ${proto}${f.servicePort !== undefined ? `/${f.servicePort}` : ''} ${l.direction === 'inbound' ? 'from' : 'to'} ${f.peerIp}`)
    } else {
      const acl = l.acl?.name ?? l.acl?.id
      const prefix = l.path === 'return' ? `return traffic blocked by ACL ${acl} ${l.direction}` : `blocked by ACL ${acl} ${l.direction}`
      if (l.decision === 'partial') out.push(`${prefix}: ${l.explanation}`)
      else if (l.rule) out.push(`${prefix}: rule \`${l.rule.name ?? l.rule.id}\` (deny, position ${l.rule.position} of ${l.rule.of})`)
      else out.push(`${prefix}: no rule matches (implicit deny)`)
    }
  }
  return out
}

function causesWhenAllowed(model: VpcModel, e: FlowEvaluation, summary: EvidenceSummary | null, iface: InterfaceInfo, f: FlowSpec, lastRejectMs?: number, firstRejectMs?: number): string[] {
  const causes: string[] = []
  // 1. A rule changed after the records.
  const created: {what: string; at: number}[] = []
  for (const l of e.layers) {
    if (l.side !== 'local') continue
    if (l.layer === 'sg') {
      for (const m of l.matched_rules ?? []) {
        const rule = model.securityGroup(m.security_group)?.rules.find((r) => r.id === m.id)
        const at = Date.parse(String(rule?.created_at ?? ''))
        if (!Number.isNaN(at)) created.push({what: `security group ${model.securityGroup(m.security_group)?.name ?? m.security_group} rule \`${rule?.name ?? m.id}\``, at})
      }
    } else if (l.rule && l.acl) {
      const rule = model.acl(l.acl.id)?.rules.find((r) => r.id === l.rule!.id)
      const at = Date.parse(String(rule?.created_at ?? ''))
      if (!Number.isNaN(at)) created.push({what: `ACL ${l.acl.name ?? l.acl.id} rule \`${rule?.name ?? l.rule.id}\``, at})
    }
  }
  if (lastRejectMs !== undefined) {
    for (const c of created.sort((a, b) => b.at - a.at)) {
      if (c.at > lastRejectMs) causes.push(`a rule changed after the records: ${c.what} was created at ${new Date(c.at).toISOString()}, after the last reject at ${new Date(lastRejectMs).toISOString()}`)
      else if (firstRejectMs !== undefined && c.at >= firstRejectMs) causes.push(`${c.what} was created at ${new Date(c.at).toISOString()}, while the rejects were happening: rejects should stop from then on`)
    }
  }
  if (causes.length === 0) causes.push('a rule may have changed after the records (compare the reject times with rule created_at values; deleted deny rules leave no trace in the configuration)')
  // 2. Mid-connection rejects.
  if (summary && summary.was_initiated.false > 0) {
    causes.push(`${summary.was_initiated.false} rejects came mid-connection (was_initiated: false): a TCP state mismatch, or an ACL that changed while the connection was open`)
  }
  // 3. Secondary IP / different interface.
  if (!iface.ips.includes(f.localIp)) causes.push(`the record's IP ${f.localIp} is not on interface ${iface.id} (a secondary IP or a different interface)`)
  // 4. Another collector.
  causes.push('the records may come from a collector on another target (another interface with the same IP at that time)')
  return causes
}

function hintsFor(summary: EvidenceSummary | null, e: FlowEvaluation): string[] {
  const hints: string[] = []
  if (!summary) return hints
  const returnBlocked = e.blocking.some((l) => l.path === 'return')
  if (summary.with_target_packets > 0) {
    hints.push(`${summary.with_target_packets} rejected records carry packets from the target: the first packet got in and the reply was dropped, which points at the return path`)
  } else if (summary.records > 0 && !returnBlocked) {
    hints.push('only the initiator sent packets: the first packet was dropped on the way in (ACL or security group), not the reply')
  } else if (summary.records > 0) {
    hints.push('the records count no packets from the target, but the configuration drops the reply on the return path')
  }
  if (summary.replies > 0) {
    hints.push(`${summary.replies} rejected outbound records from the service port to ephemeral ports are the replies of these connections, dropped by a stateless ACL return path`)
  }
  if (summary.was_initiated.false > 0) {
    hints.push(`${summary.was_initiated.false} rejects were mid-connection (was_initiated: false): a TCP state mismatch, an ACL changed while the connection was open, or a blocked ACL return path`)
  }
  if (summary.accepted > 0) {
    hints.push(`the same flow was also accepted ${summary.accepted} times (${summary.accepted_first_seen} – ${summary.accepted_last_seen}): intermittent results point at a configuration change or at connection state`)
  }
  if (summary.skip_data_objects.length > 0) {
    hints.push(`${summary.skip_data_objects.length} objects say "skip data": the collector lost data there, so these counts are lower bounds`)
  }
  return hints
}

/** Explain the rejects of one peer/port against the configuration. */
export async function explainRejects(o: ExplainOptions): Promise<WhyRejectedResult> {
  validate(o)
  const proto = o.protocol ? PROTO_NUM[o.protocol] : undefined
  const notes: string[] = []
  const model = o.model
  let localIp = o.targetIp
  if (localIp && !model.interfaceByIp(localIp)) {
    const viaFloating = model.interfaceByFloatingIp(localIp)
    if (viaFloating?.primaryIp) {
      notes.push(`${localIp} is a floating IP of ${viaFloating.instanceName ?? viaFloating.id}; flow logs record its private IP ${viaFloating.primaryIp}`)
      localIp = viaFloating.primaryIp
    }
  }
  if (o.protocol === 'icmp') notes.push('ICMP is never logged: flow logs capture only TCP and UDP, so a failing ping leaves no record. The answer below is a configuration-only evaluation.')

  const tri: TriageResult = await triage(o.store, o.window, {model})
  const buckets = new Map([...tri.sources.values()].map((s) => [s.source, s.bucket]))
  const records = o.protocol === 'icmp' ? [] : await queryEvidence(o.store, {ip: o.ip, port: o.port, proto, localIp, window: o.window})
  const groups = groupEvidence(records).filter((g) => g.rejected.length > 0)
  const acceptedOnly = records.filter((r) => r.action === 'accepted').length
  const findings: Finding[] = []
  for (const g of groups) findings.push(await explainGroup(o, model, g, tri, buckets))
  if (findings.length === 0) {
    if (o.protocol !== 'icmp') {
      notes.push(
        `no rejected records for ${o.ip}${o.port !== undefined ? ` port ${o.port}` : ''}${o.protocol ? `/${o.protocol}` : ''} in the index${o.window.since || o.window.until ? ' for this window' : ''}` +
          (acceptedOnly ? ` (${acceptedOnly} accepted records)` : ''),
      )
    }
    const iface = localIp ? model.interfaceByIp(localIp) : undefined
    if (iface && localIp) {
      findings.push(await configOnlyFinding(o, model, iface, localIp, proto ?? 6, buckets))
    } else if (!localIp) {
      notes.push('pass --target-ip (the instance side) for a configuration-only evaluation of this flow')
    } else {
      notes.push(`--target-ip ${localIp} is not an interface in the configuration`)
    }
  }
  findings.sort((a, b) => b.records - a.records)
  return {
    query: {
      ip: o.ip,
      port: o.port ?? null,
      protocol: o.protocol ?? null,
      target_ip: o.targetIp ?? null,
      since: firstIso(o.window.since),
      until: firstIso(o.window.until),
    },
    config: o.config,
    findings,
    noise: tri.noise,
    triage_rule: {text: scanningRule(DEFAULT_THRESHOLDS), thresholds: DEFAULT_THRESHOLDS},
    notes,
  }
}

async function explainGroup(o: ExplainOptions, model: VpcModel, g: EvidenceGroup, tri: TriageResult, buckets: Map<string, 'scanner' | 'background' | 'client'>): Promise<Finding> {
  const summary = summariseGroup(g)
  const iface = model.interface(g.iface) ?? model.interfaceByIp(g.localIp)
  const sourceSignals = tri.sources.get(g.peerIp)
  const base = {
    target_ip: g.localIp,
    network_interface_id: g.iface,
    protocol: protocolName(g.proto),
    port: g.servicePort ?? null,
    records: summary.records,
    accepted: summary.accepted,
    direction: g.initiated,
    peer_ip: g.peerIp,
    config_only: false,
    evidence: summary,
    triage: sourceTriage(sourceSignals, DEFAULT_THRESHOLDS),
  }
  if (!iface) {
    return {
      ...base,
      blocked_by: 'unknown',
      acl_rule: null,
      security_groups: [],
      near_misses: [],
      fix: [],
      reason: null,
      what_if: null,
      verdict: 'unresolvable',
      instance: {id: null, name: null},
      layers: [],
      alternatives: [],
      explanation: [`interface ${g.iface} (${g.localIp}) is not in the VPC configuration (${o.config.kind}: ${o.config.location}): cannot evaluate`],
      hints: hintsFor(summary, {layers: [], blocked_by: 'unknown', blocking: []}),
      possible_causes: [],
      needs_confirmation: false,
    }
  }
  const {spec, evaluation, differing} = pickEvaluation(
    model,
    {iface, initiated: g.initiated, proto: g.proto, localIp: g.localIp, peerIp: g.peerIp, servicePort: g.servicePort},
    g.rejected.map((r) => r.clientPort),
  )
  const finding = await completeFinding(o, model, iface, spec, evaluation, base, summary, buckets)
  if (differing > 0) finding.hints.push(`${differing} of the rejected records get a different verdict because of their client port`)
  if (!iface.ips.includes(g.localIp)) finding.hints.push(`record IP ${g.localIp} is not on interface ${iface.id} (a secondary IP or a different interface)`)
  const ts = g.rejected.map((r) => r.ts)
  if (finding.verdict === 'allowed_now') {
    finding.possible_causes = causesWhenAllowed(model, evaluation, summary, iface, spec, Math.max(...ts), Math.min(...ts))
  }
  return finding
}

async function configOnlyFinding(o: ExplainOptions, model: VpcModel, iface: InterfaceInfo, localIp: string, proto: number, buckets: Map<string, 'scanner' | 'background' | 'client'>): Promise<Finding> {
  const spec: FlowSpec = {
    iface,
    initiated: 'inbound',
    proto,
    localIp,
    peerIp: o.ip,
    servicePort: proto === 6 || proto === 17 ? o.port : undefined,
    clientPorts: EPHEMERAL_PORTS,
  }
  const evaluation = evaluateFlow(model, spec)
  const base = {
    target_ip: localIp,
    network_interface_id: iface.id,
    protocol: protocolName(proto),
    port: spec.servicePort ?? null,
    records: 0,
    accepted: 0,
    direction: 'inbound' as const,
    peer_ip: o.ip,
    config_only: true,
    evidence: null,
    triage: {verdict: 'no_records', rule: [], summary: 'no observed records: configuration-only evaluation', evidence: null} satisfies SourceTriage,
  }
  const f = await completeFinding(o, model, iface, spec, evaluation, base, null, buckets)
  f.explanation.push('no observed evidence backs this answer: it evaluates the configuration for a client port in 1024-65535')
  return f
}

async function completeFinding(
  o: ExplainOptions,
  model: VpcModel,
  iface: InterfaceInfo,
  spec: FlowSpec,
  evaluation: FlowEvaluation,
  base: Pick<Finding, 'target_ip' | 'network_interface_id' | 'protocol' | 'port' | 'records' | 'accepted' | 'direction' | 'peer_ip' | 'config_only' | 'evidence' | 'triage'>,
  summary: EvidenceSummary | null,
  buckets: Map<string, 'scanner' | 'background' | 'client'>,
): Promise<Finding> {
  const blocked = evaluation.blocked_by !== 'none' && evaluation.blocked_by !== 'unknown'
  const aclLayer = evaluation.blocking.find((l) => l.layer === 'acl')
  const noise = base.triage.verdict === 'scanning' || base.triage.verdict === 'background'
  const withheld = blocked && noise && !o.fixAnyway
  const {fix, alternatives} = blocked && !withheld ? buildFix(model, spec, evaluation, o.fix) : {fix: [], alternatives: []}
  let wi: WhatIf | null = null
  if (fix.length) {
    wi = await whatIf(o.store, model, fix, {
      window: o.window,
      targets: [{iface: base.network_interface_id, initiated: spec.initiated, proto: spec.proto, servicePort: spec.servicePort, peerIp: spec.peerIp, localIp: spec.localIp}],
      targetRejected: base.records,
      buckets,
      servicePortHint: o.port,
    })
  }
  const needsConfirmation = Boolean(wi && (wi.also_admits.scanner_records > 0 || wi.also_admits.sources > 0 || wi.regressions > 0))
  const explanation = verdictSentence(evaluation, spec, model)
  const reason = withheld
    ? `${base.peer_ip} is ${base.triage.verdict === 'scanning' ? 'scanning' : 'background noise'} (${base.triage.summary}): the rejection is the ${evaluation.blocked_by === 'security_groups' ? 'security group' : 'network ACL'} doing its job, so no rule is proposed (--fix-anyway proposes one)`
    : null
  if (reason) explanation.push(reason)
  if (wi && wi.also_admits.records > 0) {
    explanation.push(
      `the fix would also admit ${wi.also_admits.records} other rejected records from ${wi.also_admits.sources} sources` +
        (wi.also_admits.scanner_records ? ` (${wi.also_admits.scanner_records} from ${wi.also_admits.scanner_sources} scanners)` : '') +
        (o.fix?.remoteCidr ? `; the narrower fix is --remote-cidr ${spec.peerIp}/32 (the default)` : ''),
    )
  }
  return {
    ...base,
    blocked_by: evaluation.blocked_by,
    acl_rule: aclLayer?.rule ? {id: aclLayer.rule.id, name: aclLayer.rule.name ?? null} : null,
    security_groups: [...iface.securityGroupIds],
    near_misses: blocked && !withheld ? nearMissesFor(model, spec, evaluation) : [],
    fix: withheld ? null : fix,
    reason,
    what_if: wi,
    verdict: evaluation.blocked_by === 'unknown' ? 'unresolvable' : blocked ? 'blocked' : 'allowed_now',
    instance: {id: iface.instanceId ?? null, name: iface.instanceName ?? null},
    layers: evaluation.layers,
    alternatives,
    explanation,
    hints: hintsFor(summary, evaluation),
    possible_causes: !blocked && summary && evaluation.blocked_by === 'none' ? causesWhenAllowed(model, evaluation, summary, iface, spec) : [],
    needs_confirmation: needsConfirmation,
  }
}

/**
 * The command's one call: the configuration (loadVpcModel), the local index (read-only), the explanation.
 * `storeHome` reads the evidence from another index (why-rejected --remote: docs/sinks.md §8.3).
 */
export async function whyRejected(o: Omit<ExplainOptions, 'store' | 'model' | 'config'> & Omit<LoadModelOptions, 'home'> & {home: Home; storeHome?: Home}): Promise<WhyRejectedResult> {
  validate(o)
  const {model, source} = await loadVpcModel(o)
  const store = await openStore(o.storeHome ?? o.home, {readOnly: true})
  try {
    return await explainRejects({...o, store, model, config: source})
  } finally {
    await store.close()
  }
}

/** One line describing a finding's fix, for the undo entry. */
export function describeFixForUndo(f: Finding): string {
  return `${f.peer_ip} → ${f.target_ip}:${f.port ?? '-'} ${f.protocol} (${f.blocked_by}): ${(f.fix ?? []).map((x) => x.diff).join('; ')}`
}

/** What `--apply` would create (docs/why-rejected.md §7): never for scanning or background sources. */
export interface ApplyPlan {
  /** Findings whose fix will be applied. */
  todo: Finding[]
  /** Findings left out because their source is scanning or background noise. */
  skipped: Finding[]
  /** The rules, in the order they will be created. */
  rules: FixEntry[]
  /** Findings whose fix also admits other rejected traffic: applying needs an interactive confirmation. */
  risky: Finding[]
  /** Rejected records accepted today that the fix would reject (must be 0: an allow-only change never should). */
  regressions: number
}

export function planApply(r: WhyRejectedResult): ApplyPlan {
  const blocked = r.findings.filter((f) => f.verdict === 'blocked')
  const isNoise = (f: Finding) => f.triage.verdict === 'scanning' || f.triage.verdict === 'background'
  // The source asked about with --fix-anyway is the one exception; other scanning peers of a target never are.
  const todo = blocked.filter((f) => (f.fix?.length ?? 0) > 0 && (!isNoise(f) || f.peer_ip === r.query.ip))
  return {
    todo,
    skipped: blocked.filter((f) => isNoise(f) && !todo.includes(f)),
    rules: todo.flatMap((f) => f.fix ?? []),
    risky: todo.filter((f) => f.needs_confirmation),
    regressions: todo.reduce((s, f) => s + (f.what_if?.regressions ?? 0), 0),
  }
}

export {type FixEntry} from './fix.js'
export {type NoiseSummary, type SourceTriage} from './triage.js'
