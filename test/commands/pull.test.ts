/**
 * `flowlog pull --source DIR` as users run it (needs `npm run build`): partial failures (exit 5) with every bad key
 * named, the --json summary, foreign files, time-window pruning, and the exit codes of bad input.
 */
import {expect} from 'chai'
import {gzipSync} from 'node:zlib'

import type {PullSummary} from '../../src/lib/sources/pull.js'
import {openStore} from '../../src/lib/store/store.js'
import {runCli, tempHome} from '../support/cli.js'
import {homeAt, makeObject, makeRecords, makeSeries, makeV1Key, SAMPLE, sampleBytes, tempDir, writeBucketFile} from '../support/fixtures.js'

async function recordCount(homeDir: string): Promise<{records: number; objects: number}> {
  const store = await openStore(homeAt(homeDir), {readOnly: true})
  try {
    const [r] = await store.all('select count(*) n from records')
    const [o] = await store.all('select count(*) n from objects')
    return {records: Number(r.n), objects: Number(o.n)}
  } finally {
    await store.close()
  }
}

/** 5 good objects holding 50 records in all, 3 corrupt ones, and foreign files that must be skipped. */
function mixedFolder(dir: string): {bad: {key: string; reason: RegExp}[]; good: string[]} {
  const good = makeSeries(5, 10).map((o) => {
    writeBucketFile(dir, {key: o.key, body: o.doc})
    return o.key
  })
  const bad = [
    {key: makeV1Key({sequence: 90, record_type: 'egress'}), bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x13, 0xff, 0x42]), reason: /not a flow-log object/},
    {key: makeV1Key({sequence: 91, record_type: 'egress'}), bytes: gzipSync(sampleBytes(SAMPLE.threeRecords)).subarray(0, 120), reason: /corrupt gzip/},
    {key: makeV1Key({sequence: 92, record_type: 'egress'}), bytes: gzipSync('{"version":"0.0.1","flow_logs":{"a":1}}'), reason: /flow_logs is not an array/},
  ]
  for (const b of bad) writeBucketFile(dir, {key: b.key, body: b.bytes, gzip: false})
  // Foreign objects: never read as flow logs, never failures.
  writeBucketFile(dir, {key: 'README.md', body: '# not a flow log', gzip: false})
  writeBucketFile(dir, {key: '.flowlog-demo', body: 'marker', gzip: false})
  writeBucketFile(dir, {key: 'checkpoints/forward.json', body: '{"not":"a flow log"}', gzip: false})
  writeBucketFile(dir, {key: 'backup/garbage.gz', body: Buffer.from('junk'), gzip: false})
  return {bad: bad.map(({key, reason}) => ({key, reason})), good}
}

