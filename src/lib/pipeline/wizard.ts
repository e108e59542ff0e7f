/**
 * The interactive `flowlog setup` wizard: region, resource group, basename, VPC, collector target, bucket, sink (and
 * the ingestion key, as a password), trigger. Answers already given as flags are not asked again. Choices come from
 * the account (resource groups, VPCs, subnets, instances), through the same clients setup uses.
 */
import type {FlowlogConfig} from '../config/settings.js'
import {UsageError} from '../errors.js'
import {type CloudClients, createCloudClients} from '../ibmcloud/clients.js'
import {REGIONS} from '../ibmcloud/endpoints.js'
import {
  DEFAULT_BASENAME,
  defaultBucketName,
  INGESTION_KEY_ENV,
  type SetupAnswers,
  type SinkKind,
  type TriggerKind,
  validateBasename,
  validateBucketName,
} from './answers.js'
import type {Prompter} from './prompter.js'

export interface WizardOptions {
  prompter: Prompter
  /** Answers given as flags (not asked again). */
  initial?: Partial<SetupAnswers>
  env?: NodeJS.ProcessEnv
  config?: FlowlogConfig
  /** Clients for a region (tests inject; default createCloudClients). */
  clientsFor?: (region: string) => CloudClients
}

function validator(fn: (v: string) => unknown): (v: string) => true | string {
  return (v) => {
    try {
      fn(v.trim())
      return true
    } catch (error) {
      return (error as Error).message
    }
  }
}

export async function runWizard(options: WizardOptions): Promise<SetupAnswers> {
  const p = options.prompter
  const init = options.initial ?? {}
  const env = options.env ?? process.env
  const config = options.config ?? {}

  const region =
    init.region ??
    (await p.select({
      message: 'Region of the VPC',
      choices: REGIONS.map((r) => ({name: r, value: r})),
      default: (typeof config.region === 'string' && (REGIONS as readonly string[]).includes(config.region) ? config.region : 'us-south') as (typeof REGIONS)[number],
    }))
  const clients = (options.clientsFor ?? ((r) => createCloudClients({region: r, env, config})))(region)
  try {
    const account = await clients.platform.accountId()

    let resourceGroup = init.resourceGroup
    if (!resourceGroup) {
      const groups = await clients.platform.listResourceGroups(account)
      if (groups.length === 0) throw new UsageError('the account has no resource group', {suggestions: ['Create one first (ibmcloud resource group-create)']})
      resourceGroup = await p.select({
        message: 'Resource group',
        choices: groups.map((g) => ({name: g.name, value: g.name, description: g.id})),
        default: (groups.find((g) => g.default) ?? groups.find((g) => g.name === 'default') ?? groups[0]).name,
      })
    }

    const basename =
      init.basename ??
      (
        await p.input({
          message: 'Base name for everything setup creates',
          default: typeof config.basename === 'string' ? config.basename : DEFAULT_BASENAME,
          validate: validator(validateBasename),
        })
      ).trim()

    const vpcs = await clients.vpc.listVpcs()
    let vpc = init.vpc
    if (!vpc) {
      if (vpcs.length === 0) throw new UsageError(`there is no VPC in ${region}`, {suggestions: ['Pick the region of your VPC']})
      vpc =
        vpcs.length === 1
          ? vpcs[0].id
          : await p.select({message: 'VPC', choices: vpcs.map((v) => ({name: v.name ?? v.id, value: v.id, description: v.id}))})
    }
    const chosen = vpcs.find((v) => v.id === vpc || v.name === vpc)

    let target = init.target
    if (!target) {
      const [subnets, instances] = chosen
        ? await Promise.all([clients.vpc.listSubnets({'vpc.id': chosen.id}), clients.vpc.listInstances({'vpc.id': chosen.id})])
        : [[], []]
      target = await p.select({
        message: 'What should the flow log collector watch?',
        choices: [
          {name: `The whole VPC (${chosen?.name ?? vpc})`, value: 'vpc'},
          ...subnets.map((s) => ({name: `Subnet ${s.name ?? s.id} (${s.ipv4_cidr_block})`, value: `subnet:${s.id}`})),
          ...instances.map((i) => ({name: `Instance ${i.name ?? i.id}`, value: `instance:${i.id}`})),
        ],
        default: 'vpc',
      })
    }

    const bucket =
      init.bucket ??
      (
        await p.input({
          message: 'Bucket for the flow logs (created in the VPC region)',
          default: defaultBucketName(basename, account),
          validate: validator(validateBucketName),
        })
      ).trim()

    const sink: SinkKind =
      init.sink ??
      (await p.select<SinkKind>({
        message: 'Where should flow logs be forwarded?',
        choices: [
          {name: 'A new IBM Cloud Logs instance', value: 'cloud-logs'},
          {name: 'An existing Log Analysis / Mezmo ingestion key', value: 'logdna'},
          {name: 'Nowhere: keep them in COS (flowlog pull / search read them)', value: 'none'},
        ],
        default: 'cloud-logs',
      }))
    let logdnaIngestionKey = init.logdnaIngestionKey
    if (sink === 'logdna' && !logdnaIngestionKey) {
      logdnaIngestionKey =
        env[INGESTION_KEY_ENV] ||
        (typeof config.logdnaIngestionKey === 'string' ? config.logdnaIngestionKey : undefined) ||
        (await p.password({message: 'Log Analysis / Mezmo ingestion key', validate: (v) => (v.trim().length >= 8 ? true : 'the key looks too short')})).trim()
    }

    const trigger: TriggerKind =
      init.trigger ??
      (await p.select<TriggerKind>({
        message: 'How should the forwarder find new objects?',
        choices: [
          {name: 'A Code Engine job polling the bucket (fully automatic)', value: 'poll'},
          {name: 'A COS event subscription (prints the ibmcloud command to run)', value: 'cos-subscription'},
        ],
        default: 'poll',
      }))

    return {region, resourceGroup, basename, vpc, target, bucket, sink, trigger, image: init.image, sourceRepo: init.image ? undefined : init.sourceRepo, registryNamespace: init.registryNamespace, logdnaIngestionKey}
  } finally {
    if (!options.clientsFor) clients.close()
  }
}
