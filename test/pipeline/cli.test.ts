import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {join} from 'node:path'

import {startFakeCloud, type FakeCloud} from '../fakes/cloud/index.js'
import {ROOT, runCli, tempHome} from '../support/cli.js'

/** The acceptance flow, through the built CLI (npm run build first), against the fake IBM Cloud. */
describe('flowlog setup / doctor / teardown (CLI)', function () {
  this.timeout(180_000)
  let cloud: FakeCloud
  let home: {dir: string; cleanup: () => void}
  let env: NodeJS.ProcessEnv
  beforeEach(async () => {
    cloud = await startFakeCloud()
    home = tempHome('flowlog-cli-')
    env = {...cloud.env, FLOWLOG_HOME: home.dir, FLOWLOG_POLL_INTERVAL_MS: '5', FLOWLOG_HTTP_MAX_RETRIES: '0'}
  })
  afterEach(async () => {
    await cloud.close()
    home.cleanup()
  })

  const state = async () => (await (await fetch(`${cloud.env.FLOWLOG_FAKE_CLOUD_URL}/__state`)).json()) as Record<string, unknown[]>
  const nonEmpty = (s: Record<string, unknown[]>) => Object.fromEntries(Object.entries(s).filter(([, v]) => v.length > 0))

  it('setup succeeds, a second setup changes nothing, doctor exits 0, teardown leaves nothing', async () => {
    const args = ['setup', '--non-interactive', '--region', 'us-south', '--resource-group', 'default', '--basename', 'acc', '--json']
    const first = await runCli(args, {env})
    expect(first.code, first.stderr).to.equal(0)
    const r1 = JSON.parse(first.stdout) as {steps: Array<{name: string; action: string; id: string | null}>}
    expect(r1.steps.length).to.be.greaterThan(10)
    for (const s of r1.steps) {
      expect(s).to.have.keys(s.hasOwnProperty('detail') ? ['name', 'action', 'id', 'detail'] : ['name', 'action', 'id'])
      expect(['created', 'exists', 'updated', 'skipped', 'planned']).to.include(s.action)
    }
    expect(r1.steps.filter((s) => s.action === 'created').length).to.be.greaterThan(5)
    // Secrets are never printed.
    const secret = String(cloud.state.apiKey)
    expect(first.stdout + first.stderr).to.not.include(secret)
    const hmac = [...cloud.state.hmac.values()][0].secret
    expect(first.stdout + first.stderr).to.not.include(hmac)

    const second = await runCli(args, {env})
    expect(second.code, second.stderr).to.equal(0)
    const r2 = JSON.parse(second.stdout) as {steps: Array<{action: string}>}
    expect(r2.steps.filter((s) => s.action === 'created' || s.action === 'updated')).to.deep.equal([])

    const doctor = await runCli(['doctor', '--json'], {env})
    expect(doctor.code, doctor.stdout + doctor.stderr).to.equal(0)
    const d = JSON.parse(doctor.stdout) as {checks: Array<{name: string; ok: boolean; detail: string; fix: string | null}>}
    expect(d.checks.every((c) => c.ok)).to.equal(true)
    for (const c of d.checks) expect(c).to.have.keys(['name', 'ok', 'detail', 'fix'])

    expect(nonEmpty(await state())).to.not.deep.equal({})
    const down = await runCli(['teardown', '--yes', '--json'], {env})
    expect(down.code, down.stderr).to.equal(0)
    const t = JSON.parse(down.stdout) as {steps: Array<{name: string; action: string; id: string | null}>}
    expect(t.steps.map((s) => s.name)).to.include.members(['collector', 'job', 'project', 'authorization', 'bucket', 'cos-key', 'sink', 'cos-instance'])
    expect(nonEmpty(await state())).to.deep.equal({})
  })

  it('--dry-run --json plans everything and creates nothing', async () => {
    const out = await runCli(['setup', '--non-interactive', '--region', 'us-south', '--dry-run', '--json'], {env})
    expect(out.code, out.stderr).to.equal(0)
    const r = JSON.parse(out.stdout) as {steps: Array<{name: string; action: string}>; plan: Array<{kind: string; action: string; cost: string}>}
    expect(r.steps.find((s) => s.name === 'cos-instance')!.action).to.equal('planned')
    // The plan: each resource with its kind, what happens to it and whether it costs money.
    expect(r.plan.find((p) => p.kind === 'IBM Cloud Logs instance')).to.include({action: 'create', cost: 'yes: per GB ingested'})
    expect(r.plan.find((p) => p.kind === 'resource group')).to.include({action: 'exists'})
    const human = await runCli(['setup', '--non-interactive', '--region', 'us-south', '--dry-run'], {env})
    expect(human.code, human.stderr).to.equal(0)
    expect(human.stdout).to.match(/costs money/)
    expect(human.stdout).to.match(/flow log collector .*create .*yes: per GB/)
    expect(nonEmpty(await state())).to.deep.equal({})
  })

  it('a missing required answer is a usage error (exit 2); bad flag values too', async () => {
    const a = await runCli(['setup', '--non-interactive', '--json'], {env})
    expect(a.code).to.equal(2)
    expect(JSON.parse(a.stdout).error.message).to.match(/--region/)
    const b = await runCli(['setup', '--non-interactive', '--region', 'us-south', '--sink', 'splunk'], {env})
    expect(b.code).to.equal(2)
    const c = await runCli(['setup', '--non-interactive', '--region', 'us-south', '--basename', 'Bad_Name'], {env})
    expect(c.code).to.equal(2)
    expect(nonEmpty(await state())).to.deep.equal({})
  })

  it('teardown without --yes and without a terminal is a usage error and deletes nothing', async () => {
    const s = await runCli(['setup', '--non-interactive', '--region', 'us-south', '--sink', 'none', '--json'], {env})
    expect(s.code, s.stderr).to.equal(0)
    const before = nonEmpty(await state())
    const t = await runCli(['teardown'], {env})
    expect(t.code).to.equal(2)
    expect(t.stderr).to.match(/--yes/)
    expect(nonEmpty(await state())).to.deep.equal(before)
  })

  it('doctor exits 1 with the fix when a check fails, and still prints the checks', async () => {
    const s = await runCli(['setup', '--non-interactive', '--region', 'us-south', '--sink', 'none', '--json'], {env})
    expect(s.code, s.stderr).to.equal(0)
    cloud.vpc.state.flow_log_collectors.length = 0
    const d = await runCli(['doctor', '--json'], {env})
    expect(d.code).to.equal(1)
    const r = JSON.parse(d.stdout) as {checks: Array<{name: string; ok: boolean; fix: string | null}>}
    const c = r.checks.find((x) => x.name === 'collector')!
    expect(c.ok).to.equal(false)
    expect(c.fix).to.match(/flowlog setup/)
    const human = await runCli(['doctor'], {env})
    expect(human.code).to.equal(1)
    expect(human.stdout).to.match(/✗ collector/)
    expect(human.stdout).to.match(/fix: /)
  })

  it('a wrong API key is an auth error (exit 3) with the key redacted', async () => {
    const out = await runCli(['setup', '--non-interactive', '--region', 'us-south'], {env: {...env, IBMCLOUD_API_KEY: 'not-a-real-key-123456'}})
    expect(out.code).to.equal(3)
    expect(out.stderr).to.match(/API key/)
    expect(out.stderr + out.stdout).to.not.include('not-a-real-key-123456')
  })

  it('--help shows the examples', async () => {
    for (const cmd of ['setup', 'teardown', 'doctor']) {
      const out = await runCli([cmd, '--help'], {env})
      expect(out.code).to.equal(0)
      expect(out.stdout).to.match(/EXAMPLES/)
    }
  })
})

