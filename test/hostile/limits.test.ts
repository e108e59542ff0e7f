/**
 * Hostile objects (needs `npm run build`): a gzip bomb, a lying gzip trailer, a 1 MB string, deep nesting, integers
 * beyond 2^53 and invalid UTF-8 are per-object outcomes of a real `flowlog pull`; the good objects load, the peak RSS
 * of the process stays bounded (docs/flow-log-format.md, "What pull accepts and rejects").
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {createWriteStream, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createGzip} from 'node:zlib'

import {ROOT} from '../support/cli.js'
import {makeObject, makeRecords, makeSeries, makeV1Key, tempDir, writeBucketFile} from '../support/fixtures.js'
import {countRecords} from '../store/helpers.js'

/** A gzip of `{"flow_logs":[` + `size` spaces + `]}`, written as a stream (never held whole). */
async function writeBomb(path: string, size: number): Promise<void> {
  const gz = createGzip({level: 9})
  const out = createWriteStream(path)
  gz.pipe(out)
  const chunk = Buffer.alloc(1024 * 1024, 0x20)
  gz.write('{"version":"0.0.1","flow_logs":[')
  for (let n = 0; n < size; n += chunk.length) {
    if (!gz.write(chunk)) await new Promise<void>((r) => gz.once('drain', () => r()))
  }
  gz.end(']}')
  await new Promise<void>((r) => out.once('finish', () => r()))
}

function pull(args: string[], env: NodeJS.ProcessEnv): Promise<{code: number | null; stdout: string; stderr: string; maxRssMb: number}> {
  return new Promise((resolve, reject) => {
    const rssFile = join(env.FLOWLOG_HOME!, '..', `rss-${Date.now()}`)
    const child = spawn(process.execPath, ['--import', join(ROOT, 'test', 'support', 'maxrss.mjs'), join(ROOT, 'bin', 'run.js'), 'pull', ...args], {
      cwd: ROOT,
      env: {...process.env, NO_COLOR: '1', FLOWLOG_TEST_MAXRSS_FILE: rssFile, ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr, maxRssMb: Number(readFileSync(rssFile, 'utf8')) / 1024}))
  })
}

