/**
 * Everything the fake IBM Cloud remembers, shared by all its services (the IAM policy fake and the VPC fake must
 * agree on whether the flow-log authorization exists; COS must know the Resource Controller's instances).
 * Seeded resources are flagged and left out of `snapshot()` (GET /__state).
 */
import {randomBytes, randomUUID} from 'node:crypto'

import {DEMO_ACCOUNT} from '../../../src/lib/demo/scenario.js'

export interface Fault {
  /** Service name (`iam`, `rc`, `rm`, `catalog`, `policy`, `cos`, `vpc`, `ce`, `logdna`, `cloudlogs`) or `*`. */
  service: string
  method: string
  /** Matched against path + query. */
  path: RegExp
  status: number
  times: number
  /** Let this many matching requests through first. */
  skip?: number
  body?: unknown
  delayMs?: number
  /** Let the request through, then fail the response (the resource IS created). Only honoured by services that
   * support it (rc, policy, ce, cos create calls). */
  after?: boolean
}

export interface RequestLogEntry {
  service: string
  method: string
  path: string
  query: string
}

export interface ResourceGroup {
  id: string
  crn: string
  account_id: string
  name: string
  state: 'ACTIVE'
  default: boolean
  quota_id: string
  quota_url: string
  payment_methods_url: string
  resource_linkages: unknown[]
  teams_url: string
  created_at: string
  updated_at: string
}

export interface CatalogPlan {
  id: string
  name: string
}
export interface CatalogService {
  id: string
  name: string
  /** Regional (`region`) or global (`global`) target. */
  targets: 'global' | 'regional'
  plans: CatalogPlan[]
}

export interface Instance {
  guid: string
  crn: string
  name: string
  region_id: string
  resource_group_id: string
  resource_id: string
  resource_plan_id: string
  state: string
  created_at: string
  updated_at: string
  pollsLeft: number
  tags: string[]
  parameters: Record<string, unknown>
  /** Created as a side effect of a Code Engine project. */
  projectId?: string
  seeded?: boolean
}

export interface ResourceKey {
  guid: string
  crn: string
  name: string
  source_crn: string
  instanceGuid: string
  role: string
  credentials: Record<string, unknown>
  created_at: string
  updated_at: string
}

export interface Reclamation {
  id: string
  instanceGuid: string
  state: string
  created_at: string
}

export interface Policy {
  id: string
  body: Record<string, unknown>
  created_at: string
}

export interface StoredObject {
  key: string
  body: Buffer
  etag: string
  lastModified: Date
  metadata: Record<string, string>
  contentType?: string
}

export interface Bucket {
  name: string
  instanceGuid: string
  location: string
  created: Date
  objects: Map<string, StoredObject>
  seeded?: boolean
}

export interface CeProject {
  id: string
  name: string
  crn: string
  account_id: string
  region: string
  resource_group_id: string
  status: string
  created_at: string
  pollsLeft: number
}

export interface CeEntity {
  projectId: string
  name: string
  id: string
  entity_tag: string
  created_at: string
  body: Record<string, unknown>
}

export interface CeJobRun {
  projectId: string
  name: string
  id: string
  job_name: string
  created_at: string
  status: string
  gets: number
  runMode: string
}

export interface Ingested {
  kind: 'logdna' | 'cloud-logs'
  receivedAt: number
  query: Record<string, string>
  body: unknown
}

export interface FakeCloudOptions {
  accountId?: string
  apiKey?: string
  /** GETs of a provisioning instance before it turns active (default 2). */
  provisioningPolls?: number
  /** GETs of a creating Code Engine project before it turns active (default 2). */
  projectPolls?: number
  /** Resource instances are created with onetime_credentials (keys read back as REDACTED). */
  onetimeCredentials?: boolean
  /** Log Analysis / Mezmo ingestion keys the fake ingest endpoint accepts. */
  ingestionKeys?: string[]
  region?: string
  /** VPC fake: GETs before a new collector is stable, its final state, `service_error` refusals after authorization. */
  collectorPolls?: number
  collectorFinalState?: string
  propagationRefusals?: number
  /** Serve each service under a path of its own (base URLs carry a path). */
  mountPaths?: boolean
  /** 409 policy conflicts carry the policy object instead of its id (both forms exist). */
  conflictAsObject?: boolean
  /** GETs of a build run before it leaves pending/running (default 2). */
  buildRunPolls?: number
  /** Where a build run ends up (default the SDK's success value; `failed` to test the error). */
  buildRunFinalStatus?: string
}

