/**
 * `flowlog doctor`: one check per hop of the pipeline (docs/setup.md §1), each with the fix for its failure:
 * credentials, bucket, authorization, collector, objects, project, job, job runs / trigger, sink.
 * Checks never change anything (the sink check sends one tagged test line).
 */
import type {Home} from '../config/home.js'
import {type FlowlogConfig, readConfig} from '../config/settings.js'
import {errorMessage, FlowlogError, redact, registerSecret} from '../errors.js'
import {type CloudClients, createCloudClients} from '../ibmcloud/clients.js'
import {createAuthenticator, isNotFound} from '../ibmcloud/http.js'
import {probeCloudLogs, probeLogdna} from '../ibmcloud/ingest-probe.js'
import type {FlowLogCollector} from '../ibmcloud/vpc.js'
import {INGESTION_KEY_ENV, resourceNames} from './answers.js'
import {jobDiff, jobSpec} from './forwarder.js'
import {jobPolicies, ledgerPolicy, matchesCollectorPolicy, samePolicy, sameV2Policy} from './setup.js'
import type {Deployment} from './state.js'
import {StateStore} from './state.js'
import {selectDeployment} from './teardown.js'

export interface DoctorCheck {
  name: string
  ok: boolean
  detail: string
  /** What to do about a failure (null when ok). */
  fix: string | null
}

export interface DoctorResult {
  checks: DoctorCheck[]
}

export interface DoctorOptions {
  home: Home
  env?: NodeJS.ProcessEnv
  region?: string
  basename?: string
  clients?: CloudClients
  now?: () => number
  /** Objects older than this mean delivery stopped (default 15 min). */
  staleAfterMs?: number
  /** flowlog version. */
  version: string
  /** Skip the sink's test line. */
  skipSink?: boolean
}

const SETUP_FIX = 'Run `flowlog setup` (it creates what is missing and repairs what drifted)'

