import {expect} from 'chai'
import {readFileSync, statSync} from 'node:fs'

import {readConfig} from '../../src/lib/config/settings.js'
import {FlowlogError, UsageError} from '../../src/lib/errors.js'
import {putObject} from '../fakes/cloud/cos.js'
import {actions, BASE_ANSWERS, type Fixture, fixture, FULL_SETUP_COUNTS} from './helpers.js'

/** The fake's state without the job runs' status (it advances on every read). */
function stable(f: Fixture): string {
  const s = f.cloud.state.snapshot()
  s.job_runs = (s.job_runs as Array<Record<string, unknown>>).map(({status: _status, ...rest}) => rest)
  return JSON.stringify(s)
}

describe('pipeline: setup → doctor → teardown against the fake IBM Cloud', function () {
  this.timeout(60_000)
  let f: Fixture
  beforeEach(async () => {
    f = await fixture()
  })
  afterEach(async () => {
    await f.close()
  })

  it('creates every resource in order, doctor passes, teardown leaves the fake empty', async () => {
    const r = await f.setup()
    expect(r.steps.map((s) => s.name)).to.deep.equal([
      'account',
      'resource-group',
      'vpc',
      'cos-instance',
      'cos-key',
      'bucket',
      'authorization',
      'collector',
      'sink',
      'project',
      'service-id',
      'job-policy:logs',
      'job-policy:bucket',
      'job-policy:registry',
      'job-policy:ledger',
      'registry-namespace',
      'job-api-key',
      'registry-secret',
      'build',
      'image',
      'secret',
      'config-map',
      'job',
      'trigger',
      'config',
    ])
    const a = actions(r)
    for (const name of ['cos-instance', 'cos-key', 'bucket', 'authorization', 'collector', 'sink', 'project', 'service-id', 'job-policy:logs', 'job-policy:bucket', 'job-policy:registry', 'job-policy:ledger', 'registry-namespace', 'job-api-key', 'registry-secret', 'build', 'image', 'secret', 'config-map', 'job', 'trigger']) {
      expect(a[name], name).to.equal('created')
    }
    expect(a.config).to.equal('updated')
    expect(f.counts()).to.deep.equal(FULL_SETUP_COUNTS)

    // The collector watches the blog's VPC and writes to the bucket; the job runs the forwarder as a daemon.
    const collector = f.cloud.vpc.state.flow_log_collectors[0]
    expect(collector.target.id).to.equal(f.cloud.vpc.state.vpcs[0].id)
    const bucket = [...f.cloud.state.buckets.values()].find((b) => !b.seeded)!
    expect(collector.storage_bucket.name).to.equal(bucket.name)
    expect(bucket.location).to.equal('us-south-standard')
    const job = [...f.cloud.state.jobs.values()][0]
    expect(job.body.run_mode).to.equal('daemon')
    // The image was built from the repository by a Code Engine build and the job is pinned to its digest.
    expect(job.body.image_reference).to.match(/^us\.icr\.io\/fl-[0-9a-f]{8}\/flowlog@sha256:[0-9a-f]{64}$/)
    expect(job.body.image_secret).to.equal('fl-registry')
    expect(job.body.run_commands).to.deep.equal([])
    expect(job.body.run_arguments).to.deep.equal(['forward', '--follow', '--source', `cos://${bucket.name}`, '--sink', 'cloud-logs'])
    const build = [...f.cloud.state.builds.values()][0]
    expect(build.body).to.include({source_url: BASE_ANSWERS.sourceRepo, strategy_type: 'dockerfile', strategy_spec_file: 'Dockerfile', output_secret: 'fl-registry'})
    // Least privilege: the job's secret holds only the service ID's key, never the user's.
    const jobSecret = [...f.cloud.state.secrets.values()].find((x) => x.name === 'fl-secret')!
    const jobKey = (jobSecret.body.data as Record<string, string>).IBMCLOUD_API_KEY
    expect(Object.keys(jobSecret.body.data as object)).to.deep.equal(['IBMCLOUD_API_KEY'])
    expect(jobKey).to.not.equal(f.env.IBMCLOUD_API_KEY)
    const sid = [...f.cloud.state.serviceIds.values()][0]
    expect(f.cloud.state.apiKeys.get(jobKey)).to.deep.equal({accountId: f.cloud.state.accountId, iamId: sid.iam_id})
    const sidPolicies = [...f.cloud.state.policies.values()].filter((p) => p.body.apiVersion !== 'v2' && JSON.stringify(p.body.subjects).includes(sid.iam_id))
    const logsGuid = [...f.cloud.state.instances.values()].find((i) => i.name === 'fl-logs')!.guid
    const grants = sidPolicies.map((p) => ({roles: (p.body.roles as Array<{role_id: string}>).map((x) => x.role_id.split(':').pop()), res: Object.fromEntries(((p.body.resources as Array<{attributes: Array<{name: string; value: string}>}>)[0].attributes).map((x) => [x.name, x.value]))}))
    expect(grants).to.deep.include({roles: ['Sender'], res: {accountId: f.cloud.state.accountId, serviceName: 'logs', serviceInstance: logsGuid}})
    expect(grants.find((g) => g.res.serviceName === 'cloud-object-storage')).to.deep.include({roles: ['Reader']})
    expect(grants.find((g) => g.res.serviceName === 'cloud-object-storage')!.res).to.include({resourceType: 'bucket', resource: bucket.name})
    // Writer only on flowlog/ledger/: an IAM v2 policy with prefix and path conditions, as COS publishes.
    const ledger = [...f.cloud.state.policies.values()].find((p) => p.body.apiVersion === 'v2')!
    expect(JSON.stringify(ledger.body.subject)).to.include(sid.iam_id)
    expect((ledger.body.control as {grant: {roles: Array<{role_id: string}>}}).grant.roles.map((x) => x.role_id)).to.deep.equal(['crn:v1:bluemix:public:iam::::serviceRole:Writer'])
    expect(JSON.stringify(ledger.body.rule)).to.include('{{resource.attributes.path}}').and.include('flowlog/ledger/*').and.include('{{resource.attributes.prefix}}')
    expect(ledger.body.pattern).to.equal('attribute-based-condition:resource:literal-and-wildcard')
    expect(r.steps.find((x) => x.name === 'job-policy:ledger')!.detail).to.match(/Writer on .*flowlog\/ledger\/ only/)
    // The collector was born pending and setup waited for stable.
    expect(collector.lifecycle_state).to.equal('stable')
    expect(r.steps.find((x) => x.name === 'collector')!.detail).to.include('stable')

    // Config file: what the other commands read, secrets only there, 0600.
    const config = await readConfig(f.home)
    expect(config).to.include({region: 'us-south', bucket: bucket.name, sink: 'cloud-logs', cosEndpoint: f.env.FLOWLOG_COS_ENDPOINT})
    expect(config.cosHmacAccessKeyId).to.be.a('string').and.not.empty
    expect(config.cosHmacSecretAccessKey).to.be.a('string').and.not.empty
    expect(config.cloudLogsUrl).to.equal(f.env.FLOWLOG_CLOUD_LOGS_URL)
    expect(statSync(f.home.configPath).mode & 0o777).to.equal(0o600)
    // State file: ids, no secrets, 0600.
    const stateText = readFileSync(f.home.statePath, 'utf8')
    expect(statSync(f.home.statePath).mode & 0o777).to.equal(0o600)
    expect(stateText).to.not.include(String(config.cosHmacSecretAccessKey))
    expect(stateText).to.not.include(String(f.env.IBMCLOUD_API_KEY))
    expect(stateText).to.include(collector.id)
    // The job's key lives only in the Code Engine secrets: not in the state, not in the config file.
    expect(stateText).to.not.include(jobKey)
    expect(readFileSync(f.home.configPath, 'utf8')).to.not.include(jobKey)

    const d = await f.doctor()
    expect(d.checks.filter((c) => !c.ok), JSON.stringify(d.checks)).to.deep.equal([])
    expect(d.checks.map((c) => c.name)).to.deep.equal(['credentials', 'bucket', 'authorization', 'collector', 'objects', 'project', 'job', 'job-runs', 'job-policies', 'job-api-key', 'sink'])
    expect(f.cloud.state.ingested.filter((x) => x.kind === 'cloud-logs')).to.have.length(1)

    const t = await f.teardown()
    expect(t.steps.filter((s) => s.action === 'failed')).to.deep.equal([])
    expect(f.counts()).to.deep.equal({})
    const after = await readConfig(f.home)
    expect(after.bucket).to.equal(undefined)
    expect(after.cosHmacSecretAccessKey).to.equal(undefined)
  })

  it('a second setup changes nothing (no created or updated step)', async () => {
    await f.setup()
    const before = stable(f)
    const postsBefore = f.cloud.state.log.filter((x) => x.method !== 'GET' && x.method !== 'HEAD').length
    const r = await f.setup()
    expect(r.steps.filter((s) => s.action === 'created' || s.action === 'updated')).to.deep.equal([])
    expect(stable(f)).to.equal(before)
    // Writes: only the IAM token exchange.
    const writes = f.cloud.state.log.slice().filter((x) => x.method !== 'GET' && x.method !== 'HEAD').slice(postsBefore)
    expect(writes.every((w) => w.service === 'iam'), JSON.stringify(writes)).to.equal(true)
  })

  it('--dry-run on a fresh account plans everything and changes nothing', async () => {
    const r = await f.setup({}, {dryRun: true})
    expect(r.dryRun).to.equal(true)
    const a = actions(r)
    for (const name of ['cos-instance', 'cos-key', 'bucket', 'authorization', 'collector', 'sink', 'project', 'secret', 'config-map', 'job', 'trigger', 'config']) {
      expect(a[name], name).to.equal('planned')
    }
    expect(f.counts()).to.deep.equal({})
    expect(() => statSync(f.home.statePath)).to.throw()
    expect(() => statSync(f.home.configPath)).to.throw()
    const writes = f.cloud.state.log.filter((x) => x.method !== 'GET' && x.method !== 'HEAD' && x.service !== 'iam')
    expect(writes).to.deep.equal([])
  })

  it('--dry-run after a setup reports everything as existing', async () => {
    await f.setup()
    const before = stable(f)
    const r = await f.setup({}, {dryRun: true})
    expect(r.steps.filter((s) => s.action !== 'exists')).to.deep.equal([])
    expect(stable(f)).to.equal(before)
  })

  it('--dry-run after drift shows what would change', async () => {
    await f.setup()
    f.cloud.vpc.state.flow_log_collectors[0].active = false
    const r = await f.setup({image: 'icr.io/me/flowlog:2'}, {dryRun: true})
    const a = actions(r)
    expect(a.collector).to.equal('planned')
    expect(a.job).to.equal('planned')
    expect(f.cloud.vpc.state.flow_log_collectors[0].active).to.equal(false)
  })

  it('repairs drift: reactivates the collector and updates the job (If-Match) and restarts its run', async () => {
    await f.setup()
    f.cloud.vpc.state.flow_log_collectors[0].active = false
    const r = await f.setup({image: 'icr.io/me/flowlog:2'})
    const a = actions(r)
    expect(a.collector).to.equal('updated')
    expect(a.job).to.equal('updated')
    expect(a.trigger).to.equal('updated')
    expect(f.cloud.vpc.state.flow_log_collectors[0].active).to.equal(true)
    const job = [...f.cloud.state.jobs.values()][0]
    expect(job.body.image_reference).to.equal('icr.io/me/flowlog:2')
    expect(job.body.run_commands).to.deep.equal([])
    expect((job.body.run_arguments as string[]).slice(0, 2)).to.deep.equal(['forward', '--follow'])
    expect(f.cloud.state.jobRuns.size).to.equal(1)
    const again = await f.setup({image: 'icr.io/me/flowlog:2'})
    expect(again.steps.filter((s) => s.action === 'created' || s.action === 'updated')).to.deep.equal([])
  })

  it('updates a secret whose content changed (PUT with If-Match)', async () => {
    await f.setup({sink: 'logdna', logdnaIngestionKey: 'ingest-key-one-0001'})
    const r = await f.setup({sink: 'logdna', logdnaIngestionKey: 'ingest-key-two-0002'})
    const a = actions(r)
    expect(a.secret).to.equal('updated')
    expect(a.sink).to.equal('updated')
    const secret = [...f.cloud.state.secrets.values()].find((x) => x.name === 'fl-secret')!
    expect((secret.body.data as Record<string, string>).FLOWLOG_LOGDNA_INGESTION_KEY).to.equal('ingest-key-two-0002')
    expect(secret.entity_tag).to.not.equal('1')
  })
})

