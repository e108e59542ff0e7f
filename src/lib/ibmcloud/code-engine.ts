/**
 * A hand-written client of the Code Engine API v2 (IBM/code-engine-go-sdk codeenginev2) on the shared IbmService base: projects,
 * secrets, config maps, jobs and job runs. Every call carries `version`; updates send `If-Match: <entity_tag>`
 * (PATCH as merge-patch). Shapes follow IBM/code-engine-node-sdk `code-engine/v2.ts`.
 */
import {isNotFound, IbmService, type IbmServiceOptions, type RetryConfig, seg} from './http.js'

/** Pinned API version (≥ 2024-05-13: Code Engine's own variables appear in computed_env_variables). */
export const CE_API_VERSION = '2025-01-10'

export interface CeProject {
  id: string
  name: string
  crn?: string
  region?: string
  resource_group_id?: string
  status: string
  created_at?: string
  [k: string]: unknown
}

export interface CeEnvVar {
  type: 'literal' | 'config_map_full_reference' | 'secret_full_reference' | 'config_map_key_reference' | 'secret_key_reference'
  name?: string
  value?: string
  reference?: string
  key?: string
  prefix?: string
}

export interface CeSecret {
  name: string
  id?: string
  format?: string
  data?: Record<string, string>
  entity_tag: string
  [k: string]: unknown
}

export interface CeConfigMap {
  name: string
  id?: string
  data?: Record<string, string>
  entity_tag: string
  [k: string]: unknown
}

export interface CeJobSpec {
  image_reference: string
  image_secret?: string
  run_commands?: string[]
  run_arguments?: string[]
  run_env_variables?: CeEnvVar[]
  run_mode?: 'task' | 'daemon'
  scale_cpu_limit?: string
  scale_memory_limit?: string
  scale_max_execution_time?: number
  scale_retry_limit?: number
  scale_array_spec?: string
}

export interface CeJob extends CeJobSpec {
  name: string
  id?: string
  entity_tag: string
  created_at?: string
  [k: string]: unknown
}

export interface CeJobRun {
  name: string
  id?: string
  job_name?: string
  status?: string
  status_details?: Record<string, unknown>
  created_at?: string
  [k: string]: unknown
}

/** codeenginev2 CreateBuildOptions (the fields flowlog sets). */
export interface CeBuildSpec {
  output_image: string
  output_secret: string
  strategy_type: 'dockerfile' | 'buildpacks'
  source_type?: 'git' | 'local'
  source_url?: string
  source_revision?: string
  source_context_dir?: string
  strategy_spec_file?: string
  strategy_size?: 'small' | 'medium' | 'large' | 'xlarge' | 'xxlarge'
  timeout?: number
}

export interface CeBuild extends CeBuildSpec {
  name: string
  id?: string
  entity_tag: string
  status?: string
  [k: string]: unknown
}

/**
 * A build run. Its `status` is one of codeenginev2's BuildRun status values (pending, running, failed, and the success
 * value); when it is done `status_details.output_digest` names the pushed image.
 */
export interface CeBuildRun {
  name: string
  id?: string
  build_name?: string
  status?: string
  output_image?: string
  status_details?: {output_digest?: string; reason?: string; start_time?: string; completion_time?: string}
  created_at?: string
  [k: string]: unknown
}

export interface CodeEngineClientOptions {
  /** Base URL ending in /v2. */
  serviceUrl: string
  authenticator: IbmServiceOptions['authenticator']
  version?: string
  retry?: RetryConfig
  env?: NodeJS.ProcessEnv
}

export class CodeEngineClient extends IbmService {
  readonly version: string

  constructor(options: CodeEngineClientOptions) {
    const version = options.version ?? CE_API_VERSION
    super({
      serviceName: 'Code Engine',
      serviceUrl: options.serviceUrl,
      authenticator: options.authenticator,
      defaultQuery: {version},
      retry: options.retry,
      env: options.env,
    })
    this.version = version
  }