export async function runDoctor(options: DoctorOptions): Promise<DoctorResult> {
  const env = options.env ?? process.env
  const now = options.now ?? Date.now
  const staleAfter = options.staleAfterMs ?? 15 * 60_000
  const checks: DoctorCheck[] = []
  const add = (name: string, ok: boolean, detail: string, fix?: string) => checks.push({name, ok, detail: redact(detail), fix: ok ? null : redact(fix ?? SETUP_FIX)})
  const fail = (name: string, error: unknown, fix?: string) => {
    const f = error instanceof FlowlogError && error.suggestions.length ? error.suggestions[0] : fix
    add(name, false, errorMessage(error), fix ?? f)
  }

  const config = await readConfig(options.home)
  const store = new StateStore(options.home, true)
  await store.load()
  let dep: Deployment | undefined
  try {
    dep = selectDeployment(store.deployments, {region: options.region ?? (config.region as string | undefined), basename: options.basename ?? (config.basename as string | undefined), config})
  } catch (error) {
    fail('setup', error)
    return {checks}
  }
  const region = options.region ?? dep?.region ?? (config.region as string | undefined)
  if (!region) {
    add('credentials', false, 'no region: flowlog has not been set up', 'Run `flowlog setup`')
    return {checks}
  }
  let c: CloudClients
  try {
    c = options.clients ?? createCloudClients({region, env, config})
  } catch (error) {
    fail('credentials', error, 'Set IBMCLOUD_API_KEY to an IBM Cloud API key')
    return {checks}
  }
  try {
    // credentials
    let account: string | undefined
    try {
      account = await c.platform.accountId()
      if (dep && dep.accountId !== account) {
        add('credentials', false, `the API key belongs to account ${account}, but setup ran in account ${dep.accountId}`, 'Use an API key of the account setup ran in (IBMCLOUD_API_KEY)')
      } else add('credentials', true, `IAM accepted the API key (account ${account})`)
    } catch (error) {
      fail('credentials', error, 'Check IBMCLOUD_API_KEY (or apiKey in the config file): it may be wrong, expired or deleted')
      return {checks}
    }
    if (!dep) {
      add('setup', false, `no setup recorded in ${options.home.statePath} for ${region}`, 'Run `flowlog setup`')
      return {checks}
    }
    const res = dep.resources
    const names = resourceNames(dep.basename, dep.accountId, dep.answers.bucket)
    const bucket = dep.answers.bucket ?? (config.bucket as string | undefined) ?? names.bucket
    const cosGuid = res.cosInstance?.id
    const cosCrn = res.cosInstance?.crn ?? (config.cosInstanceId as string | undefined)

    // bucket
    const admin = hmacFrom(config) ? c.buckets({hmac: hmacFrom(config)!}) : c.buckets({instanceId: cosCrn})
    let bucketOk = false
    try {
      const presence = await admin.headBucket(bucket)
      if (presence === 'mine') {
        const location = await admin.bucketLocation(bucket).catch(() => undefined)
        if (location && !location.startsWith(`${dep.region}-`)) {
          add('bucket', false, `bucket ${bucket} is in ${location}, not a regional bucket in ${dep.region}`, `Use a regional bucket in ${dep.region}: run \`flowlog teardown\`, then \`flowlog setup --bucket <new name>\``)
        } else {
          bucketOk = true
          add('bucket', true, `bucket ${bucket} is reachable${location ? ` (${location})` : ''}`)
        }
      } else if (presence === 'missing') add('bucket', false, `bucket ${bucket} does not exist`, SETUP_FIX)
      else add('bucket', false, `access to bucket ${bucket} is denied (403)`, 'Check the HMAC keys in the config file (or IBMCLOUD_API_KEY) have Writer on the bucket; if the name belongs to someone else, choose another with `flowlog setup --bucket`')
    } catch (error) {
      fail('bucket', error)
    }

    // authorization
    try {
      let found = false
      if (cosGuid) {
        if (res.authorization?.id) {
          const p = await c.platform.getPolicy(res.authorization.id)
          found = Boolean(p && matchesCollectorPolicy(p, account, cosGuid))
        }
        if (!found) found = (await c.platform.listAuthorizationPolicies(account)).some((p) => matchesCollectorPolicy(p, account, cosGuid))
      }
      if (found) add('authorization', true, 'is/flow-log-collector may write to the COS instance (Writer)')
      else add('authorization', false, 'no is/flow-log-collector → cloud-object-storage Writer authorization for the COS instance', SETUP_FIX)
    } catch (error) {
      fail('authorization', error)
    }

    // collector
    let collector: FlowLogCollector | undefined
    try {
      const targetId = res.target?.id
      if (res.collector?.id) {
        try {
          collector = await c.vpc.getFlowLogCollector(res.collector.id)
        } catch (error) {
          if (!isNotFound(error)) throw error
        }
      }
      if (!collector && targetId) collector = (await c.vpc.listFlowLogCollectors({'target.id': targetId}))[0]
      if (!collector) add('collector', false, `no flow log collector on ${res.target?.kind ?? 'the target'} ${res.target?.name ?? targetId ?? ''}`.trim(), SETUP_FIX)
      else if (collector.storage_bucket?.name !== bucket) add('collector', false, `collector ${collector.name} writes to bucket ${collector.storage_bucket?.name}, not ${bucket}`, `Delete it (ibmcloud is flow-log-delete ${collector.id}) and run \`flowlog setup\``)
      else if (!collector.active) add('collector', false, `collector ${collector.name} is inactive`, 'Run `flowlog setup` (it activates the collector: PATCH active=true)')
      else if (collector.lifecycle_state && !['stable', 'pending', 'updating', 'waiting'].includes(collector.lifecycle_state)) {
        add('collector', false, `collector ${collector.name} is ${collector.lifecycle_state}`, 'Check the collector in the console; delete it and run `flowlog setup` if it stays failed')
      } else add('collector', true, `collector ${collector.name} is active (${collector.lifecycle_state ?? 'state unknown'}) and writes to ${bucket}`)
    } catch (error) {
      fail('collector', error)
    }

    // objects arriving
    if (bucketOk) {
      try {
        const newest = await admin.newestObject(bucket, 'ibm_vpc_flowlogs_v1/')
        const createdAt = Date.parse(String(collector?.created_at ?? dep.createdAt))
        if (newest) {
          const age = now() - newest.lastModified.getTime()
          if (age <= staleAfter) add('objects', true, `newest flow-log object is ${formatAge(age)} old (${newest.count} listed)`)
          else add('objects', false, `newest flow-log object is ${formatAge(age)} old: delivery stopped`, 'Check the collector is active and the authorization exists; a bucket with IP allowlists or private-only access blocks delivery')
        } else if (Number.isFinite(createdAt) && now() - createdAt <= staleAfter) {
          add('objects', true, `no flow-log objects yet; the collector started ${formatAge(Math.max(0, now() - createdAt))} ago (the first ones arrive within ~10 min)`)
        } else {
          add('objects', false, `no flow-log objects in ${bucket}`, 'Check the collector is active, the authorization exists and the target has traffic; a bucket with IP allowlists or private-only access blocks delivery')
        }
      } catch (error) {
        fail('objects', error)
      }
    }

    // Code Engine (no forwarder without a sink)
    const pid = res.project?.id
    let projectOk = false
    if (dep.answers.sink !== 'none') {
      try {
        const project = pid ? await c.ce.getProject(pid) : undefined
        if (!project) add('project', false, `Code Engine project ${names.project} not found`, SETUP_FIX)
        else if (project.status !== 'active') {
          add(
            'project',
            false,
            `Code Engine project ${project.name} is ${project.status}`,
            project.status === 'soft_deleted' ? 'Restore it (ibmcloud resource reclamation-restore) or run `flowlog teardown` and `flowlog setup`' : 'Wait a minute, then run `flowlog doctor` again',
          )
        } else {
          projectOk = true
          add('project', true, `Code Engine project ${project.name} is active`)
        }
      } catch (error) {
        fail('project', error)
      }
    }
    if (projectOk && pid) {
      const jobName = res.job?.name ?? names.job
      try {
        const job = await c.ce.getJob(pid, jobName)
        if (!job) add('job', false, `job ${jobName} not found`, SETUP_FIX)
        else {
          const image = dep.answers.image ?? (res.buildRun?.image as string | undefined) ?? String(job.image_reference)
          const expected = jobSpec({
            bucket,
            region: dep.region,
            cosEndpoint: '',
            cosInstanceId: '',
            hmac: {accessKeyId: '', secretAccessKey: ''},
            sink: dep.answers.sink,
            trigger: dep.answers.trigger,
            image,
            imageSecret: dep.answers.image ? undefined : (res.registrySecret?.name ?? names.registrySecret),
            secretName: res.secret?.name ?? names.secret,
            configMapName: res.configMap?.name ?? names.configMap,
          })
          const diff = Object.keys(jobDiff(job, expected))
          if (diff.length) add('job', false, `job ${jobName} differs from what setup expects: ${diff.join(', ')}`, 'Run `flowlog setup` (it updates the job)')
          else add('job', true, `job ${jobName} runs ${job.image_reference} ${[...(job.run_commands ?? []), ...(job.run_arguments ?? [])].join(' ')}`)
        }
      } catch (error) {
        fail('job', error)
      }
      if (dep.answers.trigger === 'poll') {
        try {
          const runs = (await c.ce.listJobRuns(pid, jobName)).sort((a, b) => String(b.created_at ?? '').localeCompare(String(a.created_at ?? '')))
          const latest = runs[0]
          if (!latest) add('job-runs', false, `job ${jobName} has no runs: nothing forwards new objects`, 'Run `flowlog setup` (it starts the forwarder run)')
          else if (latest.status === 'failed') add('job-runs', false, `latest run ${latest.name} failed: ${JSON.stringify(latest.status_details ?? {})}`, `Read its logs (ibmcloud ce jobrun logs --name ${latest.name}), fix the cause, then run \`flowlog setup\` to start a new run`)
          else add('job-runs', true, `latest run ${latest.name} is ${latest.status ?? 'unknown'}`)
        } catch (error) {
          fail('job-runs', error)
        }
      } else {
        try {
          const id = res.notificationsPolicy?.id
          const p = id ? await c.platform.getPolicy(id) : undefined
          if (!p) add('trigger-authorization', false, 'no codeengine → COS Notifications Manager authorization', SETUP_FIX)
          else add('trigger-authorization', true, 'Code Engine may manage COS notifications')
          // Setup cannot create the subscription (no REST API) and nothing here can see it: never report it healthy.
          add(
            'trigger',
            false,
            `setup skipped the trigger: the COS subscription ${names.subscription} has no REST API, so it cannot be checked`,
            `If you have not yet: ibmcloud ce project select --name ${res.project?.name ?? names.project} && ibmcloud ce subscription cos create --name ${names.subscription} --destination-type job --destination ${jobName} --bucket ${bucket} --event-type write --prefix ibm_vpc_flowlogs_ (check with ibmcloud ce subscription cos get --name ${names.subscription})`,
          )
        } catch (error) {
          fail('trigger', error)
        }
      }
      await checkJobIdentity(c, dep, account, add, fail)
    }

    // sink
    if (!options.skipSink) await checkSink(c, dep, config, env, add, fail)
    return {checks}
  } finally {
    if (!options.clients) c.close()
  }
}

