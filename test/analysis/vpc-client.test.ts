import {expect} from 'chai'

import {DEMO_ACL, DEMO_INSTANCES, DEMO_SECURITY_GROUPS, DEMO_SUBNETS} from '../../src/lib/demo/scenario.js'
import {AuthError, RemoteError} from '../../src/lib/errors.js'
import {
  ApiAuthError,
  ApiError,
  ConflictError,
  createAuthenticator,
  mapHttpError,
  nextStart,
  NotFoundError,
  resolveApiKey,
  resolveIamUrl,
} from '../../src/lib/ibmcloud/http.js'
import {createVpcClient, resolveVpcUrl, VPC_API_VERSION, VpcClient} from '../../src/lib/ibmcloud/vpc.js'
import {type RunningVpcFake, startVpcFake, TEST_API_KEY} from '../fakes/vpc.js'

function client(f: RunningVpcFake, extra: {pageLimit?: number; apiKey?: string; version?: string} = {}): VpcClient {
  return new VpcClient({
    serviceUrl: f.url,
    authenticator: createAuthenticator({apiKey: extra.apiKey ?? TEST_API_KEY, iamUrl: f.iamUrl}),
    retry: {maxRetries: 0},
    pageLimit: extra.pageLimit,
    version: extra.version,
  })
}

