/**
 * Fake Resource Controller v2 (instances with asynchronous provisioning, keys with COS HMAC credentials and
 * optional one-time credentials, reclamations) and Resource Manager v2 (resource groups).
 */
import {randomBytes} from 'node:crypto'

import {type Ctx, type Handler, isObject, makeService, q, route, sendEmpty, sendJson} from './http.js'
import type {FakeCloudState, Instance, ResourceKey} from './state.js'

const REGIONS = new Set(['us-south', 'us-east', 'eu-de', 'eu-gb', 'eu-es', 'jp-tok', 'jp-osa', 'au-syd', 'ca-tor', 'br-sao'])

function rcError(ctx: Ctx, status: number, code: string, message: string): void {
  sendJson(ctx.res, status, {error_code: code, message, status_code: status, transaction_id: `fake-${Date.now()}`})
}

function serviceName(state: FakeCloudState, resourceId: string): string {
  return state.catalog.find((s) => s.id === resourceId)?.name ?? 'unknown'
}

function instanceJson(state: FakeCloudState, i: Instance) {
  const provisioning = i.state === 'provisioning'
  const rg = state.resourceGroups.find((g) => g.id === i.resource_group_id)
  const sname = serviceName(state, i.resource_id)
  return {
    id: i.crn,
    guid: i.guid,
    url: `/v2/resource_instances/${i.guid}`,
    created_at: i.created_at,
    updated_at: i.updated_at,
    deleted_at: i.state === 'pending_reclamation' ? i.updated_at : null,
    created_by: 'IBMid-fake0000001',
    updated_by: 'IBMid-fake0000001',
    deleted_by: '',
    scheduled_reclaim_at: null,
    restored_at: null,
    restored_by: '',
    scheduled_reclaim_by: '',
    name: i.name,
    region_id: i.region_id,
    account_id: state.accountId,
    reseller_channel_id: '',
    resource_plan_id: i.resource_plan_id,
    resource_group_id: i.resource_group_id,
    resource_group_crn: rg?.crn ?? '',
    target_crn: `crn:v1:bluemix:public:globalcatalog::::deployment:${i.resource_plan_id}%3A${i.region_id}`,
    onetime_credentials: state.onetimeCredentials,
    allow_cleanup: false,
    crn: i.crn,
    state: i.state,
    type: 'service_instance',
    sub_type: null,
    resource_id: i.resource_id,
    dashboard_url: `https://cloud.ibm.com/services/${sname}/${encodeURIComponent(i.crn)}`,
    last_operation: {
      type: i.state === 'pending_reclamation' ? 'delete' : 'create',
      state: provisioning ? 'in progress' : 'succeeded',
      async: provisioning,
      description: provisioning ? 'Provisioning in progress' : 'Completed create instance operation',
      cancelable: false,
      poll: provisioning,
    },
    resource_aliases_url: `/v2/resource_instances/${i.guid}/resource_aliases`,
    resource_bindings_url: `/v2/resource_instances/${i.guid}/resource_bindings`,
    resource_keys_url: `/v2/resource_instances/${i.guid}/resource_keys`,
    plan_history: [{resource_plan_id: i.resource_plan_id, start_date: i.created_at}],
    migrated: false,
    extensions: {},
    controlled_by: '',
    locked: false,
    parameters: i.parameters,
    tags: i.tags,
  }
}

function keyJson(state: FakeCloudState, k: ResourceKey, redacted: boolean) {
  const inst = state.instances.get(k.instanceGuid)
  return {
    id: k.crn,
    guid: k.guid,
    url: `/v2/resource_keys/${k.guid}`,
    created_at: k.created_at,
    updated_at: k.updated_at,
    deleted_at: null,
    created_by: 'IBMid-fake0000001',
    updated_by: 'IBMid-fake0000001',
    deleted_by: '',
    source_crn: k.source_crn,
    name: k.name,
    crn: k.crn,
    state: 'active',
    account_id: state.accountId,
    resource_group_id: inst?.resource_group_id ?? '',
    resource_id: inst?.resource_id ?? '',
    onetime_credentials: state.onetimeCredentials,
    credentials: redacted ? {REDACTED: 'REDACTED'} : k.credentials,
    iam_compatible: true,
    migrated: false,
    resource_instance_url: `/v2/resource_instances/${k.instanceGuid}`,
    role: k.role,
  }
}