/** The job's service ID, its access policies, and whether its API key (read from the Code Engine secret) gets a token. */
async function checkJobIdentity(
  c: CloudClients,
  dep: Deployment,
  account: string,
  add: (name: string, ok: boolean, detail: string, fix?: string) => void,
  fail: (name: string, error: unknown, fix?: string) => void,
): Promise<void> {
  const res = dep.resources
  if (!res.serviceId?.id) return
  const names = resourceNames(dep.basename, dep.accountId, dep.answers.bucket)
  try {
    const sid = await c.identity.getServiceId(res.serviceId.id)
    if (!sid) {
      add('job-identity', false, `service ID ${res.serviceId.name ?? res.serviceId.id} of the forwarder job is gone`, SETUP_FIX)
      return
    }
    const have = await c.platform.listAccessPolicies(account, sid.iam_id)
    const wanted = jobPolicies({
      account,
      iamId: sid.iam_id,
      logsGuid: dep.answers.sink === 'cloud-logs' ? res.sink?.id : undefined,
      cosGuid: res.cosInstance?.id,
      bucket: dep.answers.bucket,
      registryNamespace: dep.answers.image ? undefined : (res.registryNamespace?.name ?? names.registryNamespace),
    })
    const missing = wanted.filter((w) => !have.some((p) => samePolicy(p, w.proto))).map((w) => w.detail)
    const granted = wanted.map((w) => w.detail)
    if (dep.answers.sink === 'cloud-logs' && res.cosInstance?.id) {
      const l = ledgerPolicy({account, iamId: sid.iam_id, cosGuid: res.cosInstance.id, bucket: dep.answers.bucket})
      granted.push(l.detail)
      if (!(await c.platform.listV2AccessPolicies(account, sid.iam_id)).some((p) => sameV2Policy(p, l.proto))) missing.push(l.detail)
    }
    if (missing.length) add('job-policies', false, `service ID ${sid.name} lacks: ${missing.join('; ')}`, SETUP_FIX)
    else add('job-policies', true, `service ID ${sid.name} has exactly: ${granted.join('; ')}`)
  } catch (error) {
    fail('job-identity', error)
    return
  }
  const pid = res.project?.id
  if (!pid) return
  try {
    const secretName = dep.answers.sink === 'cloud-logs' ? (res.secret?.name ?? names.secret) : (res.registrySecret?.name ?? names.registrySecret)
    const secret = await c.ce.getSecret(pid, secretName)
    const data = secret?.data as Record<string, string> | undefined
    const key = data ? (dep.answers.sink === 'cloud-logs' ? data.IBMCLOUD_API_KEY : data.password) : undefined
    if (!key || /^\*+$/.test(key) || key === 'REDACTED') {
      add('job-api-key', false, `the job's API key cannot be read from secret ${secretName}`, SETUP_FIX)
      return
    }
    registerSecret(key)
    await createAuthenticator({apiKey: key, iamUrl: c.endpoints.iam}).authenticate({headers: {}})
    add('job-api-key', true, `the job's API key (in secret ${secretName}) gets an IAM token`)
  } catch (error) {
    fail('job-api-key', error, 'Run `flowlog setup`: it replaces a key IAM refuses')
  }
}