  /** GET that answers undefined on 404. */
  private async getOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      const r = await this.requestRaw<T>('GET', path)
      return withEtag(r.result, r.headers)
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }

  /** DELETE that answers false on 404 (already gone). */
  private async deleteOrGone(path: string): Promise<boolean> {
    try {
      await this.request('DELETE', path)
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  // Projects
  listProjects(): Promise<CeProject[]> {
    return this.listAll<CeProject>('/projects', 'projects', {}, {limit: 100})
  }
  getProject(id: string): Promise<CeProject | undefined> {
    return this.getOrUndefined(`/projects/${seg(id)}`)
  }
  createProject(body: {name: string; resource_group_id?: string; tags?: string[]}): Promise<CeProject> {
    return this.request('POST', '/projects', {body})
  }
  deleteProject(id: string): Promise<boolean> {
    return this.deleteOrGone(`/projects/${seg(id)}`)
  }

  // Secrets
  getSecret(projectId: string, name: string): Promise<CeSecret | undefined> {
    return this.getOrUndefined(`/projects/${seg(projectId)}/secrets/${seg(name)}`)
  }
  async createSecret(projectId: string, body: {name: string; format: string; data: Record<string, string>}): Promise<CeSecret> {
    const r = await this.requestRaw<CeSecret>('POST', `/projects/${seg(projectId)}/secrets`, {body})
    return withEtag(r.result, r.headers)
  }
  async replaceSecret(projectId: string, name: string, ifMatch: string, body: {format: string; data: Record<string, string>}): Promise<CeSecret> {
    const r = await this.requestRaw<CeSecret>('PUT', `/projects/${seg(projectId)}/secrets/${seg(name)}`, {body, headers: {'If-Match': ifMatch}})
    return withEtag(r.result, r.headers)
  }
  deleteSecret(projectId: string, name: string): Promise<boolean> {
    return this.deleteOrGone(`/projects/${seg(projectId)}/secrets/${seg(name)}`)
  }

  // Config maps
  getConfigMap(projectId: string, name: string): Promise<CeConfigMap | undefined> {
    return this.getOrUndefined(`/projects/${seg(projectId)}/config_maps/${seg(name)}`)
  }
  async createConfigMap(projectId: string, body: {name: string; data: Record<string, string>}): Promise<CeConfigMap> {
    const r = await this.requestRaw<CeConfigMap>('POST', `/projects/${seg(projectId)}/config_maps`, {body})
    return withEtag(r.result, r.headers)
  }
  async replaceConfigMap(projectId: string, name: string, ifMatch: string, body: {data: Record<string, string>}): Promise<CeConfigMap> {
    const r = await this.requestRaw<CeConfigMap>('PUT', `/projects/${seg(projectId)}/config_maps/${seg(name)}`, {body, headers: {'If-Match': ifMatch}})
    return withEtag(r.result, r.headers)
  }
  deleteConfigMap(projectId: string, name: string): Promise<boolean> {
    return this.deleteOrGone(`/projects/${seg(projectId)}/config_maps/${seg(name)}`)
  }

  // Jobs
  getJob(projectId: string, name: string): Promise<CeJob | undefined> {
    return this.getOrUndefined(`/projects/${seg(projectId)}/jobs/${seg(name)}`)
  }
  async createJob(projectId: string, body: CeJobSpec & {name: string}): Promise<CeJob> {
    const r = await this.requestRaw<CeJob>('POST', `/projects/${seg(projectId)}/jobs`, {body})
    return withEtag(r.result, r.headers)
  }
  async updateJob(projectId: string, name: string, ifMatch: string, patch: Partial<CeJobSpec>): Promise<CeJob> {
    const r = await this.requestRaw<CeJob>('PATCH', `/projects/${seg(projectId)}/jobs/${seg(name)}`, {
      body: patch,
      headers: {'If-Match': ifMatch, 'Content-Type': 'application/merge-patch+json'},
    })
    return withEtag(r.result, r.headers)
  }
  deleteJob(projectId: string, name: string): Promise<boolean> {
    return this.deleteOrGone(`/projects/${seg(projectId)}/jobs/${seg(name)}`)
  }

  // Builds and build runs
  getBuild(projectId: string, name: string): Promise<CeBuild | undefined> {
    return this.getOrUndefined(`/projects/${seg(projectId)}/builds/${seg(name)}`)
  }
  async createBuild(projectId: string, body: CeBuildSpec & {name: string}): Promise<CeBuild> {
    const r = await this.requestRaw<CeBuild>('POST', `/projects/${seg(projectId)}/builds`, {body})
    return withEtag(r.result, r.headers)
  }
  deleteBuild(projectId: string, name: string): Promise<boolean> {
    return this.deleteOrGone(`/projects/${seg(projectId)}/builds/${seg(name)}`)
  }
  listBuildRuns(projectId: string, buildName?: string): Promise<CeBuildRun[]> {
    return this.listAll<CeBuildRun>(`/projects/${seg(projectId)}/build_runs`, 'build_runs', {build_name: buildName}, {limit: 100})
  }
  getBuildRun(projectId: string, name: string): Promise<CeBuildRun | undefined> {
    return this.getOrUndefined(`/projects/${seg(projectId)}/build_runs/${seg(name)}`)
  }
  createBuildRun(projectId: string, body: {build_name: string}): Promise<CeBuildRun> {
    return this.request('POST', `/projects/${seg(projectId)}/build_runs`, {body})
  }
  deleteBuildRun(projectId: string, name: string): Promise<boolean> {
    return this.deleteOrGone(`/projects/${seg(projectId)}/build_runs/${seg(name)}`)
  }

  // Job runs
  listJobRuns(projectId: string, jobName?: string): Promise<CeJobRun[]> {
    return this.listAll<CeJobRun>(`/projects/${seg(projectId)}/job_runs`, 'job_runs', {job_name: jobName}, {limit: 100})
  }
  getJobRun(projectId: string, name: string): Promise<CeJobRun | undefined> {
    return this.getOrUndefined(`/projects/${seg(projectId)}/job_runs/${seg(name)}`)
  }
  createJobRun(projectId: string, body: {job_name: string}): Promise<CeJobRun> {
    return this.request('POST', `/projects/${seg(projectId)}/job_runs`, {body})
  }
  deleteJobRun(projectId: string, name: string): Promise<boolean> {
    return this.deleteOrGone(`/projects/${seg(projectId)}/job_runs/${seg(name)}`)
  }
}

/** The entity tag from the body, else from the ETag header. */
function withEtag<T>(result: T, headers: Record<string, string>): T {
  if (result && typeof result === 'object') {
    const r = result as Record<string, unknown>
    if ((r.entity_tag === undefined || r.entity_tag === '') && headers.etag) r.entity_tag = headers.etag.replace(/^W\//, '').replace(/^"|"$/g, '')
  }
  return result
}
