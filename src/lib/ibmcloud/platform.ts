/**
 * IAM (token → account), Resource Controller, Resource Manager, IAM Policy Management and Global Catalog through
 * @ibm-cloud/platform-services, every failure mapped by the one mapper in http.ts (tokens and keys redacted).
 */
import GlobalCatalogV1 from '@ibm-cloud/platform-services/global-catalog/v1.js'
import IamPolicyManagementV1 from '@ibm-cloud/platform-services/iam-policy-management/v1.js'
import ResourceControllerV2 from '@ibm-cloud/platform-services/resource-controller/v2.js'
import ResourceManagerV2 from '@ibm-cloud/platform-services/resource-manager/v2.js'
import type {BaseService, IamAuthenticator} from 'ibm-cloud-sdk-core'

import {AuthError, RemoteError} from '../errors.js'
import {isNotFound, mapHttpError, mapIamError, resolveRetry, type RetryConfig, startFromHref} from './http.js'

/** Catalog ids that never change (Global Catalog). */
export const COS_SERVICE_ID = 'dff97f5c-bc5e-4455-b470-411c3edbe49c'
export const COS_STANDARD_PLAN_ID = '744bfc56-d12c-4866-88d5-dac9139e0e5d'
export const WRITER_ROLE_CRN = 'crn:v1:bluemix:public:iam::::serviceRole:Writer'

type Json = Record<string, unknown>

export interface ResourceInstance {
  id: string
  guid: string
  crn: string
  name: string
  state: string
  region_id?: string
  resource_id?: string
  resource_plan_id?: string
  resource_group_id?: string
  created_at?: string
  last_operation?: {state?: string; type?: string; description?: string}
  onetime_credentials?: boolean
  [k: string]: unknown
}

export interface ResourceKey {
  id: string
  guid: string
  crn?: string
  name: string
  source_crn?: string
  state?: string
  credentials?: Record<string, unknown>
  [k: string]: unknown
}

export interface ResourceGroup {
  id: string
  name: string
  default?: boolean
  state?: string
  [k: string]: unknown
}

export interface Policy {
  id: string
  type?: string
  description?: string
  subjects?: Array<{attributes?: Array<{name: string; value: unknown; operator?: string}>}>
  roles?: Array<{role_id: string; display_name?: string}>
  resources?: Array<{attributes?: Array<{name: string; value: unknown; operator?: string}>}>
  state?: string
  [k: string]: unknown
}

export interface PolicyPrototype {
  type: 'authorization' | 'access'
  subjects: Array<{attributes: Array<{name: string; value: string; operator?: string}>}>
  roles: Array<{role_id: string}>
  resources: Array<{attributes: Array<{name: string; value: string; operator?: string}>}>
  description?: string
}

/** A v2 policy (IAM Policy Management `POST /v2/policies`): one subject, one resource, a control and an optional rule. */
export interface V2PolicyPrototype {
  type: 'access'
  description?: string
  subject: {attributes: Array<{key: string; operator: string; value: string}>}
  resource: {attributes: Array<{key: string; operator: string; value: string}>}
  control: {grant: {roles: Array<{role_id: string}>}}
  rule?: V2Rule
  pattern?: string
}

export type V2Rule = {key: string; operator: string; value: unknown} | {operator: 'and' | 'or'; conditions: V2Rule[]}

export interface V2Policy extends Partial<V2PolicyPrototype> {
  id: string
  state?: string
  [k: string]: unknown
}

export interface Role {
  display_name: string
  crn: string
  description?: string
}

export interface PlatformOptions {
  authenticator: IamAuthenticator
  iamUrl: string
  resourceControllerUrl: string
  resourceManagerUrl: string
  globalCatalogUrl: string
  iamPolicyUrl: string
  retry?: RetryConfig
  env?: NodeJS.ProcessEnv
}

interface SdkResponse<T> {
  status: number
  result: T
  headers?: Record<string, unknown>
}

/** Decode a JWT's payload (no signature check: IAM issued it to us). */
export function decodeJwt(token: string): Json {
  const parts = token.split('.')
  if (parts.length < 2) throw new RemoteError('IAM returned an access token that is not a JWT', {code: 'iam'})
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Json
  } catch {
    throw new RemoteError('IAM returned an access token whose payload cannot be decoded', {code: 'iam'})
  }
}

export class PlatformClients {
  readonly rc: ResourceControllerV2
  readonly rm: ResourceManagerV2
  readonly catalog: GlobalCatalogV1
  readonly policy: IamPolicyManagementV1
  private readonly authenticator: IamAuthenticator
  private readonly iamUrl: string
  private readonly urls: Record<string, string>

