/**
 * The investigation commands as users run them (bin/run.js over dist/: `npm run build` first).
 */
import {expect} from 'chai'
import {writeFileSync} from 'node:fs'

import {demoVpcSnapshot} from '../../src/lib/demo/snapshot.js'
import {snapshotPathOf} from '../../src/lib/names.js'
import {parseQuery, toPredicate} from '../../src/lib/query/index.js'
import {runCli} from '../support/cli.js'
import {makeObject, makeRecord, makeV1Key, writeBucketFile} from '../support/fixtures.js'
import {startConfigApi, type FakeConfigApi} from '../servers/logdna-config.js'
import {startSlack} from '../servers/slack.js'
import {type Dataset, generateDataset, independentTop, loadDataset, type LoadedHome, spawnCli} from './helpers.js'

const SERVICE_KEY = 'svc-key-cli-0123456789'

function newObject(bucket: string, seq: number, records: ReturnType<typeof makeRecord>[]): void {
  const w = Math.floor(Date.now() / 300_000) * 300_000
  writeBucketFile(bucket, {key: makeV1Key({time: w, sequence: 5000 + seq, stream_id: 'cli'}), body: makeObject(records, {start: w})})
}

describe('investigation: CLI', function () {
  this.timeout(180_000)
  let data: Dataset
  let loaded: LoadedHome
  let env: NodeJS.ProcessEnv

  before(async () => {
    data = generateDataset({objects: 20, perObject: 40, seed: 21, irregularShare: 0.2})
    loaded = await loadDataset(data)
    env = {FLOWLOG_HOME: loaded.dir}
  })

  after(() => loaded?.cleanup())

  for (const by of ['initiator_ip', 'target_port']) {
    it(`top --by ${by} --query 'action:rejected' --limit 5 --json gives exactly the independent counts`, async () => {
      const r = await runCli(['top', '--by', by, '--query', 'action:rejected', '--limit', '5', '--json'], {env})
      expect(r.code, r.stderr).to.equal(0)
      const got = JSON.parse(r.stdout)
      const predicate = toPredicate(parseQuery('action:rejected').ast)
      const expected = independentTop(data.rows, by, (row, key, idx) => predicate(row, key, idx))
      expect(got.by).to.equal(by)
      expect(got.rows).to.deep.equal(expected.rows.slice(0, 5))
      if (by === 'target_port') for (const row of got.rows) expect(row.value).to.be.a('number')
    })
  }

  it('top says on stderr how many records lack the field; the table has bars and names; bad input exits 2', async () => {
    writeFileSync(snapshotPathOf({root: loaded.dir}), JSON.stringify(demoVpcSnapshot()))
    const r = await runCli(['top', '--by', 'initiator_ip', '--limit', '0'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const missing = independentTop(data.rows, 'initiator_ip', () => true).missing
    expect(missing).to.be.greaterThan(0)
    expect(r.stderr).to.contain(`${missing} matching records without initiator_ip left out`)
    expect(r.stdout).to.contain('10.240.0.4 (flowlogs-vsi1/eth0)')
    expect(r.stdout).to.match(/#{5,}/)
    expect(r.stdout).to.not.match(/\u001b\[/)
    expect((await runCli(['top', '--by', 'target_port', '--query', 'target_port:('], {env})).code).to.equal(2)
    expect((await runCli(['top', '--query', 'x'], {env})).code).to.equal(2)
    const noNames = await runCli(['top', '--by', 'target_ip', '--no-names'], {env})
    expect(noNames.stdout).to.not.contain('flowlogs-vsi1')
  })

  it('stats --json: buckets and top lists equal an independent count', async () => {
    const r = await runCli(['stats', '--interval', '30m', '--top', '3', '--json'], {env})
    expect(r.code, r.stderr).to.equal(0)
    const got = JSON.parse(r.stdout)
    expect(got.interval_ms).to.equal(1_800_000)
    const buckets = new Map<string, {accepted: number; rejected: number}>()
    for (const {row, ts} of data.rows) {
      if (ts === undefined) continue
      const start = new Date(Math.floor(ts / 1_800_000) * 1_800_000).toISOString().replace('.000Z', 'Z')
      const b = buckets.get(start) ?? {accepted: 0, rejected: 0}
      if (row.action === 'accepted') b.accepted++
      if (row.action === 'rejected') b.rejected++
      buckets.set(start, b)
    }
    for (const b of got.buckets) expect(b).to.deep.equal({start: b.start, ...(buckets.get(b.start) ?? {accepted: 0, rejected: 0})})
    expect(got.buckets.length).to.be.greaterThanOrEqual(buckets.size)
    expect(got.top_rejected_ports).to.deep.equal(independentTop(data.rows, 'target_port', (row) => row.action === 'rejected').rows.slice(0, 3))
    const human = await runCli(['stats', '--interval', '30m'], {env})
    expect(human.stdout).to.match(/accepted │/)
    expect(human.stdout).to.contain('Top rejected target ports')
    expect((await runCli(['stats', '--interval', 'often'], {env})).code).to.equal(2)
  })

  it('search --follow prints new matching records from objects written after the start; Ctrl-C exits 130', async () => {
    const cli = spawnCli(['search', 'action:rejected target_port:22', '--follow', '--interval', '1s', '--limit', '2', '--source', loaded.bucket, '--output', 'ndjson'], env)
    try {
      await cli.waitFor('stderr', 'following')
      const backlog = cli.stdout().trim().split('\n').filter(Boolean)
      expect(backlog.length).to.equal(2)
      newObject(loaded.bucket, 1, [
        makeRecord({action: 'rejected', target_port: 22, initiator_ip: '203.0.113.77'}, Date.now() - 2000),
        makeRecord({action: 'accepted', target_port: 22, initiator_ip: '203.0.113.78'}, Date.now() - 1000),
      ])
      await cli.waitFor('stdout', '203.0.113.77')
      const {code} = await cli.stop('SIGINT')
      expect(code).to.equal(130)
      const lines = cli.stdout().trim().split('\n')
      expect(lines.length).to.equal(3)
      expect(JSON.parse(lines[2]).initiator_ip).to.equal('203.0.113.77')
      expect(cli.stdout()).to.not.contain('203.0.113.78')
    } finally {
      await cli.stop('SIGKILL')
    }
  })

  describe('alerts against the fake configuration API', () => {
    let api: FakeConfigApi
    let slackUrl: string
    let own: LoadedHome
    let env: NodeJS.ProcessEnv

    before(async () => {
      api = await startConfigApi({serviceKeys: [SERVICE_KEY]})
      slackUrl = 'https://hooks.slack.com/services/T0AAAA/B0BBBB/cccccccccccccccccccccccc'
      // A home of its own: only records older than an hour (the other tests add recent ones).
      own = await loadDataset(generateDataset({objects: 8, perObject: 30, seed: 5}))
      env = {FLOWLOG_HOME: own.dir}
    })

    after(async () => {
      await api?.close()
      own?.cleanup()
    })

    it('create: validates, replays locally, creates the category and the view; list and delete by name', async () => {
      const aenv = {...env, FLOWLOG_LOGDNA_SERVICE_KEY: SERVICE_KEY, FLOWLOG_SLACK_WEBHOOK: slackUrl}
      const created = await runCli(
        ['alert', 'create', '--sink', 'logdna', 'ssh-rejected', '--query', 'action:rejected target_port:22', '--api-url', api.url, '--json'],
        {env: aenv},
      )
      expect(created.code, created.stderr).to.equal(0)
      const result = JSON.parse(created.stdout)
      expect(result.viewid).to.match(/^[0-9a-f]{10}$/)
      expect(result.category_created).to.equal(true)
      expect(result.replay.basis).to.equal('latest-data') // the generated data is older than an hour
      expect(result.replay.matches).to.be.greaterThan(0)
      expect(result.replay.fires).to.be.greaterThan(0)
      expect(created.stdout + created.stderr).to.not.contain('cccccccccccccccc')
      expect(created.stdout + created.stderr).to.not.contain(SERVICE_KEY)
      const view = api.views.get(result.viewid)!
      expect(view.channels[0]).to.deep.include({integration: 'webhook', url: slackUrl, operator: 'presence', triggerlimit: 1, triggerinterval: '30'})
      expect(api.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).to.deep.equal([
        'GET /v1/config/categories/views 200',
        'POST /v1/config/categories/views 200',
        'POST /v1/config/view 200',
      ])

      const human = await runCli(['alert', 'create', '--sink', 'logdna', 'scans', '-q', 'action:rejected', '--trigger-limit', '20', '--trigger-interval', '5m'], {
        env: {...aenv, FLOWLOG_LOGDNA_API_URL: api.url},
      })
      expect(human.code, human.stderr).to.equal(0)
      expect(human.stdout).to.match(/created alert "scans": viewid [0-9a-f]{10}/)
      expect(human.stderr).to.match(/would have fired \d+ time/)

      const list = await runCli(['alert', 'list', '--sink', 'logdna', '--api-url', api.url], {env: aenv})
      expect(list.code, list.stderr).to.equal(0)
      expect(list.stdout).to.contain('ssh-rejected')
      expect(list.stdout).to.contain('presence ≥ 20 in 5m')
      expect(list.stdout).to.contain('https://hooks.slack.com/services/…')
      expect(list.stdout).to.not.contain('cccccccccccccccc')

      const del = await runCli(['alert', 'delete', '--sink', 'logdna', 'ssh-rejected', '--api-url', api.url], {env: aenv})
      expect(del.code, del.stderr).to.equal(0)
      expect(del.stdout).to.contain(`viewid ${result.viewid}`)
      expect(api.views.has(result.viewid)).to.equal(false)
      expect((await runCli(['alert', 'delete', '--sink', 'logdna', 'ssh-rejected', '--api-url', api.url], {env: aenv})).code).to.equal(2)
      const json = JSON.parse((await runCli(['alert', 'list', '--sink', 'logdna', '--api-url', api.url, '--json'], {env: aenv})).stdout)
      expect(json.alerts.map((a: {name: string}) => a.name)).to.deep.equal(['scans'])
    })

    it('create: a syntax error exits 2 before any call; a CIDR clause is warned about; no service key exits 3', async () => {
      const before = api.requests.length
      const aenv = {...env, FLOWLOG_LOGDNA_SERVICE_KEY: SERVICE_KEY, FLOWLOG_SLACK_WEBHOOK: slackUrl}
      const bad = await runCli(['alert', 'create', '--sink', 'logdna', 'x', '--query', 'target_port:(22', '--api-url', api.url], {env: aenv})
      expect(bad.code).to.equal(2)
      expect(bad.stderr).to.match(/syntax error/)
      expect(api.requests.length).to.equal(before)
      const cidr = await runCli(['alert', 'create', '--sink', 'logdna', 'subnet', '--query', 'initiator_ip:10.240.0.0/16', '--api-url', api.url, '--dry-run'], {env: aenv})
      expect(cidr.code, cidr.stderr).to.equal(0)
      expect(cidr.stderr).to.match(/CIDR clause.*matches nothing in Log Analysis/)
      expect(api.requests.length).to.equal(before)
      const nokey = await runCli(['alert', 'create', '--sink', 'logdna', 'x', '--query', 'action:rejected', '--api-url', api.url], {env: {...env, FLOWLOG_SLACK_WEBHOOK: slackUrl}})
      expect(nokey.code).to.equal(3)
      expect(nokey.stderr).to.contain('FLOWLOG_LOGDNA_SERVICE_KEY')
      const wrong = await runCli(['alert', 'list', '--sink', 'logdna', '--api-url', api.url], {env: {...env, FLOWLOG_LOGDNA_SERVICE_KEY: 'not-the-key-123456'}})
      expect(wrong.code).to.equal(3)
      expect(wrong.stderr).to.not.contain('not-the-key-123456')
    })
  })

  it('watch posts to Slack when new matching records arrive; Ctrl-C exits 130', async () => {
    const slack = await startSlack()
    const cli = spawnCli(['watch', '--query', 'action:rejected target_port:3389', '--source', loaded.bucket, '--interval', '1s'], {...env, FLOWLOG_SLACK_WEBHOOK: slack.webhookUrl})
    try {
      await cli.waitFor('stderr', 'watching')
      expect(cli.stderr()).to.not.contain('abcdefghijklmnop')
      newObject(loaded.bucket, 2, [
        makeRecord({action: 'rejected', target_port: 3389, initiator_ip: '203.0.113.90'}, Date.now() - 2000),
        makeRecord({action: 'rejected', target_port: 22, initiator_ip: '203.0.113.91'}, Date.now() - 1000),
      ])
      const posts = await Promise.race([
        slack.waitForPosts(1),
        cli.exited.then(() => {
          throw new Error(`watch exited: ${cli.stderr()}`)
        }),
      ])
      expect(posts[0].body.text).to.contain('1 new flow matched')
      expect(posts[0].body.text).to.contain('203.0.113.90')
      expect(posts[0].body.text).to.not.contain('203.0.113.91')
      await cli.waitFor('stdout', '203.0.113.90')
      const {code} = await cli.stop('SIGINT')
      expect(code).to.equal(130)
      expect(slack.posts).to.have.length(1)
    } finally {
      await cli.stop('SIGKILL')
      await slack.close()
    }
  })

  it('watch refuses a missing or plain-http remote webhook, and the webhook as a flag (a secret) (exit 2)', async () => {
    expect((await runCli(['watch', '--query', 'action:rejected', '--source', loaded.bucket], {env})).code).to.equal(2)
    const r = await runCli(['watch', '--query', 'action:rejected', '--source', loaded.bucket], {env: {...env, FLOWLOG_SLACK_WEBHOOK: 'http://hooks.example.com/x'}})
    expect(r.code).to.equal(2)
    const flag = await runCli(['watch', '--query', 'action:rejected', '--source', loaded.bucket, '--slack-webhook', 'https://hooks.slack.com/services/T0/B0/secret123'], {env})
    expect(flag.code).to.equal(2)
    expect(flag.stderr).to.match(/--slack-webhook is not taken: a webhook URL is a secret/)
    expect(flag.stderr).to.contain('FLOWLOG_SLACK_WEBHOOK')
    expect(flag.stderr).not.to.contain('secret123')
  })

  it('explore without a terminal (piped stdin, or stdout): exit 2, "use search", no escape codes', async () => {
    const piped = await runCli(['explore'], {env, input: '\n'})
    expect(piped.code, piped.stderr).to.equal(2)
    expect(piped.stderr).to.contain('explore needs a terminal; use search')
    expect(piped.stdout).to.equal('')
    expect(piped.stderr + piped.stdout).to.not.match(/\u001b\[/)
  })
})
