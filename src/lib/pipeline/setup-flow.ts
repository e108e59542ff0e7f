/**
 * `flowlog setup` from its flags (docs/setup.md): gather the answers (the wizard on a terminal, else the flags), plan,
 * ask once, run. Progress and the plan go through callbacks; the result is returned.
 */
import type {Home} from '../config/home.js'
import {readConfig} from '../config/settings.js'
import {UsageError} from '../errors.js'
import {answersFromFlags, INGESTION_KEY_ENV, type SetupAnswers, type SinkKind, sourceRepoOf, type TriggerKind} from './answers.js'
import {planChanges, planOf, type PlanItem} from './plan.js'
import {runSetup, type SetupResult} from './setup.js'

export interface SetupFlags {
  region?: string
  'resource-group'?: string
  basename?: string
  vpc?: string
  target?: string
  bucket?: string
  sink?: string
  trigger?: string
  image?: string
  'source-repo'?: string
  'registry-namespace'?: string
  'dry-run'?: boolean
  'save-api-key'?: boolean
}

export interface SetupFlowContext {
  home: Home
  env: NodeJS.ProcessEnv
  version: string
  /** package.json's repository (the default --source-repo). */
  repository: unknown
  /** Ask the questions and confirm the plan (a terminal, not --non-interactive, not --json). */
  interactive: boolean
  /** A phase starts (planning / setting up) and ends. */
  onPhase?: (dryRun: boolean) => void
  onPhaseEnd?: () => void
  onProgress?: (message: string) => void
  /** The plan, before the question (and with --dry-run, instead of running). */
  onPlan?: (plan: PlanItem[]) => void
}

export type SetupFlowResult = SetupResult & {plan?: PlanItem[]}

export async function setupFlow(flags: SetupFlags, ctx: SetupFlowContext): Promise<SetupFlowResult> {
  const config = await readConfig(ctx.home)
  const given: Partial<SetupAnswers> = {
    region: flags.region, resourceGroup: flags['resource-group'], basename: flags.basename, vpc: flags.vpc, target: flags.target, bucket: flags.bucket,
    sink: flags.sink as SinkKind | undefined, trigger: flags.trigger as TriggerKind | undefined, image: flags.image, sourceRepo: flags['source-repo'], registryNamespace: flags['registry-namespace'],
  }
  const defaults = {sourceRepo: sourceRepoOf(ctx.repository), logdnaIngestionKey: ctx.env[INGESTION_KEY_ENV] || (config.logdnaIngestionKey as string | undefined)}
  let answers: SetupAnswers
  if (ctx.interactive) {
    const [{runWizard}, {createInquirerPrompter}] = await Promise.all([import('./wizard.js'), import('./prompter.js')])
    answers = await runWizard({prompter: createInquirerPrompter(), initial: {...given, sourceRepo: given.image ? undefined : (given.sourceRepo ?? defaults.sourceRepo), logdnaIngestionKey: defaults.logdnaIngestionKey}, env: ctx.env, config})
  } else answers = answersFromFlags(given, defaults)
  const run = async (dryRun: boolean) => {
    ctx.onPhase?.(dryRun)
    try {
      return await runSetup({home: ctx.home, answers, dryRun, saveApiKey: flags['save-api-key'], version: ctx.version, onProgress: (e) => ctx.onProgress?.(e.message)})
    } finally {
      ctx.onPhaseEnd?.()
    }
  }
  if (flags['dry-run'] || ctx.interactive) {
    const planned = await run(true)
    const plan = planOf(planned)
    ctx.onPlan?.(plan)
    if (flags['dry-run']) return {...planned, plan}
    const {createInquirerPrompter} = await import('./prompter.js')
    if (planChanges(plan) > 0 && !(await createInquirerPrompter().confirm({message: `Create or update these ${planChanges(plan)} resource(s)?`, default: false}))) {
      throw new UsageError('setup cancelled: nothing was changed')
    }
  }
  return run(false)
}