function findInstance(state: FakeCloudState, idOrCrn: string): Instance | undefined {
  const direct = state.instances.get(idOrCrn)
  if (direct) return direct
  for (const i of state.instances.values()) if (i.crn === idOrCrn) return i
  return undefined
}

/** Page an array with `limit`/`start` (an offset token) into the RC envelope. */
function page<T>(ctx: Ctx, items: T[], basePath: string): {rows_count: number; next_url: string | null; resources: T[]} | undefined {
  const limitText = q(ctx, 'limit')
  const limit = limitText === undefined ? 100 : Number(limitText)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    rcError(ctx, 400, 'RC-InvalidLimit', `limit must be an integer between 1 and 100`)
    return undefined
  }
  const start = Number(q(ctx, 'start') ?? '0')
  const slice = items.slice(start, start + limit)
  const params = new URLSearchParams(ctx.url.searchParams)
  params.set('start', String(start + limit))
  params.set('limit', String(limit))
  return {
    rows_count: slice.length,
    next_url: start + limit < items.length ? `${basePath}?${params.toString()}` : null,
    resources: slice,
  }
}

/** Advance a provisioning instance on GET. */
function tick(i: Instance): void {
  if (i.state !== 'provisioning') return
  i.pollsLeft -= 1
  if (i.pollsLeft <= 0) {
    i.state = 'active'
    i.updated_at = new Date().toISOString()
  }
}

function makeCredentials(state: FakeCloudState, inst: Instance, key: {guid: string; name: string; role: string}, params: Record<string, unknown>) {
  const sname = serviceName(state, inst.resource_id)
  const apikey = randomBytes(24).toString('base64url')
  state.apiKeys.set(apikey, {accountId: state.accountId, iamId: `iam-ServiceId-${key.guid}`})
  const roleCrn = key.role.startsWith('crn:') ? key.role : `crn:v1:bluemix:public:iam::::serviceRole:${key.role}`
  const base: Record<string, unknown> = {
    apikey,
    iam_apikey_description: `Auto-generated for key ${key.guid}`,
    iam_apikey_id: `ApiKey-${key.guid}`,
    iam_apikey_name: key.name,
    iam_role_crn: roleCrn,
    iam_serviceid_crn: `crn:v1:bluemix:public:iam-identity::a/${state.accountId}::serviceid:ServiceId-${key.guid}`,
  }
  if (sname === 'cloud-object-storage') {
    base.endpoints = 'https://control.cloud-object-storage.cloud.ibm.com/v2/endpoints'
    base.resource_instance_id = inst.crn
    if (params.HMAC === true) {
      const access = randomBytes(16).toString('hex')
      const secret = randomBytes(24).toString('hex')
      state.hmac.set(access, {secret, instanceGuid: inst.guid})
      base.cos_hmac_keys = {access_key_id: access, secret_access_key: secret}
    }
  } else if (sname === 'logdna') {
    const ingestion = randomBytes(16).toString('hex')
    state.ingestionKeys.add(ingestion)
    base.ingestion_key = ingestion
  }
  return base
}

