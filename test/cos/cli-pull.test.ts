/**
 * `flowlog pull --source cos://BUCKET` end to end (the built CLI, HMAC over SigV4, the strict COS test server on
 * 127.0.0.1): every record of 400 objects; a one-hour window downloads at most two hours of objects; bad
 * credentials exit 3. Needs `npm run build`.
 */
import {expect} from 'chai'

import {HOUR_MS} from '../../src/lib/records/time.js'
import {type CosServer, startCosServer} from '../servers/cos-server.js'
import {runCli, tempHome} from '../support/cli.js'
import {generateObjects, type GeneratedObject} from './fixtures.js'
import {seed} from './helpers.js'

const BUCKET = 'cli-flowlogs'
const KEY_ID = 'cli-access-key'
const SECRET = 'cli-secret-access-key-000000'
const H0 = Date.UTC(2026, 5, 1, 0)

describe('flowlog pull --source cos:// (built CLI)', function () {
  this.timeout(180_000)
  let cos: CosServer
  let home: ReturnType<typeof tempHome>
  let objects: GeneratedObject[]

  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    FLOWLOG_HOME: home.dir,
    FLOWLOG_COS_ENDPOINT: cos.url,
    FLOWLOG_COS_HMAC_ACCESS_KEY_ID: KEY_ID,
    FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: SECRET,
    IBMCLOUD_API_KEY: '',
    ...extra,
  })

  beforeEach(async () => {
    cos = await startCosServer({hmacKeys: {[KEY_ID]: SECRET}, buckets: [BUCKET]})
    home = tempHome()
    // 400 objects: 5 vNICs × 2 record types × 4 hours × 10 windows, 3 records each.
    objects = generateObjects({start: H0, hours: 4, vnics: 5, recordsPerObject: 3, perHour: 10})
    seed(cos, BUCKET, objects)
    cos.putObject(BUCKET, 'flowlog/checkpoint.json', '{}')
  })
  afterEach(async () => {
    await cos.close()
    home.cleanup()
  })

  it('loads every record of 400 objects', async () => {
    expect(objects).to.have.length(400)
    const r = await runCli(['pull', '--source', `cos://${BUCKET}`, '--json'], {env: env()})
    expect(r.code, r.stderr).to.equal(0)
    const summary = JSON.parse(r.stdout) as {objects: {listed: number; downloaded: number; loaded: number; failed: number}; records: number}
    expect(summary.objects).to.include({listed: 400, downloaded: 400, loaded: 400, failed: 0})
    expect(summary.records).to.equal(1200)
    expect(cos.requests.filter((q) => q.method === 'GET' && q.key !== undefined)).to.have.length(400)
    expect(r.stderr).to.not.contain(SECRET)
  })

  it('a one-hour window downloads at most two hours of objects, and never lists the whole bucket', async () => {
    const since = new Date(H0 + 2 * HOUR_MS).toISOString()
    const until = new Date(H0 + 3 * HOUR_MS).toISOString()
    const r = await runCli(['pull', '--source', `cos://${BUCKET}`, '--since', since, '--until', until, '--json'], {env: env()})
    expect(r.code, r.stderr).to.equal(0)
    const summary = JSON.parse(r.stdout) as {objects: {downloaded: number}; records: number}
    const hourOf = (key: string) => /hour=(\d\d)\//.exec(key)![1]
    const downloaded = cos.requests.filter((q) => q.method === 'GET' && q.key !== undefined).map((q) => q.key!)
    expect(downloaded.every((k) => ['01', '02'].includes(hourOf(k)))).to.equal(true)
    // All of hour 02; of hour 01 only what was written after since − 5 min (none here: its last window, 01:45,
    // was written at 01:50:19).
    const expected = objects.filter((o) => o.written >= H0 + 2 * HOUR_MS - 5 * 60_000 && o.captureStart < H0 + 3 * HOUR_MS)
    expect(downloaded.sort()).to.deep.equal(expected.map((o) => o.key).sort())
    expect(summary.objects.downloaded).to.equal(100)
    expect(summary.records).to.equal(300)
    const listings = cos.requests.filter((q) => q.method === 'GET' && q.key === undefined)
    expect(listings.every((q) => q.query.delimiter === '/' || /hour=0[12]\/$/.test(q.query.prefix ?? ''))).to.equal(true)
  })

  it('exits 3 with a clear message on a wrong secret, and names what to set when credentials are missing', async () => {
    const wrong = 'definitely-the-wrong-secret-1234'
    const r = await runCli(['pull', '--source', `cos://${BUCKET}`], {env: env({FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: wrong})})
    expect(r.code).to.equal(3)
    expect(r.stderr).to.match(/SignatureDoesNotMatch/)
    expect(r.stderr + r.stdout).to.not.contain(wrong)
    const none = await runCli(['pull', '--source', `cos://${BUCKET}`], {
      env: env({FLOWLOG_COS_HMAC_ACCESS_KEY_ID: '', FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: ''}),
    })
    expect(none.code).to.equal(3)
    expect(none.stderr).to.match(/no COS credentials/)
    expect(none.stderr).to.match(/FLOWLOG_COS_HMAC_ACCESS_KEY_ID/)
  })
})
