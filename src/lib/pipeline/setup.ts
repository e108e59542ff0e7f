/**
 * `flowlog setup` as ordered, resumable, idempotent steps over the IBM Cloud clients (ibm-cloud-apis.md §8):
 *
 *   account → resource-group → vpc → cos-instance → cos-key → bucket → authorization → collector → sink →
 *   project → secret → config-map → job → trigger (→ trigger-authorization) → config
 *
 * Every step is get-or-create, then verify. Ids go to the state file as soon as they are known (a create is announced
 * first, so a lost answer is recognised as ours on the re-run); secrets (HMAC keys, ingestion key) go only to the
 * config file (0600). `dryRun` looks everything up and changes nothing.
 */
import {type FlowlogConfig, readConfig, updateConfig} from '../config/settings.js'
import type {Home} from '../config/home.js'
import {ConfigError, registerSecret, RemoteError, UsageError} from '../errors.js'
import {type CloudClients, createCloudClients} from '../ibmcloud/clients.js'
import type {CeJobRun, CeProject} from '../ibmcloud/code-engine.js'
import {cloudLogsIngressUrl} from '../ibmcloud/endpoints.js'
import {ApiAuthError, ConflictError, isNotFound, statusOf} from '../ibmcloud/http.js'
import {
  conflictingPolicyId,
  COS_SERVICE_ID,
  COS_STANDARD_PLAN_ID,
  type Policy,
  type PolicyPrototype,
  type ResourceInstance,
  type ResourceKey,
  WRITER_ROLE_CRN,
} from '../ibmcloud/platform.js'
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
  /** flowlog's version, pinned in the default job image (`npx -y flowlog@<version>`). */
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
const ACTIVE_RUN = new Set(['pending', 'running'])
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
        // The authorization takes seconds to propagate: retry 403.
        if (error instanceof ApiAuthError && error.status === 403) {
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
    () => progress(ctx, 'collector', 'waiting for the authorization to propagate (403)'),
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
    const e = lastError as ApiAuthError
    throw new ApiAuthError(`${e.message} (still refused after ${Math.round(ctx.timing.authorizationPropagationMs / 1000)} s)`, {status: 403, body: e.body}, {
      suggestions: [
        'The is/flow-log-collector → COS Writer authorization may still be propagating: run `flowlog setup` again in a minute',
        'A bucket with IP allowlists or private-only access also refuses flow logs',
      ],
    })
  }
  await setRec(ctx, 'collector', {id: created.id, name: created.name, created: true})
  step(ctx, 'collector', 'created', created.id, created.name)
}

async function stepSink(ctx: Ctx): Promise<void> {
  const {sink} = ctx.o.answers
  const endpoints = ctx.c.endpoints
  if (sink === 'none') {
    ctx.configPatch.sink = 'none'
    return step(ctx, 'sink', 'skipped', null, 'no sink: objects stay in COS (flowlog pull/search read them)')
  }
  if (sink === 'logdna') {
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
  if (!ctx.cos || !ctx.hmac) return undefined
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
    apiKey: ctx.c.apiKey,
    iamUrl: env.FLOWLOG_IAM_URL ? endpoints.iam : undefined,
    trigger: ctx.o.answers.trigger,
    image: ctx.o.answers.image,
    version: ctx.o.version,
    secretName: ctx.names.secret,
    configMapName: ctx.names.configMap,
  }
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
  const live = newest(runs.filter((x) => ACTIVE_RUN.has(String(x.status))))[0] ?? newest(runs.filter((x) => x.status === 'succeeded'))[0]
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

