/**
 * `flowlog why-rejected` from its flags (docs/why-rejected.md): check the flags, gather the evidence (local index,
 * or Cloud Logs with --remote), explain, and with --apply create the fix after confirmation; --undo removes the last
 * one. The command renders; what must be said mid-flow (before a question) goes through the callbacks.
 */
import type {Home} from '../config/home.js'
import {readConfig} from '../config/settings.js'
import {UsageError} from '../errors.js'
import {createVpcClient} from '../ibmcloud/vpc.js'
import {parseWindow, type TimeWindow} from '../records/time.js'
import {remoteEvidenceHome} from '../sinks/remote.js'
import {remoteOptions} from '../sinks/remote-flags.js'
import {plural} from '../ui/format.js'
import {type ApplyResult, applyFix, type UndoResult, undoLast} from './apply.js'
import {type ApplyPlan, describeFixForUndo, planApply, type Protocol, whyRejected, type WhyRejectedResult} from './why-rejected.js'

export type WhyRejectedOutput = WhyRejectedResult & {applied?: ApplyResult}
export type WhyRejectedFlowResult = WhyRejectedOutput | {undo: UndoResult}

export interface WhyRejectedFlags {
  ip?: string
  port?: number
  protocol?: string
  'target-ip'?: string
  since?: string
  until?: string
  source?: string
  region?: string
  'vpc-config'?: string
  sg?: string
  'remote-cidr'?: string
  'fix-anyway'?: boolean
  apply?: boolean
  yes?: boolean
  undo?: boolean
  remote?: string
  'cloud-logs-instance'?: string
  'cloud-logs-url'?: string
  'cloud-logs-api-url'?: string
}

export interface WhyRejectedFlowContext {
  home: Home
  env: NodeJS.ProcessEnv
  userAgent: string
  /** A terminal to ask on (--apply without --yes needs one; a risky fix always does). */
  interactive: boolean
  /** --source: pull what is new for the window first. */
  pullFirst?: (window: TimeWindow) => Promise<void>
  onWarning?: (message: string) => void
  onInfo?: (message: string) => void
  /** Reading the VPC configuration and evaluating starts / ends. */
  onEvaluating?: () => void
  onEvaluated?: () => void
  /** The findings, before --apply asks anything. */
  onFindings?: (result: WhyRejectedResult) => void
  /** --apply: the rules it would create, before the question. */
  onApplyPlan?: (plan: ApplyPlan) => void
  /** --apply: ask (on the terminal) whether to go on. */
  confirm?: (message: string) => Promise<boolean>
}

const EXAMPLE = ['For example: flowlog why-rejected --ip 24.22.68.94 --port 22']

export async function whyRejectedFlow(flags: WhyRejectedFlags, ctx: WhyRejectedFlowContext): Promise<WhyRejectedFlowResult> {
  const config = await readConfig(ctx.home)
  if (flags.undo) return {undo: await undoLast(createVpcClient({config, region: flags.region}), ctx.home)}
  if (!flags.ip) throw new UsageError('--ip is required', {suggestions: EXAMPLE})
  if (flags.port === undefined && flags.protocol !== 'icmp') throw new UsageError('--port is required', {suggestions: EXAMPLE})
  if (flags.apply && !flags.yes && !ctx.interactive) {
    throw new UsageError('--apply asks for confirmation, and this is not an interactive terminal', {suggestions: ['Add --yes to apply without asking']})
  }
  const window = parseWindow(flags)
  if (flags.source) await ctx.pullFirst?.(window)
  // --remote cloud-logs: the evidence is the window's records in Cloud Logs, in a throw-away index (docs/sinks.md §8.3).
  const remote = flags.remote ? await remoteEvidenceHome({...remoteOptions(flags), window, env: ctx.env, config, userAgent: ctx.userAgent}) : undefined
  if (remote?.capped) ctx.onWarning?.('Cloud Logs returned its maximum of results: narrow --since/--until for all the evidence')
  ctx.onEvaluating?.()
  const result: WhyRejectedOutput = await whyRejected({
    home: ctx.home, vpcConfig: flags['vpc-config'], env: ctx.env, config, region: flags.region,
    ip: flags.ip, port: flags.port, protocol: flags.protocol as Protocol | undefined, targetIp: flags['target-ip'], window,
    fix: {sg: flags.sg, remoteCidr: flags['remote-cidr']}, fixAnyway: flags['fix-anyway'], storeHome: remote?.home,
  }).finally(() => {
    ctx.onEvaluated?.()
    remote?.cleanup()
  })
  ctx.onFindings?.(result)
  if (flags.apply) result.applied = await apply(result, Boolean(flags.yes), () => createVpcClient({config, region: flags.region}), ctx)
  return result
}

async function apply(result: WhyRejectedResult, yes: boolean, client: () => ReturnType<typeof createVpcClient>, ctx: WhyRejectedFlowContext): Promise<ApplyResult | undefined> {
  const plan = planApply(result)
  ctx.onApplyPlan?.(plan)
  if (plan.rules.length === 0) return void ctx.onInfo?.('nothing to apply: no finding has a fix')
  if (plan.regressions > 0) throw new UsageError(`refusing to apply: the fix would reject ${plan.regressions} records that are accepted today (an allow-only change never should; please report this)`)
  if (plan.risky.length && !ctx.interactive) {
    throw new UsageError('refusing to apply without an interactive confirmation: the fix would also admit other rejected traffic', {
      suggestions: plan.risky.map((f) => `it would also admit ${f.what_if?.also_admits.records} records from ${f.what_if?.also_admits.sources} other sources; narrow it to the observed address (drop --remote-cidr)`),
    })
  }
  if (!yes || plan.risky.length) {
    const others = plan.risky.reduce((s, f) => s + (f.what_if?.also_admits.sources ?? 0), 0)
    const message = others ? `The fix also admits traffic from ${others} other sources. Create these ${plural(plan.rules.length, 'rule')} anyway?` : `Create these ${plural(plan.rules.length, 'rule')} through the VPC API?`
    if (!(await ctx.confirm?.(message))) return void ctx.onInfo?.('not applied')
  }
  return applyFix(client(), ctx.home, plan.rules, plan.todo.map(describeFixForUndo).join(' | '))
}