describe('VPC client against the fake VPC API', () => {
  let f: RunningVpcFake
  beforeEach(async () => {
    f = await startVpcFake({iam: true})
  })
  afterEach(async () => {
    await f.close()
  })

  it('sends version and generation=2 on every call and Bearer auth', async () => {
    const c = client(f)
    await c.listInstances()
    await c.getSecurityGroup(DEMO_SECURITY_GROUPS.vsi1.id)
    expect(f.fake.requests.length).to.equal(2)
    for (const r of f.fake.requests) {
      expect(r.query.version).to.equal(VPC_API_VERSION)
      expect(r.query.generation).to.equal('2')
      expect(r.authorized).to.equal(true)
    }
    expect(f.tokenRequests).to.equal(1) // the token is reused
  })

  it('follows next.href across pages (limit/start)', async () => {
    const c = client(f, {pageLimit: 1})
    const groups = await c.listSecurityGroups()
    expect(groups.map((g) => g.id)).to.have.members(Object.values(DEMO_SECURITY_GROUPS).map((g) => g.id))
    const listCalls = f.fake.requests.filter((r) => r.path.endsWith('/security_groups'))
    expect(listCalls.length).to.equal(3)
    expect(listCalls[0].query.limit).to.equal('1')
    expect(listCalls[0].query.start).to.equal(undefined)
    expect(listCalls[1].query.start).to.be.a('string')
  })

  it('lists ACL rules per direction in priority order with before links', async () => {
    const c = client(f)
    const inbound = await c.listNetworkAclRules(DEMO_ACL.id, 'inbound')
    expect(inbound.map((r) => r.name)).to.deep.equal(['allow-inbound'])
    const acl = await c.getNetworkAcl(DEMO_ACL.id)
    expect(acl.rules[0].before?.name).to.equal('allow-outbound')
    expect(acl.rules[1].before).to.equal(undefined)
  })

  it('reads instance network interfaces with their security groups and the subnet ACL', async () => {
    const c = client(f)
    const nic = await c.getInstanceNetworkInterface(DEMO_INSTANCES.vsi1.id, DEMO_INSTANCES.vsi1.vnic)
    expect(nic.primary_ip.address).to.equal('10.240.0.4')
    expect(nic.security_groups?.map((g) => g.id)).to.have.members([DEMO_SECURITY_GROUPS.vsi1.id, DEMO_SECURITY_GROUPS.install.id])
    const subnet = await c.getSubnet(DEMO_SUBNETS.subnet1.id)
    expect(subnet.network_acl.id).to.equal(DEMO_ACL.id)
    const acl = await c.getSubnetNetworkAcl(DEMO_SUBNETS.subnet1.id)
    expect(acl.id).to.equal(DEMO_ACL.id)
  })

  it('renders the all/icmp_tcp_udp spelling from the version', async () => {
    const newer = await client(f).getNetworkAcl(DEMO_ACL.id)
    expect(newer.rules[0].protocol).to.equal('icmp_tcp_udp')
    const older = await client(f, {version: '2024-11-12'}).getNetworkAcl(DEMO_ACL.id)
    expect(older.rules[0].protocol).to.equal('all')
  })

  it('creates and deletes a security group rule', async () => {
    const c = client(f)
    const rule = await c.createSecurityGroupRule(DEMO_SECURITY_GROUPS.vsi1.id, {
      direction: 'inbound',
      protocol: 'tcp',
      port_min: 22,
      port_max: 22,
      remote: {address: '24.22.68.94'},
      ip_version: 'ipv4',
      name: 'flowlog-allow-tcp-22-from-24-22-68-94',
    })
    expect(rule.id).to.be.a('string')
    expect(rule.remote).to.deep.equal({address: '24.22.68.94'})
    let sg = await c.getSecurityGroup(DEMO_SECURITY_GROUPS.vsi1.id)
    expect(sg.rules.some((r) => r.id === rule.id)).to.equal(true)
    await c.deleteSecurityGroupRule(DEMO_SECURITY_GROUPS.vsi1.id, rule.id)
    sg = await c.getSecurityGroup(DEMO_SECURITY_GROUPS.vsi1.id)
    expect(sg.rules.some((r) => r.id === rule.id)).to.equal(false)
    const again = await c.deleteSecurityGroupRule(DEMO_SECURITY_GROUPS.vsi1.id, rule.id).catch((e) => e)
    expect(again).to.be.instanceOf(NotFoundError)
    expect(again.status).to.equal(404)
  })

  it('inserts an ACL rule before the named rule, and appends without before', async () => {
    const c = client(f)
    const first = (await c.getNetworkAcl(DEMO_ACL.id)).rules[0]
    const ins = await c.createNetworkAclRule(DEMO_ACL.id, {
      action: 'deny',
      direction: 'inbound',
      protocol: 'tcp',
      source: '0.0.0.0/0',
      destination: '0.0.0.0/0',
      destination_port_min: 22,
      destination_port_max: 22,
      name: 'deny-ssh',
      before: {id: first.id},
    })
    expect(ins.before?.id).to.equal(first.id)
    const app = await c.createNetworkAclRule(DEMO_ACL.id, {action: 'allow', direction: 'outbound', protocol: 'udp', source: '10.240.0.4', destination: '161.26.0.10', name: 'last'})
    expect(app.destination_port_min).to.equal(1)
    expect(app.destination_port_max).to.equal(65535)
    const rules = (await c.getNetworkAcl(DEMO_ACL.id)).rules
    expect(rules.map((r) => r.name)).to.deep.equal(['deny-ssh', 'allow-inbound', 'allow-outbound', 'last'])
    await c.deleteNetworkAclRule(DEMO_ACL.id, ins.id)
    expect((await c.getNetworkAcl(DEMO_ACL.id)).rules.map((r) => r.name)).to.deep.equal(['allow-inbound', 'allow-outbound', 'last'])
  })

  it('maps 400 validation errors to ApiError with the service code and message', async () => {
    const c = client(f)
    const err = await c
      .createNetworkAclRule(DEMO_ACL.id, {action: 'deny', direction: 'inbound', protocol: 'icmp_tcp_udp', source: '0.0.0.0/0', destination: '0.0.0.0/0'})
      .catch((e) => e)
    expect(err).to.be.instanceOf(ApiError)
    expect(err.status).to.equal(400)
    expect(err.apiCode).to.equal('validation_invalid_value')
    expect(err.message).to.match(/use 'any'/)
    expect(err.exitCode).to.equal(4)
  })

  it('maps 404 to NotFoundError with the VPC error body', async () => {
    const err = await client(f).getSecurityGroup('r006-nope').catch((e) => e)
    expect(err).to.be.instanceOf(NotFoundError)
    expect(err.apiCode).to.equal('security_group_not_found')
    expect(err.trace).to.be.a('string')
    expect(err.exitCode).to.equal(4)
  })

  it('flow log collectors: 403 until authorized, then created stable; 409 on a second one for the target', async () => {
    const c = client(f)
    const proto = {name: 'flowlog-vpc', target: {id: '0717-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb'}, storage_bucket: {name: 'fl-bucket'}, active: true}
    const denied = await c.createFlowLogCollector(proto).catch((e) => e)
    expect(denied).to.be.instanceOf(ApiAuthError)
    expect(denied).to.be.instanceOf(AuthError)
    expect(denied.status).to.equal(403)
    expect(denied.exitCode).to.equal(3)
    f.fake.setAuthorizationCheck(({bucket}) => bucket === 'fl-bucket')
    const col = await c.createFlowLogCollector(proto)
    expect(col.lifecycle_state).to.equal('stable')
    expect(col.active).to.equal(true)
    expect(col.target.resource_type).to.equal('subnet')
    expect(f.fake.requests.at(-1)?.body).to.deep.equal(proto)
    const dup = await c.createFlowLogCollector({...proto, name: 'other'}).catch((e) => e)
    expect(dup).to.be.instanceOf(ConflictError)
    const listed = await c.listFlowLogCollectors({'target.id': proto.target.id})
    expect(listed.map((x) => x.id)).to.deep.equal([col.id])
    const patched = await c.updateFlowLogCollector(col.id, {active: false})
    expect(patched.active).to.equal(false)
    await c.deleteFlowLogCollector(col.id)
    expect(await c.getFlowLogCollector(col.id).catch((e) => e)).to.be.instanceOf(NotFoundError)
  })

  it('maps a wrong API key to AuthError (exit 3) without leaking the key', async () => {
    const err = await client(f, {apiKey: 'wrong-key-abcdef123456'}).listVpcs().catch((e) => e)
    expect(err).to.be.instanceOf(AuthError)
    expect(err.exitCode).to.equal(3)
    expect(err.message).to.match(/API key could not be found/)
    expect(err.message).not.to.include('wrong-key-abcdef123456')
  })

  it('maps a missing/invalid token to ApiAuthError 401', async () => {
    f.fake.setTokenValidator(() => false)
    const err = await client(f).listVpcs().catch((e) => e)
    expect(err).to.be.instanceOf(ApiAuthError)
    expect(err.status).to.equal(401)
  })

  it('retries 5xx through the SDK and then succeeds; reports RemoteError when retries run out', async () => {
    const retrying = new VpcClient({
      serviceUrl: f.url,
      authenticator: createAuthenticator({apiKey: TEST_API_KEY, iamUrl: f.iamUrl}),
      retry: {maxRetries: 2, maxRetryInterval: 0.01},
    })
    f.fake.injectFailure({method: 'GET', path: /\/vpcs$/, status: 503, times: 1})
    const vpcs = await retrying.listVpcs()
    expect(vpcs.length).to.equal(1)
    f.fake.injectFailure({method: 'GET', path: /\/vpcs$/, status: 500, times: 5})
    const err = await retrying.listVpcs().catch((e) => e)
    expect(err).to.be.instanceOf(RemoteError)
    expect(err.status).to.equal(500)
    expect(err.exitCode).to.equal(4)
  })

  it('maps a refused connection to RemoteError (network)', async () => {
    const url = f.url
    const iam = f.iamUrl
    await f.close()
    const c = new VpcClient({serviceUrl: url, authenticator: createAuthenticator({apiKey: TEST_API_KEY, iamUrl: iam}), retry: {maxRetries: 0}})
    const err = await c.listVpcs().catch((e) => e)
    expect(err).to.be.instanceOf(RemoteError)
    expect(err.code).to.equal('network')
    f = await startVpcFake({iam: true}) // for afterEach
  })
})

