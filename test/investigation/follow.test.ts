import {expect} from 'chai'

import {compileQuery} from '../../src/lib/analysis/aggregate.js'
import {followObjects, type NewRecord, parseInterval} from '../../src/lib/follow/follow.js'
import {followLine, followSearch} from '../../src/lib/follow/search.js'
import {watch, watchMessage} from '../../src/lib/follow/watch.js'
import {Chalk} from 'chalk'
import {postSlack, validateWebhookUrl} from '../../src/lib/sinks/slack.js'
import {FolderSource} from '../../src/lib/sources/folder.js'
import {makeObject, makeRecord, makeV1Key, writeBucketFile} from '../support/fixtures.js'
import {startSlack} from '../servers/slack.js'
import {sharedParsePool} from '../support/pool.js'
import {generateDataset, loadDataset, type LoadedHome} from './helpers.js'

const HOUR = 3_600_000

/** A new object for the current hour (so the follow loop's listing window covers it). */
function writeNewObject(bucket: string, seq: number, records: ReturnType<typeof makeRecord>[]): string {
  const now = Date.now()
  const w = Math.floor(now / 300_000) * 300_000
  const key = makeV1Key({time: w, sequence: 1000 + seq, stream_id: 'follow'})
  writeBucketFile(bucket, {key, body: makeObject(records, {start: w})})
  return key
}

