import {expect} from 'chai'

import {
  alertView,
  findView,
  LogdnaConfigClient,
  normaliseApiUrl,
  parseTriggerInterval,
  resolveConfigApi,
  summariseView,
} from '../../src/lib/sinks/alerts.js'
import {maskWebhookUrl, postSlack, validateWebhookUrl} from '../../src/lib/sinks/slack.js'
import {startConfigApi, type FakeConfigApi} from '../servers/logdna-config.js'
import {startSlack} from '../servers/slack.js'

const KEY = 'svc-key-0123456789abcdef'
const HOOK = 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX'

async function rawPost(api: FakeConfigApi, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{status: number; json: any}> {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: {servicekey: KEY, 'Content-Type': 'application/json', ...headers},
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return {status: res.status, json: await res.json()}
}

describe('investigation: Log Analysis config API client and the fake server', () => {
  let api: FakeConfigApi

  beforeEach(async () => {
    api = await startConfigApi({serviceKeys: [KEY]})
  })

  afterEach(async () => {
    await api.close()
  })

  it('the fake enforces the documented rules', async () => {
    expect((await rawPost(api, '/v1/config/view', {name: 'x', query: 'a', category: ['flowlog']}, {servicekey: 'wrong'})).status).to.equal(401)
    const noValue = await rawPost(api, '/v1/config/view', {name: 'x', category: ['flowlog']})
    expect(noValue.status).to.equal(400)
    expect(noValue.json).to.deep.include({code: 'BadRequest', status: 'error', error: '"value" must contain at least one of [query, hosts, apps, levels, tags]'})
    const noCategory = await rawPost(api, '/v1/config/view', {name: 'x', query: 'a', category: ['flowlog']})
    expect(noCategory.json.error).to.equal('Invalid category name(s): flowlog')
    const emptyCategory = await rawPost(api, '/v1/config/view', {name: 'x', query: 'a', category: ['']})
    expect(emptyCategory.json.error).to.equal('"category[0]" is not allowed to be empty')
    expect((await rawPost(api, '/v1/config/categories/views', {name: 'flowlog'})).status).to.equal(200)
    const base = {name: 'x', query: 'a', category: ['flowlog']}
    const channel = {integration: 'webhook', url: HOOK, method: 'post', operator: 'presence', triggerlimit: 1, triggerinterval: '30', immediate: true, terminal: false}
    expect((await rawPost(api, '/v1/config/view', {...base, channels: [{...channel, triggerinterval: '2m'}]})).status).to.equal(400)
    expect((await rawPost(api, '/v1/config/view', {...base, channels: [{...channel, immediate: false, terminal: false}]})).status).to.equal(400)
    expect((await rawPost(api, '/v1/config/view', {...base, channels: [{...channel, operator: 'absence', immediate: true, terminal: true}]})).status).to.equal(400)
    expect((await rawPost(api, '/v1/config/view', {...base, channels: [{...channel, url: 'not a url'}]})).status).to.equal(400)
    expect((await rawPost(api, '/v1/config/view', {...base, extra: 1})).json.error).to.equal('"extra" is not allowed')
    expect((await rawPost(api, '/v1/config/view', JSON.stringify(base), {'Content-Type': 'text/plain'})).status).to.equal(400)
    const ok = await rawPost(api, '/v1/config/view', {...base, channels: [channel]})
    expect(ok.status).to.equal(200)
    expect(ok.json.viewID).to.be.a('string')
    const put = await fetch(`${api.url}/v1/config/view/nope`, {method: 'PUT', headers: {servicekey: KEY, 'Content-Type': 'application/json'}, body: JSON.stringify(base)})
    expect(((await put.json()) as {error: string}).error).to.equal('Nothing to configure')
  })

  it('creates the category once, creates the view with its Slack webhook channel, lists and deletes it', async () => {
    const client = new LogdnaConfigClient({baseUrl: api.url, serviceKey: KEY})
    expect(await client.ensureCategory('flowlog')).to.deep.equal({created: true})
    expect(await client.ensureCategory('flowlog')).to.deep.equal({created: false})
    const view = alertView({name: 'ssh-accepted', query: 'action:==accepted direction:==I target_port:22', webhookUrl: HOOK})
    const created = await client.createView(view)
    expect(created.viewid).to.match(/^[0-9a-f]{10}$/)
    const stored = api.views.get(created.viewid)!
    expect(stored).to.deep.include({name: 'ssh-accepted', query: 'action:==accepted direction:==I target_port:22', category: ['flowlog'], apps: ['vpc-flowlogs']})
    expect(stored.channels[0]).to.deep.include({
      integration: 'webhook',
      url: HOOK,
      method: 'post',
      operator: 'presence',
      triggerlimit: 1,
      triggerinterval: '30',
      immediate: true,
      terminal: false,
      headers: {'Content-Type': 'application/json'},
    })
    expect((stored.channels[0].bodyTemplate as {text: string}).text).to.contain('{{ matches }}')
    const listed = await client.listViews()
    expect(listed.map((v) => v.viewid)).to.deep.equal([created.viewid])
    const summary = summariseView(listed[0])
    expect(summary.trigger).to.equal('presence ≥ 1 in 30s')
    expect(summary.channels).to.deep.equal(['webhook https://hooks.slack.com/services/…'])
    expect(findView(listed, 'ssh-accepted').viewid).to.equal(created.viewid)
    await client.deleteView(created.viewid)
    expect(api.views.size).to.equal(0)
    expect(api.requests.every((r) => r.status === 200)).to.equal(true)
  })

  it('a wrong service key is an AuthError (exit 3); an API refusal is a RemoteError (exit 4) with its message', async () => {
    const bad = new LogdnaConfigClient({baseUrl: api.url, serviceKey: 'wrong-key-000000'})
    let error: any
    try {
      await bad.listViews()
    } catch (e) {
      error = e
    }
    expect(error.exitCode).to.equal(3)
    expect(error.message).to.not.contain('wrong-key-000000')
    const client = new LogdnaConfigClient({baseUrl: api.url, serviceKey: KEY})
    try {
      await client.createView(alertView({name: 'x', query: 'a', webhookUrl: HOOK}))
    } catch (e) {
      error = e
    }
    expect(error.exitCode).to.equal(4)
    expect(error.message).to.contain('Invalid category name(s): flowlog')
  })

  it('resolves the API URL (flag, env, presets, regions) and the service key from the environment only', () => {
    expect(normaliseApiUrl('us-south')).to.equal('https://api.us-south.logging.cloud.ibm.com')
    expect(normaliseApiUrl('private.eu-de')).to.equal('https://api.private.eu-de.logging.cloud.ibm.com')
    expect(normaliseApiUrl('mezmo')).to.equal('https://api.mezmo.com')
    expect(normaliseApiUrl('http://127.0.0.1:8080/')).to.equal('http://127.0.0.1:8080')
    expect(() => normaliseApiUrl('http://api.example.com')).to.throw(/https/)
    expect(() => normaliseApiUrl('xx-nowhere')).to.throw(/region/)
    expect(resolveConfigApi({env: {FLOWLOG_LOGDNA_API_URL: 'mezmo', FLOWLOG_LOGDNA_SERVICE_KEY: KEY}})).to.deep.equal({baseUrl: 'https://api.mezmo.com', serviceKey: KEY})
    // IBM Log Analysis is retired: its API hosts are refused (exit 3); no URL means Mezmo's public API.
    expect(() => resolveConfigApi({apiUrl: 'us-east', env: {FLOWLOG_LOGDNA_API_URL: 'mezmo', FLOWLOG_LOGDNA_SERVICE_KEY: KEY}})).to.throw(/retired in March 2025/).with.property('exitCode', 3)
    expect(resolveConfigApi({env: {FLOWLOG_LOGDNA_SERVICE_KEY: KEY}}).baseUrl).to.equal('https://api.mezmo.com')
    expect(() => resolveConfigApi({apiUrl: 'mezmo', env: {}})).to.throw().with.property('exitCode', 3)
  })

  it('trigger intervals and alert bodies', () => {
    expect(parseTriggerInterval('30s')).to.equal('30')
    expect(parseTriggerInterval('5m')).to.equal('5m')
    expect(() => parseTriggerInterval('2m')).to.throw().with.property('exitCode', 2)
    expect(() => alertView({name: 'x', query: '  ', webhookUrl: HOOK})).to.throw().with.property('exitCode', 2)
    expect(alertView({name: 'x', query: 'a', webhookUrl: HOOK, triggerLimit: 5, triggerInterval: '5m'}).channels![0]).to.deep.include({triggerlimit: 5, triggerinterval: '5m'})
  })

  it('findView: by id, by name; ambiguous or unknown names are usage errors', () => {
    const views = [
      {viewid: 'a1', name: 'dup', channels: []},
      {viewid: 'b2', name: 'dup', channels: []},
      {viewid: 'c3', name: 'solo', channels: []},
    ]
    expect(findView(views, 'b2').name).to.equal('dup')
    expect(findView(views, 'solo').viewid).to.equal('c3')
    expect(() => findView(views, 'dup')).to.throw(/2 views/).with.property('exitCode', 2)
    expect(() => findView(views, 'none')).to.throw().with.property('exitCode', 2)
  })
})

describe('investigation: Slack webhook client and the fake Slack', () => {
  it('posts JSON, retries 429 and 5xx, refuses bad URLs, never prints the URL', async () => {
    const slack = await startSlack()
    try {
      const url = validateWebhookUrl(slack.webhookUrl)
      slack.failNext(429, 503)
      await postSlack(url, {text: 'hello'}, {sleep: async () => undefined})
      expect(slack.posts.map((p) => p.body.text)).to.deep.equal(['hello'])
      expect(slack.requests.map((r) => r.status)).to.deep.equal([429, 503, 200])
      let error: any
      try {
        await postSlack(`${slack.url}/services/T0/B0/wrong`, {text: 'x'})
      } catch (e) {
        error = e
      }
      expect(error.exitCode).to.equal(3)
      expect(error.message).to.contain('no_service')
      try {
        await postSlack(url, {text: ''})
      } catch (e) {
        error = e
      }
      expect(error.exitCode).to.equal(4)
      expect(error.message).to.contain('no_text')
      expect(maskWebhookUrl(slack.webhookUrl)).to.equal(`${slack.url}/services/…`)
    } finally {
      await slack.close()
    }
    expect(() => validateWebhookUrl('http://hooks.slack.com/services/x')).to.throw(/https/)
    expect(() => validateWebhookUrl('nope')).to.throw().with.property('exitCode', 2)
  })
})