describe('pipeline: a failure at each step, then a re-run', function () {
  this.timeout(120_000)

  interface Case {
    step: string
    fault: Parameters<Fixture['cloud']['state']['inject']>[0]
  }
  const cases: Case[] = [
    {step: 'account (IAM down)', fault: {service: 'iam', method: 'POST', path: '^/identity/token', status: 503}},
    {step: 'resource-group', fault: {service: 'rm', method: 'GET', path: '^/v2/resource_groups', status: 500}},
    {step: 'vpc', fault: {service: 'vpc', method: 'GET', path: '^/v1/vpcs', status: 500}},
    {step: 'cos-instance (refused)', fault: {service: 'rc', method: 'POST', path: '^/v2/resource_instances', status: 500}},
    {step: 'cos-instance (answer lost)', fault: {service: 'rc', method: 'POST', path: '^/v2/resource_instances', status: 502, after: true}},
    {step: 'cos-instance (poll fails)', fault: {service: 'rc', method: 'GET', path: '^/v2/resource_instances/[0-9a-f-]+$', status: 500}},
    {step: 'cos-key (answer lost)', fault: {service: 'rc', method: 'POST', path: '^/v2/resource_keys', status: 500, after: true}},
    {step: 'bucket (refused)', fault: {service: 'cos', method: 'PUT', path: '^/fl-flowlogs-', status: 400}},
    {step: 'bucket (answer lost)', fault: {service: 'cos', method: 'PUT', path: '^/fl-flowlogs-', status: 400, after: true}},
    {step: 'authorization (answer lost)', fault: {service: 'policy', method: 'POST', path: '^/v1/policies', status: 500, after: true}},
    {step: 'collector', fault: {service: 'vpc', method: 'POST', path: '^/v1/flow_log_collectors', status: 500}},
    {step: 'sink (catalog)', fault: {service: 'catalog', method: 'GET', path: '^/api/v1\\?', status: 500}},
    {step: 'sink (answer lost)', fault: {service: 'rc', method: 'POST', path: '^/v2/resource_instances', status: 500, after: true, skip: 1}},
    {step: 'project (answer lost)', fault: {service: 'ce', method: 'POST', path: '^/v2/projects\\?', status: 500, after: true}},
    {step: 'project (poll fails)', fault: {service: 'ce', method: 'GET', path: '^/v2/projects/[0-9a-f-]+\\?', status: 500}},
    {step: 'secret', fault: {service: 'ce', method: 'POST', path: '/secrets\\?', status: 500}},
    {step: 'config-map (answer lost)', fault: {service: 'ce', method: 'POST', path: '/config_maps\\?', status: 500, after: true}},
    {step: 'job (answer lost)', fault: {service: 'ce', method: 'POST', path: '/jobs\\?', status: 500, after: true}},
    {step: 'trigger', fault: {service: 'ce', method: 'POST', path: '/job_runs\\?', status: 500}},
  ]

  for (const c of cases) {
    it(`${c.step}: the re-run completes with no duplicates and teardown removes everything`, async () => {
      const f = await fixture()
      try {
        f.cloud.state.inject(c.fault)
        let failed: unknown
        try {
          await f.setup()
        } catch (error) {
          failed = error
        }
        expect(failed, 'the first run must fail').to.be.instanceOf(FlowlogError)
        expect(f.cloud.state.faults, 'the fault fired').to.deep.equal([])
        const r = await f.setup()
        expect(r.steps.at(-1)!.name).to.equal('config')
        expect(f.counts()).to.deep.equal(FULL_SETUP_COUNTS)
        const third = await f.setup()
        expect(third.steps.filter((s) => s.action === 'created' || s.action === 'updated')).to.deep.equal([])
        await f.teardown()
        expect(f.counts(), 'teardown removes what the failed run created too').to.deep.equal({})
      } finally {
        await f.close()
      }
    })
  }
})

