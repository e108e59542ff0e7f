/**
 * The enum values and body shapes flowlog relies on, pinned in one place, each with the SDK file it comes from
 * (read from IBM's published SDKs; issue #12 item 5). The fakes are checked to answer exactly these values, so a
 * change here is a change to the API contract, not to a test.
 */
import {expect} from 'chai'

import {conflictingPolicyId} from '../../src/lib/ibmcloud/platform.js'
import {JOB_RUN_STATUS} from '../../src/lib/pipeline/setup.js'
import {fixture} from './helpers.js'

/** IBM/code-engine-go-sdk codeenginev2/code_engine_v2.go: JobRun_Status_Completed … JobRun_Status_Running. */
const CE_JOB_RUN_STATUS = ['completed', 'failed', 'pending', 'running']
/** IBM/code-engine-go-sdk codeenginev2/code_engine_v2.go: BuildRun_Status_Failed … BuildRun_Status_Succeeded. */
const CE_BUILD_RUN_STATUS = ['failed', 'pending', 'running', 'succeeded']
/** IBM/code-engine-go-sdk codeenginev2/code_engine_v2.go: BuildRunStatus (status_details) field names flowlog reads. */
const CE_BUILD_RUN_DETAILS = ['completion_time', 'output_digest', 'reason', 'start_time']
/** IBM/vpc-node-sdk vpc/v1.ts: FlowLogCollector.Constants.LifecycleState. */
const VPC_COLLECTOR_LIFECYCLE = ['deleting', 'failed', 'pending', 'stable', 'suspended', 'updating', 'waiting']
/** IBM/vpc-node-sdk vpc/v1.ts: listNetworkAcls `_validParams` → query `start`, `limit`, `resource_group.id` (no vpc.id). */
const VPC_LIST_ACL_QUERY = ['limit', 'resource_group.id', 'start']
/** IBM/platform-services-node-sdk iam-policy-management/v1.ts: interface ConflictsWith {etag?, role?, policy?: string}. */
const IAM_CONFLICT_BODY = {errors: [{code: 'policy_conflict_error', message: 'Failed to create policy.', details: {conflicts_with: {etag: '1-abc', role: '', policy: 'abc'}}}], trace: 'x', status_code: 409}

describe('pinned IBM Cloud API values and shapes', function () {
  this.timeout(120_000)

  it('Code Engine job-run statuses: flowlog knows exactly the four of codeenginev2', () => {
    expect(Object.values(JOB_RUN_STATUS).sort()).to.deep.equal(CE_JOB_RUN_STATUS)
  })

  it('the fakes answer only the published values: run statuses, build-run statuses and details, collector states', async () => {
    const f = await fixture()
    try {
      await f.setup()
      await f.setup({trigger: 'poll'})
      for (const r of f.cloud.state.jobRuns.values()) expect(CE_JOB_RUN_STATUS).to.include(r.status)
      for (const r of f.cloud.state.buildRuns.values()) expect(CE_BUILD_RUN_STATUS).to.include(r.status)
      const pid = [...f.cloud.state.projects.values()][0].id
      const token = [...f.cloud.state.tokens.keys()].at(-1)!
      const runs = (await (await fetch(`${f.env.FLOWLOG_CODE_ENGINE_URL}/projects/${pid}/build_runs?version=2025-01-10`, {headers: {authorization: `Bearer ${token}`}})).json()) as {build_runs: Array<{status: string; status_details: Record<string, unknown>}>}
      for (const r of runs.build_runs) {
        expect(CE_BUILD_RUN_STATUS).to.include(r.status)
        for (const k of Object.keys(r.status_details)) expect(CE_BUILD_RUN_DETAILS).to.include(k)
      }
      for (const c of f.cloud.vpc.state.flow_log_collectors) expect(VPC_COLLECTOR_LIFECYCLE).to.include(c.lifecycle_state)
    } finally {
      await f.close()
    }
  })

  it('the ACL list takes only the published query parameters', () => {
    expect(VPC_LIST_ACL_QUERY).to.not.include('vpc.id')
  })

  it('a policy conflict body in the SDK shape yields the conflicting policy id', () => {
    expect(conflictingPolicyId(IAM_CONFLICT_BODY)).to.equal('abc')
  })
})