/** IAM Identity service ID (platform-services-node-sdk iam-identity/v1.ts ServiceId). */
export interface ServiceId {
  id: string
  iam_id: string
  account_id: string
  name: string
  description?: string
  crn: string
  entity_tag: string
  created_at: string
  modified_at: string
  locked: boolean
}

/** IAM Identity API key (iam-identity/v1.ts ApiKey); `apikey` is the secret value. */
export interface ApiKeyRecord {
  id: string
  iam_id: string
  account_id: string
  name: string
  description?: string
  crn: string
  entity_tag: string
  created_at: string
  modified_at: string
  locked: boolean
  apikey: string
}

export interface CeBuildRun {
  projectId: string
  name: string
  id: string
  build_name: string
  created_at: string
  status: string
  gets: number
  output_image: string
  digest: string
}

export class FakeCloudState {
  readonly accountId: string
  readonly apiKeys = new Map<string, {accountId: string; iamId: string}>()
  readonly tokens = new Map<string, {accountId: string; iamId: string; exp: number}>()
  readonly refreshTokens = new Map<string, string>()
  readonly resourceGroups: ResourceGroup[] = []
  readonly catalog: CatalogService[] = []
  readonly instances = new Map<string, Instance>()
  readonly keys = new Map<string, ResourceKey>()
  readonly reclamations = new Map<string, Reclamation>()
  readonly policies = new Map<string, Policy>()
  readonly buckets = new Map<string, Bucket>()
  readonly hmac = new Map<string, {secret: string; instanceGuid: string}>()
  readonly projects = new Map<string, CeProject>()
  readonly secrets = new Map<string, CeEntity>()
  readonly configMaps = new Map<string, CeEntity>()
  readonly jobs = new Map<string, CeEntity>()
  readonly jobRuns = new Map<string, CeJobRun>()
  readonly builds = new Map<string, CeEntity>()
  readonly buildRuns = new Map<string, CeBuildRun>()
  readonly serviceIds = new Map<string, ServiceId>()
  readonly identityKeys = new Map<string, ApiKeyRecord>()
  /** Container Registry namespaces → owning account. */
  readonly namespaces = new Map<string, string>()
  readonly conflictAsObject: boolean
  readonly buildRunPolls: number
  readonly buildRunFinalStatus: string
  readonly ingested: Ingested[] = []
  readonly ingestionKeys: Set<string>
  readonly faults: Fault[] = []
  readonly log: RequestLogEntry[] = []
  /** Other collections (the VPC fake's) contributed to the snapshot. */
  readonly snapshotters: Array<() => Record<string, unknown[]>> = []
  readonly provisioningPolls: number
  readonly projectPolls: number
  readonly onetimeCredentials: boolean
  readonly region: string
  private counter = 0

  constructor(options: FakeCloudOptions = {}) {
    this.accountId = options.accountId ?? DEMO_ACCOUNT
    this.provisioningPolls = options.provisioningPolls ?? 2
    this.projectPolls = options.projectPolls ?? 2
    this.onetimeCredentials = options.onetimeCredentials ?? false
    this.conflictAsObject = options.conflictAsObject ?? false
    this.buildRunPolls = options.buildRunPolls ?? 2
    this.buildRunFinalStatus = options.buildRunFinalStatus ?? 'succeeded'
    this.region = options.region ?? 'us-south'
    this.ingestionKeys = new Set(options.ingestionKeys ?? ['fake-ingestion-key-0123456789abcdef'])
    const apiKey = options.apiKey ?? `fake-${randomBytes(18).toString('base64url')}`
    this.apiKeys.set(apiKey, {accountId: this.accountId, iamId: 'IBMid-fake0000001'})
    this.seed()
  }