function hmacFrom(config: FlowlogConfig): {accessKeyId: string; secretAccessKey: string} | undefined {
  const id = config.cosHmacAccessKeyId
  const secret = config.cosHmacSecretAccessKey
  return typeof id === 'string' && typeof secret === 'string' && id && secret ? {accessKeyId: id, secretAccessKey: secret} : undefined
}

async function checkSink(
  c: CloudClients,
  dep: Deployment,
  config: FlowlogConfig,
  env: NodeJS.ProcessEnv,
  add: (name: string, ok: boolean, detail: string, fix?: string) => void,
  fail: (name: string, error: unknown, fix?: string) => void,
): Promise<void> {
  const sink = dep.answers.sink
  if (sink === 'none') {
    add('sink', true, 'no sink configured (objects stay in COS)')
    return
  }
  try {
    if (sink === 'logdna') {
      const key = env[INGESTION_KEY_ENV] || (config.logdnaIngestionKey as string | undefined)
      const url = (config.logdnaUrl as string | undefined) ?? c.endpoints.logdna
      if (!key) {
        add('sink', false, 'no Log Analysis / Mezmo ingestion key', `Set ${INGESTION_KEY_ENV} or run \`flowlog setup --sink logdna\``)
        return
      }
      const r = await probeLogdna({url: env.FLOWLOG_LOGDNA_URL ? c.endpoints.logdna : url, ingestionKey: key})
      add('sink', true, `Log Analysis accepted a test line (${r.status}): "${r.text}"`)
      return
    }
    const url = c.endpoints.cloudLogsOverride ?? (config.cloudLogsUrl as string | undefined)
    if (!url) {
      add('sink', false, 'no IBM Cloud Logs ingress URL in the config file', 'Run `flowlog setup`')
      return
    }
    const r = await probeCloudLogs({url, authenticator: c.authenticator, iamUrl: c.endpoints.iam})
    add('sink', true, `IBM Cloud Logs accepted a test line (${r.status}): "${r.text}"`)
  } catch (error) {
    const status = (error as {status?: number}).status
    const fix =
      status === 401 || status === 403
        ? sink === 'logdna'
          ? `The ingestion key is wrong or revoked: set ${INGESTION_KEY_ENV} and run \`flowlog setup --sink logdna\``
          : 'The API key needs the Sender role on the IBM Cloud Logs instance (IAM access policy), or use another key'
        : 'Check the ingestion endpoint (FLOWLOG_LOGDNA_URL / FLOWLOG_CLOUD_LOGS_URL) and try again'
    fail('sink', error, fix)
  }
}

function formatAge(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s} s`
  const m = Math.round(s / 60)
  if (m < 120) return `${m} min`
  const h = Math.round(m / 60)
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} d`
}