describe('the strict fake VPC API', () => {
  let f: RunningVpcFake
  before(async () => {
    f = await startVpcFake({iam: true})
  })
  after(async () => {
    await f.close()
  })

  async function token(): Promise<string> {
    const r = await fetch(`${f.iamUrl}/identity/token`, {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: `grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=${TEST_API_KEY}`,
    })
    return ((await r.json()) as {access_token: string}).access_token
  }

  it('rejects calls without version or generation with 400', async () => {
    const t = await token()
    const h = {Authorization: `Bearer ${t}`}
    const noVersion = await fetch(`${f.url}/vpcs?generation=2`, {headers: h})
    expect(noVersion.status).to.equal(400)
    const body = (await noVersion.json()) as {errors: {code: string}[]; trace: string}
    expect(body.errors[0].code).to.equal('missing_version')
    expect(body.trace).to.be.a('string')
    expect((await fetch(`${f.url}/vpcs?version=2026-03-24`, {headers: h})).status).to.equal(400)
    expect((await fetch(`${f.url}/vpcs?version=2099-01-01&generation=2`, {headers: h})).status).to.equal(400)
    expect((await fetch(`${f.url}/vpcs?version=2026-03-24&generation=2`, {headers: h})).status).to.equal(200)
  })

  it('rejects calls without a bearer token with 401', async () => {
    const r = await fetch(`${f.url}/vpcs?version=2026-03-24&generation=2`)
    expect(r.status).to.equal(401)
  })

  it('rejects unknown fields in a rule prototype', async () => {
    const t = await token()
    const r = await fetch(`${f.url}/security_groups/${DEMO_SECURITY_GROUPS.vsi1.id}/rules?version=2026-03-24&generation=2`, {
      method: 'POST',
      headers: {Authorization: `Bearer ${t}`, 'Content-Type': 'application/json'},
      body: JSON.stringify({direction: 'inbound', protocol: 'tcp', before: {id: 'x'}}),
    })
    expect(r.status).to.equal(400)
  })

  it('does not claim paths outside its collections', async () => {
    const r = await fetch(`${f.url}/policies?version=2026-03-24&generation=2`)
    expect(r.status).to.equal(404)
    expect(f.fake.requests.some((x) => x.path.endsWith('/policies'))).to.equal(false)
  })
})