describe('investigation: follow loop, search --follow and watch (in process)', function () {
  this.timeout(120_000)
  let loaded: LoadedHome

  beforeEach(async () => {
    loaded = await loadDataset(generateDataset({objects: 6, perObject: 10, seed: 3}))
  })

  afterEach(() => loaded?.cleanup())

  it('hands over exactly the records of objects written after the start, once, in time order', async () => {
    const t = Date.now()
    const rounds: NewRecord[][] = []
    let sleeps = 0
    const summary = await followObjects({
      home: loaded.home,
      source: new FolderSource(loaded.bucket),
      intervalMs: 1000,
      maxRounds: 3,
      sleep: async () => {
        sleeps++
        if (sleeps === 1) {
          writeNewObject(loaded.bucket, 1, [
            makeRecord({initiator_ip: '203.0.113.9', target_port: 22}, t - 60_000),
            makeRecord({initiator_ip: '203.0.113.8', target_port: 443}, t - 120_000),
          ])
        }
        if (sleeps === 3) writeNewObject(loaded.bucket, 2, [makeRecord({initiator_ip: '203.0.113.7', target_port: 3389}, t - 30_000)])
      },
      onRecords: (records) => {
        rounds.push(records)
      },
    })
    expect(summary.rounds).to.equal(3)
    expect(rounds.map((r) => r.map((x) => x.row.initiator_ip))).to.deep.equal([['203.0.113.8', '203.0.113.9'], [], ['203.0.113.7']])
    expect(rounds[0][0].line).to.equal(JSON.stringify(rounds[0][0].row))
    expect(summary.records).to.equal(3)
  })

  it('also hands over objects another process loaded between rounds, and keeps going after a failed round', async () => {
    const {openStore} = await import('../../src/lib/store/store.js')
    const {pullObjects} = await import('../../src/lib/sources/pull.js')
    const rounds: number[] = []
    const errors: unknown[] = []
    let sleeps = 0
    let broken = false
    const source = new FolderSource(loaded.bucket)
    const flaky = {
      ...source,
      id: source.id,
      description: source.description,
      stats: source.stats,
      list: (w: never, p: never) => {
        if (broken) throw new Error('bucket unreachable')
        return source.list(w, p)
      },
      read: (o: never) => source.read(o),
    }
    await followObjects({
      home: loaded.home,
      source: flaky,
      intervalMs: 1000,
      maxRounds: 3,
      sleep: async () => {
        sleeps++
        if (sleeps === 1) {
          // Someone else pulls a new object while we sleep.
          writeNewObject(loaded.bucket, 3, [makeRecord({initiator_ip: '198.51.100.1'}, Date.now() - 1000)])
          const store = await openStore(loaded.home)
          await pullObjects(source, store, {pool: sharedParsePool()}).finally(() => store.close())
        }
        broken = sleeps === 2
      },
      onRecords: (records) => {
        rounds.push(records.length)
      },
      onRoundError: (e) => errors.push(e),
    })
    expect(rounds).to.deep.equal([1, 0])
    expect(errors).to.have.length(1)
  })

  it('search --follow prints the latest matches, then only new matching records (JavaScript back end)', async () => {
    const compiled = compileQuery('target_port:22 action:rejected')
    const backlog: NewRecord[] = []
    const matches: NewRecord[][] = []
    let sleeps = 0
    await followSearch({
      home: loaded.home,
      source: new FolderSource(loaded.bucket),
      compiled,
      intervalMs: 1000,
      backlog: 3,
      maxRounds: 1,
      sleep: async () => {
        if (++sleeps === 1) {
          writeNewObject(loaded.bucket, 4, [
            makeRecord({action: 'rejected', target_port: 22, initiator_ip: '203.0.113.50'}, Date.now() - 5000),
            makeRecord({action: 'accepted', target_port: 22, initiator_ip: '203.0.113.51'}, Date.now() - 4000),
            makeRecord({action: 'rejected', target_port: 2222, initiator_ip: '203.0.113.52'}, Date.now() - 3000),
            makeRecord({action: 'rejected', target_port: 22, initiator_ip: '203.0.113.53', extra_field: true}, Date.now() - 2000),
          ])
        }
      },
      onBacklog: (r) => {
        backlog.push(...r)
      },
      onMatches: (r) => {
        matches.push(r)
      },
    })
    expect(backlog.length).to.be.at.most(3)
    expect(backlog.length).to.be.greaterThan(0)
    for (const b of backlog) expect([b.row.action, b.row.target_port]).to.deep.equal(['rejected', 22])
    const times = backlog.map((b) => b.ts!)
    expect(times).to.deep.equal([...times].sort((a, b) => a - b))
    expect(matches.map((m) => m.map((x) => x.row.initiator_ip))).to.deep.equal([['203.0.113.50', '203.0.113.53']])
  })

  it('refuses --until with --follow', async () => {
    let error: unknown
    try {
      await followSearch({
        home: loaded.home,
        source: new FolderSource(loaded.bucket),
        compiled: compileQuery(''),
        window: {until: Date.now()},
        intervalMs: 1000,
        backlog: 1,
        onBacklog: () => undefined,
        onMatches: () => undefined,
      })
    } catch (e) {
      error = e
    }
    expect((error as {exitCode?: number})?.exitCode).to.equal(2)
  })

  it('watch posts one Slack message per round with matches, none for rounds without', async () => {
    const slack = await startSlack()
    try {
      const url = validateWebhookUrl(slack.webhookUrl)
      let sleeps = 0
      const summary = await watch({
        home: loaded.home,
        source: new FolderSource(loaded.bucket),
        compiled: compileQuery('target_port:22 action:rejected'),
        intervalMs: 1000,
        maxRounds: 3,
        post: (m) => postSlack(url, m),
        sleep: async () => {
          sleeps++
          if (sleeps === 1) {
            writeNewObject(loaded.bucket, 5, [
              makeRecord({action: 'rejected', target_port: 22, initiator_ip: '203.0.113.60'}, Date.now() - 3000),
              makeRecord({action: 'rejected', target_port: 22, initiator_ip: '203.0.113.61'}, Date.now() - 2000),
            ])
          }
          if (sleeps === 2) writeNewObject(loaded.bucket, 6, [makeRecord({action: 'accepted', target_port: 443}, Date.now() - 1000)])
          if (sleeps === 3) writeNewObject(loaded.bucket, 7, [makeRecord({action: 'rejected', target_port: 22, initiator_ip: '203.0.113.62'}, Date.now() - 500)])
        },
      })
      expect(summary).to.deep.include({rounds: 3, matches: 3, messages: 2, failedMessages: 0})
      expect(slack.posts).to.have.length(2)
      expect(slack.posts[0].body.text).to.contain('2 new flows matched')
      expect(slack.posts[0].body.text).to.contain('203.0.113.60')
      expect(slack.posts[0].body.text).to.contain('203.0.113.61')
      expect(slack.posts[1].body.text).to.contain('1 new flow matched')
      expect(slack.posts[1].body.text).to.contain('203.0.113.62')
    } finally {
      await slack.close()
    }
  })

  it('a failed Slack post is counted and the watch goes on', async () => {
    const slack = await startSlack()
    try {
      const url = validateWebhookUrl(slack.webhookUrl)
      slack.failNext(500, 500, 500)
      let sleeps = 0
      const events: {posted: boolean; error?: string}[] = []
      const summary = await watch({
        home: loaded.home,
        source: new FolderSource(loaded.bucket),
        compiled: compileQuery('action:rejected'),
        intervalMs: 1000,
        maxRounds: 2,
        post: (m) => postSlack(url, m, {sleep: async () => undefined}),
        sleep: async () => {
          sleeps++
          writeNewObject(loaded.bucket, 10 + sleeps, [makeRecord({action: 'rejected'}, Date.now() - 1000)])
        },
        onRound: (e) => events.push({posted: e.posted, error: e.error}),
      })
      expect(summary.messages).to.equal(1)
      expect(summary.failedMessages).to.equal(1)
      expect(events[0].posted).to.equal(false)
      expect(events[0].error).to.match(/after 3 attempts/)
      expect(events[0].error).to.not.contain('abcdefghijklmnop')
      expect(events[1].posted).to.equal(true)
    } finally {
      await slack.close()
    }
  })

  it('formats follow lines and Slack messages with names beside IPs', () => {
    const c = new Chalk({level: 0})
    const rec = makeRecord({initiator_ip: '24.22.68.94', target_ip: '10.240.0.4', target_port: 22, bytes_from_initiator: 120, bytes_from_target: 0}, Date.UTC(2026, 0, 1))
    const names = new Map([['10.240.0.4', 'flowlogs-vsi1/eth0']])
    expect(followLine(rec, Date.UTC(2026, 0, 1), c, names)).to.equal('2026-01-01T00:00:00Z  I  rejected  24.22.68.94:51234 → 10.240.0.4:22 (flowlogs-vsi1/eth0)  tcp  120 B')
    const many = Array.from({length: 13}, (_, i) => ({row: rec, line: '', ts: Date.UTC(2026, 0, 1) + i, okey: 'k', idx: i}))
    const msg = watchMessage('target_port:22 <x>', many, {names, maxLines: 10})
    expect(msg.text.split('\n')).to.have.length(12)
    expect(msg.text).to.contain('… and 3 more')
    expect(msg.text).to.contain('`target_port:22 &lt;x&gt;`')
  })

  it('parses intervals and refuses bad ones', () => {
    expect(parseInterval('30s')).to.equal(30_000)
    expect(parseInterval('2m')).to.equal(120_000)
    for (const bad of ['soon', '10ms', '']) expect(() => parseInterval(bad)).to.throw().with.property('exitCode', 2)
  })

  it('keeps listing only recent hour folders after the first round', async () => {
    // An object written into an old hour folder after the start is outside the follow listing window.
    const old = makeV1Key({time: Date.now() - 10 * HOUR, sequence: 999, stream_id: 'old'})
    const rounds: number[] = []
    await followObjects({
      home: loaded.home,
      source: new FolderSource(loaded.bucket),
      intervalMs: 1000,
      maxRounds: 1,
      sleep: async () => {
        writeBucketFile(loaded.bucket, {key: old, body: makeObject([makeRecord()], {start: Date.now() - 10 * HOUR})})
      },
      onRecords: (r) => {
        rounds.push(r.length)
      },
    })
    expect(rounds).to.deep.equal([0])
  })
})
