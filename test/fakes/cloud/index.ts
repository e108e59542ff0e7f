/**
 * A fake IBM Cloud on 127.0.0.1: one HTTP server per API family (IAM, Resource Controller, Resource Manager, Global
 * Catalog, IAM Policy Management, VPC, Code Engine, COS S3, Log Analysis ingestion, Cloud Logs ingestion) sharing one
 * state, plus a control server:
 *
 *   GET  /__state    → {"<collection>": [resources created by clients]} (seeded resources left out)
 *   POST /__faults   → {"service","method","path" (regex),"status","times","skip","body","after"} fail the next matching
 *                      request(s); `after` lets a create through and fails its answer (the client never sees the id)
 *   GET  /__ingested → lines received by the ingestion endpoints
 *   GET  /__log      → the requests every service received
 *
 * `env` holds the variables that point flowlog at it.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {createVpcFake, type VpcFake} from '../vpc.js'
import {catalogService} from './catalog.js'
import {codeEngineService, requireVersion} from './code-engine.js'
import {cosService} from './cos.js'
import {type Handler, isObject, readBody, sendJson} from './http.js'
import {iamService} from './iam.js'
import {iamIdentityService} from './iam-identity.js'
import {registryService} from './registry.js'
import {iamPolicyService} from './iam-policy.js'
import {cloudLogsService, logdnaService} from './ingest.js'
import {withCloudLogsApi} from './cloud-logs-api.js'
import {resourceControllerService, resourceManagerService} from './resource-controller.js'
import {FakeCloudState, type FakeCloudOptions} from './state.js'

export interface FakeCloud {
  state: FakeCloudState
  vpc: VpcFake
  /** Variables pointing flowlog at this fake. */
  env: Record<string, string>
  urls: Record<string, string>
  /** The control server's base URL (FLOWLOG_FAKE_CLOUD_URL). */
  url: string
  close(): Promise<void>
}

function vpcService(state: FakeCloudState, vpc: VpcFake): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = (req.method ?? 'GET').toUpperCase()
    state.log.push({service: 'vpc', method, path: url.pathname, query: url.search})
    const fault = state.takeFault('vpc', method, url.pathname + url.search)
    if (fault) {
      await readBody(req)
      sendJson(res, fault.status, fault.body ?? {errors: [{code: 'injected_fault', message: `injected ${fault.status}`}], status_code: fault.status, trace: 'fake'})
      return
    }
    if (!(await vpc.handle(req, res))) {
      await readBody(req)
      sendJson(res, 404, {errors: [{code: 'not_found', message: `no route ${method} ${url.pathname}`}], status_code: 404, trace: 'fake'})
    }
  }
}

/** Ids present at start, so /__state reports only what clients created. */
function seededIds(vpc: VpcFake): {items: Set<string>; rules: Set<string>} {
  const items = new Set<string>()
  const rules = new Set<string>()
  for (const list of Object.values(vpc.state)) for (const x of list as Array<{id?: string; rules?: Array<{id?: string}>}>) {
    if (x.id) items.add(x.id)
    for (const r of x.rules ?? []) if (r.id) rules.add(r.id)
  }
  return {items, rules}
}

function controlService(state: FakeCloudState): Handler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const body = await readBody(req)
    if (req.method === 'GET' && url.pathname === '/__state') return sendJson(res, 200, state.snapshot())
    if (req.method === 'GET' && url.pathname === '/__ingested') return sendJson(res, 200, {ingested: state.ingested})
    if (req.method === 'GET' && url.pathname === '/__log') return sendJson(res, 200, {requests: state.log})
    if (req.method === 'POST' && url.pathname === '/__faults') {
      let f: unknown
      try {
        f = JSON.parse(body.toString('utf8'))
      } catch {
        f = undefined
      }
      if (!isObject(f) || typeof f.path !== 'string' || typeof f.status !== 'number') {
        return sendJson(res, 400, {error: 'body must be {"path": "<regex>", "status": <number>, "service"?, "method"?, "times"?, "skip"?, "body"?, "after"?}'})
      }
      state.inject({
        service: typeof f.service === 'string' ? f.service : undefined,
        method: typeof f.method === 'string' ? f.method : undefined,
        path: f.path,
        status: f.status,
        times: typeof f.times === 'number' ? f.times : undefined,
        skip: typeof f.skip === 'number' ? f.skip : undefined,
        body: f.body,
        after: f.after === true,
      })
      return sendJson(res, 201, {faults: state.faults.length})
    }
    sendJson(res, 404, {error: `no route ${req.method} ${url.pathname}`})
  }
}

/** Serve `handler` under `mount` only: the prefix is stripped before the service sees the request. */
function mounted(mount: string, handler: Handler): Handler {
  return async (req, res) => {
    const url = req.url ?? '/'
    if (url !== mount && !url.startsWith(`${mount}/`) && !url.startsWith(`${mount}?`)) {
      await readBody(req)
      sendJson(res, 404, {errors: [{code: 'not_found', message: `no route ${req.method} ${url.split('?')[0]} (this service lives under ${mount})`}], status_code: 404})
      return
    }
    req.url = url.slice(mount.length) || '/'
    if (req.url.startsWith('?')) req.url = `/${req.url}`
    return handler(req, res)
  }
}