describe('pull of hostile objects (real processes)', function () {
  this.timeout(300_000)
  let t: {dir: string; cleanup: () => void}
  beforeEach(() => (t = tempDir('flowlog-hostile-')))
  afterEach(() => t.cleanup())

  it('20 good objects, a 2 MB gzip inflating to 2 GB, one holding a 1 MB string: exit 5 naming both, 20 loaded, peak RSS under 600 MB', async () => {
    const folder = join(t.dir, 'bucket')
    const good = makeSeries(20, 50)
    for (const o of good) writeBucketFile(folder, {key: o.key, body: o.doc})
    const bombKey = makeV1Key({sequence: 90, record_type: 'egress'})
    const bombPath = writeBucketFile(folder, {key: bombKey, body: 'x'})
    await writeBomb(bombPath, 2 * 1024 * 1024 * 1024)
    const bigKey = makeV1Key({sequence: 91, record_type: 'egress'})
    writeBucketFile(folder, {key: bigKey, body: makeObject(makeRecords(3).map((r, i) => (i === 1 ? {...r, note: 'y'.repeat(1024 * 1024)} : r)))})
    const r = await pull(['--source', folder], {FLOWLOG_HOME: join(t.dir, 'home')})
    expect(r.code, r.stderr).to.equal(5)
    const line = (key: string) => r.stderr.split('\n').find((l) => l.includes(key)) ?? ''
    expect(line(bombKey)).to.match(/inflates to more than 512 MB, the limit per object \(pull --max-object-size\)/)
    expect(line(bigKey)).to.match(/a string of 1 MB at byte \d+ is over the 64 KB value limit/)
    // Error texts are cut to 200 characters (the key before them is the object's name).
    for (const key of [bombKey, bigKey]) expect(line(key).length - line(key).indexOf(key) - key.length, line(key)).to.be.at.most(202)
    expect(await countRecords(join(t.dir, 'home'))).to.deep.equal({objects: 20, records: 1000})
    expect(r.maxRssMb, 'peak RSS (MB)').to.be.below(600)
  })

  it('a bomb whose gzip trailer lies (says 100 bytes) is counted, not held: named, peak RSS under 600 MB; --max-object-size applies', async () => {
    const folder = join(t.dir, 'bucket')
    for (const o of makeSeries(2, 10)) writeBucketFile(folder, {key: o.key, body: o.doc})
    const bombKey = makeV1Key({sequence: 90, record_type: 'egress'})
    const bombPath = writeBucketFile(folder, {key: bombKey, body: 'x'})
    await writeBomb(bombPath, 1024 * 1024 * 1024)
    const bytes = readFileSync(bombPath)
    bytes.writeUInt32LE(100, bytes.length - 4)
    writeFileSync(bombPath, bytes)
    const home = join(t.dir, 'home')
    const r = await pull(['--source', folder], {FLOWLOG_HOME: home})
    expect(r.code, r.stderr).to.equal(5)
    expect(r.stderr).to.match(new RegExp(`${bombKey}: inflates to more than 512 MB, the limit per object`))
    expect(r.maxRssMb, 'peak RSS (MB)').to.be.below(600)
    expect(await countRecords(home)).to.deep.equal({objects: 2, records: 20})
    const small = await pull(['--source', folder, '--force', '--max-object-size', '1KB'], {FLOWLOG_HOME: home})
    expect(small.code).to.equal(5)
    expect(small.stderr).to.match(/more than 1 KB, the limit per object/)
    const bad = await pull(['--source', folder, '--max-object-size', 'lots'], {FLOWLOG_HOME: home})
    expect(bad.code).to.equal(2)
  })

  it('deep nesting, an integer beyond 2^53 are named object errors; invalid UTF-8 loads with a warning naming the object', async () => {
    const folder = join(t.dir, 'bucket')
    const good = makeSeries(1, 5)[0]
    writeBucketFile(folder, {key: good.key, body: good.doc})
    const deepKey = makeV1Key({sequence: 80, record_type: 'egress'})
    const rec = JSON.stringify(makeRecords(1)[0])
    writeBucketFile(folder, {key: deepKey, body: `{"version":"0.0.1","flow_logs":[${rec.slice(0, -1)},"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`})
    const bigIntKey = makeV1Key({sequence: 81, record_type: 'egress'})
    writeBucketFile(folder, {key: bigIntKey, body: `{"version":"0.0.1","flow_logs":[${rec.replace(/"bytes_from_initiator":\d+/, '"bytes_from_initiator":9007199254740993')}]}`})
    const utfKey = makeV1Key({sequence: 82, record_type: 'egress'})
    const utf = Buffer.from(JSON.stringify(makeObject(makeRecords(2))).replace('"start_time"', '"note":"\u00ff\u00ff","start_time"'), 'latin1')
    writeBucketFile(folder, {key: utfKey, body: utf})
    const home = join(t.dir, 'home')
    const r = await pull(['--source', folder, '--json'], {FLOWLOG_HOME: home})
    expect(r.code, r.stderr).to.equal(5)
    expect(r.stderr).to.match(new RegExp(`${deepKey}: nested deeper than 64 levels`))
    expect(r.stderr).to.match(new RegExp(`${bigIntKey}: the integer 9007199254740993 .*beyond 2\\^53`))
    expect(r.stderr).not.to.contain('Maximum call stack')
    const summary = JSON.parse(r.stdout) as {warnings: string[]}
    expect(summary.warnings.some((w) => w.startsWith(`${utfKey}: holds invalid UTF-8`)), summary.warnings.join('\n')).to.equal(true)
    expect(await countRecords(home)).to.deep.equal({objects: 2, records: 7})
  })
})