describe('http helpers', () => {
  it('resolves the API key from the environment or the config, never elsewhere', () => {
    expect(resolveApiKey({env: {IBMCLOUD_API_KEY: 'env-key-123456'}, config: {apiKey: 'cfg-key-123456'}})).to.equal('env-key-123456')
    expect(resolveApiKey({env: {}, config: {apiKey: 'cfg-key-123456'}})).to.equal('cfg-key-123456')
    expect(() => resolveApiKey({env: {}, config: {}})).to.throw(/no IBM Cloud API key/)
  })

  it('resolves the IAM and VPC URLs', () => {
    expect(resolveIamUrl({})).to.equal('https://iam.cloud.ibm.com')
    expect(resolveIamUrl({FLOWLOG_IAM_URL: 'http://127.0.0.1:9/identity/token'})).to.equal('http://127.0.0.1:9')
    expect(resolveVpcUrl({env: {}, region: 'eu-de'})).to.equal('https://eu-de.iaas.cloud.ibm.com/v1')
    expect(resolveVpcUrl({env: {FLOWLOG_VPC_URL: 'http://127.0.0.1:5/v1/'}})).to.equal('http://127.0.0.1:5/v1')
    expect(() => resolveVpcUrl({env: {FLOWLOG_VPC_URL: 'http://127.0.0.1:5'}})).to.throw(/must end in \/v1/)
    expect(createVpcClient({env: {IBMCLOUD_API_KEY: 'k-123456789', FLOWLOG_REGION: 'jp-tok'}}).serviceUrl).to.equal('https://jp-tok.iaas.cloud.ibm.com/v1')
  })

  it('takes the next page start from next.href, next.start or next_url', () => {
    expect(nextStart({next: {href: 'https://x/v1/vpcs?limit=1&start=abc&version=1'}})).to.equal('abc')
    expect(nextStart({next: {href: 'https://x/v2/projects?start=s1', start: 's1'}})).to.equal('s1')
    expect(nextStart({next_url: '/v2/resource_instances?start=tok&limit=10'})).to.equal('tok')
    expect(nextStart({first: {href: 'x'}})).to.equal(undefined)
  })

  it('redacts secrets from mapped messages', () => {
    const e = mapHttpError({status: 409, result: {errors: [{code: 'conflict', message: 'apikey=supersecretvalue exists'}]}}, {service: 'X', method: 'post', path: '/a'})
    expect(e).to.be.instanceOf(ConflictError)
    expect(e.message).not.to.include('supersecretvalue')
  })
})
