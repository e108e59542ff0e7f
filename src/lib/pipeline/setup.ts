/**
 * `flowlog setup` as ordered, resumable, idempotent steps over the IBM Cloud clients (docs/setup.md §1):
 *
 *   account → resource-group → vpc → cos-instance → cos-key → bucket → authorization → collector → sink →
 *   project → service-id → job-policies → registry-namespace → job-api-key → registry-secret → build → image →
 *   secret → config-map → job → trigger (→ trigger-authorization) → config
 *
 * The forwarder job runs as its own service ID with least privilege (docs/setup.md §4) and an image built from this
 * repository's Dockerfile by a Code Engine build, pinned by digest (docs/setup.md §3); `--image` skips the build.
 *
 * Every step is get-or-create, then verify. Ids go to the state file as soon as they are known (a create is announced
 * first, so a lost answer is recognised as ours on the re-run); secrets (HMAC keys, ingestion key) go only to the
 * config file (0600). `dryRun` looks everything up and changes nothing.
 */
import {type FlowlogConfig, readConfig, updateConfig} from '../config/settings.js'
import type {Home} from '../config/home.js'
import {ConfigError, registerSecret, RemoteError, UsageError} from '../errors.js'
import {type CloudClients, createCloudClients} from '../ibmcloud/clients.js'
import type {CeBuildRun, CeJobRun, CeProject} from '../ibmcloud/code-engine.js'
import type {ServiceId} from '../ibmcloud/iam-identity.js'
import {cloudLogsIngressUrl, isRetiredLogAnalysisUrl, retiredLogAnalysisError} from '../ibmcloud/endpoints.js'
import {ApiAuthError, ConflictError, isNotFound, statusOf} from '../ibmcloud/http.js'
import {
  conflictingPolicyId,
  COS_SERVICE_ID,
  COS_STANDARD_PLAN_ID,
  type Policy,
  type PolicyPrototype,
  type ResourceInstance,
  type ResourceKey,
  type V2Policy,
  type V2PolicyPrototype,
  WRITER_ROLE_CRN,
} from '../ibmcloud/platform.js'
import {REMOTE_LEDGER_PREFIX} from '../sinks/ledger-remote.js'
import type {FlowLogCollector, Instance as VpcInstance, Subnet, Vpc} from '../ibmcloud/vpc.js'
import {resourceNames, type SetupAnswers, validateAnswers} from './answers.js'
import {configMapData, dataHash, type ForwarderInputs, jobDiff, jobSpec, readableData, sameData, secretData} from './forwarder.js'
import {type Deployment, deploymentKey, type ResourceRecord, StateStore} from './state.js'
import {pollUntil, type ProgressFn, resolveTiming, type SetupAction, type StepResult, type Timing} from './types.js'

export interface SetupOptions {
  home: Home
  answers: SetupAnswers
  env?: NodeJS.ProcessEnv
  dryRun?: boolean
  /** Store the API key in the config file too (off by default). */
  saveApiKey?: boolean
  /** Prebuilt clients (tests); otherwise built from env/config for answers.region. */
  clients?: CloudClients
  timing?: Timing
  onProgress?: ProgressFn
  /** flowlog's version (the tag of the built image). */
  version: string
}

export interface SetupResult {
  steps: StepResult[]
  dryRun: boolean
  account: string
  region: string
  basename: string
  /** Commands to run by hand (the COS subscription has no REST API). */
  commands?: string[]
}

export const NOTIFICATIONS_MANAGER_FALLBACK_CRN = 'crn:v1:bluemix:public:cloud-object-storage::::serviceRole:NotificationsManager'
/** Code Engine job-run status values (code-engine-go-sdk codeenginev2 JobRun status): pending, running, completed, failed. */
export const JOB_RUN_STATUS = {pending: 'pending', running: 'running', completed: 'completed', failed: 'failed'} as const
const ACTIVE_RUN = new Set<string>([JOB_RUN_STATUS.pending, JOB_RUN_STATUS.running])
const GONE_PROJECT = new Set(['soft_deleted', 'pending_removal', 'hard_deleting', 'hard_deleted', 'deleting', 'deletion_failed', 'hard_deletion_failed'])

interface Ctx {
  o: SetupOptions
  c: CloudClients
  store: StateStore
  dep: Deployment
  dry: boolean
  timing: Required<Timing>
  steps: StepResult[]
  names: ReturnType<typeof resourceNames>
  account: string
  region: string
  config: FlowlogConfig
  configPatch: Partial<FlowlogConfig>
  // Filled as steps run:
  rg?: {id: string; name: string}
  vpc?: Vpc
  target?: {id: string; kind: 'vpc' | 'subnet' | 'instance'; name?: string}
  cos?: {guid: string; crn: string}
  hmac?: {accessKeyId: string; secretAccessKey: string}
  bucketReady?: boolean
  policyReady?: boolean
  logs?: {guid: string; url: string}
  project?: CeProject
  secretReady?: boolean
  configMapReady?: boolean
  serviceId?: ServiceId
  /** The job's API key value (only in memory and in the Code Engine secrets). */
  jobKeyValue?: string
  /** The image the job runs (built and pinned by digest, or --image). */
  image?: string
  imageSecret?: string
  buildChanged?: boolean
  jobAction?: SetupAction
  commands: string[]
}

function step(ctx: Ctx, name: string, action: SetupAction, id: string | null | undefined, detail?: string): void {
  ctx.steps.push({name, action, id: id ?? null, ...(detail ? {detail} : {})})
  ctx.o.onProgress?.({step: name, message: `${name}: ${action}${detail ? ` (${detail})` : ''}`})
}

function progress(ctx: Ctx, name: string, message: string): void {
  ctx.o.onProgress?.({step: name, message})
}

function rec(ctx: Ctx, key: string): ResourceRecord | undefined {
  return ctx.dep.resources[key]
}

async function setRec(ctx: Ctx, key: string, value: ResourceRecord | undefined): Promise<void> {
  if (value === undefined) delete ctx.dep.resources[key]
  else ctx.dep.resources[key] = value
  await ctx.store.save(ctx.dep)
}

/**
 * Announce a create in the state (pending), run it, and take the announcement back when the answer proves nothing
 * was created (a 4xx other than 408/429). A 5xx or a network error may hide a create that went through: the pending
 * mark stays, so the re-run that finds the resource by name knows it is ours.
 */
async function intend<T>(ctx: Ctx, key: string, intent: ResourceRecord, fn: () => Promise<T>): Promise<T> {
  const previous = rec(ctx, key)
  await setRec(ctx, key, {...intent, pending: true, ...(ours(previous) ? {created: true} : {})})
  try {
    return await fn()
  } catch (error) {
    const status = statusOf(error)
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) await setRec(ctx, key, previous)
    throw error
  }
}

/** Ours when we created it, or announced a create that may have gone through. */
function ours(r: ResourceRecord | undefined): boolean {
  return Boolean(r?.created || r?.pending)
}

