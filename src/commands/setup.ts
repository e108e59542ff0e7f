import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {DEFAULT_BASENAME, DEFAULT_RESOURCE_GROUP, INGESTION_KEY_ENV, SINKS, TRIGGERS} from '../lib/pipeline/answers.js'
import {setupFlow, type SetupFlowResult} from '../lib/pipeline/setup-flow.js'
import {renderSetup, renderSetupPlan} from '../lib/ui/pipeline.js'

export default class Setup extends BaseCommand {
  static summary = 'Create the flow-log pipeline in IBM Cloud: COS bucket, authorization, collector, sink and forwarder'

  static description = `Creates, in order: the COS instance and its HMAC key, a regional bucket in the VPC's region, the
is/flow-log-collector → COS Writer authorization, the flow log collector (waits until it is stable), the sink (a new
IBM Cloud Logs instance by default, or Mezmo / self-hosted LogDNA with --sink logdna), and a Code Engine project with
the forwarder job. The job runs as its own service ID (Sender on the Cloud Logs instance, Reader on the bucket, Writer
on flowlog/ledger/ only; its API key lives only in the Code Engine secret) and from an image built from this repository's Dockerfile by a Code
Engine build into your Container Registry namespace, pinned by digest (--image uses an image you pushed).

On a terminal setup asks its questions, prints the plan (each resource, whether it costs money, what exists already)
and asks once. --non-interactive takes the answers as flags and runs the plan; --dry-run prints it and changes nothing.
Every step is get-or-create: a re-run completes an interrupted setup and a second run changes nothing. See docs/setup.md.

The API key comes from IBMCLOUD_API_KEY (or the config file), never a flag; the Mezmo / LogDNA ingestion key from
${INGESTION_KEY_ENV}. Endpoints can be overridden with FLOWLOG_*_URL variables (docs/setup.md §6).`

  static examples = [
    {description: 'Answer the questions on a terminal, see the plan, confirm once', command: '<%= config.bin %> setup'},
    {description: 'Print the plan, change nothing', command: '<%= config.bin %> setup --non-interactive --region us-south --dry-run'},
    {description: 'Everything from flags, IBM Cloud Logs as the sink', command: '<%= config.bin %> setup --non-interactive --region us-south --resource-group default --basename flowlog'},
    {description: 'The plan with an image you already pushed (no build)', command: '<%= config.bin %> setup --non-interactive --region us-south --image us.icr.io/myns/flowlog:0.1.0 --dry-run'},
    {description: 'COS event subscription instead of polling (the run prints the ibmcloud commands)', command: '<%= config.bin %> setup --non-interactive --region us-south --trigger cos-subscription --dry-run'},
  ]

  static flags = {
    'non-interactive': Flags.boolean({description: 'take every answer from flags; never prompt; run the plan without asking'}),
    region: Flags.string({description: 'region of the VPC (us-south, eu-de, …)', helpValue: 'REGION'}),
    'resource-group': Flags.string({description: `resource group for everything setup creates [default: ${DEFAULT_RESOURCE_GROUP}]`, helpValue: 'NAME'}),
    basename: Flags.string({description: `prefix of every name setup gives [default: ${DEFAULT_BASENAME}]`, helpValue: 'NAME'}),
    vpc: Flags.string({description: 'VPC name or id (needed only when the region has several VPCs)', helpValue: 'VPC'}),
    target: Flags.string({description: 'what the collector watches: vpc, subnet:<name|id>, instance:<name|id> [default: vpc]', helpValue: 'TARGET'}),
    bucket: Flags.string({description: 'bucket name [default: <basename>-flowlogs-<account>]', helpValue: 'NAME'}),
    sink: Flags.string({description: 'where flow logs are forwarded [default: cloud-logs]', options: [...SINKS]}),
    trigger: Flags.string({description: 'how the forwarder finds new objects [default: poll]', options: [...TRIGGERS]}),
    'source-repo': Flags.string({description: 'git URL of this repository for the image build [default: package.json repository]', helpValue: 'URL', exclusive: ['image']}),
    image: Flags.string({description: 'an image you already pushed for the forwarder job (skips the build)', helpValue: 'REF', exclusive: ['source-repo']}),
    'registry-namespace': Flags.string({description: 'Container Registry namespace of the built image [default: <basename>-<account>]', helpValue: 'NS'}),
    'dry-run': Flags.boolean({description: 'print the plan (what exists, what would be created, what costs money) and change nothing'}),
    'save-api-key': Flags.boolean({description: 'also store IBMCLOUD_API_KEY in the config file (0600) for later commands'}),
  }

  async run(): Promise<SetupFlowResult> {
    const {flags} = await this.parse(Setup)
    const t = this.term
    const result = await setupFlow(flags, {
      home: this.home,
      env: process.env,
      version: this.config.version,
      repository: this.config.pjson.repository,
      interactive: !flags['non-interactive'] && !this.jsonEnabled() && t.interactive,
      onPhase: (dryRun) => t.startSpinner(dryRun ? 'planning' : 'setting up'),
      onPhaseEnd: () => t.stopSpinner(),
      onProgress: (m) => t.progress(m),
      onPlan: (plan) => this.jsonEnabled() || this.emit(renderSetupPlan(plan, t)),
    })
    if (!result.plan && !this.jsonEnabled()) this.emit(renderSetup(result, t))
    return result
  }
}