/**
 * The acceptance run of issue #12, exactly: every service of the fake answers under a path of its own
 * (FLOWLOG_CLOUD_LOGS_URL=http://127.0.0.1:P/cloudlogs, FLOWLOG_VPC_URL=http://127.0.0.1:P/vpc/v1, …), so a client
 * that resolves `/x` against the host instead of appending it to the base gets a 404.
 */
describe('flowlog setup / doctor / teardown (CLI) with base URLs that carry a path', function () {
  this.timeout(180_000)
  let cloud: FakeCloud
  let home: {dir: string; cleanup: () => void}
  let env: NodeJS.ProcessEnv
  beforeEach(async () => {
    cloud = await startFakeCloud({mountPaths: true})
    home = tempHome('flowlog-cli-paths-')
    env = {...cloud.env, FLOWLOG_HOME: home.dir, FLOWLOG_POLL_INTERVAL_MS: '5', FLOWLOG_HTTP_MAX_RETRIES: '0'}
  })
  afterEach(async () => {
    await cloud.close()
    home.cleanup()
  })
  const state = async () => (await (await fetch(`${cloud.env.FLOWLOG_FAKE_CLOUD_URL}/__state`)).json()) as Record<string, unknown[]>
  const nonEmpty = (s: Record<string, unknown[]>) => Object.fromEntries(Object.entries(s).filter(([, v]) => v.length > 0))

  it('setup succeeds, a rerun changes nothing, doctor has no failed check but "no objects yet", teardown leaves nothing', async () => {
    const urlVars = Object.keys(cloud.env).filter((k) => /^FLOWLOG_.*_URL$/.test(k) && k !== 'FLOWLOG_FAKE_CLOUD_URL')
    expect(urlVars).to.include.members(['FLOWLOG_IAM_URL', 'FLOWLOG_IAM_IDENTITY_URL', 'FLOWLOG_RESOURCE_CONTROLLER_URL', 'FLOWLOG_RESOURCE_MANAGER_URL', 'FLOWLOG_GLOBAL_CATALOG_URL', 'FLOWLOG_IAM_POLICY_URL', 'FLOWLOG_VPC_URL', 'FLOWLOG_CODE_ENGINE_URL', 'FLOWLOG_CONTAINER_REGISTRY_URL', 'FLOWLOG_LOGDNA_URL', 'FLOWLOG_CLOUD_LOGS_URL'])
    for (const k of urlVars) expect(new URL(cloud.env[k]).pathname, k).to.match(/^\/[a-z-]+/)
    expect(cloud.env.FLOWLOG_CLOUD_LOGS_URL).to.match(/^http:\/\/127\.0\.0\.1:\d+\/cloudlogs$/)

    const args = ['setup', '--non-interactive', '--region', 'us-south', '--resource-group', 'default', '--basename', 'x', '--json']
    const first = await runCli(args, {env})
    expect(first.code, first.stderr + first.stdout).to.equal(0)
    const r1 = JSON.parse(first.stdout) as {steps: Array<{name: string; action: string}>}
    expect(r1.steps.filter((s) => s.action === 'created').map((s) => s.name)).to.include.members(['collector', 'service-id', 'build', 'image', 'job'])
    expect(first.stdout + first.stderr).to.not.include(String(cloud.state.apiKey))

    const second = await runCli(args, {env})
    expect(second.code, second.stderr).to.equal(0)
    const r2 = JSON.parse(second.stdout) as {steps: Array<{name: string; action: string}>}
    expect(r2.steps.filter((s) => s.action === 'created' || s.action === 'updated')).to.deep.equal([])

    const doctor = await runCli(['doctor', '--json'], {env})
    const d = JSON.parse(doctor.stdout) as {checks: Array<{name: string; ok: boolean; detail: string}>}
    const failed = d.checks.filter((c) => !c.ok && !(c.name === 'objects' && /no flow-log objects/.test(c.detail)))
    expect(failed, JSON.stringify(d.checks)).to.deep.equal([])
    expect(d.checks.find((c) => c.name === 'sink')).to.include({ok: true})
    expect(d.checks.find((c) => c.name === 'job-api-key')).to.include({ok: true})
    // The doctor's test line went to <base>/logs/v1/singles.
    expect(cloud.state.log.some((x) => x.service === 'cloudlogs' && x.method === 'POST' && x.path === '/logs/v1/singles')).to.equal(true)
    // No retired Log Analysis endpoint was called, and no collector-less ACL listing carried vpc.id.
    expect(cloud.state.log.filter((x) => x.path.startsWith('/v1/network_acls') && /vpc\.id/.test(x.query))).to.deep.equal([])

    const down = await runCli(['teardown', '--yes', '--json'], {env})
    expect(down.code, down.stderr).to.equal(0)
    expect(nonEmpty(await state())).to.deep.equal({})
  })
})

