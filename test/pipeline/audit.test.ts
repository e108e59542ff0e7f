/**
 * The fixes of the API audit (issue #12 item 4), each against a fake that answers what the real API answers.
 */
import {expect} from 'chai'

import {FlowlogError} from '../../src/lib/errors.js'
import {joinUrl} from '../../src/lib/ibmcloud/endpoints.js'
import {createAuthenticator} from '../../src/lib/ibmcloud/http.js'
import {probeLogdna} from '../../src/lib/ibmcloud/ingest-probe.js'
import {conflictingPolicyId} from '../../src/lib/ibmcloud/platform.js'
import {VpcClient} from '../../src/lib/ibmcloud/vpc.js'
import {planOf} from '../../src/lib/pipeline/plan.js'
import {StateStore} from '../../src/lib/pipeline/state.js'
import {teardownList} from '../../src/lib/pipeline/teardown.js'
import {startVpcFake, TEST_API_KEY} from '../fakes/vpc.js'
import {actions, fixture} from './helpers.js'

describe('pipeline: fixes from the API audit', function () {
  this.timeout(120_000)

  it('GET /network_acls carries no vpc.id: all ACLs are listed page by page and those on the VPC\'s subnets kept', async () => {
    const f = await startVpcFake({iam: true})
    try {
      const c = new VpcClient({serviceUrl: f.url, authenticator: createAuthenticator({apiKey: TEST_API_KEY, iamUrl: f.iamUrl}), retry: {maxRetries: 0}, pageLimit: 1})
      const vpc = f.fake.state.vpcs[0]
      // Another VPC's ACL that must be left out.
      f.fake.state.network_acls.push({...structuredClone(f.fake.state.network_acls[0]), id: 'r006-other-acl', name: 'other-acl', vpc: {id: 'r006-other-vpc', name: 'other'}, subnets: []})
      const acls = await c.listNetworkAcls({'vpc.id': vpc.id})
      expect(acls.map((a) => a.id)).to.not.include('r006-other-acl')
      expect(acls.length).to.be.greaterThan(0)
      const aclCalls = f.fake.requests.filter((r) => r.path.endsWith('/network_acls'))
      expect(aclCalls.length, 'paged (limit 1)').to.be.greaterThan(1)
      for (const r of aclCalls) expect(Object.keys(r.query)).to.not.include('vpc.id')
      // The fake rejects the filter, as a strict fake of a parameter the API does not have.
      const raw = await fetch(`${f.url}/network_acls?version=2026-03-24&generation=2&vpc.id=${vpc.id}`, {headers: {authorization: `Bearer ${[...f.issued][0]}`}})
      expect(raw.status).to.equal(400)
    } finally {
      await f.close()
    }
  })

  it('a 409 conflict names the existing policy as a string or as an object: both are adopted', async () => {
    const body = (policy: unknown) => ({errors: [{code: 'policy_conflict_error', message: 'Failed to create policy.', details: {conflicts_with: {etag: '1-x', role: '', policy}}}], trace: 't', status_code: 409})
    expect(conflictingPolicyId(body('abc-123'))).to.equal('abc-123')
    expect(conflictingPolicyId(body({id: 'abc-456', type: 'authorization'}))).to.equal('abc-456')
    expect(conflictingPolicyId(body(''))).to.equal(undefined)
    expect(conflictingPolicyId({})).to.equal(undefined)
    // End to end with the object form from the fake.
    const f = await fixture({conflictAsObject: true})
    try {
      await f.setup()
      const before = f.cloud.state.policies.size
      // Lose the ids: the rerun lists nothing (eventual consistency), creates, gets 409 with the object form.
      f.cloud.state.inject({service: 'policy', method: 'GET', path: '^/v1/policies\\?', status: 200, body: {policies: [], limit: 100}, times: 2})
      const r = await f.setup()
      expect(actions(r).authorization).to.equal('exists')
      expect(actions(r)['job-policy:logs']).to.equal('exists')
      expect(f.cloud.state.policies.size).to.equal(before)
    } finally {
      await f.close()
    }
  })

  it('a collector refused with service_error while the authorization propagates is retried, saying so; a wait that outlasts 2 min fails with the fix', async () => {
    const f = await fixture({propagationRefusals: 3})
    const messages: string[] = []
    try {
      const {runSetup} = await import('../../src/lib/pipeline/setup.js')
      const {BASE_ANSWERS, TIMING} = await import('./helpers.js')
      const r = await runSetup({home: f.home, env: f.env, answers: BASE_ANSWERS, version: '0.1.0', timing: TIMING, onProgress: (e) => messages.push(e.message)})
      expect(actions(r).collector).to.equal('created')
      expect(messages.some((m) => /propagating/.test(m) && /service_error/.test(m))).to.equal(true)
    } finally {
      await f.close()
    }
    const g = await fixture({propagationRefusals: 1000})
    try {
      let slept = 0
      const {runSetup} = await import('../../src/lib/pipeline/setup.js')
      const {BASE_ANSWERS} = await import('./helpers.js')
      const error = await runSetup({home: g.home, env: g.env, answers: BASE_ANSWERS, version: '0.1.0', timing: {sleep: async (ms) => void (slept += ms), pollIntervalMs: 1000}}).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect((error as Error).message).to.match(/still refused after 120 s/)
      expect((error as FlowlogError).exitCode).to.equal(4)
      expect((error as FlowlogError).suggestions.join(' ')).to.match(/propagat/)
      expect(slept).to.be.at.least(120_000)
    } finally {
      await g.close()
    }
  })

  it('collectors are born pending: setup waits for stable, and names the state when it goes to failed', async () => {
    const f = await fixture({collectorPolls: 3, collectorFinalState: 'failed'})
    try {
      const error = await f.setup().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).to.be.instanceOf(FlowlogError)
      expect((error as Error).message).to.match(/is failed, not stable/)
    } finally {
      await f.close()
    }
  })

  it('Code Engine job runs end completed (never another word); a failed build run stops setup with its logs command', async () => {
    const f = await fixture({buildRunFinalStatus: 'failed'})
    try {
      const error = await f.setup().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect((error as Error).message).to.match(/build run fl-image-run-\w+ failed/)
      expect((error as FlowlogError).suggestions.join(' ')).to.match(/ibmcloud ce buildrun logs --name/)
    } finally {
      await f.close()
    }
  })

  it('every URL join keeps the base URL\'s path; a retired Log Analysis URL is refused without a request (exit 3)', async () => {
    expect(joinUrl('https://h.example/prefix', '/logs/v1/singles').href).to.equal('https://h.example/prefix/logs/v1/singles')
    expect(joinUrl('https://h.example/prefix/', 'logs/ingest').href).to.equal('https://h.example/prefix/logs/ingest')
    expect(joinUrl('https://h.example', '/logs/v1/singles').href).to.equal('https://h.example/logs/v1/singles')
    const error = await probeLogdna({url: 'https://logs.us-south.logging.cloud.ibm.com', ingestionKey: 'k'.repeat(20)}).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((error as FlowlogError).exitCode).to.equal(3)
    expect((error as Error).message).to.match(/retired in March 2025/)
    expect((error as FlowlogError).suggestions.join(' ')).to.include('--sink cloud-logs')
  })

  it('the plan lists each resource with its kind, whether it costs money and whether it exists', async () => {
    const f = await fixture()
    try {
      const dry = await f.setup({}, {dryRun: true})
      const plan = planOf(dry)
      expect(plan.find((p) => p.kind === 'flow log collector')).to.include({action: 'create', cost: 'yes: per GB of flow logs'})
      expect(plan.find((p) => p.kind === 'resource group')).to.include({action: 'exists', cost: 'no'})
      expect(f.counts()).to.deep.equal({})
      await f.setup()
      const again = planOf(await f.setup({}, {dryRun: true}))
      expect(again.filter((p) => p.action === 'create' || p.action === 'update')).to.deep.equal([])
    } finally {
      await f.close()
    }
  })

  it('teardown\'s confirmation lists what it deletes one resource per line with its kind', async () => {
    const f = await fixture()
    try {
      await f.setup()
      const store = new StateStore(f.home, true)
      await store.load()
      const list = teardownList(store.deployments[0])
      expect(list.map((x) => x.kind)).to.include.members(['flow log collector', 'IAM service ID', 'API key of the job service ID', 'Code Engine build', 'Object Storage bucket (and its flow logs)'])
      for (const item of list) expect(item.resource).to.be.a('string').and.not.empty
    } finally {
      await f.close()
    }
  })
})
