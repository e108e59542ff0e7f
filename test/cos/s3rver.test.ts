/**
 * The HMAC path against a real S3-protocol server: s3rver 3.7.1 behind the harness that corrects its listing.
 * Objects are uploaded through ibm-cos-sdk (putObject with the §5 metadata), then pulled through the cos:// source.
 */
import {expect} from 'chai'
import type S3 from 'ibm-cos-sdk/clients/s3.js'

import {AuthError, ExitCode} from '../../src/lib/errors.js'
import {readObject} from '../../src/lib/records/object.js'
import {HOUR_MS} from '../../src/lib/records/time.js'
import {createCosSource} from '../../src/lib/sources/cos.js'
import {type S3rverHarness, startS3rver} from '../servers/s3rver.js'
import {runCli, tempHome} from '../support/cli.js'
import {generateObjects, type GeneratedObject, sampleObjects} from './fixtures.js'
import {collect, hmacS3, pool, tempFlowlogHome} from './helpers.js'

const BUCKET = 'flowlogs-s3rver'
const H0 = Date.UTC(2026, 4, 1, 12)

describe('cos:// source against s3rver (HMAC)', function () {
  this.timeout(120_000)
  let server: S3rverHarness
  let s3: S3
  let homeDir: ReturnType<typeof tempFlowlogHome>
  let objects: GeneratedObject[]

  const env = () => ({
    FLOWLOG_COS_ENDPOINT: server.url,
    FLOWLOG_COS_HMAC_ACCESS_KEY_ID: server.accessKeyId,
    FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: server.secretAccessKey,
  })

  const upload = async () => {
    objects = generateObjects({start: H0, hours: 3, vnics: 2, recordsPerObject: 3, perHour: 4})
    await pool(objects, 8, async (o) => {
      await s3.putObject({Bucket: BUCKET, Key: o.key, Body: o.body, Metadata: o.metadata, ContentType: 'application/octet-stream'}).promise()
    })
    await s3.putObject({Bucket: BUCKET, Key: 'flowlog/ledger.json', Body: '{}'}).promise()
  }

  afterEach(async () => {
    await server.close()
    homeDir.cleanup()
  })

  describe('with the corrected listing', () => {
    beforeEach(async () => {
      server = await startS3rver({buckets: [BUCKET]})
      s3 = hmacS3(server.url, server.accessKeyId, server.secretAccessKey)
      homeDir = tempFlowlogHome()
      await upload()
    })

    it('folds folders that hold only folders into CommonPrefixes, and pages them', async () => {
      const top = await s3.listObjectsV2({Bucket: BUCKET, Delimiter: '/'}).promise()
      expect(top.CommonPrefixes!.map((p) => p.Prefix)).to.deep.equal(['flowlog/', 'ibm_vpc_flowlogs_v1/'])
      const seen: string[] = []
      let token: string | undefined
      do {
        const page = await s3.listObjectsV2({Bucket: BUCKET, Prefix: 'ibm_vpc_flowlogs_v1/', MaxKeys: 5, ContinuationToken: token}).promise()
        seen.push(...page.Contents!.map((c) => c.Key!))
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
      expect(seen).to.deep.equal(objects.map((o) => o.key).sort())
      expect(server.errors).to.deep.equal([])
    })

    it('pulls everything, then exactly one hour, with the raw %3A keys and the metadata intact', async () => {
      const all = await createCosSource(`cos://${BUCKET}`, {home: homeDir.home, env: env()})
      const everything = await collect(all.list({}))
      expect(everything.map((o) => o.key).sort()).to.deep.equal(objects.map((o) => o.key).sort())
      expect(all.stats.skippedForeign).to.equal(1)
      let records = 0
      for (const obj of everything) records += readObject(await all.read(obj)).records.length
      expect(records).to.equal(objects.length * 3)

      const since = H0 + HOUR_MS
      const hour = await createCosSource(`cos://${BUCKET}`, {home: homeDir.home, env: env(), refreshPrefixes: true})
      const mark = server.requests.length
      const inHour = await collect(hour.list({since, until: since + HOUR_MS}))
      // Uploaded just now, so LastModified prunes nothing: hours 12 (since − 5 min) and 13 in full.
      expect(inHour.map((o) => o.key).sort()).to.deep.equal(
        objects.filter((o) => o.captureStart >= since - HOUR_MS && o.captureStart < since + HOUR_MS).map((o) => o.key).sort(),
      )
      expect(hour.stats.incompleteDelimiterListing).to.equal(false)
      const listings = server.requests.slice(mark).filter((r) => r.method === 'GET' && r.query['list-type'] === '2')
      expect(listings.every((r) => r.query.delimiter === '/' || /hour=(12|13)\/$/.test(r.query.prefix ?? ''))).to.equal(true)
      const head = await s3.headObject({Bucket: BUCKET, Key: inHour[0].key}).promise()
      expect(head.Metadata).to.include({state: 'ok', number_of_flow_logs: '3', attached_endpoint_type: 'vnic'})
    })

    it('round-trips the real sample keys with %3A and %2F', async () => {
      for (const s of sampleObjects()) await s3.putObject({Bucket: BUCKET, Key: s.key, Body: s.body}).promise()
      const source = await createCosSource(`cos://${BUCKET}`, {home: homeDir.home, env: env()})
      const listed = (await collect(source.list({}))).map((o) => o.key)
      for (const s of sampleObjects()) {
        expect(listed).to.include(s.key)
        expect(Buffer.compare(Buffer.from(await source.read({key: s.key})), s.body)).to.equal(0)
      }
    })

    it('an unknown access key id is an AuthError (exit 3)', async () => {
      const source = await createCosSource(`cos://${BUCKET}`, {home: homeDir.home, env: {...env(), FLOWLOG_COS_HMAC_ACCESS_KEY_ID: 'NOT-A-KEY'}})
      const error = await collect(source.list({})).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(AuthError)
      expect((error as AuthError).exitCode).to.equal(ExitCode.config)
    })
  })

  it('still prunes by time against s3rver as shipped, whose delimiter listings leave out folder-only folders', async () => {
    server = await startS3rver({buckets: [BUCKET], fixListing: false})
    s3 = hmacS3(server.url, server.accessKeyId, server.secretAccessKey)
    homeDir = tempFlowlogHome()
    await upload()
    const top = await s3.listObjectsV2({Bucket: BUCKET, Delimiter: '/'}).promise()
    // The s3rver bug: ibm_vpc_flowlogs_v1/ holds only folders, so it is left out.
    expect(top.CommonPrefixes!.map((p) => p.Prefix)).to.deep.equal(['flowlog/'])
    const since = H0 + HOUR_MS
    const source = await createCosSource(`cos://${BUCKET}`, {home: homeDir.home, env: env()})
    const inHour = await collect(source.list({since, until: since + HOUR_MS}))
    expect(source.stats.incompleteDelimiterListing).to.equal(true)
    expect(inHour.map((o) => o.key).sort()).to.deep.equal(
      objects.filter((o) => o.captureStart >= since - HOUR_MS && o.captureStart < since + HOUR_MS).map((o) => o.key).sort(),
    )
  })

  for (const fixListing of [true, false]) {
    it(`flowlog pull (built CLI) loads all 400 objects, then one hour, from s3rver${fixListing ? '' : ' as shipped'}`, async () => {
      server = await startS3rver({buckets: [BUCKET], fixListing})
      s3 = hmacS3(server.url, server.accessKeyId, server.secretAccessKey)
      homeDir = tempFlowlogHome()
      objects = generateObjects({start: H0, hours: 4, vnics: 5, recordsPerObject: 2, perHour: 10})
      await pool(objects, 8, async (o) => {
        await s3.putObject({Bucket: BUCKET, Key: o.key, Body: o.body, Metadata: o.metadata}).promise()
      })
      const cliEnv = {...env(), IBMCLOUD_API_KEY: ''}
      const home1 = tempHome()
      try {
        const all = await runCli(['pull', '--source', `cos://${BUCKET}`, '--json'], {env: {...cliEnv, FLOWLOG_HOME: home1.dir}})
        expect(all.code, all.stderr).to.equal(0)
        expect(JSON.parse(all.stdout)).to.deep.include({records: 800})
      } finally {
        home1.cleanup()
      }
      const home2 = tempHome()
      try {
        const since = H0 + 2 * HOUR_MS
        const mark = server.requests.length
        const args = ['pull', '--source', `cos://${BUCKET}`, '--since', new Date(since).toISOString(), '--until', new Date(since + HOUR_MS).toISOString(), '--json']
        const hour = await runCli(args, {env: {...cliEnv, FLOWLOG_HOME: home2.dir}})
        expect(hour.code, hour.stderr).to.equal(0)
        // LastModified is the upload time, so the hour before since is downloaded in full (two hours, 200 objects),
        // but only the records inside the window are loaded: exactly that hour's 200.
        expect(JSON.parse(hour.stdout)).to.deep.include({records: 200})
        const gets = server.requests.slice(mark).filter((r) => r.method === 'GET' && !r.query['list-type'])
        expect(gets).to.have.length(200)
      } finally {
        home2.cleanup()
      }
    })
  }
})