  get apiKey(): string {
    return [...this.apiKeys.keys()][0]
  }

  nextId(): number {
    this.counter += 1
    return this.counter
  }

  uuid(): string {
    return randomUUID()
  }

  now(): string {
    return new Date().toISOString()
  }

  /** Register a fault; it fires on the next `times` matching requests. */
  inject(fault: Omit<Partial<Fault>, 'path'> & {path: RegExp | string; status: number}): void {
    this.faults.push({
      service: fault.service ?? '*',
      method: (fault.method ?? '*').toUpperCase(),
      path: typeof fault.path === 'string' ? new RegExp(fault.path) : fault.path,
      status: fault.status,
      times: fault.times ?? 1,
      skip: fault.skip,
      body: fault.body,
      delayMs: fault.delayMs,
      after: fault.after,
    })
  }

  /** Faults that fail a request before it is processed. */
  takeFault(service: string, method: string, pathAndQuery: string): Fault | undefined {
    return this.take(service, method, pathAndQuery, false)
  }

  /** Faults that let a create go through, then fail its response (the client never learns the id). */
  takeAfterFault(service: string, method: string, pathAndQuery: string): Fault | undefined {
    return this.take(service, method, pathAndQuery, true)
  }

  private take(service: string, method: string, pathAndQuery: string, after: boolean): Fault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        Boolean(f.after) === after &&
        (f.service === '*' || f.service === service) &&
        (f.method === '*' || f.method === method) &&
        f.path.test(pathAndQuery),
    )
    if (i < 0) return undefined
    const f = this.faults[i]
    if (f.skip && f.skip > 0) {
      f.skip -= 1
      return undefined
    }
    f.times -= 1
    if (f.times <= 0) this.faults.splice(i, 1)
    return f
  }

  /** Does an is/flow-log-collector → cloud-object-storage Writer authorization cover the bucket's instance? */
  collectorAuthorizedFor(bucketName: string): boolean {
    const bucket = this.buckets.get(bucketName)
    for (const p of this.policies.values()) {
      const b = p.body
      if (b.type !== 'authorization') continue
      const subj = attrs((b.subjects as unknown[])?.[0])
      const res = attrs((b.resources as unknown[])?.[0])
      if (subj.serviceName !== 'is') continue
      if (subj.resourceType !== undefined && subj.resourceType !== 'flow-log-collector') continue
      if (res.serviceName !== 'cloud-object-storage') continue
      if (res.serviceInstance !== undefined && (!bucket || res.serviceInstance !== bucket.instanceGuid)) continue
      if (res.resourceType === 'bucket' && res.resource !== bucketName) continue
      const roles = (b.roles as Array<{role_id?: string}>) ?? []
      if (!roles.some((r) => /serviceRole:(Writer|Manager)$/.test(r.role_id ?? ''))) continue
      return true
    }
    return false
  }

  /** Resources created by clients, per collection (GET /__state). */
  snapshot(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {
      resource_instances: [...this.instances.values()]
        .filter((i) => !i.seeded)
        .map((i) => ({guid: i.guid, name: i.name, resource_id: i.resource_id, state: i.state})),
      resource_keys: [...this.keys.values()].map((k) => ({guid: k.guid, name: k.name, source_crn: k.source_crn})),
      policies: [...this.policies.values()].map((p) => ({id: p.id, description: p.body.description})),
      buckets: [...this.buckets.values()].filter((b) => !b.seeded).map((b) => ({name: b.name, location: b.location, objects: b.objects.size})),
      projects: [...this.projects.values()].map((p) => ({id: p.id, name: p.name, status: p.status})),
      secrets: [...this.secrets.values()].map((s) => ({project_id: s.projectId, name: s.name})),
      config_maps: [...this.configMaps.values()].map((s) => ({project_id: s.projectId, name: s.name})),
      jobs: [...this.jobs.values()].map((s) => ({project_id: s.projectId, name: s.name})),
      job_runs: [...this.jobRuns.values()].map((s) => ({project_id: s.projectId, name: s.name, job_name: s.job_name, status: s.status})),
      builds: [...this.builds.values()].map((s) => ({project_id: s.projectId, name: s.name})),
      build_runs: [...this.buildRuns.values()].map((s) => ({project_id: s.projectId, name: s.name, status: s.status})),
      registry_namespaces: [...this.namespaces.keys()].map((name) => ({name})),
      service_ids: [...this.serviceIds.values()].map((s) => ({id: s.id, name: s.name})),
      api_keys: [...this.identityKeys.values()].map((k) => ({id: k.id, name: k.name, iam_id: k.iam_id})),
    }
    for (const s of this.snapshotters) Object.assign(out, s())
    return out
  }

  private seed(): void {
    const t = '2024-01-01T00:00:00.000Z'
    const rg = (id: string, name: string, isDefault: boolean): ResourceGroup => ({
      id,
      crn: `crn:v1:bluemix:public:resource-controller::a/${this.accountId}::resource-group:${id}`,
      account_id: this.accountId,
      name,
      state: 'ACTIVE',
      default: isDefault,
      quota_id: 'a3d7b8d01e261c24677937c29ab33f3c',
      quota_url: '/v2/quota_definitions/a3d7b8d01e261c24677937c29ab33f3c',
      payment_methods_url: `/v2/resource_groups/${id}/payment_methods`,
      resource_linkages: [],
      teams_url: `/v2/resource_groups/${id}/teams`,
      created_at: t,
      updated_at: t,
    })
    this.resourceGroups.push(rg('0be5ad401ae913d8ff665d92680664ed', 'default', true))
    this.resourceGroups.push(rg('5c49eabcf5e85881a37e2d100a33b3df', 'flowlogs-rg', false))
    this.catalog.push(
      {
        id: 'dff97f5c-bc5e-4455-b470-411c3edbe49c',
        name: 'cloud-object-storage',
        targets: 'global',
        plans: [
          {id: '744bfc56-d12c-4866-88d5-dac9139e0e5d', name: 'standard'},
          {id: '2fdf0c08-2d32-4f46-84b5-32e0c92fffd8', name: 'lite'},
          {id: '1e4e33e4-cfa6-4f12-9016-be594a6d5f87', name: 'onerate'},
        ],
      },
      {
        id: 'e13e1860-959c-11e8-871e-ad157af61ad7',
        name: 'logdna',
        targets: 'regional',
        plans: [
          {id: '2e4d7c4a-6f2e-4a6f-9d43-3c5a1b0f7a01', name: 'lite'},
          {id: '5c7b1e2d-8a4f-4b3e-9c21-7d6e5f4a3b02', name: '7-day'},
        ],
      },
      {
        id: 'a7c1a9b0-3f2e-4e8d-9b6c-5d4e3f2a1b0c',
        name: 'logs',
        targets: 'regional',
        plans: [
          {id: 'b8d2e0c1-4a3f-4f9e-8c7d-6e5f4a3b2c1d', name: 'standard'},
          {id: 'c9e3f1d2-5b4a-4a0f-9d8e-7f6a5b4c3d2e', name: 'trial'},
        ],
      },
      {
        id: 'bdb5a1e6-2f9a-4b8c-8d7e-6f5a4b3c2d1e',
        name: 'codeengine',
        targets: 'regional',
        plans: [{id: 'c8f3f2b1-9a8e-4d7c-b6a5-4f3e2d1c0b9a', name: 'standard'}],
      },
    )
    // A bucket owned by another account: HEAD answers 403 (the name is taken).
    this.buckets.set('flowlog-taken', {
      name: 'flowlog-taken',
      instanceGuid: 'someone-else',
      location: 'us-south-smart',
      created: new Date(t),
      objects: new Map(),
      seeded: true,
    })
  }
}

export function attrs(entry: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const list = (entry as {attributes?: Array<{name?: string; value?: unknown}>})?.attributes ?? []
  for (const a of list) if (a && typeof a.name === 'string') out[a.name] = String(a.value)
  return out
}