export function resourceControllerService(state: FakeCloudState): Handler {
  const createInstance = (ctx: Ctx) => {
    const b = ctx.json
    if (!isObject(b)) return rcError(ctx, 400, 'RC-BadRequest', 'The request body must be a JSON object')
    for (const f of ['name', 'target', 'resource_group', 'resource_plan_id']) {
      if (typeof b[f] !== 'string' || b[f] === '') return rcError(ctx, 400, 'RC-MissingField', `Missing required field: ${f}`)
    }
    const plan = state.catalog.flatMap((s) => s.plans.map((p) => ({s, p}))).find((x) => x.p.id === b.resource_plan_id)
    if (!plan) return rcError(ctx, 400, 'RC-PlanNotFound', `Plan ${String(b.resource_plan_id)} not found in the catalog`)
    const target = String(b.target)
    if (plan.s.targets === 'global' && target !== 'global' && target !== 'bluemix-global') {
      return rcError(ctx, 400, 'RC-InvalidTarget', `Service ${plan.s.name} must be provisioned with target global`)
    }
    if (plan.s.targets === 'regional' && !REGIONS.has(target)) {
      return rcError(ctx, 400, 'RC-InvalidTarget', `Target ${target} is not a valid region for ${plan.s.name}`)
    }
    if (!state.resourceGroups.some((g) => g.id === b.resource_group)) {
      return rcError(ctx, 400, 'RC-ResourceGroupNotFound', `Resource group ${String(b.resource_group)} not found`)
    }
    if (plan.s.name === 'logdna') {
      return rcError(ctx, 400, 'RC-ServiceDeprecated', 'IBM Log Analysis is end of life (30 Mar 2025): new instances cannot be created')
    }
    const guid = state.uuid()
    const region = target === 'bluemix-global' ? 'global' : target
    const now = state.now()
    const inst: Instance = {
      guid,
      crn: `crn:v1:bluemix:public:${plan.s.name}:${region}:a/${state.accountId}:${guid}::`,
      name: String(b.name),
      region_id: region,
      resource_group_id: String(b.resource_group),
      resource_id: plan.s.id,
      resource_plan_id: plan.p.id,
      state: state.provisioningPolls > 0 ? 'provisioning' : 'active',
      created_at: now,
      updated_at: now,
      pollsLeft: state.provisioningPolls,
      tags: Array.isArray(b.tags) ? (b.tags as string[]) : [],
      parameters: isObject(b.parameters) ? b.parameters : {},
    }
    state.instances.set(guid, inst)
    const after = state.takeAfterFault('rc', 'POST', ctx.url.pathname + ctx.url.search)
    if (after) return rcError(ctx, after.status, 'RC-InjectedFault', `injected ${after.status} after create`)
    sendJson(ctx.res, inst.state === 'provisioning' ? 202 : 201, instanceJson(state, inst))
  }

  const listInstances = (ctx: Ctx) => {
    const name = q(ctx, 'name')
    const rid = q(ctx, 'resource_id')
    const rg = q(ctx, 'resource_group_id')
    const plan = q(ctx, 'resource_plan_id')
    const wanted = q(ctx, 'state')
    const type = q(ctx, 'type')
    const items = [...state.instances.values()].filter(
      (i) =>
        (name === undefined || i.name === name) &&
        (rid === undefined || i.resource_id === rid) &&
        (rg === undefined || i.resource_group_id === rg) &&
        (plan === undefined || i.resource_plan_id === plan) &&
        (type === undefined || type === 'service_instance') &&
        (wanted === undefined ? i.state === 'active' || i.state === 'provisioning' : i.state === wanted),
    )
    const body = page(ctx, items.map((i) => instanceJson(state, i)), '/v2/resource_instances')
    if (body) sendJson(ctx.res, 200, body)
  }

  const getInstance = (ctx: Ctx) => {
    const i = findInstance(state, ctx.params.id)
    if (!i) return rcError(ctx, 404, 'RC-ResourceNotFound', `Instance ${ctx.params.id} not found`)
    tick(i)
    sendJson(ctx.res, 200, instanceJson(state, i))
  }

  const deleteInstance = (ctx: Ctx) => {
    const i = findInstance(state, ctx.params.id)
    if (!i || i.state === 'pending_reclamation') return rcError(ctx, 404, 'RC-ResourceNotFound', `Instance ${ctx.params.id} not found`)
    const keys = [...state.keys.values()].filter((k) => k.instanceGuid === i.guid)
    if (keys.length > 0 && q(ctx, 'recursive') !== 'true') {
      return rcError(ctx, 400, 'RC-InstanceHasKeys', `Instance ${i.guid} has ${keys.length} resource key(s); delete them or pass recursive=true`)
    }
    for (const k of keys) deleteKeyRecord(k)
    i.state = 'pending_reclamation'
    i.updated_at = state.now()
    const rid = state.uuid()
    state.reclamations.set(rid, {id: rid, instanceGuid: i.guid, state: 'SCHEDULED', created_at: state.now()})
    sendEmpty(ctx.res, 202)
  }

  const deleteKeyRecord = (k: ResourceKey) => {
    state.keys.delete(k.guid)
    const creds = k.credentials as {cos_hmac_keys?: {access_key_id?: string}; apikey?: string}
    if (creds.cos_hmac_keys?.access_key_id) state.hmac.delete(creds.cos_hmac_keys.access_key_id)
    if (creds.apikey) state.apiKeys.delete(creds.apikey)
  }

  const createKey = (ctx: Ctx) => {
    const b = ctx.json
    if (!isObject(b)) return rcError(ctx, 400, 'RC-BadRequest', 'The request body must be a JSON object')
    if (typeof b.name !== 'string' || !b.name) return rcError(ctx, 400, 'RC-MissingField', 'Missing required field: name')
    if (typeof b.source !== 'string' || !b.source) return rcError(ctx, 400, 'RC-MissingField', 'Missing required field: source')
    const inst = findInstance(state, b.source)
    if (!inst || inst.state === 'pending_reclamation') return rcError(ctx, 404, 'RC-ResourceNotFound', `Source ${b.source} not found`)
    if (inst.state !== 'active') return rcError(ctx, 409, 'RC-InstanceNotActive', `Instance ${inst.guid} is ${inst.state}, not active`)
    const role = typeof b.role === 'string' ? b.role : 'Writer'
    if (!/^(Reader|Writer|Manager|crn:v1:bluemix:public:[a-z-]*::::serviceRole:\w+)$/.test(role)) {
      return rcError(ctx, 400, 'RC-InvalidRole', `Invalid role ${role}`)
    }
    const guid = state.uuid()
    const now = state.now()
    const sname = serviceName(state, inst.resource_id)
    const key: ResourceKey = {
      guid,
      crn: `crn:v1:bluemix:public:${sname}:${inst.region_id}:a/${state.accountId}:${inst.guid}:resource-key:${guid}`,
      name: b.name,
      source_crn: inst.crn,
      instanceGuid: inst.guid,
      role: role.startsWith('crn:') ? role : `crn:v1:bluemix:public:iam::::serviceRole:${role}`,
      credentials: {},
      created_at: now,
      updated_at: now,
    }
    key.credentials = makeCredentials(state, inst, {guid, name: key.name, role}, isObject(b.parameters) ? b.parameters : {})
    state.keys.set(guid, key)
    const after = state.takeAfterFault('rc', 'POST', ctx.url.pathname + ctx.url.search)
    if (after) return rcError(ctx, after.status, 'RC-InjectedFault', `injected ${after.status} after create`)
    sendJson(ctx.res, 201, keyJson(state, key, false))
  }

  const listKeys = (ctx: Ctx, instanceGuid?: string) => {
    const name = q(ctx, 'name')
    const rg = q(ctx, 'resource_group_id')
    const rid = q(ctx, 'resource_id')
    const items = [...state.keys.values()].filter((k) => {
      const inst = state.instances.get(k.instanceGuid)
      return (
        (instanceGuid === undefined || k.instanceGuid === instanceGuid) &&
        (name === undefined || k.name === name) &&
        (rg === undefined || inst?.resource_group_id === rg) &&
        (rid === undefined || inst?.resource_id === rid)
      )
    })
    const body = page(ctx, items.map((k) => keyJson(state, k, state.onetimeCredentials)), ctx.url.pathname)
    if (body) sendJson(ctx.res, 200, body)
  }

  const reclamationJson = (r: {id: string; instanceGuid: string; state: string; created_at: string}) => {
    const inst = state.instances.get(r.instanceGuid)
    return {
      id: r.id,
      entity_id: r.instanceGuid,
      entity_type_id: 'service_instance',
      entity_crn: inst?.crn ?? '',
      resource_instance_id: r.instanceGuid,
      resource_group_id: inst?.resource_group_id ?? '',
      account_id: state.accountId,
      policy_id: 'fake-policy',
      state: r.state,
      target_time: new Date(Date.now() + 7 * 86400_000).toISOString(),
      custom_properties: {},
      created_at: r.created_at,
      created_by: 'IBMid-fake0000001',
      updated_at: r.created_at,
      updated_by: 'IBMid-fake0000001',
    }
  }

  return makeService('rc', state, [
    route('POST', '/v2/resource_instances', createInstance),
    route('GET', '/v2/resource_instances', listInstances),
    route('GET', '/v2/resource_instances/:id', getInstance),
    route('DELETE', '/v2/resource_instances/:id', deleteInstance),
    route('GET', '/v2/resource_instances/:id/resource_keys', (ctx) => {
      const i = findInstance(state, ctx.params.id)
      if (!i) return rcError(ctx, 404, 'RC-ResourceNotFound', `Instance ${ctx.params.id} not found`)
      listKeys(ctx, i.guid)
    }),
    route('POST', '/v2/resource_keys', createKey),
    route('GET', '/v2/resource_keys', (ctx) => listKeys(ctx)),
    route('GET', '/v2/resource_keys/:id', (ctx) => {
      const k = state.keys.get(ctx.params.id) ?? [...state.keys.values()].find((x) => x.crn === ctx.params.id)
      if (!k) return rcError(ctx, 404, 'RC-ResourceNotFound', `Key ${ctx.params.id} not found`)
      sendJson(ctx.res, 200, keyJson(state, k, state.onetimeCredentials))
    }),
    route('DELETE', '/v2/resource_keys/:id', (ctx) => {
      const k = state.keys.get(ctx.params.id) ?? [...state.keys.values()].find((x) => x.crn === ctx.params.id)
      if (!k) return rcError(ctx, 404, 'RC-ResourceNotFound', `Key ${ctx.params.id} not found`)
      deleteKeyRecord(k)
      sendEmpty(ctx.res, 204)
    }),
    route('GET', '/v1/reclamations', (ctx) => {
      const iid = q(ctx, 'resource_instance_id')
      const rg = q(ctx, 'resource_group_id')
      const items = [...state.reclamations.values()].filter(
        (r) =>
          (iid === undefined || r.instanceGuid === iid) &&
          (rg === undefined || state.instances.get(r.instanceGuid)?.resource_group_id === rg),
      )
      sendJson(ctx.res, 200, {resources: items.map(reclamationJson)})
    }),
    route('POST', '/v1/reclamations/:id/actions/:action', (ctx) => {
      const r = state.reclamations.get(ctx.params.id)
      if (!r) return rcError(ctx, 404, 'RC-ReclamationNotFound', `Reclamation ${ctx.params.id} not found`)
      if (ctx.params.action !== 'reclaim' && ctx.params.action !== 'restore') {
        return rcError(ctx, 400, 'RC-InvalidAction', `Unknown action ${ctx.params.action}`)
      }
      const inst = state.instances.get(r.instanceGuid)
      if (ctx.params.action === 'restore') {
        if (inst) inst.state = 'active'
        state.reclamations.delete(r.id)
        sendJson(ctx.res, 200, {...reclamationJson(r), state: 'RESTORING'})
        return
      }
      const body = {...reclamationJson(r), state: 'RECLAIMING'}
      state.reclamations.delete(r.id)
      if (inst) {
        state.instances.delete(inst.guid)
        for (const [name, b] of state.buckets) if (b.instanceGuid === inst.guid) state.buckets.delete(name)
        if (inst.projectId) state.projects.delete(inst.projectId)
      }
      sendJson(ctx.res, 200, body)
    }),
  ])
}

export function resourceManagerService(state: FakeCloudState): Handler {
  const rmError = (ctx: Ctx, status: number, message: string) =>
    sendJson(ctx.res, status, {message, status_code: status, errors: [{code: status === 404 ? 'not_found' : 'bad_request', message}]})
  return makeService('rm', state, [
    route('GET', '/v2/resource_groups', (ctx) => {
      const acct = q(ctx, 'account_id')
      if (acct !== undefined && acct !== state.accountId) return rmError(ctx, 403, `Not authorized for account ${acct}`)
      const name = q(ctx, 'name')
      const dflt = q(ctx, 'default')
      const resources = state.resourceGroups.filter(
        (g) => (name === undefined || g.name === name) && (dflt === undefined || String(g.default) === dflt),
      )
      sendJson(ctx.res, 200, {resources})
    }),
    route('GET', '/v2/resource_groups/:id', (ctx) => {
      const g = state.resourceGroups.find((x) => x.id === ctx.params.id)
      if (!g) return rmError(ctx, 404, `Resource group ${ctx.params.id} not found`)
      sendJson(ctx.res, 200, g)
    }),
  ])
}
