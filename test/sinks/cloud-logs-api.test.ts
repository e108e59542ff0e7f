import {expect} from 'chai'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {LuceneUnsupportedError, queryToLucene} from '../../src/lib/query/lucene.js'
import {CLOUD_LOGS_API_URL_ENV, cloudLogsAlertBody, ingressToApi, joinUrl, resolveCloudLogsApi} from '../../src/lib/sinks/cloud-logs-api.js'
import {alertSinkFlags, remoteFlags} from '../../src/lib/sinks/remote-flags.js'
import {ROOT, runCli} from '../support/cli.js'
import {createCloudLogsApi} from '../servers/cloud-logs-api.js'
import {type FakeCloudLogs, startCloudLogs} from '../servers/ingest-cloud-logs.js'
import {type FakeIam, startIam} from '../servers/iam.js'
import {parseLucene, luceneMatches} from '../servers/lucene-eval.js'
import {type FakeLogdna, startLogdna} from '../servers/ingest-logdna.js'
import {synthObjects, tempDir, writeObjects} from './helpers.js'

/**
 * IBM Cloud Logs beyond ingestion (docs/sinks.md §8): the Lucene translation, alerts through /v1/alerts and remote
 * search through /v1/query, against the strict fake (test/servers/cloud-logs-api.ts) under a base URL with a path.
 */
const API_KEY = 'ibm-api-key-cloudlogs-0123456789'