async function listen(handler: Handler): Promise<{server: Server; origin: string}> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, {errors: [{code: 'internal_error', message: String(error)}]})
      else res.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`}
}

export async function startFakeCloud(options: FakeCloudOptions = {}): Promise<FakeCloud> {
  const state = new FakeCloudState(options)
  const vpc = createVpcFake({
    isValidToken: (t) => state.tokens.has(t),
    authorizationCheck: ({bucket}) => state.collectorAuthorizedFor(bucket) && state.buckets.has(bucket),
    region: state.region,
    account: state.accountId,
    // As IBM Cloud does: collectors are born pending, and refused once with service_error right after the policy.
    collectorPolls: options.collectorPolls ?? 2,
    collectorFinalState: options.collectorFinalState,
    propagationRefusals: options.propagationRefusals ?? 1,
  })
  const seeded = seededIds(vpc)
  state.snapshotters.push(() => {
    const out: Record<string, unknown[]> = {}
    for (const [name, list] of Object.entries(vpc.state)) {
      out[name] = (list as Array<{id?: string; name?: string}>).filter((x) => !x.id || !seeded.items.has(x.id)).map((x) => ({id: x.id, name: x.name}))
    }
    const sgRules: unknown[] = []
    for (const sg of vpc.state.security_groups as Array<{id: string; rules?: Array<{id: string}>}>) {
      for (const r of sg.rules ?? []) if (!seeded.rules.has(r.id)) sgRules.push({security_group_id: sg.id, id: r.id})
    }
    const aclRules: unknown[] = []
    for (const acl of vpc.state.network_acls as Array<{id: string; rules?: Array<{id: string}>}>) {
      for (const r of acl.rules ?? []) if (!seeded.rules.has(r.id)) aclRules.push({network_acl_id: acl.id, id: r.id})
    }
    out.security_group_rules = sgRules
    out.network_acl_rules = aclRules
    return out
  })

  const services: Record<string, Handler> = {
    iam: iamService(state),
    iamIdentity: iamIdentityService(state),
    resourceController: resourceControllerService(state),
    resourceManager: resourceManagerService(state),
    globalCatalog: catalogService(state),
    iamPolicy: iamPolicyService(state),
    vpc: vpcService(state, vpc),
    codeEngine: requireVersion(codeEngineService(state)),
    cos: cosService(state),
    containerRegistry: registryService(state),
    logdna: logdnaService(state),
    cloudLogs: withCloudLogsApi(cloudLogsService(state), state),
    control: controlService(state),
  }
  const servers: Server[] = []
  const urls: Record<string, string> = {}
  // With `mountPaths`, every service but COS (S3 addressing) and the control server answers under a path of its
  // own, as behind a gateway: clients must keep a base URL's path when they join it with an API path.
  const mounts: Record<string, string> = options.mountPaths
    ? {iam: '/iam', iamIdentity: '/iam-identity', resourceController: '/rc', resourceManager: '/rm', globalCatalog: '/gc', iamPolicy: '/iam-policy', vpc: '/vpc', codeEngine: '/ce', containerRegistry: '/icr', logdna: '/logdna', cloudLogs: '/cloudlogs'}
    : {}
  for (const [name, handler] of Object.entries(services)) {
    const mount = mounts[name]
    const {server, origin} = await listen(mount ? mounted(mount, handler) : handler)
    servers.push(server)
    urls[name] = `${origin}${mount ?? ''}`
  }
  const env: Record<string, string> = {
    IBMCLOUD_API_KEY: state.apiKey,
    FLOWLOG_IAM_URL: urls.iam,
    FLOWLOG_IAM_IDENTITY_URL: urls.iamIdentity,
    FLOWLOG_RESOURCE_CONTROLLER_URL: urls.resourceController,
    FLOWLOG_RESOURCE_MANAGER_URL: urls.resourceManager,
    FLOWLOG_GLOBAL_CATALOG_URL: `${urls.globalCatalog}/api/v1`,
    FLOWLOG_IAM_POLICY_URL: urls.iamPolicy,
    FLOWLOG_VPC_URL: `${urls.vpc}/v1`,
    FLOWLOG_CODE_ENGINE_URL: `${urls.codeEngine}/v2`,
    FLOWLOG_CONTAINER_REGISTRY_URL: urls.containerRegistry,
    FLOWLOG_COS_ENDPOINT: urls.cos,
    FLOWLOG_LOGDNA_URL: urls.logdna,
    FLOWLOG_CLOUD_LOGS_URL: urls.cloudLogs,
    FLOWLOG_FAKE_CLOUD_URL: urls.control,
  }
  return {
    state,
    vpc,
    env,
    urls,
    url: urls.control,
    close: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections?.()
              s.close(() => resolve())
            }),
        ),
      )
    },
  }
}

