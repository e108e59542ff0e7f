import {Flags} from '@oclif/core'
import Table from 'cli-table3'

import {BaseCommand} from '../base-command.js'
import {readConfig} from '../lib/config/settings.js'
import {UsageError} from '../lib/errors.js'
import {
  DEFAULT_BASENAME,
  DEFAULT_RESOURCE_GROUP,
  INGESTION_KEY_ENV,
  type SetupAnswers,
  SINKS,
  type SinkKind,
  TRIGGERS,
  type TriggerKind,
} from '../lib/pipeline/answers.js'
import {createInquirerPrompter} from '../lib/pipeline/prompter.js'
import {runSetup, type SetupResult} from '../lib/pipeline/setup.js'
import {runWizard} from '../lib/pipeline/wizard.js'

export default class Setup extends BaseCommand {
  static summary = 'Create the flow-log pipeline in IBM Cloud: COS bucket, authorization, collector, sink and forwarder'

  static description = `Creates, in order: the COS instance and its HMAC key, a regional bucket in the VPC's region, the
is/flow-log-collector → COS Writer authorization, the flow log collector (VPC, subnet or instance), the sink (a new
IBM Cloud Logs instance, an existing Log Analysis / Mezmo ingestion key, or none), and a Code Engine project with a
secret, a config map and a job running \`flowlog forward\` (polling the bucket, or started by a COS subscription).
Then it writes the config file the other commands read (secrets such as HMAC keys only there, mode 0600).

Every step is get-or-create, then verify: ids are saved in the state file as soon as they are known, a re-run after a
failure completes without duplicates, and a second run changes nothing. --dry-run shows the plan and changes nothing.

On a terminal it asks its questions; --non-interactive takes the answers as flags (--region is required; --vpc only
when the region has several VPCs). The API key comes from IBMCLOUD_API_KEY (or the config file), never a flag; the
Log Analysis / Mezmo ingestion key from ${INGESTION_KEY_ENV} (or a password prompt).

Endpoints can be overridden with FLOWLOG_IAM_URL, FLOWLOG_RESOURCE_CONTROLLER_URL, FLOWLOG_RESOURCE_MANAGER_URL,
FLOWLOG_GLOBAL_CATALOG_URL, FLOWLOG_IAM_POLICY_URL, FLOWLOG_VPC_URL, FLOWLOG_CODE_ENGINE_URL, FLOWLOG_COS_ENDPOINT,
FLOWLOG_LOGDNA_URL and FLOWLOG_CLOUD_LOGS_URL.`

  static examples = [
    {description: 'Answer the questions', command: '<%= config.bin %> setup'},
    {
      description: 'Everything from flags (the region has one VPC), IBM Cloud Logs as the sink',
      command: '<%= config.bin %> setup --non-interactive --region us-south --resource-group default --basename flowlog',
    },
    {
      description: 'One instance only, into an existing Log Analysis / Mezmo account',
      command: `${INGESTION_KEY_ENV}=… <%= config.bin %> setup --non-interactive --region us-south --vpc my-vpc --target instance:vsi1 --sink logdna`,
    },
    {description: 'See what would be created, change nothing', command: '<%= config.bin %> setup --non-interactive --region us-south --dry-run'},
    {description: 'COS event subscription instead of polling (prints the ibmcloud commands)', command: '<%= config.bin %> setup --region eu-de --trigger cos-subscription'},
  ]

  static flags = {
    'non-interactive': Flags.boolean({description: 'take every answer from flags; never prompt (a missing required answer is an error)'}),
    region: Flags.string({description: 'region of the VPC (us-south, eu-de, …)', helpValue: 'REGION'}),
    'resource-group': Flags.string({description: `resource group for everything setup creates [default: ${DEFAULT_RESOURCE_GROUP}]`, helpValue: 'NAME'}),
    basename: Flags.string({description: `prefix of every name setup gives [default: ${DEFAULT_BASENAME}]`, helpValue: 'NAME'}),
    vpc: Flags.string({description: 'VPC name or id (needed only when the region has several VPCs)', helpValue: 'VPC'}),
    target: Flags.string({description: 'what the collector watches: vpc, subnet:<name|id>, instance:<name|id> [default: vpc]', helpValue: 'TARGET'}),
    bucket: Flags.string({description: 'bucket name [default: <basename>-flowlogs-<account>]', helpValue: 'NAME'}),
    sink: Flags.string({description: 'where flow logs are forwarded [default: cloud-logs]', options: [...SINKS]}),
    trigger: Flags.string({description: 'how the forwarder finds new objects [default: poll]', options: [...TRIGGERS]}),
    image: Flags.string({
      description: 'container image for the forwarder job (one built from the repo Dockerfile) [default: a public Node image running npx flowlog]',
      helpValue: 'IMAGE',
    }),
    'dry-run': Flags.boolean({description: 'print the plan (what exists, what would be created) and change nothing'}),
    'save-api-key': Flags.boolean({description: 'also store IBMCLOUD_API_KEY in the config file (0600) for later commands'}),
  }