describe('query → Lucene (src/lib/query/lucene.ts)', () => {
  const cases: [string, string, boolean][] = [
    ['target_ip:10.240.0.4 action:rejected -target_port:67', 'json.target_ip:10.240.0.4* AND json.action:rejected* AND NOT json.target_port:67', true],
    ['target_port:(22 OR 3389)', 'json.target_port:22 OR json.target_port:3389', true],
    ['direction:==I', 'json.direction:I', true],
    ['bytes_from_initiator:>=400 bytes_from_initiator:<500', 'json.bytes_from_initiator:>=400 AND json.bytes_from_initiator:<500', true],
    ['initiator_ip:*', '_exists_:json.initiator_ip', true],
    ['initiator_ip:92.63.0.0/16', 'json.initiator_ip:92.63.*', true],
    ['initiator_ip:10.240.0.0/23', 'json.initiator_ip:10.240.0.* OR json.initiator_ip:10.240.1.*', true],
    ['initiator_ip:10.240.0.4/32', 'json.initiator_ip:10.240.0.4', true],
    ['app:==flowlog', 'coralogix.metadata.applicationName:flowlog', true],
    ['action:=rejected', 'json.action:rejected*', false],
    ['rejected', 'rejected*', false],
    ['key:=="a/b c"', 'json.key:"a b c"', false],
    ['', '*', true],
  ]
  for (const [query, lucene, exact] of cases) {
    it(`${JSON.stringify(query)} → ${lucene}`, () => {
      const t = queryToLucene(query)
      expect(t.lucene).to.equal(lucene)
      expect(t.exact).to.equal(exact)
      expect(t.approximations.length > 0).to.equal(!exact)
      // The fake's own Lucene parser reads every translation.
      expect(() => parseLucene(t.lucene)).not.to.throw()
    })
  }

  it('refuses, exit 2, naming every part Lucene cannot express', () => {
    let error: unknown
    try {
      queryToLucene('tag:prod level:warn -"job failed" action:rejected')
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(LuceneUnsupportedError)
    const e = error as LuceneUnsupportedError
    expect(e.exitCode).to.equal(2)
    expect(e.parts).to.have.length(3)
    expect(e.message).to.contain('tag:').and.to.contain('level:').and.to.contain('-"job failed"')
    expect(() => queryToLucene('meta.record_id:abc')).to.throw(LuceneUnsupportedError)
    expect(() => queryToLucene("'+'")).to.throw(LuceneUnsupportedError)
  })

  it('the fake evaluates the translation like the flowlog query on plain flow-log values', () => {
    const doc = {json: {target_ip: '10.240.0.45', action: 'rejected', target_port: 22, direction: 'I'}}
    const m = (q: string) => luceneMatches(parseLucene(queryToLucene(q).lucene), doc, JSON.stringify(doc.json))
    expect(m('target_ip:10.240.0.4')).to.equal(true)
    expect(m('target_ip:==10.240.0.4')).to.equal(false)
    expect(m('target_port:2')).to.equal(false)
    expect(m('target_port:(22 OR 3389) -action:accepted')).to.equal(true)
    expect(m('target_ip:10.240.0.0/24')).to.equal(true)
    expect(m('target_ip:10.241.0.0/16')).to.equal(false)
  })
})

describe('Cloud Logs API: URLs, alert bodies and the strict fake', () => {
  it('joins keep the base path; the API URL derives from the ingress URL', () => {
    expect(joinUrl('http://127.0.0.1:9/cloudlogs/', '/v1/alerts')).to.equal('http://127.0.0.1:9/cloudlogs/v1/alerts')
    expect(ingressToApi('https://6a1c2b3d-0000-4000-8000-1234567890ab.ingress.eu-de.logs.cloud.ibm.com')).to.equal('https://6a1c2b3d-0000-4000-8000-1234567890ab.api.eu-de.logs.cloud.ibm.com')
    expect(ingressToApi('http://127.0.0.1:9/cloudlogs')).to.equal('http://127.0.0.1:9/cloudlogs')
    const env = {IBMCLOUD_API_KEY: API_KEY}
    expect(resolveCloudLogsApi({cloudLogsInstance: '6a1c2b3d-0000-4000-8000-1234567890ab', region: 'us-south'}, env, {}).baseUrl).to.equal('https://6a1c2b3d-0000-4000-8000-1234567890ab.api.us-south.logs.cloud.ibm.com')
    expect(resolveCloudLogsApi({}, {...env, FLOWLOG_CLOUD_LOGS_URL: 'http://127.0.0.1:9/cloudlogs/logs/v1/singles'}, {}).baseUrl).to.equal('http://127.0.0.1:9/cloudlogs')
    expect(resolveCloudLogsApi({}, {...env, FLOWLOG_CLOUD_LOGS_API_URL: 'http://127.0.0.1:8/api/'}, {}).baseUrl).to.equal('http://127.0.0.1:8/api')
    expect(() => resolveCloudLogsApi({}, env, {})).to.throw().with.property('exitCode', 3)
    expect(() => resolveCloudLogsApi({}, {FLOWLOG_CLOUD_LOGS_URL: 'http://127.0.0.1:9'}, {})).to.throw(/API key/).with.property('exitCode', 3)
  })

  it('the --cloud-logs-api-url help names the variable the client reads (remote-flags.ts keeps its own copy of the name)', () => {
    expect(remoteFlags['cloud-logs-api-url'].description).to.contain(`(or ${CLOUD_LOGS_API_URL_ENV})`)
    expect(alertSinkFlags['cloud-logs-api-url'].description).to.contain(`(or ${CLOUD_LOGS_API_URL_ENV})`)
  })

  it('alert bodies: immediate for one match, more_than (limit − 1) in a timeframe otherwise; no timeframe for 30s', () => {
    const base = {name: 'n', query: 'action:rejected', lucene: 'json.action:rejected*', app: 'vpc-flowlogs', severity: 'warning' as const, triggerInterval: '5m' as const}
    expect(cloudLogsAlertBody({...base, triggerLimit: 1}).condition).to.deep.equal({immediate: {}})
    expect(cloudLogsAlertBody({...base, triggerLimit: 20, integrationId: 7})).to.deep.include({
      condition: {more_than: {parameters: {threshold: 19, timeframe: 'timeframe_5_min_or_unspecified'}, evaluation_window: 'rolling_or_unspecified'}},
      notification_groups: [{notifications: [{integration_id: 7, notify_on: 'triggered_only', retriggering_period_seconds: 600}]}],
    })
    expect(() => cloudLogsAlertBody({...base, triggerLimit: 5, triggerInterval: '30'})).to.throw().with.property('exitCode', 2)
  })

  it('the fake rejects missing auth, unknown fields, wrong severities and timeframes', () => {
    const api = createCloudLogsApi({verifyToken: (t) => t === 'good', entries: () => []})
    const h = {authorization: 'Bearer good', 'content-type': 'application/json'}
    const good = cloudLogsAlertBody({name: 'n', query: 'a', lucene: 'json.a:b*', app: 'x', severity: 'error', triggerLimit: 1, triggerInterval: '30'})
    expect(api.handle('POST', '/v1/alerts', {'content-type': 'application/json'}, JSON.stringify(good)).status).to.equal(401)
    expect(api.handle('POST', '/v1/alerts', {...h, authorization: 'Bearer bad'}, JSON.stringify(good)).status).to.equal(401)
    expect(api.handle('POST', '/v1/alerts', h, JSON.stringify({...good, colour: 'red'})).status).to.equal(400)
    expect(api.handle('POST', '/v1/alerts', h, JSON.stringify({...good, severity: 'high'})).status).to.equal(400)
    expect(api.handle('POST', '/v1/alerts', h, JSON.stringify({...good, severity: 'info'})).status).to.equal(400)
    expect(api.handle('POST', '/v1/alerts', h, JSON.stringify({...good, condition: {more_than: {parameters: {threshold: 1, timeframe: '5m'}}}})).status).to.equal(400)
    expect(api.handle('POST', '/v1/alerts', h, JSON.stringify({...good, filters: {...good.filters, text: 'json.a:(b'}})).status).to.equal(400)
    const created = api.handle('POST', '/v1/alerts', h, JSON.stringify(good))
    expect(created.status).to.equal(200)
    expect(api.handle('POST', '/v1/query', h, JSON.stringify({query: '*', metadata: {syntax: 'lucene'}})).status).to.equal(406)
    const q = {...h, accept: 'text/event-stream'}
    expect(api.handle('POST', '/v1/query', q, JSON.stringify({query: '*', metadata: {syntax: 'lucene', colour: 1}})).status).to.equal(400)
    expect(api.handle('POST', '/v1/query', q, JSON.stringify({query: '*', metadata: {syntax: 'lucene', tier: 'hot'}})).status).to.equal(400)
    expect(api.handle('POST', '/v1/query', q, JSON.stringify({query: '*', metadata: {syntax: 'lucene'}})).status).to.equal(200)
  })
})

describe('Cloud Logs alerts and remote search (CLI, fake IAM + Cloud Logs under a base path)', function () {
  this.timeout(240_000)
  let iam: FakeIam
  let logs: FakeCloudLogs
  let tmp: {dir: string; cleanup: () => void}
  let home: string
  let env: NodeJS.ProcessEnv

  before(async function () {
    if (!existsSync(join(ROOT, 'dist', 'commands', 'search.js'))) throw new Error('run `npm run build` first')
    iam = await startIam({apiKeys: [API_KEY]})
    logs = await startCloudLogs({verifyToken: (t) => iam.verify(t) !== undefined, prefix: '/cloudlogs'})
    tmp = tempDir('flowlog-cloudlogs-')
    home = join(tmp.dir, 'home')
    env = {FLOWLOG_HOME: home, IBMCLOUD_API_KEY: API_KEY, FLOWLOG_IAM_URL: iam.url, FLOWLOG_CLOUD_LOGS_URL: logs.url, CE_DATA: ''}
  })
  after(async () => {
    await logs?.close()
    await iam?.close()
    tmp?.cleanup()
  })

  it('alert create --help offers Cloud Logs; --dry-run --json prints the body and sends nothing', async () => {
    const help = await runCli(['alert', 'create', '--help'], {env})
    expect(help.stdout).to.contain('Cloud Logs').and.to.contain('--sink').and.to.contain('--integration-id')
    const r = await runCli(['alert', 'create', 'ssh', '-q', 'action:rejected target_port:22', '--sink', 'cloud-logs', '--dry-run', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const out = JSON.parse(r.stdout)
    expect(out).to.include({dry_run: true, sink: 'cloud-logs', name: 'ssh', query: 'action:rejected target_port:22'})
    expect(out.body).to.deep.include({name: 'ssh', is_active: true, severity: 'warning', condition: {immediate: {}}})
    expect(out.body.filters).to.deep.equal({text: 'json.action:rejected* AND json.target_port:22', filter_type: 'text_or_unspecified', metadata: {applications: ['vpc-flowlogs']}})
    expect(logs.api.alerts.size).to.equal(0)
  })

  it('create, list, delete through /v1/alerts (the default sink) under the base path; Lucene-unsupported queries exit 2', async () => {
    const created = await runCli(['alert', 'create', 'scans', '-q', 'action:rejected', '--trigger-limit', '50', '--trigger-interval', '5m', '--integration-id', '42', '--severity', 'critical', '--json'], {env})
    expect(created.code, created.stderr).to.equal(0)
    const c = JSON.parse(created.stdout)
    expect(c.viewid).to.match(/^[0-9a-f-]{36}$/)
    expect(c).to.include({trigger: 'presence ≥ 50 in 5m', sink: 'cloud-logs'})
    expect(c.channels).to.deep.equal(['integration 42'])
    expect(logs.requests.some((q) => q.status === 200)).to.equal(true)
    expect([...logs.api.alerts.values()][0]).to.deep.include({severity: 'critical'})
    const list = JSON.parse((await runCli(['alert', 'list', '--json'], {env})).stdout)
    expect(list.alerts.map((a: {name: string; query: string}) => [a.name, a.query])).to.deep.equal([['scans', 'action:rejected']])
    const del = await runCli(['alert', 'delete', 'scans', '--json'], {env})
    expect(del.code, del.stderr).to.equal(0)
    expect(logs.api.alerts.size).to.equal(0)
    const bad = await runCli(['alert', 'create', 'x', '-q', 'tag:prod action:rejected', '--json'], {env})
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.match(/Lucene.*cannot express.*tag:/s)
    const slack = await runCli(['alert', 'create', 'x', '-q', 'action:rejected', '--slack-webhook', 'https://hooks.slack.com/services/T0/B0/X'], {env})
    expect(slack.code).to.equal(2)
    expect(slack.stderr).to.contain('--integration-id')
    const noauth = await runCli(['alert', 'list'], {env: {...env, IBMCLOUD_API_KEY: 'wrong-key-0000000000'}})
    expect(noauth.code).to.equal(3)
  })

  it('forward to a base URL with a path, then search --remote gives exactly the records local search gives', async () => {
    const src = join(tmp.dir, 'src')
    writeObjects(src, synthObjects({objects: 6, recordsPerObject: 25}))
    const fwd = await runCli(['forward', '--source', src, '--json'], {env})
    expect(fwd.code, fwd.stderr).to.equal(0)
    expect(JSON.parse(fwd.stdout).sink).to.equal('cloud-logs')
    expect(logs.entries).to.have.length(150)
    const pull = await runCli(['pull', '--source', src], {env})
    expect(pull.code, pull.stderr).to.equal(0)
    const sorted = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.stringify(JSON.parse(l))).sort()
    for (const q of ['action:rejected', 'target_port:(22 OR 3389) -action:accepted', 'initiator_ip:10.0.0.0/8', 'rejected', '']) {
      const local = await runCli(['search', q, '--output', 'ndjson', '--limit', '0'], {env})
      const remote = await runCli(['search', q, '--remote', 'cloud-logs', '--output', 'ndjson', '--limit', '0'], {env})
      expect(local.code, local.stderr).to.equal(0)
      expect(remote.code, remote.stderr).to.equal(0)
      expect(sorted(remote.stdout), q).to.deep.equal(sorted(local.stdout))
    }
    expect(sorted((await runCli(['search', 'action:rejected', '--output', 'ndjson', '--limit', '0'], {env})).stdout).length).to.be.greaterThan(0)
    // Cloud Logs counts records: --raw is the local count to compare with.
    const lt = JSON.parse((await runCli(['top', '--by', 'target_port', '-q', 'action:rejected', '--raw', '--json'], {env})).stdout)
    const rt = JSON.parse((await runCli(['top', '--by', 'target_port', '-q', 'action:rejected', '--remote', 'cloud-logs', '--json'], {env})).stdout)
    expect(rt.rows).to.deep.equal(lt.rows)
    expect(rt.records).to.equal(lt.records)
    const refused = await runCli(['search', 'level:warn', '--remote', 'cloud-logs'], {env})
    expect(refused.code).to.equal(2)
    expect(refused.stderr).to.match(/Lucene.*cannot express.*level:/s)
    const help = await runCli(['search', '--help'], {env})
    expect(help.stdout).to.contain('--remote')
  })
})

describe('why-rejected --remote cloud-logs (CLI, the demo forwarded to a fresh fake)', function () {
  this.timeout(240_000)

  it('explains from the records in Cloud Logs exactly as from the local index', async () => {
    const iam = await startIam({apiKeys: [API_KEY]})
    const logs = await startCloudLogs({verifyToken: (t) => iam.verify(t) !== undefined, prefix: '/p'})
    const tmp = tempDir('flowlog-cloudlogs-why-')
    try {
      const env = {FLOWLOG_HOME: join(tmp.dir, 'home'), IBMCLOUD_API_KEY: API_KEY, FLOWLOG_IAM_URL: iam.url, FLOWLOG_CLOUD_LOGS_URL: logs.url, CE_DATA: ''}
      const demo = await runCli(['demo', '--dir', join(tmp.dir, 'demo'), '--json'], {env})
      expect(demo.code, demo.stderr).to.equal(0)
      const snapshot = JSON.parse(demo.stdout).snapshot as string
      const fwd = await runCli(['forward', '--source', join(tmp.dir, 'demo')], {env})
      expect(fwd.code, fwd.stderr).to.equal(0)
      const args = ['why-rejected', '--ip', '24.22.68.94', '--port', '22', '--vpc-config', snapshot, '--json']
      const local = await runCli(args, {env})
      const remote = await runCli([...args, '--remote', 'cloud-logs'], {env})
      expect(local.code, local.stderr).to.equal(0)
      expect(remote.code, remote.stderr).to.equal(0)
      const l = JSON.parse(local.stdout)
      expect(l.findings.length).to.be.greaterThan(0)
      expect(JSON.parse(remote.stdout)).to.deep.equal(l)
      expect(logs.api.queries).to.have.length(1)
    } finally {
      await logs.close()
      await iam.close()
      tmp.cleanup()
    }
  })
})

describe('forward --sink logdna: Mezmo by default; IBM Log Analysis is retired', function () {
  this.timeout(60_000)
  let fake: FakeLogdna
  after(async () => fake?.close())

  it('--region derives an IBM host: exit 3 naming the retirement, nothing sent', async () => {
    const tmp = tempDir('flowlog-retired-')
    try {
      fake = await startLogdna({ingestionKeys: ['k']})
      writeObjects(join(tmp.dir, 'src'), synthObjects({objects: 1, recordsPerObject: 3}))
      const r = await runCli(['forward', '--sink', 'logdna', '--region', 'us-south', '--source', join(tmp.dir, 'src')], {
        env: {FLOWLOG_HOME: join(tmp.dir, 'home'), FLOWLOG_LOGDNA_INGESTION_KEY: 'k', CE_DATA: '', FLOWLOG_LOGDNA_URL: ''},
      })
      expect(r.code).to.equal(3)
      expect(r.stderr).to.match(/retired in March 2025/).and.to.contain('--sink cloud-logs').and.to.contain('--logdna-url mezmo')
      expect(fake.requests).to.have.length(0)
    } finally {
      tmp.cleanup()
    }
  })
})