describe('pipeline: idempotency edge cases', function () {
  this.timeout(60_000)

  it('one-time credentials: a key whose answer was lost is replaced (suffixed name) and the orphan removed', async () => {
    const f = await fixture({onetimeCredentials: true})
    try {
      f.cloud.state.inject({service: 'rc', method: 'POST', path: '^/v2/resource_keys', status: 500, after: true})
      await f.setup().catch(() => undefined)
      expect(f.cloud.state.keys.size).to.equal(1)
      const r = await f.setup()
      expect(actions(r)['cos-key']).to.equal('created')
      const keys = [...f.cloud.state.keys.values()]
      expect(keys).to.have.length(1)
      expect(keys[0].name).to.match(/^fl-cos-key-/)
      const config = await readConfig(f.home)
      const hmac = (keys[0].credentials as {cos_hmac_keys: {access_key_id: string}}).cos_hmac_keys
      expect(config.cosHmacAccessKeyId).to.equal(hmac.access_key_id)
      const again = await f.setup()
      expect(actions(again)['cos-key']).to.equal('exists')
    } finally {
      await f.close()
    }
  })

  it('a 409 policy_conflict_error adopts the existing policy, and teardown leaves it (setup did not create it)', async () => {
    const f = await fixture()
    try {
      // First run creates the COS instance, then fails at the authorization; meanwhile someone creates the policy.
      // A 400 proves the policy was not created (a 5xx would leave it possibly ours).
      f.cloud.state.inject({service: 'policy', method: 'POST', path: '^/v1/policies', status: 400})
      await f.setup().catch(() => undefined)
      const cos = [...f.cloud.state.instances.values()].find((i) => i.name === 'fl-cos')!
      f.cloud.state.policies.set('pre-existing', {
        id: 'pre-existing',
        created_at: new Date().toISOString(),
        body: {
          type: 'authorization',
          subjects: [{attributes: [{name: 'accountId', value: f.cloud.state.accountId}, {name: 'serviceName', value: 'is'}, {name: 'resourceType', value: 'flow-log-collector'}]}],
          roles: [{role_id: 'crn:v1:bluemix:public:iam::::serviceRole:Writer'}],
          resources: [{attributes: [{name: 'accountId', value: f.cloud.state.accountId}, {name: 'serviceName', value: 'cloud-object-storage'}, {name: 'serviceInstance', value: cos.guid}]}],
        },
      })
      // The list does not show it yet (eventual consistency): the create answers 409 with conflicts_with.
      f.cloud.state.inject({service: 'policy', method: 'GET', path: '^/v1/policies\\?', status: 200, body: {policies: [], limit: 100}})
      const r = await f.setup()
      const step = r.steps.find((s) => s.name === 'authorization')!
      expect(step).to.include({action: 'exists', id: 'pre-existing'})
      // The pre-existing authorization and the job's three access policies; no second authorization.
      expect(f.cloud.state.policies.size).to.equal(5)
      const t = await f.teardown()
      expect(t.steps.find((s) => s.name === 'authorization')).to.include({action: 'skipped'})
      expect([...f.cloud.state.policies.keys()]).to.deep.equal(['pre-existing'])
    } finally {
      await f.close()
    }
  })

  it('retries the collector while the authorization propagates (403), then creates it', async () => {
    const f = await fixture()
    try {
      f.cloud.state.inject({service: 'vpc', method: 'POST', path: '^/v1/flow_log_collectors', status: 403, times: 2})
      const r = await f.setup()
      expect(actions(r).collector).to.equal('created')
      // Two 403s, then the fake's `service_error` while the policy propagates, then the create.
      expect(f.cloud.state.log.filter((x) => x.method === 'POST' && x.path === '/v1/flow_log_collectors')).to.have.length(4)
    } finally {
      await f.close()
    }
  })

  it('gives up on a 403 that outlasts propagation, with the fix', async () => {
    const f = await fixture()
    try {
      f.cloud.state.inject({service: 'vpc', method: 'POST', path: '^/v1/flow_log_collectors', status: 403, times: 1000})
      const error = await f.setup().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).to.be.instanceOf(FlowlogError)
      expect((error as FlowlogError).exitCode).to.equal(3)
      expect((error as FlowlogError).suggestions.join(' ')).to.match(/propagat/)
    } finally {
      await f.close()
    }
  })

  it('adopts pre-existing resources by name and teardown leaves them in place', async () => {
    const f = await fixture()
    try {
      const first = await f.setup()
      expect(actions(first)['cos-instance']).to.equal('created')
      // Forget setup's own state: the next setup finds the resources by name, as someone else's.
      const {rmSync} = await import('node:fs')
      rmSync(f.home.statePath)
      const again = await f.setup()
      expect(again.steps.filter((s) => s.action === 'created' || s.action === 'updated')).to.deep.equal([])
      const t = await f.teardown()
      expect(t.steps.filter((s) => s.action === 'deleted').map((s) => s.name)).to.deep.equal(['job-runs', 'state'])
      expect(f.counts().resource_instances).to.equal(3)
    } finally {
      await f.close()
    }
  })

  it('a changed target gets its own collector; teardown removes the old one too', async () => {
    const f = await fixture()
    try {
      await f.setup({sink: 'none'})
      const r = await f.setup({sink: 'none', target: 'subnet:flowlogs-subnet2'})
      expect(actions(r).collector).to.equal('created')
      expect(f.cloud.vpc.state.flow_log_collectors.map((c) => c.target.resource_type).sort()).to.deep.equal(['subnet', 'vpc'])
      await f.teardown()
      expect(f.counts()).to.deep.equal({})
    } finally {
      await f.close()
    }
  })

  it('the bucket name taken elsewhere is a usage error naming --bucket, before anything is created', async () => {
    const f = await fixture()
    try {
      const error = await f.setup({bucket: 'flowlog-taken'}).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).to.be.instanceOf(UsageError)
      expect((error as UsageError).suggestions.join(' ')).to.include('--bucket')
    } finally {
      await f.close()
    }
  })

  it('a region with several VPCs needs --vpc; unknown targets are usage errors; subnet and instance targets resolve', async () => {
    const f = await fixture()
    try {
      const vpcs = f.cloud.vpc.state.vpcs
      vpcs.push({...vpcs[0], id: 'r006-00000000-0000-4000-8000-000000000001', name: 'other-vpc', crn: 'crn:other'})
      const e1 = await f.setup().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(e1).to.be.instanceOf(UsageError)
      expect((e1 as UsageError).message).to.match(/--vpc/)
      expect(f.counts(), 'nothing but the test\'s own VPC').to.deep.equal({vpcs: 1})
      const e2 = await f.setup({vpc: 'flowlogs-vpc', target: 'instance:nope'}).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(e2).to.be.instanceOf(UsageError)
      expect((e2 as UsageError).suggestions.join(' ')).to.include('instance:flowlogs-vsi1')
      const r = await f.setup({vpc: 'flowlogs-vpc', target: 'subnet:flowlogs-subnet1', sink: 'none'})
      expect(f.cloud.vpc.state.flow_log_collectors[0].target.resource_type).to.equal('subnet')
      expect(actions(r).project).to.equal('skipped')
      expect(r.steps.find((s) => s.name === 'vpc')!.detail).to.include('subnet flowlogs-subnet1')
    } finally {
      await f.close()
    }
  })

  it('an unknown resource group fails before anything is created', async () => {
    const f = await fixture()
    try {
      const e = await f.setup({resourceGroup: 'nope'}).then(
        () => undefined,
        (x: unknown) => x,
      )
      expect(e).to.be.instanceOf(UsageError)
      expect((e as UsageError).suggestions.join(' ')).to.include('flowlogs-rg')
      expect(f.counts()).to.deep.equal({})
    } finally {
      await f.close()
    }
  })

  it('the logdna sink stores the key only in the config file; doctor sends it one test line', async () => {
    const f = await fixture({ingestionKeys: ['my-ingestion-key-123456']})
    try {
      const r = await f.setup({sink: 'logdna', logdnaIngestionKey: 'my-ingestion-key-123456'})
      expect(actions(r).sink).to.equal('updated')
      expect(readFileSync(f.home.statePath, 'utf8')).to.not.include('my-ingestion-key-123456')
      expect((await readConfig(f.home)).logdnaIngestionKey).to.equal('my-ingestion-key-123456')
      const d = await f.doctor()
      expect(d.checks.find((c) => c.name === 'sink')).to.include({ok: true})
      const got = f.cloud.state.ingested.filter((x) => x.kind === 'logdna')
      expect(got).to.have.length(1)
      expect(got[0].query.hostname).to.equal('flowlog')
    } finally {
      await f.close()
    }
  })

  it('cos-subscription: Notifications Manager policy, printed commands, a task job without runs; teardown removes the policy', async () => {
    const f = await fixture()
    try {
      const r = await f.setup({trigger: 'cos-subscription'})
      const a = actions(r)
      expect(a['trigger-authorization']).to.equal('created')
      expect(a.trigger).to.equal('skipped')
      expect(r.commands!.join('\n')).to.include('ibmcloud ce subscription cos create --name fl-project-cos-to-job --destination-type job --destination fl-forward --bucket fl-flowlogs-')
      expect(f.cloud.state.policies.size).to.equal(6)
      const nm = [...f.cloud.state.policies.values()].find((p) => JSON.stringify(p.body).includes('NotificationsManager'))!
      expect(JSON.stringify(nm.body.subjects)).to.include('codeengine')
      expect([...f.cloud.state.jobs.values()][0].body.run_mode).to.equal('task')
      expect(f.cloud.state.jobRuns.size).to.equal(0)
      const d = await f.doctor()
      // The subscription cannot be seen: a skipped trigger is never reported healthy, and the fix is the command.
      expect(d.checks.find((c) => c.name === 'trigger-authorization')).to.include({ok: true})
      const trig = d.checks.find((c) => c.name === 'trigger')!
      expect(trig.ok).to.equal(false)
      expect(trig.fix).to.include('ibmcloud ce subscription cos create --name fl-project-cos-to-job')
      const t = await f.teardown()
      // The project (and so its subscription) is gone: no command to select it.
      expect(t.commands).to.equal(undefined)
      expect(t.steps.find((s) => s.name === 'subscription')).to.include({action: 'deleted'})
      expect(f.counts()).to.deep.equal({})
    } finally {
      await f.close()
    }
  })

  it('a teardown that fails half-way keeps the rest in the state; the next one finishes', async () => {
    const f = await fixture()
    try {
      await f.setup()
      f.cloud.state.inject({service: 'policy', method: 'DELETE', path: '^/v1/policies/', status: 500})
      const e = await f.teardown().then(
        () => undefined,
        (x: unknown) => x,
      )
      expect(e).to.be.instanceOf(FlowlogError)
      expect((e as FlowlogError).exitCode).to.equal(5)
      expect(f.counts()).to.deep.equal({policies: 1})
      const t = await f.teardown()
      expect(t.steps.map((s) => `${s.name}:${s.action}`)).to.deep.equal(['job-policy:logs:deleted', 'state:deleted'])
      expect(f.counts()).to.deep.equal({})
    } finally {
      await f.close()
    }
  })

  it('teardown right after a failed setup finds creates whose answer was lost', async () => {
    for (const fault of [
      {service: 'rc', method: 'POST', path: '^/v2/resource_instances', status: 500, after: true},
      {service: 'policy', method: 'POST', path: '^/v1/policies', status: 500, after: true},
      {service: 'ce', method: 'POST', path: '^/v2/projects\\?', status: 500, after: true},
    ]) {
      const f = await fixture()
      try {
        f.cloud.state.inject(fault)
        await f.setup().then(
          () => expect.fail('setup must fail'),
          () => undefined,
        )
        expect(Object.keys(f.counts()).length, JSON.stringify(fault)).to.be.greaterThan(0)
        await f.teardown()
        expect(f.counts(), JSON.stringify(fault)).to.deep.equal({})
      } finally {
        await f.close()
      }
    }
  })

  it('teardown tolerates 404 (resources deleted behind its back)', async () => {
    const f = await fixture()
    try {
      await f.setup()
      f.cloud.vpc.state.flow_log_collectors.length = 0
      f.cloud.state.policies.clear()
      const t = await f.teardown()
      expect(t.steps.find((s) => s.name === 'collector')).to.include({action: 'deleted', detail: 'already gone'})
      expect(t.steps.find((s) => s.name === 'authorization')).to.include({action: 'deleted', detail: 'already gone'})
      expect(f.counts()).to.deep.equal({})
    } finally {
      await f.close()
    }
  })

  it('with nothing set up, teardown has nothing to do', async () => {
    const f = await fixture()
    try {
      const t = await f.teardown()
      expect(t.steps).to.have.length(1)
      expect(t.steps[0]).to.include({name: 'state', action: 'skipped'})
    } finally {
      await f.close()
    }
  })
})

