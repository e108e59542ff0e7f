/**
 * What the Code Engine forwarder looks like: its secret (credentials), config map (where things are) and job
 * (image, command, environment), plus the comparisons setup and doctor use to decide "same" vs "needs an update".
 *
 * The job runs `flowlog forward --follow --source cos://<bucket> --sink <sink>` (poll mode, run_mode daemon) or the
 * same without --follow per COS event (subscription mode, run_mode task), configured through environment variables:
 *   secret:     cloud-logs: IBMCLOUD_API_KEY only — the API key of the job's own service ID (Sender on the Cloud Logs
 *               instance, Reader on the bucket, Writer on flowlog/ledger/; docs/setup.md §4), never the user's key; COS is read with it
 *               through IAM. logdna: FLOWLOG_COS_HMAC_ACCESS_KEY_ID, FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY and
 *               FLOWLOG_LOGDNA_INGESTION_KEY.
 *   config map: FLOWLOG_BUCKET, FLOWLOG_REGION, FLOWLOG_COS_ENDPOINT, FLOWLOG_COS_INSTANCE_ID, FLOWLOG_SINK,
 *               FLOWLOG_LOGDNA_URL | FLOWLOG_CLOUD_LOGS_URL, FLOWLOG_IAM_URL (when overridden), FLOWLOG_HOME,
 *               FLOWLOG_LEDGER=remote (the home is ephemeral: the forward ledger is kept in the bucket)
 */
import {createHash} from 'node:crypto'

import type {CeEnvVar, CeJob, CeJobSpec} from '../ibmcloud/code-engine.js'
import {normaliseImage, type SinkKind, type TriggerKind} from './answers.js'

export interface ForwarderInputs {
  bucket: string
  region: string
  cosEndpoint: string
  cosInstanceId: string
  hmac: {accessKeyId: string; secretAccessKey: string}
  sink: SinkKind
  logdnaUrl?: string
  logdnaIngestionKey?: string
  cloudLogsUrl?: string
  /** The API key of the job's service ID (cloud-logs). */
  jobApiKey?: string
  iamUrl?: string
  trigger: TriggerKind
  /** The image the job runs: the built image pinned by digest, or --image. */
  image: string
  /** The registry secret that pulls `image` (built images). */
  imageSecret?: string
  secretName: string
  configMapName: string
}

export function secretData(i: ForwarderInputs): Record<string, string> {
  // Least privilege (docs/setup.md §4): with Cloud Logs the job holds only its service ID's key.
  if (i.sink === 'cloud-logs') return {IBMCLOUD_API_KEY: i.jobApiKey ?? ''}
  const data: Record<string, string> = {
    FLOWLOG_COS_HMAC_ACCESS_KEY_ID: i.hmac.accessKeyId,
    FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: i.hmac.secretAccessKey,
  }
  if (i.sink === 'logdna' && i.logdnaIngestionKey) data.FLOWLOG_LOGDNA_INGESTION_KEY = i.logdnaIngestionKey
  return data
}

export function configMapData(i: ForwarderInputs): Record<string, string> {
  const data: Record<string, string> = {
    FLOWLOG_BUCKET: i.bucket,
    FLOWLOG_REGION: i.region,
    FLOWLOG_COS_ENDPOINT: i.cosEndpoint,
    FLOWLOG_COS_INSTANCE_ID: i.cosInstanceId,
    FLOWLOG_SINK: i.sink,
    FLOWLOG_HOME: '/tmp/flowlog',
    FLOWLOG_LEDGER: 'remote',
  }
  if (i.sink === 'logdna' && i.logdnaUrl) data.FLOWLOG_LOGDNA_URL = i.logdnaUrl
  if (i.sink === 'cloud-logs' && i.cloudLogsUrl) data.FLOWLOG_CLOUD_LOGS_URL = i.cloudLogsUrl
  if (i.iamUrl) data.FLOWLOG_IAM_URL = i.iamUrl
  return data
}

export function jobSpec(i: ForwarderInputs): CeJobSpec {
  // The job has no config file: the bucket and the sink travel as arguments, the rest as environment variables.
  const args = ['forward', ...(i.trigger === 'poll' ? ['--follow'] : []), '--source', `cos://${i.bucket}`, '--sink', i.sink]
  const env: CeEnvVar[] = [
    {type: 'secret_full_reference', reference: i.secretName},
    {type: 'config_map_full_reference', reference: i.configMapName},
  ]
  const common = {
    run_env_variables: env,
    run_mode: (i.trigger === 'poll' ? 'daemon' : 'task') as 'daemon' | 'task',
    scale_cpu_limit: '0.25',
    scale_memory_limit: '0.5G',
  }
  // The image's entrypoint is flowlog itself (the repository's Dockerfile): no package is fetched at run time.
  return {image_reference: i.image, ...(i.imageSecret ? {image_secret: i.imageSecret} : {}), run_commands: [], run_arguments: args, ...common}
}

/** A stable hash of secret data (values never stored, only this). */
export function dataHash(data: Record<string, string>): string {
  const sorted = Object.keys(data)
    .sort()
    .map((k) => [k, data[k]])
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 32)
}

/** Whether data read back from Code Engine is usable for comparison (not masked). */
export function readableData(data: Record<string, string> | undefined): data is Record<string, string> {
  if (!data || typeof data !== 'object') return false
  return Object.values(data).every((v) => typeof v === 'string' && !/^\*+$/.test(v) && v !== 'REDACTED')
}

export function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k])
}

function envKey(v: CeEnvVar): string {
  if (v.type === 'literal') return `literal:${v.name}=${v.value}`
  if (v.type.endsWith('full_reference')) return `${v.type}:${v.reference}`
  return `${v.type}:${v.reference}:${v.key}:${v.name}`
}

/** The fields of `spec` that differ in `job` (as a merge-patch). Only the fields setup manages are compared. */
export function jobDiff(job: CeJob, spec: CeJobSpec): Partial<CeJobSpec> {
  const patch: Partial<CeJobSpec> = {}
  const arr = (x: unknown) => (Array.isArray(x) ? (x as string[]) : [])
  const eqArr = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i])
  const image = (ref: unknown) => (typeof ref === 'string' && ref.trim() !== '' && !/\s/.test(ref) ? normaliseImage(ref) : String(ref))
  if (image(job.image_reference) !== image(spec.image_reference)) patch.image_reference = spec.image_reference
  // merge-patch: null removes a pull secret the job no longer needs.
  if ((job.image_secret || undefined) !== (spec.image_secret || undefined)) patch.image_secret = spec.image_secret ?? (null as unknown as string)
  if (!eqArr(arr(job.run_commands), arr(spec.run_commands))) patch.run_commands = spec.run_commands
  if (!eqArr(arr(job.run_arguments), arr(spec.run_arguments))) patch.run_arguments = spec.run_arguments
  if ((job.run_mode ?? 'task') !== spec.run_mode) patch.run_mode = spec.run_mode
  const have = arr(job.run_env_variables as unknown as string[]).map((v) => envKey(v as unknown as CeEnvVar)).sort()
  const want = (spec.run_env_variables ?? []).map(envKey).sort()
  if (!eqArr(have, want)) patch.run_env_variables = spec.run_env_variables
  return patch
}
