/**
 * Fake IAM Policy Management: /v1/policies (authorization policies; 409 policy_conflict_error with
 * conflicts_with.policy.id for duplicates; account_id required on list) and /v2/roles.
 */
import {type Ctx, type Handler, bearer, isObject, makeService, platformError, q, route, sendEmpty, sendJson} from './http.js'
import {attrs, type FakeCloudState, type Policy} from './state.js'

interface Role {
  display_name: string
  description: string
  crn: string
  actions: string[]
}

const GENERIC = (name: string, description: string): Role => ({
  display_name: name,
  description,
  crn: `crn:v1:bluemix:public:iam::::serviceRole:${name}`,
  actions: [],
})

export function rolesFor(serviceName: string | undefined, sourceServiceName: string | undefined): Role[] {
  const roles: Role[] = [
    GENERIC('Reader', 'As a reader, you can perform read-only actions within a service.'),
    GENERIC('Writer', 'As a writer, you have permissions beyond the reader role.'),
    GENERIC('Manager', 'As a manager, you have permissions beyond the writer role.'),
  ]
  if (serviceName === 'cloud-object-storage') {
    roles.push(
      {display_name: 'Content Reader', description: 'Read objects', crn: 'crn:v1:bluemix:public:cloud-object-storage::::serviceRole:ContentReader', actions: []},
      {display_name: 'Object Writer', description: 'Write objects', crn: 'crn:v1:bluemix:public:cloud-object-storage::::serviceRole:ObjectWriter', actions: []},
    )
    if (sourceServiceName === undefined || sourceServiceName === 'codeengine') {
      roles.push({
        display_name: 'Notifications Manager',
        description: 'Manage bucket notifications for event sources.',
        crn: 'crn:v1:bluemix:public:cloud-object-storage::::serviceRole:NotificationsManager',
        actions: ['cloud-object-storage.bucket.put_notifications_configuration'],
      })
    }
  }
  if (serviceName === 'logs') {
    roles.push({display_name: 'Sender', description: 'Send logs', crn: 'crn:v1:bluemix:public:logs::::serviceRole:Sender', actions: ['logs.data.send']})
  }
  return roles
}

function sameAttributes(a: unknown, b: unknown): boolean {
  const x = attrs(a)
  const y = attrs(b)
  const kx = Object.keys(x).sort()
  const ky = Object.keys(y).sort()
  return kx.length === ky.length && kx.every((k, i) => k === ky[i] && x[k] === y[k])
}

function policyJson(p: Policy, serviceName: string | undefined, source: string | undefined) {
  const roles = rolesFor(serviceName, source)
  return {
    id: p.id,
    ...p.body,
    roles: ((p.body.roles as Array<{role_id: string}>) ?? []).map((r) => {
      const role = roles.find((x) => x.crn === r.role_id)
      return {role_id: r.role_id, display_name: role?.display_name ?? '', description: role?.description ?? ''}
    }),
    href: `https://iam.cloud.ibm.com/v1/policies/${p.id}`,
    created_at: p.created_at,
    created_by_id: 'IBMid-fake0000001',
    last_modified_at: p.created_at,
    last_modified_by_id: 'IBMid-fake0000001',
    state: 'active',
  }
}