describe('pipeline: doctor failures and fixes', function () {
  this.timeout(60_000)
  let f: Fixture
  beforeEach(async () => {
    f = await fixture()
    await f.setup()
  })
  afterEach(async () => {
    await f.close()
  })

  it('reports a deleted collector, an inactive one, and a missing authorization, each with its fix', async () => {
    f.cloud.vpc.state.flow_log_collectors[0].active = false
    f.cloud.state.policies.clear()
    let d = await f.doctor()
    const byName = Object.fromEntries(d.checks.map((c) => [c.name, c]))
    expect(byName.collector).to.include({ok: false})
    expect(byName.collector.fix).to.match(/flowlog setup/)
    expect(byName.authorization).to.include({ok: false})
    expect(byName.credentials).to.include({ok: true, fix: null})
    f.cloud.vpc.state.flow_log_collectors.length = 0
    d = await f.doctor()
    expect(d.checks.find((c) => c.name === 'collector')!.detail).to.match(/no flow log collector/)
  })

  it('objects: recent ones pass, stale ones fail, none at all fails once the collector is old', async () => {
    const bucket = [...f.cloud.state.buckets.values()].find((b) => !b.seeded)!.name
    const key = 'ibm_vpc_flowlogs_v1/account=a/region=us-south/vpc-id=v/subnet-id=s/endpoint-type=vnics/instance-id=i/vnic-id=n/record-type=ingress/year=2026/month=01/day=01/hour=00/stream-id=x/00000001.gz'
    putObject(f.cloud.state, bucket, key, 'x', new Date(Date.now() - 60_000))
    let d = await f.doctor()
    expect(d.checks.find((c) => c.name === 'objects')).to.include({ok: true})
    d = await f.doctor({now: () => Date.now() + 3 * 3600_000})
    const stale = d.checks.find((c) => c.name === 'objects')!
    expect(stale.ok).to.equal(false)
    expect(stale.detail).to.match(/delivery stopped/)
  })

  it('a failed job run is reported with where to look', async () => {
    for (const r of f.cloud.state.jobRuns.values()) r.status = 'failed'
    const d = await f.doctor()
    const c = d.checks.find((x) => x.name === 'job-runs')!
    expect(c.ok).to.equal(false)
    expect(c.fix).to.include('ibmcloud ce jobrun logs')
  })

  it('a refused sink key is a failure with the Sender-role fix', async () => {
    f.cloud.state.inject({service: 'cloudlogs', method: 'POST', path: '^/logs/v1/singles', status: 403})
    const d = await f.doctor()
    const c = d.checks.find((x) => x.name === 'sink')!
    expect(c.ok).to.equal(false)
    expect(c.fix).to.match(/Sender/)
  })

  it('a wrong API key fails the credentials check and stops', async () => {
    const d = await (await import('../../src/lib/pipeline/doctor.js')).runDoctor({home: f.home, env: {...f.env, IBMCLOUD_API_KEY: 'wrong-key-000000'}, version: '0.1.0'})
    expect(d.checks).to.have.length(1)
    expect(d.checks[0]).to.include({name: 'credentials', ok: false})
    expect(d.checks[0].detail).to.match(/BXNIM0415E|refused/)
    expect(d.checks[0].detail).to.not.include('wrong-key-000000')
  })
})

describe('pipeline: answers', () => {
  it('rejects bad answers as usage errors before any call', async () => {
    const f = await fixture()
    try {
      for (const bad of [{basename: 'Bad_Name'}, {region: 'mars-1'}, {bucket: 'A'}, {sink: 'x' as never}, {trigger: 'x' as never}, {sink: 'logdna' as const}]) {
        const e = await f.setup(bad).then(
          () => undefined,
          (x: unknown) => x,
        )
        expect(e, JSON.stringify(bad)).to.be.instanceOf(UsageError)
      }
      expect(f.cloud.state.log.filter((x) => x.service !== 'iam')).to.deep.equal([])
    } finally {
      await f.close()
    }
  })
})
