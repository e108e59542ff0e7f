/**
 * The Slack webhook is a secret: it comes from FLOWLOG_SLACK_WEBHOOK or `slackWebhook` in the config file (0600), never
 * from a flag (src/lib/sinks/slack.ts). A real `watch` posts to the webhook of the config file and never prints it.
 */
import {expect} from 'chai'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {UsageError} from '../../src/lib/errors.js'
import {resolveSlackWebhook, SLACK_WEBHOOK_ENV} from '../../src/lib/sinks/slack.js'
import {spawnCli} from '../investigation/helpers.js'
import {startSlack} from '../servers/slack.js'
import {makeObject, makeRecord, makeV1Key, tempDir, writeBucketFile} from '../support/fixtures.js'

const HOOK = 'https://hooks.slack.com/services/T0AAAA/B0BBBB/cccccccccccccccccccccccc'

describe('Slack webhook from the environment or the config file', function () {
  this.timeout(120_000)

  it('the environment wins over the config file; the config file is used alone; a bad value is named where it came from', () => {
    expect(resolveSlackWebhook({[SLACK_WEBHOOK_ENV]: HOOK}, {slackWebhook: 'https://hooks.slack.com/services/other'})).to.equal(HOOK)
    expect(resolveSlackWebhook({}, {slackWebhook: HOOK}, '/h/config.json')).to.equal(HOOK)
    expect(() => resolveSlackWebhook({}, {slackWebhook: 'http://hooks.example.com/x'}, '/h/config.json')).to.throw(UsageError, /slackWebhook in \/h\/config\.json must be an https URL/)
    expect(() => resolveSlackWebhook({}, {slackWebhook: 42}, '/h/config.json')).to.throw(UsageError, /must be a string/)
    let error: UsageError | undefined
    try {
      resolveSlackWebhook({[SLACK_WEBHOOK_ENV]: ' '}, {})
    } catch (e) {
      error = e as UsageError
    }
    expect(error?.message).to.equal('no Slack webhook')
    expect(error?.suggestions.join('\n')).to.match(/FLOWLOG_SLACK_WEBHOOK[\s\S]*"slackWebhook"/)
  })

  it('watch (a real process) posts to the webhook of the config file and never prints it', async () => {
    const t = tempDir('flowlog-slack-config-')
    const slack = await startSlack()
    const home = join(t.dir, 'home')
    const bucket = join(t.dir, 'bucket')
    mkdirSync(home, {recursive: true})
    mkdirSync(bucket, {recursive: true})
    writeFileSync(join(home, 'config.json'), JSON.stringify({slackWebhook: slack.webhookUrl}), {mode: 0o600})
    const secret = new URL(slack.webhookUrl).pathname.split('/').pop()!
    const cli = spawnCli(['watch', '--query', 'action:rejected target_port:3389', '--source', bucket, '--interval', '1s', '--no-names'], {FLOWLOG_HOME: home, [SLACK_WEBHOOK_ENV]: ''})
    try {
      await cli.waitFor('stderr', 'watching')
      const w = Math.floor(Date.now() / 300_000) * 300_000
      writeBucketFile(bucket, {key: makeV1Key({time: w, sequence: 7001, stream_id: 'cfg'}), body: makeObject([makeRecord({action: 'rejected', target_port: 3389, initiator_ip: '203.0.113.77'}, Date.now() - 1000)], {start: w})})
      const posts = await Promise.race([
        slack.waitForPosts(1),
        cli.exited.then(() => {
          throw new Error(`watch exited: ${cli.stderr()}`)
        }),
      ])
      expect(posts[0].body.text).to.contain('203.0.113.77')
      const {code} = await cli.stop('SIGINT')
      expect(code).to.equal(130)
      expect(cli.stderr() + cli.stdout()).not.to.contain(secret)
    } finally {
      await cli.stop('SIGKILL')
      await slack.close()
      t.cleanup()
    }
  })
})