describe('npm run fake-cloud', function () {
  this.timeout(60_000)

  it('prints one JSON document {"env": …} and serves /__state until stopped', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'fakes', 'cloud', 'main.ts')], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = ''
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          buf += d
          if (buf.includes('\n')) resolve(buf)
        })
        child.on('exit', () => reject(new Error('exited early')))
      })
      const doc = JSON.parse(line.trim()) as {env: Record<string, string>}
      expect(Object.keys(doc)).to.deep.equal(['env'])
      for (const k of [
        'IBMCLOUD_API_KEY',
        'FLOWLOG_IAM_URL',
        'FLOWLOG_RESOURCE_CONTROLLER_URL',
        'FLOWLOG_RESOURCE_MANAGER_URL',
        'FLOWLOG_GLOBAL_CATALOG_URL',
        'FLOWLOG_IAM_POLICY_URL',
        'FLOWLOG_VPC_URL',
        'FLOWLOG_CODE_ENGINE_URL',
        'FLOWLOG_COS_ENDPOINT',
        'FLOWLOG_LOGDNA_URL',
        'FLOWLOG_CLOUD_LOGS_URL',
        'FLOWLOG_FAKE_CLOUD_URL',
      ]) {
        expect(doc.env[k], k).to.be.a('string').and.not.empty
      }
      expect(doc.env.FLOWLOG_GLOBAL_CATALOG_URL).to.match(/\/api\/v1$/)
      expect(doc.env.FLOWLOG_VPC_URL).to.match(/\/v1$/)
      expect(doc.env.FLOWLOG_CODE_ENGINE_URL).to.match(/\/v2$/)
      for (const v of Object.values(doc.env)) if (v.startsWith('http')) expect(new URL(v).hostname).to.equal('127.0.0.1')
      const s = (await (await fetch(`${doc.env.FLOWLOG_FAKE_CLOUD_URL}/__state`)).json()) as Record<string, unknown[]>
      expect(Object.values(s).every((v) => Array.isArray(v) && v.length === 0)).to.equal(true)
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      child.kill('SIGTERM')
      expect(await exited).to.equal(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