  constructor(options: PlatformOptions) {
    const {authenticator} = options
    this.authenticator = authenticator
    this.iamUrl = options.iamUrl
    this.rc = new ResourceControllerV2({authenticator, serviceUrl: options.resourceControllerUrl})
    this.rm = new ResourceManagerV2({authenticator, serviceUrl: options.resourceManagerUrl})
    this.catalog = new GlobalCatalogV1({authenticator, serviceUrl: options.globalCatalogUrl})
    this.policy = new IamPolicyManagementV1({authenticator, serviceUrl: options.iamPolicyUrl})
    this.urls = {
      'Resource Controller': options.resourceControllerUrl,
      'Resource Manager': options.resourceManagerUrl,
      'Global Catalog': options.globalCatalogUrl,
      'IAM Policy Management': options.iamPolicyUrl,
    }
    const retry = resolveRetry(options.retry, options.env)
    for (const svc of [this.rc, this.rm, this.catalog, this.policy] as BaseService[]) {
      if (retry.maxRetries > 0) svc.enableRetries({maxRetries: retry.maxRetries, maxRetryInterval: retry.maxRetryInterval})
      else svc.disableRetries()
    }
  }

  private async call<T>(service: string, method: string, path: string, fn: () => Promise<SdkResponse<T>>): Promise<SdkResponse<T>> {
    await this.ensureToken()
    try {
      return await fn()
    } catch (error) {
      throw mapHttpError(error, {service, method, path, serviceUrl: this.urls[service]})
    }
  }

  /** Fetch (or reuse) the IAM token; IAM failures become AuthError / RemoteError. */
  async ensureToken(): Promise<string> {
    const opts: {headers: Record<string, string>} = {headers: {}}
    try {
      await this.authenticator.authenticate(opts)
    } catch (error) {
      throw mapIamError(error, this.iamUrl)
    }
    const header = opts.headers.Authorization ?? ''
    return header.replace(/^Bearer\s+/i, '')
  }

  /** The account id (`account.bss`) of the API key's token. */
  async accountId(): Promise<string> {
    const token = await this.ensureToken()
    const payload = decodeJwt(token)
    const bss = (payload.account as {bss?: unknown} | undefined)?.bss
    if (typeof bss !== 'string' || bss === '') {
      throw new AuthError('the IAM token names no account (account.bss is missing)', {code: 'iam'})
    }
    return bss
  }

  // Resource Manager -------------------------------------------------------------------------------------------

  async listResourceGroups(accountId: string, name?: string): Promise<ResourceGroup[]> {
    const r = await this.call('Resource Manager', 'GET', '/v2/resource_groups', () =>
      this.rm.listResourceGroups({accountId, name}) as unknown as Promise<SdkResponse<{resources?: ResourceGroup[]}>>,
    )
    return r.result?.resources ?? []
  }

  async getResourceGroup(id: string): Promise<ResourceGroup> {
    const r = await this.call('Resource Manager', 'GET', '/v2/resource_groups/{id}', () => this.rm.getResourceGroup({id}) as unknown as Promise<SdkResponse<ResourceGroup>>)
    return r.result
  }

  // Resource Controller ----------------------------------------------------------------------------------------

  async listInstances(filter: {name?: string; resourceId?: string; resourceGroupId?: string; state?: string}): Promise<ResourceInstance[]> {
    const out: ResourceInstance[] = []
    let start: string | undefined
    for (let page = 0; page < 1000; page++) {
      const r = await this.call('Resource Controller', 'GET', '/v2/resource_instances', () =>
        this.rc.listResourceInstances({...filter, limit: 100, start}) as unknown as Promise<SdkResponse<{resources?: ResourceInstance[]; next_url?: string | null}>>,
      )
      out.push(...(r.result?.resources ?? []))
      const next = r.result?.next_url ? startFromHref(r.result.next_url) : undefined
      if (!next || next === start) break
      start = next
    }
    return out
  }

  async getInstance(id: string): Promise<ResourceInstance> {
    const r = await this.call('Resource Controller', 'GET', '/v2/resource_instances/{id}', () => this.rc.getResourceInstance({id}) as unknown as Promise<SdkResponse<ResourceInstance>>)
    return r.result
  }

