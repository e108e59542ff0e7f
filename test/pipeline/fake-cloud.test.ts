import {expect} from 'chai'

import {type FakeCloud, startFakeCloud} from '../fakes/cloud/index.js'

/** The fake IBM Cloud is strict where the real APIs are: these are the rules the pipeline code is held to. */
describe('fake IBM Cloud', function () {
  this.timeout(30_000)
  let cloud: FakeCloud
  let token: string
  const e = () => cloud.env
  const auth = () => ({Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'})
  const json = (body: unknown) => ({body: JSON.stringify(body)})

  beforeEach(async () => {
    cloud = await startFakeCloud()
    const r = await fetch(`${e().FLOWLOG_IAM_URL}/identity/token`, {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: `grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=${encodeURIComponent(e().IBMCLOUD_API_KEY)}&response_type=cloud_iam`,
    })
    token = ((await r.json()) as {access_token: string}).access_token
  })
  afterEach(async () => {
    await cloud.close()
  })

  it('IAM issues decodable JWTs (account.bss, iat, exp) with expiration in seconds; unknown keys get 400 BXNIM0415E', async () => {
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {account: {bss: string}; iat: number; exp: number}
    expect(payload.account.bss).to.equal(cloud.state.accountId)
    expect(payload.exp - payload.iat).to.equal(3600)
    const bad = await fetch(`${e().FLOWLOG_IAM_URL}/identity/token`, {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: 'grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=nope',
    })
    expect(bad.status).to.equal(400)
    expect(((await bad.json()) as {errorCode: string}).errorCode).to.equal('BXNIM0415E')
  })

  it('every service refuses a missing or foreign bearer token with 401', async () => {
    for (const url of [
      `${e().FLOWLOG_RESOURCE_CONTROLLER_URL}/v2/resource_instances`,
      `${e().FLOWLOG_RESOURCE_MANAGER_URL}/v2/resource_groups`,
      `${e().FLOWLOG_IAM_POLICY_URL}/v1/policies?account_id=${cloud.state.accountId}`,
      `${e().FLOWLOG_CODE_ENGINE_URL}/projects?version=2025-01-10`,
      `${e().FLOWLOG_VPC_URL}/vpcs?version=2026-03-24&generation=2`,
      `${e().FLOWLOG_GLOBAL_CATALOG_URL}?q=name:logs`,
    ]) {
      const r = await fetch(url, {headers: {Authorization: 'Bearer eyJ.not.issued'}})
      expect(r.status, url).to.equal(401)
    }
  })

  it('Resource Controller provisions asynchronously and pages with next_url', async () => {
    const rg = cloud.state.resourceGroups[0].id
    const create = await fetch(`${e().FLOWLOG_RESOURCE_CONTROLLER_URL}/v2/resource_instances`, {
      method: 'POST',
      headers: {...auth(), 'Content-Type': 'application/json'},
      body: JSON.stringify({name: 'x-cos', target: 'global', resource_group: rg, resource_plan_id: '744bfc56-d12c-4866-88d5-dac9139e0e5d'}),
    })
    expect(create.status).to.equal(202)
    const inst = (await create.json()) as {guid: string; state: string}
    expect(inst.state).to.equal('provisioning')
    const states: string[] = []
    for (let i = 0; i < 3; i++) {
      const g = (await (await fetch(`${e().FLOWLOG_RESOURCE_CONTROLLER_URL}/v2/resource_instances/${inst.guid}`, {headers: auth()})).json()) as {state: string}
      states.push(g.state)
    }
    expect(states).to.deep.equal(['provisioning', 'active', 'active'])
    const missing = await fetch(`${e().FLOWLOG_RESOURCE_CONTROLLER_URL}/v2/resource_instances`, {method: 'POST', headers: auth(), ...json({name: 'y'})})
    expect(missing.status).to.equal(400)
    for (let i = 0; i < 2; i++) {
      await fetch(`${e().FLOWLOG_RESOURCE_CONTROLLER_URL}/v2/resource_instances`, {
        method: 'POST',
        headers: auth(),
        ...json({name: `p${i}`, target: 'global', resource_group: rg, resource_plan_id: '744bfc56-d12c-4866-88d5-dac9139e0e5d'}),
      })
    }
    const page = (await (await fetch(`${e().FLOWLOG_RESOURCE_CONTROLLER_URL}/v2/resource_instances?limit=2`, {headers: auth()})).json()) as {rows_count: number; next_url: string | null}
    expect(page.rows_count).to.equal(2)
    expect(page.next_url).to.match(/start=2/)
  })

  it('IAM policies need account_id on list and answer 409 policy_conflict_error with conflicts_with for a duplicate', async () => {
    const noAccount = await fetch(`${e().FLOWLOG_IAM_POLICY_URL}/v1/policies`, {headers: auth()})
    expect(noAccount.status).to.equal(400)
    const acct = cloud.state.accountId
    const body = {
      type: 'authorization',
      subjects: [{attributes: [{name: 'accountId', value: acct}, {name: 'serviceName', value: 'is'}, {name: 'resourceType', value: 'flow-log-collector'}]}],
      roles: [{role_id: 'crn:v1:bluemix:public:iam::::serviceRole:Writer'}],
      resources: [{attributes: [{name: 'accountId', value: acct}, {name: 'serviceName', value: 'cloud-object-storage'}, {name: 'serviceInstance', value: 'g1'}]}],
    }
    const a = await fetch(`${e().FLOWLOG_IAM_POLICY_URL}/v1/policies`, {method: 'POST', headers: auth(), ...json(body)})
    expect(a.status).to.equal(201)
    const id = ((await a.json()) as {id: string}).id
    const b = await fetch(`${e().FLOWLOG_IAM_POLICY_URL}/v1/policies`, {method: 'POST', headers: auth(), ...json(body)})
    expect(b.status).to.equal(409)
    const err = (await b.json()) as {errors: Array<{code: string; details: {conflicts_with: {policy: string}}}>}
    expect(err.errors[0].code).to.equal('policy_conflict_error')
    // platform-services-node-sdk iam-policy-management/v1.ts ConflictsWith.policy: the policy id, a string.
    expect(err.errors[0].details.conflicts_with.policy).to.equal(id)
    const badRole = await fetch(`${e().FLOWLOG_IAM_POLICY_URL}/v1/policies`, {
      method: 'POST',
      headers: auth(),
      ...json({...body, roles: [{role_id: 'crn:v1:bluemix:public:iam::::serviceRole:Nope'}]}),
    })
    expect(badRole.status).to.equal(400)
  })

  it('Code Engine requires version, waits for the project, and enforces If-Match', async () => {
    const ce = e().FLOWLOG_CODE_ENGINE_URL
    expect((await fetch(`${ce}/projects`, {headers: auth()})).status).to.equal(400)
    const p = (await (await fetch(`${ce}/projects?version=2025-01-10`, {method: 'POST', headers: auth(), ...json({name: 'pp'})})).json()) as {id: string; status: string}
    expect(p.status).to.equal('creating')
    const early = await fetch(`${ce}/projects/${p.id}/config_maps?version=2025-01-10`, {method: 'POST', headers: auth(), ...json({name: 'cm', data: {A: '1'}})})
    expect(early.status).to.equal(409)
    for (let i = 0; i < 2; i++) await fetch(`${ce}/projects/${p.id}?version=2025-01-10`, {headers: auth()})
    const made = await fetch(`${ce}/projects/${p.id}/config_maps?version=2025-01-10`, {method: 'POST', headers: auth(), ...json({name: 'cm', data: {A: '1'}})})
    expect(made.status).to.equal(201)
    const tag = ((await made.json()) as {entity_tag: string}).entity_tag
    const url = `${ce}/projects/${p.id}/config_maps/cm?version=2025-01-10`
    expect((await fetch(url, {method: 'PUT', headers: auth(), ...json({data: {A: '2'}})})).status).to.equal(428)
    expect((await fetch(url, {method: 'PUT', headers: {...auth(), 'If-Match': 'stale'}, ...json({data: {A: '2'}})})).status).to.equal(412)
    const ok = await fetch(url, {method: 'PUT', headers: {...auth(), 'If-Match': tag}, ...json({data: {A: '2'}})})
    expect(ok.status).to.equal(200)
    expect(((await ok.json()) as {entity_tag: string}).entity_tag).to.not.equal(tag)
    const job = await fetch(`${ce}/projects/${p.id}/jobs?version=2025-01-10`, {
      method: 'POST',
      headers: auth(),
      ...json({name: 'j', image_reference: 'docker.io/library/node:20', run_env_variables: [{type: 'secret_full_reference', reference: 'missing'}]}),
    })
    expect(job.status).to.equal(400)
  })

  it('COS refuses someone else\'s bucket (403) and needs ibm-service-instance-id to create one with IAM', async () => {
    const head = await fetch(`${e().FLOWLOG_COS_ENDPOINT}/flowlog-taken`, {method: 'HEAD', headers: auth()})
    expect(head.status).to.equal(403)
    const put = await fetch(`${e().FLOWLOG_COS_ENDPOINT}/new-bucket-1`, {method: 'PUT', headers: auth()})
    expect(put.status).to.equal(400)
    expect(await put.text()).to.include('<Code>InvalidArgument</Code>')
    const anon = await fetch(`${e().FLOWLOG_COS_ENDPOINT}/flowlog-taken`)
    expect(anon.status).to.equal(403)
  })

  it('VPC refuses a collector (403) until the flow-log authorization exists; version and generation are required', async () => {
    const vpc = e().FLOWLOG_VPC_URL
    expect((await fetch(`${vpc}/vpcs?version=2026-03-24`, {headers: auth()})).status).to.equal(400)
    const target = cloud.vpc.state.vpcs[0].id
    cloud.state.buckets.set('b-1', {name: 'b-1', instanceGuid: 'g1', location: 'us-south-standard', created: new Date(), objects: new Map()})
    const body = {name: 'c1', target: {id: target}, storage_bucket: {name: 'b-1'}, active: true}
    const refused = await fetch(`${vpc}/flow_log_collectors?version=2026-03-24&generation=2`, {method: 'POST', headers: auth(), ...json(body)})
    expect(refused.status).to.equal(403)
    cloud.state.policies.set('p', {
      id: 'p',
      created_at: '',
      body: {
        type: 'authorization',
        subjects: [{attributes: [{name: 'serviceName', value: 'is'}, {name: 'resourceType', value: 'flow-log-collector'}]}],
        roles: [{role_id: 'crn:v1:bluemix:public:iam::::serviceRole:Writer'}],
        resources: [{attributes: [{name: 'serviceName', value: 'cloud-object-storage'}, {name: 'serviceInstance', value: 'g1'}]}],
      },
    })
    // Right after the authorization: refused with `service_error` while it propagates, then created, born pending.
    const early = await fetch(`${vpc}/flow_log_collectors?version=2026-03-24&generation=2`, {method: 'POST', headers: auth(), ...json(body)})
    expect(early.status).to.equal(400)
    expect(((await early.json()) as {errors: Array<{code: string}>}).errors[0].code).to.equal('service_error')
    const ok = await fetch(`${vpc}/flow_log_collectors?version=2026-03-24&generation=2`, {method: 'POST', headers: auth(), ...json(body)})
    expect(ok.status).to.equal(201)
    expect(((await ok.json()) as {lifecycle_state: string}).lifecycle_state).to.equal('pending')
    const s = (await (await fetch(`${cloud.url}/__state`)).json()) as Record<string, unknown[]>
    expect(s.flow_log_collectors).to.have.length(1)
    expect(s.vpcs).to.deep.equal([])
  })

  it('ingestion endpoints check the ingestion key / bearer and the body shape', async () => {
    const bad = await fetch(`${e().FLOWLOG_LOGDNA_URL}/logs/ingest?hostname=h&now=1`, {method: 'POST', headers: {apikey: 'wrong', 'Content-Type': 'application/json'}, ...json({lines: [{line: 'x'}]})})
    expect(bad.status).to.equal(401)
    const key = [...cloud.state.ingestionKeys][0]
    const noHost = await fetch(`${e().FLOWLOG_LOGDNA_URL}/logs/ingest?now=1`, {method: 'POST', headers: {apikey: key, 'Content-Type': 'application/json'}, ...json({lines: [{line: 'x'}]})})
    expect(noHost.status).to.equal(400)
    const ok = await fetch(`${e().FLOWLOG_LOGDNA_URL}/logs/ingest?hostname=h&now=1`, {method: 'POST', headers: {apikey: key, 'Content-Type': 'application/json'}, ...json({lines: [{line: 'x'}]})})
    expect(ok.status).to.equal(200)
    const cl = await fetch(`${e().FLOWLOG_CLOUD_LOGS_URL}/logs/v1/singles`, {method: 'POST', headers: auth(), ...json([{applicationName: 'a', subsystemName: 's', text: 'x', severity: 9}])})
    expect(cl.status).to.equal(400)
    const cl401 = await fetch(`${e().FLOWLOG_CLOUD_LOGS_URL}/logs/v1/singles`, {method: 'POST', headers: {'Content-Type': 'application/json'}, ...json([{applicationName: 'a', subsystemName: 's', text: 'x', severity: 3}])})
    expect(cl401.status).to.equal(401)
  })

  it('faults can be injected over HTTP', async () => {
    const r = await fetch(`${cloud.url}/__faults`, {method: 'POST', ...json({service: 'rm', path: '^/v2/resource_groups', status: 503})})
    expect(r.status).to.equal(201)
    const g = await fetch(`${e().FLOWLOG_RESOURCE_MANAGER_URL}/v2/resource_groups`, {headers: auth()})
    expect(g.status).to.equal(503)
    const again = await fetch(`${e().FLOWLOG_RESOURCE_MANAGER_URL}/v2/resource_groups`, {headers: auth()})
    expect(again.status).to.equal(200)
  })
})