export function iamPolicyService(state: FakeCloudState): Handler {
  const render = (p: Policy) => policyJson(p, attrs((p.body.resources as unknown[])?.[0]).serviceName, attrs((p.body.subjects as unknown[])?.[0]).serviceName)

  const create = (ctx: Ctx) => {
    const b = ctx.json
    if (!isObject(b)) return platformError(ctx.res, 400, 'invalid_body', 'The request body must be a JSON object')
    if (b.type !== 'authorization' && b.type !== 'access') return platformError(ctx.res, 400, 'invalid_type', 'type must be access or authorization')
    for (const f of ['subjects', 'roles', 'resources']) {
      if (!Array.isArray(b[f]) || (b[f] as unknown[]).length === 0) return platformError(ctx.res, 400, 'missing_field', `${f} is required and must be a non-empty array`)
    }
    const subjects = b.subjects as unknown[]
    const resources = b.resources as unknown[]
    if (subjects.length !== 1 || resources.length !== 1) return platformError(ctx.res, 400, 'invalid_body', 'exactly one subject and one resource are allowed')
    const subj = attrs(subjects[0])
    const res = attrs(resources[0])
    const caller = state.tokens.get(bearer(ctx.req) ?? '')
    if (b.type === 'authorization') {
      if (!subj.serviceName) return platformError(ctx.res, 400, 'invalid_subject', 'an authorization policy subject needs a serviceName attribute')
      if (!res.serviceName) return platformError(ctx.res, 400, 'invalid_resource', 'an authorization policy resource needs a serviceName attribute')
      if (subj.accountId !== caller?.accountId || res.accountId !== caller?.accountId) {
        return platformError(ctx.res, 400, 'invalid_account', 'accountId attributes must name the caller account')
      }
    }
    if (b.type === 'access') {
      // An access policy's subject is one identity (iam_id); its resource names the caller's account.
      if (!subj.iam_id || Object.keys(subj).length !== 1) return platformError(ctx.res, 400, 'invalid_subject', 'an access policy subject must be exactly one iam_id attribute')
      if (subj.iam_id.startsWith('iam-ServiceId-') && ![...state.serviceIds.values()].some((x) => x.iam_id === subj.iam_id)) {
        return platformError(ctx.res, 400, 'invalid_subject', `iam_id ${subj.iam_id} does not exist`)
      }
      if (res.accountId !== caller?.accountId || !res.serviceName) return platformError(ctx.res, 400, 'invalid_resource', 'an access policy resource needs accountId (the caller account) and serviceName')
      if (res.resourceType !== undefined && res.resource === undefined) return platformError(ctx.res, 400, 'invalid_resource', 'resourceType needs a resource attribute')
    }
    const known = rolesFor(res.serviceName, subj.serviceName)
    for (const r of b.roles as Array<{role_id?: unknown}>) {
      if (!isObject(r) || typeof r.role_id !== 'string' || !known.some((k) => k.crn === r.role_id)) {
        return platformError(ctx.res, 400, 'invalid_role', `role ${String((r as {role_id?: unknown})?.role_id)} is not valid for ${res.serviceName}`)
      }
    }
    for (const p of state.policies.values()) {
      if (p.body.apiVersion !== 'v2' && p.body.type === b.type && sameAttributes((p.body.subjects as unknown[])[0], subjects[0]) && sameAttributes((p.body.resources as unknown[])[0], resources[0])) {
        sendJson(ctx.res, 409, {
          trace: 'fake-trace',
          errors: [
            {
              code: 'policy_conflict_error',
              message: 'Failed to create policy.',
              // platform-services-node-sdk iam-policy-management/v1.ts ConflictsWith: {etag, role, policy: <policy id>}
              details: {conflicts_with: {etag: `1-${p.id}`, role: '', policy: state.conflictAsObject ? render(p) : p.id}},
            },
          ],
          status_code: 409,
        })
        return
      }
    }
    const id = state.uuid()
    const body: Record<string, unknown> = {type: b.type, subjects, roles: b.roles, resources}
    if (typeof b.description === 'string') body.description = b.description
    const p: Policy = {id, body, created_at: state.now()}
    state.policies.set(id, p)
    const after = state.takeAfterFault('policy', 'POST', ctx.url.pathname + ctx.url.search)
    if (after) return platformError(ctx.res, after.status, 'injected_fault', `injected ${after.status} after create`)
    sendJson(ctx.res, 201, render(p), {etag: `1-${id}`})
  }

  const V2_FIELDS = new Set(['type', 'description', 'subject', 'resource', 'control', 'rule', 'pattern'])
  const COS_CONDITION_KEYS = new Set(['{{resource.attributes.prefix}}', '{{resource.attributes.delimiter}}', '{{resource.attributes.path}}'])
  const OPERATORS = new Set(['stringEquals', 'stringMatch', 'stringEqualsAnyOf', 'stringMatchAnyOf', 'stringExists'])
  const kv = (x: unknown): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const a of ((x as {attributes?: unknown[]})?.attributes ?? []) as Array<{key?: unknown; operator?: unknown; value?: unknown}>) if (typeof a?.key === 'string') out[a.key] = String(a.value)
    return out
  }
  const validRule = (rule: unknown, depth = 0): boolean => {
    if (!isObject(rule) || depth > 2) return false
    if (Array.isArray(rule.conditions)) return (rule.operator === 'and' || rule.operator === 'or') && rule.conditions.length >= 1 && rule.conditions.every((c) => validRule(c, depth + 1))
    return typeof rule.key === 'string' && COS_CONDITION_KEYS.has(rule.key) && typeof rule.operator === 'string' && OPERATORS.has(rule.operator) && rule.value !== undefined
  }
  const v2Json = (p: Policy) => ({id: p.id, ...p.body, href: `https://iam.cloud.ibm.com/v2/policies/${p.id}`, created_at: p.created_at, state: 'active'})
  const isV2 = (p: Policy) => p.body.apiVersion === 'v2'
  const createV2 = (ctx: Ctx) => {
    const b = ctx.json
    if (!isObject(b)) return platformError(ctx.res, 400, 'invalid_body', 'The request body must be a JSON object')
    const bad = Object.keys(b).find((k) => !V2_FIELDS.has(k))
    if (bad) return platformError(ctx.res, 400, 'invalid_body', `unknown field ${bad}`)
    if (b.type !== 'access') return platformError(ctx.res, 400, 'invalid_type', 'type must be access')
    const caller = state.tokens.get(bearer(ctx.req) ?? '')
    const subj = kv(b.subject)
    const res = kv(b.resource)
    if (!subj.iam_id || Object.keys(subj).length !== 1) return platformError(ctx.res, 400, 'invalid_subject', 'subject.attributes must be one iam_id')
    if (subj.iam_id.startsWith('iam-ServiceId-') && ![...state.serviceIds.values()].some((x) => x.iam_id === subj.iam_id)) return platformError(ctx.res, 400, 'invalid_subject', `iam_id ${subj.iam_id} does not exist`)
    if (res.accountId !== caller?.accountId || !res.serviceName) return platformError(ctx.res, 400, 'invalid_resource', 'resource.attributes need accountId (the caller account) and serviceName')
    const roles = (b.control as {grant?: {roles?: Array<{role_id?: unknown}>}} | undefined)?.grant?.roles
    const known = rolesFor(res.serviceName, undefined)
    if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => known.some((k) => k.crn === r?.role_id))) return platformError(ctx.res, 400, 'invalid_role', 'control.grant.roles must name roles of the service')
    if (b.rule !== undefined) {
      if (b.pattern !== 'attribute-based-condition:resource:literal-and-wildcard') return platformError(ctx.res, 400, 'invalid_pattern', 'a rule on resource attributes needs pattern attribute-based-condition:resource:literal-and-wildcard')
      if (res.serviceName !== 'cloud-object-storage' || !validRule(b.rule)) return platformError(ctx.res, 400, 'invalid_rule', 'rule conditions must be prefix, delimiter or path conditions of a COS bucket')
    }
    for (const p of state.policies.values()) {
      if (isV2(p) && JSON.stringify(kv(p.body.subject)) === JSON.stringify(subj) && JSON.stringify(kv(p.body.resource)) === JSON.stringify(res) && JSON.stringify(p.body.rule ?? null) === JSON.stringify(b.rule ?? null)) {
        sendJson(ctx.res, 409, {trace: 'fake-trace', errors: [{code: 'policy_conflict_error', message: 'Failed to create policy.', details: {conflicts_with: {etag: `1-${p.id}`, role: '', policy: p.id}}}], status_code: 409})
        return
      }
    }
    const id = state.uuid()
    const p: Policy = {id, body: {apiVersion: 'v2', ...b}, created_at: state.now()}
    state.policies.set(id, p)
    const {apiVersion: _v, ...shown} = v2Json(p) as Record<string, unknown>
    sendJson(ctx.res, 201, shown, {etag: `1-${id}`})
  }

  return makeService('policy', state, [
    route('POST', '/v2/policies', createV2),
    route('GET', '/v2/policies', (ctx) => {
      const acct = q(ctx, 'account_id')
      if (!acct) return platformError(ctx.res, 400, 'missing_account_id', 'account_id is required')
      if (acct !== state.tokens.get(bearer(ctx.req) ?? '')?.accountId) return platformError(ctx.res, 403, 'forbidden', `not authorized for account ${acct}`)
      const iamId = q(ctx, 'iam_id')
      const list = [...state.policies.values()].filter((p) => isV2(p) && (iamId === undefined || kv(p.body.subject).iam_id === iamId))
      sendJson(ctx.res, 200, {policies: list.map((p) => {
        const {apiVersion: _v, ...shown} = v2Json(p) as Record<string, unknown>
        return shown
      })})
    }),
    route('DELETE', '/v2/policies/:id', (ctx) => {
      const p = state.policies.get(ctx.params.id)
      if (!p || !isV2(p)) return platformError(ctx.res, 404, 'policy_not_found', `Policy ${ctx.params.id} not found`)
      state.policies.delete(p.id)
      sendEmpty(ctx.res, 204)
    }),
    route('POST', '/v1/policies', create),
    route('GET', '/v1/policies', (ctx) => {
      const acct = q(ctx, 'account_id')
      if (!acct) return platformError(ctx.res, 400, 'missing_account_id', 'account_id is required')
      const caller = state.tokens.get(bearer(ctx.req) ?? '')
      if (acct !== caller?.accountId) return platformError(ctx.res, 403, 'forbidden', `not authorized for account ${acct}`)
      const type = q(ctx, 'type')
      const iamId = q(ctx, 'iam_id')
      const limit = Number(q(ctx, 'limit') ?? '50')
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return platformError(ctx.res, 400, 'invalid_limit', 'limit must be 1..100')
      const start = Number(q(ctx, 'start') ?? '0')
      const all = [...state.policies.values()].filter(
        (p) => !isV2(p) && (type === undefined || p.body.type === type) && (iamId === undefined || attrs((p.body.subjects as unknown[])?.[0]).iam_id === iamId),
      )
      const slice = all.slice(start, start + limit)
      const base = `https://iam.cloud.ibm.com/v1/policies?account_id=${acct}${type ? `&type=${type}` : ''}&limit=${limit}`
      sendJson(ctx.res, 200, {
        limit,
        first: {href: base},
        ...(start + limit < all.length ? {next: {href: `${base}&start=${start + limit}`, start: String(start + limit)}} : {}),
        policies: slice.map(render),
      })
    }),
    route('GET', '/v1/policies/:id', (ctx) => {
      const p = state.policies.get(ctx.params.id)
      if (!p || isV2(p)) return platformError(ctx.res, 404, 'policy_not_found', `Policy ${ctx.params.id} not found`)
      sendJson(ctx.res, 200, render(p), {etag: `1-${p.id}`})
    }),
    route('DELETE', '/v1/policies/:id', (ctx) => {
      if (!state.policies.delete(ctx.params.id)) return platformError(ctx.res, 404, 'policy_not_found', `Policy ${ctx.params.id} not found`)
      sendEmpty(ctx.res, 204)
    }),
    route('GET', '/v2/roles', (ctx) => {
      const service = q(ctx, 'service_name')
      const source = q(ctx, 'source_service_name')
      const type = q(ctx, 'policy_type')
      if (type !== undefined && type !== 'authorization' && type !== 'access') return platformError(ctx.res, 400, 'invalid_policy_type', 'bad policy_type')
      sendJson(ctx.res, 200, {
        custom_roles: [],
        service_roles: rolesFor(service, source).filter((r) => !r.crn.includes('iam::::serviceRole') || service !== undefined),
        system_roles: [
          {display_name: 'Viewer', description: 'Viewer', crn: 'crn:v1:bluemix:public:iam::::role:Viewer', actions: []},
          {display_name: 'Operator', description: 'Operator', crn: 'crn:v1:bluemix:public:iam::::role:Operator', actions: []},
          {display_name: 'Editor', description: 'Editor', crn: 'crn:v1:bluemix:public:iam::::role:Editor', actions: []},
          {display_name: 'Administrator', description: 'Administrator', crn: 'crn:v1:bluemix:public:iam::::role:Administrator', actions: []},
        ],
      })
    }),
  ])
}
