/**
 * `flowlog teardown`: remove everything setup created for one deployment (from the state file) and nothing else, in
 * reverse dependency order (docs/setup.md §7), treating 404 as already done:
 *
 *   collector → job runs → job → secret → config map → build run → build → registry secret → project (+ reclaim;
 *   its COS subscription goes with it) → job API key → job access policies → service ID → registry namespace →
 *   Code Engine → COS policy → flow-log → COS policy → bucket (emptied) → COS key → sink instance (+ reclaim) →
 *   COS instance (+ reclaim) → config entries and the state entry
 *
 * A failing step does not stop the others; the state keeps what is left, so a re-run finishes the job.
 */
import type {Home} from '../config/home.js'
import {type FlowlogConfig, readConfig, updateConfig} from '../config/settings.js'
import {errorMessage, PartialFailureError, redact, UsageError} from '../errors.js'
import {type CloudClients, createCloudClients} from '../ibmcloud/clients.js'
import {isNotFound} from '../ibmcloud/http.js'
import {COS_SERVICE_ID, isGoneState} from '../ibmcloud/platform.js'
import {matchesCollectorPolicy} from './setup.js'
import {type Deployment, type ResourceRecord, StateStore} from './state.js'
import type {ProgressFn, StepResult, TeardownAction} from './types.js'

export interface TeardownOptions {
  home: Home
  env?: NodeJS.ProcessEnv
  /** Which deployment (when the state holds several): region and/or basename. */
  region?: string
  basename?: string
  clients?: CloudClients
  onProgress?: ProgressFn
  /** Purge deleted instances at once (Resource Controller reclamations; default true). */
  reclaim?: boolean
}

export interface TeardownResult {
  steps: StepResult<TeardownAction>[]
  account?: string
  region?: string
  basename?: string
  /** Commands to run by hand (the COS subscription has no REST API). */
  commands?: string[]
}

/** The deployment teardown/doctor act on: the one matching region/basename (or the config), else the only one. */
export function selectDeployment(deployments: Deployment[], want: {region?: string; basename?: string; config?: FlowlogConfig}): Deployment | undefined {
  let list = deployments
  if (want.region) list = list.filter((d) => d.region === want.region)
  if (want.basename) list = list.filter((d) => d.basename === want.basename)
  if (list.length <= 1) return list[0]
  const cfg = want.config
  if (cfg?.region && typeof cfg.basename === 'string') {
    const match = list.find((d) => d.region === cfg.region && d.basename === cfg.basename)
    if (match) return match
  }
  throw new UsageError(`the state file holds ${list.length} deployments: choose one`, {
    suggestions: list.map((d) => `--region ${d.region} --basename ${d.basename}`),
  })
}

const KIND: Record<string, string> = {
  collector: 'flow log collector',
  jobRun: 'Code Engine job run',
  job: 'Code Engine job',
  secret: 'Code Engine secret',
  configMap: 'Code Engine config map',
  buildRun: 'Code Engine build run',
  build: 'Code Engine build',
  registrySecret: 'Code Engine registry secret',
  project: 'Code Engine project',
  subscription: 'COS subscription (with the project)',
  jobApiKey: 'API key of the job service ID',
  jobPolicyLogs: 'IAM access policy (Sender)',
  jobPolicyBucket: 'IAM access policy (bucket)',
  jobPolicyRegistry: 'IAM access policy (registry)',
  jobPolicyLedger: 'IAM access policy (ledger prefix)',
  serviceId: 'IAM service ID',
  registryNamespace: 'Container Registry namespace',
  notificationsPolicy: 'IAM authorization (Code Engine → COS)',
  authorization: 'IAM authorization (flow logs → COS)',
  bucket: 'Object Storage bucket (and its flow logs)',
  cosKey: 'Object Storage HMAC key',
  sink: 'IBM Cloud Logs instance',
  cosInstance: 'Object Storage instance',
}

/** What teardown deletes, one entry per resource with its kind (for the confirmation). */
export function teardownList(dep: Deployment): Array<{kind: string; resource: string}> {
  return Object.entries(dep.resources)
    .filter(([, r]) => r.created || r.pending)
    .map(([k, r]) => ({kind: KIND[k] ?? (k.startsWith('retired:collector:') ? 'flow log collector' : k), resource: String(r.name ?? r.id ?? '(being created)')}))
}