  /** The instance, or undefined when it is gone (404, removed, pending reclamation). */
  async findInstance(id: string): Promise<ResourceInstance | undefined> {
    try {
      const i = await this.getInstance(id)
      return isGoneState(i.state) ? undefined : i
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }

  async createInstance(p: {name: string; target: string; resourceGroup: string; resourcePlanId: string; tags?: string[]; parameters?: Json}): Promise<ResourceInstance> {
    const r = await this.call('Resource Controller', 'POST', '/v2/resource_instances', () => this.rc.createResourceInstance(p) as unknown as Promise<SdkResponse<ResourceInstance>>)
    return r.result
  }

  async deleteInstance(id: string): Promise<void> {
    await this.call('Resource Controller', 'DELETE', '/v2/resource_instances/{id}', () => this.rc.deleteResourceInstance({id, recursive: true}) as unknown as Promise<SdkResponse<unknown>>)
  }

  /** Reclaim (purge) a deleted instance now instead of after the reclamation period. Returns whether one was found. */
  async reclaimInstance(instanceGuid: string, accountId?: string): Promise<boolean> {
    const r = await this.call('Resource Controller', 'GET', '/v1/reclamations', () =>
      this.rc.listReclamations({resourceInstanceId: instanceGuid, accountId}) as unknown as Promise<SdkResponse<{resources?: Array<{id: string; resource_instance_id?: string; state?: string}>}>>,
    )
    const recs = (r.result?.resources ?? []).filter((x) => !x.resource_instance_id || x.resource_instance_id === instanceGuid)
    for (const rec of recs) {
      try {
        await this.call('Resource Controller', 'POST', '/v1/reclamations/{id}/actions/reclaim', () =>
          this.rc.runReclamationAction({id: rec.id, actionName: 'reclaim', comment: 'flowlog teardown'}) as unknown as Promise<SdkResponse<unknown>>,
        )
      } catch (error) {
        if (!isNotFound(error)) throw error
      }
    }
    return recs.length > 0
  }

  async listKeysForInstance(instanceId: string): Promise<ResourceKey[]> {
    const out: ResourceKey[] = []
    let start: string | undefined
    for (let page = 0; page < 1000; page++) {
      const r = await this.call('Resource Controller', 'GET', '/v2/resource_instances/{id}/resource_keys', () =>
        this.rc.listResourceKeysForInstance({id: instanceId, limit: 100, start}) as unknown as Promise<SdkResponse<{resources?: ResourceKey[]; next_url?: string | null}>>,
      )
      out.push(...(r.result?.resources ?? []))
      const next = r.result?.next_url ? startFromHref(r.result.next_url) : undefined
      if (!next || next === start) break
      start = next
    }
    return out
  }

  async getKey(id: string): Promise<ResourceKey | undefined> {
    try {
      const r = await this.call('Resource Controller', 'GET', '/v2/resource_keys/{id}', () => this.rc.getResourceKey({id}) as unknown as Promise<SdkResponse<ResourceKey>>)
      return isGoneState(r.result?.state) ? undefined : r.result
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }

  async createKey(p: {name: string; source: string; role: string; parameters?: Json}): Promise<ResourceKey> {
    const r = await this.call('Resource Controller', 'POST', '/v2/resource_keys', () => this.rc.createResourceKey(p) as unknown as Promise<SdkResponse<ResourceKey>>)
    return r.result
  }

  async deleteKey(id: string): Promise<void> {
    await this.call('Resource Controller', 'DELETE', '/v2/resource_keys/{id}', () => this.rc.deleteResourceKey({id}) as unknown as Promise<SdkResponse<unknown>>)
  }

  // Global Catalog ---------------------------------------------------------------------------------------------

  /** The catalog id of a service by its programmatic name (`logs`, `logdna`, `codeengine`, …). */
  async findService(name: string): Promise<{id: string; name: string} | undefined> {
    const r = await this.call('Global Catalog', 'GET', '/', () =>
      this.catalog.listCatalogEntries({q: `name:${name} active:true`, include: '*'}) as unknown as Promise<SdkResponse<{resources?: Array<{id: string; name: string; kind?: string}>}>>,
    )
    return (r.result?.resources ?? []).find((e) => e.name === name && (e.kind === undefined || e.kind === 'service'))
  }

  async listPlans(serviceId: string): Promise<Array<{id: string; name: string; active?: boolean}>> {
    const r = await this.call('Global Catalog', 'GET', '/{id}/plan', () =>
      this.catalog.getChildObjects({id: serviceId, kind: 'plan'}) as unknown as Promise<SdkResponse<{resources?: Array<{id: string; name: string; active?: boolean; kind?: string}>}>>,
    )
    return (r.result?.resources ?? []).filter((p) => p.kind === undefined || p.kind === 'plan')
  }

  // IAM policies -----------------------------------------------------------------------------------------------

  async listAuthorizationPolicies(accountId: string): Promise<Policy[]> {
    const out: Policy[] = []
    let start: string | undefined
    for (let page = 0; page < 1000; page++) {
      const r = await this.call('IAM Policy Management', 'GET', '/v1/policies', () =>
        this.policy.listPolicies({accountId, type: 'authorization', limit: 100, start}) as unknown as Promise<SdkResponse<{policies?: Policy[]; next?: {start?: string; href?: string}}>>,
      )
      out.push(...(r.result?.policies ?? []))
      const next = r.result?.next?.start ?? (r.result?.next?.href ? startFromHref(r.result.next.href) : undefined)
      if (!next || next === start) break
      start = next
    }
    return out
  }

  /** Access policies whose subject is one identity (e.g. a service ID's iam_id). */
  async listAccessPolicies(accountId: string, iamId: string): Promise<Policy[]> {
    const r = await this.call('IAM Policy Management', 'GET', '/v1/policies', () =>
      this.policy.listPolicies({accountId, iamId, type: 'access', limit: 100}) as unknown as Promise<SdkResponse<{policies?: Policy[]}>>,
    )
    return r.result?.policies ?? []
  }

  /** v2 access policies of one identity (the ones that can carry rule conditions). */
  async listV2AccessPolicies(accountId: string, iamId: string): Promise<V2Policy[]> {
    const r = await this.call('IAM Policy Management', 'GET', '/v2/policies', () =>
      this.policy.listV2Policies({accountId, iamId, type: 'access'}) as unknown as Promise<SdkResponse<{policies?: V2Policy[]}>>,
    )
    return (r.result?.policies ?? []).filter((p) => p.state !== 'deleted')
  }

  async createV2Policy(p: V2PolicyPrototype): Promise<V2Policy> {
    const r = await this.call('IAM Policy Management', 'POST', '/v2/policies', () =>
      this.policy.createV2Policy(p as unknown as IamPolicyManagementV1.CreateV2PolicyParams) as unknown as Promise<SdkResponse<V2Policy>>,
    )
    return r.result
  }

  async deleteV2Policy(id: string): Promise<void> {
    await this.call('IAM Policy Management', 'DELETE', '/v2/policies/{id}', () => this.policy.deleteV2Policy({id}) as unknown as Promise<SdkResponse<unknown>>)
  }

  async getPolicy(id: string): Promise<Policy | undefined> {
    try {
      const r = await this.call('IAM Policy Management', 'GET', '/v1/policies/{id}', () => this.policy.getPolicy({policyId: id}) as unknown as Promise<SdkResponse<Policy>>)
      return r.result?.state === 'deleted' ? undefined : r.result
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }

  async createPolicy(p: PolicyPrototype): Promise<Policy> {
    const r = await this.call('IAM Policy Management', 'POST', '/v1/policies', () =>
      this.policy.createPolicy({
        type: p.type,
        subjects: p.subjects,
        roles: p.roles,
        resources: p.resources,
        description: p.description,
      } as unknown as IamPolicyManagementV1.CreatePolicyParams) as unknown as Promise<SdkResponse<Policy>>,
    )
    return r.result
  }

  async deletePolicy(id: string): Promise<void> {
    await this.call('IAM Policy Management', 'DELETE', '/v1/policies/{id}', () => this.policy.deletePolicy({policyId: id}) as unknown as Promise<SdkResponse<unknown>>)
  }

  /** Service roles an authorization from `source` to `service` may grant. */
  async listAuthorizationRoles(service: string, source: string): Promise<Role[]> {
    const r = await this.call('IAM Policy Management', 'GET', '/v2/roles', () =>
      this.policy.listRoles({serviceName: service, sourceServiceName: source, policyType: 'authorization'}) as unknown as Promise<SdkResponse<{service_roles?: Role[]}>>,
    )
    return r.result?.service_roles ?? []
  }
}

export function isGoneState(state: string | undefined): boolean {
  return state === 'removed' || state === 'pending_reclamation' || state === 'pending_removal' || state === 'deleted'
}

/**
 * The existing policy id inside a 409 `policy_conflict_error` body. `errors[].details.conflicts_with.policy` is the
 * policy id as a string in platform-services-node-sdk iam-policy-management/v1.ts (interface ConflictsWith); some
 * answers carry the policy object instead: both are accepted.
 */
export function conflictingPolicyId(body: unknown): string | undefined {
  const errors = (body as {errors?: Array<{code?: string; details?: {conflicts_with?: {policy?: unknown}}}>})?.errors
  if (!Array.isArray(errors)) return undefined
  const e = errors.find((x) => x?.code === 'policy_conflict_error') ?? errors[0]
  const policy = e?.details?.conflicts_with?.policy
  const id = typeof policy === 'string' ? policy : policy && typeof policy === 'object' ? (policy as {id?: unknown}).id : undefined
  return typeof id === 'string' && id !== '' ? id : undefined
}
