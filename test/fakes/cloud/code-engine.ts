/**
 * Fake Code Engine API v2: projects (creating → active after a few GETs; soft delete, reclaimable through the
 * Resource Controller), secrets and config maps (entity tags, PUT with If-Match), jobs (PATCH merge-patch with
 * If-Match), job runs (pending → running → completed for tasks; daemons keep running: the JobRun status values of
 * code-engine-go-sdk codeenginev2 are pending, running, completed, failed), builds and build runs (pending → running →
 * the BuildRun success value, with status_details.output_digest). `version` is required.
 */
import type {ServerResponse} from 'node:http'

import {type Ctx, type Handler, isObject, makeService, platformError, q, route, sendJson} from './http.js'
import type {CeBuildRun, CeEntity, CeJobRun, CeProject, FakeCloudState} from './state.js'
import {createHash} from 'node:crypto'

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/
const ENV_TYPES = new Set(['literal', 'config_map_full_reference', 'secret_full_reference', 'config_map_key_reference', 'secret_key_reference'])
const SECRET_FORMATS = new Set(['generic', 'ssh_auth', 'registry', 'basic_auth', 'hmac_auth', 'tls', 'service_access', 'service_operator'])

export function codeEngineService(state: FakeCloudState): Handler {
  let tagCounter = 0
  const nextTag = () => String(++tagCounter)
  const ek = (pid: string, name: string) => `${pid}/${name}`
  const base = (region: string) => `https://api.${region}.codeengine.cloud.ibm.com/v2`

  const projectJson = (p: CeProject) => ({
    id: p.id,
    name: p.name,
    crn: p.crn,
    href: `${base(p.region)}/projects/${p.id}`,
    account_id: p.account_id,
    region: p.region,
    resource_group_id: p.resource_group_id,
    resource_type: 'project_v2',
    status: p.status,
    created_at: p.created_at,
  })

  const entityJson = (e: CeEntity, kind: 'secrets' | 'config_maps' | 'jobs', p: CeProject) => ({
    ...e.body,
    name: e.name,
    id: e.id,
    href: `${base(p.region)}/projects/${p.id}/${kind}/${e.name}`,
    entity_tag: e.entity_tag,
    created_at: e.created_at,
    project_id: p.id,
    region: p.region,
  })

  const runJson = (r: CeJobRun, p: CeProject) => ({
    name: r.name,
    id: r.id,
    href: `${base(p.region)}/projects/${p.id}/job_runs/${r.name}`,
    job_name: r.job_name,
    created_at: r.created_at,
    project_id: p.id,
    region: p.region,
    resource_type: 'job_run_v2',
    run_mode: r.runMode,
    status: r.status,
    status_details: {
      failed: r.status === 'failed' ? 1 : 0,
      indices_details: {},
      pending: r.status === 'pending' ? 1 : 0,
      requested: 0,
      running: r.status === 'running' ? 1 : 0,
      start_time: r.status === 'pending' ? undefined : r.created_at,
      succeeded: r.status === 'completed' ? 1 : 0,
      unknown: 0,
    },
  })

  const withEtag = (res: ServerResponse, status: number, body: Record<string, unknown>) =>
    sendJson(res, status, body, {etag: String(body.entity_tag ?? '')})

  /** Common checks; returns the (active) project or answers the request itself. */
  const project = (ctx: Ctx, mustBeActive = true): CeProject | undefined => {
    const p = state.projects.get(ctx.params.pid)
    if (!p || p.status === 'soft_deleted') {
      platformError(ctx.res, 404, 'project_not_found', `Project ${ctx.params.pid} not found`)
      return undefined
    }
    if (mustBeActive && p.status !== 'active') {
      platformError(ctx.res, 409, 'project_not_ready', `Project ${p.id} is ${p.status}; wait until it is active`)
      return undefined
    }
    return p
  }

  const ifMatch = (ctx: Ctx, e: CeEntity): boolean => {
    const h = ctx.req.headers['if-match']
    if (h === undefined || h === '') {
      platformError(ctx.res, 428, 'precondition_required', 'The If-Match header is required')
      return false
    }
    if (h !== '*' && h !== e.entity_tag && h !== `"${e.entity_tag}"`) {
      platformError(ctx.res, 412, 'precondition_failed', `If-Match ${String(h)} does not match the current entity tag`)
      return false
    }
    return true
  }

  const validData = (ctx: Ctx, data: unknown): data is Record<string, string> => {
    if (data === undefined) return true
    if (!isObject(data) || !Object.entries(data).every(([k, v]) => /^[-._a-zA-Z0-9]{1,253}$/.test(k) && typeof v === 'string')) {
      platformError(ctx.res, 400, 'invalid_data', 'data must map KEY (alphanumerics, -, _, .) to string values')
      return false
    }
    return true
  }

  const collection = (kind: 'secrets' | 'config_maps'): Map<string, CeEntity> => (kind === 'secrets' ? state.secrets : state.configMaps)

  const dataRoutes = (kind: 'secrets' | 'config_maps') => {
    const coll = collection(kind)
    const noun = kind === 'secrets' ? 'secret' : 'config map'
    return [
      route('GET', `/projects/:pid/${kind}`, (ctx) => {
        const p = project(ctx, false)
        if (!p) return
        const items = [...coll.values()].filter((e) => e.projectId === p.id).map((e) => entityJson(e, kind, p))
        sendJson(ctx.res, 200, {[kind]: items, limit: 100, first: {href: `${base(p.region)}/projects/${p.id}/${kind}?limit=100`}})
      }),
      route('POST', `/projects/:pid/${kind}`, (ctx) => {
        const p = project(ctx)
        if (!p) return
        const b = ctx.json
        if (!isObject(b) || typeof b.name !== 'string' || !NAME.test(b.name) || b.name.length > 253) {
          return platformError(ctx.res, 400, 'invalid_name', `a ${noun} needs a valid name`)
        }
        if (kind === 'secrets' && (typeof b.format !== 'string' || !SECRET_FORMATS.has(b.format))) {
          return platformError(ctx.res, 400, 'invalid_format', 'format is required (generic, ssh_auth, registry, basic_auth, hmac_auth, tls, service_access, service_operator)')
        }
        if (!validData(ctx, b.data)) return
        if (kind === 'secrets' && b.format === 'registry') {
          const d = (b.data ?? {}) as Record<string, string>
          const bad = Object.keys(d).find((k) => !['server', 'username', 'password', 'email'].includes(k))
          if (bad || !d.server || !d.username || !d.password) return platformError(ctx.res, 400, 'invalid_data', 'a registry secret needs data.server, data.username and data.password (and optionally email) only')
        }
        if (coll.has(ek(p.id, b.name))) return platformError(ctx.res, 409, 'resource_already_exists', `${noun} ${b.name} already exists`)
        const e: CeEntity = {
          projectId: p.id,
          name: b.name,
          id: state.uuid(),
          entity_tag: nextTag(),
          created_at: state.now(),
          body: {
            ...(kind === 'secrets' ? {format: b.format, resource_type: b.format === 'registry' ? 'secret_registry_v2' : 'secret_generic_v2'} : {resource_type: 'config_map_v2'}),
            data: b.data ?? {},
          },
        }
        coll.set(ek(p.id, b.name), e)
        const after = state.takeAfterFault('ce', 'POST', ctx.url.pathname + ctx.url.search)
        if (after) return platformError(ctx.res, after.status, 'injected_fault', `injected ${after.status} after create`)
        withEtag(ctx.res, 201, entityJson(e, kind, p))
      }),
      route('GET', `/projects/:pid/${kind}/:name`, (ctx) => {
        const p = project(ctx, false)
        if (!p) return
        const e = coll.get(ek(p.id, ctx.params.name))
        if (!e) return platformError(ctx.res, 404, `${kind === 'secrets' ? 'secret' : 'config_map'}_not_found`, `${noun} ${ctx.params.name} not found`)
        withEtag(ctx.res, 200, entityJson(e, kind, p))
      }),
      route('PUT', `/projects/:pid/${kind}/:name`, (ctx) => {
        const p = project(ctx)
        if (!p) return
        const e = coll.get(ek(p.id, ctx.params.name))
        if (!e) return platformError(ctx.res, 404, 'not_found', `${noun} ${ctx.params.name} not found`)
        if (!ifMatch(ctx, e)) return
        const b = ctx.json
        if (!isObject(b)) return platformError(ctx.res, 400, 'invalid_body', 'body must be a JSON object')
        if (kind === 'secrets' && b.format !== e.body.format) return platformError(ctx.res, 400, 'invalid_format', `format must stay ${String(e.body.format)}`)
        if (!validData(ctx, b.data)) return
        e.body = {...e.body, data: b.data ?? {}}
        e.entity_tag = nextTag()
        withEtag(ctx.res, 200, entityJson(e, kind, p))
      }),
      route('DELETE', `/projects/:pid/${kind}/:name`, (ctx) => {
        const p = project(ctx, false)
        if (!p) return
        if (!coll.delete(ek(p.id, ctx.params.name))) return platformError(ctx.res, 404, 'not_found', `${noun} ${ctx.params.name} not found`)
        sendJson(ctx.res, 202, {})
      }),
    ]
  }

  const validateJob = (ctx: Ctx, p: CeProject, b: Record<string, unknown>, partial: boolean): boolean => {
    if (!partial || b.image_reference !== undefined) {
      if (typeof b.image_reference !== 'string' || !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+(:[\w.-]+)?(@sha256:[a-f0-9]{64})?$/.test(b.image_reference)) {
        platformError(ctx.res, 400, 'invalid_image_reference', `image_reference ${String(b.image_reference)} is not a valid image reference (registry/namespace/name:tag)`)
        return false
      }
    }
    if (b.image_secret !== undefined && b.image_secret !== null && state.secrets.get(ek(p.id, String(b.image_secret)))?.body.format !== 'registry') {
      platformError(ctx.res, 400, 'invalid_image_secret', `image_secret ${String(b.image_secret)} is not a registry secret of the project`)
      return false
    }
    if (b.run_mode !== undefined && b.run_mode !== 'task' && b.run_mode !== 'daemon') {
      platformError(ctx.res, 400, 'invalid_run_mode', 'run_mode must be task or daemon')
      return false
    }
    for (const f of ['run_commands', 'run_arguments']) {
      if (b[f] !== undefined && (!Array.isArray(b[f]) || !(b[f] as unknown[]).every((x) => typeof x === 'string'))) {
        platformError(ctx.res, 400, 'invalid_field', `${f} must be an array of strings`)
        return false
      }
    }
    if (b.run_env_variables !== undefined) {
      if (!Array.isArray(b.run_env_variables)) {
        platformError(ctx.res, 400, 'invalid_field', 'run_env_variables must be an array')
        return false
      }
      for (const v of b.run_env_variables as unknown[]) {
        if (!isObject(v) || typeof v.type !== 'string' || !ENV_TYPES.has(v.type)) {
          platformError(ctx.res, 400, 'invalid_env', `invalid run_env_variables entry ${JSON.stringify(v)}`)
          return false
        }
        if (v.type === 'literal' && (typeof v.name !== 'string' || typeof v.value !== 'string')) {
          platformError(ctx.res, 400, 'invalid_env', 'a literal variable needs name and value')
          return false
        }
        if (v.type !== 'literal') {
          const coll = v.type.startsWith('secret') ? state.secrets : state.configMaps
          if (typeof v.reference !== 'string' || !coll.has(ek(p.id, v.reference))) {
            platformError(ctx.res, 400, 'reference_not_found', `${v.type} reference ${String(v.reference)} does not exist in the project`)
            return false
          }
        }
      }
    }
    return true
  }

  const JOB_DEFAULTS = {
    run_mode: 'task',
    run_commands: [],
    run_arguments: [],
    run_env_variables: [],
    run_volume_mounts: [],
    scale_array_spec: '0',
    scale_cpu_limit: '1',
    scale_memory_limit: '4G',
    scale_ephemeral_storage_limit: '400M',
    scale_max_execution_time: 7200,
    scale_retry_limit: 3,
    run_service_account: 'default',
  }


  // ---- builds and build runs (codeenginev2 CreateBuildOptions / BuildRun) ------------------------------------
  const BUILD_FIELDS = new Set(['name', 'output_image', 'output_secret', 'strategy_type', 'run_build_params', 'source_context_dir', 'source_revision', 'source_secret', 'source_type', 'source_url', 'strategy_size', 'strategy_spec_file', 'timeout'])
  const buildJson = (e: CeEntity, p: CeProject) => ({...e.body, name: e.name, id: e.id, href: `${base(p.region)}/projects/${p.id}/builds/${e.name}`, entity_tag: e.entity_tag, created_at: e.created_at, project_id: p.id, region: p.region, resource_type: 'build_v2', status: 'ready'})
  const buildRunJson = (r: CeBuildRun, p: CeProject) => {
    const done = r.status !== 'pending' && r.status !== 'running'
    return {
      name: r.name,
      id: r.id,
      build_name: r.build_name,
      href: `${base(p.region)}/projects/${p.id}/build_runs/${r.name}`,
      created_at: r.created_at,
      project_id: p.id,
      region: p.region,
      resource_type: 'build_run_v2',
      output_image: r.output_image,
      status: r.status,
      status_details: {
        ...(r.status === 'pending' ? {} : {start_time: r.created_at}),
        ...(done ? {completion_time: state.now()} : {}),
        ...(done && r.status !== 'failed' ? {output_digest: r.digest} : {}),
        ...(r.status === 'failed' ? {reason: 'ExitCode'} : {}),
      },
    }
  }
  const buildRoutes = [
    route('POST', '/projects/:pid/builds', (ctx) => {
      const p = project(ctx)
      if (!p) return
      const b = ctx.json
      if (!isObject(b) || typeof b.name !== 'string' || !NAME.test(b.name) || b.name.length > 63) return platformError(ctx.res, 400, 'invalid_name', 'a build needs a valid name')
      const bad = Object.keys(b).find((k) => !BUILD_FIELDS.has(k))
      if (bad) return platformError(ctx.res, 400, 'invalid_field', `unknown field ${bad}`)
      for (const f of ['output_image', 'output_secret', 'strategy_type']) if (typeof b[f] !== 'string' || b[f] === '') return platformError(ctx.res, 400, 'missing_field', `${f} is required`)
      if (!['dockerfile', 'buildpacks'].includes(String(b.strategy_type))) return platformError(ctx.res, 400, 'invalid_value', 'strategy_type must be dockerfile or buildpacks')
      if (b.source_type !== undefined && !['git', 'local'].includes(String(b.source_type))) return platformError(ctx.res, 400, 'invalid_value', 'source_type must be git or local')
      if ((b.source_type ?? 'git') === 'git' && (typeof b.source_url !== 'string' || !/^https:\/\//.test(b.source_url))) return platformError(ctx.res, 400, 'invalid_value', 'source_url must be an https git URL')
      if (b.strategy_size !== undefined && !['small', 'medium', 'large', 'xlarge', 'xxlarge'].includes(String(b.strategy_size))) return platformError(ctx.res, 400, 'invalid_value', 'bad strategy_size')
      const secret = state.secrets.get(ek(p.id, String(b.output_secret)))
      if (!secret || secret.body.format !== 'registry') return platformError(ctx.res, 400, 'invalid_value', `output_secret ${String(b.output_secret)} is not a registry secret of the project`)
      if (!/^[a-z0-9.-]+\.icr\.io\/[a-z0-9][-a-z0-9_]{3,29}\/[a-z0-9._/-]+(:[\w.-]+)?$/.test(String(b.output_image))) return platformError(ctx.res, 400, 'invalid_value', 'output_image must be <registry>/<namespace>/<repository>[:tag]')
      if (state.builds.has(ek(p.id, b.name))) return platformError(ctx.res, 409, 'resource_already_exists', `build ${b.name} already exists`)
      const {name: _n, ...rest} = b
      const e: CeEntity = {projectId: p.id, name: b.name, id: state.uuid(), entity_tag: nextTag(), created_at: state.now(), body: {source_type: 'git', strategy_size: 'medium', strategy_spec_file: 'Dockerfile', timeout: 600, ...rest}}
      state.builds.set(ek(p.id, b.name), e)
      withEtag(ctx.res, 201, buildJson(e, p))
    }),
    route('GET', '/projects/:pid/builds/:name', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      const e = state.builds.get(ek(p.id, ctx.params.name))
      if (!e) return platformError(ctx.res, 404, 'build_not_found', `build ${ctx.params.name} not found`)
      withEtag(ctx.res, 200, buildJson(e, p))
    }),
    route('DELETE', '/projects/:pid/builds/:name', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      if (!state.builds.delete(ek(p.id, ctx.params.name))) return platformError(ctx.res, 404, 'build_not_found', `build ${ctx.params.name} not found`)
      sendJson(ctx.res, 202, {})
    }),
    route('GET', '/projects/:pid/build_runs', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      const build = q(ctx, 'build_name')
      const runs = [...state.buildRuns.values()].filter((r) => r.projectId === p.id && (build === undefined || r.build_name === build))
      for (const r of runs) tickBuild(r)
      sendJson(ctx.res, 200, {build_runs: runs.map((r) => buildRunJson(r, p)), limit: 100})
    }),
    route('POST', '/projects/:pid/build_runs', (ctx) => {
      const p = project(ctx)
      if (!p) return
      const b = ctx.json
      if (!isObject(b) || typeof b.build_name !== 'string') return platformError(ctx.res, 400, 'invalid_body', 'build_name is required')
      const bad = Object.keys(b).find((k) => !['build_name', 'name'].includes(k))
      if (bad) return platformError(ctx.res, 400, 'invalid_field', `unknown field ${bad}`)
      const build = state.builds.get(ek(p.id, b.build_name))
      if (!build) return platformError(ctx.res, 404, 'build_not_found', `build ${b.build_name} not found`)
      const name = typeof b.name === 'string' ? b.name : `${b.build_name}-run-${Math.random().toString(36).slice(2, 7)}`
      const image = String(build.body.output_image)
      const r: CeBuildRun = {projectId: p.id, name, id: state.uuid(), build_name: b.build_name, created_at: state.now(), status: 'pending', gets: 0, output_image: image, digest: `sha256:${createHash('sha256').update(image + name).digest('hex')}`}
      state.buildRuns.set(ek(p.id, name), r)
      sendJson(ctx.res, 202, buildRunJson(r, p))
    }),
    route('GET', '/projects/:pid/build_runs/:name', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      const r = state.buildRuns.get(ek(p.id, ctx.params.name))
      if (!r) return platformError(ctx.res, 404, 'build_run_not_found', `build run ${ctx.params.name} not found`)
      tickBuild(r)
      sendJson(ctx.res, 200, buildRunJson(r, p))
    }),
    route('DELETE', '/projects/:pid/build_runs/:name', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      if (!state.buildRuns.delete(ek(p.id, ctx.params.name))) return platformError(ctx.res, 404, 'build_run_not_found', `build run ${ctx.params.name} not found`)
      sendJson(ctx.res, 202, {})
    }),
  ]
  const tickBuild = (r: CeBuildRun) => {
    r.gets += 1
    if (r.status === 'pending') r.status = 'running'
    else if (r.status === 'running' && r.gets >= state.buildRunPolls) r.status = state.buildRunFinalStatus
  }

  const tickRun = (r: CeJobRun) => {
    r.gets += 1
    if (r.status === 'pending') r.status = 'running'
    else if (r.status === 'running' && r.runMode === 'task') r.status = 'completed'
  }

  return makeService('ce', state, [
    ...buildRoutes,
    route('GET', '/projects', (ctx) => {
      const limit = Number(q(ctx, 'limit') ?? '50')
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return platformError(ctx.res, 400, 'invalid_limit', 'limit must be 1..100')
      const start = Number(q(ctx, 'start') ?? '0')
      const all = [...state.projects.values()]
      const slice = all.slice(start, start + limit)
      sendJson(ctx.res, 200, {
        projects: slice.map(projectJson),
        limit,
        first: {href: `${base(state.region)}/projects?limit=${limit}`},
        ...(start + limit < all.length ? {next: {href: `${base(state.region)}/projects?limit=${limit}&start=${start + limit}`, start: String(start + limit)}} : {}),
      })
    }),
    route('POST', '/projects', (ctx) => {
      const b = ctx.json
      if (!isObject(b) || typeof b.name !== 'string' || !/^[^\s](.*[^\s])?$/.test(b.name) || b.name.length > 128) {
        return platformError(ctx.res, 400, 'invalid_name', 'name is required')
      }
      const rgId = typeof b.resource_group_id === 'string' ? b.resource_group_id : state.resourceGroups.find((g) => g.default)!.id
      if (!state.resourceGroups.some((g) => g.id === rgId)) return platformError(ctx.res, 400, 'invalid_resource_group', `resource group ${rgId} not found`)
      if ([...state.projects.values()].some((p) => p.name === b.name && p.status !== 'soft_deleted')) {
        return platformError(ctx.res, 409, 'project_name_already_exists', `A project named ${b.name} already exists in ${state.region}`)
      }
      const id = state.uuid()
      const crn = `crn:v1:bluemix:public:codeengine:${state.region}:a/${state.accountId}:${id}::`
      const p: CeProject = {
        id,
        name: b.name,
        crn,
        account_id: state.accountId,
        region: state.region,
        resource_group_id: rgId,
        status: state.projectPolls > 0 ? 'creating' : 'active',
        created_at: state.now(),
        pollsLeft: state.projectPolls,
      }
      state.projects.set(id, p)
      const ce = state.catalog.find((s) => s.name === 'codeengine')!
      state.instances.set(id, {
        guid: id,
        crn,
        name: b.name,
        region_id: state.region,
        resource_group_id: rgId,
        resource_id: ce.id,
        resource_plan_id: ce.plans[0].id,
        state: 'active',
        created_at: p.created_at,
        updated_at: p.created_at,
        pollsLeft: 0,
        tags: [],
        parameters: {},
        projectId: id,
      })
      const after = state.takeAfterFault('ce', 'POST', ctx.url.pathname + ctx.url.search)
      if (after) return platformError(ctx.res, after.status, 'injected_fault', `injected ${after.status} after create`)
      sendJson(ctx.res, 202, projectJson(p))
    }),
    route('GET', '/projects/:pid', (ctx) => {
      const p = state.projects.get(ctx.params.pid)
      if (!p) return platformError(ctx.res, 404, 'project_not_found', `Project ${ctx.params.pid} not found`)
      if (p.status === 'creating' || p.status === 'preparing') {
        p.pollsLeft -= 1
        if (p.pollsLeft <= 0) p.status = 'active'
      }
      sendJson(ctx.res, 200, projectJson(p))
    }),
    route('DELETE', '/projects/:pid', (ctx) => {
      const p = state.projects.get(ctx.params.pid)
      if (!p || p.status === 'soft_deleted') return platformError(ctx.res, 404, 'project_not_found', `Project ${ctx.params.pid} not found`)
      p.status = 'soft_deleted'
      for (const coll of [state.secrets, state.configMaps, state.jobs]) for (const [k, e] of coll) if (e.projectId === p.id) coll.delete(k)
      for (const [k, r] of state.jobRuns) if (r.projectId === p.id) state.jobRuns.delete(k)
      const inst = state.instances.get(p.id)
      if (inst) {
        inst.state = 'pending_reclamation'
        const rid = state.uuid()
        state.reclamations.set(rid, {id: rid, instanceGuid: p.id, state: 'SCHEDULED', created_at: state.now()})
      }
      sendJson(ctx.res, 202, {})
    }),
    ...dataRoutes('secrets'),
    ...dataRoutes('config_maps'),
    route('GET', '/projects/:pid/jobs', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      sendJson(ctx.res, 200, {jobs: [...state.jobs.values()].filter((j) => j.projectId === p.id).map((j) => entityJson(j, 'jobs', p)), limit: 100})
    }),
    route('POST', '/projects/:pid/jobs', (ctx) => {
      const p = project(ctx)
      if (!p) return
      const b = ctx.json
      if (!isObject(b) || typeof b.name !== 'string' || !NAME.test(b.name) || b.name.length > 63) return platformError(ctx.res, 400, 'invalid_name', 'a job needs a valid name')
      if (!validateJob(ctx, p, b, false)) return
      if (state.jobs.has(ek(p.id, b.name))) return platformError(ctx.res, 409, 'resource_already_exists', `job ${b.name} already exists`)
      const {name: _name, ...rest} = b
      const e: CeEntity = {
        projectId: p.id,
        name: b.name,
        id: state.uuid(),
        entity_tag: nextTag(),
        created_at: state.now(),
        body: {...JOB_DEFAULTS, ...rest, resource_type: 'job_v2', computed_env_variables: [{type: 'literal', name: 'CE_JOB', value: b.name}]},
      }
      state.jobs.set(ek(p.id, b.name), e)
      const after = state.takeAfterFault('ce', 'POST', ctx.url.pathname + ctx.url.search)
      if (after) return platformError(ctx.res, after.status, 'injected_fault', `injected ${after.status} after create`)
      withEtag(ctx.res, 201, entityJson(e, 'jobs', p))
    }),
    route('GET', '/projects/:pid/jobs/:name', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      const e = state.jobs.get(ek(p.id, ctx.params.name))
      if (!e) return platformError(ctx.res, 404, 'job_not_found', `job ${ctx.params.name} not found`)
      withEtag(ctx.res, 200, entityJson(e, 'jobs', p))
    }),
    route('PATCH', '/projects/:pid/jobs/:name', (ctx) => {
      const p = project(ctx)
      if (!p) return
      const e = state.jobs.get(ek(p.id, ctx.params.name))
      if (!e) return platformError(ctx.res, 404, 'job_not_found', `job ${ctx.params.name} not found`)
      if (!String(ctx.req.headers['content-type'] ?? '').startsWith('application/merge-patch+json')) {
        return platformError(ctx.res, 415, 'unsupported_media_type', 'PATCH needs Content-Type: application/merge-patch+json')
      }
      if (!ifMatch(ctx, e)) return
      const b = ctx.json
      if (!isObject(b) || 'name' in b) return platformError(ctx.res, 400, 'invalid_body', 'a job patch is a JSON object without name')
      if (!validateJob(ctx, p, b, true)) return
      const body = {...e.body}
      for (const [k, v] of Object.entries(b)) {
        if (v === null) delete body[k]
        else body[k] = v
      }
      e.body = body
      e.entity_tag = nextTag()
      withEtag(ctx.res, 200, entityJson(e, 'jobs', p))
    }),
    route('DELETE', '/projects/:pid/jobs/:name', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      if (!state.jobs.delete(ek(p.id, ctx.params.name))) return platformError(ctx.res, 404, 'job_not_found', `job ${ctx.params.name} not found`)
      sendJson(ctx.res, 202, {})
    }),
    route('GET', '/projects/:pid/job_runs', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      const job = q(ctx, 'job_name')
      const runs = [...state.jobRuns.values()].filter((r) => r.projectId === p.id && (job === undefined || r.job_name === job))
      for (const r of runs) tickRun(r)
      sendJson(ctx.res, 200, {job_runs: runs.map((r) => runJson(r, p)), limit: 100})
    }),
    route('POST', '/projects/:pid/job_runs', (ctx) => {
      const p = project(ctx)
      if (!p) return
      const b = ctx.json
      if (!isObject(b) || typeof b.job_name !== 'string') return platformError(ctx.res, 400, 'invalid_body', 'job_name is required (or an image_reference)')
      const job = state.jobs.get(ek(p.id, b.job_name))
      if (!job) return platformError(ctx.res, 404, 'job_not_found', `job ${b.job_name} not found`)
      const name = `${b.job_name}-run-${Math.random().toString(36).slice(2, 7)}`
      const r: CeJobRun = {
        projectId: p.id,
        name,
        id: state.uuid(),
        job_name: b.job_name,
        created_at: state.now(),
        status: 'pending',
        gets: 0,
        runMode: String(b.run_mode ?? job.body.run_mode ?? 'task'),
      }
      state.jobRuns.set(ek(p.id, name), r)
      sendJson(ctx.res, 202, runJson(r, p))
    }),
    route('GET', '/projects/:pid/job_runs/:name', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      const r = state.jobRuns.get(ek(p.id, ctx.params.name))
      if (!r) return platformError(ctx.res, 404, 'job_run_not_found', `job run ${ctx.params.name} not found`)
      tickRun(r)
      sendJson(ctx.res, 200, runJson(r, p))
    }),
    route('DELETE', '/projects/:pid/job_runs/:name', (ctx) => {
      const p = project(ctx, false)
      if (!p) return
      if (!state.jobRuns.delete(ek(p.id, ctx.params.name))) return platformError(ctx.res, 404, 'job_run_not_found', `job run ${ctx.params.name} not found`)
      sendJson(ctx.res, 202, {})
    }),
  ], {prefix: '/v2'})
}

/** Every Code Engine call must carry `version`; wrap the service to enforce it. */
export function requireVersion(inner: Handler): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const v = url.searchParams.get('version')
    if (!v || !/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      // Drain the body before answering.
      for await (const _ of req) void _
      platformError(res, 400, 'missing_version', 'The version query parameter is required (YYYY-MM-DD)')
      return
    }
    return inner(req, res)
  }
}