describe('flowlog pull --source DIR', function () {
  this.timeout(180_000)
  let home: {dir: string; cleanup: () => void}
  let folder: {dir: string; cleanup: () => void}
  beforeEach(() => {
    home = tempHome()
    folder = tempDir('flowlog-bucket-')
  })
  afterEach(() => {
    home.cleanup()
    folder.cleanup()
  })

  it('3 corrupt objects among 8: exit 5, every bad key named with its reason on stderr, all 50 good records loaded', async () => {
    const {bad} = mixedFolder(folder.dir)
    const r = await runCli(['pull', '--source', folder.dir], {env: {FLOWLOG_HOME: home.dir}})
    expect(r.code, r.stderr).to.equal(5)
    for (const b of bad) {
      const line = r.stderr.split('\n').find((l) => l.includes(b.key))
      expect(line, `stderr names ${b.key}`).to.not.equal(undefined)
      expect(line).to.match(b.reason)
    }
    expect(r.stderr).to.match(/8 objects listed, 8 downloaded, 5 loaded, 0 already loaded, 3 failed; 50 records loaded/)
    expect(r.stderr).to.match(/3 objects could not be loaded/)
    expect(r.stderr).not.to.contain('README.md')
    expect(r.stderr).not.to.contain('garbage.gz')
    expect(r.stdout).to.equal('')
    expect(await recordCount(home.dir)).to.deep.equal({records: 50, objects: 5})
  })

  it('--json prints the summary with the right numbers and the failures; exit 5', async () => {
    const {bad} = mixedFolder(folder.dir)
    const r = await runCli(['pull', '--source', folder.dir, '--json'], {env: {FLOWLOG_HOME: home.dir}})
    expect(r.code, r.stderr).to.equal(5)
    const out = JSON.parse(r.stdout) as PullSummary
    expect(out.objects).to.deep.equal({listed: 8, downloaded: 8, loaded: 5, skipped: 0, failed: 3})
    expect(out.records).to.equal(50)
    expect(out.failures).to.have.length(3)
    const byKey = new Map(out.failures.map((f) => [f.key, f.error]))
    for (const b of bad) {
      expect(byKey.has(b.key), b.key).to.equal(true)
      expect(byKey.get(b.key)).to.match(b.reason)
    }
    for (const f of out.failures) expect(Object.keys(f).sort()).to.deep.equal(['error', 'key'])
    expect(await recordCount(home.dir)).to.deep.equal({records: 50, objects: 5})

    // Again: the good objects are skipped, the bad ones tried (and failing) again.
    const again = await runCli(['pull', '--source', folder.dir, '--json'], {env: {FLOWLOG_HOME: home.dir}})
    expect(again.code).to.equal(5)
    const out2 = JSON.parse(again.stdout) as PullSummary
    expect(out2.objects).to.deep.equal({listed: 8, downloaded: 3, loaded: 0, skipped: 5, failed: 3})
    expect(out2.records).to.equal(0)
    expect(await recordCount(home.dir)).to.deep.equal({records: 50, objects: 5})
  })

  it('a clean folder: exit 0; a second run loads nothing; --force loads everything again without duplicates', async () => {
    for (const o of makeSeries(4, 6)) writeBucketFile(folder.dir, {key: o.key, body: o.doc})
    writeBucketFile(folder.dir, {key: 'notes.txt', body: 'hello', gzip: false})
    const first = await runCli(['pull', '--source', folder.dir, '--json'], {env: {FLOWLOG_HOME: home.dir}})
    expect(first.code, first.stderr).to.equal(0)
    expect((JSON.parse(first.stdout) as PullSummary).objects).to.deep.equal({listed: 4, downloaded: 4, loaded: 4, skipped: 0, failed: 0})
    const second = await runCli(['pull', '--source', folder.dir], {env: {FLOWLOG_HOME: home.dir}})
    expect(second.code).to.equal(0)
    expect(second.stderr).to.match(/4 objects listed, 0 downloaded, 0 loaded, 4 already loaded, 0 failed; 0 records loaded/)
    const forced = await runCli(['pull', '--source', folder.dir, '--force', '--json'], {env: {FLOWLOG_HOME: home.dir}})
    expect(forced.code).to.equal(0)
    expect((JSON.parse(forced.stdout) as PullSummary).objects.loaded).to.equal(4)
    expect(await recordCount(home.dir)).to.deep.equal({records: 24, objects: 4})
  })

  it('--since/--until skip objects whose key hour is outside the window', async () => {
    // one object at hh:10 for hours 00..04
    for (let h = 0; h < 5; h++) {
      const start = Date.UTC(2026, 0, 15, h, 10)
      writeBucketFile(folder.dir, {key: makeV1Key({time: start}), body: makeObject(makeRecords(h + 1, start), {start})})
    }
    const r = await runCli(['pull', '--source', folder.dir, '--since', '2026-01-15T01:30:00Z', '--until', '2026-01-15T03:00:00Z', '--json'], {
      env: {FLOWLOG_HOME: home.dir},
    })
    expect(r.code, r.stderr).to.equal(0)
    const out = JSON.parse(r.stdout) as PullSummary
    expect(out.objects.listed).to.equal(2) // hours 01 and 02
    // Only records inside the window are loaded: hour 01's records (01:10–01:15) are before --since.
    expect(out.records).to.equal(3)
    const hours = await (async () => {
      const store = await openStore(homeAt(home.dir), {readOnly: true})
      try {
        return (await store.all('select hour_dir from objects order by hour_dir')).map((x) => Number(x.hour_dir))
      } finally {
        await store.close()
      }
    })()
    expect(hours).to.deep.equal([Date.UTC(2026, 0, 15, 1), Date.UTC(2026, 0, 15, 2)])

    // A later pull without a window loads everything else, exactly once.
    const all = await runCli(['pull', '--source', folder.dir, '--json'], {env: {FLOWLOG_HOME: home.dir}})
    expect(all.code, all.stderr).to.equal(0)
    expect((JSON.parse(all.stdout) as PullSummary).objects.listed).to.equal(5)
    expect(await recordCount(home.dir)).to.deep.equal({records: 1 + 2 + 3 + 4 + 5, objects: 5})

    // since within 5 minutes after an hour boundary also keeps the hour before
    const home2 = tempHome()
    try {
      const r2 = await runCli(['pull', '--source', folder.dir, '--since', '2026-01-15T03:04:00Z', '--json'], {env: {FLOWLOG_HOME: home2.dir}})
      expect(r2.code, r2.stderr).to.equal(0)
      expect((JSON.parse(r2.stdout) as PullSummary).objects.listed).to.equal(3) // hours 02, 03, 04
    } finally {
      home2.cleanup()
    }
  })

  it('a missing folder: exit 3 (configuration), the path named', async () => {
    const missing = `${folder.dir}/does-not-exist`
    const r = await runCli(['pull', '--source', missing], {env: {FLOWLOG_HOME: home.dir}})
    expect(r.code).to.equal(3)
    expect(r.stderr).to.contain(`source folder ${missing} does not exist`)
    const j = await runCli(['pull', '--source', missing, '--json'], {env: {FLOWLOG_HOME: home.dir}})
    expect(j.code).to.equal(3)
    expect(JSON.parse(j.stdout)).to.deep.include({error: {code: 'config', message: `source folder ${missing} does not exist`, exitCode: 3, suggestions: ['Check the --source path']}})
  })

  it('a file instead of a folder: exit 3', async () => {
    writeBucketFile(folder.dir, {key: 'file.txt', body: 'x', gzip: false})
    const r = await runCli(['pull', '--source', `${folder.dir}/file.txt`], {env: {FLOWLOG_HOME: home.dir}})
    expect(r.code).to.equal(3)
    expect(r.stderr).to.match(/is not a folder/)
  })

  it('bad --since, --since after --until, and an unsupported source scheme: exit 2', async () => {
    const bad = await runCli(['pull', '--source', folder.dir, '--since', 'yesterday-ish'], {env: {FLOWLOG_HOME: home.dir}})
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.contain('--since "yesterday-ish" is neither an ISO 8601 time nor a duration')
    const order = await runCli(['pull', '--source', folder.dir, '--since', '1h', '--until', '2h'], {env: {FLOWLOG_HOME: home.dir}})
    expect(order.code).to.equal(2)
    expect(order.stderr).to.contain('--since must be before --until')
    const scheme = await runCli(['pull', '--source', 'https://example.invalid/bucket'], {env: {FLOWLOG_HOME: home.dir}})
    expect(scheme.code).to.equal(2)
    expect(scheme.stderr).to.match(/unsupported source/)
  })
})