  async run(): Promise<SetupResult> {
    const {flags} = await this.parse(Setup)
    const env = process.env
    const config = await readConfig(this.home)
    const initial: Partial<SetupAnswers> = {
      region: flags.region,
      resourceGroup: flags['resource-group'],
      basename: flags.basename,
      vpc: flags.vpc,
      target: flags.target,
      bucket: flags.bucket,
      sink: flags.sink as SinkKind | undefined,
      trigger: flags.trigger as TriggerKind | undefined,
      image: flags.image,
    }
    const ingestionKey = env[INGESTION_KEY_ENV] || (typeof config.logdnaIngestionKey === 'string' ? config.logdnaIngestionKey : undefined)
    const interactive = !flags['non-interactive'] && !this.jsonEnabled() && this.term.interactive
    let answers: SetupAnswers
    if (interactive) {
      answers = await runWizard({prompter: createInquirerPrompter(), initial: {...initial, logdnaIngestionKey: ingestionKey}, env, config})
    } else {
      if (!initial.region) {
        throw new UsageError('--region is required with --non-interactive (or without a terminal)', {
          suggestions: ['flowlog setup --non-interactive --region us-south [--resource-group default] [--basename flowlog]', 'or run `flowlog setup` on a terminal to answer questions'],
        })
      }
      answers = {
        region: initial.region,
        resourceGroup: initial.resourceGroup ?? DEFAULT_RESOURCE_GROUP,
        basename: initial.basename ?? DEFAULT_BASENAME,
        vpc: initial.vpc,
        target: initial.target ?? 'vpc',
        bucket: initial.bucket,
        sink: initial.sink ?? 'cloud-logs',
        trigger: initial.trigger ?? 'poll',
        image: initial.image,
        logdnaIngestionKey: ingestionKey,
      }
    }
    const t = this.term
    t.startSpinner(flags['dry-run'] ? 'planning' : 'setting up')
    let result: SetupResult
    try {
      result = await runSetup({
        home: this.home,
        answers,
        env,
        dryRun: flags['dry-run'],
        saveApiKey: flags['save-api-key'],
        version: this.config.version,
        onProgress: (e) => t.progress(e.message),
      })
    } finally {
      t.stopSpinner()
    }
    this.render(result)
    return result
  }

  private render(r: SetupResult): void {
    const t = this.term
    if (this.jsonEnabled()) return
    const colour = (a: string) =>
      a === 'created' ? t.c.green(a) : a === 'updated' ? t.c.yellow(a) : a === 'planned' ? t.c.cyan(a) : a === 'skipped' ? t.c.dim(a) : a
    const table = new Table({head: ['step', 'action', 'id', 'detail'], style: {head: t.colour ? ['bold'] : [], border: t.colour ? ['grey'] : []}, chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}})
    for (const s of r.steps) table.push([s.name, colour(s.action), s.id ?? '', s.detail ?? ''])
    t.out(table.toString())
    const changed = r.steps.filter((s) => s.action === 'created' || s.action === 'updated').length
    if (r.dryRun) t.info(`dry run: ${r.steps.filter((s) => s.action === 'planned').length} step(s) would change something; nothing was changed`)
    else t.info(changed === 0 ? 'everything was already in place: nothing changed' : `${changed} step(s) created or updated something`)
    if (r.commands?.length) {
      t.info('The COS subscription has no REST API. Run:')
      for (const c of r.commands) t.out(`  ${c}`)
    }
    if (!r.dryRun) t.hint(`next: flowlog doctor   (checks every hop; flowlog teardown removes it all)`)
  }
}
