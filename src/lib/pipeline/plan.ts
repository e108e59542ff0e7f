/**
 * The plan setup shows before it changes anything (docs/setup.md §2): one line per resource with its kind, what
 * setup will do with it (exists / create / update / skip) and whether it costs money, derived from a dry run.
 */
import type {SetupResult} from './setup.js'

export interface PlanItem {
  kind: string
  /** The resource's id or name when known. */
  resource: string
  /** `exists` (already there, left as is), `create`, `update`, `skip` (nothing to do, or done by hand). */
  action: 'exists' | 'create' | 'update' | 'skip'
  /** Whether the resource can put charges on the bill (and how). */
  cost: string
  detail?: string
}

const KINDS: Record<string, [string, string]> = {
  account: ['account', 'no'],
  'resource-group': ['resource group', 'no'],
  vpc: ['VPC (collector target)', 'no'],
  'cos-instance': ['Object Storage instance (Standard)', 'yes: storage and requests'],
  'cos-key': ['Object Storage HMAC key', 'no'],
  bucket: ['Object Storage bucket', 'yes: stored flow logs'],
  authorization: ['IAM authorization (flow logs → COS)', 'no'],
  collector: ['flow log collector', 'yes: per GB of flow logs'],
  sink: ['IBM Cloud Logs instance', 'yes: per GB ingested'],
  project: ['Code Engine project', 'no (its runs and builds are billed)'],
  'service-id': ['IAM service ID (the job)', 'no'],
  'job-policy:logs': ['IAM access policy', 'no'],
  'job-policy:bucket': ['IAM access policy', 'no'],
  'job-policy:registry': ['IAM access policy', 'no'],
  'job-policy:ledger': ['IAM access policy (v2, prefix condition)', 'no'],
  'registry-namespace': ['Container Registry namespace', 'yes above the free 0.5 GB'],
  'job-api-key': ['API key of the service ID', 'no'],
  'registry-secret': ['Code Engine registry secret', 'no'],
  build: ['Code Engine build (Dockerfile)', 'no (its runs are billed)'],
  image: ['container image (build run, pinned by digest)', 'yes: build time'],
  secret: ['Code Engine secret', 'no'],
  'config-map': ['Code Engine config map', 'no'],
  job: ['Code Engine job (the forwarder)', 'no (its runs are billed)'],
  trigger: ['job run / COS subscription', 'yes: vCPU and memory while it runs'],
  'trigger-authorization': ['IAM authorization (Code Engine → COS)', 'no'],
  config: ['local config file', 'no'],
}

export function planOf(dry: SetupResult): PlanItem[] {
  return dry.steps.map((s) => {
    const [kind, cost] = KINDS[s.name] ?? [s.name, 'no']
    const action: PlanItem['action'] =
      s.action === 'exists' ? 'exists' : s.action === 'skipped' ? 'skip' : s.action === 'updated' || /would (update|replace|activate|set)/.test(s.detail ?? '') ? 'update' : 'create'
    return {kind, resource: s.id ?? '', action, cost, ...(s.detail ? {detail: s.detail} : {})}
  })
}

/** How many plan items would change something. */
export function planChanges(plan: PlanItem[]): number {
  return plan.filter((p) => p.action === 'create' || p.action === 'update').length
}