export async function describeTeardown(options: {home: Home; region?: string; basename?: string}): Promise<Deployment | undefined> {
  const store = new StateStore(options.home, true)
  await store.load()
  const config = await readConfig(options.home)
  return selectDeployment(store.deployments, {region: options.region, basename: options.basename, config})
}

export async function runTeardown(options: TeardownOptions): Promise<TeardownResult> {
  const env = options.env ?? process.env
  const store = new StateStore(options.home)
  await store.load()
  const config = await readConfig(options.home)
  const dep = selectDeployment(store.deployments, {region: options.region, basename: options.basename, config})
  if (!dep) return {steps: [{name: 'state', action: 'skipped', id: null, detail: `nothing to tear down: ${options.home.statePath} names no deployment`}]}
  const c = options.clients ?? createCloudClients({region: dep.region, env, config})
  const steps: StepResult<TeardownAction>[] = []
  const commands: string[] = []
  const failures: string[] = []
  const reclaim = options.reclaim !== false
  const res = dep.resources

  const report = (name: string, action: TeardownAction, id: string | null | undefined, detail?: string) => {
    steps.push({name, action, id: id ?? null, ...(detail ? {detail} : {})})
    options.onProgress?.({step: name, message: `${name}: ${action}${detail ? ` (${detail})` : ''}`})
  }
  const forget = async (key: string) => {
    delete res[key]
    await store.save(dep)
  }
  /** Run one deletion: 404 counts as done; other errors are reported and kept for the re-run. */
  const remove = async (name: string, key: string, fn: (r: ResourceRecord) => Promise<boolean | void>, idOf: (r: ResourceRecord) => string | null | undefined = (r) => r.id ?? r.name) => {
    const r = res[key]
    if (!r) return
    if (!r.created && !r.pending) {
      report(name, 'skipped', idOf(r), 'not created by setup: left in place')
      await forget(key)
      return
    }
    if (!r.id && !r.name) {
      await forget(key)
      return
    }
    try {
      const gone = await fn(r)
      report(name, 'deleted', idOf(r), gone === false ? 'already gone' : undefined)
      await forget(key)
    } catch (error) {
      if (isNotFound(error)) {
        report(name, 'deleted', idOf(r), 'already gone')
        await forget(key)
        return
      }
      const message = redact(errorMessage(error))
      failures.push(`${name}: ${message}`)
      report(name, 'failed', idOf(r), message)
    }
  }

  /** Purging a deleted instance at once is optional: a failure leaves it to the reclamation period. */
  const reclaimQuietly = async (guid: string) => {
    try {
      await c.platform.reclaimInstance(guid, dep.accountId)
    } catch (error) {
      options.onProgress?.({step: 'reclaim', message: `could not reclaim ${guid} now (${redact(errorMessage(error))}); IBM Cloud removes it after the reclamation period`})
    }
  }
  /**
   * A create whose answer was lost (pending, no id): find the resource by name (or by its attributes) so that a
   * teardown right after a failed setup still removes it.
   */
  const locate = async (key: string, r: ResourceRecord): Promise<void> => {
    const p = c.platform
    const rg = res.resourceGroup?.id
    const first = <T,>(list: T[]) => list[0]
    let found: {id: string; crn?: string; name?: string} | undefined
    if (key === 'cosInstance' && r.name) {
      const i = first((await p.listInstances({name: r.name, resourceId: COS_SERVICE_ID, resourceGroupId: rg})).filter((x) => !isGoneState(x.state)))
      if (i) found = {id: i.guid, crn: i.crn, name: i.name}
    } else if (key === 'sink' && r.name) {
      const svc = await p.findService('logs')
      const i = svc ? first((await p.listInstances({name: r.name, resourceId: svc.id, resourceGroupId: rg})).filter((x) => !isGoneState(x.state))) : undefined
      if (i) found = {id: i.guid, crn: i.crn, name: i.name}
    } else if (key === 'cosKey' && r.name && res.cosInstance?.id) {
      const k = (await p.listKeysForInstance(res.cosInstance.id)).find((x) => x.name === r.name)
      if (k) found = {id: k.guid, name: k.name}
    } else if (key === 'authorization' && res.cosInstance?.id) {
      const cosGuid = res.cosInstance.id
      const pol = (await p.listAuthorizationPolicies(dep.accountId)).find((x) => matchesCollectorPolicy(x, dep.accountId, cosGuid))
      if (pol) found = {id: pol.id}
    } else if (key === 'collector' && res.target?.id) {
      const col = (await c.vpc.listFlowLogCollectors({'target.id': res.target.id})).find((x) => !r.name || x.name === r.name)
      if (col) found = {id: col.id, name: col.name}
    } else if (key === 'project' && r.name) {
      const pr = (await c.ce.listProjects()).find((x) => x.name === r.name && x.status !== 'soft_deleted')
      if (pr) found = {id: pr.id, name: pr.name}
    }
    if (found) {
      Object.assign(r, found)
      await store.save(dep)
    }
  }
  try {
    const account = dep.accountId
    for (const [key, r] of Object.entries(res)) {
      if (r.pending && !r.id) {
        try {
          await locate(key, r)
        } catch (error) {
          options.onProgress?.({step: key, message: `could not look up ${r.name ?? key}: ${redact(errorMessage(error))}`})
        }
      }
    }
    // 1. The collector first (and any it replaced when the target changed): no new objects.
    for (const key of ['collector', ...Object.keys(res).filter((k) => k.startsWith('retired:collector:'))]) {
      await remove('collector', key, async (r) => {
        if (!r.id) return false
        await c.vpc.deleteFlowLogCollector(r.id)
      })
    }
    // 2. Code Engine.
    const project = res.project
    const pid = project?.id
    if (pid) {
      const jobName = res.job?.name ?? `${dep.basename}-forward`
      if (res.job?.created || res.job?.pending || res.jobRun) {
        try {
          const runs = await c.ce.listJobRuns(pid, jobName)
          for (const run of runs) await c.ce.deleteJobRun(pid, run.name)
          report('job-runs', 'deleted', jobName, `${runs.length} run(s)`)
          if (res.jobRun) await forget('jobRun')
        } catch (error) {
          if (isNotFound(error)) {
            report('job-runs', 'deleted', jobName, 'already gone')
            if (res.jobRun) await forget('jobRun')
          } else {
            failures.push(`job-runs: ${redact(errorMessage(error))}`)
            report('job-runs', 'failed', jobName, redact(errorMessage(error)))
          }
        }
      } else if (res.jobRun) await forget('jobRun')
      await remove('job', 'job', (r) => c.ce.deleteJob(pid, r.name ?? r.id!), (r) => r.name ?? null)
      await remove('secret', 'secret', (r) => c.ce.deleteSecret(pid, r.name ?? r.id!), (r) => r.name ?? null)
      await remove('config-map', 'configMap', (r) => c.ce.deleteConfigMap(pid, r.name ?? r.id!), (r) => r.name ?? null)
      if (res.buildRun) {
        await remove('build-run', 'buildRun', (r) => c.ce.deleteBuildRun(pid, r.name ?? r.id!), (r) => r.name ?? null)
      }
      await remove('build', 'build', (r) => c.ce.deleteBuild(pid, r.name ?? r.id!), (r) => r.name ?? null)
      await remove('registry-secret', 'registrySecret', (r) => c.ce.deleteSecret(pid, r.name ?? r.id!), (r) => r.name ?? null)
    } else {
      for (const k of ['jobRun', 'job', 'secret', 'configMap', 'buildRun', 'build', 'registrySecret']) if (res[k]) await forget(k)
    }
    const projectOurs = Boolean(project && (project.created || project.pending) && project.id)
    await remove('project', 'project', async (r) => {
      if (!r.id) return false
      const gone = await c.ce.deleteProject(r.id)
      if (reclaim) await reclaimQuietly(r.id)
      return gone
    })
    if (res.subscription) {
      const name = res.subscription.name ?? `${dep.basename}-project-cos-to-job`
      const projectGone = projectOurs && !res.project
      if (projectGone) report('subscription', 'deleted', name, 'removed with its Code Engine project')
      else {
        // The project stays (setup did not create it, or deleting it failed): the subscription must go by hand.
        commands.push(`ibmcloud ce project select --name ${project?.name ?? `${dep.basename}-project`}`, `ibmcloud ce subscription cos delete --name ${name} --force`)
        report('subscription', 'skipped', name, 'no REST API: run the printed ibmcloud commands')
      }
      await forget('subscription')
    }
    // The job's identity: its API key, its access policies, then the service ID.
    await remove('job-api-key', 'jobApiKey', async (r) => {
      if (!r.id) return false
      await c.identity.deleteApiKey(r.id)
    })
    for (const key of ['jobPolicyLogs', 'jobPolicyBucket', 'jobPolicyLedger', 'jobPolicyRegistry']) {
      await remove(`job-policy:${key.replace(/^jobPolicy/, '').toLowerCase()}`, key, async (r) => {
        if (!r.id) return false
        if (r.v2) await c.platform.deleteV2Policy(r.id)
        else await c.platform.deletePolicy(r.id)
      })
    }
    await remove('service-id', 'serviceId', async (r) => {
      if (!r.id) return false
      await c.identity.deleteServiceId(r.id)
    })
    await remove('registry-namespace', 'registryNamespace', async (r) => c.registry.deleteNamespace(account, r.name ?? r.id!), (r) => r.name ?? r.id ?? null)
    // 3. Authorization policies: Code Engine → COS first, then flow logs → COS.
    await remove('trigger-authorization', 'notificationsPolicy', async (r) => {
      if (!r.id) return false
      await c.platform.deletePolicy(r.id)
    })
    await remove('authorization', 'authorization', async (r) => {
      if (!r.id) return false
      await c.platform.deletePolicy(r.id)
    })
    // 4. The bucket (emptied first: this destroys the flow-log history).
    const cosCrn = res.cosInstance?.crn ?? res.cosInstance?.id
    await remove(
      'bucket',
      'bucket',
      async (r) => {
        const admin = c.buckets({instanceId: cosCrn})
        const out = await admin.emptyAndDelete(r.name ?? r.id!)
        return out.deleted
      },
      (r) => r.name ?? r.id ?? null,
    )
    // 5. Keys and instances.
    await remove('cos-key', 'cosKey', async (r) => {
      if (!r.id) return false
      await c.platform.deleteKey(r.id)
    })
    if (res.sink && res.sink.kind !== 'cloud-logs') await forget('sink')
    await remove('sink', 'sink', async (r) => {
      if (!r.id) return false
      await c.platform.deleteInstance(r.id)
      if (reclaim) await reclaimQuietly(r.id)
    })
    await remove('cos-instance', 'cosInstance', async (r) => {
      if (!r.id) return false
      await c.platform.deleteInstance(r.id)
      if (reclaim) await reclaimQuietly(r.id)
    })
    // 6. Local bookkeeping.
    const leftovers = Object.keys(res).filter((k) => !['resourceGroup', 'vpc', 'target'].includes(k))
    if (failures.length === 0 && leftovers.length === 0) {
      await store.remove(dep.key)
      const cfg = await readConfig(options.home)
      if (cfg.bucket === dep.answers.bucket || cfg.basename === dep.basename) {
        const patch: Partial<FlowlogConfig> = {}
        for (const k of ['bucket', 'cosInstanceId', 'cosHmacAccessKeyId', 'cosHmacSecretAccessKey', 'sink', 'logdnaUrl', 'logdnaIngestionKey', 'cloudLogsUrl', 'basename', 'account', 'cosEndpoint', 'cosEndpointType']) {
          patch[k] = undefined
        }
        await updateConfig(options.home, patch)
      }
      report('state', 'deleted', dep.key, 'state entry and config settings removed')
    }
    const result: TeardownResult = {steps, account, region: dep.region, basename: dep.basename, ...(commands.length ? {commands} : {})}
    if (failures.length > 0) {
      throw new PartialFailureError(`teardown left ${failures.length} resource(s) behind: ${failures.join('; ')}`, result, {
        suggestions: ['Run `flowlog teardown` again: it resumes with what is left'],
      })
    }
    return result
  } finally {
    if (!options.clients) c.close()
  }
}