export async function runSetup(options: SetupOptions): Promise<SetupResult> {
  const env = options.env ?? process.env
  const answers = validateAnswers({...options.answers})
  if (answers.logdnaIngestionKey) registerSecret(answers.logdnaIngestionKey)
  const dry = Boolean(options.dryRun)
  const config = await readConfig(options.home)
  const c = options.clients ?? createCloudClients({region: answers.region, env, config})
  const store = new StateStore(options.home, dry)
  await store.load()
  const timing = resolveTiming(options.timing, env)
  try {
    const account = await c.platform.accountId()
    const key = deploymentKey(account, answers.region, answers.basename)
    const names = resourceNames(answers.basename, account, answers.bucket)
    const now = new Date().toISOString()
    const existing = store.get(key)
    const dep: Deployment = existing ?? {
      key,
      accountId: account,
      region: answers.region,
      basename: answers.basename,
      answers: {resourceGroup: answers.resourceGroup, target: answers.target, bucket: names.bucket, sink: answers.sink, trigger: answers.trigger},
      resources: {},
      createdAt: now,
      updatedAt: now,
    }
    dep.answers = {
      resourceGroup: answers.resourceGroup,
      vpc: answers.vpc,
      target: answers.target,
      bucket: names.bucket,
      sink: answers.sink,
      trigger: answers.trigger,
      image: answers.image,
      sourceRepo: answers.sourceRepo,
      registryNamespace: answers.registryNamespace,
    }
    const ctx: Ctx = {o: {...options, answers}, c, store, dep, dry, timing, steps: [], names, account, region: answers.region, config, configPatch: {}, commands: []}
    step(ctx, 'account', 'exists', account)

    await stepResourceGroup(ctx)
    await stepVpc(ctx)
    // Nothing has been created so far: bad answers fail before any change.
    if (!dry) await store.save(dep)
    await stepCosInstance(ctx)
    await stepCosKey(ctx)
    await stepBucket(ctx)
    await stepAuthorization(ctx)
    await stepCollector(ctx)
    await stepSink(ctx)
    if (answers.sink === 'none') {
      for (const name of ['project', 'secret', 'config-map', 'job', 'trigger']) step(ctx, name, 'skipped', null, 'no sink: no forwarder')
    } else {
      await stepProject(ctx)
      await stepServiceId(ctx)
      await stepJobPolicies(ctx)
      if (!answers.image) await stepRegistryNamespace(ctx)
      await stepJobApiKey(ctx)
      if (answers.image) {
        ctx.image = answers.image
        step(ctx, 'image', 'exists', answers.image, 'given with --image (no build)')
      } else {
        await stepRegistrySecret(ctx)
        await stepBuild(ctx)
        await stepImage(ctx)
      }
      await stepSecret(ctx)
      await stepConfigMap(ctx)
      await stepJob(ctx)
      await stepTrigger(ctx)
    }
    await stepConfig(ctx)
    return {
      steps: ctx.steps,
      dryRun: dry,
      account,
      region: answers.region,
      basename: answers.basename,
      ...(ctx.commands.length > 0 ? {commands: ctx.commands} : {}),
    }
  } finally {
    if (!options.clients) c.close()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------------------------

async function stepResourceGroup(ctx: Ctx): Promise<void> {
  const wanted = ctx.o.answers.resourceGroup
  const groups = await ctx.c.platform.listResourceGroups(ctx.account)
  const g = groups.find((x) => x.name === wanted) ?? groups.find((x) => x.id === wanted)
  if (!g) {
    throw new UsageError(`resource group ${JSON.stringify(wanted)} not found in account ${ctx.account}`, {
      suggestions: [groups.length ? `Use one of: ${groups.map((x) => x.name).join(', ')}` : 'Create a resource group first (ibmcloud resource group-create)'],
    })
  }
  ctx.rg = {id: g.id, name: g.name}
  ctx.dep.resources.resourceGroup = {id: g.id, name: g.name}
  step(ctx, 'resource-group', 'exists', g.id, g.name)
}

async function stepVpc(ctx: Ctx): Promise<void> {
  const {vpc: wanted, target} = ctx.o.answers
  const vpcs = await ctx.c.vpc.listVpcs()
  let vpc: Vpc | undefined
  if (wanted) {
    vpc = vpcs.find((v) => v.id === wanted) ?? vpcs.find((v) => v.name === wanted)
    if (!vpc) {
      throw new UsageError(`VPC ${JSON.stringify(wanted)} not found in ${ctx.region}`, {
        suggestions: [vpcs.length ? `VPCs in ${ctx.region}: ${vpcs.map((v) => v.name ?? v.id).join(', ')}` : `There is no VPC in ${ctx.region}`],
      })
    }
  } else if (vpcs.length === 1) {
    vpc = vpcs[0]
  } else if (vpcs.length === 0) {
    throw new UsageError(`there is no VPC in ${ctx.region}`, {suggestions: ['Pick the region of your VPC with --region']})
  } else {
    throw new UsageError(`${ctx.region} has ${vpcs.length} VPCs: choose one with --vpc`, {
      suggestions: [`--vpc ${vpcs.map((v) => v.name ?? v.id).join(' | --vpc ')}`],
    })
  }
  ctx.vpc = vpc
  ctx.target = await resolveTarget(ctx, vpc, target)
  ctx.dep.resources.vpc = {id: vpc.id, name: vpc.name}
  ctx.dep.resources.target = {id: ctx.target.id, name: ctx.target.name, kind: ctx.target.kind}
  step(ctx, 'vpc', 'exists', vpc.id, `${vpc.name ?? vpc.id}; collector target: ${ctx.target.kind} ${ctx.target.name ?? ctx.target.id}`)
}

async function resolveTarget(ctx: Ctx, vpc: Vpc, target: string): Promise<NonNullable<Ctx['target']>> {
  if (target === 'vpc' || target === vpc.id || target === vpc.name) return {id: vpc.id, kind: 'vpc', name: vpc.name}
  const m = /^(subnet|instance):(.+)$/.exec(target)
  const kind = m ? (m[1] as 'subnet' | 'instance') : undefined
  const ref = m ? m[2] : target
  const [subnets, instances] = await Promise.all([
    kind === 'instance' ? Promise.resolve([] as Subnet[]) : ctx.c.vpc.listSubnets({'vpc.id': vpc.id}),
    kind === 'subnet' ? Promise.resolve([] as VpcInstance[]) : ctx.c.vpc.listInstances({'vpc.id': vpc.id}),
  ])
  const s = subnets.find((x) => x.id === ref) ?? subnets.find((x) => x.name === ref)
  const i = instances.find((x) => x.id === ref) ?? instances.find((x) => x.name === ref)
  if (s && i) throw new UsageError(`--target ${ref} names both a subnet and an instance`, {suggestions: [`Use subnet:${ref} or instance:${ref}`]})
  if (s) return {id: s.id, kind: 'subnet', name: s.name}
  if (i) return {id: i.id, kind: 'instance', name: i.name}
  const choices = [...subnets.map((x) => `subnet:${x.name ?? x.id}`), ...instances.map((x) => `instance:${x.name ?? x.id}`)]
  throw new UsageError(`--target ${JSON.stringify(target)} is not a subnet or instance of VPC ${vpc.name ?? vpc.id}`, {
    suggestions: [`Use vpc${choices.length ? `, ${choices.join(', ')}` : ''}`],
  })
}

/** Get-or-create a Resource Controller instance, then wait until it is active. */
async function ensureInstance(
  ctx: Ctx,
  key: string,
  stepName: string,
  spec: {name: string; resourceId: string; planId: string; target: string},
): Promise<{action: SetupAction; inst?: ResourceInstance; detail?: string}> {
  const p = ctx.c.platform
  const r = rec(ctx, key)
  let inst: ResourceInstance | undefined
  let detail: string | undefined
  if (r?.id) inst = await p.findInstance(r.id)
  if (!inst) {
    const found = (await p.listInstances({name: spec.name, resourceId: spec.resourceId, resourceGroupId: ctx.rg!.id})).filter(
      (i) => i.state === 'active' || i.state === 'provisioning',
    )
    found.sort((a, b) => (a.state === 'active' ? -1 : 0) - (b.state === 'active' ? -1 : 0))
    inst = found[0]
    if (found.length > 1) detail = `${found.length} instances are named ${spec.name}; using ${inst.guid}`
  }
  let action: SetupAction = 'exists'
  if (!inst) {
    if (ctx.dry) return {action: 'planned', detail: `would create ${spec.name}`}
    progress(ctx, stepName, `creating ${spec.name}`)
    inst = await intend(ctx, key, {name: spec.name}, () =>
      p.createInstance({name: spec.name, target: spec.target, resourceGroup: ctx.rg!.id, resourcePlanId: spec.planId, tags: ['flowlog']}),
    )
    action = 'created'
  }
  await setRec(ctx, key, {id: inst.guid, crn: inst.crn ?? inst.id, name: inst.name, created: action === 'created' || ours(r)})
  if (!ctx.dry && (inst.state !== 'active' || inst.last_operation?.state === 'in progress')) inst = await waitForInstance(ctx, stepName, inst)
  return {action, inst, detail}
}

async function waitForInstance(ctx: Ctx, stepName: string, inst: ResourceInstance): Promise<ResourceInstance> {
  const guid = inst.guid
  const done = await pollUntil(
    async () => {
      const i = await ctx.c.platform.getInstance(guid)
      if (i.state === 'failed' || i.last_operation?.state === 'failed') {
        throw new RemoteError(`${i.name} (${guid}) failed to provision: ${i.last_operation?.description ?? i.state}`, {
          suggestions: ['Delete it in the console (or `flowlog teardown`) and run setup again'],
        })
      }
      return i.state === 'active' && i.last_operation?.state !== 'in progress' ? i : undefined
    },
    ctx.timing,
    ctx.timing.provisionTimeoutMs,
    () => progress(ctx, stepName, `waiting for ${inst.name} to become active`),
  )
  if (!done) {
    throw new RemoteError(`${inst.name} (${guid}) is still provisioning`, {suggestions: ['Run `flowlog setup` again later: it resumes where it stopped']})
  }
  return done
}

async function stepCosInstance(ctx: Ctx): Promise<void> {
  const r = await ensureInstance(ctx, 'cosInstance', 'cos-instance', {
    name: ctx.names.cosInstance,
    resourceId: COS_SERVICE_ID,
    planId: COS_STANDARD_PLAN_ID,
    target: 'global',
  })
  if (r.inst) ctx.cos = {guid: r.inst.guid, crn: r.inst.crn ?? r.inst.id}
  step(ctx, 'cos-instance', r.action, r.inst?.guid, r.detail ?? (r.inst ? r.inst.name : undefined))
}

function hmacOf(key: ResourceKey | undefined): {accessKeyId: string; secretAccessKey: string} | undefined {
  const h = (key?.credentials as {cos_hmac_keys?: {access_key_id?: unknown; secret_access_key?: unknown}} | undefined)?.cos_hmac_keys
  if (typeof h?.access_key_id === 'string' && typeof h?.secret_access_key === 'string' && h.access_key_id && h.secret_access_key) {
    return {accessKeyId: h.access_key_id, secretAccessKey: h.secret_access_key}
  }
  return undefined
}

async function stepCosKey(ctx: Ctx): Promise<void> {
  if (!ctx.cos) return step(ctx, 'cos-key', 'planned', null, `would create ${ctx.names.cosKey} (HMAC)`)
  const p = ctx.c.platform
  const r = rec(ctx, 'cosKey')
  const cfgHmac =
    typeof ctx.config.cosHmacAccessKeyId === 'string' && typeof ctx.config.cosHmacSecretAccessKey === 'string' && ctx.config.cosHmacAccessKeyId && ctx.config.cosHmacSecretAccessKey
      ? {accessKeyId: ctx.config.cosHmacAccessKeyId, secretAccessKey: ctx.config.cosHmacSecretAccessKey}
      : undefined
  let key: ResourceKey | undefined
  if (r?.id) key = await p.getKey(r.id)
  if (!key) {
    const keys = await p.listKeysForInstance(ctx.cos.guid)
    key = keys.find((k) => k.name === (r?.name ?? ctx.names.cosKey)) ?? keys.find((k) => k.name === ctx.names.cosKey)
  }
  if (key) {
    const hmac = hmacOf(key) ?? (cfgHmac && (r?.id === key.guid || !r?.id) ? cfgHmac : undefined)
    if (hmac) {
      ctx.hmac = hmac
      registerSecret(hmac.secretAccessKey)
      await setRec(ctx, 'cosKey', {id: key.guid, name: key.name, created: ours(r) || Boolean(r?.created)})
      if (!cfgHmac || cfgHmac.accessKeyId !== hmac.accessKeyId || cfgHmac.secretAccessKey !== hmac.secretAccessKey) {
        if (!ctx.dry) await updateConfig(ctx.o.home, {cosHmacAccessKeyId: hmac.accessKeyId, cosHmacSecretAccessKey: hmac.secretAccessKey})
      }
      return step(ctx, 'cos-key', 'exists', key.guid, key.name)
    }
    // One-time credentials: the key's secrets cannot be read back. Replace it.
    if (ctx.dry) return step(ctx, 'cos-key', 'planned', key.guid, `credentials of ${key.name} cannot be read back; would create a new key`)
    if (ours(r) && r?.pending) {
      try {
        await p.deleteKey(key.guid)
      } catch (error) {
        if (!isNotFound(error)) throw error
      }
    }
  }
  if (ctx.dry) return step(ctx, 'cos-key', 'planned', null, `would create ${ctx.names.cosKey} (HMAC)`)
  const name = key ? `${ctx.names.cosKey}-${Date.now().toString(36)}` : ctx.names.cosKey
  const cosGuid = ctx.cos.guid
  const created = await intend(ctx, 'cosKey', {name}, () => p.createKey({name, source: cosGuid, role: 'Writer', parameters: {HMAC: true}}))
  const hmac = hmacOf(created)
  if (!hmac) {
    throw new RemoteError(`the new key ${name} carries no HMAC credentials`, {suggestions: ['Check that the COS instance supports HMAC keys, then run setup again']})
  }
  registerSecret(hmac.secretAccessKey)
  // Secrets only in the config file, immediately (the create answer is the only time they are visible).
  await updateConfig(ctx.o.home, {cosHmacAccessKeyId: hmac.accessKeyId, cosHmacSecretAccessKey: hmac.secretAccessKey})
  await setRec(ctx, 'cosKey', {id: created.guid, name, created: true})
  ctx.hmac = hmac
  step(ctx, 'cos-key', 'created', created.guid, name)
}

async function stepBucket(ctx: Ctx): Promise<void> {
  const name = ctx.names.bucket
  if (!ctx.cos) return step(ctx, 'bucket', 'planned', name, `would create ${name} (${ctx.region}-standard)`)
  const admin = ctx.c.buckets({instanceId: ctx.cos.crn})
  const r = rec(ctx, 'bucket')
  const taken = () =>
    new UsageError(`the bucket name ${name} is taken (bucket names are global across IBM Cloud)`, {
      suggestions: [`Choose another name with --bucket, e.g. --bucket ${name}-${Math.random().toString(36).slice(2, 6)}`],
    })
  let presence = await admin.headBucket(name)
  let action: SetupAction = 'exists'
  if (presence === 'forbidden') throw taken()
  if (presence === 'missing') {
    if (ctx.dry) return step(ctx, 'bucket', 'planned', name, `would create ${name} (${ctx.region}-standard)`)
    progress(ctx, 'bucket', `creating ${name}`)
    const outcome = await intend(ctx, 'bucket', {name}, () => admin.createBucket(name, `${ctx.region}-standard`))
    if (outcome === 'taken') {
      presence = await admin.headBucket(name)
      if (presence !== 'mine') {
        await setRec(ctx, 'bucket', undefined)
        throw taken()
      }
    }
    action = outcome === 'created' ? 'created' : 'exists'
  }
  const location = await admin.bucketLocation(name).catch(() => undefined)
  if (location && !location.startsWith(`${ctx.region}-`)) {
    throw new ConfigError(`bucket ${name} is in ${location}, but flow logs need a regional bucket in ${ctx.region}`, {
      suggestions: [`Choose another bucket with --bucket (setup creates it in ${ctx.region})`],
    })
  }
  await setRec(ctx, 'bucket', {id: name, name, location: location ?? `${ctx.region}-standard`, created: action === 'created' || ours(r)})
  ctx.bucketReady = true
  step(ctx, 'bucket', action, name, location)
}

function attrsOf(entry: {attributes?: Array<{name: string; value: unknown}>} | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const a of entry?.attributes ?? []) out[a.name] = String(a.value)
  return out
}

export function matchesCollectorPolicy(p: Policy, account: string, cosGuid: string): boolean {
  if (p.type !== undefined && p.type !== 'authorization') return false
  const s = attrsOf(p.subjects?.[0])
  const res = attrsOf(p.resources?.[0])
  return (
    s.serviceName === 'is' &&
    (s.resourceType === undefined || s.resourceType === 'flow-log-collector') &&
    (s.accountId === undefined || s.accountId === account) &&
    res.serviceName === 'cloud-object-storage' &&
    res.serviceInstance === cosGuid &&
    (p.roles ?? []).some((role) => role.role_id === WRITER_ROLE_CRN || role.display_name === 'Writer')
  )
}

export function collectorPolicy(account: string, cosGuid: string): PolicyPrototype {
  return {
    type: 'authorization',
    subjects: [
      {
        attributes: [
          {name: 'accountId', value: account},
          {name: 'serviceName', value: 'is'},
          {name: 'resourceType', value: 'flow-log-collector'},
        ],
      },
    ],
    roles: [{role_id: WRITER_ROLE_CRN}],
    resources: [
      {
        attributes: [
          {name: 'accountId', value: account, operator: 'stringEquals'},
          {name: 'serviceName', value: 'cloud-object-storage', operator: 'stringEquals'},
          {name: 'serviceInstance', value: cosGuid},
        ],
      },
    ],
    description: 'flowlog: flow logs may write to COS',
  }
}

/** `<basename>-collector` for a VPC; `<basename>-<subnet|instance>-<name>` otherwise (names are unique per region). */
export function collectorNameFor(basename: string, target: {kind: string; id: string; name?: string}): string {
  if (target.kind === 'vpc') return `${basename}-collector`
  const slug = (target.name ?? target.id).toLowerCase().replace(/[^a-z0-9-]+/g, '-')
  return `${basename}-${target.kind}-${slug}`.slice(0, 63).replace(/-+$/, '')
}

/** Get (by recorded id), else find (list and match), else create; a 409 conflict adopts the existing policy. */
async function ensurePolicy(ctx: Ctx, key: string, stepName: string, match: (p: Policy) => boolean, proto: PolicyPrototype): Promise<{action: SetupAction; id?: string}> {
  const p = ctx.c.platform
  const r = rec(ctx, key)
  let found: Policy | undefined
  if (r?.id) {
    const got = await p.getPolicy(r.id)
    if (got && match(got)) found = got
  }
  if (!found) found = (await p.listAuthorizationPolicies(ctx.account)).find(match)
  if (found) {
    await setRec(ctx, key, {id: found.id, created: ours(r)})
    return {action: 'exists', id: found.id}
  }
  if (ctx.dry) return {action: 'planned'}
  progress(ctx, stepName, 'creating the authorization policy')
  try {
    const created = await intend(ctx, key, {}, () => p.createPolicy(proto))
    await setRec(ctx, key, {id: created.id, created: true})
    return {action: 'created', id: created.id}
  } catch (error) {
    if (error instanceof ConflictError) {
      const id = conflictingPolicyId(error.body)
      if (id) {
        await setRec(ctx, key, {id, created: ours(r)})
        return {action: 'exists', id}
      }
    }
    throw error
  }
}

async function stepAuthorization(ctx: Ctx): Promise<void> {
  if (!ctx.cos) return step(ctx, 'authorization', 'planned', null, 'would authorize is/flow-log-collector → COS Writer')
  const cos = ctx.cos
  const r = await ensurePolicy(ctx, 'authorization', 'authorization', (pol) => matchesCollectorPolicy(pol, ctx.account, cos.guid), collectorPolicy(ctx.account, cos.guid))
  if (r.action !== 'planned') ctx.policyReady = true
  step(ctx, 'authorization', r.action, r.id, 'is/flow-log-collector → cloud-object-storage Writer')
}

async function stepCollector(ctx: Ctx): Promise<void> {
  const target = ctx.target!
  const collectorName = collectorNameFor(ctx.o.answers.basename, target)
  const bucket = ctx.names.bucket
  const vpc = ctx.c.vpc
  const r = rec(ctx, 'collector')
  let found: FlowLogCollector | undefined
  if (r?.id) {
    try {
      found = await vpc.getFlowLogCollector(r.id)
    } catch (error) {
      if (!isNotFound(error)) throw error
    }
    // The target changed since the last run: that collector is not the one for this target. Keep it on record
    // (teardown removes it) and look for this target's.
    if (found && found.target?.id !== undefined && found.target.id !== target.id) {
      if (ours(r)) ctx.dep.resources[`retired:collector:${found.id}`] = {id: found.id, name: found.name, created: true}
      found = undefined
    }
  }
  if (!found) found = (await vpc.listFlowLogCollectors({'target.id': target.id}))[0]
  if (found) {
    if (found.storage_bucket?.name !== bucket) {
      throw new ConfigError(`${target.kind} ${target.name ?? target.id} already has flow log collector ${found.name} writing to bucket ${found.storage_bucket?.name}`, {
        suggestions: [
          `Use that bucket: --bucket ${found.storage_bucket?.name}`,
          `or delete the collector first: ibmcloud is flow-log-delete ${found.id}`,
        ],
      })
    }
    await setRec(ctx, 'collector', {id: found.id, name: found.name, created: ours(r)})
    if (!found.active) {
      if (ctx.dry) return step(ctx, 'collector', 'planned', found.id, 'inactive; would activate it')
      await vpc.updateFlowLogCollector(found.id, {active: true})
      return step(ctx, 'collector', 'updated', found.id, 'activated')
    }
    if (!ctx.dry && found.lifecycle_state !== undefined && found.lifecycle_state !== 'stable') found = await waitForCollector(ctx, found)
    return step(ctx, 'collector', 'exists', found.id, found.name)
  }
  if (ctx.dry || !ctx.bucketReady || !ctx.policyReady) return step(ctx, 'collector', 'planned', null, `would create ${collectorName} on ${target.kind} ${target.name ?? target.id}`)
  progress(ctx, 'collector', `creating ${collectorName}`)
  let lastError: unknown
  const created = await intend(ctx, 'collector', {name: collectorName}, () => pollUntil(
    async () => {
      try {
        return await vpc.createFlowLogCollector({
          name: collectorName,
          target: {id: target.id},
          storage_bucket: {name: bucket},
          active: true,
          resource_group: {id: ctx.rg!.id},
        })
      } catch (error) {
        // A collector created right after its authorization is refused until the policy propagates: VPC answers
        // with code `service_error` (or a 403). Retry those, with backoff, for up to authorizationPropagationMs.
        if (isPropagationRefusal(error)) {
          lastError = error
          return undefined
        }
        if (error instanceof ConflictError) {
          const again = (await vpc.listFlowLogCollectors({'target.id': target.id}))[0]
          if (again) return again
        }
        throw error
      }
    },
    ctx.timing,
    ctx.timing.authorizationPropagationMs,
    (waited) =>
      progress(ctx, 'collector', `the authorization is still propagating (${statusOf(lastError) ?? ''} ${(lastError as {apiCode?: string})?.apiCode ?? ''}): retrying (${Math.round(waited / 1000)} s of up to ${Math.round(ctx.timing.authorizationPropagationMs / 1000)} s)`.replace(/\( +/, '(').replace(/ +\)/, ')')),
  ).then((c) => {
    // Still refused after the propagation window: nothing was created.
    if (!c) throw Object.assign(new Error('refused'), {refused: true})
    return c
  })).catch((error: unknown) => {
    if ((error as {refused?: boolean}).refused) return undefined
    throw error
  })
  if (!created) {
    await setRec(ctx, 'collector', rec(ctx, 'collector')?.pending ? undefined : rec(ctx, 'collector'))
    const e = lastError as Error & {status?: number; body?: unknown; apiCode?: string}
    const message = `${e.message} (still refused after ${Math.round(ctx.timing.authorizationPropagationMs / 1000)} s of retries)`
    const suggestions = [
      'The is/flow-log-collector → COS Writer authorization may still be propagating: run `flowlog setup` again in a minute',
      'A bucket with IP allowlists or private-only access also refuses flow logs',
    ]
    if (e instanceof ApiAuthError) throw new ApiAuthError(message, {status: e.status, body: e.body, apiCode: e.apiCode}, {suggestions})
    throw new RemoteError(message, {status: e.status, code: 'authorization_propagation', suggestions})
  }
  await setRec(ctx, 'collector', {id: created.id, name: created.name, created: true})
  const stable = await waitForCollector(ctx, created)
  step(ctx, 'collector', 'created', stable.id, `${stable.name} (${stable.lifecycle_state ?? 'stable'})`)
}

/** Whether a collector create was refused because its authorization has not propagated yet: `service_error` or 403. */
export function isPropagationRefusal(error: unknown): boolean {
  if (error instanceof ApiAuthError && error.status === 403) return true
  const code = (error as {apiCode?: unknown})?.apiCode
  return code === 'service_error'
}

/** Collectors are born `pending` (vpc-node-sdk vpc/v1.ts FlowLogCollector.LifecycleState): wait for `stable`. */
async function waitForCollector(ctx: Ctx, collector: FlowLogCollector): Promise<FlowLogCollector> {
  if (collector.lifecycle_state === 'stable' || collector.lifecycle_state === undefined) return collector
  let last = collector
  const done = await pollUntil(
    async () => {
      last = await ctx.c.vpc.getFlowLogCollector(collector.id)
      if (last.lifecycle_state === 'failed' || last.lifecycle_state === 'deleting' || last.lifecycle_state === 'suspended') {
        throw new RemoteError(`flow log collector ${last.name} (${last.id}) is ${last.lifecycle_state}, not stable`, {
          suggestions: [`Delete it (ibmcloud is flow-log-delete ${last.id}) and run \`flowlog setup\` again`, 'Check the bucket still exists and the authorization is in place (`flowlog doctor`)'],
        })
      }
      return last.lifecycle_state === 'stable' ? last : undefined
    },
    ctx.timing,
    ctx.timing.collectorTimeoutMs,
    () => progress(ctx, 'collector', `waiting for ${collector.name} to become stable (it is ${last.lifecycle_state})`),
  )
  if (!done) {
    throw new RemoteError(`flow log collector ${collector.name} (${collector.id}) is still ${last.lifecycle_state} after ${Math.round(ctx.timing.collectorTimeoutMs / 1000)} s`, {
      suggestions: ['Run `flowlog setup` again later: it resumes where it stopped'],
    })
  }
  return done
}

async function stepSink(ctx: Ctx): Promise<void> {
  const {sink} = ctx.o.answers
  const endpoints = ctx.c.endpoints
  if (sink === 'none') {
    ctx.configPatch.sink = 'none'
    return step(ctx, 'sink', 'skipped', null, 'no sink: objects stay in COS (flowlog pull/search read them)')
  }
  if (sink === 'logdna') {
    if (isRetiredLogAnalysisUrl(endpoints.logdna)) throw retiredLogAnalysisError(endpoints.logdna)
    const key = ctx.o.answers.logdnaIngestionKey!
    ctx.configPatch.sink = 'logdna'
    ctx.configPatch.logdnaUrl = endpoints.logdna
    ctx.configPatch.logdnaIngestionKey = key
    const same = ctx.config.logdnaIngestionKey === key && ctx.config.logdnaUrl === endpoints.logdna
    if (!ctx.dry) await setRec(ctx, 'sink', {kind: 'logdna', name: endpoints.logdna, created: false})
    return step(ctx, 'sink', same ? 'exists' : ctx.dry ? 'planned' : 'updated', endpoints.logdna, 'Log Analysis / Mezmo ingestion key (stored in the config file)')
  }
  // IBM Cloud Logs: an instance in the region.
  const svc = await ctx.c.platform.findService('logs')
  if (!svc) throw new RemoteError('IBM Cloud Logs (catalog name `logs`) was not found in the Global Catalog', {suggestions: ['Use --sink none or --sink logdna']})
  const plans = await ctx.c.platform.listPlans(svc.id)
  const plan = plans.find((x) => x.name === 'standard') ?? plans.find((x) => x.active !== false)
  if (!plan) throw new RemoteError('IBM Cloud Logs has no plan in the Global Catalog')
  const r = await ensureInstance(ctx, 'sink', 'sink', {name: ctx.names.logsInstance, resourceId: svc.id, planId: plan.id, target: ctx.region})
  if (r.inst) {
    const url = cloudLogsIngressUrl(endpoints, r.inst.guid, ctx.region)
    ctx.logs = {guid: r.inst.guid, url}
    ctx.configPatch.sink = 'cloud-logs'
    ctx.configPatch.cloudLogsUrl = url
    if (!ctx.dry) ctx.dep.resources.sink = {...ctx.dep.resources.sink, kind: 'cloud-logs'}
  }
  step(ctx, 'sink', r.action, r.inst?.guid, r.detail ?? `IBM Cloud Logs ${ctx.names.logsInstance}`)
}

async function stepProject(ctx: Ctx): Promise<void> {
  const ce = ctx.c.ce
  const name = ctx.names.project
  const r = rec(ctx, 'project')
  let project: CeProject | undefined
  if (r?.id) {
    const got = await ce.getProject(r.id)
    if (got && !GONE_PROJECT.has(got.status)) project = got
  }
  if (!project) project = (await ce.listProjects()).find((p) => p.name === name && !GONE_PROJECT.has(p.status))
  let action: SetupAction = 'exists'
  if (!project) {
    if (ctx.dry) return step(ctx, 'project', 'planned', null, `would create Code Engine project ${name}`)
    progress(ctx, 'project', `creating Code Engine project ${name}`)
    try {
      project = await intend(ctx, 'project', {name}, () => ce.createProject({name, resource_group_id: ctx.rg!.id, tags: ['flowlog']}))
    } catch (error) {
      if (error instanceof ConflictError) {
        throw new ConfigError(`a Code Engine project named ${name} already exists (possibly soft-deleted)`, {
          suggestions: ['Choose another --basename, or hard-delete the old project: ibmcloud ce project delete --name ' + name + ' --hard'],
        })
      }
      throw error
    }
    action = 'created'
  }
  await setRec(ctx, 'project', {id: project.id, name: project.name, created: action === 'created' || ours(r)})
  if (!ctx.dry && project.status !== 'active') {
    const id = project.id
    const active = await pollUntil(
      async () => {
        const p = await ce.getProject(id)
        if (!p) throw new RemoteError(`Code Engine project ${name} (${id}) disappeared while it was being created`, {suggestions: ['Run `flowlog setup` again']})
        if (p.status === 'creation_failed') throw new RemoteError(`Code Engine project ${name} (${id}) failed to create`, {suggestions: ['Run `flowlog teardown`, then `flowlog setup` again']})
        return p.status === 'active' ? p : undefined
      },
      ctx.timing,
      ctx.timing.projectTimeoutMs,
      () => progress(ctx, 'project', `waiting for project ${name} to become active`),
    )
    if (!active) throw new RemoteError(`Code Engine project ${name} is still ${project.status}`, {suggestions: ['Run `flowlog setup` again later: it resumes where it stopped']})
    project = active
  }
  ctx.project = project
  step(ctx, 'project', action, project.id, name)
}

function forwarderInputs(ctx: Ctx): ForwarderInputs | undefined {
  if (!ctx.cos || !ctx.hmac || !ctx.image) return undefined
  if (ctx.o.answers.sink === 'cloud-logs' && !ctx.jobKeyValue) return undefined
  const endpoints = ctx.c.endpoints
  const env = ctx.o.env ?? process.env
  return {
    bucket: ctx.names.bucket,
    region: ctx.region,
    // Inside Code Engine the direct endpoint is the right one, unless an override points elsewhere.
    cosEndpoint: endpoints.cosOverridden ? endpoints.cos : `https://s3.direct.${ctx.region}.cloud-object-storage.appdomain.cloud`,
    cosInstanceId: ctx.cos.crn,
    hmac: ctx.hmac,
    sink: ctx.o.answers.sink,
    logdnaUrl: endpoints.logdna,
    logdnaIngestionKey: ctx.o.answers.logdnaIngestionKey,
    cloudLogsUrl: ctx.logs?.url,
    jobApiKey: ctx.jobKeyValue,
    iamUrl: env.FLOWLOG_IAM_URL ? endpoints.iam : undefined,
    trigger: ctx.o.answers.trigger,
    image: ctx.image,
    imageSecret: ctx.imageSecret,
    secretName: ctx.names.secret,
    configMapName: ctx.names.configMap,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The job's identity (least privilege, docs/setup.md §4) and image (docs/setup.md §3)
// ---------------------------------------------------------------------------------------------------------------

export const SENDER_ROLE_CRN = 'crn:v1:bluemix:public:logs::::serviceRole:Sender'
export const READER_ROLE_CRN = 'crn:v1:bluemix:public:iam::::serviceRole:Reader'

/** The access policies the job's service ID gets: what each grants, on exactly which resource. */
export function jobPolicies(a: {account: string; iamId: string; logsGuid?: string; cosGuid?: string; bucket: string; registryNamespace?: string}): Array<{key: string; detail: string; proto: PolicyPrototype}> {
  const subject = [{attributes: [{name: 'iam_id', value: a.iamId}]}]
  const out: Array<{key: string; detail: string; proto: PolicyPrototype}> = []
  if (a.logsGuid) {
    out.push({
      key: 'jobPolicyLogs',
      detail: `Sender on Cloud Logs instance ${a.logsGuid} only`,
      proto: {
        type: 'access',
        subjects: subject,
        roles: [{role_id: SENDER_ROLE_CRN}],
        resources: [{attributes: [{name: 'accountId', value: a.account}, {name: 'serviceName', value: 'logs'}, {name: 'serviceInstance', value: a.logsGuid}]}],
        description: 'flowlog: the forwarder job may send logs to its Cloud Logs instance',
      },
    })
  }
  if (a.cosGuid && a.logsGuid) {
    out.push({
      key: 'jobPolicyBucket',
      detail: `Reader on bucket ${a.bucket} only`,
      proto: {
        type: 'access',
        subjects: subject,
        roles: [{role_id: READER_ROLE_CRN}],
        resources: [{attributes: bucketAttributes(a).map(({key, value}) => ({name: key, value}))}],
        description: 'flowlog: the forwarder job may read its flow-log bucket',
      },
    })
  }
  if (a.registryNamespace) {
    out.push({
      key: 'jobPolicyRegistry',
      detail: `Reader and Writer on Container Registry namespace ${a.registryNamespace} only (push the built image, pull it for the job)`,
      proto: {
        type: 'access',
        subjects: subject,
        roles: [{role_id: READER_ROLE_CRN}, {role_id: WRITER_ROLE_CRN}],
        resources: [
          {
            attributes: [
              {name: 'accountId', value: a.account},
              {name: 'serviceName', value: 'container-registry'},
              {name: 'resourceType', value: 'namespace'},
              {name: 'resource', value: a.registryNamespace},
            ],
          },
        ],
        description: 'flowlog: the forwarder build may push, and the job pull, its image',
      },
    })
  }
  return out
}

function bucketAttributes(a: {account: string; cosGuid?: string; bucket: string}): Array<{key: string; operator: string; value: string}> {
  return [
    {key: 'accountId', operator: 'stringEquals', value: a.account},
    {key: 'serviceName', operator: 'stringEquals', value: 'cloud-object-storage'},
    {key: 'serviceInstance', operator: 'stringEquals', value: a.cosGuid ?? ''},
    {key: 'resourceType', operator: 'stringEquals', value: 'bucket'},
    {key: 'resource', operator: 'stringEquals', value: a.bucket},
  ]
}

/**
 * Writer on `flowlog/ledger/` only (the remote ledger the job keeps in the bucket): an IAM v2 access policy with
 * resource attribute-based conditions on prefix (listing) and path (objects), the pattern Cloud Object Storage
 * publishes for fine-grained access ("Assigning access to objects within a bucket using IAM access conditions").
 */
export function ledgerPolicy(a: {account: string; iamId: string; cosGuid: string; bucket: string}): {key: string; detail: string; proto: V2PolicyPrototype} {
  const prefix = `${REMOTE_LEDGER_PREFIX}*`
  return {
    key: 'jobPolicyLedger',
    detail: `Writer on ${a.bucket}/${REMOTE_LEDGER_PREFIX} only (prefix and path conditions, IAM v2 policy)`,
    proto: {
      type: 'access',
      description: 'flowlog: the forwarder job may write its ledger under flowlog/ledger/',
      subject: {attributes: [{key: 'iam_id', operator: 'stringEquals', value: a.iamId}]},
      resource: {attributes: bucketAttributes(a)},
      control: {grant: {roles: [{role_id: WRITER_ROLE_CRN}]}},
      rule: {
        operator: 'or',
        conditions: [
          {
            operator: 'and',
            conditions: [
              {key: '{{resource.attributes.prefix}}', operator: 'stringMatch', value: prefix},
              {key: '{{resource.attributes.delimiter}}', operator: 'stringEqualsAnyOf', value: ['/', '']},
            ],
          },
          {key: '{{resource.attributes.path}}', operator: 'stringMatch', value: prefix},
        ],
      },
      pattern: 'attribute-based-condition:resource:literal-and-wildcard',
    },
  }
}

export function sameV2Policy(p: V2Policy, proto: V2PolicyPrototype): boolean {
  const kv = (list: Array<{key: string; value: unknown}> | undefined) => JSON.stringify((list ?? []).map((x) => [x.key, x.value]).sort())
  const roles = new Set((p.control?.grant?.roles ?? []).map((r) => r.role_id))
  return (
    kv(p.subject?.attributes) === kv(proto.subject.attributes) &&
    kv(p.resource?.attributes) === kv(proto.resource.attributes) &&
    proto.control.grant.roles.every((r) => roles.has(r.role_id)) &&
    JSON.stringify(p.rule ?? null) === JSON.stringify(proto.rule ?? null)
  )
}

/** Whether an existing policy grants what `proto` grants, to the same subject, on the same resource. */
export function samePolicy(p: Policy, proto: PolicyPrototype): boolean {
  const same = (x: Record<string, string>, y: Record<string, string>) => Object.keys(x).length === Object.keys(y).length && Object.entries(y).every(([k, v]) => x[k] === v)
  const yRes: Record<string, string> = {}
  for (const a of proto.resources[0].attributes) yRes[a.name] = a.value
  const ySub: Record<string, string> = {}
  for (const a of proto.subjects[0].attributes) ySub[a.name] = a.value
  const roles = new Set((p.roles ?? []).map((r) => r.role_id))
  return (p.type ?? proto.type) === proto.type && same(attrsOf(p.subjects?.[0]), ySub) && same(attrsOf(p.resources?.[0]), yRes) && proto.roles.every((r) => roles.has(r.role_id))
}

async function stepServiceId(ctx: Ctx): Promise<void> {
  const name = ctx.names.serviceId
  const idc = ctx.c.identity
  const r = rec(ctx, 'serviceId')
  let sid = r?.id ? await idc.getServiceId(r.id) : undefined
  sid ??= await idc.findServiceId(ctx.account, name)
  let action: SetupAction = 'exists'
  if (!sid) {
    if (ctx.dry) return step(ctx, 'service-id', 'planned', null, `would create service ID ${name} for the forwarder job`)
    sid = await intend(ctx, 'serviceId', {name}, () => idc.createServiceId({account_id: ctx.account, name, description: 'flowlog: the forwarder job (Code Engine) runs as this service ID'}))
    action = 'created'
  }
  await setRec(ctx, 'serviceId', {id: sid.id, name: sid.name, iamId: sid.iam_id, created: action === 'created' || ours(r)})
  ctx.serviceId = sid
  step(ctx, 'service-id', action, sid.id, `${name} (${sid.iam_id}): the job's own identity, not your API key`)
}

async function stepJobPolicies(ctx: Ctx): Promise<void> {
  const sid = ctx.serviceId
  const namespace = ctx.o.answers.image ? undefined : (ctx.o.answers.registryNamespace ?? ctx.names.registryNamespace)
  if (!sid) return step(ctx, 'job-policies', 'planned', null, 'would grant the service ID Sender on the Cloud Logs instance and Reader on the bucket, Writer on flowlog/ledger/')
  const wanted = jobPolicies({
    account: ctx.account,
    iamId: sid.iam_id,
    logsGuid: ctx.o.answers.sink === 'cloud-logs' ? ctx.logs?.guid : undefined,
    cosGuid: ctx.cos?.guid,
    bucket: ctx.names.bucket,
    registryNamespace: namespace,
  })
  const existing = await ctx.c.platform.listAccessPolicies(ctx.account, sid.iam_id)
  for (const w of wanted) {
    const r = rec(ctx, w.key)
    const found = existing.find((p) => samePolicy(p, w.proto))
    const name = `job-policy:${w.key.replace(/^jobPolicy/, '').toLowerCase()}`
    if (found) {
      await setRec(ctx, w.key, {id: found.id, created: ours(r)})
      step(ctx, name, 'exists', found.id, w.detail)
      continue
    }
    if (ctx.dry) {
      step(ctx, name, 'planned', null, `would grant ${w.detail}`)
      continue
    }
    try {
      const created = await intend(ctx, w.key, {}, () => ctx.c.platform.createPolicy(w.proto))
      await setRec(ctx, w.key, {id: created.id, created: true})
      step(ctx, name, 'created', created.id, w.detail)
    } catch (error) {
      const id = error instanceof ConflictError ? conflictingPolicyId(error.body) : undefined
      if (!id) throw error
      await setRec(ctx, w.key, {id, created: ours(r)})
      step(ctx, name, 'exists', id, w.detail)
    }
  }
  // The remote ledger (FLOWLOG_LEDGER=remote) is the one thing the job writes: Writer on its prefix only.
  if (ctx.o.answers.sink !== 'cloud-logs' || !ctx.cos) return
  const l = ledgerPolicy({account: ctx.account, iamId: sid.iam_id, cosGuid: ctx.cos.guid, bucket: ctx.names.bucket})
  const r = rec(ctx, l.key)
  const found = (await ctx.c.platform.listV2AccessPolicies(ctx.account, sid.iam_id)).find((p) => sameV2Policy(p, l.proto))
  if (found) {
    await setRec(ctx, l.key, {id: found.id, v2: true, created: ours(r)})
    return step(ctx, 'job-policy:ledger', 'exists', found.id, l.detail)
  }
  if (ctx.dry) return step(ctx, 'job-policy:ledger', 'planned', null, `would grant ${l.detail}`)
  try {
    const created = await intend(ctx, l.key, {v2: true}, () => ctx.c.platform.createV2Policy(l.proto))
    await setRec(ctx, l.key, {id: created.id, v2: true, created: true})
    step(ctx, 'job-policy:ledger', 'created', created.id, l.detail)
  } catch (error) {
    const id = error instanceof ConflictError ? conflictingPolicyId(error.body) : undefined
    if (!id) throw error
    await setRec(ctx, l.key, {id, v2: true, created: ours(r)})
    step(ctx, 'job-policy:ledger', 'exists', id, l.detail)
  }
}

async function stepRegistryNamespace(ctx: Ctx): Promise<void> {
  const ns = ctx.o.answers.registryNamespace ?? ctx.names.registryNamespace
  const r = rec(ctx, 'registryNamespace')
  const have = await ctx.c.registry.listNamespaces(ctx.account)
  if (have.includes(ns)) {
    await setRec(ctx, 'registryNamespace', {id: ns, name: ns, created: ours(r)})
    return step(ctx, 'registry-namespace', 'exists', ns, `${ctx.c.endpoints.registryServer}/${ns}`)
  }
  if (ctx.dry) return step(ctx, 'registry-namespace', 'planned', ns, `would create ${ctx.c.endpoints.registryServer}/${ns}`)
  let outcome: 'created' | 'exists'
  try {
    outcome = await intend(ctx, 'registryNamespace', {id: ns, name: ns}, () => ctx.c.registry.ensureNamespace(ctx.account, ns, ctx.rg!.id))
  } catch (error) {
    if (error instanceof ConflictError) {
      throw new UsageError(`the Container Registry namespace ${ns} belongs to another account (namespaces are unique per registry region)`, {
        suggestions: [`Choose another with --registry-namespace, e.g. --registry-namespace ${ns.slice(0, 25)}-${Math.random().toString(36).slice(2, 6)}`],
      })
    }
    throw error
  }
  await setRec(ctx, 'registryNamespace', {id: ns, name: ns, created: outcome === 'created' || ours(r)})
  step(ctx, 'registry-namespace', outcome, ns, `${ctx.c.endpoints.registryServer}/${ns}`)
}

/** The job's API key: kept while the Code Engine secret still holds its value, else a new one replaces it. */
async function stepJobApiKey(ctx: Ctx): Promise<void> {
  const sid = ctx.serviceId
  const name = ctx.names.jobApiKey
  if (!sid || !ctx.project) return step(ctx, 'job-api-key', 'planned', null, `would create API key ${name} (stored only in the Code Engine secrets)`)
  const idc = ctx.c.identity
  const pid = ctx.project.id
  const keys = await idc.listApiKeys(ctx.account, sid.iam_id)
  const r = rec(ctx, 'jobApiKey')
  const alive = r?.id ? keys.find((k) => k.id === r.id) : keys.find((k) => k.name === name)
  const fromSecret = async (secretName: string, field: string) => {
    const sec = await ctx.c.ce.getSecret(pid, secretName)
    const v = sec && readableData(sec.data) ? sec.data[field] : undefined
    return v && v !== '' ? v : undefined
  }
  const known = alive
    ? ctx.o.answers.sink === 'cloud-logs'
      ? await fromSecret(ctx.names.secret, 'IBMCLOUD_API_KEY')
      : await fromSecret(ctx.names.registrySecret, 'password')
    : undefined
  if (alive && known) {
    registerSecret(known)
    ctx.jobKeyValue = known
    await setRec(ctx, 'jobApiKey', {id: alive.id, name: alive.name, created: ours(r)})
    return step(ctx, 'job-api-key', 'exists', alive.id, `${alive.name} (its value lives only in the Code Engine secrets)`)
  }
  if (ctx.dry) return step(ctx, 'job-api-key', 'planned', alive?.id ?? null, `would create API key ${name} for service ID ${sid.name}`)
  // A key whose value is nowhere to be read any more is useless: replace the ones setup made.
  for (const k of keys.filter((x) => x.name === name)) {
    try {
      await idc.deleteApiKey(k.id)
    } catch (error) {
      if (!isNotFound(error)) throw error
    }
  }
  const key = await intend(ctx, 'jobApiKey', {name}, () =>
    idc.createApiKey({name, iam_id: sid.iam_id, account_id: ctx.account, description: 'flowlog: the forwarder job key (kept only in its Code Engine secrets)'}),
  )
  registerSecret(key.apikey)
  ctx.jobKeyValue = key.apikey
  await setRec(ctx, 'jobApiKey', {id: key.id, name, created: true})
  step(ctx, 'job-api-key', alive ? 'updated' : 'created', key.id, `${name} (stored only in the Code Engine secrets, never in flowlog's files)`)
}

/** Create or update a Code Engine secret; whether it changed. */
async function ensureSecret(ctx: Ctx, key: string, stepName: string, name: string, format: string, data: Record<string, string>): Promise<void> {
  const ce = ctx.c.ce
  const pid = ctx.project!.id
  const hash = dataHash(data)
  const r = rec(ctx, key)
  const existing = await ce.getSecret(pid, name)
  if (!existing) {
    if (ctx.dry) return step(ctx, stepName, 'planned', null, `would create secret ${name}`)
    const s = await intend(ctx, key, {name}, () => ce.createSecret(pid, {name, format, data}))
    await setRec(ctx, key, {id: name, name, hash, created: true})
    return step(ctx, stepName, 'created', s.id ?? name, name)
  }
  const same = readableData(existing.data) ? sameData(existing.data, data) : r?.hash === hash
  if (same) {
    await setRec(ctx, key, {id: name, name, hash, created: ours(r)})
    return step(ctx, stepName, 'exists', existing.id ?? name, name)
  }
  if (ctx.dry) return step(ctx, stepName, 'planned', existing.id ?? name, `would update secret ${name}`)
  await ce.replaceSecret(pid, name, existing.entity_tag, {format: existing.format ?? format, data})
  await setRec(ctx, key, {id: name, name, hash, created: ours(r)})
  step(ctx, stepName, 'updated', existing.id ?? name, name)
}

async function stepRegistrySecret(ctx: Ctx): Promise<void> {
  const name = ctx.names.registrySecret
  if (!ctx.project || !ctx.jobKeyValue) return step(ctx, 'registry-secret', 'planned', null, `would create registry secret ${name} (the service ID's key)`)
  await ensureSecret(ctx, 'registrySecret', 'registry-secret', name, 'registry', {server: ctx.c.endpoints.registryServer, username: 'iamapikey', password: ctx.jobKeyValue})
  ctx.imageSecret = name
}

function buildSpec(ctx: Ctx) {
  const ns = ctx.o.answers.registryNamespace ?? ctx.names.registryNamespace
  return {
    output_image: `${ctx.c.endpoints.registryServer}/${ns}/flowlog:${ctx.o.version}`,
    output_secret: ctx.names.registrySecret,
    strategy_type: 'dockerfile' as const,
    source_type: 'git' as const,
    source_url: ctx.o.answers.sourceRepo ?? '',
    strategy_spec_file: 'Dockerfile',
    strategy_size: 'medium' as const,
    timeout: 1200,
  }
}

async function stepBuild(ctx: Ctx): Promise<void> {
  const name = ctx.names.build
  const src = ctx.o.answers.sourceRepo
  if (!src) {
    throw new UsageError('no source repository to build the forwarder image from', {
      suggestions: ['Pass --source-repo https://github.com/<owner>/flowlog (a git URL holding this Dockerfile)', 'or --image <registry>/<namespace>/<name>@sha256:… for an image you pushed'],
    })
  }
  if (!ctx.project || !ctx.imageSecret) return step(ctx, 'build', 'planned', null, `would create Code Engine build ${name} of ${src} (Dockerfile)`)
  const ce = ctx.c.ce
  const pid = ctx.project.id
  const spec = buildSpec(ctx)
  const r = rec(ctx, 'build')
  let existing = await ce.getBuild(pid, name)
  let action: SetupAction = 'exists'
  if (existing && (existing.source_url !== spec.source_url || existing.output_image !== spec.output_image || existing.output_secret !== spec.output_secret)) {
    if (ctx.dry) return step(ctx, 'build', 'planned', name, `would replace build ${name} (source or output changed)`)
    await ce.deleteBuild(pid, name)
    existing = undefined
    action = 'updated'
  }
  if (!existing) {
    if (ctx.dry) return step(ctx, 'build', 'planned', null, `would create Code Engine build ${name} of ${src} (Dockerfile)`)
    await intend(ctx, 'build', {name}, () => ce.createBuild(pid, {name, ...spec}))
    if (action === 'exists') action = 'created'
    ctx.buildChanged = true
  }
  await setRec(ctx, 'build', {id: name, name, created: action !== 'exists' || ours(r)})
  step(ctx, 'build', action, name, `${src} → ${spec.output_image}`)
}

/** A build run is over when it is neither pending nor running; `failed` is the one failure value. */
function buildRunOver(run: CeBuildRun): boolean {
  return run.status !== 'pending' && run.status !== 'running' && run.status !== undefined
}

async function stepImage(ctx: Ctx): Promise<void> {
  const r = rec(ctx, 'buildRun')
  if (r?.image && !ctx.buildChanged) {
    ctx.image = String(r.image)
    return step(ctx, 'image', 'exists', ctx.image, `built by ${r.name ?? 'a build run'}; pinned by digest`)
  }
  if (!ctx.project || !rec(ctx, 'build')) return step(ctx, 'image', 'planned', null, 'would run the build and pin the job to the image digest')
  const ce = ctx.c.ce
  const pid = ctx.project.id
  const repo = buildSpec(ctx).output_image.replace(/:[^/:]+$/, '')
  if (!ctx.buildChanged) {
    // No record (a lost state file): adopt the newest finished run of this build.
    const runs = (await ce.listBuildRuns(pid, ctx.names.build)).filter((x) => buildRunOver(x) && x.status !== 'failed' && x.status_details?.output_digest)
    const newest = runs.sort((a, b) => String(b.created_at ?? '').localeCompare(String(a.created_at ?? '')))[0]
    if (newest) {
      ctx.image = `${repo}@${newest.status_details!.output_digest}`
      if (!ctx.dry) await setRec(ctx, 'buildRun', {id: newest.name, name: newest.name, image: ctx.image, created: ours(r)})
      return step(ctx, 'image', 'exists', ctx.image, `built by ${newest.name}; pinned by digest`)
    }
  }
  if (ctx.dry) return step(ctx, 'image', 'planned', null, 'would run the build and pin the job to the image digest')
  progress(ctx, 'image', `building the forwarder image (${ctx.names.build})`)
  const run = await intend(ctx, 'buildRun', {}, () => ce.createBuildRun(pid, {build_name: ctx.names.build}))
  await setRec(ctx, 'buildRun', {id: run.name, name: run.name, created: true})
  let last: CeBuildRun = run
  const done = await pollUntil(
    async () => {
      last = (await ce.getBuildRun(pid, run.name)) ?? last
      if (last.status === 'failed') {
        throw new RemoteError(`build run ${run.name} failed${last.status_details?.reason ? `: ${last.status_details.reason}` : ''}`, {
          suggestions: [`Read its logs: ibmcloud ce buildrun logs --name ${run.name}`, 'Check --source-repo holds the Dockerfile and is reachable', 'Then run `flowlog setup` again'],
        })
      }
      return buildRunOver(last) && last.status_details?.output_digest ? last : undefined
    },
    ctx.timing,
    ctx.timing.buildTimeoutMs,
    () => progress(ctx, 'image', `waiting for build run ${run.name} (${last.status ?? 'pending'})`),
  )
  if (!done) throw new RemoteError(`build run ${run.name} is still ${last.status} after ${Math.round(ctx.timing.buildTimeoutMs / 60_000)} min`, {suggestions: ['Run `flowlog setup` again later: it resumes where it stopped']})
  const image = `${repo}@${done.status_details!.output_digest}`
  ctx.image = image
  await setRec(ctx, 'buildRun', {id: run.name, name: run.name, image, created: true})
  step(ctx, 'image', 'created', image, `built by ${run.name}; the job is pinned to this digest`)
}

async function stepSecret(ctx: Ctx): Promise<void> {
  const name = ctx.names.secret
  const inputs = forwarderInputs(ctx)
  if (!ctx.project || !inputs || (ctx.o.answers.sink === 'cloud-logs' && !ctx.logs)) return step(ctx, 'secret', 'planned', null, `would create secret ${name}`)
  const ce = ctx.c.ce
  const pid = ctx.project.id
  const data = secretData(inputs)
  const hash = dataHash(data)
  const r = rec(ctx, 'secret')
  const existing = await ce.getSecret(pid, name)
  if (!existing) {
    if (ctx.dry) return step(ctx, 'secret', 'planned', null, `would create secret ${name}`)
    const s = await intend(ctx, 'secret', {name}, () => ce.createSecret(pid, {name, format: 'generic', data}))
    await setRec(ctx, 'secret', {id: name, name, hash, created: true})
    ctx.secretReady = true
    return step(ctx, 'secret', 'created', s.id ?? name, name)
  }
  const same = readableData(existing.data) ? sameData(existing.data, data) : r?.hash === hash
  ctx.secretReady = true
  if (same) {
    await setRec(ctx, 'secret', {id: name, name, hash, created: ours(r)})
    return step(ctx, 'secret', 'exists', existing.id ?? name, name)
  }
  if (ctx.dry) return step(ctx, 'secret', 'planned', existing.id ?? name, `would update secret ${name}`)
  await ce.replaceSecret(pid, name, existing.entity_tag, {format: existing.format ?? 'generic', data})
  await setRec(ctx, 'secret', {id: name, name, hash, created: ours(r)})
  step(ctx, 'secret', 'updated', existing.id ?? name, name)
}

async function stepConfigMap(ctx: Ctx): Promise<void> {
  const name = ctx.names.configMap
  const inputs = forwarderInputs(ctx)
  if (!ctx.project || !inputs || (ctx.o.answers.sink === 'cloud-logs' && !ctx.logs)) return step(ctx, 'config-map', 'planned', null, `would create config map ${name}`)
  const ce = ctx.c.ce
  const pid = ctx.project.id
  const data = configMapData(inputs)
  const hash = dataHash(data)
  const r = rec(ctx, 'configMap')
  const existing = await ce.getConfigMap(pid, name)
  if (!existing) {
    if (ctx.dry) return step(ctx, 'config-map', 'planned', null, `would create config map ${name}`)
    const m = await intend(ctx, 'configMap', {name}, () => ce.createConfigMap(pid, {name, data}))
    await setRec(ctx, 'configMap', {id: name, name, hash, created: true})
    ctx.configMapReady = true
    return step(ctx, 'config-map', 'created', m.id ?? name, name)
  }
  ctx.configMapReady = true
  const same = readableData(existing.data) ? sameData(existing.data, data) : r?.hash === hash
  if (same) {
    await setRec(ctx, 'configMap', {id: name, name, hash, created: ours(r)})
    return step(ctx, 'config-map', 'exists', existing.id ?? name, name)
  }
  if (ctx.dry) return step(ctx, 'config-map', 'planned', existing.id ?? name, `would update config map ${name}`)
  await ce.replaceConfigMap(pid, name, existing.entity_tag, {data})
  await setRec(ctx, 'configMap', {id: name, name, hash, created: ours(r)})
  step(ctx, 'config-map', 'updated', existing.id ?? name, name)
}

async function stepJob(ctx: Ctx): Promise<void> {
  const name = ctx.names.job
  const inputs = forwarderInputs(ctx)
  if (!ctx.project || !inputs || !ctx.secretReady || !ctx.configMapReady) {
    ctx.jobAction = 'planned'
    return step(ctx, 'job', 'planned', null, `would create job ${name}`)
  }
  const ce = ctx.c.ce
  const pid = ctx.project.id
  const spec = jobSpec(inputs)
  const r = rec(ctx, 'job')
  const existing = await ce.getJob(pid, name)
  if (!existing) {
    if (ctx.dry) {
      ctx.jobAction = 'planned'
      return step(ctx, 'job', 'planned', null, `would create job ${name}`)
    }
    const j = await intend(ctx, 'job', {name}, () => ce.createJob(pid, {name, ...spec}))
    await setRec(ctx, 'job', {id: name, name, created: true})
    ctx.jobAction = 'created'
    return step(ctx, 'job', 'created', j.id ?? name, `${spec.image_reference} ${[...(spec.run_commands ?? []), ...(spec.run_arguments ?? [])].join(' ')}`)
  }
  const patch = jobDiff(existing, spec)
  if (Object.keys(patch).length === 0) {
    await setRec(ctx, 'job', {id: name, name, created: ours(r)})
    ctx.jobAction = 'exists'
    return step(ctx, 'job', 'exists', existing.id ?? name, name)
  }
  if (ctx.dry) {
    ctx.jobAction = 'planned'
    return step(ctx, 'job', 'planned', existing.id ?? name, `would update ${Object.keys(patch).join(', ')}`)
  }
  await ce.updateJob(pid, name, existing.entity_tag, patch)
  await setRec(ctx, 'job', {id: name, name, created: ours(r)})
  ctx.jobAction = 'updated'
  step(ctx, 'job', 'updated', existing.id ?? name, `updated ${Object.keys(patch).join(', ')}`)
}

async function stepTrigger(ctx: Ctx): Promise<void> {
  if (ctx.o.answers.trigger === 'cos-subscription') return stepSubscription(ctx)
  const job = ctx.names.job
  if (!ctx.project || ctx.jobAction === 'planned' || !ctx.jobAction) return step(ctx, 'trigger', 'planned', null, `would start a run of ${job}`)
  const ce = ctx.c.ce
  const pid = ctx.project.id
  const r = rec(ctx, 'jobRun')
  const runs = await ce.listJobRuns(pid, job)
  const newest = (list: CeJobRun[]) => [...list].sort((a, b) => String(b.created_at ?? '').localeCompare(String(a.created_at ?? '')))
  const live = newest(runs.filter((x) => ACTIVE_RUN.has(String(x.status))))[0] ?? newest(runs.filter((x) => x.status === JOB_RUN_STATUS.completed))[0]
  if (live && ctx.jobAction !== 'updated') {
    await setRec(ctx, 'jobRun', {id: live.name, name: live.name, created: ours(r)})
    return step(ctx, 'trigger', 'exists', live.name, `poll mode: run ${live.name} is ${live.status}`)
  }
  if (ctx.dry) return step(ctx, 'trigger', 'planned', null, `would start a run of ${job}`)
  let action: SetupAction = 'created'
  if (live && ctx.jobAction === 'updated') {
    // The job changed: replace the running daemon so it picks up the new image/arguments/environment.
    for (const run of runs.filter((x) => ACTIVE_RUN.has(String(x.status)))) await ce.deleteJobRun(pid, run.name)
    action = 'updated'
  }
  const run = await intend(ctx, 'jobRun', {}, () => ce.createJobRun(pid, {job_name: job}))
  await setRec(ctx, 'jobRun', {id: run.name, name: run.name, created: true})
  step(ctx, 'trigger', action, run.name, `poll mode: started run ${run.name}`)
}

async function stepSubscription(ctx: Ctx): Promise<void> {
  const project = ctx.names.project
  const commands = [
    `ibmcloud target -r ${ctx.region} -g ${ctx.rg!.name}`,
    `ibmcloud ce project select --name ${project}`,
    `ibmcloud ce subscription cos create --name ${ctx.names.subscription} --destination-type job --destination ${ctx.names.job} --bucket ${ctx.names.bucket} --event-type write --prefix ibm_vpc_flowlogs_`,
  ]
  if (!ctx.project || !ctx.cos) {
    step(ctx, 'trigger-authorization', 'planned', null, 'would authorize codeengine → COS Notifications Manager')
  } else {
    const projectGuid = ctx.project.id
    const cosGuid = ctx.cos.guid
    let roleCrn = NOTIFICATIONS_MANAGER_FALLBACK_CRN
    const roles = await ctx.c.platform.listAuthorizationRoles('cloud-object-storage', 'codeengine').catch(() => [])
    const role = roles.find((x) => x.display_name === 'Notifications Manager')
    if (role) roleCrn = role.crn
    const match = (p: Policy) => {
      const s = attrsOf(p.subjects?.[0])
      const res = attrsOf(p.resources?.[0])
      return (
        s.serviceName === 'codeengine' &&
        s.serviceInstance === projectGuid &&
        res.serviceName === 'cloud-object-storage' &&
        res.serviceInstance === cosGuid &&
        (p.roles ?? []).some((x) => x.role_id === roleCrn || x.display_name === 'Notifications Manager')
      )
    }
    const proto: PolicyPrototype = {
      type: 'authorization',
      subjects: [
        {
          attributes: [
            {name: 'accountId', value: ctx.account},
            {name: 'serviceName', value: 'codeengine'},
            {name: 'serviceInstance', value: projectGuid},
          ],
        },
      ],
      roles: [{role_id: roleCrn}],
      resources: [
        {
          attributes: [
            {name: 'accountId', value: ctx.account, operator: 'stringEquals'},
            {name: 'serviceName', value: 'cloud-object-storage', operator: 'stringEquals'},
            {name: 'serviceInstance', value: cosGuid},
          ],
        },
      ],
      description: 'flowlog: Code Engine may manage COS bucket notifications',
    }
    const r = await ensurePolicy(ctx, 'notificationsPolicy', 'trigger-authorization', match, proto)
    step(ctx, 'trigger-authorization', r.action, r.id, 'codeengine → cloud-object-storage Notifications Manager')
  }
  if (!ctx.dry) await setRec(ctx, 'subscription', {name: ctx.names.subscription, created: false})
  ctx.commands.push(...commands)
  step(ctx, 'trigger', 'skipped', ctx.names.subscription, 'COS subscriptions have no REST API: run the printed ibmcloud commands')
}

async function stepConfig(ctx: Ctx): Promise<void> {
  const endpoints = ctx.c.endpoints
  const patch: Partial<FlowlogConfig> = {
    region: ctx.region,
    resourceGroup: ctx.rg!.name,
    bucket: ctx.names.bucket,
    cosEndpoint: endpoints.cos,
    cosEndpointType: 'public',
    basename: ctx.o.answers.basename,
    account: ctx.account,
    ...ctx.configPatch,
  }
  if (ctx.cos) patch.cosInstanceId = ctx.cos.crn
  if (ctx.hmac) {
    patch.cosHmacAccessKeyId = ctx.hmac.accessKeyId
    patch.cosHmacSecretAccessKey = ctx.hmac.secretAccessKey
  }
  if (ctx.o.saveApiKey) patch.apiKey = ctx.c.apiKey
  if (ctx.o.answers.sink !== 'logdna') {
    patch.logdnaIngestionKey = undefined
    patch.logdnaUrl = undefined
  }
  if (ctx.o.answers.sink !== 'cloud-logs') patch.cloudLogsUrl = undefined
  const current = await readConfig(ctx.o.home)
  const changed = Object.entries(patch).filter(([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v)).map(([k]) => k)
  if (changed.length === 0) return step(ctx, 'config', 'exists', ctx.o.home.configPath)
  if (ctx.dry) return step(ctx, 'config', 'planned', ctx.o.home.configPath, `would set ${changed.join(', ')}`)
  await updateConfig(ctx.o.home, patch)
  step(ctx, 'config', 'updated', ctx.o.home.configPath, `set ${changed.join(', ')}`)
}

