/** Shared fixtures for the pipeline tests: a fake IBM Cloud, a throwaway home, and setup/teardown/doctor runners. */
import {type Home, resolveHome} from '../../src/lib/config/home.js'
import type {SetupAnswers} from '../../src/lib/pipeline/answers.js'
import {type DoctorResult, runDoctor} from '../../src/lib/pipeline/doctor.js'
import {runSetup, type SetupResult} from '../../src/lib/pipeline/setup.js'
import {runTeardown, type TeardownResult} from '../../src/lib/pipeline/teardown.js'
import {type FakeCloud, startFakeCloud} from '../fakes/cloud/index.js'
import type {FakeCloudOptions} from '../fakes/cloud/state.js'
import {tempHome} from '../support/cli.js'

export interface Fixture {
  cloud: FakeCloud
  home: Home
  dir: string
  env: NodeJS.ProcessEnv
  setup(answers?: Partial<SetupAnswers>, extra?: {dryRun?: boolean; env?: NodeJS.ProcessEnv}): Promise<SetupResult>
  teardown(): Promise<TeardownResult>
  doctor(extra?: {now?: () => number}): Promise<DoctorResult>
  /** Resources created by clients, counted per collection (empty collections left out). */
  counts(): Record<string, number>
  close(): Promise<void>
}

export const TIMING = {sleep: async () => {}, pollIntervalMs: 1, authorizationPropagationMs: 50}

export const BASE_ANSWERS: SetupAnswers = {
  region: 'us-south',
  resourceGroup: 'default',
  basename: 'fl',
  target: 'vpc',
  sink: 'cloud-logs',
  trigger: 'poll',
  sourceRepo: 'https://github.com/flowlog-dev/flowlog.git',
}

export async function fixture(options: FakeCloudOptions = {}): Promise<Fixture> {
  const cloud = await startFakeCloud(options)
  const {dir, cleanup} = tempHome('flowlog-pipeline-')
  // No SDK retries (an injected 500 must fail the step), no external config.
  const env: NodeJS.ProcessEnv = {PATH: process.env.PATH, ...cloud.env, FLOWLOG_HOME: dir, FLOWLOG_HTTP_MAX_RETRIES: '0'}
  const home = resolveHome({env})
  return {
    cloud,
    home,
    dir,
    env,
    setup: (answers = {}, extra = {}) =>
      runSetup({home, env: {...env, ...extra.env}, answers: {...BASE_ANSWERS, ...answers}, dryRun: extra.dryRun, version: '0.1.0', timing: TIMING}),
    teardown: () => runTeardown({home, env}),
    doctor: (extra = {}) => runDoctor({home, env, version: '0.1.0', now: extra.now}),
    counts: () => {
      const out: Record<string, number> = {}
      for (const [k, v] of Object.entries(cloud.state.snapshot())) if (v.length > 0) out[k] = v.length
      return out
    },
    close: async () => {
      await cloud.close()
      cleanup()
    },
  }
}

/** What one complete default setup leaves in the fake. */
export const FULL_SETUP_COUNTS = {
  resource_instances: 3, // COS, Cloud Logs, the Code Engine project
  resource_keys: 1,
  policies: 5, // flow logs → COS authorization; the job's Sender, bucket Reader, ledger Writer (v2) and registry policies
  buckets: 1,
  projects: 1,
  secrets: 2, // the job's secret and the registry secret
  config_maps: 1,
  jobs: 1,
  job_runs: 1,
  builds: 1,
  build_runs: 1,
  registry_namespaces: 1,
  service_ids: 1,
  api_keys: 1,
  flow_log_collectors: 1,
}

export function actions(r: {steps: Array<{name: string; action: string}>}): Record<string, string> {
  return Object.fromEntries(r.steps.map((s) => [s.name, s.action]))
}
